#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Real, unmodified programs nobody here wrote, natively and through the
# compat shim, compared. Prints TAP and "real-programs: N passed, N failed,
# N skipped"; exits non-zero on any failure.
#
# Host: Debian's own programs (many with library constructors that run
# before the shim's: libselinux, gnutls, libbpf, DPDK's PMDs), and three
# built here for what no installed program covers (static-PIE, dlopen(),
# threads that fork), must print the same stdout and exit with the same
# status natively and with the shim preloaded, where it emulates
# (IOMMUFD_COMPAT=force) and where it passes through; a few again with
# ASan's runtime first in LD_PRELOAD.
#
# Guest (one boot per kernel): Debian's QEMU with the edu device passed
# through by vfio-pci, and dpdk-testpmd on the e1000e bound to vfio-pci,
# natively on the kernel with type1 and through `iommufd-ctl compat` on the
# kernel with neither container nor groups (tests/compat/real/guest.sh).
#
#   tests/compat/real-programs.sh [host|guest]...    (default: both)
#
# REAL_PROGRAMS_LOGS=DIR keeps every run's stdout, stderr and shim trace there.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
O=${O:-build}
case $O in
/*) b=$O ;;
*) b=$PWD/$O ;;
esac
shim=$b/libiommufd-compat.so
ctl=$b/bin/iommufd-ctl
real=$b/tests/compat/real
asan=$(${CC:-cc} -print-file-name=libasan.so)
parts=${*:-host guest}

# An ASan-built shim (make SANITIZE=1) needs the runtime loaded first.
preload=
if [ -n "${SANITIZE:-}" ]; then
	preload=$asan
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
fi
# Where the shim passes through: by default if this kernel has a container,
# else only when told.
if [ -e /dev/vfio/vfio ]; then
	passthrough=auto
else
	passthrough=off
fi

n=0 fail=0 skipped=0
out=$(mktemp -d)
if [ -n "${REAL_PROGRAMS_LOGS:-}" ]; then
	trap 'mkdir -p "$REAL_PROGRAMS_LOGS" && cp -r "$out"/. "$REAL_PROGRAMS_LOGS"/; rm -rf "$out"' EXIT
else
	trap 'rm -rf "$out"' EXIT
fi
began=$SECONDS

ok() {
	n=$((n + 1))
	echo "ok $n - $*"
}
not_ok() {
	n=$((n + 1))
	fail=$((fail + 1))
	echo "not ok $n - $*"
}
skip() {
	n=$((n + 1))
	skipped=$((skipped + 1))
	echo "ok $n - # SKIP $*"
}
# Indented diagnostics after a TAP line.
diag() {
	sed 's/^/#   /'
}

# run NAME STDIN ENV... -- CMD...: one run, stdout, stderr and status kept
# under $out/NAME.
run() {
	local name=$1 in=$2
	shift 2
	local envs=()
	while [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	# (The group's stderr is bash's own: its "Segmentation fault" notices.)
	{
		timeout -k 5 120 env -u LD_PRELOAD -u IOMMUFD_COMPAT "${envs[@]}" "$@" \
			< "$in" > "$out/$name.out" 2> "$out/$name.err"
		echo $? > "$out/$name.status"
	} 2> /dev/null
}

# compare LABEL NORM REF NAME: REF's and NAME's stdout (after NORM, a
# filter command) and status must be the same.
compare() {
	local label=$1 norm=$2 ref=$3 name=$4
	local rs ns
	rs=$(cat "$out/$ref.status") ns=$(cat "$out/$name.status")
	$norm < "$out/$ref.out" > "$out/$ref.norm"
	$norm < "$out/$name.out" > "$out/$name.norm"
	if grep -q 'cannot be preloaded' "$out/$name.err"; then
		not_ok "$label: the shim was not loaded"
		grep 'cannot be preloaded' "$out/$name.err" | diag
	elif [ "$rs" = "$ns" ] && cmp -s "$out/$ref.norm" "$out/$name.norm"; then
		ok "$label: same stdout ($(wc -c < "$out/$ref.norm") bytes) and status ($rs)"
	else
		not_ok "$label: status $rs without the shim, $ns with it$(
			cmp -s "$out/$ref.norm" "$out/$name.norm" || echo "; stdout differs")"
		[ "$ns" = 124 ] && echo "#   (timed out after 120 s)"
		[ "$ns" -gt 128 ] 2>/dev/null && [ "$ns" != 124 ] &&
			echo "#   (killed by signal $((ns - 128)))"
		diff -u "$out/$ref.norm" "$out/$name.norm" | head -20 | diag
		echo "#   its stderr:"
		tail -8 "$out/$name.err" | diag
	fi
}

same() {
	cat
}

# host_case LABEL [--in FILE] [--norm FILTER] [--asan] -- CMD...
# Natively, then through the shim emulating and passing through; with
# --asan also with ASan's runtime first, against ASan's runtime alone.
case_no=0
host_case() {
	local label=$1 in=/dev/null norm=same with_asan=0
	shift
	while [ "$1" != -- ]; do
		case $1 in
		--in) in=$2; shift 2 ;;
		--norm) norm=$2; shift 2 ;;
		--asan) with_asan=1; shift ;;
		*) echo "host_case: unknown option $1" >&2; exit 2 ;;
		esac
	done
	shift
	case_no=$((case_no + 1))
	local c=host$case_no
	if ! command -v "$1" > /dev/null; then
		skip "$label: $1 is not installed"
		return
	fi
	local lib="${preload:+$preload }$shim"
	run "$c.native" "$in" ${preload:+LD_PRELOAD="$preload"} -- "$@"
	run "$c.emulating" "$in" LD_PRELOAD="$lib" IOMMUFD_COMPAT=force -- "$@"
	compare "$label, the shim emulating" "$norm" "$c.native" "$c.emulating"
	if [ $passthrough = auto ]; then
		run "$c.passing" "$in" LD_PRELOAD="$lib" -- "$@"
	else
		run "$c.passing" "$in" LD_PRELOAD="$lib" IOMMUFD_COMPAT=off -- "$@"
	fi
	compare "$label, the shim passing through" "$norm" "$c.native" "$c.passing"
	if [ $with_asan = 1 ]; then
		run "$c.asan" "$in" LD_PRELOAD="$asan" ASAN_OPTIONS=detect_leaks=0 -- "$@"
		run "$c.asan-shim" "$in" LD_PRELOAD="$asan $shim" ASAN_OPTIONS=detect_leaks=0 \
			IOMMUFD_COMPAT=force -- "$@"
		compare "$label, ASan's runtime then the shim (emulating)" "$norm" "$c.asan" \
			"$c.asan-shim"
	fi
}

# testpmd's port MAC is random and its packet counts depend on timing: keep
# whether each count is zero, and the rest as printed.
norm_testpmd() {
	sed -E 's/Port 0: ([0-9A-F]{2}:){5}[0-9A-F]{2}/Port 0: (random MAC)/
		s/([RT]X-[a-z]+): +[1-9][0-9]*/\1: >0/g; s/([RT]X-[a-z]+): +0\b/\1: 0/g' |
		tr -s ' '
}

