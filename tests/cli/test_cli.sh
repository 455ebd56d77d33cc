#!/bin/sh
# test_cli.sh - the mmstore command-line tool: every command on success and
# on bad input (exit 1 for failures, 2 for usage errors, messages on stderr
# as "mmstore: ..."), --help and --version, --json output that parses, ls
# alignment, `show` against NumPy's print(), verify and check finding
# damage, locks held by another process, and progress bars drawn on a
# terminal only.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/lib.sh"

find_mmstore MMSTORE
LOCKHOLD=$top_builddir/tests/lib/mms-lockhold
if [ ! -x "$LOCKHOLD" ]; then
    fail "$LOCKHOLD is missing: run 'make check' (it builds it)"
    finish
fi
require_numpy

S=$T/store
export MMSTORE_DIR="$S"
unset MMS_GROUP

mm() { "$MMSTORE" "$@"; }

# run CMD...: runs it with stdout in $T/out and stderr in $T/err; the exit
# status is in $rc.
run() {
    "$@" >"$T/out" 2>"$T/err"
    rc=$?
}

# expect DESC STATUS CMD...: CMD exits with STATUS; a failure (1) or usage
# error (2) prints "mmstore: ..." on stderr and nothing on stdout.
expect() {
    local desc=$1 want=$2
    shift 2
    run "$@"
    if [ "$rc" -ne "$want" ]; then
        fail "$desc: exit status $rc, expected $want ($*): $(head -c 300 "$T/err")"
    elif [ "$want" -ne 0 ] && ! grep -q '^mmstore: ' "$T/err"; then
        fail "$desc: no 'mmstore: ' message on stderr: $(head -c 300 "$T/err")"
    elif [ "$want" -ne 0 ] && [ -s "$T/out" ]; then
        fail "$desc: failure printed on stdout: $(head -c 300 "$T/out")"
    else
        ok "$desc"
    fi
}

# expect_msg DESC STATUS PATTERN CMD...: as expect, and stderr matches the
# grep pattern.
expect_msg() {
    local desc=$1 want=$2 pattern=$3
    shift 3
    expect "$desc" "$want" "$@"
    grep -q -- "$pattern" "$T/err" ||
        fail "$desc: message does not say '$pattern': $(head -c 300 "$T/err")"
}

# same DESC FILE1 FILE2: the two files are identical.
same() {
    if cmp -s "$2" "$3"; then
        ok "$1"
    else
        fail "$1: got [$(head -c 600 "$2")] expected [$(head -c 600 "$3")]"
    fi
}

# json_ok DESC: $T/out is one JSON document.
json_ok() {
    if "$PY" -c 'import json,sys; json.load(sys.stdin)' <"$T/out" 2>"$T/pyerr"
    then
        ok "$1"
    else
        fail "$1: output is not JSON: $(tail -n 1 "$T/pyerr"): $(head -c 300 "$T/out")"
    fi
}

# py CODE ARG...: runs Python CODE with numpy as np, json and sys
# imported; the ARGs are sys.argv[1:].
py() {
    local code=$1
    shift
    "$PY" -c "import json, sys; import numpy as np; $code" "$@"
}

# data_path NAME [STORE]: the data file of NAME, from `info`.
data_path() {
    mm --store "${2:-$S}" info "$1" | sed -n 's/^path: *//p'
}

# ---- version, help, usage ------------------------------------------------

expect "--version exits 0" 0 mm --version
grep -q '^mmstore [0-9]' "$T/out" || fail "--version does not print 'mmstore N': $(cat "$T/out")"
expect "--help exits 0" 0 mm --help
COMMANDS="init create import export ls info show rm mv cp resize attr verify
check dump restore locks"
for c in $COMMANDS; do
    grep -q "^  $c " "$T/out" || fail "mmstore --help does not list '$c'"
done
for c in $COMMANDS; do
    run mm "$c" --help
    if [ "$rc" -eq 0 ] && head -n 1 "$T/out" | grep -q "^usage: mmstore $c" &&
        [ ! -s "$T/err" ]; then
        ok "mmstore $c --help prints its usage on stdout and exits 0"
    else
        fail "mmstore $c --help: status $rc, stdout [$(head -n 1 "$T/out")], stderr [$(cat "$T/err")]"
    fi
