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
# names_of STORE: the names of STORE's arrays, sorted, on one line.
names_of() {
    "$M" --store "$1" ls | awk 'NR > 1 {print $1}' | sort | tr '\n' ' '
}
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

# ---- zstd streams -----------------------------------------------------------

# Readers that read to the end (CSV, raw) must see the end of a finished
# frame as the end; frames after it are more of the stream (zstd's rule);
# anything else after a frame is an error, whatever the format.
printf '1,2\n3,4\n' | zstd -q >"$T/t.csv.zst"
if mm import "$T/t.csv.zst" zst/csv 2>"$T/err" &&
   [ "$(mm export zst/csv - --format csv)" = "$(printf '1\n2\n3\n4' |
        paste -d, - -)" ]; then
    ok "a .csv.zst imports"
else
    fail "a .csv.zst does not import: $(head -n 1 "$T/err")"
fi
printf '\001\002\003\004' | zstd -q >"$T/t.raw.zst"
if mm import "$T/t.raw.zst" zst/raw --dtype uint8 --shape 4 2>"$T/err" &&
   [ "$(mm export zst/raw - --format csv | tr '\n' ' ')" = "1 2 3 4 " ]; then
    ok "zstd-compressed raw data imports"
else
    fail "zstd-compressed raw data does not import: $(head -n 1 "$T/err")"
fi
{ printf '1,2\n' | zstd -q; printf '3,4\n' | zstd -q; } >"$T/two.csv.zst"
if mm import "$T/two.csv.zst" zst/two 2>"$T/err" &&
   [ "$(mm export zst/two - --format csv | tr '\n' ' ')" = "1,2 3,4 " ]; then
    ok "two concatenated zstd frames are one stream"
else
    fail "two concatenated zstd frames: $(head -n 1 "$T/err")"
fi
{ cat "$T/t.csv.zst"; printf 'garbage after the frame\n'; } >"$T/junk.csv.zst"
expect_error "garbage after a zstd frame (CSV) is an error" \
    'junk.csv.zst: .*after the end of a zstd frame' \
    mm import "$T/junk.csv.zst" bad/junk
printf '\223NUMPY\001\000v\000' >"$T/h.npy"
printf "{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }" >>"$T/h.npy"
sz=$(wc -c <"$T/h.npy")
head -c $((127 - sz)) /dev/zero | tr '\0' ' ' >>"$T/h.npy"
printf '\n\001\002\003\004' >>"$T/h.npy"
if mm import "$T/h.npy" zst/npy 2>"$T/err"; then
    ok "a hand-made .npy imports"
else
    fail "a hand-made .npy does not import: $(head -n 1 "$T/err")"
fi
{ zstd -q <"$T/h.npy"; printf 'garbage'; } >"$T/junk.npy.zst"
expect_error "garbage after a zstd frame (.npy) is an error" \
    'junk.npy.zst: .*after the end of a zstd frame' \
    mm import "$T/junk.npy.zst" bad/junk
{ zstd -q <"$T/h.npy"; printf 'more' | zstd -q; } >"$T/more.npy.zst"
check "a .npy.zst with a further frame after the data imports" \
    mm import "$T/more.npy.zst" zst/more
{ printf '1,2\n' | zstd -q; printf '3,4\n' | zstd -q | head -c 12; } \
    >"$T/cut.csv.zst"
expect_error "a second zstd frame cut short is an error" \
    'cut.csv.zst: truncated zstd data' mm import "$T/cut.csv.zst" bad/cut

# ---- a data file cut short by someone else ------------------------------------

# The library refuses a cut file when the array is opened; the window left
# is between that and the reading, where the mapping past the new end would
# be SIGBUS (CSV) or EFAULT (.npy). The export below waits in the open of
# its output, a FIFO, with the array open: the file is cut then, and the
# export must refuse before reading.
S2=$T/store2
mm2() { "$M" --quiet --store "$S2" "$@"; }
mm2 init
"$PY" -c 'print("\n".join("%d,%d" % (i, i) for i in range(100000)))' \
    >"$T/rows.csv"
