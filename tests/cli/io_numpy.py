#!/usr/bin/env python3
"""io_numpy.py - the NumPy side of tests/cli/test_io.sh.

  io_numpy.py make DIR
      writes DIR/<case>.npy for every case (every dtype and shape, Fortran
      order, big-endian, format versions 2.0 and 3.0, hand-written header
      variants), DIR/<case>.want.npy with the array each must import as,
      and prints the case names, one a line.
  io_numpy.py check MODE WANT GOT
      prints nothing and exits 0 if GOT is right for MODE, else prints what
      differs and exits 1. WANT is a .npy file. MODE is
        values      GOT loads with WANT's dtype, shape and values (NaNs
                    equal, signs of zeros too)
        exact       as values, and GOT's bytes are exactly what np.save
                    writes for WANT
        raw         GOT is WANT's bytes in C order
        csv:DTYPE:DELIM   np.loadtxt(GOT, DTYPE, DELIM) equals WANT
  io_numpy.py check-list FILE
      checks each line "LABEL<TAB>MODE<TAB>WANT<TAB>GOT" of FILE, printing
      "ok: LABEL" or "FAIL: LABEL: why" for each.
  io_numpy.py savetxt WANT OUT [DELIMITER] [HEADER]
      writes WANT with np.savetxt's defaults (or DELIMITER; HEADER as a
      plain first row).
"""
import io
import os
import sys

import numpy as np

DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16",
          "uint32", "uint64", "float16", "float32", "float64", "complex64",
          "complex128"]
SHAPES = {"0d": (), "empty": (0,), "empty2d": (0, 3), "1d": (7,),
          "2d": (3, 4), "3d": (2, 3, 4)}


def values(dtype, shape):
    """A deterministic array with each dtype's awkward values in it."""
    dt = np.dtype(dtype)
    n = int(np.prod(shape))
    rng = np.random.default_rng(n * 31 + dt.num)
    if dt.kind == "b":
        a = rng.integers(0, 2, n).astype(bool)
    elif dt.kind in "iu":
        info = np.iinfo(dt)
        a = rng.integers(info.min, info.max, n, dtype=dt, endpoint=True)
        if n >= 2:
            a[0], a[-1] = info.min, info.max
    else:
        a = (rng.standard_normal(n) * 1e3).astype(dt)
        if dt.kind == "c":
            a = a + 1j * (rng.standard_normal(n) * 1e-3).astype(dt)
        specials = [np.nan, np.inf, -np.inf, -0.0, 1 / 3]
        for i, v in enumerate(specials[:n]):
            a[i] = v
    return a.reshape(shape)


def cases():
    """(name, array to save, how to save it). Every dtype in 2-D, in
    Fortran order, big-endian (when it has a byte order), and in one more
    of the other shapes (each shape so goes with two or three dtypes);
    every tool run costs a process and a few fsyncs, so not every
    combination."""
    extras = [label for label in SHAPES if label != "2d"]
    for i, dtype in enumerate(DTYPES):
        for label in ("2d", extras[i % len(extras)]):
            yield "%s-%s" % (dtype, label), values(dtype, SHAPES[label]), "c"
        a = values(dtype, (3, 4, 5))
        yield "%s-fortran" % dtype, np.asfortranarray(a), "c"
        if np.dtype(dtype).itemsize > 1 and dtype != "bool":
            be = a.astype(np.dtype(dtype).newbyteorder(">"))
            yield "%s-bigendian" % dtype, be, "c"
            if dtype in ("int16", "uint32", "float64", "complex64"):
                yield ("%s-bigendian-fortran" % dtype,
                       np.asfortranarray(be), "c")
    a = values("float64", (3, 4))
    yield "float64-version2", a, "v2"
    yield "float64-version3", a, "v3"
    yield "int32-header-variants", values("int32", (3,)), "variants"
    # Larger than one chunk of the tool (8 MiB): chunked Fortran rewrites
    # in both of its ways, and byte swapping over several chunks.
    yield "float64-fortran-slices", np.asfortranarray(
        values("float64", (50, 300, 100))), "c"
    yield "float64-fortran-wide", np.asfortranarray(
        values("float64", (2, 1200000))), "c"
    yield "float64-bigendian-large", values("float64", (1100000,)).astype(
        ">f8"), "c"


