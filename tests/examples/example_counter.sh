#!/bin/sh
# example_counter.sh - scenario 2, docs/examples/counter.md: a counter
# shared by several processes, incremented under a range lock, without a
# lock, with mms_atomic_add_i64 and with C11 atomics on the mapping. The
# correct ways must count every increment (the program checks, and so
# does this script from its output and from the array's file); the
# unlocked way may lose some but never gains any. Rates are printed, never
# asserted.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/lib.sh"

COUNTER=$top_builddir/docs/examples/counter
find_mmstore MMSTORE
if [ ! -x "$COUNTER" ]; then
    fail "$COUNTER is missing: run 'make check' (it builds it)"
    finish
fi
S=$T/store

# counted OUT WAY WANT: the way's line in OUT shows WANT and 0 lost.
counted() {
    grep -Eq "^\\($2\\) .* $3 +0 \\(  0%\\)" "$1"
}

for run in "4 200000" "3 100001" "1 1000"; do
    set -- $run
    procs=$1
    n=$2
    "$COUNTER" "$S" "$procs" "$n" >"$T/out" 2>&1
    status=$?
    cat "$T/out"
    check "$procs x $n: counter exits 0 (its own check holds)" \
        [ "$status" -eq 0 ]
    check "$procs x $n: (a) lock counted all $((procs * (n / 10)))" \
        counted "$T/out" a $((procs * (n / 10)))
    check "$procs x $n: (c) mms_atomic_add_i64 counted all $((procs * n))" \
        counted "$T/out" c $((procs * n))
    check "$procs x $n: (d) C11 counted all $((procs * n))" \
        counted "$T/out" d $((procs * n))
    b=$(sed -n 's/^(b) no lock *\([0-9]*\) .*/\1/p' "$T/out")
    check "$procs x $n: (b) no lock counted ${b:-nothing}, at most $((procs * n))" \
        [ -n "$b" ] && [ "$b" -le $((procs * n)) ]
done
check "one process alone loses nothing even without a lock" \
    counted "$T/out" b 1000

# The counters are an ordinary array in the store: the last run's values.
require_numpy
path=$("$MMSTORE" --store "$S" --json info counter/counts | "$PY" -c \
    'import json,sys; print(json.load(sys.stdin)["path"])')
check "NumPy reads the counters of the last run: 100, 1000, 1000, 1000" \
    "$PY" -c "
import sys
import numpy as np
x = np.load(sys.argv[1], mmap_mode='r')
sys.exit(not (x.dtype == np.int64 and x.tolist() == [100, 1000, 1000, 1000]))" \
    "$path"
"$COUNTER" "$S" 0 >"$T/out" 2>&1
check "0 processes is a usage error (exit 2)" [ $? -eq 2 ]
finish