host_part() {
	echo "# host: programs natively and with LD_PRELOAD=$shim (emulating: IOMMUFD_COMPAT=force;" \
		"passing through: IOMMUFD_COMPAT=$passthrough)"
	if [ ! -f "$shim" ]; then
		not_ok "host: $shim is not built"
		return
	fi
	# That the shim really loads: ld.so only warns about a preload it cannot load.
	run host0.maps /dev/null LD_PRELOAD="${preload:+$preload }$shim" -- cat /proc/self/maps
	if grep -q "$shim" "$out/host0.maps.out"; then
		ok "host: the shim is mapped into a preloaded program (cat /proc/self/maps)"
	else
		not_ok "host: the shim is not mapped into a preloaded program (status $(cat "$out/host0.maps.status"))"
		tail -5 "$out/host0.maps.err" | diag
	fi

	# libselinux's constructor reads /etc/selinux/config before the shim's runs.
	host_case "ls -la /usr/share/doc/libc6 (libselinux)" --asan -- ls -la /usr/share/doc/libc6
	host_case "stat /dev/null" -- stat /dev/null
	host_case "find /usr/share/doc/bash" -- find /usr/share/doc/bash
	host_case "bash -c 'echo ok; exit 3'" -- bash -c 'echo ok; exit 3'
	# Fork-heavy: subshells, pipelines, make running its recipes' shells.
	# shellcheck disable=SC2016
	host_case "bash: subshells in a loop" -- bash -c 'for i in 1 2 3; do (echo $i); done; echo $(echo done)'
	host_case "sh -c with a pipeline" -- sh -c 'ls /usr/share/doc/bash | sort -r | head -n 3 | tr a-z A-Z'
	host_case "make --version" -- make --version
	# shellcheck disable=SC2016
	printf 'all: a b c\na b c:\n\t@echo $@ $$(echo from a shell) | tr a-z A-Z\n' > "$out/Makefile"
	host_case "make running recipes" -- make -s -f "$out/Makefile"
	# Threads, the ssl module (dlopen()ed _ssl, libssl, the CA store), a child.
	host_case "python3 with threads, ssl and a subprocess" --asan -- /usr/bin/python3 -c '
import hashlib, ssl, subprocess, threading
r = [None] * 4
def work(i):
    r[i] = hashlib.sha256(str(i).encode() * 100000).hexdigest()[:16]
ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
for t in ts: t.start()
for t in ts: t.join()
print(r)
ctx = ssl.create_default_context()
print(ssl.OPENSSL_VERSION, ctx.verify_mode, len(ctx.get_ca_certs()) >= 0)
print(subprocess.run(["true"]).returncode)'
	host_case "gnutls-cli --version (gnutls, p11-kit)" -- gnutls-cli --version
	host_case "certtool --version (gnutls)" -- certtool --version
	host_case "ip -br link (libbpf, libmnl, libcap)" -- ip -br link
	host_case "qemu-system-x86_64 --version" --asan -- qemu-system-x86_64 --version
	# Without hugepages DPDK's EAL refuses --version: compare what it prints.
	host_case "dpdk-testpmd --version" -- dpdk-testpmd --version
	# DPDK's EAL dlopen()s every PMD of pmds-23.0 (each with constructors),
	# starts its interrupt and lcore threads, and forwards on a null port.
	printf 'start tx_first\nstop\nquit\n' > "$out/testpmd.in"
	host_case "dpdk-testpmd on net_null: start tx_first, stop, quit" --in "$out/testpmd.in" \
		--norm norm_testpmd -- dpdk-testpmd --no-huge -m 256 --no-pci --no-shconf \
		--no-telemetry --file-prefix=real-programs-$$ --vdev=net_null0 -l 0-1 -- -i \
		--total-num-mbufs=2048
	host_case "xz -T2 (threads)" -- xz -T2 -0 --block-size=256KiB -c /usr/lib/x86_64-linux-gnu/libc.so.6
	host_case "tests/compat/real/threads (threads opening, closing and forking)" --asan -- \
		"$real/threads"
	host_case "tests/compat/real/dlopen_libs (dlopen of libselinux, gnutls, zlib)" -- \
		"$real/dlopen_libs"
	# LD_PRELOAD is ignored: what it sees of /dev/vfio/vfio must be the kernel's.
	host_case "tests/compat/real/static_pie (static-PIE)" -- "$real/static_pie"
	if [ -z "${SANITIZE:-}" ]; then
		run host.asanprog /dev/null -- "$real/threads-asan"
		run host.asanprog-shim /dev/null LD_PRELOAD="$asan $shim" IOMMUFD_COMPAT=force -- \
			"$real/threads-asan"
		compare "tests/compat/real/threads-asan (built with ASan), the shim emulating" same \
			host.asanprog host.asanprog-shim
	fi
}

