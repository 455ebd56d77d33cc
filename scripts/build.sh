#!/usr/bin/env bash
# build.sh [--sanitizers] - build mmstore out of tree, in build/ (or, with
# --sanitizers, in build-asan/ with AddressSanitizer and UBSan).
#
# Regenerates the autotools files only when they are missing or older than
# their sources, configures only when the build directory has no Makefile
# (the Makefile reconfigures itself when configure changes), then make -j2.
# Used by check.sh and demo.sh; dependencies come from install-deps.sh.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
builddir=$root/build
configure_args=()
case ${1-} in
    "") ;;
    --sanitizers) builddir=$root/build-asan; configure_args=(--enable-sanitizers) ;;
    *) echo "usage: $0 [--sanitizers]" >&2; exit 2 ;;
esac

cd "$root"
if [ -e config.status ]; then
    echo "build: $root was configured in the source tree;" \
         "run 'make distclean' there first" >&2
    exit 1
fi

regenerated=no
if [ ! -x configure ] || [ ! -e Makefile.in ] ||
   [ configure -ot configure.ac ] || [ Makefile.in -ot Makefile.am ] ||
   [ -n "$(find . -name local.mk -newer Makefile.in -print -quit)" ]; then
    echo "build: autoreconf -fi"
    autoreconf -fi
    regenerated=yes
fi

mkdir -p "$builddir"
cd "$builddir"
if [ ! -e Makefile ] || [ "$regenerated" = yes ]; then
    echo "build: configuring in $builddir"
    "$root/configure" --quiet "${configure_args[@]}"
fi
make -j2
