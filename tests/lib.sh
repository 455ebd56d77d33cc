# lib.sh - shared helper for mmstore's shell tests. Source it first:
#
#   . "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
#
# It gives:
#   $T             a fresh temporary directory under ${TMPDIR:-/tmp},
#                  removed when the script exits
#   $top_srcdir, $top_builddir   (from the test harness; guessed otherwise)
#   $HELPER        tests/mms-testhelper in the build tree
#   ok DESC        count a passed check
#   fail DESC      count a failed check (DESC says what went wrong)
#   check DESC CMD...   run CMD; ok DESC if it exits 0, else fail DESC
#   require_helper      fail and finish unless $HELPER can be run
#   finish         print exactly one line "RESULT: N passed, M failed"
#                  (summed by scripts/check.sh) and exit 1 if anything
#                  failed, 0 otherwise
# A script that exits without calling finish (an error, an unexpected exit)
# counts that as one more failure and still prints the RESULT line.
# Nothing is ever skipped: a missing tool is a failure that says how to get
# it (scripts/install-deps.sh installs every one).

set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$(pwd)}"
HELPER=$top_builddir/tests/mms-testhelper

mms_passed=0
mms_failed=0
mms_finished=0

ok() {
    mms_passed=$((mms_passed + 1))
    printf 'ok: %s\n' "$*"
}

fail() {
    mms_failed=$((mms_failed + 1))
    printf 'FAIL: %s\n' "$*"
}

check() {
    local desc=$1
    shift
    if "$@"; then
        ok "$desc"
    else
        fail "$desc (exit status $?: $*)"
    fi
}

finish() {
    mms_finished=1
    echo "RESULT: $mms_passed passed, $mms_failed failed"
    if [ "$mms_failed" -ne 0 ]; then
        exit 1
    fi
    exit 0
}

mms_on_exit() {
    local status=$?
    if [ "$mms_finished" -eq 0 ]; then
        fail "$(basename "$0") ended before finish (exit status $status)"
        echo "RESULT: $mms_passed passed, $mms_failed failed"
        status=1
    fi
    rm -rf "$T"
    exit "$status"
}

T=$(mktemp -d "${TMPDIR:-/tmp}/mmstore-sh-XXXXXX") || {
    echo "FAIL: cannot make a temporary directory under ${TMPDIR:-/tmp}"
    echo "RESULT: 0 passed, 1 failed"
    exit 1
}
trap mms_on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

require_helper() {
    if [ ! -x "$HELPER" ]; then
        fail "test helper $HELPER is missing: run 'make check' (it builds it)"
        finish
    fi
}
