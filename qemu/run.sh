#!/usr/bin/env bash
# Boot one or two guests on the test kernel and run guest scenarios.
#
#   qemu/run.sh [-k debug|bench] [-g 1|2] [-c CPUS] [-n NAME] [-b BOOT_SECONDS]
#               [-d DEADLINE] [-a KERNEL_ARGS] SCENARIO...
#
# SCENARIO is a script path relative to the repository (qemu/scenarios/...)
# whose header declares its time limit as `# timeout: SECONDS`; every guest
# runs every scenario, in order, each under its own limit. Two guests are
# joined by QEMU's UDP socket netdev on 127.0.0.1.
#
# A guest must reach its init within BOOT_SECONDS (default 300) and finish
# within the sum of its scenarios' limits plus a margin, and never past
# DEADLINE (seconds since the epoch, from `make check`'s own deadline).
# KERNEL_ARGS are appended to the guest's command line (the runner's
# self-test uses them).
#
# Prints one PASS/FAIL/SKIP line per test and `N passed, N failed`; exits 1 if
# anything failed, including a KASAN, lockdep, WARN, BUG, Oops, hung-task or
# kmemleak report in a guest's kernel log, or a guest that did not boot, died
# or did not finish in time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

flavor=debug nguests=1 cpus=2 name= boot_limit=300 deadline= extra_args=
while getopts k:g:c:n:b:d:a: opt; do
	case $opt in
	k) flavor=$OPTARG ;;
	g) nguests=$OPTARG ;;
	c) cpus=$OPTARG ;;
	n) name=$OPTARG ;;
	b) boot_limit=$OPTARG ;;
	d) deadline=$OPTARG ;;
	a) extra_args=$OPTARG ;;
	*) die "usage: run.sh [-k debug|bench] [-g 1|2] [-c CPUS] [-n NAME] [-b BOOT_SECONDS] [-d DEADLINE] [-a KERNEL_ARGS] SCENARIO..." ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || die "no scenario given"
case $nguests in 1 | 2) ;; *) die "-g takes 1 or 2" ;; esac

root=$(repo_root)
budget=0
for s in "$@"; do
	[ -f "$root/$s" ] || die "no scenario $s"
	t=$(scenario_timeout "$root/$s") || die "$s declares no '# timeout: SECONDS' line"
	budget=$((budget + t))
done
# The caches stay as they are while guests use them: builds wait.
exec 7>"$RRXE_CACHE/kernel.lock"
flock -s 7
mkdir -p "$RRXE_CACHE/guest"
exec 8>"$RRXE_CACHE/guest/lock"
flock -s 8
kernel="$(kernel_build "$flavor")/arch/x86/boot/bzImage"
# This checkout's module tree (qemu/install-module.sh), else the kernel's.
modules="$root/out/modules/lib/modules"
[ "$flavor" = debug ] || modules="$root/out/modules-$flavor/lib/modules"
[ -d "$modules" ] || modules="$(kernel_modroot "$flavor")/lib/modules"
image="$RRXE_CACHE/guest/rootfs"
[ -f "$kernel" ] || die "no $flavor kernel: run qemu/build-kernel.sh $flavor"
[ -d "$modules" ] || die "no $flavor kernel modules in $modules"
[ -x "$image/init" ] || die "no guest image: run qemu/build-guest.sh"

name=${name:-$(basename "$1" .sh)}
rundir="$root/out/$name"
rm -rf "$rundir"
mkdir -p "$rundir/shared"
# The kernel's own rdma selftests, from the test kernel's source, for the
# scenarios that run them (/shared/selftests in the guests).
selftests="$(kernel_src)/tools/testing/selftests"
if [ -d "$selftests/rdma" ]; then
	mkdir -p "$rundir/shared/selftests/kselftest"
	cp -r "$selftests/rdma" "$rundir/shared/selftests/"
	cp "$selftests/kselftest/ktap_helpers.sh" "$rundir/shared/selftests/kselftest/"
fi

# KVM only when it really works: a usable /dev/kvm on a CPU that exposes
# hardware virtualization. Otherwise (as in nested paravirtual sandboxes)
# TCG.
# 4-level paging: with LA57, the debug kernel can take a KASAN
# wild-memory-access report from an interrupt early in boot (identify_cpu ->
# rcu_is_watching), which has nothing to do with the code under test.
# The test kernel's guests run on one host thread each (vCPUs interleaved):
# make check runs two guests on two host cores, where a thread per vCPU
# leaves vCPUs waiting for descheduled ones (TCG's exclusive sections), and
# the same work took about a third longer. The bench kernel keeps a thread
# per vCPU: its single guest has the host's cores to itself.
tcg=tcg
[ "$flavor" = bench ] || tcg=tcg,thread=single
accel=(-accel "$tcg" -cpu max,la57=off)
if [ "${RRXE_ACCEL:-auto}" = kvm ] ||
	{ [ "${RRXE_ACCEL:-auto}" = auto ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] &&
		grep -qwE 'vmx|svm' /proc/cpuinfo; }; then
	accel=(-accel kvm -cpu host)
fi

# A hung task or a soft lockup panics the guest, which then exits at once
# (-no-reboot), so a deadlock ends the boot instead of waiting out the limit.
# KUnit suites in modules do not run at load (each load of rrxe.ko would run
# them all): qemu/scenarios/kunit.sh runs them through debugfs.
append="console=ttyS0 acpi=noirq panic=-1 loglevel=6 hung_task_panic=1 softlockup_panic=1 kunit.autorun=0"
append+=" root=rootfs rootfstype=9p rootflags=trans=virtio,version=9p2000.L,cache=loose,msize=262144 ro init=/init"
[ -z "$extra_args" ] || append+=" $extra_args"

