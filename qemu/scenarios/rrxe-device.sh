# The rrxe device: creation through `rdma link add` (autoloading the module),
# what user space sees, the verbs checks, coexistence with rdma_rxe, and
# teardown by `rdma link del`, rmmod and netdev removal.
# timeout: 1500
. /repo/qemu/guest/lib.sh

sysdev=/sys/class/infiniband
gone() { ! [ -e "$sysdev/$1" ]; }
wait_gone() {
	local i
	for ((i = 0; i < 100; i++)); do gone "$1" && return 0; snooze 0.1; done
	echo "$1 still present after 10s" >&2
	return 1
}

# rdma_rxe stays loaded throughout: rrxe must coexist with it.
check rxe-modprobe modprobe rdma_rxe
# `rdma link add` loads rrxe through its rdma-link-rrxe alias.
check rrxe-link-add-autoloads-module rdma_link_add rrxe0 rrxe eth0 || exit 0
check rrxe-driver-is-rrxe sh -c "grep -qx rrxe $sysdev/rrxe0/node_desc && lsmod | grep -qw ^rrxe"

devinfo() {
	ibv_devices | tee /dev/stderr | grep -qw rrxe0 || return 1
	ibv_devinfo -v -d rrxe0 >/tmp/devinfo.txt || return 1
	cat /tmp/devinfo.txt
	grep -q 'state:.*PORT_ACTIVE' /tmp/devinfo.txt &&
		grep -q 'link_layer:.*Ethernet' /tmp/devinfo.txt &&
		grep -q 'transport:.*InfiniBand' /tmp/devinfo.txt &&
		grep -Eq 'vendor_id:.*0xffffff' /tmp/devinfo.txt
}
check rrxe-ibv_devinfo devinfo

