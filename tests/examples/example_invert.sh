#!/bin/sh
# example_invert.sh - scenario 3, docs/examples/invert.md: the test
# photograph imported from PNG and from JPEG, inverted in place by worker
# processes that each lock their own band of rows, and exported as PNG.
# Pillow (independent of mmstore) checks the exported pixels against the
# photograph's; NumPy reads the array's own file; mmstore verify checks
# the checksums the workers' syncs recorded.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/lib.sh"

INVERT=$top_builddir/docs/examples/invert
EX=$top_srcdir/docs/examples
find_mmstore MMSTORE
if [ ! -x "$INVERT" ]; then
    fail "$INVERT is missing: run 'make check' (it builds it)"
    finish
fi
require_numpy
S=$T/store
mm() { "$MMSTORE" --store "$S" "$@"; }
check "mmstore init" mm init

# inverted_of SOURCE_IMAGE RESULT_PNG: Pillow reads both; every pixel of
# RESULT is 255 minus SOURCE's.
inverted_of() {
    "$PY" -c "
import sys
import numpy as np
from PIL import Image
a = np.asarray(Image.open(sys.argv[1]).convert('RGB')).astype(int)
b = np.asarray(Image.open(sys.argv[2])).astype(int)
sys.exit(not (a.shape == b.shape and (b == 255 - a).all()))" "$1" "$2"
}

# -- The walk-through of invert.md: PNG in, 4 workers, PNG out.
check "import photo.png" mm import "$EX/photo.png" photo
"$INVERT" "$S" photo >"$T/out" 2>"$T/err"
status=$?
cat "$T/out" "$T/err"
check "invert exits 0 (its own check holds)" [ "$status" -eq 0 ]
check "it sees a 480 x 320 RGB image" \
    grep -qx "photo: 480 x 320 pixels, 3 channel(s), 4 workers" "$T/out"
for band in "0- 79" "80-159" "160-239" "240-319"; do
    check "a worker inverted rows $band" \
        grep -Eq "^worker [0-3] \(pid [0-9]+\): rows +$band inverted and synced" \
        "$T/out"
done
check "its own byte-by-byte check passed" \
    grep -qx "every one of the 460800 bytes is 255 minus what it was: OK" \
    "$T/out"
check "export the result as PNG" mm export photo "$T/inverted.png"
check "Pillow: every pixel is 255 minus the photograph's" \
    inverted_of "$EX/photo.png" "$T/inverted.png"
check "mmstore verify: the workers' syncs recorded the checksums" \
    mm verify photo
mm ls >"$T/ls"
check "the array is clean after the workers" grep -q '^photo .* clean$' "$T/ls"
path=$(mm --json info photo | "$PY" -c \
    'import json,sys; print(json.load(sys.stdin)["path"])')
check "NumPy maps the array's file and sees the inverted photograph" \
    "$PY" -c "
import sys
import numpy as np
from PIL import Image
a = np.asarray(Image.open(sys.argv[1]))
b = np.load(sys.argv[2], mmap_mode='r')
sys.exit(not (b.dtype == np.uint8 and (b == 255 - a).all()))" \
    "$EX/photo.png" "$path"

# -- The JPEG, with 3 workers (bands of 107, 107 and 106 rows).
check "import photo.jpg" mm import "$EX/photo.jpg" photo-jpg
"$INVERT" "$S" photo-jpg 3 >"$T/out" 2>&1
status=$?
cat "$T/out"
check "invert with 3 workers exits 0" [ "$status" -eq 0 ]
check "uneven bands cover every row" \
    [ "$(grep -Ec 'rows +(0-106|107-213|214-319) inverted' "$T/out")" -eq 3 ]
check "export the inverted JPEG as PNG" \
    mm export photo-jpg "$T/inverted-jpg.png"
check "Pillow: 255 minus Pillow's own decoding of photo.jpg" \
    inverted_of "$EX/photo.jpg" "$T/inverted-jpg.png"
check "and as JPEG again" mm export --quality 85 photo-jpg "$T/inverted.jpg"
check "Pillow reads that JPEG, 480 x 320 RGB" "$PY" -c "
import sys
from PIL import Image
im = Image.open(sys.argv[1])
sys.exit(not (im.format == 'JPEG' and im.size == (480, 320) and
              im.mode == 'RGB'))" "$T/inverted.jpg"

# -- Bad input: not an image, bad usage.
mm create -t float64 -s 4,4 table >/dev/null 2>&1
"$INVERT" "$S" table >"$T/out" 2>"$T/err"
status=$?
check "invert on a float64 array exits 1" [ "$status" -eq 1 ]
check "... saying it is not an image" grep -q "not an image" "$T/err"
"$INVERT" "$S" photo 0 >"$T/out" 2>"$T/err"
check "0 workers is a usage error (exit 2)" [ $? -eq 2 ]
"$INVERT" "$S" nosuch >"$T/out" 2>"$T/err"
check "a missing name exits 1" [ $? -eq 1 ]
check "... naming it" grep -q "nosuch" "$T/err"
finish
