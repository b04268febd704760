#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The README's two commands on a truly fresh Debian 12: a minimal root made by
# `mmdebstrap --variant=minbase bookworm`, a clean clone of this checkout's
# HEAD in /root/libiommufd, and there, as root in a chroot, `./setup.sh` then
# `make check`, exactly as written. A green CI on a development machine can
# hide a missing install step (rsync once did); this cannot.
#
#   tests/fresh-machine.sh [-v] [--refresh] [--keep] [--no-kernel-cache]
#
#   -v         show everything the two commands print (else only their
#              progress, failures and summary lines; every line is in the logs
#              named at the end)
#   --refresh  make the minimal root again (else the cached tarball is used,
#              and made again once it is 30 days old)
#   --keep     leave the root in place afterwards (its mounts are removed anyway)
#   --no-kernel-cache  do not share the guest kernel cache: the chroot builds
#              its kernels itself, proving their build dependencies too
#              (about 4 more minutes per kernel variant the tests boot)
#
# Nothing of this machine goes into the root but /proc, /sys, /dev, /dev/pts,
# /dev/shm (bind mounts), a copy of /etc/resolv.conf, and the guest kernel
# cache ($CACHE_DIR/kernels, bind-mounted at the root's own cache path) so that
# kernels built before are not built again: the chroot installs the same
# linux-source-6.12, so the cache keys match. Everything else (packages, the
# build, the kernel source, the uAPI headers, the initramfs) starts from
# nothing. The minimal root is cached only as mmdebstrap's pristine tarball,
# under $CACHE_DIR/fresh; each run extracts it into a new directory.
#
# Cost, measured on 2 cores shared with other builds: mmdebstrap 1.5-2.5 min
# when its tarball is not cached, extracting and cloning under a minute,
# ./setup.sh 6-8 min (installing about 400 packages is most of it), make check
# 6-13 min (it grows with the tests), removing the root 2 min; each guest
# kernel not in the cache adds 4 min (2 idle cores) to 15 min (busy ones).
# Prints how long each command took, TAP, and
# "fresh-machine: N passed, N failed, 0 skipped" (one per command). Any
# non-zero exit, or a "command not found" in their output, fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../scripts/common.sh"

verbose=0 refresh=0 keep=0 kcache=1
for a in "$@"; do
	case $a in
	-v) verbose=1 ;;
	--refresh) refresh=1 ;;
	--keep) keep=1 ;;
	--no-kernel-cache) kcache=0 ;;
	*) echo "usage: tests/fresh-machine.sh [-v] [--refresh] [--keep] [--no-kernel-cache]" >&2
	   exit 2 ;;
	esac
done
say() { echo "fresh-machine: $*" >&2; }
fail() { say "$*"; echo "fresh-machine: 0 passed, 2 failed, 0 skipped"; exit 1; }

[ "$(id -u)" = 0 ] || fail "run as root (it makes a chroot and mounts into it)"
command -v mmdebstrap >/dev/null || fail "mmdebstrap is not installed (run ./setup.sh)"
command -v git >/dev/null || fail "git is not installed"
commit=$(git -C "$TOP_DIR" rev-parse HEAD) || fail "$TOP_DIR is not a git checkout"

# The pristine minimal root, made once (under a lock, into a temporary name).
fresh=$CACHE_DIR/fresh
tarball=$fresh/bookworm-minbase.tar
mkdir -p "$fresh"
(
	flock 9
	if [ $refresh = 1 ] || [ ! -f "$tarball" ] || [ -n "$(find "$tarball" -mtime +30)" ]; then
		say "making a minimal Debian 12 root with mmdebstrap (about 1.5 min)..."
		t0=$(date +%s)
		rm -f "$tarball.tmp"
		mmdebstrap --quiet --variant=minbase --format=tar bookworm "$tarball.tmp" ||
			{ rm -f "$tarball.tmp"; exit 1; }
		mv "$tarball.tmp" "$tarball"
		say "mmdebstrap: $(($(date +%s) - t0)) s"
	fi
) 9>"$fresh/.lock" || fail "mmdebstrap failed"
say "minimal root: $tarball (made $(date -r "$tarball" '+%F %R'))"

root=$(mktemp -d /var/tmp/libiommufd-fresh.XXXXXX)
ticker=

