# The data path under load at length: while a 1 GiB RDMA read and 16
# concurrent 64 MiB reads are in flight (the driver's workers busy on both
# CPUs), the kernel's slab and vmalloc memory stays within a stated bound
# whatever the read sizes; a small read completes meanwhile with its data,
# and destroying the queue pairs mid-transfer gives the memory back (the
# run's final kmemleak scan must find nothing). And 1 GiB of user memory
# registered three times over is pinned while registered and unpinned after.
# timeout: 1800
. /repo/qemu/guest/lib.sh

check stress-data-link-add rdma_link_add rrxe0 rrxe eth0 || exit 0
reads_in_flight() {
	local gid
	gid=$(roce_v2_gid_index rrxe0 "$GUEST_IP") || return 1
	python3 /repo/qemu/guest/verbs_check.py --dev rrxe0 --gid "$gid" --prefix stress \
		--only reads-in-flight-bounded-memory,mr-1gib-register-loop-unpins >>"$RESULTS" \
		2>>/host/logs/stress-reads.log
}
reads_in_flight || fail stress-reads-exit "verbs_check.py on rrxe0 exited with status $?"
check stress-data-link-del rdma link del rrxe0
check stress-data-rmmod rmmod rrxe
