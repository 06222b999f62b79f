# The C rdma_rxe between two guests over the host's UDP link: g1 serves,
# g2 is the client.
# timeout: 300
. /repo/qemu/guest/lib.sh
dev=rxe0
modprobe rdma_rxe
check "rxe-link-add" rdma_link_add $dev rxe eth0 || exit 0
gid=$(roce_v2_gid_index $dev "$GUEST_IP") || exit 1
barrier up 120 && check "ping-peer" ping -c 3 -W 5 "$PEER_IP"

# server_then_client NAME SERVER_CMD... -- CLIENT_CMD...: g1 runs the server
# and signals once it listens; g2 runs the client after that signal.
server_then_client() {
	local name=$1 srv=() cli=()
	shift
	while [ "$1" != -- ]; do srv+=("$1"); shift; done
	shift
	cli=("$@")
	if [ "$GUEST_INDEX" = 1 ]; then
		timeout 120 "${srv[@]}" >"/host/logs/$name.log" 2>&1 &
		local spid=$!
		wait_tcp_listen 18515 30 && barrier "$name-listening"
		check "$name-server" wait $spid
	else
		barrier "$name-listening" && check "$name-client" timeout 120 "${cli[@]}"
	fi
	barrier "$name-done"
}
# Line-buffered, so that a run cut short by its timeout still shows how far
# it got (addresses exchanged or not).
server_then_client ibv_rc_pingpong \
	stdbuf -oL ibv_rc_pingpong -d $dev --chk -g "$gid" -n 100 -- \
	stdbuf -oL ibv_rc_pingpong -d $dev --chk -g "$gid" -n 100 "$PEER_IP"
server_then_client ib_send_bw \
	ib_send_bw -d $dev -x "$gid" -F -s 65536 -n 200 -- \
	ib_send_bw -d $dev -x "$gid" -F -s 65536 -n 200 "$PEER_IP"
# rdma_rxe's counters (retries, drops, sequence errors), for reading a run that
# timed out.
rdma statistic show link $dev/1 >/host/logs/rxe-statistic.log 2>&1
barrier teardown
check rxe-link-del rdma link del $dev
check rxe-rmmod modprobe -r rdma_rxe
