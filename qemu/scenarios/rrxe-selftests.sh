# The kernel's own rdma selftests (tools/testing/selftests/rdma, written for
# rdma_rxe) run against rrxe with only the module and link type names
# changed: the UDP socket per network namespace (shared by a namespace's
# devices, closed with the last), IPv6, a netdev's removal taking the device
# and its socket, rping between two namespaces over a veth pair, and the
# port's sysfs byte counters (port_xmit_data, port_rcv_data) equal after
# rping to the device's own address.
# timeout: 1200
. /repo/qemu/guest/lib.sh

src=/shared/selftests
work=/tmp/selftests
check selftests-present test -f $src/rdma/rxe_ipv6.sh || exit 0
rm -rf $work && mkdir -p $work/rdma && cp -r $src/kselftest $work/ || exit 1
for t in $src/rdma/rxe_*.sh; do
	sed -e 's/rdma_rxe/rrxe/g' -e 's/type rxe/type rrxe/g' "$t" >"$work/rdma/${t##*/}"
done

# rrxe-selftests-long.sh runs the long ones instead, each with a longer limit.
for t in ${SELFTESTS:-rxe_ipv6 rxe_socket_with_netns rxe_test_NETDEV_UNREGISTER \
	rxe_rping_between_netns rxe_sent_rcvd_bytes}; do
	check "selftest-rdma-$t" timeout "${SELFTEST_LIMIT:-240}" bash $work/rdma/$t.sh
done
check selftests-rrxe-unloaded sh -c '! lsmod | grep -qw ^rrxe'
# `ip netns add` made /run/netns a mount point of its own; the tests delete
# their namespaces but leave it.
netns_dir_gone() {
	[ -z "$(ls -A /run/netns 2>/dev/null)" ] || return 1
	if mountpoint -q /run/netns; then umount /run/netns || return 1; fi
	rm -rf /run/netns
}
check selftests-netns-left-empty netns_dir_gone
