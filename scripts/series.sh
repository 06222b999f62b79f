#!/usr/bin/env bash
# `make series`: the whole work as a patch series for Linux 7.3, for `git am`.
#
#   scripts/series.sh [OUTDIR]      (default out/series)
#
# One patch per rust/patches/*.patch, with the new files it brings under rust/
# (its message is the text before the patch's first hunk), then the driver:
# Kconfig, Kbuild, src/ and tests/kunit/ as drivers/infiniband/sw/rrxe with the
# Kconfig and Makefile hooks of drivers/infiniband. The patches are generated
# against the pristine files, with the author and date of the repository's
# HEAD, so the same tree gives the same series.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../qemu/lib.sh"
root=$(repo_root)
out=${1:-$root/out/series}

# The files each overlay patch adds under rust/; every file of the overlay
# must belong to exactly one patch.
new_files() {
	case $(basename "$1") in
	0002-rust-crc32.patch) echo kernel/crc.rs ;;
	0003-rust-workqueue-owned-queue.patch) echo kernel/workqueue/owned.rs ;;
	0005-rust-net-netdevice.patch) echo helpers/netdevice.c kernel/net/netdevice.rs ;;
	0006-rust-rdma.patch) echo helpers/rdma.c kernel/rdma.rs kernel/rdma ;;
	0007-rust-net-udp-tunnel.patch) echo helpers/skbuff.c helpers/udp_tunnel.c kernel/net/route.rs kernel/net/skbuff.rs kernel/net/udp_tunnel.rs ;;
	esac
}
# The MAINTAINERS entry a patch adds (its title, then its fields), and the
# entry it goes before.
maintainers_entry() {
	local who
	who="$(git -C "$root" log -1 --format='%an <%ae>')"
	case $1 in
	0006-rust-rdma.patch)
		echo "RUST [RUST-ANALYZER]"
		printf '%s\n' "RUST [RDMA]" "M:	$who" "L:	linux-rdma@vger.kernel.org" \
			"L:	rust-for-linux@vger.kernel.org" "S:	Maintained" "F:	rust/helpers/rdma.c" \
			"F:	rust/kernel/rdma.rs" "F:	rust/kernel/rdma/" ;;
	driver)
		echo "SOFTLOGIC 6x10 MPEG CODEC"
		printf '%s\n' "SOFT-ROCE DRIVER IN RUST (rrxe)" "M:	$who" "L:	linux-rdma@vger.kernel.org" \
			"L:	rust-for-linux@vger.kernel.org" "S:	Maintained" "F:	drivers/infiniband/sw/rrxe/" ;;
	esac
}

# add_maintainers NAME: adds NAME's MAINTAINERS entry, if it has one, before
# the entry it names.
add_maintainers() {
	local entry before
	entry=$(maintainers_entry "$1")
	[ -n "$entry" ] || return 0
	before=$(head -1 <<<"$entry")
	grep -qxF "$before" "$repo/MAINTAINERS" || die "series: no entry $before in MAINTAINERS"
	awk -v before="$before" -v entry="$(tail -n +2 <<<"$entry")" \
		'$0 == before { print entry; print "" } { print }' "$repo/MAINTAINERS" >"$work/maintainers"
	mv "$work/maintainers" "$repo/MAINTAINERS"
}

