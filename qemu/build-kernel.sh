#!/usr/bin/env bash
# Build the guest kernel: Linux 7.3 from Debian's linux-source-7.3, with the
# project's rust/ overlay applied, configured from qemu/config/.
#
#   qemu/build-kernel.sh debug|bench
#
# The build lives in $RRXE_CACHE/kernel/build-FLAVOR and is reused (kbuild
# rebuilds incrementally); it is skipped when its key (package version, tool
# versions, config fragments, overlay, this script) matches the last
# successful build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

flavor=${1:?usage: build-kernel.sh debug|bench}
case "$flavor" in debug | bench) ;; *) die "unknown kernel flavor '$flavor'" ;; esac

root=$(repo_root)
kdir=$(kernel_dir)
pkgver=$(kernel_pkg_version)
pristine="$kdir/pristine-$pkgver"
src=$(kernel_src)
build=$(kernel_build "$flavor")
modroot=$(kernel_modroot "$flavor")
fragments=("$here/config/base.config" "$here/config/$flavor.config")

key=$( (tool_versions && hash_paths "$root/rust" "${fragments[@]}" "$here/build-kernel.sh" \
	"$here/apply-overlay.sh") | sha256sum | cut -c1-16)
key="$pkgver-$key"
current() { [ -f "$build/arch/x86/boot/bzImage" ] && [ "$(cat "$build/.rrxe-key" 2>/dev/null)" = "$key" ]; }

# Guests hold the cache shared while they run; a build takes it alone, so a
# second build, or a build during a run, waits here.
mkdir -p "$RRXE_CACHE"
exec 9>"$RRXE_CACHE/kernel.lock"
flock -s 9
current && exit 0
flock 9
current && exit 0

make_kernel() { make -s LLVM=-19 -j"$(nproc)" "$@"; }

mkdir -p "$kdir"
if [ ! -d "$pristine" ]; then
	log "extracting linux-source $pkgver"
	rm -rf "$kdir"/pristine-* "$kdir/tmp" "$src" "$kdir"/build-* "$kdir"/modules-*
	mkdir -p "$kdir/tmp"
	tar -C "$kdir/tmp" -xf "$(kernel_tarball)"
	mv "$kdir/tmp/linux-source-7.3" "$pristine"
	rmdir "$kdir/tmp"
fi
if [ ! -f "$src/.rrxe-pristine" ] || [ "$(cat "$src/.rrxe-pristine")" != "$pkgver" ]; then
	log "creating source tree"
	rm -rf "$src"
	# Hard links: the overlay replaces files (rsync writes a new file and
	# renames it), so the pristine tree is never modified.
	cp -al "$pristine" "$src"
	echo "$pkgver" >"$src/.rrxe-pristine"
fi

"$here/apply-overlay.sh" "$root/rust" "$pristine" "$src"

mkdir -p "$build"
# Configure in a scratch directory and install the result only when it
# differs, so an unchanged configuration rebuilds nothing.
cfgdir=$(mktemp -d)
trap 'rm -rf "$cfgdir"' EXIT
make -s -C "$src" O="$cfgdir" LLVM=-19 tinyconfig >/dev/null
(cd "$cfgdir" && "$src/scripts/kconfig/merge_config.sh" -m -O "$cfgdir" .config "${fragments[@]}" >/dev/null)
make -s -C "$src" O="$cfgdir" LLVM=-19 olddefconfig >/dev/null

# Every requested option must have taken effect.
bad=0
while IFS= read -r line; do
	case "$line" in CONFIG_*=*) ;; *) continue ;; esac
	opt=${line%%=*} want=${line#*=}
	if [ "$want" = n ]; then
		grep -q "^$opt=" "$cfgdir/.config" && { log "config: $opt is set but requested off"; bad=1; }
	else
		grep -qxF "$line" "$cfgdir/.config" || {
			log "config: requested $line, got: $(grep "^$opt=\|# $opt is not set" "$cfgdir/.config" || echo absent)"
			bad=1
		}
	fi
done < <(cat "${fragments[@]}")
[ "$bad" = 0 ] || die "kernel config for '$flavor' did not take (see above): a dependency is missing"

if ! cmp -s "$cfgdir/.config" "$build/.config"; then
	cp "$cfgdir/.config" "$build/.config"
fi

log "building $flavor kernel in $build"
make_kernel -C "$src" O="$build" olddefconfig >/dev/null
# The debug kernel's Rust is compiled under clippy, once: the kernel crate
# (with the RDMA abstractions) is recompiled whenever the key changes, and
# its diagnostics kept in .rrxe-build.log for `make check` to read.
clippy=()
if [ "$flavor" = debug ]; then
	clippy=(CLIPPY=1)
	rm -f "$build/rust/kernel.o"
fi
make_kernel -C "$src" O="$build" "${clippy[@]}" bzImage modules 2>&1 | tee "$build/.rrxe-build.log.new" ||
	die "kernel build failed ($flavor)"
mv "$build/.rrxe-build.log.new" "$build/.rrxe-build.log"
rm -rf "$modroot"
make_kernel -C "$src" O="$build" INSTALL_MOD_PATH="$modroot" modules_install >/dev/null ||
	die "modules_install failed ($flavor)"
echo "$key" >"$build/.rrxe-key"
log "$flavor kernel ready: $(make -s -C "$src" O="$build" kernelrelease)"
