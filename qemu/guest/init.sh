#!/bin/bash
# Runs in the guest as PID 1 (exec'd by the image's /init). Brings up the
# network, runs the scenarios named in /host/env, each under a timeout, and
# records one PASS/FAIL line per test in /host/results. /host is this
# guest's run directory on the host; /repo is the repository, read-only.
set -u
# rrxectl, built for this checkout (make tools), first.
export PATH=/repo/out/tools/bin:/usr/sbin:/usr/bin:/sbin:/bin
set -a
. /host/env
set +a
. /repo/qemu/guest/lib.sh

say() { echo "rrxe-guest[$GUEST_NAME]: $*" >/dev/kmsg; }

# The runner's boot watch: init has been reached.
echo booted >/host/booted
# Process substitution needs /dev/fd, which only udev would create.
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
hostname "$GUEST_NAME"
ulimit -l unlimited
ulimit -c 0
mkdir -p /host/logs /shared
mount -t 9p -o trans=virtio,version=9p2000.L,cache=none shared /shared ||
	say "cannot mount /shared"
ip link set lo up
ip link set eth0 up
ip addr add "$GUEST_IP/24" dev eth0
# Enough that IPv6 DAD completes and the link-local GID appears.
for _ in $(seq 50); do
	ip -6 addr show dev eth0 scope link | grep -q tentative || break
	sleep 0.1
done

if [ -w /sys/kernel/debug/kmemleak ]; then
	# Forget what boot left behind: only leaks made by the tests count.
	started=$(date +%s)
	echo scan >/sys/kernel/debug/kmemleak
	echo clear >/sys/kernel/debug/kmemleak
	say "kmemleak baseline scan: $(($(date +%s) - started))s"
fi
say "network up, running scenarios"

# The guest's state at boot, which each scenario must leave as it found it.
# A guest starved of CPU by others on the host may take minutes to read it; a
# snapshot cut short is not kept, since undoing what it seems to lack would
# unmount the guest's own filesystems.
baseline=/tmp/guest-state.baseline
if ! { timeout 300 bash /repo/qemu/guest/state.sh snapshot "$baseline.new" &&
	mv "$baseline.new" "$baseline"; }; then
	say "cannot read the guest's state"
fi

for scenario in $SCENARIOS; do
	name=$(basename "$scenario" .sh)
	limit=$(sed -n 's/^# timeout: *\([0-9][0-9]*\) *$/\1/p' "/repo/$scenario" | head -1)
	say "scenario $name (limit ${limit}s)"
	before=$(wc -l </host/results 2>/dev/null || echo 0)
	started=$(date +%s)
	SCENARIO=$name timeout -k 5 "$limit" bash "/repo/$scenario" \
		>"/host/logs/$name.log" 2>&1
	rc=$?
	say "scenario $name: exit $rc after $(($(date +%s) - started))s"
	printf 'scenario:%s\t%s\n' "$name" $(($(date +%s) - started)) >>/host/timings.tsv
	after=$(wc -l </host/results 2>/dev/null || echo 0)
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		fail "$name" "timed out after ${limit}s (logs/$name.log)"
	elif [ "$rc" != 0 ]; then
		fail "$name" "scenario exited $rc (logs/$name.log)"
	elif [ "$after" = "$before" ]; then
		fail "$name" "scenario recorded no test (logs/$name.log)"
	fi
	# Each scenario starts from the guest as it booted.
	if [ ! -s "$baseline" ]; then
		fail "$name-restores-guest" "the guest's state at boot could not be read"
	elif ! changes=$(timeout 300 bash /repo/qemu/guest/state.sh changes "$baseline"); then
		fail "$name-restores-guest" "cannot read the guest's state within 300s"
	elif [ -z "$changes" ]; then
		pass "$name-restores-guest"
	else
		left=$(sed -n 's/^+ //p' <<<"$changes" | paste -sd';')
		gone=$(sed -n 's/^- //p' <<<"$changes" | paste -sd';')
		fail "$name-restores-guest" "left ${left:-nothing}; removed ${gone:-nothing}"
		timeout 120 bash /repo/qemu/guest/state.sh restore "$baseline" ||
			say "the guest could not be restored after $name"
	fi
done

# The debug kernel has kmemleak: a scan that cannot run is a failure, not a
# clean result.
if [ -e /sys/kernel/debug/kmemleak ]; then
	say "kmemleak scan"
	started=$(date +%s)
	# A second scan reports only objects unreferenced in both.
	if echo scan >/sys/kernel/debug/kmemleak && echo scan >/sys/kernel/debug/kmemleak &&
		cat /sys/kernel/debug/kmemleak >/host/kmemleak.txt; then
		say "kmemleak scans: $(($(date +%s) - started))s"
		grep -q 'unreferenced object' /host/kmemleak.txt &&
			say "kmemleak: unreferenced object(s), see kmemleak.txt"
	else
		fail kmemleak-scan "kmemleak could not scan (disabled?)"
	fi
elif [ "$KERNEL_FLAVOR" = debug ]; then
	fail kmemleak-scan "no /sys/kernel/debug/kmemleak on the debug kernel"
fi
dmesg >/host/dmesg.txt
echo done >/host/finished
sync
say "finished"
echo o >/proc/sysrq-trigger
# PID 1 must not exit before the power-off completes.
while :; do sleep 60; done