# The guest's logs: "MODE.PROG.KIND| line" and "R key value" (guest.sh).
glog() {
	sed -n "s/^$2\.$3\.$4| //p" "$out/guest-$1.log"
}
gval() {
	sed -n "s/^R $2 //p" "$out/guest-$1.log" | head -1
}

# shim_checks BOOT PROG WHAT WHERE: through the shim, the trace must show
# that it emulated (and mapped WHAT with VFIO_IOMMU_MAP_DMA) on the cdevonly
# kernel, and that it passed through on the full one.
shim_checks() {
	local boot=$1 prog=$2 what=$3 where=$4 maps name=dpdk-testpmd
	[ "$prog" = qemu ] && name=QEMU
	if [ "$boot" = full ]; then
		if glog "$boot" shim "$prog" trace | grep -q 'passing through'; then
			ok "$name $where: the shim was loaded and passed through (trace)"
		else
			not_ok "$name $where: the trace does not say the shim passed through"
			glog "$boot" shim "$prog" trace | tail -10 | diag
		fi
		return
	fi
	maps=$(glog "$boot" shim "$prog" trace | grep -c 'mapped in IOAS')
	if [ "$maps" -gt 0 ]; then
		ok "$name $where: $what mapped with VFIO_IOMMU_MAP_DMA into the shim's IOAS ($maps maps traced)"
		glog "$boot" shim "$prog" trace | grep -m 3 'mapped in IOAS' | diag
	else
		not_ok "$name $where: no VFIO_IOMMU_MAP_DMA traced as 'mapped in IOAS'"
		glog "$boot" shim "$prog" trace | tail -10 | diag
	fi
	[ "$prog" = qemu ] || return 0
	# QEMU maps its RAM (-m 64M: 0x0-0x4000000 below 4 GiB) in pieces around
	# the BIOS areas; one of them must end where the RAM does.
	local a l ends=
	while read -r a l; do
		ends="$ends $(printf '0x%x' $((a + l)))"
	done < <(glog "$boot" shim qemu trace |
		sed -n 's/.*mapped in IOAS [0-9]*: IOVA \(0x[0-9a-f]*\) length \(0x[0-9a-f]*\).*/\1 \2/p')
	case " $ends " in
	*" 0x4000000 "*) ok "$name $where: a traced map ends at 64 MiB, the end of guest RAM" ;;
	*) not_ok "$name $where: no traced map ends at 64 MiB, the end of guest RAM (ends:$ends)" ;;
	esac
}

