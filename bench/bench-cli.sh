#!/bin/bash
# bench-cli.sh - the figures of issue 4 ("Performance") for the mmstore
# command-line tool, each beside its baseline measured in the same run
# (interleaved: the order alternates every repetition), as medians:
#
#  C1  export of a 1 GiB float64 array to .npy.zst at level 3
#      vs `zstd -T0 -3 -q -c` of the same .npy bytes      (target >= 0.9x)
#  C2  import of a 1 GiB .npy vs `cp` + `sync FILE` of it  (target >= 0.8x)
#  C3  `mmstore ls` of a store with 10,000 arrays          (target < 100 ms)
#      vs `ls` of a directory with 10,000 files (informational)
#  C1@N, C2@N  the same export and import at other sizes N MiB (64 MiB to
#      4 GiB by default; --scale-sizes), to show how they grow (informational)
#
# It runs the real binary (tools/.libs/mmstore with the build's library;
# the libtool wrapper script costs ~0.3 s a call), never drops the page
# cache (the source files are in memory, as right after writing them), and
# writes only inside a fresh directory under --dir, removed at the end, on
# error and on SIGINT/SIGTERM/SIGHUP.
#
# usage: bench/bench-cli.sh [--builddir DIR] [--dir DIR] [--quick]
#                           [--reps N] [--size-mib N] [--arrays N]
#                           [--scale-sizes "N ..."] (MiB; "" for none)
set -u

die() { echo "bench-cli: $*" >&2; exit 1; }

builddir=.
dir=${TMPDIR:-/tmp}
quick=0
reps=
size_mib=
narrays=10000
scale_sizes=unset
while [ $# -gt 0 ]; do
    case $1 in
    --builddir) builddir=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --reps) reps=$2; shift 2 ;;
    --size-mib) size_mib=$2; shift 2 ;;
    --arrays) narrays=$2; shift 2 ;;
    --scale-sizes) scale_sizes=$2; shift 2 ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-cli: unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
done
if [ "$quick" = 1 ]; then
    : "${reps:=3}" "${size_mib:=256}"
    [ "$scale_sizes" != unset ] || scale_sizes="64"
else
    : "${reps:=5}" "${size_mib:=1024}"
    [ "$scale_sizes" != unset ] || scale_sizes="64 256 4096"
fi
for n in $size_mib $scale_sizes; do
    case $n in
    ''|*[!0-9]*) die "sizes are whole MiB, not '$n'" ;;
    esac
    [ "$n" -ge 1 ] || die "sizes are at least 1 MiB"
done
srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=$(cd "$builddir" && pwd) || die "no build directory $builddir"

# The real binary, not the libtool wrapper.
if [ -x "$builddir/tools/.libs/mmstore" ]; then
    MMSTORE=$builddir/tools/.libs/mmstore
    export LD_LIBRARY_PATH="$builddir/src/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
elif [ -x "$builddir/tools/mmstore" ] && ! grep -q libtool "$builddir/tools/mmstore" 2>/dev/null; then
    MMSTORE=$builddir/tools/mmstore
else
    die "no mmstore binary under $builddir/tools (build it first; --builddir)"
fi
PY=${PYTHON3:-/usr/bin/python3}
"$PY" -c 'import numpy' 2>/dev/null || die "$PY has no NumPy (set PYTHON3)"
for t in zstd cc cmp awk; do
    command -v $t >/dev/null || die "$t is needed"
done

max_mib=$size_mib
for n in $scale_sizes; do [ "$n" -le "$max_mib" ] || max_mib=$n; done
# The source .npy, the imported array and its copy or export at once.
need_kib=$((max_mib * 1024 * 4 + 1024 * 1024))
avail_kib=$(df -Pk "$dir" | awk 'NR == 2 { print $4 }')
[ "$avail_kib" -ge "$need_kib" ] ||
    die "$dir has $((avail_kib / 1024)) MiB free, needs $((need_kib / 1024)) MiB"

tmp=$(mktemp -d "$dir/bench-cli.XXXXXX") || die "mktemp in $dir failed"
shmtmp=
cleanup() {
    rm -rf "$tmp"
    [ -n "$shmtmp" ] && rm -rf "$shmtmp"
}
trap cleanup EXIT
trap 'cleanup; trap - INT; kill -INT $$' INT
trap 'cleanup; exit 143' TERM
trap 'cleanup; exit 129' HUP

