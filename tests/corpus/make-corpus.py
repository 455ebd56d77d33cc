#!/usr/bin/env python3
"""make-corpus.py - writes the malformed inputs that tests/cli/test_io.sh replays.

Run once from anywhere (needs NumPy and the zstd command); the generated
files are committed beside this script so that the tests do not depend on
how a later NumPy or zstd would write them. Each file is small and wrong in
exactly one way, said by its name; tests/cli/test_io.sh lists what each one
must make `mmstore import` say.
"""
import os
import struct
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def path(name):
    return os.path.join(HERE, name)


def write(name, data):
    with open(path(name), "wb") as f:
        f.write(data)


def npy(header, data=b"", major=1):
    """A .npy file with the given header text (padded as NumPy pads it)."""
    text = header.encode("latin1" if major < 3 else "utf8")
    prefix = 10 if major == 1 else 12
    pad = 64 - (prefix + len(text) + 1) % 64
    text += b" " * pad + b"\n"
    fmt = "<H" if major == 1 else "<I"
    return b"\x93NUMPY" + bytes([major, 0]) + struct.pack(fmt, len(text)) \
        + text + data


def good_header(shape="(4,)", descr="<f8", fortran="False"):
    return "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, fortran, shape)


def zstd(data, level=3):
    return subprocess.run(["zstd", "-q", "-c", "-%d" % level],
                          input=data, stdout=subprocess.PIPE,
                          check=True).stdout


def saved(array, **kw):
    """What np.save writes for array (allow_pickle for object arrays)."""
    import io
    buf = io.BytesIO()
    np.save(buf, array, **kw)
    return buf.getvalue()


def main():
    data4 = np.arange(4, dtype="<f8").tobytes()

    # Truncated files and missing data.
    full = npy(good_header(), data4)
    write("truncated-magic.npy", full[:5])
    write("truncated-header.npy", full[:40])
    write("short-data.npy", npy(good_header("(1000,)"), data4))
    write("empty.npy", b"")

    # Malformed preambles and header dicts.
    write("bad-magic.npy", b"\x93NUMPX" + full[6:])
    write("bad-version.npy", b"\x93NUMPY\x04\x00" + full[8:])
    write("header-too-long.npy",
          b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFF0) + b"{")
    write("header-not-a-dict.npy", npy("[1, 2, 3]", data4))
    write("header-missing-shape.npy",
          npy("{'descr': '<f8', 'fortran_order': False, }", data4))
    write("header-extra-key.npy",
          npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4,), "
              "'extra': 1, }", data4))
    write("header-duplicate-key.npy",
          npy("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, "
              "'shape': (4,), }", data4))
    write("header-unterminated.npy",
          npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4,)", data4))
    write("header-unterminated-string.npy",
          npy("{'descr': '<f8, 'fortran_order': False, 'shape': (4,), }",
              data4))
    write("header-shape-list.npy", npy(good_header("[4]"), data4))
    write("header-shape-not-tuple.npy", npy(good_header("(4)"), data4))
    write("header-shape-negative.npy", npy(good_header("(-4,)"), data4))
    write("header-shape-float.npy", npy(good_header("(4.0,)"), data4))
    write("header-fortran-not-bool.npy",
          npy(good_header(fortran="0"), data4))
    write("header-garbage-after.npy", npy(good_header() + " x", data4))
    write("header-missing-comma.npy",
          npy("{'descr': '<f8' 'fortran_order': False, 'shape': (4,), }",
              data4))

    # Descrs mmstore does not hold: a clear "not supported".
    write("descr-object.npy",
          saved(np.array([1, "a", None], dtype=object), allow_pickle=True))
    write("descr-structured.npy",
          saved(np.zeros(3, dtype=[("a", "<i4"), ("b", "<f8")])))
    write("descr-unicode.npy", saved(np.array(["ab", "cd"])))
    write("descr-bytes.npy", saved(np.array([b"ab", b"cd"])))
    write("descr-datetime.npy",
          saved(np.array(["2024-01-01"], dtype="datetime64[ns]")))
    write("descr-longdouble.npy", npy(good_header(descr="<f16"), b"\0" * 64))
    write("descr-unknown.npy", npy(good_header(descr="<x4"), b"\0" * 16))

    # Shapes whose byte size overflows 64 bits.
    write("shape-overflow.npy",
          npy(good_header("(4294967296, 4294967296)"), data4))
    write("shape-axis-overflow.npy",
          npy(good_header("(99999999999999999999999,)"), data4))

    # zstd: a stream longer than the header declares (imports the declared
    # 4 elements), a corrupt frame, and a stream cut inside a frame.
    write("longer-than-declared.npy.zst",
          zstd(full + b"this is not part of the array" * 100))
    frame = zstd(npy(good_header("(4096,)"),
                     np.arange(4096, dtype="<f8").tobytes()))
    corrupt = bytearray(frame)
    for i in range(len(corrupt) // 2, len(corrupt) // 2 + 16):
        corrupt[i] ^= 0x5A
    write("corrupt-frame.npy.zst", bytes(corrupt))
    write("truncated-frame.npy.zst", frame[:len(frame) - 10])
    write("not-zstd.npy.zst", b"plain text, not zstd at all\n")

    # CSV: ragged rows and cells that are not numbers.
    with open(path("ragged-short.csv"), "w") as f:
        f.write("1,2,3\n4,5,6\n7,8\n")
    with open(path("ragged-long.csv"), "w") as f:
        f.write("1,2,3\n4,5,6,7\n")
    with open(path("not-a-number.csv"), "w") as f:
        f.write("1,2,3\n4,abc,6\n")
    with open(path("empty-cell.csv"), "w") as f:
        f.write("1,2,3\n4,,6\n")
    with open(path("int-out-of-range.csv"), "w") as f:
        f.write("1\n2\n300\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
