#!/usr/bin/env bash
# `make check`: every test of the project, reported as one PASS/FAIL line per
# test and a final `N passed, N failed`. Exits non-zero on any failure.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(repo_root)
cd "$root"
mkdir -p out

# Every result line is echoed and kept in out/check-results.txt, counted at the
# end (tally runs in pipelines, whose subshells cannot keep counters).
results=out/check-results.txt
: >"$results"
tally() {
	local line
	while IFS= read -r line; do
		echo "$line"
		case $line in PASS\ * | FAIL\ * | SKIP\ *) echo "$line" >>"$results" ;; esac
	done
}
# host_check NAME CMD...: a test run on the host, logged to out/NAME.log.
host_check() {
	local name=$1
	shift
	if "$@" >"out/$name.log" 2>&1; then
		echo "PASS $name"
	else
		echo "FAIL $name (out/$name.log)"
		tail -n 30 "out/$name.log" | sed 's/^/    | /' >&2
	fi
}
# guest_run ARGS...: qemu/run.sh, its result lines tallied, its summary dropped.
guest_run() { "$here/run.sh" "$@" 2>&1 | grep -Ev '^[0-9]+ passed, [0-9]+ failed' | tally; }

step() { log "== $*"; }

step "test kernel, guest image"
"$here/build-kernel.sh" debug || die "test kernel build failed"
"$here/build-guest.sh" || die "guest image build failed"

step "driver build"
{
	host_check build-rrxe.ko-clippy-warning-free make -s clippy
	host_check install-rrxe.ko-in-guest-modules make -s modules_install
	host_check rustfmt make -s rustfmtcheck
	host_check no-unsafe-in-src sh -c '! grep -rnw unsafe src/'
} | tally

step "one guest: KUnit, the rrxe device, its data path and kernel consumers, C rxe tools, pyverbs"
guest_run -n single -t 3000 qemu/scenarios/kunit.sh qemu/scenarios/rrxe-device.sh qemu/scenarios/rrxe-data.sh \
	qemu/scenarios/rrxe-kernel.sh \
	qemu/scenarios/rxe-tools.sh qemu/scenarios/pyverbs-rxe.sh
[ -f out/single/g1/pyverbs-rxe0.tsv ] && cp out/single/g1/pyverbs-rxe0.tsv out/

step "two guests: C rxe across the link"
guest_run -n two -g 2 -t 300 qemu/scenarios/two-guest-rxe.sh

step "runner self-test: a broken scenario must fail the run"
"$here/runner-selftest.sh" 2>&1 | tally

passed=$(grep -c '^PASS ' "$results")
failed=$(grep -c '^FAIL ' "$results")
skipped=$(grep -c '^SKIP ' "$results")
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
