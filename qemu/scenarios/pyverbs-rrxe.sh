# rdma-core's whole pyverbs suite on rrxe0, one table row per test
# (pyverbs-rrxe0.tsv); `make check` judges the table against
# tests/pyverbs/rrxe0-expected.tsv.
# timeout: 3000
. /repo/qemu/guest/lib.sh
dev=rrxe0
check pyverbs-rrxe0-link-add rdma_link_add $dev rrxe eth0 || exit 0
gid=$(roce_v2_gid_index $dev "$GUEST_IP") || exit 1
check pyverbs-rrxe0-suite-ran python3 /repo/qemu/guest/pyverbs_suite.py --dev $dev --gid "$gid" \
	--out /host/pyverbs-$dev.tsv
check pyverbs-rrxe0-link-del rdma link del $dev
check pyverbs-rrxe0-rmmod rmmod rrxe
