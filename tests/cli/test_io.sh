#!/bin/sh
# test_io.sh - `mmstore import`, `export`, `dump` and `restore` against
# NumPy, zstd and tar (issue 4, "Formats" and "Bad input"):
#  - files made by np.save (every dtype; 0-d, empty, 1-3-D; Fortran order;
#    big-endian; format versions 2.0 and 3.0; header dicts written other
#    ways) import to the same values, and export to exactly the bytes
#    np.save writes; .npy.zst exports decompress with the zstd command;
#  - CSV and raw round trips, checked with np.loadtxt and tobytes;
#  - stdin and stdout pipelines;
#  - dump then restore into an empty store gives the same names, values,
#    attributes and checksums; `tar --zstd` lists and extracts the dump;
#    restore publishes nothing unless every member is read and verified;
#  - every malformed input of tests/corpus/ (made by make-corpus.py), and
#    the other bad inputs of the issue, fail with exit status 1, a message
#    that says what is wrong, and the store exactly as it was.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/lib.sh"

find_mmstore M
NP=$top_srcdir/tests/cli/io_numpy.py
CORPUS=$top_srcdir/tests/corpus
require_numpy
for tool in zstd tar; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        fail "$tool not found: run scripts/install-deps.sh"
        finish
    fi
done

# mm runs the tool on the store $S (which later parts change).
S=$T/store
unset MMSTORE_DIR
mm() { "$M" --quiet --store "$S" "$@"; }
# mm_stdin FILE ARGS...: mm ARGS with FILE's bytes coming through a pipe.
mm_stdin() {
    f=$1
    shift
    cat "$f" | mm "$@"
}
check "mmstore init makes the test store" mm init

# ---- helpers -------------------------------------------------------------

# run_checks FILE: lets io_numpy.py check every line of FILE and counts its
# "ok: ..." and "FAIL: ..." lines.
run_checks() {
    if ! "$PY" "$NP" check-list "$1" >"$T/checks" 2>"$T/checks.err"; then
        fail "io_numpy.py check-list failed: $(tail -n 3 "$T/checks.err")"
        return
    fi
    while IFS= read -r line; do
        case $line in
            "ok: "*) ok "${line#ok: }" ;;
            *) fail "${line#FAIL: }" ;;
        esac
    done <"$T/checks"
}

# ---- .npy from np.save, back to .npy and .npy.zst -------------------------

SRC=$T/src
OUT=$T/exported
mkdir -p "$OUT"
if ! "$PY" "$NP" make "$SRC" >"$T/cases" 2>"$T/make.err"; then
    fail "io_numpy.py make failed: $(tail -n 3 "$T/make.err")"
    finish
fi
: >"$T/list"
while IFS= read -r c; do
    if ! mm import "$SRC/$c.npy" "np/$c" 2>"$T/err"; then
        fail "import of np.save's $c.npy: $(head -n 1 "$T/err")"
        continue
    fi
    if ! mm export "np/$c" "$OUT/$c.npy" 2>"$T/err"; then
        fail "export of $c to .npy: $(head -n 1 "$T/err")"
        continue
    fi
    printf '%s\t%s\t%s\t%s\n' "$c: np.save file imports to the same values" \
        "exact" "$SRC/$c.want.npy" "$OUT/$c.npy" >>"$T/list"
done <"$T/cases"
# .npy.zst: the zstd command decompresses the export; imports of files the
# zstd command compressed give the same array.
for c in float64-2d int64-3d int32-1d float32-0d uint16-empty \
         float16-fortran; do
    if mm export "np/$c" "$OUT/$c.npy.zst" 2>"$T/err" &&
       zstd -q -d -c "$OUT/$c.npy.zst" >"$OUT/$c.unzst.npy" 2>"$T/err" &&
       zstd -q -c "$SRC/$c.npy" >"$OUT/$c.in.npy.zst" &&
       mm import "$OUT/$c.in.npy.zst" "zst/$c" 2>"$T/err" &&
       mm export "zst/$c" "$OUT/$c.zst-roundtrip.npy" 2>"$T/err"; then
        printf '%s\t%s\t%s\t%s\n' \
            "$c: .npy.zst export decompresses with zstd -d to np.save's bytes" \
            exact "$SRC/$c.want.npy" "$OUT/$c.unzst.npy" >>"$T/list"
        printf '%s\t%s\t%s\t%s\n' \
            "$c: a .npy.zst made by zstd imports to the same values" \
            exact "$SRC/$c.want.npy" "$OUT/$c.zst-roundtrip.npy" >>"$T/list"
    else
        fail "$c: .npy.zst round trip: $(head -n 1 "$T/err")"
    fi