load() {
    local l p
    l=$(cut -d' ' -f1 /proc/loadavg)
    p=$(sed -n 's/^some avg10=\([0-9.]*\).*/\1/p' /proc/pressure/cpu 2>/dev/null)
    echo "load average $l, CPU pressure ${p:-?}%"
}

# timeit ARRAY CMD...: runs CMD in this shell (stdout to /dev/null) and
# appends the seconds it took, with microsecond resolution, to ARRAY.
timeit() {
    local -n into=$1
    shift
    local t0 t1
    t0=$EPOCHREALTIME
    "$@" >/dev/null || die "failed: $*"
    t1=$EPOCHREALTIME
    into+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')")
}

median() { sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
minmax() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo " - " hi }'; }

rows=()
add_row() {  # id figure unit mmstore_values baseline_values kind target
    local id=$1 what=$2 unit=$3 mv=$4 bv=$5 kind=$6 target=$7
    local m b
    m=$(tr ' ' '\n' <<<"$mv" | grep . | median)
    b=$(tr ' ' '\n' <<<"$bv" | grep . | median)
    rows+=("$id|$what|$unit|$m|$b|$kind|$target|$(tr ' ' '\n' <<<"$mv" | grep . | minmax)|$(tr ' ' '\n' <<<"$bv" | grep . | minmax)")
}

echo "bench-cli: $("$MMSTORE" --version 2>&1 | head -1), $(nproc) CPUs," \
    "files under $dir, ${size_mib} MiB arrays, medians of $reps runs;" \
    "also at ${scale_sizes:-no other sizes} MiB (2 runs from 2 GiB)"
load_start=$(load)
echo "machine at start: $load_start"

store=$tmp/store
"$MMSTORE" --store "$store" -q init || die "init $store failed"
export MMSTORE_DIR=$store

# io_figures SIZE_MIB: C1 and C2 at that size; at --size-mib with their
# targets, at other sizes (ids C1@SIZE, C2@SIZE) as information.
io_figures() {
local nreps=$reps kind=higher c1=C1 c2=C2
if [ "$1" != "$size_mib" ]; then
    kind=info c1="C1@$1" c2="C2@$1"
    [ "$1" -lt 2048 ] || nreps=2
fi
# ---- the source .npy: float64, moderately compressible ---------------------
echo "bench-cli: writing a $1 MiB float64 .npy" >&2
npy=$tmp/src.npy
"$PY" - "$npy" $(($1 * 1024 * 1024)) <<'EOF' || die "writing $npy failed"
import sys
import numpy as np
path, nbytes = sys.argv[1], int(sys.argv[2])
n = nbytes // 8
out = np.lib.format.open_memmap(path, mode="w+", dtype="<f8", shape=(n,))
rng = np.random.default_rng(0)
chunk = 1 << 22
for i in range(0, n, chunk):
    k = min(chunk, n - i)
    # Rounded normal samples: about 3.4x smaller under zstd -3, like
    # measured data, not a run of zeros or white noise.
    out[i:i + k] = np.round(rng.standard_normal(k), 3)
out.flush()
del out
EOF
npy_bytes=$(stat -c %s "$npy")


# ---- C2: import vs cp + sync ------------------------------------------------
echo "bench-cli: [$c2] import of $1 MiB .npy vs cp + sync" >&2
imp=() cpv=()
do_import() { "$MMSTORE" -q import "$npy" big; }
do_cp() { cp "$npy" "$tmp/copy.npy" && sync "$tmp/copy.npy"; }
# One untimed round of each: the source is read into the page cache.
warm=()
timeit warm do_import; "$MMSTORE" -q rm big || die "rm big failed"
timeit warm do_cp; rm -f "$tmp/copy.npy"
for ((r = 0; r < nreps; r++)); do
    for j in 0 1; do
        if [ $(((r + j) % 2)) = 0 ]; then
            timeit imp do_import
            [ $r = $((nreps - 1)) ] || "$MMSTORE" -q rm big || die "rm big failed"
        else
            timeit cpv do_cp
            rm -f "$tmp/copy.npy"
        fi
    done
done
tp() { for s in "$@"; do awk -v b="$npy_bytes" -v s="$s" 'BEGIN { printf "%.4f ", b / s / 1e9 }'; done; }
add_row "$c2" "import $1 MiB .npy (stage, write, publish)" GB/s \
    "$(tp "${imp[@]}")" "$(tp "${cpv[@]}")" "$kind" 0.8

# ---- C1: export to .npy.zst vs zstd -T0 -3 ---------------------------------
echo "bench-cli: [$c1] export of $1 MiB to .npy.zst level 3 vs zstd -T0 -3" >&2
exv=() zsv=()
do_export() { "$MMSTORE" -q export big "$tmp/out.npy.zst" --level 3; }
do_zstd() { zstd -T0 -3 -q -c "$npy" >"$tmp/out.zst"; }
timeit warm do_export
timeit warm do_zstd
# The export must hold the same values as the source (compare the data
# bytes after each file's own .npy header).
npy_data_offset() {
    "$PY" -c 'import sys, numpy as np
f = open(sys.argv[1], "rb"); v = np.lib.format.read_magic(f)
np.lib.format._read_array_header(f, v); print(f.tell())' "$1"
}
zstd -q -d -c "$tmp/out.npy.zst" >"$tmp/check.npy" || die "zstd -d of the export failed"
o1=$(npy_data_offset "$tmp/check.npy") && o2=$(npy_data_offset "$npy") ||
    die "reading .npy headers failed"
cmp -s -i "$o1:$o2" "$tmp/check.npy" "$npy" ||
    die "the exported .npy.zst does not hold the source's data"
# Replacing an existing file makes ext4 flush the new one at close or
# rename (auto_da_alloc): every timed run writes a new file.
rm -f "$tmp/check.npy" "$tmp/out.npy.zst" "$tmp/out.zst"
for ((r = 0; r < nreps; r++)); do
    for j in 0 1; do
        if [ $(((r + j) % 2)) = 0 ]; then
            timeit exv do_export; rm -f "$tmp/out.npy.zst"
        else
            timeit zsv do_zstd; rm -f "$tmp/out.zst"
        fi
    done
done
add_row "$c1" "export $1 MiB to .npy.zst, level 3" GB/s \
    "$(tp "${exv[@]}")" "$(tp "${zsv[@]}")" "$kind" 0.9
do_export; do_zstd
[ "$1" != "$size_mib" ] ||
    { ratio_m=$(stat -c %s "$tmp/out.npy.zst"); ratio_z=$(stat -c %s "$tmp/out.zst");
      main_npy_bytes=$npy_bytes; }
rm -f "$tmp/out.npy.zst" "$tmp/out.zst"
"$MMSTORE" -q rm big || die "rm big failed"
rm -f "$npy"
}

