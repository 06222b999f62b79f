#!/usr/bin/env bash
# `make bench`: rrxe against rdma_rxe in the same boot of the bench kernel (no
# debugging instrumentation), with the ceilings of the same path beside them
# (qemu/scenarios/bench.sh), then the report (qemu/bench_report.py): the
# table printed and written to out/bench.md and out/bench.tsv, the chart to
# out/bench.svg. Never part of `make check`, and nothing in it asserts a
# speed. Bounded: the guest's scenario declares its limit (qemu/run.sh).
#
# Two topologies, one boot each: two network namespaces of one guest, and two
# guests over QEMU's link; BENCH_TOPOLOGIES lists those to run ("netns
# guests" by default). BENCH_REPS, BENCH_MIB, BENCH_LAT_ITERS, BENCH_QPS,
# BENCH_MR_MIB, BENCH_ATOMIC_ITERS, BENCH_SECONDS and BENCH_ONLY pass to the
# guests (see the scenario).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(repo_root)
cd "$root"

"$here/build-kernel.sh" bench
"$here/build-guest.sh"
# rrxe.ko for the bench kernel, built from a copy of the sources, apart from
# the test kernel's build in the checkout.
kdir=$(kernel_build bench)
mkdir -p out/bench-module
rsync -a --delete --exclude='*.o' --exclude='.*.cmd' --exclude='.*.d' --exclude='*.rmeta' \
	Kbuild src tests out/bench-module/
log "building rrxe.ko for the bench kernel"
flock -s "$RRXE_CACHE/kernel.lock" make -s -C "$kdir" M="$root/out/bench-module" LLVM=-19 modules
"$here/install-module.sh" bench "$root/out/bench-module/rrxe.ko"

args=()
for v in BENCH_REPS BENCH_MIB BENCH_LAT_ITERS BENCH_ATOMIC_ITERS BENCH_SECONDS BENCH_QPS BENCH_MR_MIB \
	BENCH_ONLY; do
	[ -z "${!v:-}" ] || args+=("$v=${!v}")
done
rc=0 raw=()
for topology in ${BENCH_TOPOLOGIES:-netns guests}; do
	case $topology in
	netns) guests=1 tsv=out/bench-netns/g1/bench.tsv ;;
	guests) guests=2 tsv=out/bench-guests/g2/bench.tsv ;;
	*) die "unknown topology '$topology' (netns or guests)" ;;
	esac
	"$here/run.sh" -k bench -g $guests -n bench-$topology -a "BENCH_TOPOLOGY=$topology ${args[*]}" \
		qemu/scenarios/bench.sh || rc=1
	[ ! -f $tsv ] || raw+=($tsv)
done
[ ${#raw[@]} -gt 0 ] || die "no figures recorded"
python3 "$here/bench_report.py" "${raw[@]}" --tsv out/bench.tsv --markdown out/bench.md \
	--svg out/bench.svg --command "make bench (rrxe $(git describe --always --dirty))" || rc=1
exit $rc
