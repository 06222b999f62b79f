# Shared definitions for the qemu/ scripts (sourced, not run).

: "${RRXE_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/rrxe}"
export PATH="$HOME/.cargo/bin:$PATH"

# The pinned toolchain (rust-toolchain.toml), for builds run from any folder.
RUSTUP_TOOLCHAIN=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' "$(dirname "${BASH_SOURCE[0]}")/../rust-toolchain.toml")
export RUSTUP_TOOLCHAIN

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

# The versions of the tools a kernel build depends on: part of its cache key.
tool_versions() {
	rustc --version
	clippy-driver --version
	bindgen --version
	clang-19 --version | head -1
	ld.lld-19 --version | head -1
}

# with_cache_lock NAME CMD...: run CMD holding $RRXE_CACHE/NAME.lock, so that
# two builds never write one cache at once (the second waits).
with_cache_lock() {
	local name=$1
	shift
	mkdir -p "$RRXE_CACHE"
	(
		flock 9 || die "cannot lock $RRXE_CACHE/$name.lock"
		"$@"
	) 9>"$RRXE_CACHE/$name.lock"
}

# scenario_timeout FILE: the limit a scenario declares in its header as
# `# timeout: SECONDS`.
scenario_timeout() {
	sed -n 's/^# timeout: *\([0-9][0-9]*\) *$/\1/p' "$1" | head -1 | grep .
}

# account_run NAME RC OUTPUT: a run that exited non-zero without reporting a
# failing test (a scenario path mistyped, a guest that never started) is a
# failure of its own.
account_run() {
	if [ "$2" != 0 ] && ! grep -q '^FAIL ' "$3"; then
		echo "FAIL $1: the run exited $2 without a failing test: $(grep -m1 'error' "$3" || tail -n1 "$3")"
	fi
}
