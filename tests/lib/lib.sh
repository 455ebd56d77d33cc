# lib.sh - shared helper for mmstore's shell tests. Source it first:
#
#   . "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/lib.sh"
#
# It gives:
#   $T             a fresh temporary directory under ${TMPDIR:-/tmp},
#                  removed when the script exits
#   $top_srcdir, $top_builddir   (from the test harness; guessed otherwise)
#   $HELPER        tests/lib/mms-testhelper in the build tree
#   ok DESC        count a passed check
#   fail DESC      count a failed check (DESC says what went wrong)
#   check DESC CMD...   run CMD; ok DESC if it exits 0, else fail DESC
#   require_helper      fail and finish unless $HELPER can be run
#   find_mmstore VAR    set VAR to the mmstore program of the build tree
#                  (the real one, not libtool's wrapper), or fail and finish
#   require_numpy  fail and finish unless $PY can import numpy
#   require_long WHY    for a slow script, first thing: unless MMS_TEST_LONG
#                  is set (non-empty, not 0; `make check-long` sets it),
#                  say why it is left out and exit 77 (automake's SKIP)
#   expect_error DESC PATTERN CMD...   CMD exits 1 with a "mmstore: ..."
#                  message matching PATTERN and the store $S unchanged
#                  (needs a function mm that runs the tool on $S)
#   finish         print exactly one line "RESULT: N passed, M failed"
#                  (summed by scripts/check.sh) and exit 1 if anything
#                  failed, 0 otherwise
# A script that exits without calling finish (an error, an unexpected exit)
# counts that as one more failure and still prints the RESULT line.
# A missing tool is never a reason to skip: it is a failure that says how to
# get it (scripts/install-deps.sh installs every one). Only a slow script
# skips, through require_long, when the run is not a long one.

set -u

PY=${PYTHON3:-/usr/bin/python3}
[ -n "$PY" ] || PY=/usr/bin/python3

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"
HELPER=$top_builddir/tests/lib/mms-testhelper

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

# With shared libraries, tools/mmstore is libtool's wrapper script, which
# costs a shell start (a third of a second here) on every one of the
# hundreds of calls a test makes: use the program it wraps, with the
# library beside it, when it is there.
find_mmstore() {
    mms_tool=$top_builddir/tools/mmstore
    if [ -x "$top_builddir/tools/.libs/mmstore" ] &&
        [ -d "$top_builddir/src/.libs" ]; then
        mms_tool=$top_builddir/tools/.libs/mmstore
        LD_LIBRARY_PATH=$top_builddir/src/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
        export LD_LIBRARY_PATH
    fi
    if [ ! -x "$mms_tool" ]; then
        fail "$mms_tool is missing: run 'make check' (it builds it)"
        finish
    fi
    eval "$1=\$mms_tool"
}

require_long() {
    case ${MMS_TEST_LONG:-0} in
        0)
            echo "SKIP: $(basename "$0") is slow ($*); make check-long" \
                 "runs it (MMS_TEST_LONG=1)"
            mms_finished=1
            exit 77
            ;;
    esac
}

require_numpy() {
    if ! "$PY" -c 'import numpy' >"$T/py.err" 2>&1; then
        fail "$PY cannot import numpy: $(tail -n 1 "$T/py.err");" \
             "run scripts/install-deps.sh (Debian's python3-numpy)"
        finish
    fi
}

# mms_state FILE: what a failed command must leave as it was: the listing
# (with checksums, generations, times) and the files in data/.
mms_state() {
    mm --json ls -l >"$1" 2>&1
    ls -a "$S/data" >>"$1"
}

expect_error() {
    desc=$1
    pattern=$2
    shift 2
    mms_state "$T/before"
    "$@" >"$T/out" 2>"$T/err"
    rc=$?
    mms_state "$T/after"
    msg=
    read -r msg <"$T/err"
    if [ "$rc" -ne 1 ]; then
        fail "$desc: exit status $rc, expected 1 (stderr: $msg)"
    elif [ "${msg#mmstore: }" = "$msg" ]; then
        fail "$desc: no 'mmstore: ...' message on stderr (got: $msg)"
    elif ! grep -qE -- "$pattern" "$T/err"; then
        fail "$desc: message '$msg' does not match /$pattern/"
    elif ! cmp -s "$T/before" "$T/after"; then
        fail "$desc: the store changed: $(diff "$T/before" "$T/after" |
                                          head -n 6 | tr '\n' ' ')"
    else
        ok "$desc ($msg)"
    fi
}
