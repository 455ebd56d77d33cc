#!/bin/sh
# test_hostile.sh - import, export, dump, restore and show against the
# inputs and conditions of the outside audit (issue 11, the tool's items):
# bytes CSV must refuse, zstd streams of several frames or with garbage
# after them, a data file truncated under the tool, symbolic links as
# outputs, UTF-8 and long names in dumps, few file descriptors, and slice
# strides that overflow. Each refusal exits 1 with a "mmstore: ..." message
# and leaves the store, and the output's directory, as they were.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/lib.sh"

find_mmstore M
S=$T/store
unset MMSTORE_DIR
mm() { "$M" --quiet --store "$S" "$@"; }
check "mmstore init makes the test store" mm init

# ---- CSV ------------------------------------------------------------------

# A NUL byte is not text: refused where it is, not the rest of its line lost.
expect_error "a CSV line with a NUL byte is refused with its line and column" \
    'stdin: line 2, column 2: a NUL byte \(byte 4' \
    sh -c 'printf "0,0,0\n1,2\0,3\n" | "$1" --quiet --store "$2" import - \
           bad/nul --format csv' sh "$M" "$S"
expect_error "the audit's one-line CSV with a NUL byte is refused" \
    'stdin: line 1, column 2: a NUL byte' \
    sh -c 'printf "1,2\0,3\n" | "$1" --quiet --store "$2" import - \
           bad/nul --format csv' sh "$M" "$S"

finish
