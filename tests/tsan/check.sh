#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# make check-tsan: the thread tests built with ThreadSanitizer (module.mk),
# each clean or failed. On the host: the shim's emulated files from threads
# over the fake kernel (compat_threads), and a program whose threads open,
# dup, ioctl and close while another forks, under the TSan-built shim
# (tests/compat/real/threads, IOMMUFD_COMPAT=force). In the guest: the async
# layer's tests (test_async) on the full kernel, and legacy_process, a legacy
# VFIO program with threads, through the TSan-built shim on the kernel
# without a container. Any "WARNING: ThreadSanitizer" fails the test and is
# printed. Ends with "tsan: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/../.."
O=${O:-build}
t=$O/tsan
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# Report every race, not only the first; a report makes the exit status 66.
# The suppressions (tests/tsan/suppressions) say why each is there.
supp=
[ "${TSAN_SUPPRESS:-1}" = 0 ] || supp="suppressions=$PWD/tests/tsan/suppressions"
export TSAN_OPTIONS="halt_on_error=0 exitcode=66 second_deadlock_stack=1 $supp \
external_symbolizer_path=$PWD/tests/tsan/llvm-symbolizer ${TSAN_OPTIONS:-}"
pass=0 fail=0 skip=0

# NAME STATUS LOG: a test is clean when it exited 0 and TSan said nothing.
verdict() {
	local name=$1 st=$2 log=$3 races

	races=$(grep -c 'WARNING: ThreadSanitizer' "$log")
	if [ "$st" = 77 ]; then
		echo "tsan: $name: skipped ($(tail -1 "$log"))"
		skip=$((skip + 1))
	elif [ "$st" = 0 ] && [ "$races" = 0 ]; then
		echo "tsan: $name: clean"
		pass=$((pass + 1))
	else
		echo "tsan: $name: FAILED (exit $st, $races ThreadSanitizer reports); the reports:"
		sed -n '/WARNING: ThreadSanitizer/,/^SUMMARY/p' "$log" | head -200 | sed 's/^/    /'
		[ "$races" = 0 ] && tail -30 "$log" | sed 's/^/    /'
		fail=$((fail + 1))
	fi
}

# ID DESCRIPTION COMMAND...: on the host, or in the guest (tests/vm/run's
# arguments), where the environment is the guest's own: TSAN_OPTIONS goes along.
host() {
	local id=$1 name=$2
	shift 2
	"$@" > "$out/$id.log" 2>&1
	verdict "$name" $? "$out/$id.log"
}

guest() {
	local id=$1 name=$2 opts=()
	shift 2
	while [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	tests/vm/run "${opts[@]}" -- env TSAN_OPTIONS="$TSAN_OPTIONS" "$@" 2>&1 | tr -d '\r' \
		> "$out/$id.log"
	verdict "$name" "${PIPESTATUS[0]}" "$out/$id.log"
}

host compat_threads "compat_threads (host: the shim's files from threads, fake kernel)" \
	"$t/compat_threads"
host threads "tests/compat/real/threads (host, through the shim)" \
	env IOMMUFD_COMPAT=force LD_PRELOAD="$PWD/$t/libiommufd-compat.so" "$t/threads"
if [ -x tests/vm/run ] && command -v qemu-system-x86_64 > /dev/null; then
	guest test_async "tests/vm/test_async (guest, full kernel)" --variant full -- \
		"$PWD/$t/test_async"
	guest legacy_process "tests/compat/legacy_process (guest, through the shim, no container)" \
		--variant cdevonly --append vfio_iommu_type1.dma_entry_limit=300 -- \
		env IOMMUFD_COMPAT=force LD_PRELOAD="$PWD/$t/libiommufd-compat.so" \
		"$PWD/$t/legacy_process"
else
	echo "tsan: the guest tests: skipped (no QEMU)"
	skip=$((skip + 2))
fi
echo "tsan: $pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
