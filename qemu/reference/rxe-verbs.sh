# The verbs checks on the C rdma_rxe, with the allowances --reference makes
# for what it does not validate: what rrxe's own results are read against.
# timeout: 900
. /repo/qemu/guest/lib.sh
dev=rxe0
check rxe-verbs-link-add rdma_link_add $dev rxe eth0 || exit 0
gid=$(roce_v2_gid_index $dev "$GUEST_IP") || exit 1
python3 /repo/qemu/guest/verbs_check.py --dev $dev --gid "$gid" --prefix rxe-verbs --reference \
	>>"$RESULTS" 2>>/host/logs/verbs-check.log ||
	fail rxe-verbs-exit "verbs_check.py on rxe0 exited with status $?"
check rxe-verbs-link-del rdma link del $dev
check rxe-verbs-rmmod modprobe -r rdma_rxe
