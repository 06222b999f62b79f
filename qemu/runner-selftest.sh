#!/usr/bin/env bash
# Prove the runner can fail: run the deliberately broken scenario and check
# that each of its faults is reported and the run exits non-zero.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
out="$(repo_root)/out/selftest.txt"
"$here/run.sh" -n selftest -t 120 qemu/scenarios/selftest-broken.sh >"$out" 2>&1
rc=$?
expect() {
	local name=$1 pattern=$2
	if grep -Eq "$pattern" "$out"; then echo "PASS $name"; else echo "FAIL $name (out/selftest.txt)"; fi
}
expect runner-selftest-passing-test-reported '^PASS selftest-true$'
expect runner-selftest-scenario-exit-reported '^FAIL selftest-broken: scenario exited 3'
expect runner-selftest-kernel-warn-reported '^FAIL kernel-log: .*WARNING:'
expect runner-selftest-summary '^1 passed, 2 failed$'
if [ "$rc" != 0 ]; then echo "PASS runner-selftest-exit-status"; else echo "FAIL runner-selftest-exit-status: run.sh exited 0"; fi
