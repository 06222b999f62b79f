# The RoCEv2 wire in one guest: two network namespaces, ns-a and ns-b, joined
# by a veth pair (MTU 9000; IPv4 and IPv6 addresses), with an RDMA device on
# each end, so that every packet leaves one device as a UDP datagram, crosses
# the veth and is taken in by the other device. Each side's driver is rrxe or
# the C rdma_rxe. WIRE_DRIVERS lists the pairings, SERVER:CLIENT (server in
# ns-a, client in ns-b), separated by spaces or commas; by default
# "rrxe:rrxe rrxe:rxe rxe:rrxe"; WIRE_FAMILIES the GID families, by default
# "ipv4 ipv6", which a pairing may narrow to one of them (rrxe:rxe/ipv4). The
# guest's kernel command line passes them to the scenario:
# `qemu/run.sh -a WIRE_DRIVERS=rxe:rxe qemu/scenarios/rrxe-wire.sh` runs it on
# rdma_rxe alone. WIRE_TOOLS keeps only the runs it names (the last part of
# their names): `make check` runs four in each pairing and family, `make
# interop` every one.
#
# For each pairing and each GID family (the RoCE v2 GIDs of the IPv4 and of
# the IPv6 addresses): the rdma-core pingpongs with every buffer validated
# (--chk; RC at path MTU 1024 and 4096), perftest's bandwidth and latency
# tests (ib_write_bw at path MTU 1024 and 4096), and the RDMA CM's rping -V,
# ucmatose and udaddy to that family's address of the server; and, over the
# IPv4 GID, atomic writes (and between rrxe devices flushes) from the client's
# device into the server's region (-ipv4-placement, qemu/guest/wire_placement.py),
# a multicast group with the server's device sending to two receivers on the
# client's (-ipv4-mckey; with an rrxe sender), and between rrxe devices NFS over
# RDMA (-ipv4-nfs).
# The tools' own TCP exchange runs over IPv4 whatever the family; the GID index
# decides how the RoCE packets travel. Results are named wire-SERVER-CLIENT-FAMILY-TOOL,
# with -mtuN where the path MTU is chosen; the rrxe devices' counters must
# show in `rdma statistic` (-statistic-a, -statistic-b). WIRE_STAGE=loss
# (rrxe-wire-loss.sh) runs, for each pairing, over the IPv4 GID, loss and
# reordering instead, named wire-loss-SERVER-CLIENT-ipv4-...: with netem on
# both veth ends (1% loss, 10% loss, reordering), an rrxe device writes 64
# MiB (WIRE_LOSS_MIB) into the other's memory and reads them back, compared,
# and the rrxe devices' recovery counters must move (-loss1, -loss10, -reorder);
# the same transfer over a link slower than the requester completes with the
# requester waiting for room in its socket, nothing dropped (-slow);
# an rrxe requester keeps its queue pair's IP route for all its packets and
# looks it up again once the namespace's routes change (-route); a datagram
# on a network device no device runs on is counted (-no-device-counted); and
# an rrxe requester whose peer is destroyed ends in IBV_WC_RETRY_EXC_ERR
# within its timeouts (-peer-gone). Every run has a time limit. When a
# family's first exchange (RC pingpong at path MTU 1024) fails, the rest of
# that family is reported as skipped, by name, instead of each waiting out its
# limit.
#
# The RDMA core stays in its default shared netns mode: `rdma link add` run in
# a namespace finds the netdev there (the core looks the name up in the
# caller's namespace), and the device, created in init_net, is usable from
# every namespace. Exclusive mode would leave the device in init_net, out of
# the namespaces' reach, and cannot be set while namespaces exist. rdma_rxe
# keeps a UDP socket per namespace that holds one of its devices, so rrxe
# (with its own socket) on one side and rdma_rxe on the other never contend
# for port 4791.
# timeout: 3600
. /repo/qemu/guest/lib.sh
. /repo/qemu/guest/netns.sh

# Seconds each server and each client may take (a hang costs this much), and
# a server to start listening: generous, as a debug guest under TCG on a busy
# host takes seconds to start each tool.
LIMIT=120 READY=60
pairings=${WIRE_DRIVERS:-rrxe:rrxe rrxe:rxe rxe:rrxe}
pairings=${pairings//,/ }
families=${WIRE_FAMILIES:-ipv4 ipv6}
families=${families//,/ }
# The tool runs to do (the last part of their names, e.g. ibv_rc_pingpong-mtu1024
# rping), every one if empty.
tools=${WIRE_TOOLS:-}
tools=${tools//,/ }
# The tool runs (wire-...), or the loss stage (wire-loss-..., the scenario
# rrxe-wire-loss.sh).
stage=${WIRE_STAGE:-tools}
case $stage in
tools) prefix=wire ;;
loss) prefix=wire-loss ;;
*) fail wire-stage "unknown stage '$stage' (tools or loss)"; exit 1 ;;
esac
for f in $families; do
	case $f in ipv4 | ipv6) ;; *) fail wire-families "unknown family '$f' (ipv4 or ipv6)"; exit 1 ;; esac
