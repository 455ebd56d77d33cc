#!/bin/sh
# test_soak.sh - the soak test (tests/soak/soak.c). `make check`: a
# deterministic 10 s run with no killer (no array may end INTERRUPTED),
# then 60 s with 4 workers and a kill every 0.5-2 s. `make check-long`
# (MMS_TEST_LONG): 10 minutes with 8 workers and kills instead of the
# 60 s run, then 60 s with check --repair running among the workers
# (--with-repair: check must judge nothing on a stale snapshot). Each run
# prints its seed first; replay a failure with tests/soak/soak --seed S
# and the same options.
: "${top_builddir:=$(pwd)}"
SOAK=$top_builddir/tests/soak/soak
status=0
"$SOAK" --seconds 10 --workers 4 --kill-every-ms 0 || status=1
case ${MMS_TEST_LONG:-0} in
    0) "$SOAK" --seconds 60 --workers 4 --kill-every-ms 500:2000 || status=1 ;;
    *) "$SOAK" --seconds 600 --workers 8 --kill-every-ms 500:2000 || status=1
       "$SOAK" --seconds 60 --workers 4 --kill-every-ms 500:2000 \
           --with-repair || status=1 ;;
esac
exit $status
