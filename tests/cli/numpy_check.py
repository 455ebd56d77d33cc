"""numpy_check.py - checks that NumPy reads mmstore data files as they are.

usage: python3 numpy_check.py MANIFEST

Each line of MANIFEST is one case, five tab-separated fields:

    LABEL  PATH  DTYPE  SHAPE  NPATTERN

PATH is an array's data file, DTYPE a NumPy dtype name, SHAPE as given to
mms-testhelper ("()", "0", "7", "3,4", "(2, 3, 4)"), and NPATTERN how many
leading elements (flat, C order) hold mms-testhelper's test pattern; the
elements after them must be zero (rows added by a resize). "all" means every
element holds the pattern.

The pattern, defined in tests/lib/mms-testhelper.c: element i holds
  bool:     i % 2 == 0
  integers: i + 1 converted to the type (wrapping)
  floats:   i + 1
  complex:  (i + 1) - (i + 1)j

For every case the file is loaded with np.load(PATH, mmap_mode="r") and the
dtype, shape, C order, data offset (4096) and every value are compared.
Prints one line per case, "PASS LABEL" or "FAIL LABEL: why", and exits 0
only if every case passed (1 otherwise, 2 on a usage error).
"""

import sys

import numpy as np

DATA_OFFSET = 4096


def parse_shape(text):
    text = text.strip()
    if text.startswith("("):
        if not text.endswith(")"):
            raise ValueError("unbalanced parentheses in shape %r" % text)
        text = text[1:-1]
    return tuple(int(p) for p in text.split(",") if p.strip())


def pattern(dtype, shape, npattern):
    n = 1
    for d in shape:
        n *= d
    i = np.arange(n, dtype=np.uint64)
    if dtype == np.bool_:
        v = (i % 2) == 0
    elif dtype.kind == "c":
        f = (i + 1).astype(np.float64)
        v = (f - 1j * f).astype(dtype)
    elif dtype.kind == "f":
        v = (i + 1).astype(np.float64).astype(dtype)
    else:
        v = (i + 1).astype(dtype)  # wraps modulo 2^bits, as a C cast does
    if npattern is not None:
        v[npattern:] = 0
    return v.reshape(shape)


def check(path, dtype_name, shape_text, npattern_text):
    dtype = np.dtype(dtype_name)
    shape = parse_shape(shape_text)
    npattern = None if npattern_text == "all" else int(npattern_text)
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        if version != (1, 0):
            return "npy format version %s, expected (1, 0)" % (version,)
        hshape, fortran_order, hdtype = np.lib.format.read_array_header_1_0(f)
        if f.tell() != DATA_OFFSET:
            return "header ends at byte %d, expected %d" % (f.tell(),
                                                            DATA_OFFSET)
    if fortran_order:
        return "header says fortran_order: True"
    a = np.load(path, mmap_mode="r")
    if not isinstance(a, np.memmap):
        return "np.load returned %s, not a memory map" % type(a).__name__
    if a.dtype != dtype or hdtype != dtype:
        return "dtype is %s (header %s), expected %s" % (a.dtype.str,
                                                         hdtype.str, dtype.str)
    if a.shape != shape or hshape != shape:
        return "shape is %s (header %s), expected %s" % (a.shape, hshape,
                                                         shape)
    if a.offset != DATA_OFFSET:
        return "data starts at byte %d, expected %d" % (a.offset, DATA_OFFSET)
    want = pattern(dtype, shape, npattern)
    if not np.array_equal(np.asarray(a), want):
        flat_a = np.asarray(a).reshape(-1)
        flat_w = want.reshape(-1)
        bad = np.nonzero(flat_a != flat_w)[0]
        k = int(bad[0])
        return "%d of %d elements differ; first at flat index %d: %r, " \
               "expected %r" % (len(bad), flat_a.size, k, flat_a[k], flat_w[k])
    del a
    return None


def main(argv):
    if len(argv) != 2:
        print("usage: numpy_check.py MANIFEST", file=sys.stderr)
        return 2
    failed = 0
    with open(argv[1]) as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    for line in lines:
        fields = line.split("\t")
        if len(fields) != 5:
            print("FAIL %s: malformed manifest line (%d fields)" %
                  (fields[0], len(fields)))
            failed += 1
            continue
        label = fields[0]
        try:
            why = check(*fields[1:])
        except Exception as e:  # np.load raising is a failure to report
            why = "%s: %s" % (type(e).__name__, e)
        if why is None:
            print("PASS %s" % label)
        else:
            print("FAIL %s: %s" % (label, why))
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