def header_variants(a):
    """The same array under header dicts NumPy would read, written
    differently from np.save: keys reordered, double quotes, no trailing
    comma, odd spacing, Python 2's 'L' suffix."""
    data = a.astype("<i4").tobytes()
    texts = [
        "{'shape': (3,), 'fortran_order': False, 'descr': '<i4'}",
        '{"descr":"<i4","fortran_order":False,"shape":(3,)}',
        "{ 'descr' : '<i4' ,\t'fortran_order' : False , 'shape' : ( 3 , ) , }",
        "{'descr': '<i4', 'fortran_order': False, 'shape': (3L,), }",
    ]
    out = []
    for t in texts:
        t = t.encode() + b"\n"
        t += b" " * (-(10 + len(t)) % 64)
        out.append(b"\x93NUMPY\x01\x00" + len(t).to_bytes(2, "little") + t +
                   data)
    return out


def make(directory):
    os.makedirs(directory, exist_ok=True)
    for name, a, how in cases():
        base = os.path.join(directory, name)
        want = np.array(a, dtype=a.dtype.newbyteorder("="), order="C")
        if how == "variants":
            for i, blob in enumerate(header_variants(a)):
                v = "%s-%d" % (name, i)
                with open(os.path.join(directory, v + ".npy"), "wb") as f:
                    f.write(blob)
                np.save(os.path.join(directory, v + ".want.npy"), want)
                print(v)
            continue
        if how == "c":
            np.save(base + ".npy", a)
        else:
            with open(base + ".npy", "wb") as f:
                np.lib.format.write_array(f, a, version=(2, 0) if how == "v2"
                                          else (3, 0))
        np.save(base + ".want.npy", want)
        print(name)


def same(want, got):
    if got.dtype != want.dtype:
        return "dtype %s, expected %s" % (got.dtype, want.dtype)
    if got.shape != want.shape:
        return "shape %s, expected %s" % (got.shape, want.shape)
    if not np.array_equal(got, want, equal_nan=want.dtype.kind in "fc"):
        bad = np.argwhere(~((got == want) | ((got != got) & (want != want))))
        i = tuple(bad[0]) if bad.size else ()
        return "values differ, first at %s: %r, expected %r" % (
            i, got[i], want[i])
    if want.dtype.kind in "fc":
        # -0.0 and 0.0 compare equal: the bits must match too.
        if not np.array_equal(np.signbit(got.real), np.signbit(want.real)):
            return "signs of zero differ"
    return None


def compare(want_path, got_path, exact=False):
    want = np.load(want_path)
    try:
        got = np.load(got_path)
    except Exception as e:  # noqa: BLE001 - any failure to load is the answer
        return "NumPy cannot load %s: %s" % (got_path, e)
    why = same(want, got)
    if why is None and exact:
        buf = io.BytesIO()
        np.save(buf, want)
        with open(got_path, "rb") as f:
            if f.read() != buf.getvalue():
                why = "bytes differ from what np.save writes"
    return why


def check(mode, want_path, got_path):
    """What is wrong with got_path for mode, or None."""
    if mode in ("exact", "values"):
        return compare(want_path, got_path, mode == "exact")
    want = np.load(want_path)
    if mode == "raw":
        with open(got_path, "rb") as f:
            return None if f.read() == want.tobytes() else "raw bytes differ"
    if mode.startswith("csv:"):
        _, dtype, delim = mode.split(":", 2)
        try:
            got = np.loadtxt(got_path, dtype=dtype, delimiter=delim or None,
                             ndmin=1)
        except Exception as e:  # noqa: BLE001
            return "np.loadtxt fails: %s" % e
        return same(want, got.reshape(want.shape))
    return "unknown mode %s" % mode


def main(argv):
    cmd = argv[1]
    if cmd == "make":
        make(argv[2])
        return 0
    if cmd == "check":
        why = check(argv[2], argv[3], argv[4])
        if why:
            print(why)
        return 1 if why else 0
    if cmd == "check-list":
        # Lines "LABEL<TAB>MODE<TAB>WANT<TAB>GOT": prints "ok: LABEL" or
        # "FAIL: LABEL: why" for each.
        with open(argv[2]) as f:
            for line in f:
                label, mode, want, got = line.rstrip("\n").split("\t")
                why = check(mode, want, got)
                print("FAIL: %s: %s" % (label, why) if why else
                      "ok: %s" % label)
        return 0
    if cmd == "savetxt":
        want = np.load(argv[2])
        delim = argv[4] if len(argv) > 4 else " "
        header = argv[5] if len(argv) > 5 else ""
        kw = {"fmt": "%d"} if want.dtype.kind in "biu" else {}
        np.savetxt(argv[3], want, delimiter=delim, header=header,
                   comments="", **kw)
        return 0
    print("io_numpy.py: unknown command %s" % cmd)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