# The capabilities shown are exactly those implemented, each used by a test:
# PORT_ACTIVE_EVENT (rrxe-link-up-raises-port-active below), SYS_IMAGE_GUID
# (here: the netdev's EUI-64, as the node GUID), RC_RNR_NAK_GEN (verbs check rnr-nak-*), SRQ_RESIZE
# (verbs check srq-resize-*), MEM_WINDOW and MEM_WINDOW_TYPE_2B (pyverbs' MW
# tests), MEM_MGT_EXTENSIONS (fast registration: NVMe over RDMA), HCA atomics
# (pyverbs' atomic tests); of the extended flags, FLUSH_GLOBAL and ATOMIC_WRITE
# (pyverbs' qpex flush and atomic write tests, the wire's placement runs), not
# FLUSH_PERSISTENT; multicast groups (the wire's mckey runs); on-demand paging
# (pyverbs' ODP tests, verbs checks odp-*), not implicit.
capabilities() {
	local shown want="MEM_MGT_EXTENSIONS MEM_WINDOW MEM_WINDOW_TYPE_2B PORT_ACTIVE_EVENT RC_RNR_NAK_GEN SRQ_RESIZE SYS_IMAGE_GUID"
	shown=$(awk '/^\tdevice_cap_flags:/ { f = 1; next }
		f && /^\t\t\t\t\t[A-Z]/ { print $1; next }
		f { exit }' /tmp/devinfo.txt | sort | xargs)
	echo "device_cap_flags: $shown"
	[ "$shown" = "$want" ] || { echo "expected: $want"; return 1; }
	grep -E 'device_cap_flags|atomic_cap|max_mcast' /tmp/devinfo.txt
	# Of the extended flags, exactly flush to global visibility (bit 38) and atomic
	# write (bit 40).
	local flags ex
	flags=$(awk '$1 == "device_cap_flags:" { print $2 }' /tmp/devinfo.txt)
	ex=$(awk '$1 == "device_cap_flags_ex:" { print $2 }' /tmp/devinfo.txt)
	[ -n "$flags" ] && [ -n "$ex" ] && [ $((ex)) = $((flags | 1 << 38 | 1 << 40)) ] || return 1
	# On-demand paging for RC sends, receives (SRQs too), writes, reads and atomics,
	# and UD sends and receives; not implicit.
	local odp want_odp="general_odp_caps: ODP_SUPPORT rc_odp_caps: SUPPORT_SEND SUPPORT_RECV"
	want_odp+=" SUPPORT_WRITE SUPPORT_READ SUPPORT_ATOMIC SUPPORT_SRQ"
	want_odp+=" uc_odp_caps: NO SUPPORT ud_odp_caps: SUPPORT_SEND SUPPORT_RECV"
	want_odp+=" xrc_odp_caps: NO SUPPORT"
	odp=$(awk '/^\tgeneral_odp_caps:/ { f = 1 } f && /^\t[a-z]/ && !/odp_caps:/ { exit } f' \
		/tmp/devinfo.txt | xargs)
	echo "odp: $odp"
	[ "$odp" = "$want_odp" ] || { echo "expected: $want_odp"; return 1; }
	local node image
	node=$(awk '$1 == "node_guid:" { print $2 }' /tmp/devinfo.txt)
	image=$(awk '$1 == "sys_image_guid:" { print $2 }' /tmp/devinfo.txt)
	echo "node_guid $node, sys_image_guid $image"
	[ -n "$node" ] && [ "$node" = "$image" ] && [ "$node" != 0000:0000:0000:0000 ] || return 1
	grep -Eq 'atomic_cap:[[:space:]]+ATOMIC_HCA' /tmp/devinfo.txt &&
		grep -Eq 'max_mcast_grp:[[:space:]]+8192$' /tmp/devinfo.txt &&
		grep -Eq 'max_mcast_qp_attach:[[:space:]]+56$' /tmp/devinfo.txt &&
		grep -Eq 'max_total_mcast_qp_attach:[[:space:]]+458752$' /tmp/devinfo.txt
}
check rrxe-capabilities-shown-are-implemented capabilities

# The kernel's verbs consumers take the device: the MAD layer creates QP1, a
# kernel GSI QP on a kernel CQ, moves it to RTS and posts its receive
# requests (the port is not opened, and QP1 not listed, if any step fails).
kernel_clients() {
	rdma res show qp link rrxe0/1 | tee /dev/stderr | grep -Eq 'lqpn 1 .*type GSI state RTS' &&
		rdma res show cq dev rrxe0 | tee /dev/stderr | grep -Eq 'poll-ctx [A-Z_]*WORKQUEUE'
}
check rrxe-kernel-qp1-in-rts kernel_clients

gids() {
	local idx v6
	idx=$(roce_v2_gid_index rrxe0 "$GUEST_IP") || return 1
	echo "IPv4 RoCE v2 GID at index $idx"
	# The IPv6 link-local address must be there too, as RoCE v2.
	v6=$(grep -l '^fe80' $sysdev/rrxe0/ports/1/gids/* 2>/dev/null) || return 1
	for f in $v6; do
		grep -qx 'RoCE v2' "$sysdev/rrxe0/ports/1/gid_attrs/types/${f##*/}" && return 0
	done
	return 1
}
check rrxe-roce-v2-gids gids
mtu_follows() {
	ip link set eth0 mtu 1200 && ibv_devinfo -d rrxe0 | grep -q 'active_mtu:.*1024' &&
		ip link set eth0 mtu 1000 && ibv_devinfo -d rrxe0 | grep -q 'active_mtu:.*512'
}
check rrxe-active-mtu-follows-netdev mtu_follows
# Below 1280 the netdev lost its IPv6 addresses: back to 1500, with the
# link-local address (and its GID) settled again.
ip link set eth0 mtu 1500 && wait_ipv6_link_local eth0
check rrxe-second-device-on-same-netdev-refused sh -c \
	"! rdma link add rrxe9 type rrxe netdev eth0 2>/dev/null && [ ! -e $sysdev/rrxe9 ]"

# Sizes, limits, malformed calls, flushes, events, ring garbage and data
# with bad keys, each expected to succeed or fail with a given errno.
verbs_checks() {
	local gid
	gid=$(roce_v2_gid_index rrxe0 "$GUEST_IP") || return 1
	python3 /repo/qemu/guest/verbs_check.py --dev rrxe0 --gid "$gid" --prefix rrxe-verbs \
		>>"$RESULTS" 2>>/host/logs/verbs-check.log
}
verbs_checks || fail rrxe-verbs-exit "verbs_check.py on rrxe0 exited with status $?"
check rrxe-link-del rdma link del rrxe0

# Teardown paths, briefly (`make stress` runs them at length).
check rrxe-3-link-add-del-cycles link_cycles rrxe eth0 3
check rrxe-2-rmmod-with-live-device rmmod_cycles rrxe eth0 2

# Both soft-RoCE drivers share driver_id RXE (librxe binds by it), so rrxe
# keeps its devices out of the core's netdev lookup that rdma_rxe relies on.
# Both listen on UDP 4791, a socket per network namespace: where rdma_rxe holds
# the port, rrxe's `rdma link add` fails and adds nothing, and the other way
# round; in separate namespaces both run, and the port closes with the last
# device of its namespace.
veth_pair() {
	ip link add "$1" type veth peer name "$2" &&
		ip addr add "$3" dev "$1" && ip link set "$1" up && ip link set "$2" up
}
listens_4791() { ip netns exec "$1" ss -Huln | grep -q ':4791 '; }
side_by_side() {
	veth_pair rrxt2 rrxt3 198.51.100.9/24 && rdma_link_add rxe1 rxe rrxt2 || return 1
	! rdma link add rrxe2 type rrxe netdev eth0 && gone rrxe2 || return 1
	ip netns add rrxns && ip link set rrxt3 netns rrxns &&
		ip -n rrxns addr add 198.51.100.10/24 dev rrxt3 && ip -n rrxns link set rrxt3 up &&
		ip netns exec rrxns rdma link add rrxe2 type rrxe netdev rrxt3 &&
		listens_4791 rrxns || return 1
	ibv_devices | tee /dev/stderr | grep -qw rxe1 && ibv_devices | grep -qw rrxe2 || return 1
	grep -qx rrxe $sysdev/rrxe2/node_desc || return 1
	# rxe's netdev notifier sees rrxt3's events; rrxe2 must not be touched.
	ip -n rrxns link set rrxt3 mtu 1400 && ip -n rrxns link set rrxt3 mtu 1500 || return 1
	ibv_devinfo -d rrxe2 | grep -q 'state:.*PORT_ACTIVE' || return 1
	rdma link del rrxe2 && wait_gone rrxe2 && ! listens_4791 rrxns || return 1
	ibv_devinfo -d rxe1 | grep -q 'state:.*PORT_ACTIVE' || return 1
	rdma link del rxe1 && wait_gone rxe1 || return 1
	rdma_link_add rrxe2 rrxe rrxt2 && ! rdma link add rxe1 type rxe netdev eth0 && gone rxe1 ||
		return 1
	rdma link del rrxe2 && wait_gone rrxe2 && ip link del rrxt2 && ip netns del rrxns || return 1
	# `ip netns add` made /run/netns a mount point of its own.
	if mountpoint -q /run/netns; then umount /run/netns || return 1; fi
	rmdir /run/netns
}
check rrxe-beside-rdma_rxe side_by_side

# wait_line FILE PATTERN: wait up to 30s for PATTERN in FILE.
wait_line() {
	local i
	for ((i = 0; i < 300; i++)); do
		grep -q "$2" "$1" && return 0
		snooze 0.1
	done
	echo "no '$2' in $1 after 30s:" >&2
	cat "$1" >&2
	return 1
}

# Link changes of the netdev reach an open device's users as port events,
# and a netdev removed under it takes the device away with a device-fatal
# event (rdma_rxe is loaded throughout).
veth_pair rrxt0 rrxt1 198.51.100.1/24 && rdma_link_add rrxe1 rrxe rrxt0 || exit 1
stdbuf -oL ibv_asyncwatch -d rrxe1 >/tmp/asyncwatch.txt 2>&1 &
watch=$!
# Events raised before the watcher holds its async FD are not queued for it.
check rrxe-asyncwatch-opens wait_line /tmp/asyncwatch.txt 'async event FD'
port_down() {
	ip link set rrxt1 down && wait_line /tmp/asyncwatch.txt PORT_ERR &&
		ibv_devinfo -d rrxe1 | tee /dev/stderr | grep -q 'state:.*PORT_DOWN'
}
check rrxe-link-down-raises-port-err port_down
port_up() {
	ip link set rrxt1 up && wait_line /tmp/asyncwatch.txt PORT_ACTIVE &&
		ibv_devinfo -d rrxe1 | tee /dev/stderr | grep -q 'state:.*PORT_ACTIVE'
}
check rrxe-link-up-raises-port-active port_up
netdev_removal() {
	ip link del rrxt0 && wait_gone rrxe1 && wait_line /tmp/asyncwatch.txt DEVICE_FATAL
}
check rrxe-netdev-removed-under-open-device netdev_removal
kill $watch 2>/dev/null
cat /tmp/asyncwatch.txt >/host/logs/asyncwatch.log

# A netdev moved to another namespace leaves its old one (NETDEV_UNREGISTER
# there): its device goes, and the namespace's UDP socket with its last
# device (the device is removed from a work item: waits up to 10 s).
socket_closes() {
	local i
	for ((i = 0; i < 100; i++)); do listens_4791 "$1" || return 0; snooze 0.1; done
	echo "UDP 4791 still open in $1 after 10s" >&2
	return 1
}
netdev_moved() {
	ip netns add rrxmv && ip -n rrxmv link add rrxt4 type veth peer name rrxt5 &&
		ip -n rrxmv addr add 198.51.100.20/24 dev rrxt4 && ip -n rrxmv link set rrxt4 up &&
		ip -n rrxmv link set rrxt5 up &&
		ip netns exec rrxmv rdma link add rrxe3 type rrxe netdev rrxt4 && listens_4791 rrxmv ||
		return 1
	ip -n rrxmv link set rrxt4 netns 1 && wait_gone rrxe3 && socket_closes rrxmv || return 1
	ip link del rrxt4 && ip netns del rrxmv || return 1
	if mountpoint -q /run/netns; then umount /run/netns || return 1; fi
	rmdir /run/netns
}
check rrxe-netdev-moved-to-another-namespace netdev_moved

check rrxe-rmmod-clean sh -c "rmmod rrxe && ! ls $sysdev | grep -q rrxe && modprobe -r rdma_rxe"