for n in $(printf '%s\n' $size_mib $scale_sizes | sort -n -u); do
    io_figures "$n"
done

# ---- C3: ls of 10,000 arrays ------------------------------------------------
echo "bench-cli: [C3] making $narrays arrays" >&2
cat >"$tmp/mkmany.c" <<'EOF'
/* Creates argv[2] small arrays (float64, 16..31 elements) in store argv[1]. */
#include <mmstore.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv)
{
    mms_store *s;
    if (argc != 3 || mms_store_open(argv[1], MMS_CREATE, &s) != MMS_OK) {
        fprintf(stderr, "mkmany: %s\n", argc == 3 ? mms_errmsg() : "usage");
        return 1;
    }
    long n = atol(argv[2]);
    for (long i = 0; i < n; i++) {
        char name[64];
        uint64_t shape[1] = {16 + (uint64_t)(i % 16)};
        mms_array *a;
        snprintf(name, sizeof name, "set%02ld/array%05ld", i % 100, i);
        if (mms_array_create(s, name, MMS_FLOAT64, 1, shape, 0, &a) != MMS_OK ||
            mms_array_close(a) != MMS_OK) {
            fprintf(stderr, "mkmany: %s: %s\n", name, mms_errmsg());
            return 1;
        }
    }
    return mms_store_close(s) == MMS_OK ? 0 : 1;
}
EOF
cc -O2 -I"$builddir/include" -o "$tmp/mkmany" "$tmp/mkmany.c" \
    -L"$builddir/src/.libs" -lmmstore || die "compiling mkmany failed"
# Each create costs several device flushes (~5-10 ms here): build the store
# on tmpfs when there is one, then copy it to $dir, where it is listed.
many=$tmp/many
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    shmtmp=$(mktemp -d /dev/shm/bench-cli.XXXXXX) || die "mktemp in /dev/shm failed"
    mk=(); timeit mk "$tmp/mkmany" "$shmtmp/many" "$narrays"
    cp -a "$shmtmp/many" "$many" || die "copying the store failed"
    rm -rf "$shmtmp"; shmtmp=
    made="on tmpfs in ${mk[0]} s, then cp -a to $dir"
