# Where the time goes: a perftest pair between the two network namespaces
# (qemu/guest/netns.sh), a PROFILE_DRIVER device (rrxe by default, or rxe) at
# each end, under `perf record -a -g`; the profile by symbol is written to
# /host/logs/profile.txt. For the bench kernel:
#   qemu/install-module.sh bench out/bench-module/rrxe.ko   (after make bench)
#   qemu/run.sh -k bench -n profile -a "PROFILE_TOOL=ib_send_bw PROFILE_SIZE=4096" \
#     qemu/scenarios/profile.sh
# PROFILE_TOOL (ib_send_bw), PROFILE_SIZE (4096 bytes) and PROFILE_ITERS
# (20000) choose the run; PROFILE_CALLERS (comma-separated symbols) adds
# the call chains that lead to each to /host/logs/profile-callers.txt. The
# devices' non-zero counters after the run go to
# /host/logs/profile-counters.txt.
# timeout: 900
. /repo/qemu/guest/lib.sh
. /repo/qemu/guest/netns.sh

driver=${PROFILE_DRIVER:-rrxe}
tool=${PROFILE_TOOL:-ib_send_bw}
size=${PROFILE_SIZE:-4096}
iters=${PROFILE_ITERS:-20000}
port=19500

# profiled: the pair under perf, the server in ns-a until it listens.
profiled() {
	local spid ppid rc=0 end=$((SECONDS + 60))
	ip netns exec $NS_A $tool -d $DEV_A -x $gid4_a -F -p $port -s $size -n $iters &
	spid=$!
	until listening $spid $port; do
		kill -0 $spid 2>/dev/null && [ $SECONDS -lt $end ] || return 1
		snooze 0.1
	done
	# perf cannot write its data to the host's 9p share.
	perf record -a -g -o /tmp/perf.data &
	ppid=$!
	ip netns exec $NS_B $tool -d $DEV_B -x $gid4_b -F -p $port -s $size -n $iters $IP4_A || rc=$?
	kill -INT $ppid
	wait $ppid
	wait $spid || rc=1
	return $rc
}

# Kernel addresses for perf's symbols.
echo 0 >/proc/sys/kernel/kptr_restrict
echo -1 >/proc/sys/kernel/perf_event_paranoid
check profile-netns-up netns_up || exit 1
check profile-links-up links_up $driver $driver &&
	check profile-run profiled &&
	check profile-report sh -c "perf report -i /tmp/perf.data --no-children --sort dso,sym \
		-g none --percent-limit 0.5 --stdio >/host/logs/profile.txt" &&
	if [ -n "${PROFILE_CALLERS:-}" ]; then
		check profile-callers sh -c "perf report -i /tmp/perf.data --no-children \
			--symbols '$PROFILE_CALLERS' -g caller,0.5,callee --stdio >/host/logs/profile-callers.txt"
	fi
# The devices' counters after the run (rrxe's, and rdma_rxe's where it has them).
for dev in $DEV_A $DEV_B; do
	grep -H . /sys/class/infiniband/$dev/ports/1/hw_counters/* 2>/dev/null | grep -v ':0$'
done >/host/logs/profile-counters.txt
check profile-links-del links_del
check profile-rmmod modprobe -r "$(module_of $driver)"
check profile-netns-del netns_down