done
expect "mmstore help ls exits 0" 0 mm help ls

expect_msg "no command is a usage error" 2 "missing command" mm
expect_msg "an unknown command is a usage error" 2 "'frob' is not a command" mm frob
expect_msg "an unknown global option is a usage error" 2 "unknown option" mm --frob ls
expect_msg "an unknown command option is a usage error" 2 "unknown option '--frob'" mm ls --frob
expect_msg "--store without its value is a usage error" 2 "needs a value" mm --store
expect_msg "create without a name is a usage error" 2 "missing operand" mm create --dtype f8 --shape 1
expect_msg "mv with three operands is a usage error" 2 "unexpected operand 'c'" mm mv a b c

# ---- stores --------------------------------------------------------------

expect_msg "a command on a store that does not exist fails" 1 "no store there" mm ls
expect "init creates the store" 0 mm init
[ -d "$S/data" ] || fail "init did not create $S/data"
expect "init on an existing store succeeds" 0 mm init
expect_msg "init --block-size that is not a power of two is a usage error" 2 "block size" \
    mm --store "$T/s2" init --block-size 3000
expect "init --block-size 64K" 0 mm --store "$T/s64" init --block-size 64K
expect "create in the 64K store" 0 mm --store "$T/s64" create a --dtype u1 --shape 10
run mm --store "$T/s64" --json info a
if [ "$(py 'print(json.load(sys.stdin)["block_size"])' <"$T/out")" = 65536 ]; then
    ok "--store selects the store over \$MMSTORE_DIR, with the block size given to init"
else
    fail "the store made by init --block-size 64K does not have 64 KiB blocks: $(cat "$T/out")"
fi
expect_msg "init with another block size on an existing store fails" 1 "block size" \
    mm --store "$T/s64" init --block-size 1M

# The default store is created on first use, parent directories included.
run env -u MMSTORE_DIR XDG_DATA_HOME="$T/xdg/deep" "$MMSTORE" ls
if [ "$rc" -eq 0 ] && [ -d "$T/xdg/deep/mmstore/data" ]; then
    ok "the default store \$XDG_DATA_HOME/mmstore is created on first use"
else
    fail "default store under \$XDG_DATA_HOME not created (status $rc): $(cat "$T/err")"
fi
run env -u MMSTORE_DIR -u XDG_DATA_HOME HOME="$T/home" "$MMSTORE" ls
if [ "$rc" -eq 0 ] && [ -d "$T/home/.local/share/mmstore/data" ]; then
    ok "without \$XDG_DATA_HOME the default store is ~/.local/share/mmstore"
else
    fail "default store under \$HOME not created (status $rc): $(cat "$T/err")"
fi

# ---- create, ls, info ------------------------------------------------------

expect "create a float64 array" 0 mm create a --dtype float64 --shape 3,4
expect "create with a long name and NumPy dtype code" 0 mm create images/cats/tabby --dtype '<u1' --shape 480,640,3
expect "create a 0-d array" 0 mm create scalar --dtype int32 --shape ""
expect "create with a tuple shape" 0 mm create v --dtype c8 --shape "(5,)"
expect_msg "an unknown dtype is a usage error" 2 "unknown dtype 'float17'" mm create b --dtype float17 --shape 1
expect_msg "an object dtype is a usage error" 2 "unknown dtype" mm create b --dtype O --shape 1
expect_msg "a bad shape is a usage error" 2 "bad shape '3,x'" mm create b --dtype f8 --shape 3,x
expect_msg "a negative length is a usage error" 2 "bad shape" mm create b --dtype f8 --shape=-3
expect_msg "create without --dtype is a usage error" 2 "dtype" mm create b --shape 3
expect_msg "create without --shape is a usage error" 2 "shape" mm create b --dtype f8
expect_msg "a name that starts with '/' is refused" 1 "'/abs'" mm create /abs --dtype f8 --shape 1
expect "an empty name is refused" 1 mm create "" --dtype f8 --shape 1
expect "a name with a control character is refused" 1 mm create "$(printf 'a\tb')" --dtype f8 --shape 1
expect "a name longer than 255 bytes is refused" 1 mm create "$(printf '%0300d' 0)" --dtype f8 --shape 1
expect_msg "creating an existing name fails" 1 "create" mm create a --dtype f8 --shape 1
expect_msg "an overflowing shape fails" 1 "create" mm create huge --dtype f8 --shape 4294967296,4294967296

