#!/usr/bin/env bash
# check.sh [--quick] [--sanitizers] [--valgrind] - run mmstore's test suite.
#
# Installs the dependencies (install-deps.sh), builds out of tree in build/
# (build-asan/ with --sanitizers, configured --enable-sanitizers), runs
# `make -j2 check-long` (every test, the slow ones too; with --quick
# `make -j2 check`, which leaves the slow ones out) to the end even when
# tests fail, and adds up the "RESULT: N passed, M failed" lines of every
# test log under tests/ (one folder per kind). A test program that prints
# no RESULT line counts as one test, passed or failed as the test harness
# saw it; one that exits with a failure after reporting all its tests
# passed (a sanitizer's leak report, a crash at exit) counts one more
# failure; a skipped script counts nothing and is listed. --valgrind then
# runs `make check-valgrind`, counted as one test. Logs of failed tests are
# shown, and the last line of output is always "N passed, M failed".
#
# Exit status: 0 when everything passed, 1 when a test failed, make check
# failed, or no test ran; 2 for a usage error.
set -uo pipefail

usage() {
    echo "usage: $0 [--quick] [--sanitizers] [--valgrind]" >&2
    exit 2
}

sanitizers=no
valgrind=no
target=check-long
for arg in "$@"; do
    case $arg in
        --quick) target=check ;;
        --sanitizers) sanitizers=yes ;;
        --valgrind) valgrind=yes ;;
        -h|--help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) usage ;;
    esac
done
if [ "$sanitizers" = yes ] && [ "$valgrind" = yes ]; then
    echo "check: --sanitizers and --valgrind do not mix" \
         "(valgrind cannot run ASan binaries); run them one at a time" >&2
    exit 2
fi

# One stream, so that the totals stay the last line even when a caller
# captures stdout and stderr apart.
exec 2>&1

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
passed=0
failed=0

# Prints the totals as the last line of output and exits.
finish() {
    echo "$passed passed, $failed failed"
    exit "$1"
}

if ! bash "$root/scripts/install-deps.sh"; then
    echo "check: could not install the dependencies"
    finish 1
fi

build_args=()
builddir=$root/build
if [ "$sanitizers" = yes ]; then
    build_args=(--sanitizers)
    builddir=$root/build-asan
fi
if ! bash "$root/scripts/build.sh" "${build_args[@]}"; then
    echo "check: the build failed; no test ran"
    finish 1
fi

cd "$builddir" || finish 1
# Only this run's results count: drop the logs a test no longer in TESTS
# would leave behind.
[ ! -d tests ] ||
    find tests \( -name '*.log' -o -name '*.trs' \) -exec rm -f {} +
echo "check: make -j2 $target"
make -j2 "$target"
check_status=$?

# The harness's verdict on one test, from its .trs file: FAIL when any
# result line failed, else PASS, SKIP, or NONE when there is no .trs file.
verdict() {
    local trs=$1
    [ -f "$trs" ] || { echo NONE; return; }
    awk '/^:test-result:/ { r[$2] = 1 }
         END { if (r["FAIL"] || r["ERROR"] || r["XPASS"]) print "FAIL";
               else if (r["PASS"] || r["XFAIL"]) print "PASS";
               else if (r["SKIP"]) print "SKIP";
               else print "NONE" }' "$trs"
}

bad_logs=()
skipped=()
while IFS= read -r log; do
    read -r nresult p f < <(awk '
        /^RESULT: [0-9]+ passed, [0-9]+ failed/ { n++; p += $2; f += $4 }
        END { print n + 0, p + 0, f + 0 }' "$log")
    v=$(verdict "${log%.log}.trs")
    if [ "$nresult" -eq 0 ]; then
        case $v in
            PASS) passed=$((passed + 1)) ;;
            SKIP) skipped+=("$log") ;;
            *) failed=$((failed + 1)); bad_logs+=("$log") ;;
        esac
        continue
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$v" != PASS ] && [ "$f" -eq 0 ]; then
        # All its tests passed, yet the program failed: count that too.
        failed=$((failed + 1))
    fi
    if [ "$f" -gt 0 ] || [ "$v" != PASS ]; then
        bad_logs+=("$log")
    fi
done < <(find tests -name '*.log' 2>/dev/null | sort)

for log in "${bad_logs[@]}"; do
    echo
    echo "==== $builddir/$log (last 40 lines) ===="
    tail -n 40 "$log"
done
for log in "${skipped[@]}"; do
    # The script's own reason (lib.sh's require_long), else the harness's.
    why=$(grep -m 1 '^SKIP: ' "$log" || tail -n 1 "$log")
    echo "check: skipped: $log: ${why#SKIP: }"
done

if [ "$valgrind" = yes ]; then
    echo
    echo "check: make check-valgrind"
    if make check-valgrind; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "check: make check-valgrind failed (see its output above)"
    fi
fi

status=0
if [ "$check_status" -ne 0 ]; then
    echo "check: make $target exited with status $check_status"
    status=1
fi
if [ $((passed + failed)) -eq 0 ]; then
    echo "check: no test ran"
    status=1
fi
[ "$failed" -eq 0 ] || status=1
finish "$status"
