#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs inside the test guest (tests/compat/real-programs.sh boots it): Debian's
# QEMU with the edu device passed through by vfio-pci, then Debian's
# dpdk-testpmd on the e1000e, once per MODE:
#
#   native        the program alone
#   shim          through `iommufd-ctl compat --trace=FILE` (the kernel decides
#                 whether the shim emulates or passes through)
#
#   guest.sh CTL PRELOAD MODE...
#
# Prints each program's output, stderr and shim trace as "MODE.PROG.KIND| line"
# and each exit status as "R MODE.PROG.status N": the host script decides.
set -uo pipefail
ctl=$1 preload=$2
shift 2

find_dev() {
	local d
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor"):$(cat "$d/device")" = "$1" ] && { echo "${d##*/}"; return 0; }
	done
	return 1
}

driver() {
	local l
	l=$(readlink "/sys/bus/pci/devices/$1/driver") && echo "${l##*/}" || echo none
}

# dump MODE PROG: the logs of one run, prefixed so the host can take them apart.
dump() {
	local k
	for k in out err trace; do
		[ -f "/tmp/$1.$2.$k" ] || continue
		tr -d '\r' < "/tmp/$1.$2.$k" | sed "s/^/$1.$2.$k| /"
	done
}

edu=$(find_dev 0x1234:0x11e8) || edu=none
nic=$(find_dev 0x8086:0x10d3) || nic=none
echo "R kernel $(uname -r) $([ -e /dev/vfio/vfio ] && echo with || echo without) /dev/vfio/vfio"
echo "R edu $edu $(driver "$edu")"

# The e1000e to vfio-pci, as DPDK's dpdk-devbind.py would do it.
if [ "$nic" != none ]; then
	echo vfio-pci > "/sys/bus/pci/devices/$nic/driver_override"
	[ -e "/sys/bus/pci/devices/$nic/driver" ] &&
		echo "$nic" > "/sys/bus/pci/devices/$nic/driver/unbind"
	echo "$nic" > /sys/bus/pci/drivers_probe
fi
echo "R nic $nic $(driver "$nic")"
echo 128 > /proc/sys/vm/nr_hugepages
echo "R hugepages $(cat /proc/sys/vm/nr_hugepages)"

for mode in "$@"; do
	wrap=()
	[ "$mode" = shim ] &&
		wrap=(env LD_PRELOAD="$preload" ASAN_OPTIONS=detect_leaks=0 "$ctl" compat \
			--trace="/tmp/$mode.qemu.trace" --)
	# QEMU 7.2 is a type1 program: at realize, vfio-pci opens the container
	# and the group and maps all guest RAM with VFIO_IOMMU_MAP_DMA. -S: no
	# guest code needs to run for that.
	start=$SECONDS
	printf 'info pci\nquit\n' |
		timeout 240 "${wrap[@]}" qemu-system-x86_64 -machine q35,accel=tcg -m 64M -nodefaults \
			-display none -monitor stdio -S -device vfio-pci,host="$edu" \
			> "/tmp/$mode.qemu.out" 2> "/tmp/$mode.qemu.err"
	echo "R $mode.qemu.status $?"
	echo "R $mode.qemu.seconds $((SECONDS - start))"
	dump "$mode" qemu

	[ "$mode" = shim ] &&
		wrap=(env LD_PRELOAD="$preload" ASAN_OPTIONS=detect_leaks=0 "$ctl" compat \
			--trace="/tmp/$mode.testpmd.trace" --)
	# testpmd sends a first burst (tx_first), then forwards what it receives;
	# the NIC's hub has no other port, so the TX count is that burst.
	start=$SECONDS
	{
		echo 'start tx_first'
		sleep 3
		echo 'show port stats all'
		echo stop
		echo quit
	} | timeout 240 "${wrap[@]}" dpdk-testpmd -l 0-1 -n 1 --in-memory --no-telemetry -a "$nic" \
		-- -i --total-num-mbufs=2048 > "/tmp/$mode.testpmd.out" 2> "/tmp/$mode.testpmd.err"
	echo "R $mode.testpmd.status $?"
	echo "R $mode.testpmd.seconds $((SECONDS - start))"
	dump "$mode" testpmd
done
exit 0