# Ports for the guests' link, chosen per run so runs do not collide.
# Below the host's ephemeral range (32768 and up).
base_port=$((10000 + ($$ % 10000) * 2))
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
KERNEL_FLAVOR=$flavor
GUEST_IP=192.0.2.$i
PEER_IP=192.0.2.$peer
SCENARIOS="$*"
ENV
	local_port=$((base_port + i - 1))
	peer_port=$((base_port + peer - 1))
	share=(security_model=none,multidevs=remap)
	qemu-system-x86_64 "${accel[@]}" -smp "$cpus" -m 2G \
		-nographic -no-reboot -monitor none -serial "file:$g/console.log" \
		-kernel "$kernel" -append "$append" \
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

# The run's limits: each guest boots within boot_limit, then has every
# scenario's limit plus a margin for the kmemleak scans from the moment it
# booted (boots slow down when guests run side by side), and never past the
# caller's deadline. The final kmemleak scans of a debug guest take minutes when
# it shares two host cores with four others.
start=$(date +%s)
boot_by=$((start + boot_limit))
margin=480
# A minute before the deadline, so that what the guests recorded is still
# reported before the caller's own limit.
last=$((boot_by + budget + margin))
[ -z "$deadline" ] || [ $((deadline - 60)) -ge "$last" ] || last=$((deadline - 60))
log "$name: ${nguests} guest(s), $flavor kernel, ${accel[1]}, limit ${boot_limit}s to boot, then $((budget + margin))s (at most $((last - start))s in all); logs in ${rundir#"$root"/}"

# Watch the guests: one that has not reached its init by boot_by, or is still
# running at finish_by, is stopped and reported.
# QEMU gets SIGTERM, and SIGKILL 15 seconds later if it is still there.
declare -A why stopped finish_by
while :; do
	alive=0
	now=$(date +%s)
	for i in $(seq "$nguests"); do
		pid=${pids[$((i - 1))]}
		kill -0 "$pid" 2>/dev/null || continue
		alive=1
		g="$rundir/g$i"
		if [ -n "${stopped[$i]:-}" ]; then
			[ "$now" -lt $((stopped[$i] + 15)) ] || kill -KILL "$pid" 2>/dev/null || true
			continue
		fi
		if [ -z "${finish_by[$i]:-}" ] && [ -f "$g/booted" ]; then
			finish_by[$i]=$((now + budget + margin))
			[ "${finish_by[$i]}" -le "$last" ] || finish_by[$i]=$last
		fi
		if [ ! -f "$g/booted" ] && [ "$now" -ge "$boot_by" ]; then
			why[$i]="did not boot within ${boot_limit}s"
		elif [ "$now" -ge "${finish_by[$i]:-$last}" ]; then
			why[$i]="timed out after $((now - start))s"
		else
			continue
		fi
		stopped[$i]=$now
		kill "$pid" 2>/dev/null || true
	done
	[ "$alive" = 1 ] || break
	sleep 1
done
status=()
for pid in "${pids[@]}"; do
	rc=0
	wait "$pid" || rc=$?
	status+=("$rc")
done

# Kernel log lines that fail a run whatever the tests said, by kind; each
# kind found is reported once, with its first line.
kinds=(
	"kasan|BUG: KASAN:"
	"soft-lockup|soft lockup"
	"hung-task|INFO: task .* blocked for more than"
	"lockdep|possible recursive locking|possible circular locking|inconsistent lock state|suspicious RCU usage|bad unlock balance|held lock freed"
	"rcu-stall|rcu: INFO: .* detected stall"
	"ubsan|UBSAN:"
	"warning|WARNING:"
	"bug|BUG:|kernel BUG at|Oops|general protection fault"
	"panic|Kernel panic"
	"kmemleak-off|kmemleak: .*[Dd]isabl"
)
kernel_log_failures() {
	local kind pattern first earlier='^$' found=0 console=$1 leaks=$2
	for kind in "${kinds[@]}"; do
		pattern=${kind#*|}
		# A line belongs to the first kind it matches.
		first=$(grep -E "$pattern" "$console" 2>/dev/null | grep -Ev "$earlier" | head -1) || true
		earlier+="|$pattern"
		[ -n "$first" ] || continue
		echo "FAIL ${prefix}kernel-log:${kind%%|*}: $first"
		grep -F -m1 -B2 -A25 "$first" "$console" | sed 's/^/    | /' >&2 || true
		found=1
	done
	if grep -q 'unreferenced object' "$leaks" 2>/dev/null; then
		echo "FAIL ${prefix}kernel-log:kmemleak: $(grep -m1 'unreferenced object' "$leaks")"
		head -n 30 "$leaks" | sed 's/^/    | /' >&2
		found=1
	fi
	# Anything else that printed a backtrace.
	if [ "$found" = 0 ] && grep -q 'Call Trace:' "$console" 2>/dev/null; then
		echo "FAIL ${prefix}kernel-log:trace: $(grep -B5 -m1 'Call Trace:' "$console" | head -1)"
		grep -m1 -B10 -A25 'Call Trace:' "$console" | sed 's/^/    | /' >&2
	fi
}
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
	console="console: ${g#"$root"/}/console.log"
	if [ -n "${why[$i]:-}" ]; then
		report "FAIL ${prefix}guest: ${why[$i]} ($console)"
	elif [ ! -f "$g/finished" ]; then
		report "FAIL ${prefix}guest: died before finishing, qemu exit $rc ($console)"
	fi
	kernel_log_failures "$g/console.log" "$g/kmemleak.txt" >"$g/kernel-log-failures" || true
	while IFS= read -r line; do report "$line"; done <"$g/kernel-log-failures"
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
