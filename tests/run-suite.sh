#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Run TAP-speaking test programs (cmocka with CMOCKA_MESSAGE_OUTPUT=TAP, or
# the VM harness), pass their output through, and end with one line
# "SUITE: N passed, N failed, N skipped". A program that crashes or fails
# without a "not ok" line counts as one failure; exit status 77 as one skip.
#
#   tests/run-suite.sh SUITE PROGRAM...
#
# With RUN_WRAPPER set (e.g. "valgrind -q ..."), each compiled program runs
# under it and scripts are left out: the suite is about the wrapper's checks.
set -uo pipefail
suite=$1
shift
export CMOCKA_MESSAGE_OUTPUT=TAP
pass=0 fail=0 skip=0
for prog in "$@"; do
	wrapper=
	if [ -n "${RUN_WRAPPER:-}" ]; then
		[ "$(head -c 4 "$prog" | tail -c 3)" = ELF ] || continue
		wrapper=$RUN_WRAPPER
	fi
	echo "# ---- $prog"
	out=$(mktemp)
	# shellcheck disable=SC2086
	$wrapper "$prog" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	p=$(grep -aEc '^ok ' "$out")
	s=$(grep -aEc '^ok .*# (SKIP|skip)' "$out")
	f=$(grep -aEc '^not ok ' "$out")
	rm -f "$out"
	p=$((p - s))
	if [ "$rc" = 77 ]; then
		s=$((s + 1))
	elif [ "$p$s$f" = 000 ] && [ "$rc" = 0 ]; then
		echo "ok - $prog"
		p=1
	elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "not ok - $prog exited with status $rc"
		f=1
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
done
echo "$suite: $pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
