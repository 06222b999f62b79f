# `make bench`, on the bench kernel: rrxe and rdma_rxe take turns in the same
# boot over BENCH_REPS repetitions (3 by default; the order of the two drivers
# swaps every repetition), each running perftest's bandwidth and latency tests
# with a device of the driver at each end; then, each repetition, the
# ceilings of the same path: TCP and UDP (iperf3) and the guest's memory copy
# bandwidth (perf bench). With each driver, where the clients run, the rates
# of the control path too: RC queue pairs created and destroyed per second
# (BENCH_QPS of them, 1000 by default) and a user memory region of
# BENCH_MR_MIB (1024) MiB registered and deregistered (the median of three,
# qemu/guest/verbs_rates.py); and, in the netns topology, NVMe over RDMA: an
# nvmet-rdma target and the nvme-rdma host on one device of the driver on
# eth0 (the RDMA CM of both is in the initial namespace, so the two cannot
# sit in ns-a and ns-b), with fio's 4 KiB random reads (IOPS, 32 in flight)
# and 128 KiB sequential reads (MiB/s, 8 in flight), BENCH_SECONDS each.
#
# BENCH_TOPOLOGY=netns (the default): two network namespaces of one guest
# joined by a veth pair (qemu/guest/netns.sh). BENCH_TOPOLOGY=guests: two
# guests over QEMU's link (qemu/run.sh -g 2), the servers in the first, the
# clients in the second; the two keep step with barriers.
#
# Every figure is a line of /host/bench.tsv (TOPOLOGY REP DRIVER MEASURE VALUE
# UNIT), written where the clients run; qemu/bench_report.py takes the
# medians. BENCH_ONLY keeps the measures whose names it lists (comma-
# separated). A tool that fails records a FAIL and no figure; nothing here
# asserts a speed.
# timeout: 3000
. /repo/qemu/guest/lib.sh
. /repo/qemu/guest/netns.sh

TSV=/host/bench.tsv
REPS=${BENCH_REPS:-3}
# Mebibytes each bandwidth run moves (perftest's duration mode, -D, reports
# no bandwidth at times under TCG), the iterations of each latency and atomic
# run, and the seconds of each iperf3 run.
RUN_MIB=${BENCH_MIB:-64}
LAT_ITERS=${BENCH_LAT_ITERS:-2000}
ATOMIC_ITERS=${BENCH_ATOMIC_ITERS:-20000}
RUN_SECONDS=${BENCH_SECONDS:-4}
LIMIT=180 READY=60
only=${BENCH_ONLY:-}
only=" ${only//,/ } "
topology=${BENCH_TOPOLOGY:-netns}
port=19000
case $topology in
netns) server=1 client=1 server_ip=$IP4_A ;;
guests)
	server=0 client=0 server_ip=$PEER_IP
	[ "$GUEST_INDEX" = 1 ] && server=1
	[ "$GUEST_INDEX" = 2 ] && client=1
	DEV_A=bench0 DEV_B=bench0
	;;
*) fail bench-topology "unknown topology '$topology' (netns or guests)"; exit 1 ;;
esac

# due MEASURE: whether BENCH_ONLY, if set, names MEASURE.
due() { [ "$only" = "  " ] || [[ $only == *" $1 "* ]]; }

# record REP DRIVER MEASURE VALUE UNIT
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$topology" "$@" >>$TSV; }

# in_server CMD...: CMD where the servers run, in place of the (background)
# shell that runs this, so that the server's PID is that shell's; in_client
# CMD...: CMD where the clients run.
in_server() { if [ $topology = netns ]; then exec ip netns exec $NS_A "$@"; else exec "$@"; fi; }
in_client() { if [ $topology = netns ]; then ip netns exec $NS_B "$@"; else "$@"; fi; }

# pair NAME SERVER... -- CLIENT...: SERVER until it listens on TCP port $port,
# then CLIENT; both must exit 0 within LIMIT seconds. Between two guests,
# each runs its half, and the client starts once the server's guest has seen
# it listen (or fail to). The client's output is in /host/logs/NAME.log.
pair() {
	local name=$1 srv=() spid rc=0 log=/host/logs/$1.log end
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do srv+=("$1"); shift; done
	shift
	echo "+ server: ${srv[*]}; client: $*" >"$log"
	if [ $server = 1 ]; then
		in_server timeout -k 5 $LIMIT "${srv[@]}" >"$log.server" 2>&1 &
		spid=$!
		end=$((SECONDS + READY))
		until listening $spid $port; do
			if ! kill -0 $spid 2>/dev/null || [ $SECONDS -ge $end ]; then
				rc=1
				break
			fi
			snooze 0.1
		done
	fi
	[ $topology = netns ] || barrier $name-listening $READY || rc=1
	if [ $client = 1 ] && [ $rc = 0 ]; then
		in_client timeout -k 5 $LIMIT "$@" >>"$log" 2>&1 || rc=$?
	fi
	if [ $server = 1 ]; then
		[ $rc = 0 ] || kill $spid 2>/dev/null
		wait $spid || { [ $rc != 0 ] || rc=$?; }
		{ echo "--- server"; cat "$log.server"; } >>"$log"
		rm -f "$log.server"
	fi
	[ $rc = 0 ] || fail "$name" "exit $rc (logs/$name.log)"
	return $rc
}

