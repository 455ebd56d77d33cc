#!/usr/bin/env python3
"""make-photo.py - renders the test photograph of scenario 3: a lake at
sunset below hills, 480 x 320 pixels, with a photograph's content (smooth
skies, textured ground, hard edges, sensor noise) so that PNG and JPEG
both have real work to do. It is our own image, made from a fixed seed,
so anyone can check that photo.png and photo.jpg are what this makes:

    /usr/bin/python3 docs/examples/make-photo.py docs/examples

writes photo.png (lossless) and photo.jpg (quality 90, 4:2:0) there.
Needs NumPy and Pillow (Debian's python3-numpy and python3-pil).
"""
import os
import sys

import numpy as np
from PIL import Image

W, H = 480, 320
HORIZON = 190


def render():
    rng = np.random.default_rng(20261125)
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    img = np.zeros((H, W, 3))

    # Sky: deep blue at the top to orange at the horizon, and a sun.
    t = np.clip(y / HORIZON, 0, 1)[..., None]
    img[:] = (1 - t) * [40, 70, 140] + t * [250, 160, 80]
    sun = np.hypot(x - 330, y - 120)
    glow = np.exp(-(sun / 60) ** 2)[..., None]
    img = img * (1 - glow) + glow * [255, 230, 170]
    img[sun < 22] = [255, 245, 215]

    # Two ranges of hills, their ridges from summed sines.
    for base, amp, colour, seed in [(150, 25, [90, 80, 110], 1),
                                    (175, 18, [50, 70, 50], 2)]:
        phase = np.random.default_rng(seed).uniform(0, 6, 3)
        ridge = (base + amp * np.sin(x[0] / 53 + phase[0]) +
                 amp / 2 * np.sin(x[0] / 17 + phase[1]) +
                 amp / 5 * np.sin(x[0] / 5 + phase[2]))
        hill = y < HORIZON
        hill &= y >= ridge[None, :]
        shade = (1 - 0.3 * (y - ridge[None, :]) / 60)[..., None]
        img = np.where(hill[..., None], np.array(colour) * shade, img)

    # The lake: the sky and hills mirrored, darker, with ripples.
    below = np.arange(HORIZON, H)
    ripple = (3 * np.sin(below[:, None] * 0.9 + x[HORIZON:] / 9)).astype(int)
    src_y = np.clip(2 * HORIZON - 1 - below[:, None], 0, HORIZON - 1)
    src_x = np.clip(x[HORIZON:].astype(int) + ripple, 0, W - 1)
    img[HORIZON:] = img[src_y, src_x] * 0.7 + [5, 15, 30]

    # A shore in the foreground with grass texture, and a few trees.
    shore = y > H - 40 + 8 * np.sin(x / 40)
    grass = rng.normal(0, 14, (H, W))[..., None]
    img = np.where(shore[..., None], [70, 95, 40] + grass, img)
    for tx, th in [(40, 90), (75, 120), (420, 100)]:
        trunk = (abs(x - tx) < 3) & (y > H - th) & (y < H - 20)
        crown = np.hypot((x - tx) * 1.3, y - (H - th)) < th / 3.2
        img[trunk] = [60, 40, 25]
        img[crown] = [25, 60, 30] + rng.normal(0, 12, (crown.sum(), 1))

    # Sensor noise, as every photograph has.
    img += rng.normal(0, 0.6, img.shape)
    return np.clip(img, 0, 255).round().astype(np.uint8)


def main(argv):
    out = argv[1] if len(argv) > 1 else os.path.dirname(__file__) or "."
    img = Image.fromarray(render(), "RGB")
    img.save(os.path.join(out, "photo.png"), optimize=True)
    img.save(os.path.join(out, "photo.jpg"), quality=90, subsampling=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
