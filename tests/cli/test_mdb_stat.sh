#!/bin/sh
# test_mdb_stat.sh - the catalog stays readable by lmdb-utils: mdb_stat -a
# lists the databases meta, arrays, blocks and attrs with the right number
# of entries, and mdb_dump -s prints the arrays and attributes.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/lib.sh"

MDB_STAT=${MDB_STAT:-mdb_stat}
[ -n "$MDB_STAT" ] || MDB_STAT=mdb_stat
case $MDB_STAT in
    */*) MDB_DUMP=${MDB_DUMP:-$(dirname "$MDB_STAT")/mdb_dump} ;;
    *) MDB_DUMP=${MDB_DUMP:-mdb_dump} ;;
esac

require_helper
for tool in "$MDB_STAT" "$MDB_DUMP"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        fail "$tool not found: run scripts/install-deps.sh" \
             "(Debian's lmdb-utils)"
        finish
    fi
done

S=$T/store
# Three arrays with a 4 KiB checksum block: 1 + 3 + 0 blocks.
check "create array 'a' (int64, 10)" \
    "$HELPER" --block-size 4096 "$S" create a int64 10
check "create array 'images/cat' (uint8, 3,4096)" \
    "$HELPER" "$S" create images/cat uint8 3,4096
check "create array 'empty' (float32, 0)" "$HELPER" "$S" create empty float32 0
check "set attribute a:units" "$HELPER" "$S" attr a units metres
check "set attribute a:scale" "$HELPER" "$S" attr a scale 0.5
check "set attribute images/cat:source" \
    "$HELPER" "$S" attr images/cat source camera-7

if "$MDB_STAT" -a "$S/catalog" >"$T/stat" 2>"$T/stat.err"; then
    ok "mdb_stat -a STORE/catalog exits 0"
else
    fail "mdb_stat -a STORE/catalog exited $?: $(cat "$T/stat.err")"
fi

# entries DB: the "Entries:" count mdb_stat -a prints under "Status of DB".
entries() {
    awk -v db="$1" '
        /^Status of / { cur = $3 }
        cur == db && $1 == "Entries:" { print $2; exit }' "$T/stat"
}

for db in meta arrays blocks attrs; do
    if grep -q "^Status of $db\$" "$T/stat"; then
        ok "mdb_stat -a lists database '$db'"
    else
        fail "mdb_stat -a does not list database '$db'; it printed:" \
             "$(grep '^Status of' "$T/stat" | tr '\n' ' ')"
    fi
done

expect_entries() {
    n=$(entries "$1")
    if [ "$n" = "$2" ]; then
        ok "mdb_stat: database '$1' has $2 entries ($3)"
    else
        fail "mdb_stat: database '$1' has '${n}' entries, expected $2 ($3)"
    fi
}
expect_entries arrays 3 "a, images/cat, empty"
expect_entries blocks 4 "4 KiB blocks: 1 for a, 3 for images/cat, 0 for empty"
expect_entries attrs 3 "units and scale of a, source of images/cat"
n=$(entries meta)
if [ -n "$n" ] && [ "$n" -ge 4 ]; then
    ok "mdb_stat: database 'meta' has $n entries (format, uuid, block_size, next_id)"
else
    fail "mdb_stat: database 'meta' has '${n}' entries, expected at least 4"
fi

if "$MDB_DUMP" -p -s arrays "$S/catalog" >"$T/arrays" 2>"$T/dump.err"; then
    ok "mdb_dump -s arrays exits 0"
else
    fail "mdb_dump -s arrays exited $?: $(cat "$T/dump.err")"
fi
for name in a images/cat empty; do
    if grep -qx " $name" "$T/arrays"; then
        ok "mdb_dump -s arrays has the key '$name'"
    else
        fail "mdb_dump -s arrays has no key '$name'"
    fi
done
# Every record starts with the magic "MMSA" (docs/format.md).
nmagic=$(grep -c '^ MMSA' "$T/arrays")
if [ "$nmagic" -eq 3 ]; then
    ok "mdb_dump -s arrays: all 3 records start with the magic MMSA"
else
    fail "mdb_dump -s arrays: $nmagic records start with MMSA, expected 3"
fi

if "$MDB_DUMP" -p -s meta "$S/catalog" >"$T/meta" 2>"$T/dump.err"; then
    ok "mdb_dump -s meta exits 0"
else
    fail "mdb_dump -s meta exited $?: $(cat "$T/dump.err")"
fi
for key in format uuid block_size next_id; do
    if grep -qx " $key" "$T/meta"; then
        ok "mdb_dump -s meta has the key '$key'"
    else
        fail "mdb_dump -s meta has no key '$key'"
    fi
done

if "$MDB_DUMP" -p -s attrs "$S/catalog" >"$T/attrs" 2>"$T/dump.err"; then
    ok "mdb_dump -s attrs exits 0"
else
    fail "mdb_dump -s attrs exited $?: $(cat "$T/dump.err")"
fi
for value in metres 0.5 camera-7; do
    if grep -qx " $value" "$T/attrs"; then
        ok "mdb_dump -s attrs has the value '$value'"
    else
        fail "mdb_dump -s attrs has no value '$value'"
    fi
done
finish