# perf_run REP DRIVER MEASURE COLUMN UNIT TOOL ARG...: a perftest pair over
# the IPv4 GIDs; records the figure in column COLUMN of the client's result
# line (the first numeric line after the header starting with #bytes).
perf_run() {
	local rep=$1 drv=$2 measure=$3 col=$4 unit=$5 tool=$6 value name
	shift 6
	due "$measure" || return 0
	name=bench-$topology-$drv-$rep-$measure
	port=$((port + 1))
	pair $name $tool -d $DEV_A -x $gid_server -F -p $port "$@" -- \
		$tool -d $DEV_B -x $gid_client -F -p $port "$@" $server_ip || return 1
	[ $client = 1 ] || return 0
	value=$(awk -v c="$col" 'f && NF >= c && $1 ~ /^[0-9]+$/ {print $c; exit} /^ *#bytes/ {f=1}' \
		/host/logs/$name.log)
	if [ -z "$value" ]; then
		fail "$name" "no result line (logs/$name.log)"
		return 1
	fi
	record "$rep" "$drv" "$measure" "$value" "$unit"
}

# iterations SIZE QPS: the iterations per queue pair of a bandwidth run of
# SIZE-byte messages over QPS queue pairs that moves RUN_MIB mebibytes; at
# least 64 (and perftest's own minimum, twice its 32 requests in flight).
iterations() {
	local n=$((RUN_MIB * 1048576 / $1 / $2))
	echo $((n < 64 ? 64 : n))
}

# devices_up DRIVER: a DRIVER device at each end, with the GID indexes of its
# IPv4 address.
devices_up() {
	local g
	if [ $topology = netns ]; then
		links_up $1 $1 || return 1
		gid_server=$gid4_a gid_client=$gid4_b
	else
		rdma_link_add bench0 $1 eth0 && g=$(roce_v2_gid_index bench0 "$GUEST_IP") || return 1
		gid_server=$g gid_client=$g
	fi
}

# driver_runs REP DRIVER: every perftest measure over DRIVER's devices.
driver_runs() {
	local rep=$1 drv=$2 op size q name=bench-$topology-$2-$1
	check $name-devices-up devices_up $drv || return 1
	[ $topology = netns ] || barrier $name-devices-up || return 1
	for op in send write read; do
		for size in 4096 65536 1048576; do
			perf_run $rep $drv ib_${op}_bw-$((size / 1024))k 4 MiB/s ib_${op}_bw -s $size \
				-n $(iterations $size 1)
		done
	done
	for op in send write read; do
		for size in 2 4096; do
			perf_run $rep $drv ib_${op}_lat-$size 5 us ib_${op}_lat -s $size -n $LAT_ITERS
		done
	done
	perf_run $rep $drv ib_atomic_bw 5 Mops/s ib_atomic_bw -n $ATOMIC_ITERS
	# Many queue pairs' windows at once overflow the receivers' queues (of either
	# driver), and perftest's local ACK timeout of 67 ms (14) with 7 retries
	# then ends a queue pair: these runs take 4 s (20). 32 requests in flight per
	# queue pair: perftest's one completion queue for all holds 32 x 512 of them,
	# within both drivers' limit.
	for q in 64 512; do
		perf_run $rep $drv ib_write_bw-64k-q$q 4 MiB/s ib_write_bw -s 65536 -q $q -t 32 -u 20 \
			-n $(iterations 65536 $q)
	done
	control_rates $rep $drv
	nvme_runs $rep $drv
	[ $topology = netns ] || barrier $name-done || return 1
	# What the devices counted, for reading the run.
	if [ $drv = rrxe ]; then
		rdma statistic show link $DEV_A/1 && { [ $DEV_B = $DEV_A ] || rdma statistic show link $DEV_B/1; }
	fi >/host/logs/$name-statistic.log 2>&1
	if [ $topology = netns ]; then
		check $name-devices-del links_del
	else
		check $name-devices-del rdma link del bench0
	fi
	check $name-rmmod modprobe -r "$(module_of $drv)"
}

# control_rates REP DRIVER: the control path's rates on the client's device
# (qemu/guest/verbs_rates.py), each figure recorded under its own name.
control_rates() {
	local rep=$1 drv=$2 name=bench-$topology-$2-$1-verbs-rates measure value unit
	due qp_create || due qp_destroy || due mr_reg || due mr_dereg || return 0
	[ $client = 1 ] || return 0
	check $name timeout $LIMIT python3 /repo/qemu/guest/verbs_rates.py $DEV_B \
		${BENCH_QPS:-1000} ${BENCH_MR_MIB:-1024} 3 || return 1
	while read -r measure value unit; do
		case $measure in
		qp_create | qp_destroy | mr_reg | mr_dereg)
			! due $measure || record $rep $drv $measure "$value" "$unit"
			;;
		esac
	done </host/logs/$name.log
}

