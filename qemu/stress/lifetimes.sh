# The lifetimes of rrxe devices at length: link cycles, rmmods with live
# devices, and devices taken away under traffic (link deleted, module
# removed, netdev removed) while perftest moves data through them.
# timeout: 3000
. /repo/qemu/guest/lib.sh

check stress-100-link-add-del-cycles link_cycles rrxe eth0 100
check stress-20-rmmod-with-live-device rmmod_cycles rrxe eth0 20

# traffic_then DEV GID HOW...: ib_write_bw between two processes on DEV, then
# HOW run while both queue pairs are connected. The device must go, and both
# processes must end (perftest reports the lost device as an error).
traffic_then() {
	local dev=$1 gid=$2 srv cli i rc=0
	shift 2
	timeout 120 ib_write_bw -d "$dev" -x "$gid" -F -s 65536 -D 20 -p 18600 >/tmp/srv.log 2>&1 &
	srv=$!
	if ! wait_tcp_listen 18600 30; then
		kill "$srv" 2>/dev/null
		wait "$srv"
		cat /tmp/srv.log
		return 1
	fi
	# perftest's own exchange runs over loopback TCP: the device's address goes with its
	# netdev, and a connection over it would leave the server waiting for a peer it can no
	# longer hear from.
	timeout 120 ib_write_bw -d "$dev" -x "$gid" -F -s 65536 -D 20 -p 18600 127.0.0.1 \
		>/tmp/cli.log 2>&1 &
	cli=$!
	# perftest's write server stays in RTR; its client goes on to RTS. A query
	# takes seconds on the debug guest: the wait is bounded by time.
	local until=$((SECONDS + 30)) connected=
	while [ "$SECONDS" -lt "$until" ]; do
		if [ "$(rdma res show qp link "$dev/1" | grep -Ec ' type RC state (RTR|RTS) ')" -ge 2 ]; then
			connected=1
			break
		fi
		snooze 0.1
	done
	if [ -z "$connected" ]; then
		echo "no two connected RC QPs on $dev after 30s:"
		rdma res show qp link "$dev/1"
		rc=1
	elif ! "$@"; then
		echo "'$*' failed"
		rc=1
	else
		for ((i = 0; i < 100; i++)); do
			[ -e "/sys/class/infiniband/$dev" ] || break
			snooze 0.1
		done
		[ "$i" -lt 100 ] || { echo "$dev still present 10s after '$*'"; rc=1; }
	fi
	# Both processes end by themselves: the runner's 120s bound is not hit.
	[ "$rc" = 0 ] || kill "$srv" "$cli" 2>/dev/null
	wait "$srv"
	[ $? != 124 ] || { echo "server still running after the device went"; rc=1; }
	wait "$cli"
	[ $? != 124 ] || { echo "client still running after the device went"; rc=1; }
	[ "$rc" = 0 ] || { echo "--- server:"; cat /tmp/srv.log; echo "--- client:"; cat /tmp/cli.log; }
	return "$rc"
}
# under_traffic HOW: five rounds of a fresh device on a fresh veth pair, taken
# away by HOW under traffic. Each round removes what it made, even on failure.
under_traffic() {
	local how=$1 i gid rc=0
	for ((i = 0; i < 5 && rc == 0; i++)); do
		if ip link add rrxs0 type veth peer name rrxs1 &&
			ip addr add 198.51.100.20/24 dev rrxs0 &&
			ip link set rrxs0 up && ip link set rrxs1 up &&
			modprobe rrxe && rdma_link_add rrxs rrxe rrxs0 &&
			gid=$(roce_v2_gid_index rrxs 198.51.100.20); then
			traffic_then rrxs "$gid" $how || rc=1
		else
			rc=1
		fi
		[ "$rc" = 0 ] || echo "round $i failed"
		rdma link del rrxs 2>/dev/null
		ip link del rrxs0 2>/dev/null
	done
	return "$rc"
}
check stress-link-del-under-traffic under_traffic "rdma link del rrxs"
check stress-rmmod-under-traffic under_traffic "rmmod rrxe"
check stress-netdev-removed-under-traffic under_traffic "ip link del rrxs0"
rmmod rrxe 2>/dev/null
true