expect "ls" 0 mm ls
cat >"$T/ls.py" <<'EOF'
import sys
lines = open(sys.argv[1]).read().splitlines()
head = lines[0]
cols = head.split()
starts = [head.index(c) for c in cols]
bad = []
for line in lines[1:]:
    for c, s in zip(cols, starts):
        if c in ("SIZE", "GEN"):   # right-aligned: ends under the header's end
            e = s + len(c)
            if line[e - 1] == " " or (e < len(line) and line[e] != " "):
                bad.append((c, line))
        elif s and (line[s - 1] != " " or line[s] == " "):
            bad.append((c, line))
print(len(lines) - 1)
if bad:
    print("misaligned:", bad)
    sys.exit(1)
EOF
if n=$("$PY" "$T/ls.py" "$T/out") && [ "$n" = 4 ]; then
    ok "ls prints a header and 4 arrays in aligned columns"
else
    fail "ls columns: $n: $(cat "$T/out")"
fi
grep -q '^images/cats/tabby  *uint8  *(480, 640, 3)  *900.0 KiB  *clean$' "$T/out" ||
    fail "ls line of images/cats/tabby wrong: $(grep tabby "$T/out")"
grep -q '^scalar  *int32  *()  *4 B  *clean$' "$T/out" ||
    fail "ls line of the 0-d array wrong: $(grep scalar "$T/out")"
grep -q '^v  *complex64  *(5,) ' "$T/out" ||
    fail "ls line of a 1-d array does not show (5,): $(grep '^v ' "$T/out")"
expect "ls -l" 0 mm ls -l
if "$PY" "$T/ls.py" "$T/out" >/dev/null &&
    grep -Eq '^a  +float64 .* clean  [0-9a-f]{16}  +1  [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2}$' "$T/out"
then
    ok "ls -l adds an aligned 16-hex-digit checksum, generation and ISO 8601 time"
else
    fail "ls -l: $(cat "$T/out")"
fi
expect "ls PREFIX" 0 mm ls images/
if [ "$(wc -l <"$T/out")" -eq 2 ] && grep -q '^images/cats/tabby ' "$T/out"; then
    ok "ls PREFIX lists only the names under the prefix"
else
    fail "ls images/: $(cat "$T/out")"
fi
expect "ls of a prefix with no arrays prints nothing" 0 mm ls nothing/
[ -s "$T/out" ] && fail "ls nothing/ printed: $(cat "$T/out")"
expect "ls --json" 0 mm ls --json
json_ok "ls --json prints JSON"
if [ "$(py 'd = json.load(sys.stdin); print(" ".join("%s:%s:%s" % (e["name"], e["dtype"], e["shape"]) for e in d))' <"$T/out")" = \
    "a:float64:[3, 4] images/cats/tabby:uint8:[480, 640, 3] scalar:int32:[] v:complex64:[5]" ]; then
    ok "ls --json lists names, dtypes and shapes"
else
    fail "ls --json content: $(cat "$T/out")"
fi
expect "global --json before the command" 0 mm --json ls -l
json_ok "mmstore --json ls -l prints JSON"

expect "attr set" 0 mm attr a units "m/s"
expect "info" 0 mm info a
for field in "name: *a$" "dtype: *float64" "shape: *(3, 4)$" "state: *clean" \
             "generation: *1$" "checksum: *[0-9a-f]\{16\}$" "path: */" "units: m/s"; do
    grep -q "$field" "$T/out" || fail "info does not show '$field': $(cat "$T/out")"
done
expect "info --json" 0 mm info --json a
json_ok "info --json prints JSON"
path=$(py 'print(json.load(sys.stdin)["path"])' <"$T/out")
if py 'a = np.load(sys.argv[1]); assert a.shape == (3, 4) and a.dtype == np.float64 and not a.any()' "$path"; then
    ok "the path given by info loads in NumPy as the array"
else
    fail "np.load of the info path $path failed"
fi
[ "$(py 'print(json.load(sys.stdin)["attributes"]["units"])' <"$T/out")" = "m/s" ] ||
    fail "info --json does not hold the attribute: $(cat "$T/out")"
