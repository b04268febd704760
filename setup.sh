#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Set up a fresh Debian 12 machine (as root): install every package the
# project needs, build everything, build the test guest's kernel (cached),
# and run the demo: the edu example driver DMAing through a real IOMMU,
# in the test VM when this machine has no /dev/iommu.
#
#   ./setup.sh [--no-demo]
set -euo pipefail
cd "$(dirname "$0")"

demo=1
[ "${1:-}" = --no-demo ] && demo=0

packages=(
	# build
	build-essential make pkg-config
	# the async layer, iommufd-ctl, the tests
	liburing-dev libnl-3-dev libnl-route-3-dev libpci-dev pciutils libjson-c-dev
	libcmocka-dev valgrind
	# the test VM: QEMU, the guest's initramfs, the 6.12 kernel source and its build tools
	qemu-system-x86 busybox-static linux-source-6.12 flex bison bc libelf-dev libssl-dev
	cpio xz-utils kmod iproute2
	# man pages
	man-db groff-base
)
if [ "$(id -u)" != 0 ]; then
	echo "setup.sh: run as root (it installs packages)" >&2
	exit 1
fi
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup.sh: installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

make -j"$(nproc)"
# The guest kernel: built once (a few minutes), then cached.
tests/vm/kernel.sh full >/dev/null

[ $demo = 1 ] || exit 0
echo
echo "== demo: a userspace driver for QEMU's edu device, DMA through the IOMMU"
if [ -e /dev/iommu ] && build/examples/edu-dma; then
	exit 0
fi
tests/vm/run -- build/examples/edu-dma
