#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# make check: the unit tests, then the VM tests, then one total line.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
# shellcheck disable=SC2086
"$here/run-suite.sh" unit ${UNIT_TESTS:-} 2>&1 | tee -a "$log" || rc=1
"$here/install-check.sh" 2>&1 | tee -a "$log" || rc=1
# Memcheck and the sanitizers do not mix: valgrind runs on the plain build.
if [ -z "${SANITIZE:-}" ]; then
	# shellcheck disable=SC2086
	"$here/valgrind.sh" ${UNIT_TESTS:-} 2>&1 | tee -a "$log" || rc=1
fi
# Build the guest kernels the VM tests and the compat checks boot first, here,
# where kernel.sh's progress lines reach the terminal at once (below they go
# through pipes and logs). Only the first run on a machine builds anything.
kernels=full
[ -z "${VM_TESTS_CDEVONLY:-}${COMPAT_CHECKS:-}" ] || kernels="$kernels cdevonly"
for v in $kernels; do
	"$here/vm/kernel.sh" "$v" >/dev/null || rc=1
done
"$here/vm/check.sh" 2>&1 | tee -a "$log" || rc=1
# Checks that boot their own guests and print their own summary line.
for c in ${COMPAT_CHECKS:-}; do
	"$c" 2>&1 | tee -a "$log" || rc=1
done
read -r p f s < <(grep -aE '^[a-z-]+: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$log" |
	awk '{p += $2; f += $4; s += $6} END {print p + 0, f + 0, s + 0}')
[ "$f" = 0 ] || rc=1
echo "total: $p passed, $f failed, $s skipped"
exit $rc
