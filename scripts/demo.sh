#!/usr/bin/env bash
# demo.sh - install the dependencies, build mmstore in build/, and show its
# main job: docs/examples/hello.c shares one array between two processes
# with no copy, NumPy then reads the array's data file as a .npy file, and
# the mmstore tool imports, lists, prints and verifies arrays in that store.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/install-deps.sh"
bash "$root/scripts/build.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mmstore-demo.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo
echo "\$ docs/examples/hello $tmp/store"
if ! out=$("$root/build/docs/examples/hello" "$tmp/store"); then
    echo "$out"
    echo "demo: hello failed" >&2
    exit 1
fi
echo "$out"
path=$(sed -n 's/^data file: //p' <<<"$out")

# NumPy only knows the .npy format: no mmstore code is involved here.
read_npy='import sys, numpy as np; print(np.load(sys.argv[1], mmap_mode="r"))'
echo
echo "\$ /usr/bin/python3 -c '$read_npy' $path"
/usr/bin/python3 -c "$read_npy" "$path"

# The same store from the shell: import a file NumPy wrote, list, print.
mmstore() {
    echo "\$ mmstore $*"
    "$root/build/tools/mmstore" --store "$tmp/store" "$@"
}
make_npy='import sys, numpy as np; np.save(sys.argv[1], np.arange(6, dtype=np.int32).reshape(2, 3) * 10)'
/usr/bin/python3 -c "$make_npy" "$tmp/tens.npy"
echo
mmstore import "$tmp/tens.npy" tens
mmstore ls -l
mmstore show tens
mmstore verify
