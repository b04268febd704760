#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The compat shim's cost, measured in one run: the same legacy program on
# the native type1 container, on the kernel's own iommufd compat container,
# and through the shim on the kernel with neither; and a foreign ioctl with
# and without the shim preloaded. Prints the figures and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
O=${O:-build}
prog=$O/bench/bench_compat
shim=$PWD/$O/libiommufd-compat.so
get() { grep "^R $1 " <<<"$2" | awk '{print $3}'; }
run() { tests/vm/run "$@" 2>/dev/null | tr -d '\r' | grep '^R ' || true; }

native=$(run --variant full -- "$prog")
kcompat=$(run --variant kcompat -- "$prog")
shimmed=$(run --variant cdevonly -- env LD_PRELOAD="$shim" "$prog")
plain=$(run --variant cdevonly -- "$prog")
serial=$(run --variant cdevonly -- env LD_PRELOAD="$shim" IOMMUFD_COMPAT_PARALLEL=0 "$prog")

printf '%-22s %12s %12s %12s %14s %14s\n' "MAP+UNMAP pair (us)" native-type1 kernel-compat shim \
	shim/kcompat shim/native
for s in 4k 2m 1g; do
	n=$(get pair_${s}_us "$native"); k=$(get pair_${s}_us "$kcompat"); m=$(get pair_${s}_us "$shimmed")
	printf '%-22s %12s %12s %12s %14s %14s\n' "$s" "$n" "$k" "$m" \
		"$(awk -v a="$m" -v b="$k" 'BEGIN {printf "%.3f", a / b}')" \
		"$(awk -v a="$m" -v b="$n" 'BEGIN {printf "%.3f", a / b}')"
done
echo
echo "ioctl on an fd the shim does not own (FIONREAD on a pipe, ns per call):"
p=$(get foreign_ioctl_ns "$plain"); m=$(get foreign_ioctl_ns "$shimmed")
echo "  cdevonly kernel without the shim: $p"
echo "  cdevonly kernel with the shim:    $m   (+$(awk -v a="$m" -v b="$p" 'BEGIN {printf "%.1f", a - b}') ns)"
echo
echo "one MAP_DMA of 1 GiB never touched (guest RAM at VM start; ms, mean of 2):"
n=$(get cold_1g_ms "$native"); k=$(get cold_1g_ms "$kcompat"); m=$(get cold_1g_ms "$shimmed")
one=$(get cold_1g_ms "$serial")
echo "  native type1:                 $n"
echo "  kernel compat container:      $k"
echo "  shim, one thread:             $one"
echo "  shim, parallel pinning:       $m"
echo "  native/shim: $(awk -v a="$n" -v b="$m" 'BEGIN {printf "%.2f", a / b}')x faster than native type1 (target 1.7x);" \
	"$(awk -v a="$one" -v b="$m" 'BEGIN {printf "%.2f", a / b}')x from the parallel path"

# The classic legacy stress loop: 262 144 MAP_DMAs of 4 KiB (each its own
# mmap), then one UNMAP_DMA of the GiB, with the device open. type1 needs its
# DMA-entry limit raised for it; the shim reads the same kernel parameter.
big=(--append vfio_iommu_type1.dma_entry_limit=300000)
lnative=$(run --variant full "${big[@]}" -- "$prog" loop)
lkcompat=$(run --variant kcompat "${big[@]}" -- "$prog" loop)
lshim=$(run --variant cdevonly "${big[@]}" -- env LD_PRELOAD="$shim" "$prog" loop)
echo
printf '%-28s %12s %12s %12s %14s %14s\n' "legacy loop, best cycle (s)" native-type1 kernel-compat \
	shim shim/kcompat shim/native
for s in map unmap cycle; do
	n=$(get loop_${s}_s "$lnative"); k=$(get loop_${s}_s "$lkcompat"); m=$(get loop_${s}_s "$lshim")
	printf '%-28s %12s %12s %12s %14s %14s\n' "$s" "$n" "$k" "$m" \
		"$(awk -v a="$m" -v b="$k" 'BEGIN {printf "%.3f", a / b}')" \
		"$(awk -v a="$m" -v b="$n" 'BEGIN {printf "%.3f", a / b}')"
done