# fio_read NAME RW BLOCK DEPTH: fio reading /dev/$nvme_dev (direct I/O, libaio)
# for BENCH_SECONDS; prints the read IOPS and MiB/s.
fio_read() {
	local rc=0
	fio --name=$1 --filename=/dev/$nvme_dev --direct=1 --ioengine=libaio --rw=$2 --bs=$3 \
		--iodepth=$4 --runtime=$RUN_SECONDS --time_based --output-format=json \
		--output=/tmp/$1.json >>/host/logs/$1.log 2>&1 || rc=$?
	cat /tmp/$1.json >>/host/logs/$1.log 2>&1
	[ $rc = 0 ] || { echo "fio exited $rc" >>/host/logs/$1.log; return 1; }
	python3 -c 'import json, sys
text = open(sys.argv[1]).read()
# fio may print notes before the JSON document.
read = json.JSONDecoder().raw_decode(text[text.index("{"):])[0]["jobs"][0]["read"]
print("%.0f %.2f" % (read["iops"], read["bw_bytes"] / 1048576))' /tmp/$1.json 2>>/host/logs/$1.log
}

# nvme_runs REP DRIVER: NVMe over RDMA on a DRIVER device on eth0, target and
# host in the initial namespace (netns topology only): fio's 4 KiB random
# read IOPS and 128 KiB sequential read bandwidth.
nvme_runs() {
	local rep=$1 drv=$2 name=bench-$topology-$2-$1-nvme figures
	[ $topology = netns ] || return 0
	due nvme-randread-4k || due nvme-read-128k || return 0
	if check $name-up nvme_bench_up $drv; then
		if due nvme-randread-4k && figures=$(fio_read $name-randread-4k randread 4k 32); then
			record $rep $drv nvme-randread-4k "${figures% *}" IOPS
		elif due nvme-randread-4k; then
			fail $name-randread-4k "fio failed (logs/$name-randread-4k.log)"
		fi
		if due nvme-read-128k && figures=$(fio_read $name-read-128k read 128k 8); then
			record $rep $drv nvme-read-128k "${figures#* }" MiB/s
		elif due nvme-read-128k; then
			fail $name-read-128k "fio failed (logs/$name-read-128k.log)"
		fi
	fi
	check $name-down nvme_down benchnv0 $drv eth0
	check $name-link-del rdma link del benchnv0
}

# nvme_bench_up DRIVER: a DRIVER device on eth0, the target on it and the host
# connected.
nvme_bench_up() {
	rdma_link_add benchnv0 $1 eth0 && nvme_target_up && nvme_host_connect
}

# ceilings REP: TCP and UDP over the same path (iperf3, client to server) and
# the memory copy bandwidth (perf bench), recorded as driver "ceiling".
ceilings() {
	local rep=$1 mode args value name
	for mode in tcp udp; do
		due iperf3-$mode || continue
		args=()
		# UDP: unlimited rate, datagrams that fill the veth's MTU of 9000 (or are
		# fragmented on a 1500-byte link, as RoCE's are not).
		[ $mode = tcp ] || args=(-u -b 0 -l 8900)
		port=$((port + 1))
		name=bench-$topology-iperf3-$rep-$mode
		pair $name iperf3 -s -1 -p $port -- \
			iperf3 -c $server_ip -p $port -t $RUN_SECONDS -J "${args[@]}" || continue
		[ $client = 1 ] || continue
		value=$(python3 /repo/qemu/guest/iperf3_rate.py /host/logs/$name.log) ||
			{ fail $name "no result (logs/$name.log)"; continue; }
		record $rep ceiling iperf3-$mode "$value" MiB/s
	done
	if due memcpy && [ $client = 1 ]; then
		name=bench-$topology-$rep-memcpy
		check $name perf bench mem memcpy -s 64MB -l 20 -f default || return 1
		# perf prints GB/sec or MB/sec, in units of 2^30 and 2^20 bytes.
		value=$(awk '$2 == "GB/sec" {printf "%.2f\n", $1 * 1024; exit}
			$2 == "MB/sec" {printf "%.2f\n", $1; exit}' /host/logs/$name.log)
		[ -n "$value" ] && record $rep ceiling memcpy "$value" MiB/s
	fi
}

: >$TSV
if [ $topology = netns ]; then
	check bench-netns-up netns_up || exit 1
else
	# The devices' GIDs and the ceilings use the IPv4 addresses on eth0.
	check bench-guests-ping ping -c 1 -W 5 "$PEER_IP" || exit 1
fi
for ((rep = 1; rep <= REPS; rep++)); do
	if ((rep % 2)); then order="rrxe rxe"; else order="rxe rrxe"; fi
	for drv in $order; do
		if ! driver_runs $rep $drv; then
			links_del
			[ $topology = netns ] || rdma link del bench0 2>/dev/null
			modprobe -r "$(module_of $drv)"
		fi
	done
	ceilings $rep
done
[ $topology != netns ] || check bench-netns-del netns_down
