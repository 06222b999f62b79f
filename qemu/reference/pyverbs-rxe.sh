# rdma-core's whole pyverbs suite on the C rdma_rxe: the reference table
# (pyverbs-rxe0.tsv).
# timeout: 2400
. /repo/qemu/guest/lib.sh
dev=rxe0
check rxe-pyverbs-link-add rdma_link_add $dev rxe eth0 || exit 0
gid=$(roce_v2_gid_index $dev "$GUEST_IP") || exit 1
check rxe-pyverbs-suite-ran python3 /repo/qemu/guest/pyverbs_suite.py --dev $dev --gid "$gid" \
	--out /host/pyverbs-$dev.tsv
check rxe-pyverbs-link-del rdma link del $dev
check rxe-pyverbs-rmmod modprobe -r rdma_rxe
