#!/usr/bin/env bash
# Install what building and testing rrxe needs on a Debian 12 host.
# Idempotent: once everything is present it only checks and returns.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=qemu/lib.sh
. "$here/lib.sh"

BINDGEN_VERSION=0.73.2
KERNEL_PKG=linux-source-7.3

apt_pkgs=(
	"$KERNEL_PKG"
	clang-19 lld-19 llvm-19 libclang-19-dev
	qemu-system-x86 mmdebstrap
	bc bison flex libelf-dev libssl-dev cpio xz-utils rsync patch
	python3 zstd kmod
	# rrxectl links libibverbs
	libibverbs-dev
	# checkpatch.pl's SPDX check (make in-tree)
	python3-ply python3-git
)

missing_apt=()
for p in "${apt_pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing_apt+=("$p")
done

if [ ${#missing_apt[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || die "need root to install: ${missing_apt[*]}"
	# linux-source-7.3 lives in trixie-backports; pin trixie low so nothing
	# else is pulled from it.
	src=/etc/apt/sources.list.d/rrxe-trixie.sources
	if [ ! -f "$src" ]; then
		log "adding trixie and trixie-backports apt sources (pinned low)"
		cat >"$src" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie trixie-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
		cat >/etc/apt/preferences.d/rrxe-trixie <<'PIN'
Package: *
Pin: release n=trixie
Pin-Priority: 100

Package: *
Pin: release n=trixie-backports
Pin-Priority: 100
PIN
	fi
	log "apt-get install ${missing_apt[*]}"
	apt-get update -qq || die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing_apt[@]}" >/dev/null ||
		die "apt-get install failed for: ${missing_apt[*]}"
	if ! dpkg-query -W -f='${Status}' "$KERNEL_PKG" 2>/dev/null | grep -q 'install ok installed'; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t trixie-backports \
			"$KERNEL_PKG" >/dev/null || die "cannot install $KERNEL_PKG from trixie-backports"
	fi
fi

[ -f "$(kernel_tarball)" ] || die "$KERNEL_PKG installed but $(kernel_tarball) missing"

if ! command -v rustup >/dev/null; then
	[ "$(id -u)" = 0 ] || die "need root to install rustup"
	log "apt-get install rustup (trixie)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t trixie rustup >/dev/null ||
		die "cannot install rustup"
fi
# The pinned toolchain of rust-toolchain.toml with its components.
installed=$(rustup component list --installed --toolchain "$RUSTUP_TOOLCHAIN" 2>/dev/null || true)
components_missing=0
for c in rustc rust-src clippy rustfmt; do grep -q "^$c" <<<"$installed" || components_missing=1; done
if [ "$components_missing" = 1 ]; then
	log "rustup toolchain install $RUSTUP_TOOLCHAIN (rust-src, clippy, rustfmt)"
	rustup toolchain install "$RUSTUP_TOOLCHAIN" --profile minimal \
		--component rust-src,clippy,rustfmt >/dev/null ||
		die "cannot install Rust $RUSTUP_TOOLCHAIN"
fi

if ! bindgen --version 2>/dev/null | grep -q "$BINDGEN_VERSION"; then
	log "cargo install bindgen-cli $BINDGEN_VERSION"
	cargo install --locked --quiet bindgen-cli --version "$BINDGEN_VERSION" ||
		die "cannot install bindgen-cli $BINDGEN_VERSION"
fi