done

# ---- CSV ------------------------------------------------------------------

for c in float64-2d float32-2d float16-2d int64-2d uint64-1d int8-2d \
         bool-2d complex128-2d complex128-1d float64-empty; do
    dtype=${c%%-*}
    if mm export "np/$c" "$OUT/$c.csv" 2>"$T/err" &&
       mm import --dtype "$dtype" "$OUT/$c.csv" "csv/$c" 2>"$T/err" &&
       mm export "csv/$c" "$OUT/$c.csv.npy" 2>"$T/err"; then
        printf '%s\t%s\t%s\t%s\n' \
            "$c: CSV export loads in np.loadtxt with the same values" \
            "csv:$dtype:," "$SRC/$c.want.npy" "$OUT/$c.csv" >>"$T/list"
        printf '%s\t%s\t%s\t%s\n' \
            "$c: CSV export imports back with the same values" \
            values "$SRC/$c.want.npy" "$OUT/$c.csv.npy" >>"$T/list"
    else
        fail "$c: CSV round trip: $(head -n 1 "$T/err")"
    fi
done
# np.savetxt's own output: spaces (its default) or tabs between cells,
# %.18e numbers, a plain header row.
if "$PY" "$NP" savetxt "$SRC/float64-2d.want.npy" "$OUT/savetxt.txt" &&
   mm import --format csv --delimiter ' ' "$OUT/savetxt.txt" csv/savetxt \
       2>"$T/err" &&
   mm export csv/savetxt "$OUT/savetxt.npy" 2>"$T/err"; then
    printf '%s\t%s\t%s\t%s\n' \
        "np.savetxt output (space-delimited) imports to the same values" \
        values "$SRC/float64-2d.want.npy" "$OUT/savetxt.npy" >>"$T/list"
else
    fail "import of np.savetxt output: $(head -n 1 "$T/err")"
fi
if "$PY" "$NP" savetxt "$SRC/int32-2d.want.npy" "$OUT/ints.tsv" "	" \
       "a	b	c	d" &&
   mm import --header --delimiter '\t' --dtype int32 --format csv \
       "$OUT/ints.tsv" csv/tsv 2>"$T/err" &&
   mm export csv/tsv "$OUT/tsv.npy" 2>"$T/err"; then
    printf '%s\t%s\t%s\t%s\n' \
        "tab-separated CSV with a header row imports as int32" \
        values "$SRC/int32-2d.want.npy" "$OUT/tsv.npy" >>"$T/list"
else
    fail "import of a TSV with a header: $(head -n 1 "$T/err")"
fi
if mm export --header --delimiter ';' np/float64-2d "$OUT/semi.csv" &&
   [ "$(head -n 1 "$OUT/semi.csv")" = "0;1;2;3" ] &&
   mm import --header --delimiter ';' "$OUT/semi.csv" csv/semi &&
   mm export csv/semi "$OUT/semi.npy"; then
    printf '%s\t%s\t%s\t%s\n' \
        "CSV export --header --delimiter ';' imports back with --header" \
        values "$SRC/float64-2d.want.npy" "$OUT/semi.npy" >>"$T/list"
else
    fail "CSV with --header and --delimiter ';' did not round-trip"
fi

# A CSV of 18 MB of uint8 cells: more than the 8 MiB the tool buffers, so
# rows spill into a scratch version that grows; only the array is left.
yes "1,0,255,7,0,1" | head -n 3000000 >"$T/big.csv"
nfiles=$(ls "$S/data" | wc -l)
if mm import --dtype uint8 "$T/big.csv" csv/big 2>"$T/err" &&
   mm export csv/big "$OUT/big.npy" 2>"$T/err" &&
   "$PY" -c 'import numpy as np, sys
