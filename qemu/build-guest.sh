#!/usr/bin/env bash
# Build the guest userspace: Debian trixie with rdma-core 56 (libibverbs,
# librxe, ibverbs-utils, rdmacm-utils, perftest, pyverbs and its tests),
# perf, for profiling the driver in a guest, and iperf3 and fio, for `make
# bench`'s ceilings and NVMe runs,
# kept as a directory that guests mount read-only as their root over 9p (no
# initramfs to unpack: that costs a minute per boot on the debug kernel).
# Cached in $RRXE_CACHE/guest, keyed by this script and the image's /init.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

out="$RRXE_CACHE/guest"
root="$out/rootfs"
key=$(hash_paths "$here/build-guest.sh" "$here/guest/rootinit")
current() { [ -x "$root/init" ] && [ "$(cat "$out/key" 2>/dev/null)" = "$key" ]; }
# Guests hold the cache shared while they run; a build takes it alone, so a
# second build, or a build during a run, waits here.
mkdir -p "$out"
exec 9>"$out/lock"
flock -s 9
current && exit 0
flock 9
current && exit 0
# The image is built beside the current one, which stays usable until the
# new one is complete.
new="$out/rootfs.new"

packages=(
	libibverbs1 ibverbs-providers ibverbs-utils rdmacm-utils perftest
	python3 python3-pyverbs iproute2 kmod procps iputils-ping linux-perf iperf3 fio
	nfs-kernel-server
)
rm -rf "$new" "$out/rootfs.cpio.gz"
log "building guest userspace (Debian trixie: ${packages[*]})"
mmdebstrap --quiet --variant=apt --include="$(IFS=,; echo "${packages[*]}")" \
	trixie "$new" >"$out/mmdebstrap.log" 2>&1 ||
	die "mmdebstrap failed, see $out/mmdebstrap.log"

# rdma-core's pyverbs test suite ships (partly gzipped) as documentation.
tests="$new/usr/share/doc/rdma-core/tests"
[ -f "$tests/run_tests.py" ] || [ -f "$tests/run_tests.py.gz" ] ||
	die "python3-pyverbs did not ship the test suite at ${tests#"$new"}"
mkdir -p "$new/opt"
cp -a "$tests" "$new/opt/rdma-core-tests"
find "$new/opt/rdma-core-tests" -name '*.gz' -exec gunzip -f {} +
# Compiled once here: the guest's root is read-only, and each process of the
# suite would otherwise compile its 700 KB of sources again under TCG.
chroot "$new" python3 -m compileall -q /opt/rdma-core-tests >/dev/null ||
	die "guest image: the pyverbs tests do not compile"

# What the guest never reads.
rm -rf "$new"/usr/share/doc/* "$new"/usr/share/man "$new"/usr/share/info \
	"$new"/usr/share/locale "$new"/var/cache/apt/* "$new"/var/lib/apt/lists/*
# libibverbs loads every provider it has a driver file for as soon as a device
# is not yet bound: sixteen libraries no guest device uses, a few seconds per
# process on the debug guest. librxe (driver_id RXE: rrxe and rdma_rxe) stays.
drivers="$new/etc/libibverbs.d"
[ -f "$drivers/rxe.driver" ] || die "guest image: ibverbs-providers has no rxe.driver"
find "$drivers" -name '*.driver' ! -name rxe.driver -delete
for tool in ibv_devinfo ibv_rc_pingpong ib_write_bw ib_send_bw rping rdma python3; do
	chroot "$new" sh -c "command -v $tool" >/dev/null || die "guest image lacks $tool"
done
chroot "$new" python3 -c 'import pyverbs.device' || die "guest image: pyverbs does not import"

# Mount points for the host's shares: the root is read-only in the guest.
mkdir -p "$new"/host "$new"/repo "$new"/shared "$new"/lib/modules
install -m 0755 "$here/guest/rootinit" "$new/init"
# The versions the guest runs, for the record of each run (out/).
chroot "$new" dpkg-query -W -f='${Package}\t${Version}\n' | LC_ALL=C sort >"$new/.rrxe-packages"
rm -rf "$root.old"
[ -d "$root" ] && mv "$root" "$root.old"
mv "$new" "$root"
rm -rf "$root.old"
echo "$key" >"$out/key"
log "guest image ready: $(du -sh "$root" | cut -f1)"
