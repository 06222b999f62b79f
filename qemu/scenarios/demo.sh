# `make demo`: create a soft-RoCE device on eth0 and run a pingpong over it,
# showing each step. Uses the C rdma_rxe until rrxe registers devices.
. /repo/qemu/guest/lib.sh
set -x
modprobe rdma_rxe
rdma_link_add rxe0 rxe eth0
rdma link show
ibv_devices
ibv_devinfo -d rxe0
gid=$(roce_v2_gid_index rxe0 "$GUEST_IP") || exit 1
client_server demo-ibv_rc_pingpong 18515 \
	ibv_rc_pingpong -d rxe0 -g "$gid" -n 1000 -- \
	ibv_rc_pingpong -d rxe0 -g "$gid" -n 1000 "$GUEST_IP"
cat /host/logs/demo-ibv_rc_pingpong.log
rdma link delete rxe0
