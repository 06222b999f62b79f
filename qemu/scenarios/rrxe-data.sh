# The rrxe data path with the standard rdma-core tools, in one guest: the
# requester, responder and completer of RC, UC and UD queue pairs (and an SRQ)
# carry each tool's traffic between two processes over the device's own
# address, as RoCEv2 packets with their ICRC checked on receipt. The
# pingpongs validate every received buffer (--chk).
# timeout: 1500
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
# One queue pair on the SRQ: with several, either side may post sends beyond
# the count its peer waits for, which end in a retry-exceeded error if the
# peer has destroyed its queue pairs before the sender stops polling.
client_server rrxe-ibv_srq_pingpong 18518 \
	ibv_srq_pingpong -d $dev --chk -g "$gid" -n 100 -q 1 -p 18518 -- \
	ibv_srq_pingpong -d $dev --chk -g "$gid" -n 100 -q 1 -p 18518 "$GUEST_IP"
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
# rrxectl reads a queue pair's live state while ib_write_bw runs (an RC queue
# pair of the tool's in RTS, found with `rdma res show qp`): two readings a
# second apart, both RTS, the second with more packets sent; and its text form.
# The tools would run for 300 s and are stopped once the readings are taken;
# they run at the lowest priority, since they poll without pause and would
# leave the guest's CPUs to rrxectl only now and then.
rrxectl_watches_write_bw() {
	local spid cpid qpn i rc=0
	nice -n 19 ib_write_bw -d $dev -x "$gid" -F -D 300 -p 18523 >/host/logs/rrxectl-bw.server.log 2>&1 &
	spid=$!
	wait_tcp_listen 18523 30 || { kill $spid; return 1; }
	nice -n 19 ib_write_bw -d $dev -x "$gid" -F -D 300 -p 18523 "$GUEST_IP" >/host/logs/rrxectl-bw.client.log 2>&1 &
	cpid=$!
	# awk, not Python, while the tools poll: a Python start takes seconds here.
	for ((i = 0; i < 30; i++)); do
		qpn=$(rdma res show qp link $dev/1 | awk '
			/ type RC / && / state RTS / && / comm ib_write_bw/ {
				for (f = 1; f < NF; f++) if ($f == "lqpn") { print $(f + 1); exit }
			}')
		[ -n "$qpn" ] && break
		snooze 0.5
	done
	if [ -z "$qpn" ]; then
		echo "no RC queue pair of ib_write_bw in RTS"
		rc=1
	else
		rrxectl qp $dev "$qpn" || rc=1
		rrxectl --json qp $dev "$qpn" --watch 1 --count 2 >/tmp/rrxectl-watch.json || rc=1
	fi
	kill $cpid $spid 2>/dev/null
	wait $cpid $spid
	[ $rc = 0 ] || return $rc
	cat /tmp/rrxectl-watch.json
	python3 - /tmp/rrxectl-watch.json <<'PY'
import json, sys
first, second = (json.loads(line) for line in open(sys.argv[1]))
assert first["state"] == second["state"] == "RTS", (first["state"], second["state"])
assert first["type"] == "RC"
assert second["tx_packets"] > first["tx_packets"], "no packets sent between the readings"
assert second["next_psn"] != first["next_psn"], "the next PSN did not move"
PY
}
check rrxectl-qp-moves-under-ib_write_bw rrxectl_watches_write_bw

# The device's counters by name, as `rdma statistic` has them; with --drops,
# the drops by reason alone.
rrxectl_stats() {
	rrxectl stats $dev && rrxectl stats --drops $dev && rrxectl --json stats $dev | python3 -c '
import json, sys
c = json.load(sys.stdin)["counters"]
assert c["tx_packets"] > 0 and c["rx_packets"] > 0 and "rx_malformed" in c, c' &&
		rrxectl --json stats --drops $dev | python3 -c '
import json, sys
c = json.load(sys.stdin)["counters"]
assert "rx_malformed" in c and "tx_dropped" in c and "tx_packets" not in c, c'
}
check rrxectl-stats rrxectl_stats
# Clear errors, exit status 1: a missing device, a missing queue pair.
refused() {
	local want=$1 out
	shift
	out=$("$@" 2>&1) && { echo "succeeded: $out"; return 1; }
	echo "$out"
	[[ $out == *"$want"* ]]
}
check rrxectl-missing-device refused "no RDMA device named nosuch0" rrxectl stats nosuch0
check rrxectl-missing-qp refused "has no queue pair 0xfffff0" rrxectl qp $dev 0xfffff0
check rrxe-data-link-del rdma link del $dev
check rrxe-data-rmmod rmmod rrxe
# An rdma_rxe device is not rrxe's: rrxectl says so.
had_rxe=$(lsmod | grep -c '^rdma_rxe ')
check rrxectl-rxe-link-add rdma_link_add rxe0 rxe eth0 &&
	check rrxectl-not-rrxe-device refused "rxe0 is not an rrxe device" rrxectl stats rxe0
check rrxectl-rxe-link-del sh -c "rdma link del rxe0 && { [ $had_rxe = 1 ] || modprobe -r rdma_rxe; }"
