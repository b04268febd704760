#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The shim against the kernel's own compat container in ONE boot of the
# kcompat kernel: the 4 KiB MAP_DMA+UNMAP_DMA pair (`bench_compat pair4k`,
# best of five rounds of 400), the program alone (the kernel's container as
# /dev/vfio/vfio), then under the shim forced to emulate
# (IOMMUFD_COMPAT=force), alternating, ROUNDS times. The shim runs the pair
# twice a round: in a single-threaded program, and in one with a second
# thread (pair4k-threaded), where it takes its locks; their order swaps
# every round.
#
# A TCG guest's speed shifts by 2x for seconds at a time with the host, so
# one run of each says little. Each round's runs are a second apart and
# each shim run is divided by the round's kernel run; the result is the
# median of the rounds' ratios, with the ratio of the minima beside it.
#
#   bench/compat_sameboot.sh [ROUNDS]   (default 20)
#   SHIMS="a.so b.so" bench/compat_sameboot.sh   compares builds of the shim
set -euo pipefail
cd "$(dirname "$0")/.."
O=${O:-build}
rounds=${1:-20}
prog=$PWD/$O/bench/bench_compat
shims=${SHIMS:-$PWD/$O/libiommufd-compat.so}
for s in $shims "$prog"; do
	[ -e "$s" ] || { echo "compat_sameboot: no $s (make first)" >&2; exit 1; }
done
tests/vm/run --variant kcompat -- bash -c '
	pair() { taskset -c 1 "'"$prog"'" "$1" 2>/dev/null | sed -n "s/^R pair_4k_us //p"; }
	for ((i = 1; i <= '"$rounds"'; i++)); do
		echo "kcompat $(pair pair4k)"
		modes="pair4k pair4k-threaded"
		[ $((i % 2)) = 0 ] && modes="pair4k-threaded pair4k"
		for s in '"$shims"'; do
			for m in $modes; do
				echo "$s:$m $(IOMMUFD_COMPAT=force LD_PRELOAD="$s" pair "$m")"
			done
		done
	done' 2>/dev/null | tr -d '\r' | awk '
	function median(a, n,    i, j, t) {
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	NF != 2 { next }
	$1 == "kcompat" { k = $2; if (!kmin || k < kmin) kmin = k; next }
	k != "" {
		s = $1
		if (!(s in n)) order[++nseries] = s
		r[s, ++n[s]] = $2 / k
		if (!(s in smin) || $2 < smin[s]) smin[s] = $2
		printf "round %d: kernel compat %s us, %s %s us, ratio %.3f\n", n[s], k, s, $2, $2 / k
	}
	END {
		for (i = 1; i <= nseries; i++) {
			s = order[i]
			for (j = 1; j <= n[s]; j++) a[j] = r[s, j]
			printf "4 KiB MAP+UNMAP pair, %s: shim/kcompat median of %d rounds %.3f; minima %.3f / %.3f us = %.3f\n",
			       s, n[s], median(a, n[s]), smin[s], kmin, smin[s] / kmin
		}
	}'