expect_msg "info of a missing array fails" 1 "nope" mm info nope

# ---- show against NumPy -------------------------------------------------------
# These arrays live in a second store, $SS: their bytes are written behind
# the library's back (so their checksums no longer match), and the main
# store must stay sound for verify and check below.

SS=$T/shows
ms() { "$MMSTORE" --store "$SS" "$@"; }
ms init

# fill NAME KIND: writes values of the given kind into NAME's data file
# through NumPy (show only reads the bytes).
# fill.py PATH KIND SLICE...: writes values of the given kind into the
# data file at PATH through NumPy (show only reads the bytes), then prints
# NumPy's print() of the whole array and of each SLICE into $T/want.0,
# $T/want.1, ...
cat >"$T/fill.py" <<'EOF'
import os
import sys
import numpy as np
path, kind, slices = sys.argv[1], sys.argv[2], sys.argv[3:]
a = np.load(path, mmap_mode="r+")
rng = np.random.default_rng(42)
n = a.size
if kind == "normal":
    v = rng.standard_normal(n)
elif kind == "scaled":
    v = rng.standard_normal(n) * 10.0 ** rng.integers(-9, 9, n)
elif kind == "special":
    v = np.round(rng.standard_normal(n) * 100, 2)
    v[:4] = [np.nan, np.inf, -np.inf, -0.0][:n]
elif kind == "ints":
    v = rng.integers(-(2 ** 62), 2 ** 62, n)
elif kind == "bool":
    v = rng.integers(0, 2, n)
elif kind == "range":
    v = np.arange(n)
if a.dtype.kind == "c":
    v = v + 1j * rng.standard_normal(n)
with np.errstate(all="ignore"):
    a[...] = v.reshape(a.shape).astype(a.dtype)
a.flush()
for i, s in enumerate([""] + slices):
    with open(os.path.join(os.environ["T"], "want.%d" % i), "w") as f:
        print(a[eval("np.index_exp[%s]" % s)] if s else a, file=f)
EOF

# show_case NAME DTYPE SHAPE KIND SLICE...: show equals NumPy's print()
# for the whole array and each slice.
show_case() {
    local name=$1 dtype=$2 shape=$3 kind=$4 path i=0
    shift 4
    ms create "$name" --dtype "$dtype" --shape "$shape" &&
        path=$(data_path "$name" "$SS") &&
        T=$T "$PY" "$T/fill.py" "$path" "$kind" "$@" || {
        fail "show: cannot make $name"
        return
    }
    for slice in "" "$@"; do
        if [ -z "$slice" ]; then
            run ms show "$name"
        else
            run ms show "$name" "$slice"
        fi
        same "show $name $slice ($dtype $kind) prints what NumPy prints" "$T/out" "$T/want.$i"
        i=$((i + 1))
    done
}

show_case s/f8 float64 6,7 normal "0:3,::2" "-1" "::-1,-2" "1,2" "...,0"
show_case s/f8scaled float64 40 scaled "5:" "::-3"
show_case s/f4 float32 5,9 special "1:" "0"
show_case s/f2 float16 3,5 normal "::-1" "0,0"
show_case s/c16 complex128 4,4 normal "1" "2,3"
show_case s/c8 complex64 12 scaled
show_case s/i8 int64 4,5 ints ":,1:3"
show_case s/i2 int16 10 range "-3:"
show_case s/u1 uint8 2,3,4 range "...,2" "1,::2,::-1"
show_case s/b bool 3,4 bool "0" "1,1"
show_case s/big float64 100,100 normal "0" ":,0" "::10,::10"
show_case s/big3 int32 20,30,40 range "-1"
show_case s/zero float64 "" special
show_case s/empty float32 0,3 normal

expect_msg "show: an index out of range fails" 1 "out of bounds" ms show s/f8 6
expect_msg "show: too many indices fail" 1 "too many indices" ms show s/f8 1,1,1
expect_msg "show: a bad slice is a usage error" 2 "bad" ms show s/f8 "1:x"
expect_msg "show: a zero step is a usage error" 2 "zero" ms show s/f8 "::0"
expect_msg "show of a missing array fails" 1 "nope" ms show nope
expect "show --json" 0 ms show --json s/f8 "0:2"
json_ok "show --json prints JSON"
if py 'v = json.load(sys.stdin); a = np.load(sys.argv[1])[0:2]; assert np.array_equal(np.array(v), a)' \
    "$(data_path s/f8 "$SS")" <"$T/out"; then
    ok "show --json gives the values of the slice"