a = np.load(sys.argv[1])
assert a.shape == (3000000, 6), a.shape
assert (a == np.array([1, 0, 255, 7, 0, 1], dtype=np.uint8)).all()
' "$OUT/big.npy" 2>"$T/err" &&
   [ "$(ls "$S/data" | wc -l)" -eq $((nfiles + 1)) ]; then
    ok "a CSV larger than the tool's buffer imports whole, scratch discarded"
else
    fail "large CSV import: $(tail -n 1 "$T/err"); data files before" \
         "$nfiles, after $(ls "$S/data" | wc -l)"
fi
rm -f "$T/big.csv" "$OUT/big.npy"

# ---- raw ------------------------------------------------------------------

if mm export --format raw np/complex64-2d "$OUT/c64.raw" 2>"$T/err" &&
   mm import --dtype complex64 --shape 3,4 "$OUT/c64.raw" raw/c64 \
       2>"$T/err" &&
   mm export raw/c64 "$OUT/c64.raw.npy" 2>"$T/err"; then
    printf '%s\t%s\t%s\t%s\n' "raw export is the array's bytes in C order" \
        raw "$SRC/complex64-2d.want.npy" "$OUT/c64.raw" >>"$T/list"
    printf '%s\t%s\t%s\t%s\n' "raw import with --dtype and --shape" \
        exact "$SRC/complex64-2d.want.npy" "$OUT/c64.raw.npy" >>"$T/list"
else
    fail "raw round trip: $(head -n 1 "$T/err")"
fi

# ---- stdin and stdout -----------------------------------------------------

W=$SRC/int64-3d.want.npy
if mm export np/int64-3d - >"$OUT/stdout.npy" 2>"$T/err"; then
    printf '%s\t%s\t%s\t%s\n' "export NAME - writes .npy to stdout" \
        exact "$W" "$OUT/stdout.npy" >>"$T/list"
else
    fail "export to stdout: $(head -n 1 "$T/err")"
fi
if mm export --format npy.zst np/int64-3d - 2>"$T/err" |
       zstd -q -d >"$OUT/stdout-zst.npy"; then
    printf '%s\t%s\t%s\t%s\n' "export --format npy.zst - | zstd -d" \
        exact "$W" "$OUT/stdout-zst.npy" >>"$T/list"
else
    fail "export --format npy.zst to a pipe: $(head -n 1 "$T/err")"
fi
if cat "$SRC/int64-3d.npy" | mm import - --format npy stdin/npy \
       2>"$T/err" && mm export stdin/npy "$OUT/stdin-npy.npy"; then
    printf '%s\t%s\t%s\t%s\n' "cat x.npy | import - --format npy NAME" \
        exact "$W" "$OUT/stdin-npy.npy" >>"$T/list"
else
    fail "import --format npy from stdin: $(head -n 1 "$T/err")"
fi
if zstd -q -c "$SRC/int64-3d.npy" | mm import - stdin/sniffed \
       2>"$T/err" && mm export stdin/sniffed "$OUT/stdin-zst.npy"; then
    printf '%s\t%s\t%s\t%s\n' \
        "zstd -c x.npy | import - NAME (zstd and .npy recognised)" \
        exact "$W" "$OUT/stdin-zst.npy" >>"$T/list"
else
    fail "import of zstd .npy from stdin: $(head -n 1 "$T/err")"
fi
if mm export np/float64-2d - --format csv 2>"$T/err" |
       mm import - --format csv stdin/csv 2>>"$T/err" &&
   mm export stdin/csv "$OUT/stdin-csv.npy"; then
    printf '%s\t%s\t%s\t%s\n' "export --format csv - | import - --format csv" \
        values "$SRC/float64-2d.want.npy" "$OUT/stdin-csv.npy" >>"$T/list"
else
    fail "CSV through a pipe: $(head -n 1 "$T/err")"
fi

run_checks "$T/list"

out=$(mm export np/float64-2d - --format csv | head -n 1)
case $out in
    *,*,*,*) ok "export to stdout as CSV prints rows ($out)" ;;
    *) fail "export to stdout as CSV printed '$out'" ;;
esac

# The zstd stream that goes on past the declared data imports the declared
# 4 elements.
if mm import "$CORPUS/longer-than-declared.npy.zst" zst/longer 2>"$T/err" &&
   [ "$(mm --json info zst/longer | "$PY" -c \
        'import json,sys; print(json.load(sys.stdin)["shape"])')" = "[4]" ]