done
# Why the tests now due are not run, if they are not.
wire_skip=
# Each exchange its own TCP port: no listener or TIME_WAIT left by the last
# one is in the way.
port=18600

# pairing_families PAIRING: the families PAIRING (DRIVER:DRIVER[/FAMILY]) runs over.
pairing_families() {
	if [[ $1 == */* ]]; then echo "${1#*/}"; else echo "$families"; fi
}

modules=()
for p in $pairings; do
	drivers=${p%%/*}
	for d in "${drivers%%:*}" "${drivers#*:}"; do
		m=$(module_of "$d") || { fail wire-drivers "unknown driver '$d' in '$p' (rrxe or rxe)"; exit 1; }
		[[ " ${modules[*]} " == *" $m "* ]] || modules+=("$m")
	done
	for f in $(pairing_families "$p"); do
		[[ " $families " == *" $f "* ]] ||
			{ fail wire-drivers "'$p': family '$f' not among '$families'"; exit 1; }
	done
done

# server_ready PID tcp PORT|cm COMM: wait until the server PID, in ns-a,
# listens (on TCP PORT, or with an RDMA CM id of process COMM); at most READY
# seconds, and only while it runs.
server_ready() {
	local end=$((SECONDS + READY))
	while kill -0 "$1" 2>/dev/null; do
		case $2 in
		tcp) listening "$1" "$3" && return 0 ;;
		cm)
			ip netns exec $NS_A rdma res show cm_id 2>/dev/null |
				grep -Eq "state LISTEN .*comm $3( |\$)" && return 0
			;;
		esac
		if [ $SECONDS -ge $end ]; then
			echo "server not listening after ${READY}s"
			return 1
		fi
		# A CM poll runs four processes; a TCP one none.
		if [ "$2" = cm ]; then snooze 0.25; else snooze 0.1; fi
	done
	echo "server exited before listening"
	return 1
}

# since T0: seconds since EPOCHREALTIME T0, to the millisecond.
since() {
	local now=${EPOCHREALTIME/[.,]/} t0=${1/[.,]/}
	printf '%d.%03d\n' $(((now - t0) / 1000000)) $(((now - t0) / 1000 % 1000))
}

# wire_run NAME tcp PORT|cm COMM SERVER... -- CLIENT...: SERVER in ns-a until
# it listens, then CLIENT in ns-b; both must exit 0 within LIMIT seconds.
# Records NAME, or skips it when wire_skip says why.
wire_run() {
	local name=$1 kind=$2 what=$3 srv=() cli=() spid wpid rc=0 log=/host/logs/$1.log t0=$EPOCHREALTIME
	shift 3
	while [ $# -gt 0 ] && [ "$1" != -- ]; do srv+=("$1"); shift; done
	shift
	cli=("$@")
	# Only the runs WIRE_TOOLS names, if it names any.
	if [ -n "$tools" ] && [[ " $tools " != *" ${name#wire-*-*-*-} "* ]]; then
		return 0
	fi
	if [ -n "$wire_skip" ]; then
		skip "$name" "$wire_skip"
		return 1
	fi
	{
		echo "+ $NS_A: ${srv[*]}"
		echo "+ $NS_B: ${cli[*]}"
	} >"$log"
	# timeout runs in the namespace, so that /proc/$spid/net is the server's.
	# Line-buffered, so that a run cut short by its limit shows how far it got.
	ip netns exec $NS_A timeout -k 5 $LIMIT stdbuf -oL "${srv[@]}" >"$log.server" 2>&1 &
	spid=$!
	# What a run that hangs is waiting on, taken before its limit ends it: only read when
	# the run fails.
	{ sleep $((LIMIT - 5)) && wire_state "${srv[0]}"; } >"$log.state" 2>&1 &
	wpid=$!
	if server_ready $spid "$kind" "$what" >>"$log" 2>&1; then
		echo "[$(since "$t0")s] server listening" >>"$log"
		ip netns exec $NS_B timeout -k 5 $LIMIT stdbuf -oL "${cli[@]}" >>"$log" 2>&1 || rc=$?
		echo "[$(since "$t0")s] client exit $rc" >>"$log"
	else
		rc=1
	fi
	[ "$rc" = 0 ] || kill "$spid" 2>/dev/null
	wait "$spid" || { [ "$rc" != 0 ] || rc=$?; }
	{
		echo "[$(since "$t0")s] server done"
		echo "--- server"
		cat "$log.server"
	} >>"$log"
	rm -f "$log.server"
	pkill -P "$wpid" sleep
	wait "$wpid"
	if [ "$rc" != 0 ]; then
		cat "$log.state" >>"$log"
		# A run that ended before its limit: how the devices stand after it.
		[ -s "$log.state" ] || wire_state "${srv[0]}" "at the failure" >>"$log" 2>&1
	fi
	rm -f "$log.state"
	case $rc in
	0) pass "$name" ;;
	124) fail "$name" "timed out after ${LIMIT}s (logs/$name.log)" ;;
	*) fail "$name" "exit $rc (logs/$name.log)" ;;
	esac
	[ "$rc" = 0 ]
}

# wire_state COMM [WHEN]: what the devices and the processes named COMM show,
# for reading a run that failed: each device's counters and queue pairs (with
# the PSNs each side stands at), the state and wait channel of each thread of
# the tool, the kernel log's end.
wire_state() {
	local d p t c s w
	echo "--- state ${2:-5 s before the limit}"
	for d in $DEV_A $DEV_B; do
		rdma statistic show link $d/1
	done
	rdma res show qp
	for p in /proc/[0-9]*; do
		read -r c <$p/comm 2>/dev/null && [ "$c" = "${1:0:15}" ] || continue
		for t in $p/task/*; do
			s=$(grep '^State:' $t/status) w=$(cat $t/wchan)
			echo "$c ${p#/proc/} thread ${t##*/}: $s, waiting in ${w:-nothing}"
		done
	done
	dmesg | tail -n 20
}

