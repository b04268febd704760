#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Write the binary seed inputs of fuzz/corpus/ (python3 fuzz/seeds.py).

The text seeds (session scripts, environments, sizes) are kept as files;
the binary ones are made here from the structures they stand for, so that
each can be read and changed: QEMU's VT-d registers, a BAR with an MSI-X
hole, type1's GET_INFO reply, netlink dumps, legacy ioctl sequences.
Regression inputs (regress-*) found by fuzzing are kept as they were found.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(harness, name, data):
    d = os.path.join(HERE, 'corpus', harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


# ---- fake kernel replies (fuzz/fake_kernel.c) --------------------------------
# fake_kernel_reset() reads one byte first: 0 means the default VT-d ranges.
DEFAULT_RANGES = b'\0'


def u8(v): return struct.pack('<B', v)
def u16(v): return struct.pack('<H', v)
def u32(v): return struct.pack('<I', v)
def u64(v): return struct.pack('<Q', v)


# ---- hw_info --------------------------------------------------------------
def hw_info():
    def seed(name, typ, data, caps):
        rep = DEFAULT_RANGES + u8(typ) + data + u64(caps)
        rep += b'\0' * ((-len(rep)) % 4)
        body = u8(len(rep) // 4) + rep + u8(0) + u8(1) + bytes(72)
        put('hw_info', name, body)
    # QEMU 7.2's intel-iommu (aw-bits=48): CAP_REG and ECAP_REG as the guest reads them.
    seed('qemu-vtd', 1, u32(0) + u32(0) + u64(0x00d2008c22660686) + u64(0x0000000000f00f5a), 0)
    seed('vtd-dirty', 1, u32(0) + u32(0) + u64(0x00d2008c22660686) + u64(0x00002aa2f0505e), 1)
    seed('smmuv3', 2, u32(0) + u32(0) + u32(0x0f0fe2bf) + u32(0x027e1001) + u32(0) +
         u32(0) + u32(0) + u32(0x00000575) + u32(0x43b) + u32(0), 1)
    seed('none', 0, b'', 0)


# ---- vfio_caps ------------------------------------------------------------
def region_reply(flags, index, size, caps):
    """One VFIO_DEVICE_GET_REGION_INFO answer as fake_kernel.c reads it."""
    cap_offset = 32 if caps else 0
    body = u32(0) + u32(flags | (8 if caps else 0)) + u32(index) + u32(cap_offset) + \
        u64(size) + u64(0x10000000000 * index) + caps
    # region count (index must be below it), the size needed, the bytes.
    return u8(11) + u16(len(body) - 32) + body


def sparse_cap(areas, nxt=0):
    c = u16(1) + u16(1) + u32(nxt) + u32(len(areas)) + u32(0)
    for off, size in areas:
        c += u64(off) + u64(size)
    return c


def vfio_caps():
    # A chain to walk: sparse mmap at 32, then an MSI-X-mappable cap (id 3) at 80.
    chain = bytes(32) + sparse_cap([(0, 0x1000), (0x3000, 0x1000)], 80) + \
        u16(3) + u16(1) + u32(0)
    put('vfio_caps', 'walk-two-caps', u8(0) + u16(len(chain)) + u16(32) + u8(32) + u16(3) +
        chain)
    put('vfio_caps', 'walk-loop', u8(0) + u16(48) + u16(32) + u8(32) + u16(5) + bytes(32) +
        u16(1) + u16(1) + u32(32) + bytes(8))
    # BAR0 of 16 KiB with the MSI-X table in its middle page (NVMe-like), asked
    # for with a short buffer first (argsz 32), then whole.
    caps = sparse_cap([(0, 0x2000), (0x3000, 0x1000)])
    bar = region_reply(7, 0, 0x4000, caps)
    replies = DEFAULT_RANGES + bar + bar
    body = u8(1) + u8((len(replies) + 7) // 8) + replies + bytes((-len(replies)) % 8) + u8(0)
    put('vfio_caps', 'region-bar-msix', body + u8(0) + u64(0x3000) + u32(0))
    # Config space: no caps, no mmap.
    cfg = region_reply(3, 7, 0x1000, b'')
    replies = DEFAULT_RANGES + cfg
    body = u8(1) + u8((len(replies) + 7) // 8) + replies + bytes((-len(replies)) % 8) + u8(0)
    put('vfio_caps', 'region-config', body + u8(7) + u64(0) + u32(0))


# ---- type1_info -----------------------------------------------------------
def type1_info():
    def info(caps, pgsizes=0x40201000):
        return u32(0) + u32(3 if caps else 1) + u64(pgsizes) + u32(16 + 8 if caps else 0) + \
            u32(0) + caps

    # Native type1 with the edu device attached (VT-d, aw-bits=48): migration,
    # DMA available, then the IOVA ranges below and above the MSI window.
    iova = u16(1) + u16(1) + u32(0) + u32(2) + u32(0) + \
        u64(0) + u64(0xfedfffff) + u64(0xfef00000) + u64(0xffffffffffff)
    mig = u16(2) + u16(1) + u32(0) + u64(0x1000) + u64(0x10000000)
    avail = u16(3) + u16(1) + u32(0) + u32(65535) + u32(0)
    caps = bytearray(mig + avail + iova)
    base = 24
    struct.pack_into('<I', caps, 4, base + len(mig))
    struct.pack_into('<I', caps, len(mig) + 4, base + len(mig) + len(avail))
    full = info(bytes(caps))

    def call(reply):
        return u8(0) + u16(len(reply) - 24) + reply

    put('type1_info', 'native-edu', call(full) + call(full))
    put('type1_info', 'no-caps', call(info(b'')))


# ---- sysfs ----------------------------------------------------------------
STATUS = b'''Name:\tqemu-system-x86\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t812\nPid:\t812
VmPeak:\t 3391480 kB\nVmSize:\t 3325944 kB\nVmLck:\t       0 kB\nVmPin:\t 1048576 kB
VmHWM:\t 1123456 kB\nVmRSS:\t 1098765 kB\nThreads:\t6\n'''
MAPS = b'''55d0c3a00000-55d0c3a2c000 r--p 00000000 fe:01 1835023                    /usr/bin/qemu-system-x86_64
7f2a40000000-7f2a80000000 rw-s 00000000 00:01 2048                       /memfd:guest-ram (deleted)
7f2a80000000-7f2a80100000 rw-s 00000000 00:0e 13                         /dev/vfio/devices/vfio0
7ffd5a1e0000-7ffd5a201000 rw-p 00000000 00:00 0                          [stack]
'''


def sysfs():
    # 0: 0000:00:02.0 on vfio-pci with cdev vfio0 (char 511:3), a 256-byte buffer.
    put('sysfs', 'cdev-vfio-pci', u8(0) + u16(256) + u8(7) + u8(0) +
        b'../../../bus/pci/drivers/vfio-pci\0' + b'vfio0\0' + b'511:3\n\0' + u8(3) +
        u16(511) + u16(3))
    # 0: on e1000e, no vfio-dev.
    put('sysfs', 'cdev-host-driver', u8(0) + u16(256) + u8(2) + u8(2) +
        b'../../../bus/pci/drivers/e1000e\0')
    # 1: a NIC on e1000e in IOMMU group 3.
    put('sysfs', 'pci-links', u8(1) + b'../../../bus/pci/drivers/e1000e\0' +
        b'../../../kernel/iommu_groups/3\0')
    # 2: 16 pages, present, in two physically contiguous runs.
    pm = b''.join(u64((1 << 63) | (0x12340 + i + (i >= 8) * 0x100)) for i in range(16))
    put('sysfs', 'pagemap-two-runs', u8(2) + u16(16) + u8(0) + pm)
    put('sysfs', 'status', u8(3) + STATUS)
    # 4: a fixed map into the MSI window, refused with EINVAL.
    put('sysfs', 'explain-msi-window', u8(4) + u8(0) + u64(0x7f2a40000000) + u64(0x1000) +
        u64(0xfee00000) + u8(7) + u8(0) + u16(len(STATUS)) + STATUS + MAPS)
    # 4: EFAULT on a VFIO BAR mapping.
    put('sysfs', 'explain-efault-bar', u8(4) + u8(0) + u64(0x7f2a80000000) + u64(0x100000) +
        u64(0) + u8(3) + u8(5) + u16(len(STATUS)) + STATUS + MAPS)
    # 4: ENOMEM against RLIMIT_MEMLOCK.
    put('sysfs', 'explain-enomem', u8(4) + u8(0) + u64(0x7f2a40000000) + u64(1 << 30) +
        u64(0) + u8(3) + u8(4) + u16(len(STATUS)) + STATUS + MAPS)


# ---- netlink ---------------------------------------------------------------
def rta(typ, payload):
    n = 4 + len(payload)
    return u16(n) + u16(typ) + payload + bytes((-n) % 4)


def nl(kind, payload, flags=2):    # NLM_F_MULTI, as in a dump
    return u8(kind) + u8(flags) + u16(len(payload)) + payload


def link(index, name, up, master=0, kind=None):
    body = u8(0) + u8(0) + u16(1) + struct.pack('<i', index) + u32(0x1043 if up else 0x1002) + \
        u32(0) + rta(3, name + b'\0') + rta(4, u32(1500))
    if master:
        body += rta(10, u32(master))
    if kind:
        body += rta(18, rta(1, kind + b'\0'))     # IFLA_LINKINFO { IFLA_INFO_KIND }
    return nl(0, body)


def addr4(index, a, plen, scope=0):
    return nl(1, u8(2) + u8(plen) + u8(0x80) + u8(scope) + u32(index) + rta(2, bytes(a)) +
              rta(1, bytes(a)))


def addr6(index, a, plen, scope=0):
    return nl(1, u8(10) + u8(plen) + u8(0x80) + u8(scope) + u32(index) + rta(1, bytes(a)))


def route4(index, dst, plen, table):
    body = u8(2) + u8(plen) + u8(0) + u8(0) + u8(table if table < 256 else 252) + u8(4) + \
        u8(0) + u8(1) + u32(0) + rta(15, u32(table)) + rta(1, bytes(dst)) + rta(4, u32(index))
    return nl(2, body)


def netlink():
    br = link(7, b'br0', True, kind=b'bridge')
    veth = link(5, b'veth0', True, master=7, kind=b'veth')
    lo = link(1, b'lo', True)
    ll6 = addr6(5, [0xfe, 0x80] + [0] * 13 + [1], 64, scope=253)
    # The review's case: a bridge member with 60 routes in table 100, bridge up.
    routes = b''.join(route4(5, [10, 1, i, 0], 24, 100) for i in range(60))
    put('netlink', 'bridge-member-many-routes', u16(1024) + u8(2) + lo + br + veth + ll6 +
        addr4(7, [192, 168, 1, 1], 24) + routes)
    # A NIC with an address and a default route, asked about with a small buffer.
    eth = link(2, b'eth0', True)
    put('netlink', 'nic-small-buffer', u16(48) + u8(0) + eth + addr4(2, [10, 0, 0, 2], 24) +
        route4(2, [0, 0, 0, 0], 0, 254) + addr6(2, [0x20, 1, 0xd, 0xb8] + [0] * 11 + [2], 64))
    # A link that is down, with only link-local addresses: not in use.
    put('netlink', 'down-link-local', u16(256) + u8(0) + link(3, b'enp0s3', False) +
        addr6(3, [0xfe, 0x80] + [0] * 13 + [3], 64, scope=253) +
        addr4(3, [169, 254, 1, 1], 16, scope=253))


# ---- compat -----------------------------------------------------------------
def compat():
    head = u8(0) + u8(0) + u8(1)        # no replies, no faults, dirty-capable IOMMU
    container = u8(0)
    group_vfio = u8(1) + u8(1) + u8(0)  # one device on vfio-pci
    set_container = u8(4) + u8(1) + u8(1) + u8(0)
    set_iommu_v2 = u8(2) + u8(0) + u8(2) + u8(3)
    get_info = u8(2) + u8(0) + u8(3) + u8(0) + bytes(16)
    get_info_short = u8(2) + u8(0) + u8(3) + u8(1) + u16(24) + bytes(16)
    # MAP_DMA at IOVA 2M, 16 KiB, read-write (pick_u64: 0x2X is X << 21, 0x0X is X << 12).
    map_2m = u8(2) + u8(0) + u8(4) + u8(0) + u8(3) + u8(0x01) + u8(0x21) + u8(0x04)
    map_4m = u8(2) + u8(0) + u8(4) + u8(0) + u8(3) + u8(0x05) + u8(0x22) + u8(0x10)
    dirty_start = u8(2) + u8(0) + u8(8) + u8(0) + u8(0) + u8(0) + u8(0) + u8(1) + u16(0)
    dirty_get = u8(2) + u8(0) + u8(8) + u8(0) + u8(2) + u8(0x21) + u8(0x04) + u8(1) + u16(8)
    unmap_dirty = u8(2) + u8(0) + u8(6) + u8(0) + u8(1) + u8(1) + u8(0x21) + u8(0x04) + \
        u8(1) + u16(8)
    unmap_all = u8(2) + u8(0) + u8(6) + u8(0) + u8(0) + u8(8) + u8(0) + u8(0) + u8(1) + u16(0)
    get_device = u8(4) + u8(1) + u8(4) + u8(7) + b'/f/dev0'
    hot_reset_info = u8(5) + u8(2) + u8(1) + u8(12) + u8(5) + u8(2) + u8(1) + u8(44)
    hot_reset = u8(5) + u8(2) + u8(0) + u8(1) + u8(1) + u8(0) + u8(1)
    unset = u8(4) + u8(1) + u8(3)
    close_all = u8(6) + u8(0) + u8(6) + u8(0) + u8(6) + u8(0)
    put('compat', 'qemu-vfio-pci', head + container + group_vfio + set_container +
        set_iommu_v2 + get_info + map_2m + map_4m + get_device + hot_reset_info +
        hot_reset + unmap_all + close_all)
    put('compat', 'migration-dirty', head + container + group_vfio + set_container +
        set_iommu_v2 + map_2m + dirty_start + dirty_get + unmap_dirty + unset + close_all)
    put('compat', 'get-info-short', head + container + group_vfio + set_container +
        set_iommu_v2 + get_info_short + get_info + close_all)
    # A VF (vfio-pci, its PF on vfio-pci too) asked for with a VF token.
    vf_group = u8(1) + u8(1) + u8(0x80 | 0x20)
    token = b'/f/dev0 vf_token=2ab74924-c335-45f4-9b16-8569e5b08258'
    put('compat', 'vf-token', head + container + vf_group + set_container + set_iommu_v2 +
        u8(4) + u8(1) + u8(4) + u8(len(token)) + token + close_all)
    # type1 v1, then the DMA-entry limit (16 here).
    v1 = u8(2) + u8(0) + u8(2) + u8(1)
    maps = b''.join(u8(2) + u8(0) + u8(4) + u8(0) + u8(3) + u8(i) + u8(i) + u8(1)
                    for i in range(1, 20))
    put('compat', 'type1-v1-limit', head + container + group_vfio + set_container + v1 + maps +
        u8(2) + u8(0) + u8(6) + u8(0) + u8(0) + u8(0) + u8(0x02) + u8(0x05) + u8(1) + u16(0))


if __name__ == '__main__':
    compat()
    netlink()
    sysfs()
    hw_info()
    vfio_caps()
    type1_info()
