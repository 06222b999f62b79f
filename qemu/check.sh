#!/usr/bin/env bash
# `make check`: every test of the project, reported as one PASS/FAIL/SKIP line
# per test and a final `N passed, N failed, N skipped`. Exits non-zero on any
# failure, and on any result the expectations do not account for.
#
# The whole run has a deadline (RRXE_CHECK_MINUTES, default 87, from the
# start): every step is bounded by what remains of it, and the summary is
# printed even when it is reached.
#
# `check.sh --rejudge` (make rejudge) runs no test: it judges the results
# of the last run in out/ again, against the expectations as they are now
# (for a commit that updates them), and prints the summary.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(repo_root)
cd "$root"
rejudge=0
[ "${1:-}" != --rejudge ] || rejudge=1
if [ "$rejudge" = 1 ]; then
	[ -f out/check-results.txt ] || die "no out/check-results.txt: run make check first"
	# The last run's own results, without what its judges said.
	grep -Ev '^[A-Z]+ (pyverbs:|pyverbs-results|pyverbs-expectations|pyverbs-judge|results-manifest|expected-result:|unlisted-result:|check-deadline)' \
		out/check-results.txt >out/run-results.txt
else
	# Nothing of an earlier run may be read as this run's.
	rm -rf out
	mkdir -p out
fi

start=$(date +%s)
deadline=$((start + ${RRXE_CHECK_MINUTES:-87} * 60))
export RRXE_DEADLINE=$deadline
remaining() { echo $((deadline - $(date +%s))); }

# Every result line is echoed and kept in out/check-results.txt, counted at the
# end (tally runs in pipelines, whose subshells cannot keep counters).
results=out/check-results.txt
: >"$results"
tally() {
	local line
	while IFS= read -r line; do
		echo "$line"
		case $line in PASS\ * | FAIL\ * | SKIP\ * | NOTE\ *) echo "$line" >>"$results" ;; esac
	done
}
# bounded CMD...: CMD under what remains of the deadline (a shell function
# of this script runs in a bash that has it).
bounded() {
	local left
	left=$(remaining)
	[ "$left" -gt 0 ] || return 124
	if [ "$(type -t "$1")" = function ]; then
		timeout -k 10 "$left" bash -euo pipefail -c "$(declare -f "$1"); $(printf '%q ' "$@")"
	else
		timeout -k 10 "$left" "$@"
	fi
}
# host_check NAME CMD...: a test run on the host, logged to out/NAME.log.
host_check() {
	local name=$1 rc=0
	shift
	bounded "$@" >"out/$name.log" 2>&1 || rc=$?
	if [ "$rc" = 0 ]; then
		echo "PASS $name"
	elif [ "$rc" = 124 ]; then
		echo "FAIL $name: cut at make check's deadline (out/$name.log)"
	else
		echo "FAIL $name: exit $rc (out/$name.log)"
		tail -n 30 "out/$name.log" | sed 's/^/    | /' >&2
	fi
}
step() { log "== $*  [$(($(date +%s) - start))s]"; }
# The README quotes the parity figure computed from the committed tables.
readme_parity_current() {
	local figure
	figure=$(python3 qemu/pyverbs_tables.py parity tests/pyverbs/rxe0-reference.tsv \
		tests/pyverbs/rrxe0-expected.tsv) || return 1
	figure=${figure%%$'\n'*}
	[ -n "$figure" ] || return 1
	echo "$figure"
	grep -qxF "$figure" README.md || { echo "README.md does not quote it" >&2; return 1; }
}

# judge_step NAME CMD...: a judging script whose lines are results; if it
# fails to run to its end, that is a failure of its own.
judge_step() {
	local name=$1 rc=0
	shift
	"$@" >"out/$name.txt" 2>"out/$name.log" || rc=$?
	tally <"out/$name.txt"
	[ "$rc" = 0 ] || echo "FAIL $name: exited $rc (out/$name.log)" | tally
}

