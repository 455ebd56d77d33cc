#!/usr/bin/env python3
"""image_pil.py - the Pillow side of tests/cli/test_image.sh: PNG and JPEG
files made and read by an independent implementation (Pillow, plus a
hand-written PNG encoder below for what Pillow cannot write: interlaced
images, 16-bit colour, and deliberately broken files).

  image_pil.py make DIR
      writes the import cases: DIR/<case>.<png|jpg> and DIR/<case>.want.npy
      (the array mmstore must import it as, from Pillow's own decoding or
      from the values encoded), and prints "<case> <file>" a line. Then
      writes the malformed inputs DIR/bad/<case>.<ext> and prints
      "bad <case> <file>" a line.
  image_pil.py arrays DIR
      writes the export cases DIR/<case>.npy: uint8 and uint16 arrays of
      every shape PNG or JPEG holds.
  image_pil.py same WANT.npy GOT.npy
      exits 0 if GOT has WANT's dtype, shape and values, else says why.
  image_pil.py png SRC.npy FILE.png
      Pillow reads FILE.png and gets SRC's values (16-bit colour: Pillow
      reads the high bytes only, so those are compared).
  image_pil.py jpeg SRC.npy FILE.jpg MAXMEAN
      Pillow reads FILE.jpg: same height, width and channels as SRC, and
      the mean absolute difference is at most MAXMEAN (JPEG is lossy).
"""
import io
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image

H, W = 37, 53  # odd sizes: partial JPEG blocks, partial Adam7 passes


def scene(h, w, channels, depth=8):
    """A deterministic image: smooth gradients (a photograph's content,
    which JPEG keeps) with hard-edged squares and every value 0..255 of
    the first channel somewhere (which PNG must keep exactly)."""
    y, x = np.mgrid[0:h, 0:w]
    planes = []
    for c in range(channels):
        fx, fy = ((c + 1) % 3) / 2, (c % 3) / 2
        v = 30 + 160 * (fx * x / w + fy * y / h) + 20 * c
        v = v + np.where((x // 12 + y // 12) % 2 == 1, 50, 0)
        planes.append(np.clip(v, 0, 255))
    a = np.stack(planes, axis=-1)
    a.flat[:256] = np.arange(256)  # the first rows: every value once
    a = a.astype(np.uint8)
    if depth == 16:
        a = a.astype(np.uint16) * 257 + (np.indices(a.shape).sum(0) % 7)
        a = a.astype(np.uint16)
    return a[:, :, 0] if channels == 1 else a


# ---- a small PNG encoder: every row filter 0, optional Adam7 ----------------

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
         (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}


def chunk(kind, data):
    crc = zlib.crc32(kind + data) & 0xffffffff
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def ihdr(w, h, depth, ctype, interlace=0):
    return chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0,
                                      interlace))


