#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Memcheck on what runs on the host: the unit tests, and iommufd-ctl's
# commands that need no /dev/iommu (list, --json list) and its failure paths.
# A memory error or a definite/indirect leak fails; the program's own exit
# status is checked too. Prints TAP and "valgrind: N passed, N failed, N skipped".
#
#   tests/valgrind.sh UNIT_TEST...
set -uo pipefail
cd "$(dirname "$0")/.."
ctl=${O:-build}/bin/iommufd-ctl
n=0 fail=0
vg() { valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect "$@"; }
run() {
	local want=$1 name=$2 out rc
	shift 2
	n=$((n + 1))
	out=$(CMOCKA_MESSAGE_OUTPUT=TAP vg "$@" 2>&1 >/dev/null); rc=$?
	if [ $rc = "$want" ]; then
		echo "ok $n - $name"
	else
		fail=$((fail + 1))
		echo "not ok $n - $name: exit $rc, expected $want"
		grep '==[0-9]*==' <<<"$out" | grep -v 'unhandled ioctl\|spurious\|README_MISSING' |
			head -30 | sed 's/^/#   /'
	fi
}
if ! command -v valgrind >/dev/null; then
	echo "ok 1 # SKIP valgrind is not installed"
	echo "valgrind: 0 passed, 0 failed, 1 skipped"
	exit 0
fi
for t in "$@"; do
	run 0 "$(basename "$t") under memcheck" "$t"
done
run 0 "iommufd-ctl list under memcheck" "$ctl" list
run 0 "iommufd-ctl --json list under memcheck" "$ctl" --json list
run 1 "iommufd-ctl device of a missing BDF under memcheck" "$ctl" device 0000:99:00.0
run 2 "iommufd-ctl with a usage error under memcheck" "$ctl" list --group x
echo "1..$n"
echo "valgrind: $((n - fail)) passed, $fail failed, 0 skipped"
[ $fail = 0 ]
