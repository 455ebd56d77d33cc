#!/bin/sh
# example_ring.sh - scenario 4, docs/examples/ring.md: a producer and a
# consumer pass records through a ring buffer in the store with
# mms_wait_u32/mms_wake. Every record must be delivered once and in order
#  - in the program's own story (the consumer kills itself between
#    delivering a record and moving the tail on, the worst moment);
#  - with separately started processes, the consumer killed with kill -9
#    from outside at an arbitrary moment and started again;
#  - with the consumer started before the producer (it waits).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/lib.sh"
require_long "4 s: 3 million records through the ring, a consumer killed"

RING=$top_builddir/docs/examples/ring
find_mmstore MMSTORE
if [ ! -x "$RING" ]; then
    fail "$RING is missing: run 'make check' (it builds it)"
    finish
fi
S=$T/store
mm() { "$MMSTORE" --store "$S" "$@"; }

# -- The program's own story.
"$RING" "$S" 100000 >"$T/out" 2>&1
status=$?
cat "$T/out"
check "ring STORE exits 0 (its own check holds)" [ "$status" -eq 0 ]
check "the first consumer died after delivering 0-33332" \
    grep -Eq '^consumer \(pid [0-9]+\): delivered records 0-33332; killed' "$T/out"
check "the second consumer resumed at 33332" \
    grep -Eq '^consumer \(pid [0-9]+\): resuming at record 33332$' "$T/out"
check "... and did not deliver 33332 again" \
    grep -q 'record 33332 was delivered before the last consumer died; not again' "$T/out"
check "... and delivered the remaining 66667" \
    grep -Eq 'delivered 66667 records, up to 99999' "$T/out"
check "check: all 100000 once, in order" \
    grep -q '^check: all 100000 records delivered once, in order' "$T/out"

# -- Separate processes, a kill -9 from outside.
N=3000000
check "init a ring for $N records" "$RING" "$S" init $N
"$RING" "$S" produce $N >"$T/producer" 2>&1 &
producer=$!
"$RING" "$S" consume $N >"$T/consumer1" 2>&1 &
consumer=$!
# Kill it once it has consumed something (TAIL, ring/ctl[1], > 0), however
# slow the machine is today.
i=0
while [ "$(mm show ring/ctl 1 2>/dev/null || echo 0)" = 0 ] && [ $i -lt 400 ]; do
    sleep 0.025
    i=$((i + 1))
done
sleep 0.05
if kill -9 "$consumer" 2>/dev/null; then
    ok "killed the consumer with kill -9 while it ran"
else
    fail "the consumer was gone before the kill (too fast? raise N)"
fi
wait "$consumer" 2>/dev/null
mm ls >"$T/ls" 2>&1
cat "$T/ls"
check "mmstore ls: the dead consumer's ring/out is interrupted" \
    grep -Eq '^ring/out .* interrupted$' "$T/ls"
"$RING" "$S" consume $N >"$T/consumer2" 2>&1
status=$?
cat "$T/consumer1" "$T/consumer2"
check "the restarted consumer exits 0" [ "$status" -eq 0 ]
check "it resumed where the first stopped, not at 0" \
    grep -Eq '^consumer \(pid [0-9]+\): resuming at record [1-9][0-9]*$' "$T/consumer2"
wait "$producer"
check "the producer exits 0" [ $? -eq 0 ]
cat "$T/producer"
check "check: all $N once and in order" "$RING" "$S" check $N
check "mmstore verify ring/out: the synced data matches" mm verify ring/out
mm ls >"$T/ls" 2>&1
check "... and ring/out is clean again" grep -Eq '^ring/out .* clean$' "$T/ls"

# -- The consumer first: it sleeps until records come.
check "init a ring for 1000 records" "$RING" "$S" init 1000
"$RING" "$S" consume 1000 >"$T/early" 2>&1 &
consumer=$!
sleep 0.2
check "the early consumer is still waiting" kill -0 "$consumer"
check "the producer writes 1000" "$RING" "$S" produce 1000
wait "$consumer"
check "the early consumer then exits 0" [ $? -eq 0 ]
check "check: 1000 once and in order" "$RING" "$S" check 1000
"$RING" "$S" check 999 >"$T/out" 2>"$T/err"
check "check with the wrong count fails (exit 1)" [ $? -eq 1 ]
check "... saying so" grep -q "made for 1000 records, not 999" "$T/err"
finish
