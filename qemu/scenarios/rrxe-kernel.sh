# In-kernel consumers of rrxe, in one guest: the RDMA CM's connection
# management MADs go out on QP1 (kernel post_send on the GSI QP) for rping,
# ucmatose (RC) and udaddy (UD, SIDR); then NVMe over RDMA, host and target
# both kernel ULPs over rrxe0's own address, moves data through kernel RC QPs,
# DMA regions, fast-registration regions and remote invalidation, and then
# with the target's receive requests on a kernel SRQ. rping validates the
# data of every exchange (-V) on both sides.
# timeout: 900
. /repo/qemu/guest/lib.sh
dev=rrxe0

check rrxe-kernel-link-add rdma_link_add $dev rrxe eth0 || exit 0
check rrxe-cm-rping cm_pair rping -s -a "$GUEST_IP" -C 10 -S 64 -V -- \
	rping -c -a "$GUEST_IP" -C 10 -S 64 -V
check rrxe-cm-ucmatose cm_pair ucmatose -c 2 -C 10 -- ucmatose -s "$GUEST_IP" -c 2 -C 10
check rrxe-cm-udaddy cm_pair udaddy -c 2 -C 10 -- udaddy -s "$GUEST_IP" -c 2 -C 10
if check rrxe-nvmet-rdma-target-up nvme_target_up; then
	check rrxe-nvme-rdma-host-io-verified nvme_host_io
	check rrxe-nvme-rdma-teardown nvme_down $dev rrxe eth0
fi
# Again with the target's receives posted to a kernel SRQ (post_srq_recv).
if check rrxe-nvmet-rdma-srq-target-up nvme_target_up use_srq=1; then
	check rrxe-nvme-rdma-srq-host-io-verified nvme_host_io
	check rrxe-nvmet-rdma-srq-listed sh -c \
		"rdma res show srq dev $dev | grep 'comm \\[nvmet_rdma\\]'"
	check rrxe-nvme-rdma-srq-teardown nvme_down $dev rrxe eth0
fi
check rrxe-kernel-link-del rdma link del $dev
check rrxe-kernel-rmmod rmmod rrxe