def png_bytes(a, interlace=False, extra=b""):
    """The PNG of array a (uint8/uint16, (H, W) or (H, W, C))."""
    a = a if a.ndim == 3 else a[:, :, None]
    h, w, c = a.shape
    depth = 16 if a.dtype == np.uint16 else 8
    big = a.astype(">u2") if depth == 16 else a
    raw = b""
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    for x0, y0, dx, dy in passes:
        sub = big[y0::dy, x0::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        for row in sub:
            raw += b"\0" + row.tobytes()
    return (b"\x89PNG\r\n\x1a\n" +
            ihdr(w, h, depth, COLOUR_TYPE[c], 1 if interlace else 0) +
            extra + chunk(b"IDAT", zlib.compress(raw, 9)) +
            chunk(b"IEND", b""))


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


# ---- import cases --------------------------------------------------------------

def make(d):
    os.makedirs(os.path.join(d, "bad"), exist_ok=True)
    cases = []

    def pil_case(name, img, ext, want=None, mode=None, **save):
        path = os.path.join(d, name + "." + ext)
        img.save(path, **save)
        if want is None:
            # What Pillow decodes, converted to the layout mmstore gives.
            got = Image.open(path)
            want = np.asarray(got.convert(mode) if mode else got)
        np.save(os.path.join(d, name + ".want.npy"), want)
        cases.append((name, path))

    def raw_case(name, data, want):
        path = os.path.join(d, name + ".png")
        write(path, data)
        np.save(os.path.join(d, name + ".want.npy"), want)
        cases.append((name, path))

    grey, rgb, rgba = scene(H, W, 1), scene(H, W, 3), scene(H, W, 4)
    la = scene(H, W, 2)
    pil_case("png-grey", Image.fromarray(grey), "png", grey)
    pil_case("png-la", Image.fromarray(la, "LA"), "png", la)
    pil_case("png-rgb", Image.fromarray(rgb), "png", rgb)
    pil_case("png-rgba", Image.fromarray(rgba), "png", rgba)
    pil_case("png-1bit", Image.fromarray(grey > 100), "png",
             np.where(grey > 100, 255, 0).astype(np.uint8))
    pil_case("png-palette", Image.fromarray(rgb).quantize(64), "png",
             mode="RGB")
    # A palette with transparency imports as RGBA: alpha 0 for index 3.
    pil_case("png-palette-trns", Image.fromarray(rgb).quantize(16), "png",
             mode="RGBA", transparency=3)
    g16 = scene(H, W, 1, 16)
    pil_case("png-grey16", Image.fromarray(g16), "png", g16)
    rgb16 = scene(H, W, 3, 16)
    raw_case("png-rgb16", png_bytes(rgb16), rgb16)
    raw_case("png-rgba16-interlaced", png_bytes(scene(H, W, 4, 16), True),
             scene(H, W, 4, 16))
    raw_case("png-rgb-interlaced", png_bytes(rgb, True), rgb)
    raw_case("png-grey-1x1", png_bytes(grey[:1, :1]), grey[:1, :1])
    # Ancillary chunks with good CRCs are fine; text after IDAT too.
    raw_case("png-text-chunk",
             png_bytes(rgb, extra=chunk(b"tEXt", b"Comment\0mmstore")), rgb)
    pil_case("jpeg-grey", Image.fromarray(grey), "jpg", quality=90)
    pil_case("jpeg-rgb", Image.fromarray(rgb), "jpg", quality=90)
    pil_case("jpeg-rgb-444", Image.fromarray(rgb), "jpg", quality=95,
             subsampling=0)
    pil_case("jpeg-progressive", Image.fromarray(rgb), "jpg", quality=80,
             progressive=True)
    for name, path in cases:
        print(name, path)

    # ---- malformed inputs: each must fail and change nothing ----
    bad = os.path.join(d, "bad")
    good = png_bytes(rgb)
    ihdr_end = 8 + 25
    jpg = open(os.path.join(d, "jpeg-rgb.jpg"), "rb").read()

    def bad_case(name, data, ext="png"):
        path = os.path.join(bad, name + "." + ext)
        write(path, data)
        print("bad", name, path)

    bad_case("empty", b"")
    bad_case("signature-only", good[:8])
    bad_case("cut-in-ihdr", good[:20])
    bad_case("cut-in-idat", good[:ihdr_end + 40])
    bad_case("cut-before-iend", good[:-12])
    flip = bytearray(good)
    flip[ihdr_end - 2] ^= 0x40  # the IHDR CRC
    bad_case("ihdr-crc", bytes(flip))
    flip = bytearray(good)
    flip[ihdr_end + 20] ^= 0x01  # inside the compressed data
    bad_case("idat-crc", bytes(flip))
    with_text = png_bytes(rgb, extra=chunk(b"tEXt", b"Comment\0x"))
    flip = bytearray(with_text)
    flip[ihdr_end + 10] ^= 0x01  # inside the tEXt chunk
    bad_case("ancillary-crc", bytes(flip))
    body = good[ihdr_end:]
    bad_case("width-zero", good[:8] + ihdr(0, H, 8, 2) + body)
    bad_case("depth-3", good[:8] + ihdr(W, H, 3, 2) + body)
    bad_case("colour-type-5", good[:8] + ihdr(W, H, 8, 5) + body)
    # A header that claims a huge image over a few bytes of data.
    bad_case("lying-size", good[:8] + ihdr(100000, 100000, 8, 2) + body)
    bad_case("over-limit", good[:8] + ihdr(2000000, 1, 8, 0) + body)
    # Right size claimed, too little pixel data in a valid zlib stream.
    short = (b"\x89PNG\r\n\x1a\n" + ihdr(W, H, 8, 2) +
             chunk(b"IDAT", zlib.compress(b"\0" * (W * 3 + 1) * 2)) +
             chunk(b"IEND", b""))
    bad_case("short-idat", short)
    npy = io.BytesIO()
    np.save(npy, rgb)
    bad_case("npy-named-png", npy.getvalue())
    bad_case("jpeg-empty", b"", "jpg")
    bad_case("jpeg-soi-only", jpg[:2], "jpg")
    bad_case("jpeg-cut-header", jpg[:100], "jpg")
    bad_case("jpeg-cut-scan", jpg[:len(jpg) * 2 // 3], "jpg")
    garbled = bytearray(jpg)
    for i in range(len(jpg) // 2, len(jpg) // 2 + 40):
        garbled[i] = 0xff if i % 2 == 0 else 0xd9 - (i % 3)
    bad_case("jpeg-garbled-scan", bytes(garbled), "jpg")
    # A baseline JPEG whose SOF0 claims 60000 x 60000 pixels (10.8 GB).
    sof = jpg.index(b"\xff\xc0")
    lying = bytearray(jpg)
    lying[sof + 5:sof + 9] = struct.pack(">HH", 60000, 60000)
    bad_case("jpeg-lying-size", bytes(lying), "jpg")
    cmyk = os.path.join(bad, "jpeg-cmyk.jpg")
    Image.fromarray(rgba).convert("CMYK").save(cmyk, quality=90)
    print("bad", "jpeg-cmyk", cmyk)
    bad_case("png-named-jpg", good, "jpg")


def arrays(d):
    os.makedirs(d, exist_ok=True)
    for name, a in [("u8-grey", scene(H, W, 1)),
                    ("u8-grey1", scene(H, W, 1)[:, :, None]),
                    ("u8-la", scene(H, W, 2)), ("u8-rgb", scene(H, W, 3)),
                    ("u8-rgba", scene(H, W, 4)),
                    ("u16-grey", scene(H, W, 1, 16)),
                    ("u16-rgb", scene(H, W, 3, 16)),
                    ("u16-rgba", scene(H, W, 4, 16))]:
        np.save(os.path.join(d, name + ".npy"), a)
        print(name)


def same(want, got):
    a, b = np.load(want), np.load(got)
    if a.dtype != b.dtype or a.shape != b.shape:
        return f"{b.dtype} {b.shape}, expected {a.dtype} {a.shape}"
    if not np.array_equal(a, b):
        n = int(np.count_nonzero(a != b))
        return f"{n} of {a.size} values differ"
    return None


def pil_array(path):
    im = Image.open(path)
    im.load()
    return im, np.asarray(im)


def check_png(src, path):
    a = np.load(src)
    im, b = pil_array(path)
    if im.format != "PNG":
        return f"Pillow reads it as {im.format}, not PNG"
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.dtype == np.uint16 and a.ndim == 3:
        a = (a >> 8).astype(np.uint8)  # Pillow keeps the high bytes
    if a.shape != b.shape:
        return f"Pillow reads shape {b.shape}, expected {a.shape}"
    if not np.array_equal(a.astype(np.int64), b.astype(np.int64)):
        return "Pillow reads different values"
    return None


def check_jpeg(src, path, maxmean):
    a = np.load(src)
    im, b = pil_array(path)
    if im.format != "JPEG":
        return f"Pillow reads it as {im.format}, not JPEG"
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.shape != b.shape:
        return f"Pillow reads shape {b.shape}, expected {a.shape}"
    mean = float(np.abs(a.astype(np.int64) - b.astype(np.int64)).mean())
    if mean > maxmean:
        return f"mean absolute difference {mean:.2f} > {maxmean}"
    return None


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "make" and len(argv) == 3:
        make(argv[2])
        return 0
    if cmd == "arrays" and len(argv) == 3:
        arrays(argv[2])
        return 0
    if cmd == "same" and len(argv) == 4:
        why = same(argv[2], argv[3])
    elif cmd == "png" and len(argv) == 4:
        why = check_png(argv[2], argv[3])
    elif cmd == "jpeg" and len(argv) == 5:
        why = check_jpeg(argv[2], argv[3], float(argv[4]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    if why:
        print(why)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
