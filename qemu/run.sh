#!/usr/bin/env bash
# Boot one or two guests on the test kernel and run guest scenarios.
#
#   qemu/run.sh [-k debug|bench] [-g 1|2] [-t SECONDS] [-n NAME] SCENARIO...
#
# SCENARIO is a script path relative to the repository (qemu/scenarios/...);
# every guest runs every scenario, in order, each under the -t timeout.
# Two guests are joined by QEMU's UDP socket netdev on 127.0.0.1.
# Prints one PASS/FAIL/SKIP line per test and `N passed, N failed`; exits 1 if
# anything failed, including a KASAN, lockdep, WARN, BUG, Oops or hung-task
# line in a guest's kernel log, or a guest that did not finish.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

flavor=debug nguests=1 timeout=300 name=
while getopts k:g:t:n: opt; do
	case $opt in
	k) flavor=$OPTARG ;;
	g) nguests=$OPTARG ;;
	t) timeout=$OPTARG ;;
	n) name=$OPTARG ;;
	*) die "usage: run.sh [-k debug|bench] [-g 1|2] [-t SECONDS] [-n NAME] SCENARIO..." ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || die "no scenario given"
case $nguests in 1 | 2) ;; *) die "-g takes 1 or 2" ;; esac

root=$(repo_root)
for s in "$@"; do [ -f "$root/$s" ] || die "no scenario $s"; done
kernel="$(kernel_build "$flavor")/arch/x86/boot/bzImage"
modules="$(kernel_modroot "$flavor")/lib/modules"
image="$RRXE_CACHE/guest/rootfs"
[ -f "$kernel" ] || die "no $flavor kernel: run qemu/build-kernel.sh $flavor"
[ -d "$modules" ] || die "no $flavor kernel modules in $modules"
[ -x "$image/init" ] || die "no guest image: run qemu/build-guest.sh"

name=${name:-$(basename "$1" .sh)}
rundir="$root/out/$name"
rm -rf "$rundir"
mkdir -p "$rundir/shared"

# KVM only when it really works: a usable /dev/kvm on a CPU that exposes
# hardware virtualization. Otherwise (as in nested paravirtual sandboxes)
# TCG.
# 4-level paging: with LA57, the debug kernel can take a KASAN
# wild-memory-access report from an interrupt early in boot (identify_cpu ->
# rcu_is_watching), which has nothing to do with the code under test.
accel=(-accel tcg -cpu max,la57=off)
if [ "${RRXE_ACCEL:-auto}" = kvm ] ||
	{ [ "${RRXE_ACCEL:-auto}" = auto ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] &&
		grep -qwE 'vmx|svm' /proc/cpuinfo; }; then
	accel=(-accel kvm -cpu host)
fi

# Ports for the guests' link, chosen per run so runs do not collide.
base_port=$((20000 + ($$ % 20000) * 2))
pids=()
for i in $(seq "$nguests"); do
	g="$rundir/g$i"
	mkdir -p "$g/logs"
	: >"$g/results"
	peer=$((3 - i))
	cat >"$g/env" <<ENV
GUEST_NAME=g$i
GUEST_INDEX=$i
NGUESTS=$nguests
GUEST_IP=192.0.2.$i
PEER_IP=192.0.2.$peer
SCENARIOS="$*"
SCENARIO_TIMEOUT=$timeout
ENV
	local_port=$((base_port + i - 1))
	peer_port=$((base_port + peer - 1))
	share=(security_model=none,multidevs=remap)
	timeout --foreground -k 10 $((timeout * $# + 120)) \
		qemu-system-x86_64 "${accel[@]}" -smp 2 -m 2G \
		-nographic -no-reboot -monitor none -serial "file:$g/console.log" \
		-kernel "$kernel" \
		-append "console=ttyS0 acpi=noirq panic=-1 loglevel=6 root=rootfs rootfstype=9p rootflags=trans=virtio,version=9p2000.L,cache=loose,msize=262144 ro init=/init" \
		-virtfs "local,path=$image,mount_tag=rootfs,readonly=on,$share" \
		-virtfs "local,path=$g,mount_tag=host,$share" \
		-virtfs "local,path=$root,mount_tag=repo,readonly=on,$share" \
		-virtfs "local,path=$modules,mount_tag=modules,readonly=on,$share" \
		-virtfs "local,path=$rundir/shared,mount_tag=shared,$share" \
		-netdev "socket,id=n0,udp=127.0.0.1:$peer_port,localaddr=127.0.0.1:$local_port" \
		-device "virtio-net-pci,netdev=n0,mac=52:54:00:72:78:0$i" \
		>"$g/qemu.log" 2>&1 &
	pids+=($!)
done

log "$name: ${nguests} guest(s), $flavor kernel, ${accel[1]}; logs in ${rundir#"$root"/}"
status=()
for pid in "${pids[@]}"; do
	rc=0
	wait "$pid" || rc=$?
	status+=("$rc")
done

# Kernel log lines that fail a run whatever the tests said.
splat='BUG:|WARNING:|Oops|kernel BUG at|general protection fault|Kernel panic|possible recursive locking|possible circular locking|inconsistent lock state|suspicious RCU usage|INFO: task .* blocked for more than|rcu: INFO: .* detected stall|UBSAN:|kmemleak: [0-9]+ new suspected memory leaks|unreferenced object|Call Trace:'
passed=0 failed=0
report() {
	echo "$1"
	case $1 in PASS*) passed=$((passed + 1)) ;; FAIL*) failed=$((failed + 1)) ;; esac
}
for i in $(seq "$nguests"); do
	g="$rundir/g$i"
	prefix=
	[ "$nguests" = 1 ] || prefix="g$i/"
	while IFS= read -r line; do
		case $line in
		PASS\ * | FAIL\ * | SKIP\ *) report "${line%% *} $prefix${line#* }" ;;
		esac
	done <"$g/results"
	rc=${status[$((i - 1))]}
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		report "FAIL ${prefix}guest: timed out (console: ${g#"$root"/}/console.log)"
	elif [ ! -f "$g/finished" ]; then
		report "FAIL ${prefix}guest: did not finish, qemu exit $rc (console: ${g#"$root"/}/console.log)"
	fi
	if grep -Eq "$splat" "$g/console.log" 2>/dev/null || grep -q 'unreferenced object' "$g/kmemleak.txt" 2>/dev/null; then
		report "FAIL ${prefix}kernel-log: $(grep -Em1 "$splat" "$g/console.log" "$g/kmemleak.txt" 2>/dev/null | sed 's/^[^:]*://' | head -1)"
		grep -Em1 -B2 -A25 "$splat" "$g/console.log" | sed 's/^/    | /' >&2 || true
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
