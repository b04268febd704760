#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Build the guest's busybox initramfs (cached by the hash of init) and print its path.
set -euo pipefail
. "$(dirname "$0")/../../scripts/common.sh"

bb=/bin/busybox
[ -x "$bb" ] && ! ldd "$bb" >/dev/null 2>&1 ||
	die "$bb is missing or not static: install busybox-static (./setup.sh)"
hash=$( (cat "$VM_DIR/init"; sha256sum "$bb") | sha256sum | cut -c1-16)
out=$CACHE_DIR/initramfs-$hash.cpio.gz
if [ ! -f "$out" ]; then
	mkdir -p "$CACHE_DIR"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$tmp"/{bin,dev,proc,sys,host}
	cp "$bb" "$tmp/bin/busybox"
	ln -s busybox "$tmp/bin/sh"
	install -m 755 "$VM_DIR/init" "$tmp/init"
	(cd "$tmp" && find . | cpio -o -H newc --quiet | gzip -9) > "$out.tmp"
	mv "$out.tmp" "$out"
fi
echo "$out"
