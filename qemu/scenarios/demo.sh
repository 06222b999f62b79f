# `make demo`: a soft-RoCE device from rrxe on eth0, a pingpong that
# validates every buffer and a bandwidth run over it, then the same bandwidth
# run on rdma_rxe in the same boot for comparison; each step is shown.
# timeout: 600
. /repo/qemu/guest/lib.sh
# run CMD...: show the command, then run it; the demo stops at a failure.
run() {
	echo "\$ $*"
	"$@" || { echo "failed: $*"; exit 1; }
}
# write_bw DEV: ib_write_bw between two processes on DEV, 64 KiB messages;
# prints the average MB/s.
write_bw() {
	local gid
	gid=$(roce_v2_gid_index "$1" "$GUEST_IP") || return 1
	client_server "demo-ib_write_bw-$1" 18519 \
		ib_write_bw -d "$1" -x "$gid" -F -s 65536 -n 200 -p 18519 -- \
		ib_write_bw -d "$1" -x "$gid" -F -s 65536 -n 200 -p 18519 "$GUEST_IP" >&2 || return 1
	awk '$1 == 65536 && NF == 5 {print $4}' "/host/logs/demo-ib_write_bw-$1.log" | head -1
}

run rdma_link_add rrxe0 rrxe eth0
run rdma link show
run ibv_devinfo -d rrxe0
gid=$(roce_v2_gid_index rrxe0 "$GUEST_IP") || exit 1
echo "\$ ibv_rc_pingpong --chk server and client on rrxe0, GID index $gid"
client_server demo-ibv_rc_pingpong 18515 \
	ibv_rc_pingpong -d rrxe0 -g "$gid" --chk -n 200 -- \
	ibv_rc_pingpong -d rrxe0 -g "$gid" --chk -n 200 "$GUEST_IP" || exit 1
grep -v '^+' /host/logs/demo-ibv_rc_pingpong.log
echo "\$ ib_write_bw server and client on rrxe0 (64 KiB x 200)"
rrxe_bw=$(write_bw rrxe0) && [ -n "$rrxe_bw" ] || { echo "failed: ib_write_bw on rrxe0"; exit 1; }
echo "rrxe0: $rrxe_bw MB/s"
run rdma link delete rrxe0
run rmmod rrxe

run modprobe rdma_rxe
run rdma_link_add rxe0 rxe eth0
echo "\$ ib_write_bw server and client on rxe0 (64 KiB x 200)"
rxe_bw=$(write_bw rxe0) && [ -n "$rxe_bw" ] || { echo "failed: ib_write_bw on rxe0"; exit 1; }
echo "rxe0: $rxe_bw MB/s"
run rdma link delete rxe0
run modprobe -r rdma_rxe
echo "demo: rrxe0 carried a validated RC pingpong (200 x 4 KiB) and RDMA writes at $rrxe_bw MB/s; rdma_rxe in the same boot: $rxe_bw MB/s (debug kernel under TCG: compare, do not quote)"
