# Shared definitions for the qemu/ scripts (sourced, not run).

: "${RRXE_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/rrxe}"
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf 'rrxe: %s\n' "$*" >&2; }
die() { printf 'rrxe: error: %s\n' "$*" >&2; exit 1; }

kernel_tarball() { echo /usr/src/linux-source-7.3.tar.xz; }

repo_root() { (cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd); }

# Version of the installed kernel source package: the cache key's root.
kernel_pkg_version() { dpkg-query -W -f='${Version}' linux-source-7.3; }

kernel_dir() { echo "$RRXE_CACHE/kernel"; }
# The source tree the builds use: pristine source plus the rust/ overlay.
kernel_src() { echo "$(kernel_dir)/src"; }
# FLAVOR is debug (test kernel) or bench.
kernel_build() { echo "$(kernel_dir)/build-$1"; }
kernel_modroot() { echo "$(kernel_dir)/modules-$1"; }

# sha256 over the contents of files and directory trees (names relative to
# each argument, so the key does not depend on where the repository is).
hash_paths() {
	local p
	for p in "$@"; do
		if [ -d "$p" ]; then
			(cd "$p" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum)
		elif [ -f "$p" ]; then
			sha256sum <"$p"
		else
			echo "absent"
		fi
	done | sha256sum | cut -c1-16
}

make_kernel() { make -s LLVM=-19 -j"$(nproc)" "$@"; }
