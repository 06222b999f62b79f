#!/usr/bin/env bash
# Prove that the harness can fail: each kind of fault must be reported as a
# failure and fail its run. Prints one PASS/FAIL line per fault kind.
#
# Guest faults (three boots, run side by side): a scenario that exits
# non-zero, one that records no test, one that outlives its limit, a kernel
# WARN, a KASAN report, a kmemleak leak, a hung task (which must end the boot
# at once), and a guest that never reaches its init. Host faults: a run of a
# scenario that does not exist, a missing or empty pyverbs table, a test
# doing worse than its expectation, and results the manifest does not list
# or misses.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(repo_root)
out="$root/out/runner-selftest"
mkdir -p "$out"
deadline_args=()
[ -z "${RRXE_DEADLINE:-}" ] || deadline_args=(-d "$RRXE_DEADLINE")

# expect NAME FILE PATTERN: PASS when FILE has a line matching PATTERN.
expect() {
	if grep -Eq "$3" "$2"; then
		echo "PASS runner-selftest-$1"
	else
		echo "FAIL runner-selftest-$1: no line matching '$3' in ${2#"$root"/}"
	fi
}
# expect_rc NAME RC: PASS when the run exited non-zero.
expect_rc() {
	if [ "$2" != 0 ]; then echo "PASS runner-selftest-$1"; else echo "FAIL runner-selftest-$1: exited 0"; fi
}

# These boots start beside make check's two long guests: five debug guests on two cores
# may take longer than run.sh's default 300 s to reach init, so they get 600 s. They have
# one vCPU each: none of their faults needs two, and with two vCPU threads per guest on
# the loaded host one boot stalled in early boot past its 600 s.
"$here/run.sh" -n selftest-faults -c 1 -b 600 "${deadline_args[@]}" \
	qemu/selftest/selftest-broken.sh qemu/selftest/selftest-no-test.sh \
	qemu/selftest/selftest-hang.sh >"$out/faults.txt" 2>&1 &
faults=$!
"$here/run.sh" -n selftest-hung -c 1 -b 600 "${deadline_args[@]}" \
	qemu/selftest/selftest-hung-task.sh >"$out/hung.txt" 2>&1 &
hung=$!
"$here/run.sh" -n selftest-noboot -c 1 -b 30 -a "init=/bin/sleep 3600" "${deadline_args[@]}" \
	qemu/selftest/selftest-no-test.sh >"$out/noboot.txt" 2>&1 &
noboot=$!

# Host faults, while the guests run.
"$here/run.sh" -n selftest-missing qemu/scenarios/no-such-scenario.sh >"$out/missing.txt" 2>&1
rc=$?
account_run selftest-missing "$rc" "$out/missing.txt" >"$out/missing-accounted.txt"
expect run-of-missing-scenario-fails "$out/missing-accounted.txt" '^FAIL selftest-missing: '

tables="$out/tables"
rm -rf "$tables" && mkdir -p "$tables"
printf '%s\n' "# a synthetic expectation table" "test	expected	detail	cause" \
	"tests.test_a.A.test_pass	pass		" \
	"tests.test_a.A.test_skip	skip	Device does not support X	not offered by soft-RoCE" \
	"tests.test_a.A.test_known	error	Errno: 95, Operation not supported	not offered yet" \
	>"$tables/expected.tsv"
printf '%s\n' "# result" "test	result	detail" "tests.test_a.A.test_pass	pass	" \
	"tests.test_a.A.test_skip	skip	Device does not support X" \
	"tests.test_a.A.test_known	error	Errno: 95, Operation not supported" >"$tables/same.tsv"
judge() { python3 "$here/pyverbs_tables.py" judge "$@" 2>/dev/null; }
judge "$tables/expected.tsv" "$tables/same.tsv" >"$tables/same.out"
if [ "$(grep -c '^PASS\|^SKIP' "$tables/same.out")" = 3 ] && ! grep -q '^FAIL' "$tables/same.out"; then
	echo "PASS runner-selftest-pyverbs-as-expected-accepted"
else
	echo "FAIL runner-selftest-pyverbs-as-expected-accepted: $(tr '\n' ';' <"$tables/same.out")"
fi
judge "$tables/expected.tsv" "$tables/absent.tsv" >"$tables/absent.out"
expect pyverbs-missing-table-fails "$tables/absent.out" '^FAIL pyverbs-results: no result table'
printf '%s\n' "test	result	detail" >"$tables/empty.tsv"
judge "$tables/expected.tsv" "$tables/empty.tsv" >"$tables/empty.out"
expect pyverbs-empty-table-fails "$tables/empty.out" '^FAIL pyverbs-results: .* has no test'
sed 's/^\(tests.test_a.A.test_pass\)\tpass\t/\1\tskip\tDevice does not support Y/' \
	"$tables/same.tsv" >"$tables/worse.tsv"
