#!/bin/sh
# example_attach.sh - scenario 1, docs/examples/attach.md: one process
# creates and fills a named array and watches element 0 in its own
# mapping; a separately started process attaches by name and changes it;
# the first sees the change with no copy; a third process, started after
# both have exited, finds the data. NumPy reads the same file.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/lib.sh"

ATTACH=$top_builddir/docs/examples/attach
find_mmstore MMSTORE
if [ ! -x "$ATTACH" ]; then
    fail "$ATTACH is missing: run 'make check' (it builds it)"
    finish
fi
S=$T/store
mm() { "$MMSTORE" --store "$S" "$@"; }

# Nothing to attach to yet: a clear error, not a new array.
"$ATTACH" "$S" change >"$T/out" 2>"$T/err"
status=$?
check "change before anything exists fails (exit 1)" [ "$status" -eq 1 ]
check "... saying what is missing" grep -q "open store\|attach/numbers" "$T/err"
"$ATTACH" "$S" >"$T/out" 2>"$T/err"
check "no role is a usage error (exit 2)" [ $? -eq 2 ]

# Terminal 1: create, then watch.
"$ATTACH" "$S" create >"$T/create" 2>&1 &
creator=$!
i=0
while ! grep -q watching "$T/create" 2>/dev/null && [ $i -lt 200 ]; do
    sleep 0.05
    i=$((i + 1))
done
check "the creator filled, synced and is watching element 0" \
    grep -q "^create (pid $creator): 'attach/numbers' = 0, 10, 20, ..., 9990, synced; watching element 0$" "$T/create"
# Terminal 2: a separately started process attaches and changes it.
"$ATTACH" "$S" change >"$T/change" 2>&1
status=$?
cat "$T/change"
check "change exits 0" [ "$status" -eq 0 ]
check "change attached by name and read the creator's values" \
    grep -Eq "^change \(pid [0-9]+\): attached to 'attach/numbers', int64 \(1000\), x\[1\] = 10, x\[999\] = 9990$" "$T/change"
wait "$creator"
status=$?
cat "$T/create"
check "the creator exits 0" [ "$status" -eq 0 ]
check "the creator saw 42 in its own mapping" \
    grep -q "^create (pid $creator): element 0 is now 42: another process's write, seen in my own mapping$" "$T/create"

# Later: both have exited; a third process finds the data.
"$ATTACH" "$S" read >"$T/read" 2>&1
status=$?
cat "$T/read"
check "read, after both exited, exits 0" [ "$status" -eq 0 ]
check "read finds element 0 = 42 and the rest" \
    grep -Eq "^read \(pid [0-9]+\): 'attach/numbers' is still here: x\[0\] = 42, x\[1\] = 10, x\[999\] = 9990$" "$T/read"
check "mmstore verify: the data matches its synced checksums" \
    mm verify attach/numbers
mm ls >"$T/ls" 2>&1
check "mmstore ls: int64 (1000), clean" \
    grep -Eq '^attach/numbers +int64 +\(1000,\) .* clean$' "$T/ls"
require_numpy
path=$(mm --json info attach/numbers | "$PY" -c \
    'import json,sys; print(json.load(sys.stdin)["path"])')
check "NumPy maps the file: 42, 10, 20, ..., 9990" "$PY" -c "
import sys
import numpy as np
x = np.load(sys.argv[1], mmap_mode='r')
want = np.arange(1000, dtype=np.int64) * 10
want[0] = 42
sys.exit(not (x.dtype == np.int64 and np.array_equal(x, want)))" "$path"
finish
