#!/bin/sh
# example_crash.sh - scenario 7, docs/examples/crash.md: a writer killed
# with SIGKILL in mid-update. docs/examples/crash does the writer, the kill
# and its own checks; then the real CLI must name the interrupted array and
# only rows written after the last sync (mmstore check, mmstore verify),
# and after the user redoes the update, verify passes and the array is
# clean again.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/lib.sh"

CRASH=$top_builddir/docs/examples/crash
MMSTORE=$top_builddir/tools/mmstore
if [ ! -x "$CRASH" ] || [ ! -x "$MMSTORE" ]; then
    fail "$CRASH or $MMSTORE is missing: run 'make check' (it builds them)"
    finish
fi
S=$T/store
mm() { "$MMSTORE" --store "$S" "$@"; }
# The rows the killed writer touched after its last sync (crash.c).
FIRST=16384
LAST=32767

# in_unsynced FILE: every "rows A-B" in FILE lies in FIRST..LAST, and there
# is at least one.
in_unsynced() {
    awk -v lo=$FIRST -v hi=$LAST '
        match($0, /rows [0-9]+-[0-9]+/) {
            split(substr($0, RSTART + 5, RLENGTH - 5), r, "-")
            n++
            if (r[1] + 0 < lo || r[2] + 0 > hi) bad++
        }
        END { exit !(n > 0 && bad == 0) }' "$1"
}

# -- The program: writer, kill, its own checks.
"$CRASH" "$S" >"$T/out" 2>"$T/err"
status=$?
cat "$T/out" "$T/err"
check "crash STORE exits 0 (its own checks hold)" [ "$status" -eq 0 ]
check "the writer was killed by the parent" \
    grep -q '^parent: killed writer [0-9]* with SIGKILL in mid-update$' "$T/out"
check "the program finds the array interrupted" \
    grep -qx "state of 'crash/table': interrupted" "$T/out"
check "mms_verify's mismatches lie in rows $FIRST-$LAST" \
    grep -q "blocks differ, all inside rows $FIRST-$LAST (written after the last sync): OK" "$T/out"
check "the synced rows hold their values" \
    grep -qx "rows 0-16383, synced before the crash, hold their values: OK" "$T/out"

# -- What a user sees with the CLI.
mm ls >"$T/ls" 2>&1
cat "$T/ls"
check "mmstore ls shows crash/table interrupted" \
    grep -Eq '^crash/table +float64 +\(65536, 64\) .* interrupted$' "$T/ls"

mm check >"$T/check" 2>&1
status=$?
cat "$T/check"
check "mmstore check exits 1 (problems found)" [ "$status" -eq 1 ]
check "mmstore check names the interrupted array" \
    grep -q '^crash/table: a writer died with the array open' "$T/check"
check "mmstore check names mismatching rows" \
    grep -Eq '^crash/table: rows [0-9]+-[0-9]+ \(block [0-9]+\) differ from their last synced checksum$' "$T/check"
check "mmstore check's rows all lie in $FIRST-$LAST" in_unsynced "$T/check"

mm verify >"$T/verify" 2>&1
status=$?
cat "$T/verify"
check "mmstore verify exits 1 (mismatch)" [ "$status" -eq 1 ]
check "mmstore verify names mismatching rows" \
    grep -Eq '^crash/table: rows [0-9]+-[0-9]+ \(block [0-9]+\) do not match$' "$T/verify"
check "mmstore verify's rows all lie in $FIRST-$LAST" in_unsynced "$T/verify"
check "mmstore verify and mmstore check name the same rows" \
    [ "$(grep -Eo 'rows [0-9]+-[0-9]+' "$T/verify")" = \
      "$(grep -Eo 'rows [0-9]+-[0-9]+' "$T/check")" ]

# -- The user's next step: redo the lost update, then verify.
"$CRASH" "$S" redo >"$T/redo" 2>&1
status=$?
cat "$T/redo"
check "crash STORE redo exits 0" [ "$status" -eq 0 ]
mm ls >"$T/ls" 2>&1
check "after the redo the array is still interrupted (until a verify)" \
    grep -q ' interrupted$' "$T/ls"
mm verify >"$T/verify" 2>&1
status=$?
cat "$T/verify"
check "mmstore verify now passes (exit 0)" [ "$status" -eq 0 ]
check "mmstore verify now prints nothing" [ ! -s "$T/verify" ]
mm ls >"$T/ls" 2>&1
cat "$T/ls"
check "the passing verify marked the array clean" grep -q ' clean$' "$T/ls"
mm check >"$T/check" 2>&1
status=$?
cat "$T/check"
check "mmstore check now finds nothing (exit 0)" [ "$status" -eq 0 ]
check "mmstore check now prints nothing" [ ! -s "$T/check" ]

# The data: every row of both batches holds row + col/1000 (NumPy reads
# the array's .npy file directly, with no mmstore code).
PY=${PYTHON3:-/usr/bin/python3}
path=$(mm --json info crash/table | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["path"])')
check "NumPy reads back both batches, the rest zero" "$PY" -c "
import numpy as np, sys
x = np.load(sys.argv[1], mmap_mode='r')
r = np.arange(32768)[:, None] + np.arange(64)[None, :] / 1000.0
sys.exit(not (np.array_equal(x[:32768], r) and not x[32768:].any()))" "$path"
finish
