#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The shim against the kernel's own compat container in ONE boot of the
# kcompat kernel, alternating, so that the small-call ratio carries no
# boot-to-boot noise: the program alone (the kernel's container as
# /dev/vfio/vfio), then under the shim forced to emulate
# (IOMMUFD_COMPAT=force). Prints the R lines of each round and the ratios.
#
#   bench/compat_sameboot.sh [ROUNDS]   (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
O=${O:-build}
rounds=${1:-3}
prog=$PWD/$O/bench/bench_compat
shim=$PWD/$O/libiommufd-compat.so
tests/vm/run --variant kcompat -- bash -c '
	for ((i = 1; i <= '"$rounds"'; i++)); do
		echo "kcompat $("'"$prog"'" 2>/dev/null | grep "^R pair_4k_us" | cut -d" " -f3)"
		echo "shim $(IOMMUFD_COMPAT=force LD_PRELOAD="'"$shim"'" "'"$prog"'" 2>/dev/null |
			grep "^R pair_4k_us" | cut -d" " -f3)"
	done' 2>/dev/null | tr -d '\r' | awk '
	$1 == "kcompat" { k = $2 }
	$1 == "shim" { printf "4 KiB MAP+UNMAP pair: kernel compat %s us, shim %s us, shim/kcompat %.3f\n", k, $2, $2 / k }'