# pingpong NAME TOOL ARG...: an rdma-core pingpong, each side on its device and
# GID.
pingpong() {
	local name=$1 tool=$2
	shift 2
	port=$((port + 1))
	wire_run "$name" tcp $port $tool -d $DEV_A -g "$gid_a" -p $port "$@" -- \
		$tool -d $DEV_B -g "$gid_b" -p $port "$@" $IP4_A
}

# perftest NAME TOOL ARG...: a perftest pair, each side on its device and GID.
perftest() {
	local name=$1 tool=$2
	shift 2
	port=$((port + 1))
	wire_run "$name" tcp $port $tool -d $DEV_A -x "$gid_a" -F -p $port "$@" -- \
		$tool -d $DEV_B -x "$gid_b" -F -p $port "$@" $IP4_A
}

# family PREFIX ipv4|ipv6: every tool over one GID family.
family() {
	local p=$1 ip_a skip_before=$wire_skip
	case $2 in
	ipv4) gid_a=$gid4_a gid_b=$gid4_b ip_a=$IP4_A ;;
	ipv6) gid_a=$gid6_a gid_b=$gid6_b ip_a=$IP6_A ;;
	esac
	p=$p-$2
	# 8 KiB messages: 8 packets at path MTU 1024, 2 at 4096.
	pingpong $p-ibv_rc_pingpong-mtu1024 ibv_rc_pingpong --chk -n 20 -s 8192 -m 1024 ||
		wire_skip=${wire_skip:-not run: $p-ibv_rc_pingpong-mtu1024 failed}
	pingpong $p-ibv_rc_pingpong-mtu4096 ibv_rc_pingpong --chk -n 20 -s 8192 -m 4096
	pingpong $p-ibv_uc_pingpong ibv_uc_pingpong --chk -n 20
	pingpong $p-ibv_ud_pingpong ibv_ud_pingpong --chk -n 20 -s 512
	pingpong $p-ibv_srq_pingpong ibv_srq_pingpong --chk -n 20 -q 1
	perftest $p-ib_send_bw ib_send_bw -s 8192 -n 20
	perftest $p-ib_write_bw-mtu1024 ib_write_bw -s 8192 -n 20 -m 1024
	perftest $p-ib_write_bw-mtu4096 ib_write_bw -s 8192 -n 20 -m 4096
	perftest $p-ib_read_bw ib_read_bw -s 8192 -n 20
	perftest $p-ib_atomic_bw ib_atomic_bw -n 20
	perftest $p-ib_send_lat ib_send_lat -s 64 -n 20
	perftest $p-ib_write_lat ib_write_lat -s 64 -n 20
	perftest $p-ib_read_lat ib_read_lat -s 64 -n 20
	port=$((port + 1))
	wire_run $p-rping cm rping rping -s -a $ip_a -p $port -C 10 -S 64 -V -- \
		rping -c -a $ip_a -p $port -C 10 -S 64 -V
	port=$((port + 1))
	wire_run $p-ucmatose cm ucmatose ucmatose -b $ip_a -p $port -c 2 -C 10 -- \
		ucmatose -s $ip_a -p $port -c 2 -C 10
	wire_run $p-udaddy cm udaddy udaddy -b $ip_a -c 2 -C 10 -- udaddy -s $ip_a -c 2 -C 10
	wire_skip=$skip_before
}

# netem add|change|del [ARG...]: the same netem qdisc on both veth ends, so that
# packets are lost or reordered both ways.
netem() {
	local op=$1
	shift
	tc -n $NS_A qdisc "$op" dev $VETH_A root "$@" && tc -n $NS_B qdisc "$op" dev $VETH_B root "$@"
}

