#!/bin/sh
# test_torture.sh - the short crash torture of `make check`: 50 writers
# killed with SIGKILL at random moments, the store checked after each
# (see tests/multiproc/torture.c; `make torture` runs 1,000). The seed is
# printed first: rerun a failure with tests/multiproc/torture --seed S.
: "${top_builddir:=$(pwd)}"
exec "$top_builddir/tests/multiproc/torture" --kills 50