mkdir "$T/outdir"
n=0
for fmt in csv npy; do
    n=$((n + 1))
    mm2 import "$T/rows.csv" "cut$n"
    cutfile=$S2/data/$(printf '%016x' "$(mm2 --json info "cut$n" |
        "$PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])')").npy
    mkfifo "$T/outdir/fifo.$fmt"
    "$M" --quiet --store "$S2" export "cut$n" "$T/outdir/fifo.$fmt" \
        --format "$fmt" >"$T/cut.out" 2>"$T/cut.err" &
    pid=$!
    tries=0
    until grep -q "$cutfile" "/proc/$pid/maps" 2>/dev/null ||
          [ $tries -ge 200 ]; do
        sleep 0.05
        tries=$((tries + 1))
    done
    truncate -s 4096 "$cutfile"
    timeout 60 cat "$T/outdir/fifo.$fmt" >"$T/cut.data"
    wait "$pid"
    rc=$?
    msg=$(head -n 1 "$T/cut.err")
    case $rc:$msg in
        "1:mmstore: export 'cut$n': data file $cutfile is 4096 bytes, too short for"*)
            ok "export to $fmt of a data file cut while open: $msg" ;;
        *) fail "export to $fmt of a data file cut while open: exit status" \
                "$rc, stderr: $msg" ;;
    esac
    rm -f "$T/outdir/fifo.$fmt"
