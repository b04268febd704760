#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The compat shim's differential test: each legacy program runs natively on
# the kernel with VFIO groups and the type1 container, then through the shim
# on the kernel with neither; their transcripts (the "T " lines) must match.
# Prints TAP and "compat: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/../.."
O=${O:-build}
# Through the command users run: iommufd-ctl compat finds the shim next to itself.
ctl=$PWD/$O/bin/iommufd-ctl
preload=
# An ASan-built shim needs the runtime loaded first in the (plain) program.
[ -n "${SANITIZE:-}" ] && preload="$(${CC:-cc} -print-file-name=libasan.so)"
# The administrator's DMA-entry limit, which type1 takes from its module
# parameter and the shim from the same words on the kernel command line.
# --sriov: an SR-IOV PF with VFs for legacy_sriov's VF tokens.
limit=(--sriov --append vfio_iommu_type1.dma_entry_limit=300)
n=0 fail=0
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for prog in "$O"/tests/compat/legacy_*; do
	[ -x "$prog" ] || continue
	name=$(basename "$prog")
	tests/vm/run --variant full "${limit[@]}" -- "$prog" 2>&1 | tr -d '\r' > "$out/$name.native.log"
	st_native=${PIPESTATUS[0]}
	tests/vm/run --variant cdevonly "${limit[@]}" -- env LD_PRELOAD="$preload" "$ctl" compat --trace -- "$prog" 2>&1 |
		tr -d '\r' > "$out/$name.shim.log"
	st_shim=${PIPESTATUS[0]}
	grep '^T ' "$out/$name.native.log" > "$out/$name.native"
	grep '^T ' "$out/$name.shim.log" > "$out/$name.shim"
	n=$((n + 1))
	if [ "$st_native" != 0 ] || [ "$st_shim" != 0 ]; then
		echo "not ok $n - $name: exit status $st_native natively, $st_shim through the shim"
		grep -v '^T ' "$out/$name.shim.log" | tail -30 | sed 's/^/#   /'
		fail=$((fail + 1))
	elif [ ! -s "$out/$name.native" ]; then
		echo "not ok $n - $name: no transcript from the native run"
		fail=$((fail + 1))
	elif diff -u "$out/$name.native" "$out/$name.shim" > "$out/$name.diff"; then
		echo "ok $n - $name: native type1 and the shim agree on $(wc -l < "$out/$name.native") results"
	else
		echo "not ok $n - $name: the shim differs from native type1"
		sed 's/^/#   /' "$out/$name.diff"
		fail=$((fail + 1))
	fi
	# The known difference (Documentation/compat.md): device memory as a DMA
	# target maps natively and is refused through the shim, which says why.
	if grep -q '^D map of a BAR mmap' "$out/$name.native.log"; then
		n=$((n + 1))
		if grep -q '^D map of a BAR mmap: ret=0$' "$out/$name.native.log" &&
			grep -q '^D map of a BAR mmap: ret=-1 EFAULT$' "$out/$name.shim.log" &&
			grep -q 'IOMMU_IOAS_MAP failed: .*cannot be pinned' "$out/$name.shim.log"; then
			echo "ok $n - $name: a BAR mmap maps natively; the shim refuses it with EFAULT and says why"
		else
			echo "not ok $n - $name: a BAR mmap maps natively; the shim refuses it with EFAULT and says why"
			grep -h '^D \|IOMMU_IOAS_MAP failed' "$out/$name.native.log" "$out/$name.shim.log" |
				sed 's/^/#   /'
			fail=$((fail + 1))
		fi
	fi
done
echo "compat: $((n - fail)) passed, $fail failed, 0 skipped"
[ $fail = 0 ] && [ $n -gt 0 ]