# Every exit path: stop the ticker, end what still runs inside the root (a
# guest left by an interrupted test), unmount everything below it, and remove
# it only once nothing is mounted there (a rm -rf through the /dev or kernel
# cache bind mounts would destroy the host's).
cleanup() {
	local pid m sig left=0
	[ -z "$ticker" ] || kill "$ticker" 2>/dev/null
	for sig in TERM TERM KILL; do
		local pids=()
		for pid in /proc/[0-9]*; do
			[ "$(readlink "$pid/root" 2>/dev/null)" = "$root" ] && pids+=("${pid#/proc/}")
		done
		[ ${#pids[@]} = 0 ] && break
		kill -s $sig "${pids[@]}" 2>/dev/null
		sleep 2
	done
	while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done < <(awk -v r="$root" '$5 == r || index($5, r "/") == 1 {print $5}' /proc/self/mountinfo | sort -r)
	if awk -v r="$root" '$5 == r || index($5, r "/") == 1 {found = 1} END {exit !found}' /proc/self/mountinfo; then
		say "still mounted below $root: not removing it"
		left=1
	fi
	if [ $keep = 1 ]; then
		say "kept the root: $root"
	elif [ $left = 0 ]; then
		say "removing $root (a minute or two: the kernel source is in it)"
		rm -rf --one-file-system "$root"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

say "extracting the minimal root into $root"
tar -C "$root" -xf "$tarball" || fail "extracting $tarball failed"
# A clean clone of the commit, as a new user would have it.
git clone -q --no-hardlinks "$TOP_DIR" "$root/root/libiommufd" || fail "git clone failed"
git -C "$root/root/libiommufd" checkout -q --detach "$commit" || fail "git checkout failed"
say "commit $(git -C "$root/root/libiommufd" log -1 --format='%h %s')"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"

bind() {
	mkdir -p "$2"
	mount --bind "$1" "$2" || fail "cannot bind-mount $1 on $2"
	mount --make-rslave "$2" || fail "cannot make $2 a slave mount"
}
bind /proc "$root/proc"
bind /sys "$root/sys"
bind /dev "$root/dev"
bind /dev/pts "$root/dev/pts"
mountpoint -q /dev/shm && bind /dev/shm "$root/dev/shm"
# The guest kernel cache at the root's own cache path ($HOME=/root there).
if [ $kcache = 1 ]; then
	mkdir -p "$CACHE_DIR/kernels"
	bind "$CACHE_DIR/kernels" "$root/root/.cache/libiommufd/kernels"
fi

# What reaches the terminal without -v: progress, failures, summaries. Every
# line is prefixed, so the chroot's own summary lines are not counted twice
# by whoever parses this output.
show='^(setup\.sh|vm|iommufd-ctl):|^== |^[a-z-]+: [0-9]+ passed|^total:|^not ok|^E: |\*\*\*|not found|Error [0-9]'
missing='command not found|^[^ ]*sh: [0-9]+: [^ ]+: not found|SKIP.* not installed'
logs=$fresh/logs
mkdir -p "$logs"
n=0 passed=0 failed=0
echo "1..2"

# run LABEL COMMAND: one README command, as root in the chroot with a plain
# login environment, timed; a TAP line for it.
run() {
	local log=$logs/$1.log name=$2 t0 rc secs why=
	n=$((n + 1))
	say "$name (log: $log)"
	t0=$(date +%s)
	if [ $verbose = 0 ]; then
		# A line every 2 minutes, unless the last one was shown anyway.
		(
			while sleep 120 >/dev/null 2>&1; do
				last=$(tail -n 1 "$log" | tr -d '\r' | cut -c1-100)
				grep -qaE "$show" <<<"$last" && continue
				say "... $name still running, $((($(date +%s) - t0) / 60)) min so far: $last"
			done
		) >/dev/null &
		ticker=$!
	fi
	set +e
	chroot "$root" /usr/bin/env -i HOME=/root USER=root LOGNAME=root SHELL=/bin/bash \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		/bin/bash -c "cd /root/libiommufd && $name" </dev/null 2>&1 | tee "$log" |
		if [ $verbose = 1 ]; then sed -u 's/^/  | /'; else
			grep -a --line-buffered -E "$show" | sed -u 's/^/  | /'; fi
	rc=${PIPESTATUS[0]}
	set -e
	[ -z "$ticker" ] || { kill "$ticker" 2>/dev/null; ticker=; }
	secs=$(($(date +%s) - t0))
	say "$name: $((secs / 60)) min $((secs % 60)) s, exit status $rc"
	[ "$rc" = 0 ] || why="exit status $rc"
	if grep -a -E "$missing" "$log" >"$log.missing"; then
		why="${why:+$why; }a command or package is missing"
		sed 's/^/#   /' "$log.missing"
	fi
	rm -f "$log.missing"
	if [ -z "$why" ]; then
		echo "ok $n - $name ($secs s)"
		passed=$((passed + 1))
	else
		echo "not ok $n - $name ($secs s): $why"
		# What failed, with its diagnostics (TAP puts them after the line,
		# the VM harness before it); else how the command ended.
		if [ $verbose = 0 ]; then
			if grep -aq '^not ok' "$log"; then
				grep -a -B 10 -A 6 '^not ok' "$log" | head -n 80
			else
				tail -n 30 "$log"
			fi | sed 's/^/#   /'
		fi
		failed=$((failed + 1))
	fi
	[ -z "$why" ]
}

if run setup ./setup.sh; then
	run check "make check" || true
else
	n=$((n + 1)) failed=$((failed + 1))
	echo "not ok $n - make check: not run, ./setup.sh failed"
fi
# A newer linux-source-6.12 in the archive than here means new cache keys:
# the chroot then built its own kernels (slow, but still a fair test).
# shellcheck disable=SC2016
fmt='${Version}'
host_ksrc=$(dpkg-query -W -f="$fmt" linux-source-6.12 2>/dev/null || true)
root_ksrc=$(chroot "$root" dpkg-query -W -f="$fmt" linux-source-6.12 2>/dev/null || true)
[ "$host_ksrc" = "$root_ksrc" ] ||
	say "note: linux-source-6.12 is ${host_ksrc:-not installed} here and ${root_ksrc:-missing} in the fresh root"
echo "fresh-machine: $passed passed, $failed failed, 0 skipped"
[ $failed = 0 ]
