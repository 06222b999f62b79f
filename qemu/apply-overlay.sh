#!/usr/bin/env bash
# Apply the project's rust/ overlay onto a kernel source tree.
#
#   apply-overlay.sh OVERLAY PRISTINE TREE
#
# OVERLAY mirrors the kernel's rust/ directory: its files are installed as
# rust/<path>. OVERLAY/patches/*.patch (-p1 from the kernel root) change
# existing kernel files. Files are written only when their content changes,
# so kbuild rebuilds only what the overlay touched. Files the previous
# overlay installed but this one does not are restored from PRISTINE.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

overlay=$1 pristine=$2 tree=$3
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

if [ -d "$overlay" ]; then
	(cd "$overlay" && find . -type f ! -path './patches/*' ! -name README.md -print0) |
		while IFS= read -r -d '' f; do
			mkdir -p "$stage/rust/$(dirname "$f")"
			cp "$overlay/$f" "$stage/rust/$f"
		done
	for p in "$overlay"/patches/*.patch; do
		[ -f "$p" ] || continue
		# Stage the pristine version of every file the patch touches
		# (unless an earlier patch already staged it), then apply.
		grep -E '^\+\+\+ b/' "$p" | sed -e 's|^+++ b/||' -e 's|\t.*||' | while read -r f; do
			[ -e "$stage/$f" ] && continue
			mkdir -p "$stage/$(dirname "$f")"
			[ -f "$pristine/$f" ] && cp "$pristine/$f" "$stage/$f"
			true
		done
		patch -s -p1 -d "$stage" --no-backup-if-mismatch <"$p" ||
			die "overlay patch $(basename "$p") does not apply to $pristine"
	done
fi

manifest="$tree/.rrxe-overlay"
(cd "$stage" && find . -type f | sed 's|^\./||' | LC_ALL=C sort) >"$stage.list"
if [ -f "$manifest" ]; then
	LC_ALL=C comm -23 "$manifest" "$stage.list" | while read -r f; do
		if [ -f "$pristine/$f" ]; then
			rsync -c "$pristine/$f" "$tree/$f"
		else
			rm -f "$tree/$f"
		fi
	done
fi
rsync -rc "$stage/" "$tree/"
mv "$stage.list" "$manifest"
