#!/bin/sh
# example_sum.sh - scenario 5, docs/examples/sum.md: docs/examples/sum
# sums an int64 array one process alone, by workers fed copies through
# pipes, and by workers that attach by name; all three sums must be
# n(n-1)/2. Runs it once with the default 100 million values (800 MB, a few
# seconds) and once small with an odd count, then checks the array it left
# with the real CLI. Times are printed, never asserted.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/lib.sh"

SUM=$top_builddir/docs/examples/sum
MMSTORE=$top_builddir/tools/mmstore
if [ ! -x "$SUM" ] || [ ! -x "$MMSTORE" ]; then
    fail "$SUM or $MMSTORE is missing: run 'make check' (it builds them)"
    finish
fi
S=$T/store

# run_sum WANT ARGS...: runs sum on $S, shows its output, and checks the
# exit status, one line per way of summing, and the final agreement.
run_sum() {
    want=$1
    shift
    what="sum ${*:-(defaults)}"
    "$SUM" "$S" "$@" >"$T/out" 2>"$T/err"
    status=$?
    cat "$T/out" "$T/err"
    check "$what exits 0" [ "$status" -eq 0 ]
    for way in '(a) 1 process sums its mapping:' \
               'workers get copies through pipes:' \
               'workers attach by name:' \
               "each worker's attach, store open + array open:"; do
        if grep -qF "$way" "$T/out"; then
            ok "$what reports '$way'"
        else
            fail "$what printed no line '$way'"
        fi
    done
    check "$what reports all three sums equal to n(n-1)/2 = $want" \
        grep -qx "all three equal n(n-1)/2 = $want: OK" "$T/out"
    check "$what prints each sum as $want" \
        grep -qx "sums: (a) $want, (b) $want, (c) $want" "$T/out"
}

run_sum 4999999950000000
run_sum 500001500001 --count 1000002 --workers 3
run_sum 0 --count 1 --workers 1

# The small run replaced the array; the CLI sees it, clean and verified.
"$MMSTORE" --store "$S" ls >"$T/ls" 2>&1
cat "$T/ls"
check "mmstore ls shows sum/values as int64 (1,), clean" \
    grep -Eq '^sum/values +int64 +\(1,\) .* clean$' "$T/ls"
check "mmstore verify passes on what sum left" \
    "$MMSTORE" --store "$S" verify

# Bad arguments are a usage error (exit 2), not a run.
"$SUM" "$S" --workers 0 >/dev/null 2>"$T/err"
status=$?
check "sum --workers 0 exits 2 (usage)" [ "$status" -eq 2 ]
check "sum --workers 0 prints its usage" grep -q '^usage: sum STORE_DIR' "$T/err"
finish