then
    ok "a zstd stream longer than its .npy header declares stops there"
else
    fail "longer-than-declared.npy.zst: $(head -n 1 "$T/err")"
fi

# ---- --replace ------------------------------------------------------------

gen() {
    mm --json info "$1" | "$PY" -c \
        'import json,sys; print(json.load(sys.stdin)["generation"])'
}
mm attr np/int32-1d note kept
if mm import --replace "$SRC/int8-2d.npy" np/int32-1d 2>"$T/err" &&
   [ "$(gen np/int32-1d)" = 2 ] &&
   mm export np/int32-1d "$OUT/replaced.npy"; then
    printf '%s\t%s\t%s\t%s\n' "import --replace swaps in the new array" \
        exact "$SRC/int8-2d.want.npy" "$OUT/replaced.npy" >"$T/list"
    run_checks "$T/list"
else
    fail "import --replace: $(head -n 1 "$T/err")"
fi

# ---- bad input: the corpus --------------------------------------------------

# corpus FILE PATTERN: importing tests/corpus/FILE fails saying PATTERN.
corpus() {
    expect_error "import of corpus/$1 fails" "$2" \
        mm import "$CORPUS/$1" bad/x
}
corpus truncated-magic.npy 'truncated.*ends after 5 bytes'
corpus truncated-header.npy 'truncated.*inside the header'
corpus empty.npy 'truncated'
corpus short-data.npy 'declares 8000 bytes of data, the file holds 32'
corpus bad-magic.npy 'not a \.npy file'
corpus bad-version.npy 'version 4\.0 is not supported'
corpus header-too-long.npy 'header claims to be 4294967280 bytes'
corpus header-not-a-dict.npy "bad .npy header: expected '\{'"
corpus header-missing-shape.npy "no 'shape'"
corpus header-extra-key.npy "unexpected key 'extra'"
corpus header-duplicate-key.npy "'descr' appears twice"
corpus header-unterminated.npy "found the end of the header"
corpus header-unterminated-string.npy "descr '<f8, ' is not"
corpus header-shape-list.npy 'shape is a list'
corpus header-shape-not-tuple.npy 'trailing comma'
corpus header-shape-negative.npy 'negative'
corpus header-shape-float.npy "shape: expected ',' or '\)'"
corpus header-fortran-not-bool.npy 'expected True or False'
corpus header-garbage-after.npy 'unexpected "x" after the header dict'
corpus header-missing-comma.npy "expected ',' or '\}' after an entry"
corpus descr-object.npy "'\|O' \(Python objects\) is not supported"
corpus descr-structured.npy 'structured dtypes .* not supported'
corpus descr-unicode.npy "'<U2' \(Unicode strings\) is not supported"
corpus descr-bytes.npy "'\|S2' \(byte strings\) is not supported"
corpus descr-datetime.npy "'<M8\[ns\]' \(datetimes\) is not supported"
corpus descr-longdouble.npy "'<f16' \(long double\) is not supported"
corpus descr-unknown.npy "'<x4' is not a NumPy dtype"
corpus shape-overflow.npy 'size in bytes overflows 64 bits'
corpus shape-axis-overflow.npy 'does not fit in 64 bits'
corpus corrupt-frame.npy.zst 'corrupt zstd data'
corpus truncated-frame.npy.zst 'truncated zstd data'
corpus not-zstd.npy.zst 'corrupt zstd data'
corpus ragged-short.csv 'line 3, column 3: missing cell'
corpus ragged-long.csv 'line 2, column 4: extra cell'
corpus not-a-number.csv "line 2, column 2: 'abc' is not a number"
corpus empty-cell.csv 'line 2, column 2: empty cell'
expect_error "CSV cell out of range for --dtype int8 names line and column" \
    "line 3, column 1: '300' is out of range for int8" \
    mm import --dtype int8 "$CORPUS/int-out-of-range.csv" bad/x
expect_error "a truncated .npy on stdin (size unknown until the end)" \
    'truncated: the \.npy header declares 8000 bytes of data, only 32 follow' \
    mm_stdin "$CORPUS/short-data.npy" import - bad/x
expect_error "a corrupt zstd frame on stdin" 'corrupt zstd data' \
    mm_stdin "$CORPUS/corrupt-frame.npy.zst" import - bad/x

