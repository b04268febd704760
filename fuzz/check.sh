#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The fuzz harnesses (fuzz/README.md): each runs every input of its corpus
# in fuzz/corpus/NAME (the regression inputs among them), then fuzzes for
# FUZZ_CHECK_SECONDS (default 10) with ASan and UBSan, in make check; or
# with FUZZ_LONG=1 (make fuzz) for FUZZ_SECONDS each, keeping what it finds
# in $O/fuzz/corpus/NAME. A crash, a sanitizer report, a broken invariant,
# a timeout or running out of memory fails the harness, and the reproducer
# is named. A harness listed in fuzz/known-bugs is skipped, with the bug
# named (FUZZ_KNOWN=run runs it). Ends with
# "fuzz: N passed, N failed, N skipped".
#
#   fuzz/check.sh [NAME...]          (O=build by default)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
O=${O:-build}
long=${FUZZ_LONG:-}
secs=${FUZZ_CHECK_SECONDS:-10}
[ -n "$long" ] && secs=${FUZZ_SECONDS:-600}

if [ $# -gt 0 ]; then
	names=("$@")
else
	names=()
	for f in "$here"/fuzz_*.c; do
		n=${f##*/fuzz_}
		names+=("${n%.c}")
	done
fi

pass=0 fail=0 skip=0
summary() {
	echo "fuzz: $pass passed, $fail failed, $skip skipped"
	[ "$fail" = 0 ]
	exit
}

# The harnesses are ASan builds already: the sanitizer pass of make check
# (SANITIZE=1) would only run them twice.
if [ -n "${SANITIZE:-}" ] && [ -z "$long" ]; then
	echo "fuzz: skipped under SANITIZE=1: the plain build's make check runs the harnesses," \
		"which have ASan and UBSan built in"
	skip=${#names[@]}
	summary
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
for name in "${names[@]}"; do
	bin=$O/fuzz/fuzz_$name
	if [ ! -x "$bin" ]; then
		echo "fuzz: $name: skipped: $bin was not built (is clang installed?)"
		skip=$((skip + 1))
		continue
	fi
	known=$(sed -n "s/^$name: //p" "$here/known-bugs")
	if [ -n "$known" ] && [ "${FUZZ_KNOWN:-}" != run ]; then
		echo "fuzz: $name: skipped: a known bug, reported and not fixed yet: $known"
		skip=$((skip + 1))
		continue
	fi
	arts=$O/fuzz/artifacts/$name/
	mkdir -p "$arts"
	if [ -n "$long" ]; then
		found=$O/fuzz/corpus/$name
	else
		found=$work/$name
	fi
	mkdir -p "$found"
	args=(-max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1
	      -artifact_prefix="$arts")
	[ -f "$here/$name.dict" ] && args+=(-dict="$here/$name.dict")
	log=$work/$name.log
	# New inputs go to the first directory; the tree's corpus is only read.
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
		"$bin" "${args[@]}" "$found" "$here/corpus/$name" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	cov=$(grep -aoE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
	if [ "$rc" = 0 ]; then
		echo "fuzz: $name: ok: ${execs:-?} executions in $secs s (${rate:-?}/s), ${cov:-cov: ?}"
		pass=$((pass + 1))
		continue
	fi
	fail=$((fail + 1))
	unit=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
	echo "fuzz: $name: FAILED (exit $rc); the report:"
	# From the first report line: the error and its stacks, not the shadow map.
	awk '/ERROR: |runtime error: |^fuzz: .*:[0-9]+: |deadly signal|Timeout|out-of-memory/ { on = 1 }
	     on && /^Shadow bytes|^MS: / { exit }
	     on && n++ < 40' "$log" > "$log.report"
	grep -aq '^SUMMARY' "$log.report" || grep -a '^SUMMARY' "$log" | tail -1 >> "$log.report"
	sed 's/^/    /' "$log.report"
	if [ -n "$unit" ]; then
		echo "fuzz: $name: reproducer: $unit"
		echo "fuzz: $name: run it again: FUZZ_VERBOSE=1 $bin $unit"
	fi
done
echo "fuzz: ${#names[@]} harnesses in $(($(date +%s) - start)) s"
summary
