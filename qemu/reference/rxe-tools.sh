# The C rdma_rxe with the standard rdma-core tools, in one guest: the
# reference rrxe's scenarios are read against.
# timeout: 600
. /repo/qemu/guest/lib.sh
dev=rxe0

check rxe-modprobe modprobe rdma_rxe
check rxe-link-add rdma_link_add $dev rxe eth0 || exit 0
gid=$(roce_v2_gid_index $dev "$GUEST_IP") || exit 1

devinfo() {
	ibv_devinfo -v -d $dev | tee /dev/stderr | grep -q 'state:.*PORT_ACTIVE' &&
		ibv_devices | grep -qw $dev
}
check rxe-ibv_devinfo devinfo
client_server rxe-ibv_rc_pingpong 18515 \
	ibv_rc_pingpong -d $dev --chk -g "$gid" -n 100 -- \
	ibv_rc_pingpong -d $dev --chk -g "$gid" -n 100 "$GUEST_IP"
client_server rxe-ib_write_bw 18515 \
	ib_write_bw -d $dev -x "$gid" -F -s 65536 -n 200 -- \
	ib_write_bw -d $dev -x "$gid" -F -s 65536 -n 200 "$GUEST_IP"

check rxe-rping cm_pair rping -s -a "$GUEST_IP" -C 10 -S 64 -V -- \
	rping -c -a "$GUEST_IP" -C 10 -S 64 -V
# The reference for rrxe-kernel.sh's NVMe over RDMA.
if check rxe-nvmet-rdma-target-up nvme_target_up; then
	check rxe-nvme-rdma-host-io-verified nvme_host_io
	check rxe-nvme-rdma-teardown nvme_down $dev rxe eth0
fi
check rxe-link-del rdma link del $dev
check rxe-rmmod modprobe -r rdma_rxe
