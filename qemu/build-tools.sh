#!/usr/bin/env bash
# Build rrxectl (tools/rrxectl) and install it into this checkout's
# out/tools/bin, which guests put first on their PATH.
#   qemu/build-tools.sh [--test]
# With --test, run its host-side unit tests and clippy instead.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(repo_root)
manifest=$root/tools/rrxectl/Cargo.toml
export PATH=$HOME/.cargo/bin:$PATH

if [ "${1:-}" = --test ]; then
	cargo test --locked --manifest-path "$manifest"
	cargo clippy --locked --manifest-path "$manifest" --all-targets -- -D warnings
	cargo fmt --manifest-path "$manifest" --check
	exit 0
fi
cargo build --locked --release --manifest-path "$manifest"
install -D -m 0755 "$root/tools/rrxectl/target/release/rrxectl" "$root/out/tools/bin/rrxectl"
