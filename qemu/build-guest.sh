#!/usr/bin/env bash
# Build the guest userspace: Debian trixie with rdma-core 56 (libibverbs,
# librxe, ibverbs-utils, rdmacm-utils, perftest, pyverbs and its tests),
# kept as a directory that guests mount read-only as their root over 9p (no
# initramfs to unpack: that costs a minute per boot on the debug kernel).
# Cached in $RRXE_CACHE/guest, keyed by this script and the image's /init.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

out="$RRXE_CACHE/guest"
root="$out/rootfs"
key=$(hash_paths "$here/build-guest.sh" "$here/guest/rootinit")
if [ -x "$root/init" ] && [ "$(cat "$out/key" 2>/dev/null)" = "$key" ]; then
	exit 0
fi

packages=(
	libibverbs1 ibverbs-providers ibverbs-utils rdmacm-utils perftest
	python3 python3-pyverbs iproute2 kmod procps iputils-ping
)
rm -rf "$root" "$out/key" "$out/rootfs.cpio.gz"
mkdir -p "$out"
log "building guest userspace (Debian trixie: ${packages[*]})"
mmdebstrap --quiet --variant=apt --include="$(IFS=,; echo "${packages[*]}")" \
	trixie "$root" >"$out/mmdebstrap.log" 2>&1 ||
	die "mmdebstrap failed, see $out/mmdebstrap.log"

# rdma-core's pyverbs test suite ships (partly gzipped) as documentation.
tests="$root/usr/share/doc/rdma-core/tests"
[ -f "$tests/run_tests.py" ] || [ -f "$tests/run_tests.py.gz" ] ||
	die "python3-pyverbs did not ship the test suite at ${tests#"$root"}"
mkdir -p "$root/opt"
cp -a "$tests" "$root/opt/rdma-core-tests"
find "$root/opt/rdma-core-tests" -name '*.gz' -exec gunzip -f {} +

# What the guest never reads.
rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man "$root"/usr/share/info \
	"$root"/usr/share/locale "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/*
for tool in ibv_devinfo ibv_rc_pingpong ib_write_bw ib_send_bw rping rdma python3; do
	chroot "$root" sh -c "command -v $tool" >/dev/null || die "guest image lacks $tool"
done
chroot "$root" python3 -c 'import pyverbs.device' || die "guest image: pyverbs does not import"

# Mount points for the host's shares: the root is read-only in the guest.
mkdir -p "$root"/host "$root"/repo "$root"/shared "$root"/lib/modules
install -m 0755 "$here/guest/rootinit" "$root/init"
echo "$key" >"$out/key"
log "guest image ready: $(du -sh "$root" | cut -f1)"