# ---- bad input: the rest ----------------------------------------------------

expect_error "an existing name without --replace, before reading anything" \
    "import 'np/int8-2d': the name exists; use --replace" \
    mm import "$CORPUS/empty.npy" np/int8-2d
expect_error "an invalid name (leading '/')" "starts with '/'" \
    mm import "$SRC/int8-2d.npy" /abs
expect_error "an invalid name (control character)" "control character" \
    mm import "$SRC/int8-2d.npy" "$(printf 'a\001b')"
: >"$T/plainfile"
expect_error "an export path that cannot be written" \
    "cannot write $T/plainfile/x.npy: Not a directory" \
    mm export np/int8-2d "$T/plainfile/x.npy"
expect_error "an export into a missing directory" \
    "cannot write $T/nodir/x.npy: No such file or directory" \
    mm export np/int8-2d "$T/nodir/x.npy"
if [ -z "$(ls -A "$T" | grep '^\.plainfile\|^\.x\.npy')" ]; then
    ok "failed exports leave no temporary file behind"
else
    fail "failed exports left temporary files: $(ls -A "$T")"
fi
expect_error "export of a name that does not exist" "not found|no array" \
    mm export no/such "$OUT/none.npy"
if [ ! -e "$OUT/none.npy" ]; then
    ok "a failed export creates no output file"
else
    fail "a failed export created $OUT/none.npy"
fi
expect_error "a 3-D array cannot be exported as CSV" "1-D and 2-D" \
    mm export np/int64-3d "$OUT/x.csv"
printf 'not a number\n' >"$T/mystery"
expect_error "stdin that is neither .npy nor zstd needs --format" \
    'use --format' mm_stdin "$T/mystery" import - bad/x
head -c 100 "$SRC/int8-2d.npy" >"$T/hundred.raw"
expect_error "raw input whose size does not match --dtype and --shape" \
    'holds 100 bytes, but int32 of shape \(5, 4\) is 80 bytes' \
    mm import --dtype int32 --shape 5,4 "$T/hundred.raw" bad/x
expect_error "raw input on stdin longer than --dtype and --shape" \
    'holds 100 bytes, but int32 of shape \(4,\) is 16 bytes' \
    mm_stdin "$T/hundred.raw" import - --format raw --dtype int32 --shape 4 \
    bad/x
expect_error "raw input on stdin shorter than --dtype and --shape" \
    'only 100 follow' \
    mm_stdin "$T/hundred.raw" import - --format raw --dtype int32 \
    --shape 50 bad/x

# ---- dump and restore -------------------------------------------------------

D=$T/dumpsrc
R=$T/restored
DM() { "$M" --quiet --store "$D" "$@"; }
RM() { "$M" --quiet --store "$R" "$@"; }
DM init && RM init
DM import "$SRC/float16-3d.npy" images/cat
DM import "$SRC/int16-2d.npy" "images/dog"
DM import "$SRC/bool-0d.npy" flag
DM import "$SRC/float64-empty.npy" empty
DM import "$SRC/uint64-1d.npy" "odd/../name"
DM import "$SRC/int32-1d.npy" "a.npy/inside"
DM import "$SRC/float32-2d.npy" "a"
DM import --replace "$SRC/int32-1d.npy" "a"
DM attr images/cat units metres
DM attr images/cat "key with spaces" "value, with: punctuation"
DM attr flag binary "$(printf '\377\001\376')"

# listing FILE STORE: the fields a restore must reproduce (not ids, times
# or generations, which restore cannot carry over), with attributes.
listing() {
    "$M" --store "$2" --json ls -l | "$PY" -c '
import json, subprocess, sys
keep = ("name", "dtype", "shape", "nbytes", "state", "block_size",
        "checksum")
for a in json.load(sys.stdin):
    info = json.loads(subprocess.run(
        [sys.argv[1], "--store", sys.argv[2], "--json", "info", a["name"]],
        check=True, stdout=subprocess.PIPE).stdout)
    print(json.dumps([{k: a[k] for k in keep}, info["attributes"]],
                     sort_keys=True))
' "$M" "$2" >"$1"
}

if DM dump "$T/d.tar.zst" 2>"$T/err"; then
    ok "dump writes the store to a .tar.zst"
else
    fail "dump: $(head -n 1 "$T/err")"