judge "$tables/expected.tsv" "$tables/worse.tsv" >"$tables/worse.out"
expect pyverbs-worse-than-expected-fails "$tables/worse.out" '^FAIL pyverbs:test_a.A.test_pass: skip, expected pass'
sed 's/Operation not supported/Invalid argument/' "$tables/same.tsv" >"$tables/other-error.tsv"
judge "$tables/expected.tsv" "$tables/other-error.tsv" >"$tables/other-error.out"
expect pyverbs-other-error-than-expected-fails "$tables/other-error.out" '^FAIL pyverbs:test_a.A.test_known: error with'
echo "tests.test_a.A.test_new	pass	" >>"$tables/worse.tsv"
judge "$tables/expected.tsv" "$tables/worse.tsv" >"$tables/unlisted.out"
expect pyverbs-test-without-expectation-fails "$tables/unlisted.out" '^FAIL pyverbs:test_a.A.test_new: not in'
sed 's/^\(tests.test_a.A.test_known\)\terror\t.*/\1\tpass\t/' "$tables/same.tsv" >"$tables/better.tsv"
judge "$tables/expected.tsv" "$tables/better.tsv" >"$tables/better.out"
expect pyverbs-better-than-expected-noted "$tables/better.out" '^NOTE pyverbs:test_a.A.test_known: now pass'
sed 's/^\(tests.test_a.A.test_known\)\terror\t.*/\1\tskip\tDevice does not support Z/' "$tables/same.tsv" >"$tables/skip.tsv"
judge "$tables/expected.tsv" "$tables/skip.tsv" >"$tables/skip.out"
expect pyverbs-skip-where-error-expected-fails "$tables/skip.out" '^FAIL pyverbs:test_a.A.test_known: skip with'
sed 's/not offered by soft-RoCE$//' "$tables/expected.tsv" >"$tables/no-cause.tsv"
judge "$tables/no-cause.tsv" "$tables/same.tsv" >"$tables/no-cause.out"
expect pyverbs-expectation-without-cause-fails "$tables/no-cause.out" '^FAIL pyverbs:test_a.A.test_skip: .* names no cause'

printf '%s\n' "PASS one" "PASS one" >"$tables/manifest.txt"
python3 "$here/results_manifest.py" "$tables/manifest.txt" "$tables/manifest.txt" >"$tables/manifest.out"
expect manifest-listing-twice-fails "$tables/manifest.out" '^FAIL results-manifest: .* listed twice'
python3 "$here/results_manifest.py" "$tables/absent.txt" "$tables/manifest.txt" >"$tables/manifest.out"
expect manifest-missing-fails "$tables/manifest.out" '^FAIL results-manifest: '
printf '%s\n' "PASS one" "SKIP two" >"$tables/manifest.txt"
printf '%s\n' "PASS one" "PASS three" >"$tables/results.txt"
python3 "$here/results_manifest.py" "$tables/manifest.txt" "$tables/results.txt" >"$tables/manifest.out"
expect manifest-missing-result-fails "$tables/manifest.out" '^FAIL expected-result:two: not reported'
expect manifest-unlisted-result-fails "$tables/manifest.out" '^FAIL unlisted-result:three:'

# The guests.
wait $faults
rc=$?
f="$out/faults.txt"
expect passing-test-reported "$f" '^PASS selftest-true$'
expect scenario-exit-reported "$f" '^FAIL selftest-broken: scenario exited 3'
expect scenario-without-test-reported "$f" '^FAIL selftest-no-test: scenario recorded no test'
expect hung-scenario-reported "$f" '^FAIL selftest-hang: timed out after 10s'
expect kernel-warn-reported "$f" '^FAIL kernel-log:warning: .*WARNING:'
expect kasan-report-reported "$f" '^FAIL kernel-log:kasan: .*BUG: KASAN: .*use-after-free'
expect kmemleak-leak-reported "$f" '^FAIL kernel-log:kmemleak: unreferenced object'
expect leftover-module-reported "$f" '^FAIL selftest-broken-restores-guest: left .*module kmemleak_test'
expect_rc faulty-run-exit-status "$rc"
# Every FAIL line printed is counted in the run's summary.
if grep -qx "$(grep -c '^PASS ' "$f") passed, $(grep -c '^FAIL ' "$f") failed" "$f"; then
	echo "PASS runner-selftest-summary-counts-every-line"
else
	echo "FAIL runner-selftest-summary-counts-every-line: $(tail -n1 "$f")"
fi

wait $hung
rc=$?
f="$out/hung.txt"
expect hung-task-reported "$f" '^FAIL kernel-log:hung-task: .*blocked for more than'
expect hung-task-ends-boot "$f" '^FAIL guest: died before finishing'
# At once: well within the scenario's 300s limit, from the moment the
# detector was armed (its result line) to the guest's last console line.
g="$root/out/selftest-hung/g1"
took=$(($(stat -c %Y "$g/console.log" 2>/dev/null || echo 0) - $(stat -c %Y "$g/results" 2>/dev/null || echo 0)))
if grep -q '^PASS selftest-hung-task-armed' "$g/results" 2>/dev/null && [ "$took" -lt 120 ]; then
	echo "PASS runner-selftest-hung-task-ends-boot-at-once"
else
	echo "FAIL runner-selftest-hung-task-ends-boot-at-once: the guest ran ${took}s after the detector was armed"
fi
expect_rc hung-task-run-exit-status "$rc"

wait $noboot
rc=$?
expect guest-that-never-boots-reported "$out/noboot.txt" '^FAIL guest: did not boot within 30s'
expect_rc never-booted-run-exit-status "$rc"