# counter DEV NAME...: the sum of rrxe device DEV's counters NAME... (its
# sysfs hw_counters).
counter() {
	local d=$1 c v sum=0
	shift
	for c in "$@"; do
		read -r v <"/sys/class/infiniband/$d/ports/1/hw_counters/$c" || return 1
		sum=$((sum + v))
	done
	echo $sum
}

# recovery REQ_DRIVER REQ_DEV RESP_DRIVER RESP_DEV: what the rrxe devices of a
# transfer counted of their recovery from loss: the requester the packets it
# sent again, the responder the sequence error NAKs it sent and the
# duplicate requests it answered again ("-" for an rdma_rxe device).
recovery() {
	local req=- resp=-
	[ "$1" != rrxe ] || req=$(counter "$2" retransmitted_packets) || return 1
	[ "$3" != rrxe ] || resp=$(counter "$4" seq_naks_sent duplicate_requests) || return 1
	echo "$req $resp"
}

# moved BEFORE AFTER: whether each rrxe device's recovery counters went up
# (BEFORE and AFTER from `recovery`).
moved() {
	local req0 resp0 req1 resp1
	read -r req0 resp0 <<<"$1"
	read -r req1 resp1 <<<"$2"
	echo "requester: packets retransmitted $req0 -> $req1"
	echo "responder: sequence NAKs sent and duplicates answered $resp0 -> $resp1"
	{ [ "$req0" = - ] || [ "$req1" -gt "$req0" ]; } &&
		{ [ "$resp0" = - ] || [ "$resp1" -gt "$resp0" ]; }
}

# stage_due NAME LABEL: whether the loss stage's run NAME is to be done:
# WIRE_TOOLS names its LABEL, if it names any, and nothing before it failed
# (NAME is then reported skipped).
stage_due() {
	if [ -n "$tools" ] && [[ " $tools " != *" $2 "* ]]; then
		return 1
	fi
	if [ -n "$wire_skip" ]; then
		skip "$1" "$wire_skip"
		return 1
	fi
}

# requester DRIVER_A DRIVER_B: sets req to "DRIVER DEV GID PEER_DRIVER
# PEER_DEV PEER_GID" (IPv4 GID indexes) for the requester of a loss stage run:
# the client's device if it is rrxe's, else the server's.
requester() {
	if [ "$2" = rrxe ]; then
		req=("$2" $DEV_B $gid4_b "$1" $DEV_A $gid4_a)
	else
		req=("$1" $DEV_A $gid4_a "$2" $DEV_B $gid4_b)
	fi
}

# lossy PREFIX DRIVER_A DRIVER_B LABEL NETEM...: with netem NETEM on both veth
# ends, over the IPv4 GID, an rrxe device (the client's if it is rrxe's, else
# the server's) writes WIRE_LOSS_MIB (64 by default) mebibytes of random
# bytes into the other device's memory and reads them back, the bytes
# compared (qemu/guest/wire_transfer.py); the rrxe devices' recovery counters
# must move. Named PREFIX-ipv4-LABEL. rdma_rxe is not the requester here: its
# window of unacknowledged PSNs stays 128 whatever is lost, so at 10% loss it
# moves about 15 kB/s on the debug guest.
lossy() {
	local p=$1 a=$2 b=$3 label=$4 name before after req
	shift 4
	name=$p-ipv4-$label
	stage_due $name $label || return 0
	requester "$a" "$b"
	check $name-netem netem add netem "$@" || return 1
	before=$(recovery "${req[0]}" "${req[1]}" "${req[3]}" "${req[4]}")
	check $name timeout 600 python3 /repo/qemu/guest/wire_transfer.py "${req[1]}" "${req[2]}" \
		"${req[4]}" "${req[5]}" "${WIRE_LOSS_MIB:-64}"
	after=$(recovery "${req[0]}" "${req[1]}" "${req[3]}" "${req[4]}")
	# What each device counted, for reading the run.
	rdma statistic show link $DEV_A/1 >>/host/logs/$name.log 2>&1
	rdma statistic show link $DEV_B/1 >>/host/logs/$name.log 2>&1
	check $name-netem-del netem del
	check $name-recovery-counted moved "$before" "$after"
}

