#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Print the include directory that carries the 6.12 iommufd/VFIO cdev uAPI,
# or nothing when the system's own <linux/...> headers already do.
#
#   scripts/uapi-headers.sh BUILD_DIR
#
# Debian 12 ships 6.1 headers (no <linux/iommufd.h>): then the headers are
# installed with `make headers_install` from linux-source-6.12 into
# BUILD_DIR/uapi. They are never copied into the repository.
set -euo pipefail
. "$(dirname "$0")/common.sh"

build=${1:?usage: uapi-headers.sh BUILD_DIR}
probe='#include <linux/iommufd.h>
#include <linux/vfio.h>
int a = IOMMU_FAULT_QUEUE_ALLOC, b = VFIO_DEVICE_BIND_IOMMUFD;'
if echo "$probe" | ${CC:-cc} -fsyntax-only -x c - 2>/dev/null; then
	exit 0
fi

ver=$(ksrc_version)
dest=$build/uapi
if [ "$(cat "$dest/.version" 2>/dev/null)" != "$ver" ]; then
	src=$(ksrc_dir)
	rm -rf "$dest" "$build/uapi-obj"
	mkdir -p "$build/uapi-obj"
	# O= keeps the shared source tree clean for the kernel builds.
	make -s -C "$src" O="$(cd "$build" && pwd)/uapi-obj" ARCH=x86_64 \
		INSTALL_HDR_PATH="$(cd "$build" && pwd)/uapi" headers_install >&2 ||
		die "make headers_install failed"
	rm -rf "$build/uapi-obj"
	echo "$ver" > "$dest/.version"
fi
echo "$(cd "$dest/include" && pwd)"
