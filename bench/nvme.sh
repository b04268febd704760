#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# 4 KiB random reads at QD1 and QD32 on the test guest's NVMe controller, in
# one boot: the userspace driver (nvme/, polled and with its MSI-X vector on
# an io_uring), then the controller handed to the kernel's nvme driver and
# read through io_uring O_DIRECT (interrupts, and IOPOLL on a poll queue).
# The two sides alternate for ROUNDS rounds (the host's load drifts); the
# median of each figure is printed with the ratios to the kernel. Under TCG
# the absolute figures mean little; the ratios, taken in one run, are the
# result.
#
#   bench/nvme.sh [SECONDS [ROUNDS]]        (per mode, default 2; default 3 rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
O=${O:-build}
secs=${1:-2}
rounds=${2:-3}

if [ "${LIBIOMMUFD_VM:-}" = 1 ]; then
	# In the guest: both sides in turn, ROUNDS times.
	bdf=
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/class")" = 0x010802 ] && { bdf=${d##*/}; break; }
	done
	[ -n "$bdf" ] || { echo "no NVMe controller" >&2; exit 1; }
	rebind() {
		local d=/sys/bus/pci/devices/$1
		if [ -e "$d/driver" ]; then echo "$1" > "$d/driver/unbind"; fi
		echo "$2" > "$d/driver_override"
		echo "$1" > /sys/bus/pci/drivers_probe
	}
	for _ in $(seq "$rounds"); do
		"$O/bench/bench_nvme" user "$bdf" "$secs"
		rebind "$bdf" nvme
		blk=
		for _ in $(seq 200); do
			for n in /sys/bus/pci/devices/"$bdf"/nvme/nvme*; do
				if [ -e "/dev/${n##*/}n1" ]; then blk=/dev/${n##*/}n1; fi
			done
			[ -n "$blk" ] && break
			sleep 0.05
		done
		[ -n "$blk" ] || { echo "the kernel's nvme driver gave no block device" >&2; exit 1; }
		"$O/bench/bench_nvme" kernel "$blk" "$secs"
		rebind "$bdf" vfio-pci
	done
	exit 0
fi

# One poll queue for the kernel's driver, so that IOPOLL has something to poll.
out=$(tests/vm/run --timeout 1800 --append nvme.poll_queues=1 -- \
	bash bench/nvme.sh "$secs" "$rounds" 2>/dev/null | tr -d '\r')
grep '^#' <<<"$out" | sort | uniq -c || true
# The median of a figure over the rounds.
get() {
	grep "^R $1 " <<<"$out" | awk '{print $3}' | sort -g |
		awk '{v[NR] = $1} END {if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
echo "medians of $rounds rounds, $secs s per mode"
for qd in 1 32; do
	echo "4 KiB random reads, QD$qd:"
	printf '  %-36s %9s %9s %9s %12s\n' mode IOPS p50-us p99-us IOPS/kernel
	k=$(get kernel_irq_qd${qd}_iops)
	for m in user_polled user_irq kernel_irq kernel_iopoll; do
		i=$(get ${m}_qd${qd}_iops)
		[ -n "$i" ] || continue
		case $m in
		user_polled) name="userspace driver, polled" ;;
		user_irq) name="userspace driver, MSI-X on io_uring" ;;
		kernel_irq) name="kernel nvme, io_uring O_DIRECT" ;;
		kernel_iopoll) name="kernel nvme, io_uring IOPOLL" ;;
		esac
		printf '  %-36s %9s %9s %9s %12s\n' "$name" "$i" "$(get ${m}_qd${qd}_p50_us)" \
			"$(get ${m}_qd${qd}_p99_us)" "$(ratio "$i" "$k")"
	done
done
if [ -z "$(get user_polled_qd1_iops)" ] || [ -z "$(get kernel_irq_qd1_iops)" ]; then
	echo "bench/nvme.sh: a side reported nothing" >&2
	exit 1
fi