# faulted PREFIX DRIVER_A DRIVER_B LABEL RRXECTL_FAULTS... : with no netem, rrxectl
# injects RRXECTL_FAULTS (seed 7) into the rrxe requester's queue pair of a verified
# WIRE_LOSS_MIB transfer (wire_transfer.py), once connected: the transfer completes with
# the bytes equal, and the queue pair's state at its end shows the faults given and
# counts what they did (faults_accounted). Before, a caller without CAP_NET_ADMIN (uid
# 65534) is refused: the fault command fails with EPERM's message. Named PREFIX-ipv4-LABEL.
faulted() {
	local p=$1 a=$2 b=$3 label=$4 name req
	shift 4
	name=$p-ipv4-$label
	stage_due $name $label || return 0
	requester "$a" "$b"
	rm -f /tmp/$name.json /tmp/$name.eperm
	local connected="! setpriv --reuid=65534 --regid=65534 --clear-groups rrxectl fault ${req[1]} \$LOCAL_QPN --drop 50% 2>/tmp/$name.eperm && rrxectl fault ${req[1]} \$LOCAL_QPN --seed 7 $*"
	check $name env WIRE_TRANSFER_CONNECTED="$connected" \
		WIRE_TRANSFER_DONE="rrxectl --json qp ${req[1]} \$LOCAL_QPN >/tmp/$name.json" \
		timeout 600 python3 /repo/qemu/guest/wire_transfer.py "${req[1]}" "${req[2]}" \
		"${req[4]}" "${req[5]}" "${WIRE_LOSS_MIB:-64}"
	check $name-unprivileged-eperm sh -c "cat /tmp/$name.eperm && grep -q \"needs CAP_NET_ADMIN\" /tmp/$name.eperm"
	check $name-accounted faults_accounted /tmp/$name.json "$@"
}

# faults_accounted JSON RRXECTL_FAULTS...: whether the queue pair state in JSON (rrxectl
# qp --json) shows each fault given as set and having struck, and, if drops were given,
# at least as many packets retransmitted as were dropped: each dropped packet was a request
# the requester had to send again.
faults_accounted() {
	python3 - "$@" <<'PY'
import json, sys
state = json.load(open(sys.argv[1]))
args = sys.argv[2:]
given = {args[i].lstrip("-"): args[i + 1] for i in range(0, len(args), 2)}
print(json.dumps({k: state[k] for k in ("faults", "injected", "retransmitted_packets",
                                        "ack_timeouts", "seq_naks_received", "tx_packets")}))
struck = {"drop": "drops", "duplicate": "duplicates", "delay": "delays", "corrupt": "corruptions"}
for fault, count in struck.items():
    if fault in given:
        ppm = round(float(given[fault].rstrip("%")) * 10_000)
        assert state["faults"][f"{fault}_ppm"] == ppm, f"{fault}: {state['faults']}"
        assert state["injected"][count] > 0, f"no {count}"
assert state["faults"]["seed"] == 7
if "drop" in given:
    assert state["retransmitted_packets"] >= state["injected"]["drops"], \
        "fewer packets retransmitted than dropped"
PY
}

# qdisc_drops NS VETH: the packets VETH's root queueing discipline dropped.
qdisc_drops() {
	tc -s -n "$1" qdisc show dev "$2" | sed -n 's/.*(dropped \([0-9]*\),.*/\1/p' | head -1
}

# held_back WAITS0 WAITS1 WAKEUPS0 WAKEUPS1 RESENT0 RESENT1 DROPS: whether the
# requester waited for room in its socket (tx_waits went up) and was woken by
# the stack freeing what it sent (tx_wakeups went up), and its queueing
# discipline dropped nothing. Its resends are shown, not held to zero: with
# nothing dropped, a debug guest on a slow host may still take longer than
# the local ACK timeout (about 1 s) to acknowledge, and the requester then
# rightly sends again (38 packets of a 2 MiB transfer, once).
held_back() {
	echo "requester: tx_waits $1 -> $2, tx_wakeups $3 -> $4, retransmitted_packets $5 -> $6; packets the queue dropped: $7"
	[ "$2" -gt "$1" ] && [ "$4" -gt "$3" ] && [ "$7" = 0 ]
}

# slow PREFIX DRIVER_A DRIVER_B: a link slower than the rrxe requester (the
# client's device if it is rrxe's, else the server's): a token bucket on the
# requester's veth end sending 4 Mbit/s with at most 380 kB queued, less than
# the 128 packets of 4 kB a reliable requester's window lets out and more
# than its socket's send buffer holds (256 KiB of buffers of 8 KiB, and a
# round of 32 packets built before they are sent). netem would not do: it
# hands a delayed packet's memory back to its socket at once. The transfer
# (as in `lossy`) completes with its data verified, and the requester, rather
# than overflow the queue, waits for room in its namespace's socket, whose
# send buffer holds what the stack has not sent yet, until the stack frees
# what it sent: tx_waits and tx_wakeups go up, the queue drops nothing.
# Named PREFIX-ipv4-slow.
slow() {
	local name=$1-ipv4-slow req ns veth waits0 waits1 wakeups0 wakeups1 resent0 resent1 drops
	stage_due $name slow || return 0
	requester "$2" "$3"
	[ "${req[0]}" = rrxe ] || return 0
	ns=$NS_B veth=$VETH_B
	[ "${req[1]}" = $DEV_B ] || ns=$NS_A veth=$VETH_A
	check $name-tbf tc -n $ns qdisc add dev $veth root tbf rate 4mbit burst 16kb limit 380kb ||
		return 1
	waits0=$(counter "${req[1]}" tx_waits) && resent0=$(counter "${req[1]}" retransmitted_packets)
	wakeups0=$(counter "${req[1]}" tx_wakeups)
	check $name timeout 600 python3 /repo/qemu/guest/wire_transfer.py "${req[1]}" "${req[2]}" \
		"${req[4]}" "${req[5]}" "${WIRE_LOSS_MIB:-64}"
	waits1=$(counter "${req[1]}" tx_waits) && resent1=$(counter "${req[1]}" retransmitted_packets)
	wakeups1=$(counter "${req[1]}" tx_wakeups)
	drops=$(qdisc_drops $ns $veth)
	tc -s -n $ns qdisc show dev $veth >>/host/logs/$name.log 2>&1
	check $name-tbf-del tc -n $ns qdisc del dev $veth root
	check $name-held-back held_back "$waits0" "$waits1" "$wakeups0" "$wakeups1" "$resent0" "$resent1" "$drops"
}

