#!/bin/sh
# test_numpy.sh - NumPy reads every dtype's data file with
# np.load(path, mmap_mode="r") and gets the values mmstore wrote.
#
# mms-testhelper creates one array per dtype and shape, filled with its test
# pattern (element i = i + 1, see tests/lib/mms-testhelper.c); numpy_check.py
# compares dtype, shape, data offset and every value. Arrays grown and
# shrunk with a resize must still load, with the new shape.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/lib.sh"

PY=${PYTHON3:-/usr/bin/python3}
[ -n "$PY" ] || PY=/usr/bin/python3

require_helper
if ! "$PY" -c 'import numpy' >"$T/py.err" 2>&1; then
    fail "$PY cannot import numpy: $(tail -n 1 "$T/py.err");" \
         "run scripts/install-deps.sh (Debian's python3-numpy)"
    finish
fi
ok "$PY imports numpy $("$PY" -c 'import numpy; print(numpy.__version__)')"

S=$T/store
manifest=$T/manifest
: >"$manifest"
ncases=0

# add_case LABEL NAME DTYPE SHAPE NPATTERN: records that NAME's data file
# must load as DTYPE with SHAPE, its first NPATTERN elements (or "all")
# holding the pattern and the rest zero.
add_case() {
    path=$("$HELPER" "$S" path "$2") || {
        fail "$1: mms-testhelper path $2 failed"
        return
    }
    printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$path" "$3" "$4" "$5" >>"$manifest"
    ncases=$((ncases + 1))
}

for dtype in bool int8 int16 int32 int64 uint8 uint16 uint32 uint64 \
             float16 float32 float64 complex64 complex128; do
    for shape in "()" "0" "7" "3,4" "2,3,4"; do
        name="$dtype/shape($shape)"
        if "$HELPER" "$S" create "$name" "$dtype" "$shape"; then
            add_case "$dtype shape ($shape)" "$name" "$dtype" "$shape" all
        else
            fail "create $dtype array of shape ($shape) with mms-testhelper"
        fi
    done
done

# resize_case LABEL DTYPE SHAPE ROWS NEWSHAPE NPATTERN
resize_case() {
    name="resized/$1"
    if ! "$HELPER" "$S" create "$name" "$2" "$3"; then
        fail "$1: create $2 array of shape ($3)"
        return
    fi
    if ! "$HELPER" "$S" resize "$name" "$4"; then
        fail "$1: resize from ($3) to $4 rows"
        return
    fi
    add_case "$1: ($3) resized to ($5)" "$name" "$2" "$5" "$6"
}

resize_case "grown within capacity" int32 "3,4" 5 "5,4" 12
resize_case "grown past capacity" float64 "3,4" 5000 "5000,4" 12
resize_case "grown from empty" uint16 "0" 10 "10" 0
resize_case "grown 3-d" complex64 "2,3,4" 3 "3,3,4" 24
resize_case "shrunk" int16 "7" 3 "3" all
resize_case "shrunk to empty" float32 "3,4" 0 "0,4" all

if [ "$ncases" -eq 0 ]; then
    fail "no array was created: nothing for NumPy to check"
    finish
fi

"$PY" "$top_srcdir/tests/cli/numpy_check.py" "$manifest" >"$T/out" 2>"$T/err"
status=$?
npass=0
nfail=0
while IFS= read -r line; do
    case $line in
        "PASS "*) ok "numpy reads ${line#PASS }"; npass=$((npass + 1)) ;;
        "FAIL "*) fail "numpy reads ${line#FAIL }"; nfail=$((nfail + 1)) ;;
    esac
done <"$T/out"
if [ $((npass + nfail)) -ne "$ncases" ]; then
    fail "numpy_check.py reported $((npass + nfail)) of $ncases cases" \
         "(exit status $status): $(tail -n 5 "$T/err")"
elif [ "$status" -ne 0 ] && [ "$nfail" -eq 0 ]; then
    fail "numpy_check.py exited $status with no failed case:" \
         "$(tail -n 5 "$T/err")"
fi
finish
