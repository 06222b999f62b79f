# Helpers for guest scenarios (sourced in the guest).
#
# A scenario is a bash script under qemu/scenarios/ that records one line
# per test with `check` (or `pass`/`fail`). Environment: GUEST_NAME,
# GUEST_INDEX (1 or 2), NGUESTS, GUEST_IP, PEER_IP, SCENARIO.

RESULTS=/host/results

pass() { echo "PASS $1" >>"$RESULTS"; }
fail() { echo "FAIL $1${2:+: $2}" >>"$RESULTS"; }

# check NAME CMD [ARG...]: run CMD, logging to logs/NAME.log; record the
# outcome.
check() {
	local name=$1 rc
	shift
	echo "+ $*" >"/host/logs/$name.log"
	"$@" >>"/host/logs/$name.log" 2>&1
	rc=$?
	if [ "$rc" = 0 ]; then
		pass "$name"
	else
		fail "$name" "exit $rc (logs/$name.log)"
	fi
	return "$rc"
}

# barrier NAME [SECONDS]: wait until every guest of the run reached NAME.
barrier() {
	local name=$1 limit=${2:-120} i n
	touch "/shared/$name.$GUEST_INDEX"
	for ((i = 0; i < limit * 10; i++)); do
		n=$(ls /shared | grep -c "^$name\.")
		[ "$n" -ge "$NGUESTS" ] && return 0
		sleep 0.1
	done
	echo "barrier $name: timed out after ${limit}s" >&2
	return 1
}

# wait_tcp_listen PORT [SECONDS]: wait until a local TCP listener on PORT.
wait_tcp_listen() {
	local port=$1 limit=${2:-60} i
	for ((i = 0; i < limit * 10; i++)); do
		ss -Hltn "sport = :$port" | grep -q . && return 0
		sleep 0.1
	done
	echo "nothing listens on tcp port $port after ${limit}s" >&2
	return 1
}

# retry N CMD...: run CMD up to N times, one second apart, until it succeeds.
# For clients racing a server that has no observable readiness.
retry() {
	local n=$1 i
	shift
	for ((i = 1; i <= n; i++)); do
		"$@" && return 0
		[ "$i" -lt "$n" ] && sleep 1
	done
	return 1
}

# roce_v2_gid_index DEV IPV4: the GID table index of DEV's port 1 holding the
# RoCE v2 GID for IPV4.
roce_v2_gid_index() {
	local dev=$1 ip=$2 port=/sys/class/infiniband/$1/ports/1 f idx want
	want=$(printf '0000:0000:0000:0000:0000:ffff:%02x%02x:%02x%02x' ${ip//./ })
	# One grep over the table: a process per entry is slow on a debug guest.
	# Empty entries fail to read; their errors are expected.
	for f in $(grep -lx "$want" "$port"/gids/* 2>/dev/null); do
		idx=${f##*/}
		grep -qx "RoCE v2" "$port/gid_attrs/types/$idx" 2>/dev/null || continue
		echo "$idx"
		return 0
	done
	echo "no RoCE v2 GID for $ip on $dev" >&2
	return 1
}

# rdma_link_add NAME TYPE NETDEV: create a soft-RoCE device and wait for its
# port to become active.
rdma_link_add() {
	local name=$1 type=$2 netdev=$3 i
	rdma link add "$name" type "$type" netdev "$netdev" || return 1
	for ((i = 0; i < 100; i++)); do
		grep -q ACTIVE "/sys/class/infiniband/$name/ports/1/state" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "$name: port not ACTIVE after 10s" >&2
	return 1
}

# client_server NAME PORT SERVER_CMD... -- CLIENT_CMD...: run a server in the
# background until it listens on TCP PORT, then the client; both must exit 0.
# Records NAME.
client_server() {
	local name=$1 port=$2 srv=() cli=() spid rc=0
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do srv+=("$1"); shift; done
	shift
	cli=("$@")
	{
		echo "+ server: ${srv[*]}"
		echo "+ client: ${cli[*]}"
	} >"/host/logs/$name.log"
	timeout 120 "${srv[@]}" >"/host/logs/$name.server.log" 2>&1 &
	spid=$!
	if wait_tcp_listen "$port" 30 >>"/host/logs/$name.log" 2>&1; then
		timeout 120 "${cli[@]}" >>"/host/logs/$name.log" 2>&1 || rc=$?
	else
		rc=1
	fi
	[ "$rc" = 0 ] || kill "$spid" 2>/dev/null
	wait "$spid" || { [ "$rc" != 0 ] || rc=$?; }
	cat "/host/logs/$name.server.log" >>"/host/logs/$name.log"
	rm -f "/host/logs/$name.server.log"
	if [ "$rc" = 0 ]; then pass "$name"; else fail "$name" "exit $rc (logs/$name.log)"; fi
	return "$rc"
}
