#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The failure-injection sweeps of the device calls and of the compat shim
# (test_fail_nth_edu, test_fail_nth_compat) in a guest of their own, booted
# with acpi=noirq: opening a vfio-pci device enables it, and with ACPI on
# that evaluates the _PRT method, whose interpreter does not survive failed
# allocations (an Oops within a few dozen injected failures). Without ACPI
# IRQ routing nothing of the IOMMU, VFIO or the device changes, and the
# guest of the other tests is never put at risk.
#
# Prints the suite's TAP and "vm-fail-nth: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/../.."
O=${O:-build}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
tests/vm/run --variant full --append acpi=noirq --timeout 1800 -- \
	tests/run-suite.sh vm-fail-nth "$O/tests/vm/test_fail_nth_edu" \
	"$O/tests/vm/test_fail_nth_compat" 2>&1 | tr -d '\r' | tee "$log"
st=${PIPESTATUS[0]}
if ! grep -qE '^vm-fail-nth: [0-9]+ passed' "$log"; then
	echo "vm-fail-nth: 0 passed, 1 failed, 0 skipped (the guest did not run the suite, status $st)"
	exit 1
fi
exit "$st"