fi
if tar --zstd -tf "$T/d.tar.zst" >"$T/members" 2>"$T/err"; then
    ok "tar --zstd -tf lists the dump ($(tr '\n' ' ' <"$T/members"))"
else
    fail "tar --zstd -tf: $(head -n 1 "$T/err")"
fi
if [ "$(head -n 1 "$T/members")" = manifest.json ] &&
   grep -qx 'images/cat.npy' "$T/members" &&
   grep -qx 'a.npy' "$T/members" &&
   ! grep -q '\.\./' "$T/members" &&
   [ "$(grep -c '^unsafe-names/' "$T/members")" = 2 ]; then
    ok "the dump holds manifest.json first, NAME.npy files, and names" \
       "that are not safe paths under unsafe-names/"
else
    fail "unexpected dump members: $(tr '\n' ' ' <"$T/members")"
fi
mkdir "$T/x"
if (cd "$T/x" && tar --zstd -xf "$T/d.tar.zst") 2>"$T/err" &&
   "$PY" - "$T/x" "$M" "$D" <<'EOF' >"$T/err" 2>&1; then
import io, json, os, subprocess, sys
import numpy as np
top, tool, store = sys.argv[1:4]
manifest = json.load(open(os.path.join(top, "manifest.json")))
for a in manifest["arrays"]:
    got = np.load(os.path.join(top, a["file"]))
    exported = subprocess.run([tool, "--store", store, "export", a["name"],
                               "-"], check=True, stdout=subprocess.PIPE)
    want = np.load(io.BytesIO(exported.stdout))
    assert got.dtype == want.dtype and got.shape == want.shape, a["name"]
    assert np.array_equal(got, want, equal_nan=True), a["name"]
EOF
    ok "tar --zstd -xf extracts the dump and NumPy loads every file"
else
    fail "extracting the dump or loading it: $(tail -n 2 "$T/err")"
fi
if RM restore "$T/d.tar.zst" 2>"$T/err"; then
    listing "$T/l1" "$D"
    listing "$T/l2" "$R"
    if cmp -s "$T/l1" "$T/l2"; then
        ok "restore into an empty store reproduces names, dtypes, shapes," \
           "checksums and attributes ($(wc -l <"$T/l1") arrays)"
    else
        fail "restored store differs: $(diff "$T/l1" "$T/l2" | head -n 4)"
    fi
else
    fail "restore: $(head -n 1 "$T/err")"
fi
S=$R
expect_error "restore where a name exists, without --replace" \
    "'a' exists in the store; use --replace" \
    mm restore "$T/d.tar.zst"
RM attr a extra "to be removed"
if RM restore --replace "$T/d.tar.zst" 2>"$T/err" &&
   [ "$(RM attr a)" = "" ]; then
    ok "restore --replace replaces arrays and their attributes"
else
    fail "restore --replace: $(head -n 1 "$T/err"); attrs of a: $(RM attr a)"
fi
if DM dump - 2>"$T/err" | RM restore --replace - 2>>"$T/err"; then
    ok "dump - | restore - works through a pipe"
else
    fail "dump - | restore -: $(head -n 1 "$T/err")"
fi

# Damaged and hostile dumps: nothing may be published.
"$PY" - "$T/d.tar.zst" "$T" <<'EOF' 2>"$T/err" ||
import io, json, subprocess, sys, tarfile
src, out = sys.argv[1], sys.argv[2]
raw = subprocess.run(["zstd", "-q", "-d", "-c", src], check=True,
                     stdout=subprocess.PIPE).stdout
members = []
with tarfile.open(fileobj=io.BytesIO(raw)) as t:
    for m in t.getmembers():
        members.append((m.name, t.extractfile(m).read()))

def write(name, items, compress=True):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for n, data in items:
            info = tarfile.TarInfo(n)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    data = buf.getvalue()
    if compress:
        data = subprocess.run(["zstd", "-q", "-c"], input=data, check=True,
                              stdout=subprocess.PIPE).stdout
    open(out + "/" + name, "wb").write(data)

d = dict(members)
# one value of images/cat changed, manifest kept
cat = bytearray(d["images/cat.npy"])
cat[-1] ^= 0x01
write("damaged.tar.zst",
      [(n, bytes(cat) if n == "images/cat.npy" else b) for n, b in members])
