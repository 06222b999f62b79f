#!/usr/bin/env bash
# Give this checkout's guests a module tree of their own: the test kernel's
# modules (hard links into the cache) with this checkout's rrxe.ko in
# updates/, in out/modules, which qemu/run.sh shares with its guests. Another
# checkout installing its rrxe.ko, or a kernel rebuild, leaves it alone.
#
#   qemu/install-module.sh [debug|bench [MODULE]]
#
# The bench kernel's tree is out/modules-bench, with MODULE (rrxe.ko built
# against that kernel) in it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(repo_root)
flavor=${1:-debug}
module=${2:-$root/rrxe.ko}
[ -f "$module" ] || die "no $module: build it first (make modules)"
dest="$root/out/modules"
[ "$flavor" = debug ] || dest="$root/out/modules-$flavor"
exec 9>"$RRXE_CACHE/kernel.lock"
flock -s 9
src=$(kernel_modroot "$flavor")/lib/modules
[ -d "$src" ] || die "no $flavor kernel modules in $src"
rm -rf "$dest"
mkdir -p "$dest/lib"
cp -al "$src" "$dest/lib/modules"
ver=$(ls "$dest/lib/modules")
# The cache's own copy of rrxe.ko, if any, is not this checkout's.
rm -f "$dest/lib/modules/$ver/updates/rrxe.ko"
install -D -m 0644 "$module" "$dest/lib/modules/$ver/updates/rrxe.ko"
depmod -b "$dest" "$ver"
