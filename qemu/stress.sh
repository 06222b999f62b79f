#!/usr/bin/env bash
# `make stress`: the long loops over device lifetimes (qemu/stress/), on the
# debug kernel with its checkers. Run it before resolving anything that
# touches lifetimes.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cd "$(repo_root)"
exec "$here/run.sh" -n stress qemu/stress/data-path.sh qemu/stress/lifetimes.sh
