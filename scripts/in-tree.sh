#!/usr/bin/env bash
# `make in-tree`: apply the series (`make series`) with `git am` to a pristine
# Linux 7.3 tree, then build it with rrxe built in (=y) and as a module (=m),
# on the test kernel's base configuration with Rust under clippy. Any compiler
# or clippy warning, or checkpatch report, fails it.
#
# The tree, a git repository of the pristine source, and its builds live in
# $RRXE_CACHE/in-tree, apart from the test kernels, and are reused.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../qemu/lib.sh"
root=$(repo_root)
series=${1:-$root/out/series}
dir=$RRXE_CACHE/in-tree
tree=$dir/linux
pkgver=$(kernel_pkg_version)

ls "$series"/0*.patch >/dev/null 2>&1 || die "in-tree: no series in $series (make series)"
mkdir -p "$dir"
exec 9>"$dir/lock"
flock 9

if [ "$(cat "$tree/.git/rrxe-pristine" 2>/dev/null)" != "$pkgver" ]; then
	log "in-tree: a git tree of linux-source $pkgver (once)"
	rm -rf "$tree" "$dir"/build-*
	mkdir -p "$dir/tmp"
	tar -C "$dir/tmp" -xf "$(kernel_tarball)"
	mv "$dir/tmp/linux-source-7.3" "$tree"
	rmdir "$dir/tmp"
	git -C "$tree" init -q
	# Debian's .gitignore ignores the top level: the source is added all the same.
	git -C "$tree" add -A -f
	git -C "$tree" -c user.name=rrxe -c user.email=rrxe@localhost commit -q -m "Linux 7.3 ($pkgver)"
	git -C "$tree" tag pristine
	echo "$pkgver" >"$tree/.git/rrxe-pristine"
fi

git -C "$tree" am --abort >/dev/null 2>&1 || true
git -C "$tree" reset -q --hard pristine
git -C "$tree" clean -qfdx
patches=$(ls "$series"/0*.patch | grep -v '/0000-cover-letter.patch$')
git -C "$tree" -c user.name=rrxe -c user.email=rrxe@localhost am -q $patches ||
	die "in-tree: the series does not apply with git am"
log "in-tree: $(echo "$patches" | wc -l) patches applied"

# checkpatch --strict on each patch. A patch that adds files under rust/ alone
# may leave MAINTAINERS as it is: the RUST entry ("F: rust/") covers them.
bad=0
for p in $patches; do
	# Its SPDX check runs Debian's python3, which has ply and GitPython; anything it
	# prints on stderr (such as a missing module) is a report too.
	report=$(cd "$tree" && PATH=/usr/bin:$PATH perl scripts/checkpatch.pl --strict --terse \
		--no-summary "$p" 2>&1 || true)
	if ! grep '^+++ b/' "$p" | grep -qv '^+++ b/rust/'; then
		report=$(grep -v 'does MAINTAINERS need updating' <<<"$report" || true)
	fi
	if [ -n "$report" ]; then
		echo "$report" >&2
		bad=1
	fi
done
[ "$bad" = 0 ] || die "in-tree: checkpatch reports"
log "in-tree: checkpatch --strict clean"

# build_as VALUE: configure RDMA_RRXE=VALUE on the base configuration and build.
# Both builds share one directory: the second rebuilds only what the option
# changes.
build_as() {
	local value=$1 build=$dir/build cfg
	mkdir -p "$build"
	# Nothing of the other build's rrxe is left to be mistaken for this one's.
	rm -rf "$build/drivers/infiniband/sw/rrxe"
	cfg=$(mktemp)
	{ cat "$root/qemu/config/base.config"; echo "CONFIG_RDMA_RRXE=$value"; } >"$cfg"
	make -s -C "$tree" O="$build" LLVM=-19 tinyconfig >/dev/null
	(cd "$build" && "$tree/scripts/kconfig/merge_config.sh" -m -O "$build" .config "$cfg" >/dev/null)
	rm -f "$cfg"
	make -s -C "$tree" O="$build" LLVM=-19 olddefconfig >/dev/null
	grep -qx "CONFIG_RDMA_RRXE=$value" "$build/.config" ||
		die "in-tree: CONFIG_RDMA_RRXE=$value did not take: $(grep RDMA_RRXE "$build/.config")"
	log "in-tree: building with CONFIG_RDMA_RRXE=$value in $build"
	# -s: only diagnostics are printed.
	make -s -C "$tree" O="$build" LLVM=-19 CLIPPY=1 -j"$(nproc)" bzImage modules >"$build/build.log" 2>&1 ||
		{ tail -40 "$build/build.log"; die "in-tree: the =$value build failed"; }
	if grep -Eq '(^|: )(warning|error)(\[[A-Za-z0-9_:-]+\])?: ' "$build/build.log"; then
		grep -E -A6 '(^|: )(warning|error)(\[[A-Za-z0-9_:-]+\])?: ' "$build/build.log"
		die "in-tree: the =$value build has diagnostics ($build/build.log)"
	fi
	local obj=$build/drivers/infiniband/sw/rrxe
	case $value in
	# Built in, the driver's object goes into vmlinux through the directory's archive.
	y) [ ! -f "$obj/rrxe.ko" ] && grep -q 'src/rrxe.o' "$obj/built-in.a" &&
		grep -q '4rrxe' "$build/System.map" || die "in-tree: rrxe is not built in" ;;
	m) [ -f "$obj/rrxe.ko" ] || die "in-tree: rrxe.ko was not built" ;;
	esac
	echo "PASS in-tree-build-$value: rrxe built $([ "$value" = y ] && echo in || echo as a module), no diagnostic"
}
build_as y
build_as m
