#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Run the VM tests: one guest boot per kernel variant that has tests, all of
# that variant's programs in it. Ends with the suite summary lines of
# tests/run-suite.sh. A guest that cannot boot is a failure, never a skip.
#
#   VM_TESTS="..." VM_TESTS_CDEVONLY="..." VM_TESTS_NOIOMMU="..." VM_TESTS_SRIOV="..." \
#   tests/vm/check.sh
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rc=0
run_variant() {
	local name=$1 tests=$2
	shift 2
	[ -n "$tests" ] || return 0
	local log
	log=$(mktemp)
	# shellcheck disable=SC2086
	"$here/run" "$@" -- env ${VM_RUN_ENV:+"$VM_RUN_ENV"} "$here/../run-suite.sh" "vm-$name" $tests 2>&1 |
		tr -d '\r' | tee "$log"
	local st=${PIPESTATUS[0]}
	if ! grep -qE "^vm-$name: [0-9]+ passed" "$log"; then
		echo "vm-$name: 0 passed, 1 failed, 0 skipped (the guest did not run the suite, status $st)"
		st=1
	fi
	rm -f "$log"
	[ "$st" = 0 ] || rc=1
}
if [ "${VM_MEMCHECK:-}" != only ]; then
	run_variant full "${VM_TESTS:-}" --variant full
	run_variant cdevonly "${VM_TESTS_CDEVONLY:-}" --variant cdevonly
	run_variant noiommu "${VM_TESTS_NOIOMMU:-}" --variant full --no-iommu
	run_variant sriov "${VM_TESTS_SRIOV:-}" --variant full --sriov --edu-pair
fi

# VM_MEMCHECK=1 (also) or =only (make check-memcheck): the compiled tests
# under valgrind's memcheck, against the real kernel. Undefined-value checks
# are off: valgrind does not know what the iommufd ioctls write. Invalid
# accesses and definite or indirect leaks still fail.
if [ -n "${VM_MEMCHECK:-}" ] && command -v valgrind >/dev/null; then
	memcheck() {
		local out="" t
		for t in $1; do
			case " ${VM_MEMCHECK_SKIP:-} " in *" $t "*) continue ;; esac
			out="$out $t"
		done
		echo "$out"
	}
	wrap="valgrind -q --undef-value-errors=no --error-exitcode=99 --leak-check=full"
	wrap="$wrap --errors-for-leak-kinds=definite,indirect"
	VM_RUN_ENV="RUN_WRAPPER=$wrap"
	run_variant memcheck-full "$(memcheck "${VM_TESTS:-}")" --variant full
	run_variant memcheck-noiommu "$(memcheck "${VM_TESTS_NOIOMMU:-}")" --variant full --no-iommu
	run_variant memcheck-sriov "$(memcheck "${VM_TESTS_SRIOV:-}")" --variant full --sriov --edu-pair
fi
exit $rc
