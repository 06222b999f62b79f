#!/usr/bin/env bash
# Boot the test guest and run the demo scenario on rrxe, printing what
# happened and, last, its one-line summary.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(repo_root)
rc=0
"$here/run.sh" -n demo qemu/scenarios/demo.sh || rc=$?
echo "--- what the guest did (out/demo/g1/logs/demo.log):"
grep -v '^demo:' "$root/out/demo/g1/logs/demo.log"
grep '^demo:' "$root/out/demo/g1/logs/demo.log" || echo "demo: failed (see above and out/demo/)"
exit "$rc"
