#!/bin/bash
# Runs in the guest as PID 1 (exec'd by the image's /init). Brings up the
# network, runs the scenarios named in /host/env, each under a timeout, and
# records one PASS/FAIL line per test in /host/results. /host is this
# guest's run directory on the host; /repo is the repository, read-only.
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
set -a
. /host/env
set +a
. /repo/qemu/guest/lib.sh

say() { echo "rrxe-guest[$GUEST_NAME]: $*" >/dev/kmsg; }

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
	say "kmemleak baseline scan"
	echo scan >/sys/kernel/debug/kmemleak
	echo clear >/sys/kernel/debug/kmemleak
fi
say "network up, running scenarios"

for scenario in $SCENARIOS; do
	name=$(basename "$scenario" .sh)
	say "scenario $name"
	before=$(wc -l </host/results 2>/dev/null || echo 0)
	SCENARIO=$name timeout -k 5 "$SCENARIO_TIMEOUT" bash "/repo/$scenario" \
		>"/host/logs/$name.log" 2>&1
	rc=$?
	after=$(wc -l </host/results 2>/dev/null || echo 0)
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		fail "$name" "timed out after ${SCENARIO_TIMEOUT}s (logs/$name.log)"
	elif [ "$rc" != 0 ]; then
		fail "$name" "scenario exited $rc (logs/$name.log)"
	elif [ "$after" = "$before" ]; then
		fail "$name" "scenario recorded no test (logs/$name.log)"
	fi
done

if [ -w /sys/kernel/debug/kmemleak ]; then
	say "kmemleak scan"
	echo scan >/sys/kernel/debug/kmemleak
	# A second scan reports only objects unreferenced in both.
	echo scan >/sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak >/host/kmemleak.txt
	grep -q 'unreferenced object' /host/kmemleak.txt &&
		say "kmemleak: unreferenced object(s), see kmemleak.txt"
fi
dmesg >/host/dmesg.txt
echo done >/host/finished
sync
say "finished"
echo o >/proc/sysrq-trigger
sleep 10