else
    mk=(); timeit mk "$tmp/mkmany" "$many" "$narrays"
    made="in $dir in ${mk[0]} s"
fi
echo "bench-cli: made $narrays arrays $made" >&2
n=$("$MMSTORE" --store "$many" ls | grep -c /array) || die "ls of $many failed"
[ "$n" = "$narrays" ] || die "ls of $many lists $n arrays, not $narrays"
nfiles=$(ls "$many/data" | wc -l)
echo "bench-cli: [C3] ls of $narrays arrays vs ls of $nfiles files" >&2
lsv=() llv=() jsv=() dls=() dll=()
do_ls() { "$MMSTORE" --store "$many" ls >/dev/null; }
do_lsl() { "$MMSTORE" --store "$many" ls -l >/dev/null; }
do_lsj() { "$MMSTORE" --store "$many" --json ls >/dev/null; }
do_dir() { ls "$many/data" >/dev/null; }
do_dirl() { ls -l "$many/data" >/dev/null; }
do_ls; do_dir
lsreps=$((reps * 2 + 1))
ms() { for s in "$@"; do awk -v s="$s" 'BEGIN { printf "%.3f ", s * 1e3 }'; done; }
for ((r = 0; r < lsreps; r++)); do
    if [ $((r % 2)) = 0 ]; then
        timeit lsv do_ls; timeit dls do_dir
        timeit llv do_lsl; timeit dll do_dirl
        timeit jsv do_lsj
    else
        timeit dls do_dir; timeit lsv do_ls
        timeit dll do_dirl; timeit llv do_lsl
        timeit jsv do_lsj
    fi
done
add_row C3 "mmstore ls, $narrays arrays" ms "$(ms "${lsv[@]}")" \
    "$(ms "${dls[@]}")" abs 100
add_row C3l "mmstore ls -l, $narrays arrays" ms "$(ms "${llv[@]}")" \
    "$(ms "${dll[@]}")" info -
add_row C3j "mmstore --json ls, $narrays arrays" ms "$(ms "${jsv[@]}")" \
    "$(ms "${dls[@]}")" info -
load_end=$(load)

# ---- the table ----------------------------------------------------------------
echo
printf '%-7s %-46s %12s %12s %7s %-9s %s\n' id figure mmstore baseline ratio target met
for row in "${rows[@]}"; do
    IFS='|' read -r id what unit m b kind target mr br <<<"$row"
    awk -v id="$id" -v what="$what" -v unit="$unit" -v m="$m" -v b="$b" \
        -v kind="$kind" -v target="$target" 'BEGIN {
        q = (b > 0) ? m / b : -1
        if (kind == "higher") { t = ">=" target "x"; met = (q >= target) ? "yes" : "NO" }
        else if (kind == "abs") { t = "<" target " " unit; met = (m < target) ? "yes" : "NO" }
        else { t = "info"; met = "-" }
        fmt = (unit == "GB/s") ? "%.2f %s" : "%.1f %s"
        printf "%-7s %-46s %12s %12s %7s %-9s %s\n", id, what,
            sprintf(fmt, m, unit), sprintf(fmt, b, unit),
            (q >= 0) ? sprintf("%.2fx", q) : "-", t, met }'
done
echo
echo "baselines (measured in this run, interleaved with the mmstore runs):"
echo "  C2   cp SRC.npy COPY.npy && sync COPY.npy (fsync of the copy)"
echo "  C1   zstd -T0 -3 -q -c SRC.npy > OUT.zst (same .npy bytes)"
echo "  C3   ls DATADIR > /dev/null, the store's data/ directory ($nfiles files)"
echo "  C3l  ls -l DATADIR > /dev/null"
echo "  C3j  ls DATADIR > /dev/null"
echo
echo "ranges (min - max):"
for row in "${rows[@]}"; do
    IFS='|' read -r id what unit m b kind target mr br <<<"$row"
    echo "  $id  mmstore $mr $unit; baseline $br $unit"
done
echo "compressed sizes: mmstore export $ratio_m bytes, zstd $ratio_z bytes" \
    "(source $main_npy_bytes bytes)"
echo "store of $narrays arrays made $made"
echo
echo "machine at start: $load_start; at end: $load_end"