else
    fail "show --json values differ from NumPy's"
fi

# ---- rm, mv, cp, resize, attr ------------------------------------------------

expect "mv" 0 ms mv s/f8 moved
expect_msg "mv of a missing array fails" 1 "s/f8" ms mv s/f8 other
ms create a --dtype float64 --shape 2
ms attr a units "m/s"
expect_msg "mv onto an existing name fails" 1 "" ms mv moved a
ms show moved >"$T/moved"

expect "attr set a second key" 0 ms attr moved k1 "v 1"
expect "attr set" 0 ms attr moved k2 v2
expect "cp" 0 ms cp moved copied
ms show copied >"$T/copied"
same "cp copies the values" "$T/copied" "$T/moved"
expect "attr list of the copy" 0 ms attr copied
printf 'k1: v 1\nk2: v2\n' >"$T/want"
same "cp copies the attributes" "$T/out" "$T/want"
expect_msg "cp onto an existing name fails without --replace" 1 "already exists" ms cp a copied
expect "cp --replace" 0 ms cp --replace a copied
ms show a >"$T/want"
ms show copied >"$T/copied"
same "cp --replace replaces the values" "$T/copied" "$T/want"
expect "attr list after cp --replace" 0 ms attr copied
printf 'units: m/s\n' >"$T/want"
same "cp --replace gives the copy the source's attributes only" "$T/out" "$T/want"
expect_msg "cp of a missing array fails" 1 "nope" ms cp nope x
expect "cp --replace of an array onto itself" 0 ms cp --replace copied copied
run ms attr copied
printf 'units: m/s\n' >"$T/want"
same "cp --replace onto itself keeps the attributes" "$T/out" "$T/want"

expect "attr get" 0 ms attr moved k1
printf 'v 1\n' >"$T/want"
same "attr NAME KEY prints the value" "$T/out" "$T/want"
expect "attr --json" 0 ms attr --json moved
json_ok "attr --json prints JSON"
[ "$(py 'print(json.load(sys.stdin)["k2"])' <"$T/out")" = v2 ] ||
    fail "attr --json content: $(cat "$T/out")"
expect "attr --rm" 0 ms attr --rm moved k1
expect_msg "attr get of a removed key fails" 1 "" ms attr moved k1
expect_msg "attr --rm of a missing key fails" 1 "" ms attr --rm moved k1
expect_msg "attr of a missing array fails" 1 "nope" ms attr nope
expect "attr --rm without a key is a usage error" 2 ms attr --rm moved
expect "attr with four operands is a usage error" 2 ms attr a b c d

expect "resize grows axis 0" 0 ms resize s/i2 13
if py 'a = np.load(sys.argv[1]); assert a.shape == (13,) and list(a[10:]) == [0, 0, 0] and list(a[:10]) == list(range(10))' \
    "$(data_path s/i2 "$SS")"; then
    ok "resize keeps the rows and adds zero rows"
else
    fail "resize: $(ms show s/i2)"
fi
expect "resize shrinks axis 0" 0 ms resize s/i2 2
ms show s/i2 >"$T/out"
printf '[0 1]\n' >"$T/want"
same "resize shrinks the shape" "$T/out" "$T/want"
expect_msg "resize of a 0-d array fails" 1 "" ms resize scalar 3
expect_msg "resize with a bad row count is a usage error" 2 "bad row count" ms resize s/i2 x
expect_msg "resize of a missing array fails" 1 "nope" ms resize nope 3

expect "rm" 0 ms rm moved
expect_msg "rm of a missing array fails" 1 "moved" ms rm moved
expect_msg "rm of several names goes on past a missing one" 1 "nope" ms rm s/b nope s/u1
if ms ls s/ | grep -Eq '^s/(b|u1) '; then
    fail "rm left s/b or s/u1: $(ms ls s/)"
else
    ok "rm removed the names that exist"
