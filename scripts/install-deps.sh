#!/usr/bin/env bash
# install-deps.sh - install what mmstore's build, tests and demo need, from
# Debian 12's own packages. Idempotent: when everything is installed it does
# nothing (no network); otherwise it refreshes the package lists only if they
# are older than a day, then installs the missing packages.
#
# Runs as root, or through sudo when it is available.
set -euo pipefail

# What configure.ac's PKG_CHECK_MODULES ask for (lmdb, libxxhash, libzstd,
# jansson, libarchive, libpng and libjpeg for the mmstore tool, cunit for
# the tests), the autotools, and what the tests and the demo run: mdb_stat,
# zstd, NumPy, and Pillow (python3-pil), the independent PNG and JPEG
# reader and writer the image tests compare the tool with.
PACKAGES=(
    build-essential autoconf automake libtool pkg-config
    liblmdb-dev lmdb-utils libxxhash-dev libzstd-dev zstd
    libjansson-dev libarchive-dev libpng-dev libjpeg62-turbo-dev
    libcunit1-dev python3 python3-numpy python3-pil valgrind
)

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = installed ] || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#PACKAGES[@]} packages are installed"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "install-deps: not root and no sudo; as root, run:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${missing[*]}"

# The lists count as fresh if one of them was fetched in the last 24 hours.
lists=/var/lib/apt/lists
if [ -z "$(find "$lists" -maxdepth 1 -name '*_InRelease' -mmin -1440 -print -quit 2>/dev/null)" ]; then
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
fi
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
