# The lifetimes of rrxe devices at length: link cycles, rmmods with live
# devices, and devices taken away under traffic (link deleted, module
# removed, netdev removed) while perftest moves data through them.
# timeout: 3000
. /repo/qemu/guest/lib.sh

check stress-100-link-add-del-cycles link_cycles rrxe eth0 100
check stress-20-rmmod-with-live-device rmmod_cycles rrxe eth0 20

# traffic_then DEV GID HOW...: ib_write_bw between two processes on DEV, then
# HOW run while both queue pairs are in RTS. The device must go, and both
# processes must end (perftest reports the lost device as an error).
traffic_then() {
	local dev=$1 gid=$2 srv cli i
	shift 2
	timeout 120 ib_write_bw -d "$dev" -x "$gid" -F -s 65536 -D 20 -p 18600 >/tmp/srv.log 2>&1 &
	srv=$!
	wait_tcp_listen 18600 30 || return 1
	timeout 120 ib_write_bw -d "$dev" -x "$gid" -F -s 65536 -D 20 -p 18600 "$GUEST_IP" \
		>/tmp/cli.log 2>&1 &
	cli=$!
	for ((i = 0; i < 300; i++)); do
		[ "$(rdma res show qp link "$dev/1" | grep -c 'type RC state RTS')" -ge 2 ] && break
		sleep 0.1
	done
	[ "$i" -lt 300 ] || { echo "no two RC QPs in RTS on $dev"; return 1; }
	"$@" || { echo "'$*' failed"; return 1; }
	for ((i = 0; i < 100; i++)); do
		[ -e "/sys/class/infiniband/$dev" ] || break
		sleep 0.1
	done
	[ "$i" -lt 100 ] || { echo "$dev still present 10s after '$*'"; return 1; }
	# Both processes end by themselves: the runner's 120s bound is not hit.
	wait $srv
	[ $? != 124 ] || { echo "server still running after the device went"; return 1; }
	wait $cli
	[ $? != 124 ] || { echo "client still running after the device went"; return 1; }
}
under_traffic() {
	local how=$1 i gid
	for ((i = 0; i < 5; i++)); do
		ip link add rrxs0 type veth peer name rrxs1 && ip addr add 198.51.100.20/24 dev rrxs0 &&
			ip link set rrxs0 up && ip link set rrxs1 up || return 1
		rdma_link_add rrxs rrxe rrxs0 || return 1
		gid=$(GUEST_IP=198.51.100.20 roce_v2_gid_index rrxs 198.51.100.20) || return 1
		GUEST_IP=198.51.100.20 traffic_then rrxs "$gid" $how || { echo "round $i"; return 1; }
		ip link del rrxs0 2>/dev/null
	done
	true
}
check stress-link-del-under-traffic under_traffic "rdma link del rrxs"
check stress-rmmod-under-traffic under_traffic "rmmod rrxe"
check stress-netdev-removed-under-traffic under_traffic "ip link del rrxs0"
rmmod rrxe 2>/dev/null
true