# rerouted PREFIX DRIVER_A DRIVER_B: an rrxe requester (the client's device if
# it is rrxe's, else the server's) keeps its queue pair's IP route: the
# transfer of `lossy` (without netem) looks the route up once or twice while
# its writes send hundreds of packets. Between the writes and the reads, the
# requester's namespace flushes its IPv4 route cache, which makes every route
# taken stale: the queue pair's route is looked up again, and the reads
# complete with the bytes equal. Named PREFIX-ipv4-route.
rerouted() {
	local name=$1-ipv4-route req ns mid=/tmp/route-lookups-mid
	stage_due $name route || return 0
	requester "$2" "$3"
	[ "${req[0]}" = rrxe ] || return 0
	ns=$NS_B
	[ "${req[1]}" = $DEV_B ] || ns=$NS_A
	local dir=/sys/class/infiniband/${req[1]}/ports/1/hw_counters lookups0 sent0 lookups1
	lookups0=$(counter "${req[1]}" route_lookups) && sent0=$(counter "${req[1]}" tx_packets)
	check $name timeout 600 python3 /repo/qemu/guest/wire_transfer.py "${req[1]}" "${req[2]}" \
		"${req[4]}" "${req[5]}" "${WIRE_LOSS_MIB:-64}" \
		"cat $dir/route_lookups $dir/tx_packets >$mid && ip -n $ns route flush cache"
	lookups1=$(counter "${req[1]}" route_lookups)
	check $name-kept route_kept "$lookups0" "$sent0" "$mid" "$lookups1"
}

# route_kept LOOKUPS0 SENT0 MID LOOKUPS1: whether the route lookups before the
# transfer (LOOKUPS0), after its writes (first line of file MID) and at its
# end (LOOKUPS1) show the route kept: at most 2 lookups while the writes sent
# at least 256 packets (SENT0, second line of MID), and at least 1 more after
# the route cache was flushed.
route_kept() {
	local mid_lookups mid_sent
	{ read -r mid_lookups && read -r mid_sent; } <"$3" || return 1
	echo "route lookups $1 -> $mid_lookups (writes: tx_packets $2 -> $mid_sent) -> $4 (reads, after the flush)"
	[ $((mid_sent - $2)) -ge 256 ] && [ $((mid_lookups - $1)) -le 2 ] && [ "$4" -gt "$mid_lookups" ]
}

# stray PREFIX DRIVER_A: a datagram to UDP port 4791 on ns-a's loopback, a
# network device no device runs on, is dropped and counted: the rx_no_device
# counter of the rrxe device in ns-a (which counts for its namespace) goes up
# by one. Named PREFIX-no-device-counted.
stray() {
	local name=$1-no-device-counted
	[ "$2" = rrxe ] || return 0
	stage_due $name stray || return 0
	check $name stray_counted
}

stray_counted() {
	local before after i
	before=$(counter $DEV_A rx_no_device) || return 1
	ip netns exec $NS_A python3 -c 'import socket
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(bytes(64), ("127.0.0.1", 4791))' ||
		return 1
	# The namespace's worker delivers it after the send returns: up to 10 s.
	for ((i = 0; i < 100; i++)); do
		after=$(counter $DEV_A rx_no_device) || return 1
		[ "$after" = "$before" ] || break
		snooze 0.1
	done
	echo "rx_no_device $before -> $after"
	[ "$after" = $((before + 1)) ]
}