done
mm2 rm cut1 cut2
mm2 import "$T/rows.csv" cut
for fmt in csv npy; do
    truncate -s 4096 "$S2"/data/*.npy
    expect_error "export to .$fmt of an array whose data file was cut short" \
        "export 'cut': .*data file .* 4096 bytes" \
        mm2 export cut "$T/outdir/cut.$fmt"
done
if [ -z "$(ls -A "$T/outdir")" ]; then
    ok "failed exports of a cut file leave nothing in the output directory"
else
    fail "failed exports of a cut file left: $(ls -A "$T/outdir")"
fi

# ---- symbolic links and modes of outputs ---------------------------------------

# An export onto a symbolic link would replace the file it points to by a
# new one (its mode, owner and other links lost): refused unless --force,
# which writes the target in place of its old self, keeping its mode. A
# regular file that is replaced keeps its mode.
printf '1,2\n3,4\n' >"$T/small.csv"
mm import "$T/small.csv" small
mkdir "$T/links"
printf 'old\n' >"$T/links/target.csv"
chmod 640 "$T/links/target.csv"
ln -s target.csv "$T/links/link.csv"
expect_error "export onto a symbolic link without --force is refused" \
    'link.csv.*symbolic link.*--force' mm export small "$T/links/link.csv"
if [ "$(cat "$T/links/target.csv")" = old ] && [ -L "$T/links/link.csv" ] &&
   [ "$(ls -A "$T/links" | wc -l)" = 2 ]; then
    ok "the refused export left the link, its target and the directory alone"
else
    fail "the refused export changed $(ls -lA "$T/links" | tr '\n' ' ')"
fi
if mm export --force small "$T/links/link.csv" 2>"$T/err" &&
   [ -L "$T/links/link.csv" ] &&
   [ "$(cat "$T/links/target.csv" | tr '\n' ' ')" = "1,2 3,4 " ] &&
   [ "$(stat -c %a "$T/links/target.csv")" = 640 ]; then
    ok "export --force onto a link replaces its target, keeping its mode"
else
    fail "export --force onto a link: $(head -n 1 "$T/err"); $(ls -lA "$T/links" | tr '\n' ' ')"
fi
printf 'old\n' >"$T/links/plain.csv"
chmod 604 "$T/links/plain.csv"
if mm export small "$T/links/plain.csv" 2>"$T/err" &&
   [ "$(stat -c %a "$T/links/plain.csv")" = 604 ] &&
   [ "$(head -n 1 "$T/links/plain.csv")" = "1,2" ]; then
    ok "export over a regular file keeps its mode"
else
    fail "export over a regular file: $(head -n 1 "$T/err"); mode $(stat -c %a "$T/links/plain.csv")"
fi
: >"$T/links/old.tar.zst"
ln -s old.tar.zst "$T/links/dump.tar.zst"
expect_error "dump onto a symbolic link without --force is refused" \
    'dump.tar.zst.*symbolic link.*--force' mm dump "$T/links/dump.tar.zst"
check "dump --force onto a link writes its target" \
    mm dump --force "$T/links/dump.tar.zst"
[ -L "$T/links/dump.tar.zst" ] && [ -s "$T/links/old.tar.zst" ] ||
    fail "dump --force did not write the link's target"
for cmd in export dump; do
    if "$M" "$cmd" --help | grep -q -- '--force'; then
        ok "$cmd --help lists --force"
    else
        fail "$cmd --help does not list --force"
    fi
done

# ---- UTF-8 names in dumps ---------------------------------------------------------

# Names are UTF-8 everywhere, whatever the locale the tool runs in: dump
# writes them as such (libarchive once got only a UTF-8 path in the C
# locale and crashed), tar lists them, restore reads them back.
S3=$T/store3
mm3() { "$M" --quiet --store "$S3" "$@"; }
mm3 init
mm3 import "$T/small.csv" "café"
mm3 import "$T/small.csv" "日本/データ"
mm3 import "$T/small.csv" plain
if LC_ALL=C mm3 dump "$T/utf8.tar.zst" 2>"$T/err"; then
    ok "dump of UTF-8 names in the C locale"
else
    fail "dump of UTF-8 names in the C locale: exit status $?: $(head -n 1 "$T/err")"
fi
LC_ALL=C.UTF-8 tar --zstd -tf "$T/utf8.tar.zst" >"$T/members" 2>"$T/err"
if grep -qx 'café.npy' "$T/members" && grep -qx '日本/データ.npy' "$T/members"
then
    ok "tar lists the UTF-8 names of a dump"
else
    fail "tar lists: $(tr '\n' ' ' <"$T/members") $(head -n 1 "$T/err")"
fi
mkdir "$T/x3"
if LC_ALL=C.UTF-8 tar --zstd -xf "$T/utf8.tar.zst" -C "$T/x3" &&
   [ -s "$T/x3/café.npy" ]; then
    ok "tar extracts café.npy"
else
    fail "tar did not extract café.npy: $(ls "$T/x3" | tr '\n' ' ')"
fi
S4=$T/store4
"$M" --quiet --store "$S4" init
if LC_ALL=C "$M" --quiet --store "$S4" restore "$T/utf8.tar.zst" 2>"$T/err" &&
   [ "$(names_of "$S4")" = "café plain 日本/データ " ]; then
    ok "restore of UTF-8 names in the C locale"
else
    fail "restore of UTF-8 names: $(head -n 1 "$T/err"); $("$M" --store "$S4" ls | tr '\n' ' ')"
fi
rm -rf "$S4"
(cd "$T/x3" && LC_ALL=C tar --zstd -cf "$T/repacked.tar.zst" .)
"$M" --quiet --store "$S4" init
if LC_ALL=C "$M" --quiet --store "$S4" restore "$T/repacked.tar.zst" \
       2>"$T/err" &&
   [ "$(names_of "$S4")" = "café plain 日本/データ " ]; then
    ok "restore of a dump extracted and packed again by GNU tar"
else
    fail "restore of a dump packed by GNU tar: $(head -n 1 "$T/err")"
fi
rm -rf "$T/x3" "$S4"

# ---- long names in dumps ------------------------------------------------------------

# A name component of 252 to 255 bytes plus ".npy" is longer than a file
# name may be (255 bytes): GNU tar could not extract it. Such an array goes
# under unsafe-names/, as the manifest says; restore finds it there.
S5=$T/store5
mm5() { "$M" --quiet --store "$S5" "$@"; }
mm5 init
long=$(printf '%0255d' 0 | tr 0 n)
long252=$(printf '%0252d' 0 | tr 0 m)
mm5 import "$T/small.csv" "$long"
mm5 import "$T/small.csv" "d/$long252"
mm5 import "$T/small.csv" short
check "dump of names of 255 bytes" mm5 dump "$T/long.tar.zst"
mkdir "$T/x5"
if tar --zstd -xf "$T/long.tar.zst" -C "$T/x5" 2>"$T/err"; then
    ok "GNU tar extracts a dump with names of 252 to 255 bytes"
else
    fail "GNU tar cannot extract the dump: $(head -n 1 "$T/err")"
fi
n5=$(find "$T/x5" -name '*.npy' | wc -l)
[ "$n5" = 3 ] && ok "the three arrays are extracted" ||
    fail "$n5 .npy files extracted, expected 3"
S6=$T/store6
"$M" --quiet --store "$S6" init
if "$M" --quiet --store "$S6" restore "$T/long.tar.zst" 2>"$T/err" &&
   [ "$(names_of "$S6")" = "d/$long252 $long short " ]; then
    ok "restore gives back the names of 255 bytes"
else
    fail "restore of long names: $(head -n 1 "$T/err")"
fi
rm -rf "$T/x5" "$S6"
# A dump made before this rule holds the long name at NAME.npy, as its
# manifest says: restore still reads it.
mm5 dump "$T/long.tar"
"$PY" - "$T/long.tar" "$T/old.tar" <<'PYEOF'
import io, json, sys, tarfile
src = tarfile.open(sys.argv[1])
members = {m.name: src.extractfile(m).read() for m in src.getmembers()}
manifest = json.loads(members.pop("manifest.json"))
out = tarfile.open(sys.argv[2], "w", format=tarfile.PAX_FORMAT)
def add(name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    out.addfile(info, io.BytesIO(data))
renamed = {}
for a in manifest["arrays"]:
    if a["file"].startswith("unsafe-names/"):
        renamed[a["file"]] = a["name"] + ".npy"
        a["file"] = a["name"] + ".npy"
assert len(renamed) == 2, renamed
add("manifest.json", json.dumps(manifest).encode())
for name, data in members.items():
    add(renamed.get(name, name), data)
out.close()
PYEOF
"$M" --quiet --store "$S6" init
if "$M" --quiet --store "$S6" restore "$T/old.tar" 2>"$T/err" &&
   [ "$(names_of "$S6")" = "d/$long252 $long short " ]; then
    ok "restore reads a dump made before, with members of 256 to 259 bytes"
else
    fail "restore of an older dump with long members: $(head -n 1 "$T/err")"
fi
rm -rf "$S5" "$S6"

# ---- PNG palette indexes --------------------------------------------------------------

# A pixel whose index is past the end of the palette has no colour (libpng
# says so): an error, not black.
"$PY" - "$T" <<'PYEOF'
import struct, sys, zlib
def chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
def png(path, index):
    ihdr = struct.pack(">IIBBBBB", 2, 1, 8, 3, 0, 0, 0)
    plte = bytes([255, 0, 0, 0, 255, 0])        # two colours
    rows = bytes([0, 1, index])                 # filter 0, pixels 1, index
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
                chunk(b"PLTE", plte) + chunk(b"IDAT", zlib.compress(rows)) +
                chunk(b"IEND", b""))
png(sys.argv[1] + "/palette-ok.png", 0)
png(sys.argv[1] + "/palette-bad.png", 5)
# 2 bits a pixel: 6 pixels 1, 0, 1, 1, then 0 or a bad 3, then 0.
for name, last in (("palette-2bit", 0), ("palette-2bit-bad", 3)):
    ihdr = struct.pack(">IIBBBBB", 6, 1, 2, 3, 0, 0, 0)
    row = bytes([0, 0b01000101, 0b00000000 | (last << 6)])
    with open(sys.argv[1] + "/" + name + ".png", "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
                chunk(b"PLTE", bytes([255, 0, 0, 0, 255, 0])) +
                chunk(b"IDAT", zlib.compress(row)) + chunk(b"IEND", b""))
PYEOF
if mm import "$T/palette-ok.png" png/ok 2>"$T/err" &&
   [ "$(mm export png/ok - --format raw | od -An -tu1 | tr -s ' ')" = \
     " 0 255 0 255 0 0" ]; then
    ok "a palette PNG with indexes in the palette imports"
else
    fail "a good palette PNG: $(head -n 1 "$T/err")"
fi
expect_error "a PNG palette index past the palette is an error" \
    'palette-bad.png: bad PNG: .*palette' mm import "$T/palette-bad.png" bad/png
if mm import "$T/palette-2bit.png" png/2bit 2>"$T/err" &&
   [ "$(mm export png/2bit - --format raw | od -An -tu1 | tr -s ' \n' ' ')" = \
     " 0 255 0 255 0 0 0 255 0 0 255 0 255 0 0 255 0 0 " ]; then
    ok "a 2-bit palette PNG imports"
else
    fail "a 2-bit palette PNG: $(head -n 1 "$T/err") $(mm export png/2bit - --format raw | od -An -tu1)"
fi
expect_error "a 2-bit PNG palette index past the palette is an error" \
    'bad PNG: .*palette.*row 0, column 4: index 3' \
    mm import "$T/palette-2bit-bad.png" bad/png2

# ---- few file descriptors ---------------------------------------------------------------

# restore keeps each staged array open until all are published: it counts
# what that needs against ulimit -n, not a fixed 64 more than the arrays.
S7=$T/store7
mm7() { "$M" --quiet --store "$S7" "$@"; }
mm7 init
mm7 import "$T/small.csv" one
mm7 dump "$T/one.tar.zst"
i=0
while [ $i -lt 50 ]; do
    i=$((i + 1))
    mm7 import "$T/small.csv" "many/$i"
done
mm7 dump "$T/many.tar.zst"
rm -rf "$S7"
mm7 init
if (ulimit -n 40 && mm7 restore "$T/one.tar.zst") 2>"$T/err" &&
   mm7 info one >/dev/null; then
    ok "restore of a one-array dump under ulimit -n 40"
else
    fail "restore of a one-array dump under ulimit -n 40: $(head -n 1 "$T/err")"
fi
S=$S7
expect_error "restore of 51 arrays under ulimit -n 40 is refused before staging" \
    'the dump holds 51 arrays.*ulimit -n' \
    sh -c 'ulimit -n 40 && "$1" --quiet --store "$2" restore --replace "$3"' \
    sh "$M" "$S7" "$T/many.tar.zst"
S=$T/store

# ---- slice steps at the ends of int64 ---------------------------------------------------

# step times the element stride overflowed 64 bits (undefined behaviour:
# UBSan aborted). A step that large selects one element, as in NumPy.
printf '1\n2\n3\n' >"$T/three.csv"
mm import "$T/three.csv" three
mm import "$T/small.csv" two2
for c in '::9223372036854775807|[1.]' '::-9223372036854775808|[3.]' \
         '1::9223372036854775807|[2.]' '::-9223372036854775807|[3.]' \
         '-1:-9223372036854775808:-9223372036854775808|[3.]' \
         '9223372036854775807::-2|[3. 1.]'; do
    idx=${c%|*}
    want=${c#*|}
    got=$(mm show three "$idx" 2>"$T/err")
    if [ $? -eq 0 ] && [ "$got" = "$want" ]; then
        ok "show three '$idx' prints $want, as NumPy"
    else
        fail "show three '$idx': '$got', expected '$want': $(head -n 1 "$T/err")"
    fi
done
got=$(mm show two2 '::-9223372036854775808, ::9223372036854775807' 2>"$T/err")
if [ "$got" = "[[3.]]" ]; then
    ok "show of a 2-D array with steps of 2^63 on both axes"
else
    fail "show two2 with steps of 2^63: '$got': $(head -n 1 "$T/err")"
fi

finish
