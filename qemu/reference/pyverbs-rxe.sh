# rdma-core's pyverbs suite against the C rdma_rxe; writes pyverbs-rxe0.tsv.
. /repo/qemu/guest/lib.sh
dev=rxe0
modprobe rdma_rxe
[ -e /sys/class/infiniband/$dev ] || check pyverbs-rxe0-link rdma_link_add $dev rxe eth0 || exit 0
gid=$(roce_v2_gid_index $dev "$GUEST_IP") || exit 1
check pyverbs-rxe0 python3 /repo/qemu/guest/pyverbs_suite.py --dev $dev --gid "$gid" \
	--out /host/pyverbs-$dev.tsv
