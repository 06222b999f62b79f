#!/bin/bash
# What a scenario may change in the guest and must put back: RDMA links,
# modules, network links with their MTU and state, addresses, and mounts.
#
#   state.sh snapshot FILE     the state now, sorted, into FILE
#   state.sh changes BASELINE  what differs from BASELINE: `+ LINE` added,
#                              `- LINE` gone
#   state.sh restore BASELINE  undo what was added since BASELINE
#
# Run by init.sh under a time limit, so that a guest whose state cannot be
# read still reports it.
set -u
export LC_ALL=C

state() {
	rdma link show 2>/dev/null | awk '{print "rdma-link", $2}'
	lsmod | awk 'NR > 1 {print "module", $1}'
	ip -o link show | awk '{sub(/@.*/, "", $2); up = $3 ~ /[<,]UP[,>]/ ? "up" : "down"; print "netdev", $2, $4, $5, up}'
	ip -o addr show | awk '{print "address", $2, $4}'
	awk '{print "mount", $2, $3}' /proc/mounts
}
snapshot() { state | sort >"$1" && [ -s "$1" ]; }
added() {
	local now
	now=$(mktemp)
	snapshot "$now" || return 1
	comm -13 "$1" "$now"
	rm -f "$now"
}

case ${1:-} in
snapshot) snapshot "$2" ;;
changes)
	now=$(mktemp)
	snapshot "$now" || exit 1
	comm -13 "$2" "$now" | sed 's/^/+ /'
	comm -23 "$2" "$now" | sed 's/^/- /'
	rm -f "$now"
	;;
restore)
	rdma link show 2>/dev/null | awk '{print $2}' | sed 's|/.*||' | while read -r l; do
		rdma link del "$l"
	done
	added "$2" | awk '$1 == "mount" {print $2}' | sort -r | while read -r l; do umount "$l"; done
	for _ in 1 2 3; do
		added "$2" | awk '$1 == "module" {print $2}' | while read -r l; do rmmod "$l" 2>/dev/null; done
	done
	added "$2" | awk '$1 == "netdev" && $2 != "eth0:" {print $2}' | sed 's/:$//' |
		while read -r l; do ip link del "$l" 2>/dev/null; done
	ip link set eth0 mtu 1500 up
	;;
*)
	echo "usage: state.sh snapshot FILE | changes BASELINE | restore BASELINE" >&2
	exit 2
	;;
esac