claimed=$(for p in "$root"/rust/patches/*.patch; do
	for f in $(new_files "$p"); do (cd "$root/rust" && find "$f" -type f); done
done | LC_ALL=C sort)
present=$(cd "$root/rust" && find . -type f ! -path './patches/*' ! -name README.md | sed 's|^\./||' |
	LC_ALL=C sort)
if [ "$claimed" != "$present" ]; then
	diff <(echo "$claimed") <(echo "$present") >&2 || true
	die "series: rust/ files and the patches that add them differ (< claimed, > present)"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
repo=$work/linux
hooks=(drivers/infiniband/Kconfig drivers/infiniband/sw/Makefile MAINTAINERS)
touched=$( (grep -h '^+++ b/' "$root"/rust/patches/*.patch | sed -e 's|^+++ b/||' -e 's|\t.*||'
	printf '%s\n' "${hooks[@]}") | LC_ALL=C sort -u)

# The pristine versions of the files the series changes.
mkdir -p "$repo"
pristine="$(kernel_dir)/pristine-$(kernel_pkg_version)"
if [ -d "$pristine" ]; then
	(cd "$pristine" && cp --parents $touched "$repo/")
else
	tar -C "$work" -xf "$(kernel_tarball)" $(sed 's|^|linux-source-7.3/|' <<<"$touched")
	(cd "$work/linux-source-7.3" && cp --parents $touched "$repo/")
fi

export GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_AUTHOR_DATE GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL
export GIT_COMMITTER_DATE
GIT_AUTHOR_NAME=$(git -C "$root" log -1 --format=%an)
GIT_AUTHOR_EMAIL=$(git -C "$root" log -1 --format=%ae)
GIT_AUTHOR_DATE=$(git -C "$root" log -1 --format=%aI)
GIT_COMMITTER_NAME=$GIT_AUTHOR_NAME GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL
GIT_COMMITTER_DATE=$GIT_AUTHOR_DATE
g() { git -C "$repo" -c core.autocrlf=false "$@"; }
g init -q
g add -A
g commit -q -m "Linux 7.3 ($(kernel_pkg_version)), the files the series changes"
base=$(g rev-parse HEAD)

# commit_with MESSAGEFILE: commit everything, signed off.
commit_with() { g add -A && g commit -q -s -F "$1"; }

for p in "$root"/rust/patches/*.patch; do
	# The message: the text before the first hunk, without "Subject: ".
	sed -n '/^--- a\//q; p' "$p" | sed '1s/^Subject: //' >"$work/msg"
	[ -s "$work/msg" ] || die "series: $(basename "$p") has no message before its diff"
	patch -s -p1 -d "$repo" --no-backup-if-mismatch <"$p" || die "series: $(basename "$p") does not apply"
	for f in $(new_files "$p"); do
		(cd "$root/rust" && find "$f" -type f -exec cp --parents {} "$repo/rust/" \;)
	done
	add_maintainers "$(basename "$p")"
	commit_with "$work/msg"
done

# The driver, in-tree.
drv=$repo/drivers/infiniband/sw/rrxe
mkdir -p "$drv"
(cd "$root" && cp --parents Kconfig Kbuild $(find src tests/kunit -name '*.rs' | LC_ALL=C sort) "$drv/")
grep -q 'sw/rxe/Kconfig' "$repo/drivers/infiniband/Kconfig" || die "series: no rxe line in drivers/infiniband/Kconfig"
sed -i '/source "drivers\/infiniband\/sw\/rxe\/Kconfig"/a source "drivers/infiniband/sw/rrxe/Kconfig"' \
	"$repo/drivers/infiniband/Kconfig"
grep -q 'CONFIG_RDMA_RXE' "$repo/drivers/infiniband/sw/Makefile" || die "series: no rxe line in drivers/infiniband/sw/Makefile"
sed -i '/CONFIG_RDMA_RXE/a obj-$(CONFIG_RDMA_RRXE)\t\t+= rrxe/' "$repo/drivers/infiniband/sw/Makefile"
add_maintainers driver
cat >"$work/msg" <<'MSG'
RDMA/rrxe: add a soft-RoCE driver in Rust

rrxe implements the InfiniBand transport in software over an Ethernet
device, as RoCEv2, on the Rust RDMA abstractions. It speaks rdma_rxe's
user ABI (RDMA_DRIVER_RXE, uverbs ABI 2), so rdma-core's rxe provider
drives it unchanged, and it serves in-kernel consumers through the
same verbs.

Devices are created with `rdma link add NAME type rrxe netdev DEV`.
The driver has user contexts, protection domains, address handles,
CQs, SRQs, queue pairs of types RC, UC, UD and GSI, memory regions
(DMA, fast registration and pinned user memory) and memory windows of
both types. Its transport carries sends, RDMA writes and reads,
atomics, window binds and fast registrations between the queue pairs
of a device; packets to other hosts are counted and dropped, as the
UDP transmit path is not part of this patch.

The driver is safe Rust: all unsafe code is in the abstractions. Its
KUnit suites (tests/kunit) cover the packet codec, the queue layouts,
the queue pair state machine and the responder's decisions, and run
when the driver loads on a kernel with KUNIT.
MSG
commit_with "$work/msg"

cat >"$work/cover" <<'MSG'
rrxe: a soft-RoCE RDMA driver in Rust

This series adds Rust abstractions for RDMA device drivers, and rrxe, a
soft-RoCE driver built on them. Patches 1-5 add what the RDMA
abstractions need from the rest of the kernel crate (XArray index
allocation, CRC-32, an owned workqueue, a completion wait with a
timeout, network devices and their notifiers), patch 6 the RDMA
abstractions, and patch 7 the driver with its Kconfig and Makefile
hooks. It applies to Linux 7.3.
MSG
g config branch."$(g symbolic-ref --short HEAD)".description "$(cat "$work/cover")"
rm -rf "$out"
mkdir -p "$out"
g format-patch -q --cover-letter --cover-from-description=subject -o "$out" "$base..HEAD"
log "series: $(ls "$out" | grep -c '^[0-9]') files in $out"