# a member missing
write("missing.tar.zst", [m for m in members if m[0] != "flag.npy"])
# the manifest last (plain tar: the format is found by its content)
write("manifest-last.tar", members[1:] + members[:1], compress=False)
# a path escaping the archive
man = json.loads(d["manifest.json"])
first = man["arrays"][0]
data = d[first["file"]]
first["file"] = "../evil.npy"
write("escape.tar.zst", [("manifest.json", json.dumps(man).encode()),
                         ("../evil.npy", data)])
# attribute keys and values the library refuses (issue 11 item 2): the
# manifest is judged whole before anything is staged
rest = [m for m in members if m[0] != "manifest.json"]
for tag, key, value in [("emptykey", "", {"text": "x"}),
                        ("ctrlkey", "a\nb", {"text": "x"}),
                        ("slashkey", "/k", {"text": "x"}),
                        ("longvalue", "k", {"text": "v" * 65537})]:
    m = json.loads(d["manifest.json"])
    m["arrays"][-1]["attributes"][key] = value
    write("bad-%s.tar.zst" % tag,
          [("manifest.json", json.dumps(m).encode())] + rest)
EOF
    fail "making damaged dumps with Python's tarfile: $(tail -n 1 "$T/err")"
rm -rf "$R" && RM init
S=$R
expect_error "restore of a dump with a changed value publishes nothing" \
    'checksum .* differs from the manifest' mm restore "$T/damaged.tar.zst"
expect_error "restore of a dump with a member missing publishes nothing" \
    "lists flag.npy \('flag'\) but the archive does not hold it" \
    mm restore "$T/missing.tar.zst"
expect_error "restore refuses a manifest path that leaves the archive" \
    "file '../evil.npy' is not a relative path" \
    mm restore "$T/escape.tar.zst"
if [ ! -e "$T/evil.npy" ] && [ ! -e "$(dirname "$T")/evil.npy" ]; then
    ok "restore wrote no file outside the store"
else
    fail "restore wrote evil.npy outside the store"
fi
for bad in emptykey:'attribute key .*: attribute key is empty' \
           ctrlkey:'attribute key .*: attribute key has a control character' \
           slashkey:"attribute key .*: attribute key '/k' starts with '/'" \
           longvalue:'has a value of 65537 bytes'; do
    expect_error "restore refuses a manifest attribute (${bad%%:*})" \
        "${bad#*:}" mm restore "$T/bad-${bad%%:*}.tar.zst"
done
if [ -z "$(mm ls)" ]; then
    ok "nothing was published by the refused restores"
else
    fail "refused restores published: $(mm ls | head -n 3 | tr '\n' ' ')"
fi
mm restore "$T/d.tar.zst" >/dev/null 2>&1
listing "$T/l5" "$R"
expect_error "restore --replace refuses a bad manifest before replacing" \
    'attribute key .*: attribute key is empty' \
    mm restore --replace "$T/bad-emptykey.tar.zst"
listing "$T/l6" "$R"
if cmp -s "$T/l5" "$T/l6"; then
    ok "the arrays and attributes a refused --replace would replace stay"
else
    fail "a refused restore --replace changed the store:" \
         "$(diff "$T/l5" "$T/l6" | head -n 4)"
fi
rm -rf "$R" && RM init
expect_error "restore from stdin needs the manifest first" \
    'manifest.json must be the first member' \
    mm_stdin "$T/manifest-last.tar" restore -
if RM restore "$T/manifest-last.tar" 2>"$T/err"; then
    listing "$T/l3" "$R"
    if cmp -s "$T/l1" "$T/l3"; then
        ok "restore of a file finds a manifest that is not first"
    else
        fail "restore with the manifest last differs:" \
             "$(diff "$T/l1" "$T/l3" | head -n 4)"
    fi
else
    fail "restore of manifest-last.tar: $(head -n 1 "$T/err")"
fi
S=$T/blocks
mm init --block-size 65536
expect_error "restore into a store with another block size" \
    'checksums use 1048576-byte blocks and this store 65536-byte' \
    mm restore "$T/d.tar.zst"
S=$D
expect_error "dump to a path that cannot be written" \
    "cannot write $T/plainfile/d.tar.zst" mm dump "$T/plainfile/d.tar.zst"

finish
