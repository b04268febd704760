#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# iommufd-ctl in the test guest: every command, text and --json, exit codes,
# and the network state it reads through netlink. Prints TAP.
set -u
cd "$(dirname "$0")/../.."
ctl=${O:-build}/bin/iommufd-ctl
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
bad() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
check() { local d=$1; shift; if "$@" >/dev/null 2>&1; then ok "$d"; else bad "$d" "failed: $*"; fi; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }

edu=$(for d in /sys/bus/pci/devices/*; do [ "$(cat $d/vendor):$(cat $d/device)" = 0x1234:0x11e8 ] && basename $d; done)
nic=$(for d in /sys/bus/pci/devices/*; do [ -d $d/net ] && basename $d; done | head -1)
ifname=$(ls /sys/bus/pci/devices/$nic/net)
echo "1..24"

out=$($ctl list)
if grep -q "^$edu .*1234:11e8.* vfio-pci .*/dev/vfio/devices/vfio" <<<"$out"; then
	ok "list shows edu on vfio-pci with its cdev"
else
	bad "list shows edu on vfio-pci with its cdev" "$out"
fi
check "list names devices from pci.ids" grep -q "82574L Gigabit Network Connection" <<<"$out"

# JSON parses and says what the text says.
text_bdfs=$(awk 'NR > 1 {print $1}' <<<"$out" | sort | tr '\n' ' ')
json_bdfs=$($ctl --json list | json 'print(" ".join(sorted(x["bdf"] for x in d)))')
[ "$json_bdfs " = "$text_bdfs" ] && ok "list --json has the same devices as the text" ||
	bad "list --json has the same devices as the text" "text: $text_bdfs" "json: $json_bdfs"
check "list --json has edu's group, driver and cdev" bash -c "$ctl --json list | python3 -c \"import json,sys; e=[x for x in json.load(sys.stdin) if x['bdf']=='$edu'][0]; assert e['driver']=='vfio-pci' and e['iommu_group'] is not None and e['vfio_cdev'].startswith('/dev/vfio/devices/')\""
check "list --driver filters" bash -c "[ \"\$($ctl --json list --driver vfio-pci | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')\" = 1 ]"
check "list --class 0200 lists only the NIC" bash -c "$ctl list --class 0200 | grep -q $nic && [ \$($ctl list --class 0200 | wc -l) = 2 ]"

# Network state through libnl: down with nothing, then up with an address.
st=$($ctl --json list --class 02 | json "n=d[0]['net']; print(n['up'], n['addresses'])")
[ "$st" = "False 0" ] && ok "the NIC is down with no address" || bad "the NIC is down with no address" "$st"
ip link set "$ifname" up && ip addr add 10.99.0.1/24 dev "$ifname"
st=$($ctl --json list --class 02 | json "n=d[0]['net']; print(n['up'], n['addresses'])")
[ "$st" = "True 1" ] && ok "after ip link up and an address, list sees both" ||
	bad "after ip link up and an address, list sees both" "$st"
ip addr flush dev "$ifname"; ip link set "$ifname" down

out=$($ctl info "$edu")
check "info names the MSI window" grep -q "reserved 0xfee00000-0xfeefffff, the x86 MSI window" <<<"$out"
check "info decodes VT-d's MGAW of 48" grep -qE "MGAW +0x30" <<<"$out"
r=$($ctl --json info "$edu" | json 'print(d["iova_ranges"][0], d["features"]["IOAS_MAP"], d["features"]["IOAS_MAP_FILE"])')
[ "$r" = "0x0-0xfedfffff True False" ] && ok "info --json: ranges and features" || bad "info --json: ranges and features" "$r"

r=$($ctl --json device "$edu" | json 'b=d["regions"][0]; print(b["name"], b["size"], b["mmap"], [i["count"] for i in d["irqs"]][:3])')
[ "$r" = "BAR0 1048576 True [1, 1, 0]" ] && ok "device --json: BAR0 and IRQ counts" || bad "device --json: BAR0 and IRQ counts" "$r"

r=$($ctl --json dma-test "$edu" | json 'print(d["roundtrip"], d["blocked_after_unmap"])')
[ "$r" = "True True" ] && ok "dma-test: round trip, then blocked after unmap" || bad "dma-test: round trip, then blocked after unmap" "$r"

$ctl dma-test "$nic" >/dev/null 2>&1; r=$?
[ $r = 1 ] && ok "dma-test of a device it cannot drive fails with 1" || bad "dma-test of a device it cannot drive fails with 1" "exit $r"
$ctl frobnicate >/dev/null 2>&1; r=$?
[ $r = 2 ] && ok "an unknown command is a usage error (2)" || bad "an unknown command is a usage error (2)" "exit $r"
err=$($ctl device 0000:00:09.0 2>&1); r=$?
[ $r = 1 ] && grep -q "no PCI device 0000:00:09.0" <<<"$err" && ok "device of a missing BDF explains and fails with 1" ||
	bad "device of a missing BDF explains and fails with 1" "exit $r: $err"

# bind: a network device in use is refused, with every reason named.
check "list --class 02 lists only network devices" bash -c "[ \$($ctl --json list --class 02 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') = 1 ]"
ip link set "$ifname" up && ip addr add 10.99.0.1/24 dev "$ifname"
err=$($ctl bind "$nic" 2>&1); r=$?
if [ $r = 1 ] && grep -q "is up" <<<"$err" && grep -q "address 10.99.0.1/24" <<<"$err" &&
   [ "$(basename "$(readlink /sys/bus/pci/devices/$nic/driver)")" = e1000e ]; then
	ok "bind refuses a NIC that is up with an address, and says so"
else
	bad "bind refuses a NIC that is up with an address, and says so" "exit $r: $err"
fi
ip addr flush dev "$ifname"
ip -6 route add 2001:db8::/64 dev "$ifname"; ip route add 10.1.0.0/16 dev "$ifname" table 100
err=$($ctl bind "$nic" 2>&1); r=$?
[ $r = 1 ] && grep -q "route 2001:db8::/64" <<<"$err" && grep -q "route 10.1.0.0/16 in table 100" <<<"$err" &&
	ok "an IPv6 route and a route in table 100 are named" ||
	bad "an IPv6 route and a route in table 100 are named" "exit $r: $err"
ip route flush table 100; ip -6 route flush dev "$ifname"; ip link set "$ifname" down
out=$($ctl bind "$nic" 2>&1); r=$?
[ $r = 0 ] && [ "$(basename "$(readlink /sys/bus/pci/devices/$nic/driver)")" = vfio-pci ] &&
	grep -q "/dev/vfio/devices/vfio" <<<"$out" &&
	ok "down and without addresses, it binds and its cdev exists" ||
	bad "down and without addresses, it binds and its cdev exists" "exit $r: $out"
[ -e /run/iommufd-ctl/$nic ] && [ "$(cat /run/iommufd-ctl/$nic)" = e1000e ] &&
	ok "bind remembers the previous driver" || bad "bind remembers the previous driver" "$(cat /run/iommufd-ctl/$nic 2>&1)"
out=$($ctl restore "$nic" 2>&1); r=$?
[ $r = 0 ] && [ "$(basename "$(readlink /sys/bus/pci/devices/$nic/driver)")" = e1000e ] &&
	[ -d "/sys/class/net/$ifname" ] && ok "restore gives it back to e1000e with its interface" ||
	bad "restore gives it back to e1000e with its interface" "exit $r: $out"
# A bond member is in use when its master is.
ip link set "$ifname" master bond0 && ip link set bond0 up && ip addr add 10.5.0.1/24 dev bond0
err=$($ctl bind "$nic" 2>&1); r=$?
[ $r = 1 ] && grep -q "member of bond0, which is in use" <<<"$err" &&
	ok "a bond member whose master is in use is refused" ||
	bad "a bond member whose master is in use is refused" "exit $r: $err"
out=$($ctl bind --force "$nic" 2>&1); r=$?
[ $r = 0 ] && ok "--force takes it anyway" || bad "--force takes it anyway" "exit $r: $out"
$ctl restore "$nic" >/dev/null 2>&1

echo "# Totals: pass:$((n - fail)) fail:$fail"
[ $fail = 0 ]
