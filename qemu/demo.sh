#!/usr/bin/env bash
# Boot the test guest, create a soft-RoCE device and run a pingpong over it,
# printing what happened.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(repo_root)
rc=0
"$here/run.sh" -n demo -t 300 qemu/scenarios/demo.sh || rc=$?
echo "--- what the guest did (out/demo/g1/logs/demo.log):"
cat "$root/out/demo/g1/logs/demo.log"
exit "$rc"
