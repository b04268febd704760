# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared helpers of the build and VM scripts: where the kernel source and cached builds live.
# Sourced, not run.

TOP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VM_DIR=$TOP_DIR/tests/vm
CACHE_DIR=${LIBIOMMUFD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/libiommufd}
KSRC_TARBALL=/usr/src/linux-source-6.12.tar.xz

die() { echo "vm: $*" >&2; exit 1; }
log() { echo "vm: $*" >&2; }

# The Debian package version names the source: a new upload invalidates the cache.
ksrc_version() {
	dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null ||
		die "linux-source-6.12 is not installed (run ./setup.sh)"
}

# Extract the kernel source once into the cache and print its path.
# Extraction goes to a temporary name first so an interrupted run never leaves
# a half tree that later runs would trust.
ksrc_dir() {
	local ver dir tmp
	ver=$(ksrc_version) || exit 1
	dir=$CACHE_DIR/src/linux-source-6.12-$ver
	if [ ! -f "$dir/.extracted" ]; then
		[ -f "$KSRC_TARBALL" ] || die "$KSRC_TARBALL missing (run ./setup.sh)"
		mkdir -p "$CACHE_DIR/src"
		(
			flock 9
			if [ ! -f "$dir/.extracted" ]; then
				log "extracting $KSRC_TARBALL (once)"
				tmp=$(mktemp -d "$CACHE_DIR/src/.extract.XXXXXX")
				tar -C "$tmp" -xJf "$KSRC_TARBALL" || die "extracting the kernel source failed"
				rm -rf "$dir"
				mv "$tmp/linux-source-6.12" "$dir" && rmdir "$tmp"
				touch "$dir/.extracted"
			fi
		) 9>"$CACHE_DIR/src/.lock" || exit 1
	fi
	echo "$dir"
}