fi
expect "rm without a name is a usage error" 2 ms rm

# ---- verify and check ------------------------------------------------------------

expect "verify of a clean store" 0 mm verify
[ -s "$T/out" ] && fail "verify of a clean store printed: $(cat "$T/out")"
expect "verify --json" 0 mm verify --json a v
json_ok "verify --json prints JSON"
mm create victim --dtype float64 --shape 1000,10
victim=$(data_path victim)
# flip a byte of row 500 (data starts at byte 4096)
py 'f = open(sys.argv[1], "r+b"); f.seek(4096 + 500 * 80); b = f.read(1); f.seek(4096 + 500 * 80); f.write(bytes([b[0] ^ 0xff]))' "$victim"
run mm verify
if [ "$rc" -eq 1 ] && grep -Eq '^victim: rows [0-9]+-[0-9]+ \(block [0-9]+\) do not match$' "$T/out"; then
    ok "verify exits 1 and names the rows of a block with a flipped byte"
else
    fail "verify after a flipped byte: status $rc, [$(cat "$T/out")] [$(cat "$T/err")]"
fi
run mm verify --json victim
if [ "$rc" -eq 1 ] && py 'd = json.load(sys.stdin); assert d[0]["name"] == "victim" and not d[0]["ok"] and d[0]["mismatches"]' <"$T/out"; then
    ok "verify --json reports the mismatch"
else
    fail "verify --json after a flipped byte: status $rc: $(cat "$T/out")"
fi
expect "verify of another array passes" 0 mm verify a
expect_msg "verify of a missing array fails" 1 "nope" mm verify nope

expect "check of a sound store" 0 mm check
orphan=$S/data/00000000000fffff.npy
: >"$orphan"
run mm check
if [ "$rc" -eq 1 ] && grep -q "^$orphan: " "$T/out"; then
    ok "check exits 1 and reports an orphan file in data/"
else
    fail "check with an orphan: status $rc: [$(cat "$T/out")] [$(cat "$T/err")]"
fi
run mm check --json
if [ "$rc" -eq 1 ] && py 'd = json.load(sys.stdin); assert not d["ok"] and d["problems"][0]["kind"] == "orphan_file" and d["problems"][0]["path"] == sys.argv[1]' "$orphan" <"$T/out"; then
    ok "check --json reports the orphan file"
else
    fail "check --json with an orphan: status $rc: $(cat "$T/out")"
fi
run mm check --repair
if [ "$rc" -eq 0 ] && grep -q "^$orphan: .*(repaired)$" "$T/out" && [ ! -e "$orphan" ]; then
    ok "check --repair removes the orphan file and says so"
else
    fail "check --repair: status $rc, file $(ls "$orphan" 2>&1): $(cat "$T/out")"
fi
expect "check after the repair" 0 mm check
expect "check with an operand is a usage error" 2 mm check extra

# ---- locks -----------------------------------------------------------------------

mm create rows --dtype float32 --shape 100,4
mkfifo "$T/hold1" "$T/hold2"
"$LOCKHOLD" "$S" rows 10 20 exclusive <"$T/hold1" >"$T/lock1" 2>&1 &
"$LOCKHOLD" "$S" rows 50 0 shared <"$T/hold2" >"$T/lock2" 2>&1 &
exec 7>"$T/hold1" 8>"$T/hold2"
for _ in $(seq 100); do
    grep -q locked "$T/lock1" && grep -q locked "$T/lock2" && break
    sleep 0.1
done
expect "locks" 0 mm locks rows
if grep -q '^10-29  *exclusive$' "$T/out" && grep -q '^50-end  *shared$' "$T/out"; then
    ok "locks shows the ranges another process holds and their modes"
else
    fail "locks: $(cat "$T/out") (holders said: $(cat "$T/lock1" "$T/lock2"))"
fi
expect "locks --json" 0 mm locks --json rows
json_ok "locks --json prints JSON"
py 'd = json.load(sys.stdin); assert [(l["first_row"], l["nrows"], l["mode"]) for l in d] == [(10, 20, "exclusive"), (50, 0, "shared")], d' <"$T/out" ||
    fail "locks --json content: $(cat "$T/out")"
