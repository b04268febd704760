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

# Everything the two README commands need on a minimal Debian 12 (mmdebstrap
# --variant=minbase); tests/fresh-machine.sh proves the list there.
packages=(
	# build
	build-essential make pkg-config
	# the async layer, iommufd-ctl, the tests
	liburing-dev libnl-3-dev libnl-route-3-dev libpci-dev pciutils libjson-c-dev
	libcmocka-dev valgrind
	# the test VM: QEMU, the guest's initramfs, the 6.12 kernel source and its
	# build tools (rsync: make headers_install, for the uAPI headers)
	qemu-system-x86 busybox-static linux-source-6.12 flex bison bc libelf-dev libssl-dev
	cpio xz-utils kmod rsync
	# what the tests run in the guest: iommufd-ctl's checks and the demo (ip,
	# python3), real programs under the compat shim (dpdk-testpmd from
	# dpdk-dev, gnutls-cli, QEMU above), ps and file
	iproute2 python3 dpdk-dev gnutls-bin procps file
	# fuzzing and sanitizers with clang: libFuzzer, ASan and TSan runtimes
	clang libclang-rt-14-dev
	# tests/fresh-machine.sh: a minimal Debian 12 root to run these two commands in
	mmdebstrap
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
# Single quotes on purpose: the shell that runs the demo expands it, here or in the guest.
# shellcheck disable=SC2016
demo='
edu=$(build/bin/iommufd-ctl --json list | python3 -c "import json,sys; print(next(d[\"bdf\"] for d in json.load(sys.stdin) if d[\"ids\"] == \"1234:11e8\"))") || exit 77
echo "== iommufd-ctl list: the devices, their groups and drivers"
build/bin/iommufd-ctl list
echo; echo "== iommufd-ctl info $edu: what its IOMMU can do"
build/bin/iommufd-ctl info "$edu" | sed -n "/IOMMU type/,/registers:/p"
echo; echo "== iommufd-ctl dma-test $edu: DMA through the IOMMU, then blocked after unmap"
build/bin/iommufd-ctl dma-test "$edu" || exit 1
echo; echo "== examples/edu-dma: a userspace driver on libiommufd (MSI completions)"
build/examples/edu-dma'
echo
if [ -e /dev/iommu ] && bash -c "$demo"; then
	exit 0
fi
echo "== no /dev/iommu here: running the demo in the test VM (Linux 6.12, emulated VT-d)"
tests/vm/run -- bash -c "$demo"