# guest_checks BOOT MODE WHERE: the checks on one mode's runs in one boot.
guest_checks() {
	local boot=$1 mode=$2 where=$3 st tx
	st=$(gval "$boot" "$mode.qemu.status")
	if [ -z "$st" ]; then
		not_ok "QEMU $where: did not run (the guest stopped before it)"
		return
	fi
	if glog "$boot" "$mode" qemu out | grep -q 'PCI device 1234:11e8'; then
		ok "QEMU $where: the monitor's info pci lists the passed-through edu (1234:11e8)"
	else
		not_ok "QEMU $where: the monitor's info pci does not list the edu device (1234:11e8)"
		{ glog "$boot" "$mode" qemu out | tail -5; glog "$boot" "$mode" qemu err | tail -10; } | diag
	fi
	if [ "$st" = 0 ]; then
		ok "QEMU $where: quit, exit status 0 ($(gval "$boot" "$mode.qemu.seconds") s)"
	else
		not_ok "QEMU $where: exit status $st"
		glog "$boot" "$mode" qemu err | tail -10 | diag
	fi
	[ "$mode" = shim ] && shim_checks "$boot" qemu "guest RAM" "$where"

	st=$(gval "$boot" "$mode.testpmd.status")
	# The port's TX count, from "show port stats all" and the forward stats.
	tx=$(glog "$boot" "$mode" testpmd out | sed -n 's/.*TX-packets: *\([0-9]*\).*/\1/p' |
		sort -n | tail -1)
	if [ "${tx:-0}" -gt 0 ]; then
		ok "dpdk-testpmd $where: start tx_first sent packets (TX-packets $tx)"
	else
		not_ok "dpdk-testpmd $where: no packets sent (TX-packets ${tx:-not printed})"
		{ glog "$boot" "$mode" testpmd out | tail -15; glog "$boot" "$mode" testpmd err | tail -15; } |
			diag
	fi
	if [ "$st" = 0 ]; then
		ok "dpdk-testpmd $where: quit, exit status 0 ($(gval "$boot" "$mode.testpmd.seconds") s)"
	else
		not_ok "dpdk-testpmd $where: exit status ${st:-none}"
		glog "$boot" "$mode" testpmd err | tail -10 | diag
	fi
	[ "$mode" = shim ] && shim_checks "$boot" testpmd "hugepage memory" "$where"
}