exec 7>&- 8>&-
wait
expect "locks after the holders left" 0 mm locks rows
[ -s "$T/out" ] && fail "locks still lists: $(cat "$T/out")"
expect_msg "locks of a missing array fails" 1 "nope" mm locks nope

# ---- import, export, dump, restore: the options reach the io code ---------------

py 'sys.stdout.buffer.write(np.arange(6, dtype="<i4").tobytes())' >"$T/six.raw"
expect "import raw with --dtype and --shape" 0 mm import --format raw --dtype int32 --shape 2,3 "$T/six.raw" six
mm show six >"$T/out"
printf '[[0 1 2]\n [3 4 5]]\n' >"$T/want"
same "import --format raw --dtype --shape builds that array" "$T/out" "$T/want"
expect "export raw" 0 mm export --format raw six "$T/six.out"
same "export --format raw writes the bytes" "$T/six.out" "$T/six.raw"
expect_msg "import of an existing name fails without --replace" 1 "" \
    mm import --format raw --dtype int32 --shape 2,3 "$T/six.raw" six
expect "import --replace" 0 mm import --replace --format raw --dtype int32 --shape 3,2 "$T/six.raw" six
[ "$(mm --json info six | py 'print(json.load(sys.stdin)["shape"])')" = "[3, 2]" ] ||
    fail "import --replace did not replace six"
expect_msg "import --format bogus is a usage error" 2 "unknown format" mm import --format bogus "$T/six.raw"
expect_msg "import --dtype bogus is a usage error" 2 "unknown dtype" mm import --dtype bogus "$T/six.raw"
expect_msg "import --shape bogus is a usage error" 2 "bad shape" mm import --shape 2,x "$T/six.raw"
expect_msg "import --delimiter of two characters is a usage error" 2 "bad delimiter" mm import --delimiter ab "$T/six.raw"
expect "import without a file is a usage error" 2 mm import
expect "import with three operands is a usage error" 2 mm import a b c
expect_msg "export --level 99 is a usage error" 2 "compression level" mm export --level 99 six
expect_msg "export --level x is a usage error" 2 "compression level" mm export --level x six
expect "export without a name is a usage error" 2 mm export
expect_msg "dump --level 99 is a usage error" 2 "compression level" mm dump --level 99 "$T/d.tar.zst"
expect "dump without a file is a usage error" 2 mm dump
expect "restore without a file is a usage error" 2 mm restore

# ---- output errors -----------------------------------------------------------------

if [ -w /dev/full ]; then
    expect_msg "a failed write to stdout is reported" 1 "write error" sh -c "'$MMSTORE' ls >/dev/full"
fi

# ---- progress bars ----------------------------------------------------------------

mm create big --dtype uint8 --shape 67108864
run mm cp big big2
if [ "$rc" -eq 0 ] && [ ! -s "$T/err" ]; then
    ok "cp without a terminal prints nothing on stderr"
else
    fail "cp without a terminal: status $rc, stderr [$(cat "$T/err")]"
fi
if command -v script >/dev/null 2>&1; then
    script -qec "'$MMSTORE' cp big big3" /dev/null >"$T/tty" 2>&1
    if grep -q 'cp \[' "$T/tty" && grep -q '64.0 MiB' "$T/tty" && grep -q 'MB/s' "$T/tty"; then
        ok "cp on a terminal draws a progress bar with size and throughput"
    else
        fail "cp on a terminal drew no progress bar: $(od -c "$T/tty" | head -5)"
    fi
    script -qec "'$MMSTORE' --quiet cp big big4" /dev/null >"$T/tty" 2>&1
    if grep -q 'MB/s' "$T/tty"; then
        fail "cp --quiet on a terminal drew a progress bar"
    else
        ok "--quiet turns the progress bar off"
    fi
    script -qec "'$MMSTORE' verify big" /dev/null >"$T/tty" 2>&1
    grep -q 'verify \[' "$T/tty" && ok "verify on a terminal draws a progress bar" ||
        fail "verify on a terminal drew no progress bar: $(od -c "$T/tty" | head -5)"
else
    fail "the 'script' program (util-linux) is missing: it runs the progress bar tests on a terminal"
fi
run mm verify big
[ -s "$T/err" ] && fail "verify without a terminal printed on stderr: $(cat "$T/err")"

finish
