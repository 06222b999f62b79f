# The rrxe data path with the standard rdma-core tools, in one guest: the
# requester, responder and completer of RC, UC and UD queue pairs (and an SRQ)
# carry each tool's traffic between two processes over the device's own
# address, as RoCEv2 packets with their ICRC checked on receipt. The
# pingpongs validate every received buffer (--chk).
# timeout: 900
. /repo/qemu/guest/lib.sh
dev=rrxe0

check rrxe-data-link-add rdma_link_add $dev rrxe eth0 || exit 0
gid=$(roce_v2_gid_index $dev "$GUEST_IP") || exit 1
client_server rrxe-ibv_rc_pingpong 18515 \
	ibv_rc_pingpong -d $dev --chk -g "$gid" -n 100 -- \
	ibv_rc_pingpong -d $dev --chk -g "$gid" -n 100 "$GUEST_IP"
client_server rrxe-ibv_uc_pingpong 18516 \
	ibv_uc_pingpong -d $dev --chk -g "$gid" -n 100 -p 18516 -- \
	ibv_uc_pingpong -d $dev --chk -g "$gid" -n 100 -p 18516 "$GUEST_IP"
client_server rrxe-ibv_ud_pingpong 18517 \
	ibv_ud_pingpong -d $dev --chk -g "$gid" -n 100 -p 18517 -s 512 -- \
	ibv_ud_pingpong -d $dev --chk -g "$gid" -n 100 -p 18517 -s 512 "$GUEST_IP"
client_server rrxe-ibv_srq_pingpong 18518 \
	ibv_srq_pingpong -d $dev --chk -g "$gid" -n 100 -p 18518 -- \
	ibv_srq_pingpong -d $dev --chk -g "$gid" -n 100 -p 18518 "$GUEST_IP"
# perftest checks every completion's status; the data sizes span many packets.
client_server rrxe-ib_write_bw 18519 \
	ib_write_bw -d $dev -x "$gid" -F -s 65536 -n 50 -p 18519 -- \
	ib_write_bw -d $dev -x "$gid" -F -s 65536 -n 50 -p 18519 "$GUEST_IP"
client_server rrxe-ib_read_bw 18520 \
	ib_read_bw -d $dev -x "$gid" -F -s 65536 -n 50 -p 18520 -- \
	ib_read_bw -d $dev -x "$gid" -F -s 65536 -n 50 -p 18520 "$GUEST_IP"
client_server rrxe-ib_send_bw 18521 \
	ib_send_bw -d $dev -x "$gid" -F -s 16384 -n 50 -p 18521 -- \
	ib_send_bw -d $dev -x "$gid" -F -s 16384 -n 50 -p 18521 "$GUEST_IP"
client_server rrxe-ib_atomic_bw 18522 \
	ib_atomic_bw -d $dev -x "$gid" -F -n 100 -p 18522 -- \
	ib_atomic_bw -d $dev -x "$gid" -F -n 100 -p 18522 "$GUEST_IP"
check rrxe-data-link-del rdma link del $dev
check rrxe-data-rmmod rmmod rrxe