# boot NAME VARIANT MODE...: one guest, guest.sh's runs in it.
boot() {
	local name=$1 variant=$2 start=$SECONDS
	shift 2
	tests/vm/run --variant "$variant" --timeout 900 -- \
		tests/compat/real/guest.sh "$ctl" "$preload" "$@" 2>&1 | tr -d '\r' > "$out/guest-$name.log"
	local st=${PIPESTATUS[0]}
	echo "# $variant kernel: booted, ran and stopped in $((SECONDS - start)) s" \
		"($(gval "$name" kernel); edu $(gval "$name" edu); e1000e $(gval "$name" nic))"
	if [ "$st" != 0 ]; then
		not_ok "the $variant guest: status $st"
		tail -20 "$out/guest-$name.log" | diag
	fi
}

guest_part() {
	if [ ! -x "$ctl" ] || [ ! -f "$shim" ]; then
		not_ok "guest: $ctl and $shim must be built"
		return
	fi
	# The reference: type1 itself, then the shim passing through to it.
	boot full full native shim
	guest_checks full native "natively on type1 (full kernel)"
	guest_checks full shim "through the shim passing through to type1 (full kernel)"
	# What the shim is for: neither container nor groups.
	boot cdevonly cdevonly shim
	guest_checks cdevonly shim "through the shim emulating type1 (cdevonly kernel)"

	pci_same full shim "the shim passing through"
	pci_same cdevonly shim "the shim emulating type1"
}

# pci_same BOOT MODE WHAT: QEMU's info pci as natively on type1.
pci_same() {
	glog full native qemu out | grep -v '^(qemu)' > "$out/pci.native"
	glog "$1" "$2" qemu out | grep -v '^(qemu)' > "$out/pci.$1"
	if [ -s "$out/pci.native" ] && cmp -s "$out/pci.native" "$out/pci.$1"; then
		ok "QEMU: info pci is the same natively on type1 and through $3 ($1 kernel)"
	else
		not_ok "QEMU: info pci differs between native type1 and $3 ($1 kernel)"
		diff -u "$out/pci.native" "$out/pci.$1" | head -20 | diag
	fi
}

for p in $parts; do
	case $p in
	host) host_part ;;
	guest) guest_part ;;
	*) echo "real-programs.sh: unknown part $p (host, guest)" >&2; exit 2 ;;
	esac
done
echo "# took $((SECONDS - began)) s"
echo "real-programs: $((n - fail - skipped)) passed, $fail failed, $skipped skipped"
[ $fail = 0 ] && [ $n -gt 0 ]
