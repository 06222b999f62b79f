#!/usr/bin/env bash
# `make reference`: the C rdma_rxe in the same test guests, as the reference
# rrxe is read against. Runs its tools, the verbs checks and the whole
# pyverbs suite in one guest and its tools across two guests, then writes
# tests/pyverbs/rxe0-reference.tsv (with the rdma-core version it ran) and
# prints the parity figure the README quotes.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(repo_root)
cd "$root"
rc=0
"$here/run.sh" -n reference qemu/reference/rxe-tools.sh qemu/reference/rxe-verbs.sh \
	qemu/reference/pyverbs-rxe.sh || rc=1
"$here/run.sh" -n reference-two -g 2 qemu/reference/two-guest-rxe.sh || rc=1
table=out/reference/g1/pyverbs-rxe0.tsv
if [ -s "$table" ] && mkdir -p tests/pyverbs && cp "$table" tests/pyverbs/rxe0-reference.tsv; then
	log "wrote tests/pyverbs/rxe0-reference.tsv ($(head -1 "$table"))"
	python3 qemu/pyverbs_tables.py parity tests/pyverbs/rxe0-reference.tsv tests/pyverbs/rrxe0-expected.tsv
else
	log "no pyverbs table from rdma_rxe"
	rc=1
fi
exit "$rc"
