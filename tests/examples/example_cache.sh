#!/bin/sh
# example_cache.sh - scenario 6, docs/examples/cache.md: two separately
# started services share a cache through mms_array_get_or_create. Runs the
# whole scenario (docs/examples/cache STORE) and checks what it printed, then
# does the same from the shell, as a user would: two services started at
# once compute the image exactly once, a restart computes nothing, and the
# CLI sees the published generations.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/lib.sh"

CACHE=$top_builddir/docs/examples/cache
MMSTORE=$top_builddir/tools/mmstore
if [ ! -x "$CACHE" ] || [ ! -x "$MMSTORE" ]; then
    fail "$CACHE or $MMSTORE is missing: run 'make check' (it builds them)"
    finish
fi
S=$T/store

# -- The program's own run of the three steps.
"$CACHE" "$S" >"$T/out" 2>"$T/err"
status=$?
cat "$T/out" "$T/err"
check "cache STORE exits 0" [ "$status" -eq 0 ]
sed -n '/^1\./,/^2\./p' "$T/out" >"$T/cold"
sed -n '/^2\./,/^3\./p' "$T/out" >"$T/warm"
check "cold start: exactly one service computed the image" \
    [ "$(grep -c '^  service [AB]: computed in' "$T/cold")" -eq 1 ]
check "cold start: the other one attached" \
    [ "$(grep -c '^  service [AB]: attached in' "$T/cold")" -eq 1 ]
check "restart: both services attached, nobody computed" \
    [ "$(grep -c '^  service [AB]: attached in' "$T/warm")" -eq 2 ]
for line in \
    '   exactly one computed, the other waited and attached: OK' \
    '   nobody computed, both attached to the same image: OK' \
    '   old view kept until refresh, then the new version: OK'; do
    if grep -qxF "$line" "$T/out"; then
        ok "cache printed '$line'"
    else
        fail "cache did not print '$line'"
    fi
done
# The image's sums, as each process printed them (Mandelbrot escape times
# summed: one number per version of the image).
v1=$(sed -n 's/^  service A: .*, generation 1, sum \([0-9]*\)$/\1/p' "$T/cold")
v2=$(sed -n 's/^  publish: generation 2, sum \([0-9]*\)$/\1/p' "$T/out")
check "the cold start printed the image's sum" [ -n "$v1" ]
check "the publish printed the new image's sum" [ -n "$v2" ]
check "the new version differs from the old" [ "$v1" != "$v2" ]
check "the reader first maps generation 1" \
    grep -qx "  reader: generation 1, sum $v1" "$T/out"
check "after the publish the reader's mapping still shows the old image" \
    grep -qx "  reader, still mapping the old version: sum $v1" "$T/out"
check "after mms_array_refresh the reader sees generation 2" \
    grep -qx "  reader, after mms_array_refresh: generation 2, sum $v2" "$T/out"

# -- By hand: remove the image, start two services at once.
check "mmstore rm cache/mandelbrot" "$MMSTORE" --store "$S" rm cache/mandelbrot
"$CACHE" "$S" service A >"$T/a" 2>&1 &
pa=$!
"$CACHE" "$S" service B >"$T/b" 2>&1 &
pb=$!
wait "$pa"
sa=$?
wait "$pb"
sb=$?
cat "$T/a" "$T/b"
check "service A started by hand exits 0" [ "$sa" -eq 0 ]
check "service B started by hand exits 0" [ "$sb" -eq 0 ]
check "started by hand, exactly one of them computed" \
    [ "$(cat "$T/a" "$T/b" | grep -c ": computed in .*, generation 1, sum $v1\$")" -eq 1 ]
check "started by hand, the other attached to the same image" \
    [ "$(cat "$T/a" "$T/b" | grep -c ": attached in .*, generation 1, sum $v1\$")" -eq 1 ]
"$CACHE" "$S" service A >"$T/a" 2>&1
check "a restarted service attaches to the warm cache" \
    grep -q "^service A: attached in .*, generation 1, sum $v1\$" "$T/a"
cat "$T/a"

# -- A new version from the shell: the generation goes up by one.
"$CACHE" "$S" publish >"$T/p" 2>&1
status=$?
cat "$T/p"
check "cache STORE publish exits 0" [ "$status" -eq 0 ]
check "publish makes generation 2" \
    grep -qx "publish: generation 2, sum $v2" "$T/p"
"$MMSTORE" --store "$S" --json ls >"$T/ls" 2>&1
cat "$T/ls"; echo
check "mmstore ls --json shows generation 2" \
    grep -q '"generation": *2' "$T/ls"
check "mmstore ls --json shows the array clean" grep -q '"state": *"clean"' "$T/ls"
check "mmstore verify passes" "$MMSTORE" --store "$S" verify cache/mandelbrot

"$CACHE" >/dev/null 2>"$T/err"
status=$?
check "cache without a store is a usage error (exit 2)" [ "$status" -eq 2 ]
finish
