#!/usr/bin/env bash
# Build the guest userspace: Debian trixie with rdma-core 56 (libibverbs,
# librxe, ibverbs-utils, rdmacm-utils, perftest, pyverbs and its tests),
# packed as an initramfs. Cached in $RRXE_CACHE/guest, keyed by this script
# and the image's /init.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

out="$RRXE_CACHE/guest"
image="$out/rootfs.cpio.gz"
key=$(hash_paths "$here/build-guest.sh" "$here/guest/rootinit")
if [ -f "$image" ] && [ "$(cat "$out/key" 2>/dev/null)" = "$key" ]; then
	exit 0
fi

packages=(
	libibverbs1 ibverbs-providers ibverbs-utils rdmacm-utils perftest
	python3 python3-pyverbs iproute2 kmod procps iputils-ping
)
root="$out/rootfs"
rm -rf "$root" "$out/key"
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

install -m 0755 "$here/guest/rootinit" "$root/init"
log "packing guest image"
(cd "$root" && find . -print0 | cpio --quiet -o -0 -H newc | gzip -1 >"$image.tmp")
mv "$image.tmp" "$image"
rm -rf "$root"
echo "$key" >"$out/key"
log "guest image ready: $(du -h "$image" | cut -f1)"
