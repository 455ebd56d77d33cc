#!/bin/sh
# test_symbols.sh - the shared library exports exactly the public API:
# every exported function is named mms_*, every function the header marks
# MMS_API is exported, and no mms_* function is exported that the header
# does not declare (internal helpers stay hidden).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/lib.sh"

LIB=$top_builddir/src/.libs/libmmstore.so
HEADER=$top_builddir/include/mmstore.h
NM=${NM:-nm}

if ! command -v "$NM" >/dev/null 2>&1; then
    fail "$NM not found: install binutils (scripts/install-deps.sh)"
    finish
fi
if [ ! -e "$LIB" ]; then
    fail "$LIB is missing: the shared library was not built" \
         "(configure without --disable-shared, then make)"
    finish
fi

if ! "$NM" -D --defined-only "$LIB" >"$T/nm" 2>"$T/nm.err"; then
    fail "$NM -D --defined-only $LIB failed: $(cat "$T/nm.err")"
    finish
fi

# Exported functions: types T (text), W (weak), i (indirect function).
awk 'NF >= 3 && ($2 == "T" || $2 == "W" || $2 == "i") { print $3 }' \
    "$T/nm" | sed 's/@.*//' | sort -u >"$T/exported-functions"
# Every other defined dynamic symbol except the linker's own markers and
# version nodes (type A).
awk 'NF >= 3 && $2 != "T" && $2 != "W" && $2 != "i" && $2 != "A" { print $3 }' \
    "$T/nm" | sed 's/@.*//' |
    grep -vxE '_init|_fini|_edata|_end|__bss_start' | sort -u >"$T/exported-data"

# Functions the header declares MMS_API: join the header into one line,
# drop the comments, cut it at each ';' and take the name before the '('
# of each MMS_API declaration (the MMS_API #define names no mms_ function).
tr '\n' ' ' <"$HEADER" |
    sed 's:/\*[^*]*\*\{1,\}\([^/*][^*]*\*\{1,\}\)*/: :g' | tr ';' '\n' |
    sed -n 's/.*MMS_API[^(]*[^A-Za-z0-9_]\(mms_[A-Za-z0-9_]*\)[[:space:]]*(.*/\1/p' |
    sort -u >"$T/declared"

ndeclared=$(wc -l <"$T/declared")
nexported=$(wc -l <"$T/exported-functions")
if [ "$ndeclared" -ge 20 ]; then
    ok "include/mmstore.h declares $ndeclared MMS_API functions"
else
    fail "found only $ndeclared MMS_API functions in $HEADER:" \
         "the header parser is broken"
fi
if [ "$nexported" -gt 0 ]; then
    ok "$LIB exports $nexported functions"
else
    fail "$LIB exports no function"
fi

bad=$(grep -v '^mms_' "$T/exported-functions" | tr '\n' ' ')
if [ -z "$bad" ]; then
    ok "every exported function is named mms_*"
else
    fail "exported functions not named mms_*: $bad"
fi

bad=$(grep -v '^mms_' "$T/exported-data" | tr '\n' ' ')
if [ -z "$bad" ]; then
    ok "no exported data symbol outside mms_*"
else
    fail "exported data symbols not named mms_*: $bad"
fi

missing=$(comm -23 "$T/declared" "$T/exported-functions" | tr '\n' ' ')
if [ -z "$missing" ]; then
    ok "every MMS_API function in include/mmstore.h is exported"
else
    fail "declared MMS_API but not exported: $missing"
fi

extra=$(comm -13 "$T/declared" "$T/exported-functions" | grep '^mms_' |
        tr '\n' ' ')
if [ -z "$extra" ]; then
    ok "every exported mms_* function is declared in include/mmstore.h"
else
    fail "exported but not declared in include/mmstore.h" \
         "(internal helpers must be hidden): $extra"
fi
finish
