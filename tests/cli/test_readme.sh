#!/bin/sh
# test_readme.sh - the tour at the top of README.md works as printed: the
# C block compiles against the build tree and keeps its value across runs,
# the command-line block runs, and the NumPy block reads the array the
# command line imported.
#
# Each block follows a "<!-- tour:c -->", "<!-- tour:sh -->" or
# "<!-- tour:py -->" marker; this script takes the fenced block after it.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/lib.sh"

PY=${PYTHON3:-/usr/bin/python3}
[ -n "$PY" ] || PY=/usr/bin/python3
README=$top_srcdir/README.md

# block KIND: prints the fenced block after the <!-- tour:KIND marker.
block() {
    awk -v m="<!-- tour:$1" '
        index($0, m) == 1 { want = 1; next }
        want && /^```/ { if (inside) exit; inside = 1; next }
        inside { print }' "$README"
}

for kind in c sh py; do
    block "$kind" >"$T/tour.$kind"
    if [ -s "$T/tour.$kind" ]; then
        ok "README.md has a tour:$kind block"
    else
        fail "README.md has no fenced block after <!-- tour:$kind"
    fi
done
lines=$(wc -l <"$T/tour.c")
check "the C tour is at most 20 lines ($lines)" test "$lines" -le 20
lines=$(grep -c . "$T/tour.sh")
check "the command-line tour is at most 10 lines ($lines)" test "$lines" -le 10
lines=$(grep -c . "$T/tour.py")
check "the NumPy tour is 3 lines ($lines)" test "$lines" -le 3

# The programs the blocks name, from the build tree: mmstore (the real
# binary, with the build's library) and python3 (the one with NumPy).
mkdir "$T/bin"
ln -s "$PY" "$T/bin/python3"
cat >"$T/bin/mmstore" <<EOS
#!/bin/sh
exec "$top_builddir/tools/mmstore" "\$@"
EOS
chmod +x "$T/bin/mmstore"
PATH=$T/bin:$PATH
export PATH

cd "$T" || finish
CC=${CC:-cc}
# A sanitizer build's library needs its runtime in the program too.
# shellcheck disable=SC2086
if $CC -Wall -Wextra -Werror ${SANITIZER_FLAGS-} -I"$top_builddir/include" \
       -o tour tour.c \
       -L"$top_builddir/src/.libs" -lmmstore \
       -Wl,-rpath,"$top_builddir/src/.libs" 2>cc.err; then
    ok "the C tour compiles with -Wall -Wextra -Werror"
    out1=$(./tour 2>&1) && out2=$(./tour 2>&1)
    check "the first run prints 1.5 ($out1)" \
        test "$out1" = "points[0, 0] = 1.5"
    check "the second run finds the first run's value ($out2)" \
        test "$out2" = "points[0, 0] = 3"
else
    fail "the C tour does not compile: $(head -n 5 cc.err)"
fi

if sh -e tour.sh >sh.out 2>&1; then
    ok "the command-line tour runs"
else
    fail "the command-line tour failed: $(tail -n 5 sh.out)"
fi
check "mmstore ls lists the imported array" grep -q '^temps ' sh.out
check "mmstore ls lists the C tour's array (same store)" \
    grep -q '^points ' sh.out
check "mmstore show prints the selected columns" grep -q '\[ *4\. *6\.\]' sh.out
check "the export exists" test -s temps.npy.zst

if out=$("$PY" tour.py 2>&1); then
    check "NumPy reads row 1 of the store's array ($out)" \
        test "$out" = "[4. 5. 6. 7.]"
else
    fail "the NumPy tour failed: $out"
fi
finish