# Everything but the judging: builds, host checks, guest runs.
run_tests() {
	step "test kernel, guest image"
	host_check build-test-kernel "$here/build-kernel.sh" debug | tally
	host_check build-guest-image "$here/build-guest.sh" | tally
	cp "$RRXE_CACHE/guest/rootfs/.rrxe-packages" out/guest-packages.txt 2>/dev/null

	step "driver build and lints"
	{
		# The kernel crate (with the RDMA abstractions) was compiled under
		# clippy by the kernel build; rrxe.ko is built under clippy here, once,
		# and that build is the one the guests load.
		host_check kernel-crate-clippy-warning-free "$here/rust-warnings.sh" \
			"$(kernel_build debug)/.rrxe-build.log"
		host_check build-rrxe.ko-clippy-warning-free make -s clippy-module
		host_check install-rrxe.ko-in-guest-modules make -s install-built-module
		host_check rustfmt make -s rustfmtcheck
		host_check no-unsafe-in-src sh -c '! grep -rnw unsafe src/'
		host_check readme-parity-figure-current readme_parity_current
		host_check rrxectl-unit-tests-clippy-rustfmt "$here/build-tools.sh" --test
		host_check install-rrxectl-in-guest-tools "$here/build-tools.sh"
	} | tally

	# Two guest runs side by side: the rrxe scenarios, the kernel's rdma
	# selftests and loss on the wire (rrxe to rrxe, 2 MiB each way under each
	# loss; `make interop` moves 64 MiB, to and from rdma_rxe too) in one;
	# KUnit, the whole pyverbs suite and the wire between two namespaces in
	# the other (four of its tool runs per pairing and family: rrxe to rrxe
	# over both GIDs, to rdma_rxe over IPv4; per pairing atomic writes and
	# flushes, a multicast group, and NFS over RDMA; `make interop` runs them
	# all, over both GIDs, from rdma_rxe too). The runner's self-test (three
	# short boots) starts once the first of them is done, so that it does not
	# slow both.
	step "guests: rrxe scenarios | KUnit, pyverbs suite, wire; then the runner self-test"
	bounded "$here/run.sh" -n rrxe -d "$deadline" \
		-a "WIRE_DRIVERS=rrxe:rrxe WIRE_LOSS_MIB=2" qemu/scenarios/rrxe-device.sh \
		qemu/scenarios/rrxe-data.sh qemu/scenarios/rrxe-kernel.sh qemu/scenarios/rrxe-selftests.sh \
		qemu/scenarios/rrxe-wire-loss.sh >out/run-rrxe.txt 2>&1 &
	rrxe_run=$!
	bounded "$here/run.sh" -n pyverbs -d "$deadline" \
		-a "WIRE_DRIVERS=rrxe:rrxe,rrxe:rxe/ipv4 WIRE_TOOLS=ibv_rc_pingpong-mtu1024,ibv_ud_pingpong,ib_write_bw-mtu4096,rping,placement,mckey,nfs" \
		qemu/scenarios/kunit.sh qemu/scenarios/pyverbs-rrxe.sh qemu/scenarios/rrxe-wire.sh \
		>out/run-pyverbs.txt 2>&1 &
	pyverbs_run=$!
	local -A exit_of
	local first rc name pid
	rc=0
	wait -n -p first "$rrxe_run" "$pyverbs_run" || rc=$?
	exit_of[$first]=$rc
	bounded "$here/runner-selftest.sh" >out/run-selftest.txt 2>&1 &
	selftest_run=$!
	for run in rrxe:$rrxe_run pyverbs:$pyverbs_run selftest:$selftest_run; do
		name=${run%%:*} pid=${run#*:}
		if [ -z "${exit_of[$pid]+set}" ]; then
			rc=0
			wait "$pid" || rc=$?
			exit_of[$pid]=$rc
		fi
		step "guest run $name: exit ${exit_of[$pid]}"
		grep -Ev '^[0-9]+ passed, [0-9]+ failed' "out/run-$name.txt" | tally
		account_run "run-$name" "${exit_of[$pid]}" "out/run-$name.txt" | tally
	done
}

if [ "$rejudge" = 1 ]; then
	tally <out/run-results.txt >/dev/null
else
	run_tests
	# Where the guests' time went: scenarios and checks, slowest first.
	for t in out/*/g*/timings.tsv; do
		[ -f "$t" ] && sed "s|^|${t#out/}\t|; s|/timings.tsv||" "$t"
	done | sort -t$'\t' -k3,3nr >out/timings.tsv
	log "slowest (out/timings.tsv):"
	head -n 15 out/timings.tsv | sed 's/^/    /' >&2
fi

step "pyverbs against its expectations"
judge_step pyverbs-judge python3 qemu/pyverbs_tables.py judge tests/pyverbs/rrxe0-expected.tsv \
	out/pyverbs/g1/pyverbs-rrxe0.tsv

step "every result accounted for"
judge_step results-manifest python3 qemu/results_manifest.py tests/expected-results.txt "$results"
grep -q '^PASS results-manifest' "$results" ||
	echo "FAIL results-manifest-held: not every result was accounted for" | tally

if [ "$(remaining)" -le 0 ]; then
	echo "FAIL check-deadline: make check reached its ${RRXE_CHECK_MINUTES:-87}-minute deadline" | tally
fi
notes=$(grep -c '^NOTE ' "$results")
[ "$notes" = 0 ] || log "$notes NOTE line(s): expectations to update (see above)"
passed=$(grep -c '^PASS ' "$results")
failed=$(grep -c '^FAIL ' "$results")
skipped=$(grep -c '^SKIP ' "$results")
step "done in $((($(date +%s) - start) / 60)) min"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