# statistic DEV: DEV's counters as `rdma statistic` shows them, with packets
# sent and received counted, and the traffic in the port's sysfs counters
# (from performance management queries) in 4-byte words.
statistic() {
	local out c v
	out=$(rdma statistic show link "$1/1") || return 1
	echo "$out"
	[[ $out =~ " tx_packets "([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -gt 0 ] &&
		[[ $out =~ " rx_packets "([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -gt 0 ] &&
		[[ $out == *" retransmitted_packets "* ]] || return 1
	for c in port_xmit_data port_rcv_data port_xmit_packets port_rcv_packets; do
		read -r v <"/sys/class/infiniband/$1/ports/1/counters/$c" || return 1
		echo "$c $v"
		[ "$v" -gt 0 ] || return 1
	done
}

# peer_gone PREFIX DRIVER_A DRIVER_B: an rrxe requester (the client's device
# if it is rrxe's, else the server's) whose peer queue pair on the other end,
# after a first send went through, is destroyed: the next send fails with
# IBV_WC_RETRY_EXC_ERR within the time its local ACK timeout and retry count
# imply (qemu/guest/wire_retry.py). Named PREFIX-ipv4-peer-gone.
peer_gone() {
	local name=$1-ipv4-peer-gone req
	stage_due $name peer-gone || return 0
	requester "$2" "$3"
	[ "${req[0]}" = rrxe ] || return 0
	check $name timeout $LIMIT python3 /repo/qemu/guest/wire_retry.py "${req[1]}" "${req[2]}" \
		"${req[4]}" "${req[5]}"
}

# placement PREFIX DRIVER_A DRIVER_B: the client's device (ns-b) writes eight bytes at
# once into the server's region and flushes it, over the IPv4 GID
# (qemu/guest/wire_placement.py); with rdma_rxe on either side, atomic writes only, as
# rdma_rxe's FLUSH packets carry an ICRC of its own. Named PREFIX-ipv4-placement.
placement() {
	local name=$1-ipv4-placement only=
	stage_due $name placement || return 0
	[ "$2:$3" = rrxe:rrxe ] || only=atomic-write
	check $name timeout $LIMIT python3 /repo/qemu/guest/wire_placement.py $DEV_B $gid4_b \
		$DEV_A $gid4_a $only
}

# multicast PREFIX: a multicast group between the namespaces over IPv4 (rdmacm-utils'
# mckey): two receivers in ns-b join group 239.1.2.3 and, once both wait for data, a sender
# in ns-a joins it and sends 10 datagrams to it; each receiver must take every one (it
# exits once 10 have arrived). Named PREFIX-ipv4-mckey.
multicast() {
	local name=$1-ipv4-mckey log=/host/logs/$1-ipv4-mckey.log pids=() i f rc=0 status end
	local args=(-m 239.1.2.3 -C 10 -S 256)
	stage_due $name mckey || return 0
	for i in 1 2; do
		ip netns exec $NS_B timeout -k 5 $LIMIT stdbuf -oL mckey "${args[@]}" -b $IP4_B \
			>"$log.receiver$i" 2>&1 &
		pids+=($!)
	done
	# Each prints this once it has joined, posted its receives and waits.
	end=$((SECONDS + READY))
	until [ "$(grep -l 'receiving data transfers' "$log.receiver1" "$log.receiver2" | wc -l)" = 2 ]; do
		if [ $SECONDS -ge $end ] || ! kill -0 "${pids[0]}" || ! kill -0 "${pids[1]}"; then
			echo "the receivers did not both wait for data within ${READY}s" >"$log.sender"
			rc=1
			break
		fi
		snooze 0.1
	done 2>/dev/null
	if [ $rc = 0 ]; then
		ip netns exec $NS_A timeout -k 5 $LIMIT stdbuf -oL mckey "${args[@]}" -s -b $IP4_A \
			>"$log.sender" 2>&1 || rc=$?
	fi
	for i in 0 1; do
		[ $rc = 0 ] || kill "${pids[$i]}" 2>/dev/null
		wait "${pids[$i]}" || { status=$?; [ $rc != 0 ] || rc=$status; }
	done
	for f in sender receiver1 receiver2; do
		echo "--- $f"
		cat "$log.$f"
		rm -f "$log.$f"
	done >"$log"
	case $rc in
	0) pass "$name" ;;
	124) fail "$name" "timed out after ${LIMIT}s (logs/$name.log)" ;;
	*) fail "$name" "exit $rc (logs/$name.log)" ;;
	esac
}

# nfs PREFIX DRIVER_A DRIVER_B: NFS over RDMA between the namespaces, over IPv4
# (qemu/guest/nfs_rdma.sh): an NFSv4 server in ns-a exports a tmpfs directory and listens
# for RPC over RDMA; a client in ns-b mounts it with proto=rdma, writes a file of 4 MiB of
# random bytes, unmounts, mounts again and reads it back, equal, and the server's
# directory holds the same bytes; each rrxe device received at least 1000 packets (4 MiB
# in RDMA reads and writes); the server stops cleanly. Named PREFIX-ipv4-nfs.
nfs() {
	local name=$1-ipv4-nfs export=/tmp/nfs-export data=/tmp/nfs-data state=/var/lib/nfs modules
	stage_due $name nfs || return 0
	modules=$(loaded_modules)
	# The server's state directory, on the read-only root, becomes writable for the run.
	check $name-export sh -c "mkdir -p $export && mount -t tmpfs -o size=16m nfs-export $export &&
		mount -t tmpfs nfs-state $state && mkdir $state/v4recovery && touch $state/etab $state/rmtab &&
		head -c 4194304 /dev/urandom >$data" || return 1
	if check $name-server-start ip netns exec $NS_A /repo/qemu/guest/nfs_rdma.sh server-start $export; then
		local before_a before_b
		before_a=$(rx_packets "$2" $DEV_A) && before_b=$(rx_packets "$3" $DEV_B)
		check $name timeout $LIMIT ip netns exec $NS_B /repo/qemu/guest/nfs_rdma.sh client $IP4_A $data
		check $name-server-copy cmp $data $export/file
		check $name-over-rrxe moved_by 1000 "$before_a" "$(rx_packets "$2" $DEV_A)" \
			"$before_b" "$(rx_packets "$3" $DEV_B)"
	fi
	check $name-server-stop ip netns exec $NS_A /repo/qemu/guest/nfs_rdma.sh server-stop
	# With what they loaded (sunrpc, lockd, the GSS and crypto helpers).
	check $name-modules-removed unload_since "$modules"
	check $name-unexport sh -c "umount $export && rmdir $export && umount $state && rm -f $data"
}

loaded_modules() {
	lsmod | awk 'NR > 1 { print $1 }' | xargs
}

# unload_since MODULES: unloads every module loaded but not in MODULES (a list of names),
# those no other module uses first; fails, naming them, if some cannot be unloaded.
unload_since() {
	local before=" $1 " m left progress
	while :; do
		left= progress=0
		for m in $(loaded_modules); do
			[[ $before == *" $m "* ]] && continue
			if rmmod "$m" 2>/dev/null; then progress=1; else left="$left $m"; fi
		done
		[ -n "$left" ] || return 0
		[ $progress = 1 ] || { echo "still loaded:$left"; return 1; }
	done
}

# rx_packets DRIVER DEV: the packets rrxe device DEV received ("-" for an rdma_rxe device).
rx_packets() {
	if [ "$1" = rrxe ]; then counter "$2" rx_packets; else echo -; fi
}

# moved_by N BEFORE_A AFTER_A BEFORE_B AFTER_B: whether each rrxe device's count went up by
# at least N ("-" for an rdma_rxe device).
moved_by() {
	echo "received: $DEV_A $2 -> $3, $DEV_B $4 -> $5"
	{ [ "$2" = - ] || [ $(($3 - $2)) -ge "$1" ]; } && { [ "$4" = - ] || [ $(($5 - $4)) -ge "$1" ]; }
}

# pairing DRIVER_A DRIVER_B FAMILIES: the tools over each of FAMILIES between
# a DRIVER_A device (the server's, in ns-a) and a DRIVER_B device (the
# client's, in ns-b), or (the loss stage) loss and reordering on the wire.
pairing() {
	local p=$prefix-$1-$2 f
	wire_skip=
	check $p-links-up links_up "$1" "$2" || wire_skip="not run: $p-links-up failed"
	if [ "$stage" = tools ]; then
		for f in $3; do
			family $p $f
		done
		placement $p "$1" "$2"
		# rdma_rxe's multicast datagrams do not reach another namespace (rdma_rxe to
		# rdma_rxe neither): its devices only receive here.
		[ "$1" != rrxe ] || multicast $p
		[ "$1:$2" != rrxe:rrxe ] || nfs $p "$1" "$2"
		[ "$1" != rrxe ] || check $p-statistic-a statistic $DEV_A
		[ "$2" != rrxe ] || check $p-statistic-b statistic $DEV_B
	else
		lossy $p "$1" "$2" loss1 loss 1%
		lossy $p "$1" "$2" loss10 loss 10%
		# netem reorders by sending some packets at once and delaying the rest.
		lossy $p "$1" "$2" reorder delay 2ms reorder 75% 50%
		faulted $p "$1" "$2" fault-drop5 --drop 5%
		faulted $p "$1" "$2" fault-mixed --duplicate 2% --delay 2% --corrupt 2%
		slow $p "$1" "$2"
		rerouted $p "$1" "$2"
		stray $p "$1"
		peer_gone $p "$1" "$2"
	fi
	wire_skip=
	check $p-links-del links_del
}

if check $prefix-netns-up netns_up; then
	check $prefix-netns-ping netns_ping
	for p in $pairings; do
		drivers=${p%%/*}
		pairing "${drivers%%:*}" "${drivers#*:}" "$(pairing_families "$p")"
	done
fi
check $prefix-netns-del netns_down
# modprobe -r: rdma_rxe's UDP tunnel modules go with it.
for m in "${modules[@]}"; do
	check "$prefix-rmmod-$m" modprobe -r "$m"
done
