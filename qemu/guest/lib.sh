# Helpers for guest scenarios (sourced in the guest).
#
# A scenario is a bash script under qemu/scenarios/ that records one line
# per test with `check` (or `pass`/`fail`). Environment: GUEST_NAME,
# GUEST_INDEX (1 or 2), NGUESTS, GUEST_IP, PEER_IP, SCENARIO.

RESULTS=/host/results

pass() { echo "PASS $1" >>"$RESULTS"; }
fail() { echo "FAIL $1${2:+: $2}" >>"$RESULTS"; }
skip() { echo "SKIP $1${2:+: $2}" >>"$RESULTS"; }

# check NAME CMD [ARG...]: run CMD, logging to logs/NAME.log; record the
# outcome, and the seconds it took in timings.tsv (make check lists the
# slowest).
check() {
	local name=$1 rc started=$SECONDS
	shift
	echo "+ $*" >"/host/logs/$name.log"
	"$@" >>"/host/logs/$name.log" 2>&1
	rc=$?
	printf '%s\t%s\n' "$name" $((SECONDS - started)) >>/host/timings.tsv
	if [ "$rc" = 0 ]; then
		pass "$name"
	else
		fail "$name" "exit $rc (logs/$name.log)"
	fi
	return "$rc"
}

# On a debug guest a process costs about as much CPU as what a poll waits for:
# the waits below fork nothing while they poll.

# snooze SECONDS: sleep without a process, as a read with a timeout on a pipe
# nobody writes to (this shell holds its write end).
snooze() {
	[ -n "${snooze_fd:-}" ] || exec {snooze_fd}<> <(:)
	read -rt "$1" -u "$snooze_fd" || :
}

# barrier NAME [SECONDS]: wait until every guest of the run reached NAME.
barrier() {
	local name=$1 limit=${2:-120} i arrived
	touch "/shared/$name.$GUEST_INDEX"
	for ((i = 0; i < limit * 10; i++)); do
		arrived=(/shared/"$name".[0-9])
		[ -e "${arrived[0]}" ] && [ "${#arrived[@]}" -ge "$NGUESTS" ] && return 0
		snooze 0.1
	done
	echo "barrier $name: timed out after ${limit}s" >&2
	return 1
}

# tcp_listening PORT [PID]: whether a TCP socket listens on PORT in the network
# namespace of process PID (of this shell by default).
tcp_listening() {
	local f addr st hex
	printf -v hex '%04X' "$1"
	for f in /proc/${2:-$$}/net/tcp /proc/${2:-$$}/net/tcp6; do
		while read -r _ addr _ st _; do
			[[ $addr == *:$hex && $st == 0A ]] && return 0
		done <"$f"
	done 2>/dev/null
	return 1
}

# wait_tcp_listen PORT [SECONDS]: wait until a local TCP listener on PORT.
wait_tcp_listen() {
	local port=$1 limit=${2:-60} i
	for ((i = 0; i < limit * 10; i++)); do
		tcp_listening "$port" && return 0
		snooze 0.1
	done
	echo "nothing listens on tcp port $port after ${limit}s" >&2
	return 1
}

