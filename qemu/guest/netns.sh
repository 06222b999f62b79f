# Two network namespaces joined by a veth pair, with a soft-RoCE device on
# each end (sourced in the guest after lib.sh): the wire's scenarios and
# `make bench` build on these. ns-a holds veth-a (10.10.0.1, fd00:10::1) and
# a device named wirea0, ns-b veth-b (10.10.0.2, fd00:10::2) and wireb0; the
# veth's MTU is 9000.

NS_A=ns-a NS_B=ns-b VETH_A=veth-a VETH_B=veth-b
DEV_A=wirea0 DEV_B=wireb0
IP4_A=10.10.0.1 IP4_B=10.10.0.2 IP6_A=fd00:10::1 IP6_B=fd00:10::2

# module_of DRIVER: the module of driver rrxe or rxe.
module_of() {
	case $1 in
	rrxe) echo rrxe ;;
	rxe) echo rdma_rxe ;;
	*) return 1 ;;
	esac
}

# veth_end NS VETH IP4 IP6: VETH in NS up, MTU 9000, with its addresses; one
# batch, as a process costs seconds on a loaded debug guest.
veth_end() {
	ip -n "$1" -b - <<-EOF
		link set lo up
		link set $2 mtu 9000 up
		addr add $3/24 dev $2
		addr add $4/64 dev $2 nodad
	EOF
}

# netns_up: the namespaces and the veth pair, with their addresses.
netns_up() {
	ip netns add $NS_A && ip netns add $NS_B &&
		ip link add $VETH_A netns $NS_A type veth peer name $VETH_B netns $NS_B &&
		veth_end $NS_A $VETH_A $IP4_A $IP6_A && veth_end $NS_B $VETH_B $IP4_B $IP6_B &&
		ip -n $NS_A addr show && ip -n $NS_B addr show
}

# Both ways, both families, and a datagram only the 9000-byte MTU lets through
# whole.
netns_ping() {
	ip netns exec $NS_B ping -c 1 -W 5 $IP4_A && ip netns exec $NS_A ping -c 1 -W 5 $IP4_B &&
		ip netns exec $NS_B ping -c 1 -W 5 $IP6_A && ip netns exec $NS_A ping -c 1 -W 5 $IP6_B &&
		ip netns exec $NS_B ping -c 1 -W 5 -M do -s 8000 $IP4_A
}

netns_down() {
	ip netns del $NS_A && ip netns del $NS_B || return 1
	# `ip netns add` made /run/netns a mount point of its own.
	if mountpoint -q /run/netns; then umount /run/netns || return 1; fi
	rmdir /run/netns
}

# gid_indexes DEV NETNS IPV4 IPV6: "IPV4_INDEX IPV6_INDEX", the indexes of the
# RoCE v2 GIDs of the two addresses in DEV's table, as ibv_devinfo -v run in
# NETNS reads it (one query of the whole table, where a look at each of the
# 1024 entries in sysfs takes seconds on the debug guest); with DEV's port
# active. The core enters the addresses' GIDs asynchronously: waits for them
# up to 10 s.
gid_indexes() {
	local out line i g4= g6= re='^GID\[ *([0-9]+)\]:[[:space:]]+([^,]+), RoCE v2$'
	for ((i = 0; i < 20; i++)); do
		out=$(ip netns exec "$2" ibv_devinfo -v -d "$1") || return 1
		while read -r line; do
			[[ $line =~ $re ]] || continue
			case ${BASH_REMATCH[2]} in
			"::ffff:$3") g4=${BASH_REMATCH[1]} ;;
			"$4") g6=${BASH_REMATCH[1]} ;;
			esac
		done <<<"$out"
		if [ -n "$g4" ] && [ -n "$g6" ] && grep -q 'state:.*PORT_ACTIVE' <<<"$out"; then
			echo "$g4 $g6"
			return 0
		fi
		snooze 0.5
	done
	echo "$1: no active port with RoCE v2 GIDs for $3 and $4" >&2
	echo "$out" >&2
	return 1
}

# links_up DRIVER_A DRIVER_B: a device on each veth end, added from within its
# namespace, active and with its GIDs as seen from there; sets the GID indexes.
links_up() {
	local g
	rdma system show
	rdma_link_add $DEV_A "$1" $VETH_A $NS_A && rdma_link_add $DEV_B "$2" $VETH_B $NS_B || return 1
	g=$(gid_indexes $DEV_A $NS_A $IP4_A $IP6_A) || return 1
	read -r gid4_a gid6_a <<<"$g"
	g=$(gid_indexes $DEV_B $NS_B $IP4_B $IP6_B) || return 1
	read -r gid4_b gid6_b <<<"$g"
	rdma link show
	echo "$DEV_A ($1): IPv4 GID $gid4_a, IPv6 GID $gid6_a; $DEV_B ($2): IPv4 GID $gid4_b, IPv6 GID $gid6_b"
}

links_del() {
	local d rc=0
	for d in $DEV_A $DEV_B; do
		[ ! -e /sys/class/infiniband/$d ] || rdma link del $d || rc=1
	done
	return $rc
}

# listening PID PORT: whether the network namespace of process PID has a TCP
# listener on PORT (read from /proc, without starting a process).
listening() {
	local f l st hex
	printf -v hex '%04X' "$2"
	for f in /proc/$1/net/tcp /proc/$1/net/tcp6; do
		while read -r _ l _ st _; do
			[[ $l == *:$hex && $st == 0A ]] && return 0
		done <"$f"
	done 2>/dev/null
	return 1
}

