# `make demo`: create soft-RoCE devices on eth0 and run a pingpong, showing
# each step. rrxe registers its device and answers queries; until its data
# path lands, the pingpong runs over the C rdma_rxe.
. /repo/qemu/guest/lib.sh
# run CMD...: show the command, then run it; the demo stops at a failure.
run() {
	echo "\$ $*"
	"$@" || { echo "failed: $*"; exit 1; }
}
run rdma_link_add rrxe0 rrxe eth0
run rdma link show
run ibv_devinfo -d rrxe0
run rdma link delete rrxe0
run modprobe rdma_rxe
run rdma_link_add rxe0 rxe eth0
run ibv_devices
gid=$(roce_v2_gid_index rxe0 "$GUEST_IP") || exit 1
echo "\$ ibv_rc_pingpong server and client on rxe0, GID index $gid"
client_server demo-ibv_rc_pingpong 18515 \
	ibv_rc_pingpong -d rxe0 -g "$gid" -n 1000 -- \
	ibv_rc_pingpong -d rxe0 -g "$gid" -n 1000 "$GUEST_IP"
grep -v '^+' /host/logs/demo-ibv_rc_pingpong.log
run rdma link delete rxe0
