# The RoCEv2 wire between two guests over QEMU's UDP link (run with
# `qemu/run.sh -g 2`): g1 serves, g2 is the client, each with a device on its
# eth0. TWO_GUEST_DRIVERS names the drivers, G1:G2 (rrxe or rxe), rrxe:rrxe by
# default. Over the IPv4 GID: ibv_rc_pingpong --chk at path MTU 1024,
# ib_write_bw and ib_send_bw with 64 KiB messages, rping -V, and NVMe over
# RDMA (target on g1, host on g2: 1 MiB written, read back and compared on
# both); each rrxe device's counters in `rdma statistic` show packets both
# ways before the NVMe target's teardown removes and adds its device again.
# timeout: 900
. /repo/qemu/guest/lib.sh

drivers=${TWO_GUEST_DRIVERS:-rrxe:rrxe}
if [ "$GUEST_INDEX" = 1 ]; then driver=${drivers%%:*}; else driver=${drivers#*:}; fi
case $driver in
rrxe) dev=rrxe0 ;;
rxe)
	dev=rxe0
	modprobe rdma_rxe
	;;
*) fail two-guests-drivers "unknown driver '$driver' in '$drivers' (rrxe or rxe)"; exit 1 ;;
esac
check "two-guests-$driver-link-add" rdma_link_add $dev "$driver" eth0 || exit 0
gid=$(roce_v2_gid_index $dev "$GUEST_IP") || exit 1
barrier up 120 && check "two-guests-ping-peer" ping -c 3 -W 5 "$PEER_IP"

# server_then_client NAME tcp PORT|cm SERVER_CMD... -- CLIENT_CMD...: g1 runs
# the server and signals once it listens (on TCP PORT, or with an RDMA CM id);
# g2 runs the client after that signal. Each side has 180 s.
server_then_client() {
	local name=two-guests-$1 kind=$2 what=$3 srv=() cli=() spid i
	shift 3
	while [ "$1" != -- ]; do srv+=("$1"); shift; done
	shift
	cli=("$@")
	if [ "$GUEST_INDEX" = 1 ]; then
		timeout 180 stdbuf -oL "${srv[@]}" >"/host/logs/$name-server.log" 2>&1 &
		spid=$!
		if [ "$kind" = tcp ]; then
			wait_tcp_listen "$what" 60
		else
			for ((i = 0; i < 600; i++)); do
				rdma res show cm_id | grep -q "state LISTEN .*comm $what" && break
				snooze 0.1
			done
		fi
		barrier "$name-listening" 240
		check "$name-server" wait $spid
	else
		barrier "$name-listening" 240 && check "$name-client" timeout 180 stdbuf -oL "${cli[@]}"
	fi
	barrier "$name-done" 240
}

server_then_client ibv_rc_pingpong tcp 18515 \
	ibv_rc_pingpong -d $dev -g "$gid" --chk -n 100 -m 1024 -- \
	ibv_rc_pingpong -d $dev -g "$gid" --chk -n 100 -m 1024 "$PEER_IP"
server_then_client ib_write_bw tcp 18516 \
	ib_write_bw -d $dev -x "$gid" -F -p 18516 -s 65536 -n 200 -- \
	ib_write_bw -d $dev -x "$gid" -F -p 18516 -s 65536 -n 200 "$PEER_IP"
server_then_client ib_send_bw tcp 18517 \
	ib_send_bw -d $dev -x "$gid" -F -p 18517 -s 65536 -n 200 -- \
	ib_send_bw -d $dev -x "$gid" -F -p 18517 -s 65536 -n 200 "$PEER_IP"
server_then_client rping cm rping \
	rping -s -a "$GUEST_IP" -C 20 -S 4096 -V -- \
	rping -c -a "$PEER_IP" -C 20 -S 4096 -V

# statistic: the device's counters with packets sent and received.
statistic() {
	local out
	out=$(rdma statistic show link "$dev/1") || return 1
	echo "$out"
	[[ $out =~ " tx_packets "([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -gt 0 ] &&
		[[ $out =~ " rx_packets "([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -gt 0 ]
}
[ "$driver" != rrxe ] || check "two-guests-rrxe-statistic" statistic

# NVMe over RDMA across the wire: g1 the target, g2 the host, which writes
# 1 MiB, reads it back and compares it; g1 then compares its file with the
# pattern g2 wrote (passed through /shared).
if [ "$GUEST_INDEX" = 1 ]; then
	check two-guests-nvmet-rdma-target-up nvme_target_up
	barrier nvme-target-up 240
	barrier nvme-host-done 600 &&
		check two-guests-nvmet-rdma-target-file-verified cmp -n 1048576 /shared/nvme-pattern \
			/tmp/nvme/ns1
	barrier nvme-host-down 240
	check two-guests-nvmet-rdma-target-down nvme_target_down $dev "$driver" eth0
else
	barrier nvme-target-up 240 &&
		check two-guests-nvme-rdma-host-io-verified nvme_host_io "$PEER_IP" &&
		cp /tmp/nvme-pattern /shared/nvme-pattern
	barrier nvme-host-done 600
	check two-guests-nvme-rdma-host-down nvme_host_down
	barrier nvme-host-down 240
fi
barrier teardown 240
check "two-guests-$driver-link-del" rdma link del $dev
if [ "$driver" = rrxe ]; then
	check two-guests-rmmod-rrxe modprobe -r rrxe
else
	check two-guests-rmmod-rdma_rxe modprobe -r rdma_rxe
fi