# roce_v2_gid_index DEV IPV4: the GID table index of DEV's port 1 holding the
# RoCE v2 GID for IPV4.
roce_v2_gid_index() {
	local dev=$1 ip=$2 port=/sys/class/infiniband/$1/ports/1 f idx want
	want=$(printf '0000:0000:0000:0000:0000:ffff:%02x%02x:%02x%02x' ${ip//./ })
	# One grep over the table: a process per entry is slow on a debug guest.
	# Empty entries fail to read; their errors are expected.
	for f in $(grep -lx "$want" "$port"/gids/* 2>/dev/null); do
		idx=${f##*/}
		grep -qx "RoCE v2" "$port/gid_attrs/types/$idx" 2>/dev/null || continue
		echo "$idx"
		return 0
	done
	echo "no RoCE v2 GID for $ip on $dev" >&2
	return 1
}

# rdma_link_add NAME TYPE NETDEV [NETNS]: create a soft-RoCE device (on NETDEV
# of network namespace NETNS if given) and wait for its port to become active.
rdma_link_add() {
	local name=$1 type=$2 netdev=$3 i state
	${4:+ip netns exec "$4"} rdma link add "$name" type "$type" netdev "$netdev" || return 1
	for ((i = 0; i < 100; i++)); do
		read -r state <"/sys/class/infiniband/$name/ports/1/state" 2>/dev/null
		[[ $state == *ACTIVE ]] && return 0
		snooze 0.1
	done
	echo "$name: port not ACTIVE after 10s" >&2
	return 1
}

# client_server NAME PORT SERVER_CMD... -- CLIENT_CMD...: run a server in the
# background until it listens on TCP PORT, then the client; both must exit 0.
# Records NAME.
client_server() {
	local name=$1 port=$2 srv=() cli=() spid rc=0 started=$SECONDS
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do srv+=("$1"); shift; done
	shift
	cli=("$@")
	{
		echo "+ server: ${srv[*]}"
		echo "+ client: ${cli[*]}"
	} >"/host/logs/$name.log"
	timeout 120 "${srv[@]}" >"/host/logs/$name.server.log" 2>&1 &
	spid=$!
	if wait_tcp_listen "$port" 30 >>"/host/logs/$name.log" 2>&1; then
		timeout 120 "${cli[@]}" >>"/host/logs/$name.log" 2>&1 || rc=$?
	else
		rc=1
	fi
	[ "$rc" = 0 ] || kill "$spid" 2>/dev/null
	wait "$spid" || { [ "$rc" != 0 ] || rc=$?; }
	cat "/host/logs/$name.server.log" >>"/host/logs/$name.log"
	rm -f "/host/logs/$name.server.log"
	printf '%s\t%s\n' "$name" $((SECONDS - started)) >>/host/timings.tsv
	if [ "$rc" = 0 ]; then pass "$name"; else fail "$name" "exit $rc (logs/$name.log)"; fi
	return "$rc"
}

# wait_cm_listen COMM [SECONDS]: wait until a process named COMM holds an
# RDMA CM id in the LISTEN state (the CM's listeners have no port that `ss`
# shows).
wait_cm_listen() {
	local comm=$1 limit=${2:-30} i
	# Three processes a poll: a few polls a second.
	for ((i = 0; i < limit * 4; i++)); do
		rdma res show cm_id 2>/dev/null | grep -E "state LISTEN .*comm $comm( |$)" -q && return 0
		snooze 0.25
	done
	echo "no RDMA CM listener of $comm after ${limit}s" >&2
	rdma res show cm_id >&2
	return 1
}

# cm_pair SERVER... -- CLIENT...: an RDMA CM server and its client, run once
# the server's CM id listens. Both must exit 0.
cm_pair() {
	local srv=() spid rc=0
	while [ $# -gt 0 ] && [ "$1" != -- ]; do srv+=("$1"); shift; done
	shift
	timeout 60 "${srv[@]}" &
	spid=$!
	if wait_cm_listen "$(basename "${srv[0]}")"; then
		timeout 30 "$@" || rc=$?
	else
		rc=1
	fi
	[ "$rc" = 0 ] || kill $spid 2>/dev/null
	wait $spid || rc=$((rc ? rc : 1))
	return $rc
}

# NVMe over RDMA in one guest: an nvmet-rdma target exporting an 8 MiB
# tmpfs file on $GUEST_IP, and the nvme-rdma host connected to it, both
# kernel consumers of whichever device holds that address.
# nvme_target_up [PARAM=VALUE...]: nvmet-rdma loaded with the parameters.
nvmet=/sys/kernel/config/nvmet
nvme_target_up() {
	local subsys=$nvmet/subsystems/rrxe-test port=$nvmet/ports/1
	mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config || return 1
	modprobe nvmet-rdma "$@" || return 1
	mkdir -p /tmp/nvme && mount -t tmpfs none /tmp/nvme && truncate -s 8M /tmp/nvme/ns1 || return 1
	mkdir $subsys && echo 1 >$subsys/attr_allow_any_host &&
		mkdir $subsys/namespaces/1 &&
		echo -n /tmp/nvme/ns1 >$subsys/namespaces/1/device_path &&
		echo 1 >$subsys/namespaces/1/buffered_io &&
		echo 1 >$subsys/namespaces/1/enable &&
		mkdir $port && echo rdma >$port/addr_trtype && echo ipv4 >$port/addr_adrfam &&
		echo "$GUEST_IP" >$port/addr_traddr && echo 4420 >$port/addr_trsvcid &&
		ln -s $subsys $port/subsystems/rrxe-test
}

# nvme_host_io [TRADDR]: connects to the target at TRADDR ($GUEST_IP by
# default), writes 1 MiB of random data (kept in /tmp/nvme-pattern) with
# direct I/O in 64 KiB requests (each mapped by a fast-registration region of
# the host and moved by the target's RDMA reads), reads it back (RDMA writes)
# and compares the read-back, and the target's file if it is local, with what
# was written.
nvme_host_io() {
	local dev
	nvme_host_connect "$@" && dev=$nvme_dev || return 1
	head -c 1048576 /dev/urandom >/tmp/nvme-pattern
	dd if=/tmp/nvme-pattern of="/dev/$dev" bs=64k oflag=direct &&
		dd if="/dev/$dev" of=/tmp/nvme-readback bs=64k count=16 iflag=direct &&
		cmp /tmp/nvme-pattern /tmp/nvme-readback || return 1
	[ ! -e /tmp/nvme/ns1 ] || cmp -n 1048576 /tmp/nvme-pattern /tmp/nvme/ns1
}

# nvme_host_connect [TRADDR]: the nvme-rdma host connected to the target at
# TRADDR ($GUEST_IP by default) with one I/O queue; sets nvme_dev to the
# namespace's block device.
nvme_host_connect() {
	local i traddr=${1:-$GUEST_IP}
	nvme_dev=
	modprobe nvme-rdma || return 1
	echo "transport=rdma,traddr=$traddr,trsvcid=4420,nqn=rrxe-test,nr_io_queues=1" \
		>/dev/nvme-fabrics || return 1
	for ((i = 0; i < 100; i++)); do
		nvme_dev=$(ls /sys/class/nvme/nvme0 2>/dev/null | grep -m1 '^nvme0[c0-9]*n1$') &&
			[ -b "/dev/$nvme_dev" ] && return 0
		snooze 0.1
	done
	echo "no namespace block device" >&2
	return 1
}

# nvme_down DEV TYPE NETDEV: the host disconnects and the target goes, every
# module they loaded unloaded; the RDMA device DEV (of TYPE on NETDEV) is
# removed and added again in between. Its removal takes the target's listener
# and queues with it (the RDMA CM's device removal), so the port's teardown
# below destroys no CM ID while holding nvmet_config_sem: nvmet takes that
# semaphore under a CM ID's handler mutex when a queue's connect command
# arrives before its connection is established, and lockdep reports the
# reverse order (an nvmet lock order, whatever the device).
nvme_down() {
	nvme_host_down && nvme_target_down "$@"
}

# nvme_host_down: the host's controllers deleted and nvme-rdma unloaded, with
# nvme-core unless a local target still uses it.
nvme_host_down() {
	local c
	for c in /sys/class/nvme/nvme*; do [ -e "$c" ] && echo 1 >"$c/delete_controller"; done
	modprobe -r nvme-rdma || return 1
	if [ "$(lsmod | awk '$1 == "nvme_core" { print $3 }')" = 0 ]; then
		modprobe -r nvme-core
	fi
}

# nvme_target_down DEV TYPE NETDEV: the target's side of nvme_down, once no
# host is connected.
nvme_target_down() {
	local dev=$1 type=$2 netdev=$3
	rdma link del "$dev" && rdma_link_add "$dev" "$type" "$netdev" &&
		rm $nvmet/ports/1/subsystems/rrxe-test && rmdir $nvmet/ports/1 &&
		echo 0 >$nvmet/subsystems/rrxe-test/namespaces/1/enable &&
		rmdir $nvmet/subsystems/rrxe-test/namespaces/1 &&
		rmdir $nvmet/subsystems/rrxe-test &&
		modprobe -r nvmet-rdma nvmet || return 1
	if lsmod | grep -qw ^nvme_core; then modprobe -r nvme-core || return 1; fi
	umount /tmp/nvme && rmdir /tmp/nvme && umount /sys/kernel/config
}

# wait_ipv6_link_local NETDEV: wait until NETDEV's IPv6 link-local address
# has passed duplicate address detection.
wait_ipv6_link_local() {
	local i addr scope flags dev settled tentative
	for ((i = 0; i < 100; i++)); do
		settled= tentative=
		# address, interface index, prefix length, scope (20: link), flags (40: tentative)
		while read -r addr _ _ scope flags dev; do
			[[ $dev == "$1" && $scope == 20 ]] || continue
			if ((16#$flags & 16#40)); then tentative=1; else settled=1; fi
		done </proc/net/if_inet6
		[ -n "$settled" ] && [ -z "$tentative" ] && return 0
		snooze 0.1
	done
	echo "$1: no settled IPv6 link-local address after 10s" >&2
	return 1
}

# link_cycles TYPE NETDEV N: N times `rdma link add` and `rdma link del`.
link_cycles() {
	local i
	for ((i = 0; i < $3; i++)); do
		rdma link add cyc0 type "$1" netdev "$2" || { echo "add #$i failed"; return 1; }
		rdma link del cyc0 || { echo "del #$i failed"; return 1; }
	done
	! [ -e /sys/class/infiniband/cyc0 ]
}

# rmmod_cycles MODULE NETDEV N: N times a device created, then its module
# removed under it.
rmmod_cycles() {
	local i
	for ((i = 0; i < $3; i++)); do
		rdma link add cyc0 type "$1" netdev "$2" || { echo "add #$i failed"; return 1; }
		[ -e /sys/class/infiniband/cyc0 ] || return 1
		rmmod "$1" || { echo "rmmod #$i failed"; return 1; }
		! [ -e /sys/class/infiniband/cyc0 ] || { echo "cyc0 still present after rmmod #$i"; return 1; }
	done
}
