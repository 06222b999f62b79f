#!/usr/bin/env bash
# Fail on any Rust compiler or clippy diagnostic in a build log.
#
#   rust-warnings.sh LOG
#
# rustc and clippy print a diagnostic as `warning: ...` or `error: ...` at the
# start of a line, followed by its ` --> file:line` location; C compilers
# prefix theirs with the file name, so they are not counted here.
set -uo pipefail
log=${1:?usage: rust-warnings.sh LOG}
[ -f "$log" ] || { echo "no build log $log" >&2; exit 1; }
if grep -Eq '^(warning|error)(\[[A-Za-z0-9_]+\])?: ' "$log"; then
	grep -E -A6 '^(warning|error)(\[[A-Za-z0-9_]+\])?: ' "$log"
	exit 1
fi
echo "no Rust diagnostic in $log"
