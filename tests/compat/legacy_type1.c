// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A legacy VFIO type1 program, written the way programs in the wild are:
 * <linux/vfio.h> only, container, group, device fds. It drives the edu
 * device and prints a transcript of every result: return values, errnos,
 * sizes, info and capability fields, and whether the device's DMA landed.
 * Run natively on a kernel with the type1 container and through the compat
 * shim on one without, the transcripts must match (tests/compat/differential.sh).
 * Lines that carry results start with "T "; known differences, "D ".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "legacy.h"

/* VFIO_IOMMU_DIRTY_PAGES(GET_BITMAP) of [iova, iova + size) into @bits. */
static int dirty_get(uint64_t iova, uint64_t size, uint64_t pgsize, uint64_t *bits,
		     uint64_t bitmap_size)
{
	struct {
		struct vfio_iommu_type1_dirty_bitmap db;
		struct vfio_iommu_type1_dirty_bitmap_get get;
	} d = {
		.db = { .argsz = sizeof(d), .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP },
		.get = { .iova = iova, .size = size,
			 .bitmap = { .pgsize = pgsize, .size = bitmap_size,
				     .data = (__u64 *)bits } },
	};

	return ioctl(container, VFIO_IOMMU_DIRTY_PAGES, &d);
}

static int dirty_op(uint32_t flags)
{
	struct vfio_iommu_type1_dirty_bitmap db = { .argsz = sizeof(db), .flags = flags };

	return ioctl(container, VFIO_IOMMU_DIRTY_PAGES, &db);
}

/* VFIO_IOMMU_UNMAP_DMA with VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP. */
static int unmap_dirty(uint64_t iova, uint64_t size, uint64_t pgsize, uint64_t *bits,
		       uint64_t bitmap_size, uint32_t argsz, uint64_t *done)
{
	struct {
		struct vfio_iommu_type1_dma_unmap u;
		struct vfio_bitmap b;
	} d = {
		.u = { .argsz = argsz ? argsz : sizeof(d),
		       .flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, .iova = iova, .size = size },
		.b = { .pgsize = pgsize, .size = bitmap_size, .data = (__u64 *)bits },
	};
	int r = ioctl(container, VFIO_IOMMU_UNMAP_DMA, &d);

	*done = d.u.size;
	return r;
}

/*
 * type1's dirty bitmap rules: mappings with holes around them, a bitmap
 * holding garbage (which words are written whole, which are ORed into), the
 * ranges and sizes refused, and unmap reporting what it removes. Each mapping
 * is reported once with its bits shifted in a word: type1 keeps the bits it
 * shifted out in its own buffer and reports them again later (past the end
 * of the mapping), which the shim does not imitate.
 */
static void dirty_rules(void)
{
	uint8_t *mem = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0);
	uint64_t bits[4], done = 0;
	int r;

	T("dirty map A: %s", res(map(0x800000, mem, 4 * PAGE, RW, 0)));
	T("dirty map B: %s", res(map(0x806000, mem + 6 * PAGE, 3 * PAGE, RW, 0)));
	T("dirty map D: %s", res(map(0x820000, mem + 9 * PAGE, 2 * PAGE, RW, 0)));
	T("dirty map E: %s", res(map(0x823000, mem + 11 * PAGE, PAGE, RW, 0)));
	T("dirty map F: %s", res(map(0x900000, mem + 12 * PAGE, 2 * PAGE, RW, 0)));
	T("dirty start: %s", res(dirty_op(VFIO_IOMMU_DIRTY_PAGES_FLAG_START)));
	T("dirty start again: %s", res(dirty_op(VFIO_IOMMU_DIRTY_PAGES_FLAG_START)));
	/* Two pages of hole, A, two of hole, B: 11 pages from 0x7fe000. */
	memset(bits, 0xa5, sizeof(bits));
	r = dirty_get(0x7fe000, 11 * PAGE, PAGE, bits, 8);
	T("dirty get with holes: %s bits=0x%llx next=0x%llx", res(r), (unsigned long long)bits[0],
	  (unsigned long long)bits[1]);
	/* F at bit 66: only the second word is written. */
	memset(bits, 0xa5, sizeof(bits));
	r = dirty_get(0x900000 - 66 * PAGE, 68 * PAGE, PAGE, bits, 16);
	T("dirty get offset 66: %s bits=0x%llx 0x%llx 0x%llx", res(r), (unsigned long long)bits[0],
	  (unsigned long long)bits[1], (unsigned long long)bits[2]);
	memset(bits, 0xa5, sizeof(bits));
	r = dirty_get(0x7f0000, 2 * PAGE, PAGE, bits, 8);
	T("dirty get in a hole: %s bits=0x%llx", res(r), (unsigned long long)bits[0]);
	T("dirty get bisecting A: %s", res(dirty_get(0x801000, 3 * PAGE, PAGE, bits, 8)));
	T("dirty get ending inside B: %s", res(dirty_get(0x800000, 8 * PAGE, PAGE, bits, 8)));
	T("dirty get pgsize 8K: %s", res(dirty_get(0x800000, 4 * PAGE, 2 * PAGE, bits, 8)));
	T("dirty get bitmap size 0: %s", res(dirty_get(0x800000, 4 * PAGE, PAGE, bits, 0)));
	T("dirty get bitmap too small: %s",
	  res(dirty_get(0x7be000, 75 * PAGE, PAGE, bits, 8)));
	T("dirty get unaligned: %s", res(dirty_get(0x800800, 4 * PAGE, PAGE, bits, 8)));
	T("dirty get size 0: %s", res(dirty_get(0x800000, 0, PAGE, bits, 8)));
	T("dirty get wrapping: %s", res(dirty_get(-4096ULL, 2 * PAGE, PAGE, bits, 8)));
	T("dirty get bad bitmap pointer: %s",
	  res(dirty_get(0x800000, 4 * PAGE, PAGE, (uint64_t *)8, 8)));
	{
		struct vfio_iommu_type1_dirty_bitmap db = {
			.argsz = sizeof(db), .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP };

		T("dirty get without a range: %s",
		  res(ioctl(container, VFIO_IOMMU_DIRTY_PAGES, &db)));
	}
	T("dirty unknown flag: %s", res(dirty_op(0x8)));

	/* Unmap with the bitmap: refusals first, then one that removes D and E. */
	r = unmap_dirty(0x820000, 4 * PAGE, 2 * PAGE, bits, 8, 0, &done);
	T("unmap dirty pgsize 8K: %s size=0x%llx", res(r), (unsigned long long)done);
	r = unmap_dirty(0x820000, 4 * PAGE, PAGE, bits, 0, 0, &done);
	T("unmap dirty bitmap size 0: %s size=0x%llx", res(r), (unsigned long long)done);
	r = unmap_dirty(0x820000, 4 * PAGE, PAGE, bits, 8,
			sizeof(struct vfio_iommu_type1_dma_unmap), &done);
	T("unmap dirty no bitmap: %s size=0x%llx", res(r), (unsigned long long)done);
	memset(bits, 0xa5, sizeof(bits));
	r = unmap_dirty(0x820000, 4 * PAGE, PAGE, bits, 8, 0, &done);
	T("unmap dirty: %s size=0x%llx bits=0x%llx next=0x%llx", res(r), (unsigned long long)done,
	  (unsigned long long)bits[0], (unsigned long long)bits[1]);
	T("dirty stop: %s", res(dirty_op(VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP)));
	T("dirty stop again: %s", res(dirty_op(VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP)));
	r = unmap_dirty(0x800000, 4 * PAGE, PAGE, bits, 8, 0, &done);
	T("unmap dirty after stop: %s size=0x%llx", res(r), (unsigned long long)done);
	T_UNMAP("unmap A, B, F", 0x800000, 0x102000, 0);
	munmap(mem, 16 * PAGE);
}

/* Threads share the container, as a VMM's vCPU and I/O threads do. */
#define THREADS 4
#define THREAD_MAPS 64

static void *thread_maps(void *arg)
{
	uintptr_t t = (uintptr_t)arg, ok = 0;
	uint8_t *mem = mmap(NULL, THREAD_MAPS * PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t base = 0x10000000 + t * 0x1000000;

	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < THREAD_MAPS; i++)
			ok += !map(base + i * PAGE, mem + i * PAGE, PAGE, RW, 0);
		for (int i = 0; i < THREAD_MAPS; i += 2) {
			uint64_t done = 0;

			ok += !unmap(base + i * PAGE, 2 * PAGE, 0, &done) && done == 2 * PAGE;
		}
	}
	munmap(mem, THREAD_MAPS * PAGE);
	return (void *)ok;
}

static void threads(void)
{
	pthread_t th[THREADS];
	uintptr_t ok = 0;
	void *ret;

	for (uintptr_t t = 0; t < THREADS; t++)
		pthread_create(&th[t], NULL, thread_maps, (void *)t);
	for (int t = 0; t < THREADS; t++) {
		pthread_join(th[t], &ret);
		ok += (uintptr_t)ret;
	}
	T("threads: %lu of %d maps and unmaps succeeded", (unsigned long)ok,
	  THREADS * 4 * (THREAD_MAPS + THREAD_MAPS / 2));
}

int main(void)
{
	char bdf[256], gpath[64];
	struct vfio_group_status st = { .argsz = sizeof(st) };
	struct vfio_device_info di = { .argsz = sizeof(di) };
	struct vfio_region_info ri = { .argsz = sizeof(ri) };
	uint8_t *buf, *buf2;
	uint64_t done;
	uint16_t cmd;
	struct stat sb;
	int r, grp;

	setvbuf(stdout, NULL, _IOLBF, 0);
	grp = find_edu_group(bdf, sizeof(bdf));
	if (grp < 0) {
		printf("no edu device\n");
		return 77;
	}
	snprintf(gpath, sizeof(gpath), "/dev/vfio/%d", grp);

	r = stat("/dev/vfio/vfio", &sb);
	T("stat /dev/vfio/vfio: %s chr=%d dev=%u:%u", res(r), S_ISCHR(sb.st_mode),
	  major(sb.st_rdev), minor(sb.st_rdev));
	T("access group node: %s", res(access(gpath, F_OK)));
	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	T("open container: %s", res(container < 0 ? -1 : 0));
	T("api version: %d", ioctl(container, VFIO_GET_API_VERSION));
	T("ext TYPE1=%d TYPE1v2=%d UNMAP_ALL=%d UPDATE_VADDR=%d NOIOMMU=%d SPAPR=%d",
	  ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU),
	  ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU),
	  ioctl(container, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL),
	  ioctl(container, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR),
	  ioctl(container, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU),
	  ioctl(container, VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_IOMMU));
	T("set_iommu without a group: %s", res(ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)));
	T("map before set_iommu: %s", res(map(0x100000, NULL, PAGE, RW, 0)));

	group = open(gpath, O_RDWR | O_CLOEXEC);
	T("open group: %s", res(group < 0 ? -1 : 0));
	T("open group again: %s", res(open(gpath, O_RDWR)));
	r = ioctl(group, VFIO_GROUP_GET_STATUS, &st);
	T("group status: %s flags=0x%x", res(r), st.flags);
	T("get_device_fd without container: %s", res(ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf)));
	{
		int p[2], closed = dup(0);

		close(closed);
		T("set_container closed fd: %s",
		  res(ioctl(group, VFIO_GROUP_SET_CONTAINER, &closed)));
		pipe(p);
		T("set_container pipe: %s", res(ioctl(group, VFIO_GROUP_SET_CONTAINER, &p[0])));
		T("set_container the group itself: %s",
		  res(ioctl(group, VFIO_GROUP_SET_CONTAINER, &group)));
		close(p[0]);
		close(p[1]);
	}
	T("set_container: %s", res(ioctl(group, VFIO_GROUP_SET_CONTAINER, &container)));
	{
		int closed = dup(0);

		close(closed);
		T("set_container again, closed fd: %s",
		  res(ioctl(group, VFIO_GROUP_SET_CONTAINER, &closed)));
	}
	T("set_container again: %s", res(ioctl(group, VFIO_GROUP_SET_CONTAINER, &container)));
	r = ioctl(group, VFIO_GROUP_GET_STATUS, &st);
	T("group status: %s flags=0x%x", res(r), st.flags);
	T("set_iommu(SPAPR): %s", res(ioctl(container, VFIO_SET_IOMMU, VFIO_SPAPR_TCE_IOMMU)));
	T("set_iommu(TYPE1v2): %s", res(ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)));
	T("set_iommu again: %s", res(ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)));
	T("ext UPDATE_VADDR after: %d", ioctl(container, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR));
	print_info();

	buf = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	buf2 = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T("map 0x100000: %s", res(map(0x100000, buf, PAGE, RW, 0)));
	T("map same again: %s", res(map(0x100000, buf, PAGE, RW, 0)));
	T("map overlapping: %s", res(map(0x0ff000, buf2, 2 * PAGE, RW, 0)));
	T("map unaligned iova: %s", res(map(0x200800, buf2, PAGE, RW, 0)));
	T("map unaligned vaddr: %s", res(map(0x200000, buf2 + 8, PAGE, RW, 0)));
	T("map size 0: %s", res(map(0x200000, buf2, 0, RW, 0)));
	T("map no access: %s", res(map(0x200000, buf2, PAGE, 0, 0)));
	T("map unknown flag: %s", res(map(0x200000, buf2, PAGE, RW | 0x100, 0)));
	T("map short argsz: %s", res(map(0x200000, buf2, PAGE, RW, 8)));
	T("map MSI window: %s", res(map(0xfee00000, buf2, PAGE, RW, 0)));
	T("map beyond 48 bits: %s", res(map(1ULL << 48, buf2, PAGE, RW, 0)));
	T("map wrapping: %s", res(map(-4096ULL, buf2, 2 * PAGE, RW, 0)));
	T("map unmapped memory: %s", res(map(0x200000, (void *)0x1000, PAGE, RW, 0)));
	print_info();

	device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	T("get_device_fd: %s", res(device < 0 ? -1 : 0));
	T("get_device_fd(bogus): %s", res(ioctl(group, VFIO_GROUP_GET_DEVICE_FD, "0000:99:00.0")));
	r = ioctl(device, VFIO_DEVICE_GET_INFO, &di);
	T("device info: %s flags=0x%x regions=%u irqs=%u", res(r), di.flags, di.num_regions,
	  di.num_irqs);
	ri.index = VFIO_PCI_BAR0_REGION_INDEX;
	r = ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &ri);
	T("bar0: %s size=0x%llx flags=0x%x", res(r), (unsigned long long)ri.size, ri.flags);
	bar0_off = ri.offset;
	ri = (struct vfio_region_info){ .argsz = sizeof(ri), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &ri);
	config_off = ri.offset;
	pread(device, &cmd, 2, config_off + 4);
	cmd |= 4;
	pwrite(device, &cmd, 2, config_off + 4);
	T("edu id: 0x%x", reg_read(0));

	/*
	 * Peer-to-peer: a BAR's mmap as a DMA target. Native type1 maps it;
	 * iommufd in 6.12 cannot pin device memory, so the shim refuses it. A
	 * known difference: a "D " line, which differential.sh checks apart.
	 */
	{
		void *bar = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, device, bar0_off);

		if (bar == MAP_FAILED) {
			printf("D map of a BAR mmap: mmap failed: %s\n", strerror(errno));
		} else {
			printf("D map of a BAR mmap: %s\n", res(map(0x3000000, bar, PAGE, RW, 0)));
			unmap(0x3000000, PAGE, 0, &done);
			munmap(bar, PAGE);
		}
	}

	T("dma through 0x100000 lands: %d", roundtrip(buf, 0x100000, 0xa5));

	/* Unmap rules of type1 v2. */
	T("map 0x200000 x3: %s", res(map(0x200000, buf2, 3 * PAGE, RW, 0)));
	T_UNMAP("unmap bisecting", 0x201000, PAGE, 0);
	T_UNMAP("unmap empty", 0x800000, PAGE, 0);
	T("unmap unaligned: %s", res(unmap(0x200800, PAGE, 0, &done)));
	T("unmap ALL with iova: %s", res(unmap(0x1000, 0, VFIO_DMA_UNMAP_FLAG_ALL, &done)));
	T("unmap unknown flag: %s", res(unmap(0x200000, PAGE, 0x80, &done)));
	T_UNMAP("unmap whole", 0x200000, 3 * PAGE, 0);

	/* VFIO_UPDATE_VADDR: invalidate, then give the same pages' new address. */
	T("map 0x400000: %s", res(map(0x400000, buf2, PAGE, RW, 0)));
	T_UNMAP("unmap VADDR", 0x400000, PAGE, VFIO_DMA_UNMAP_FLAG_VADDR);
	T("unmap VADDR again: %s", res(unmap(0x400000, PAGE, VFIO_DMA_UNMAP_FLAG_VADDR, &done)));
	T("map VADDR wrong size: %s", res(map(0x400000, buf2, 2 * PAGE, VFIO_DMA_MAP_FLAG_VADDR, 0)));
	T("map VADDR: %s", res(map(0x400000, buf2, PAGE, VFIO_DMA_MAP_FLAG_VADDR, 0)));

	/* Dirty pages: without IOMMU dirty tracking, every pinned page is dirty. */
	{
		struct {
			struct vfio_iommu_type1_dirty_bitmap db;
			struct vfio_iommu_type1_dirty_bitmap_get get;
		} d = { .db = { .argsz = sizeof(d), .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP } };
		uint64_t bits = 0;

		d.get = (struct vfio_iommu_type1_dirty_bitmap_get){
			.iova = 0x400000, .size = PAGE,
			.bitmap = { .pgsize = PAGE, .size = 8, .data = (void *)&bits } };
		T("dirty get before start: %s", res(ioctl(container, VFIO_IOMMU_DIRTY_PAGES, &d)));
		d.db.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START;
		T("dirty start: %s", res(ioctl(container, VFIO_IOMMU_DIRTY_PAGES, &d)));
		d.db.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
		r = ioctl(container, VFIO_IOMMU_DIRTY_PAGES, &d);
		T("dirty get: %s bits=0x%llx", res(r), (unsigned long long)bits);
		d.db.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START | VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP;
		T("dirty two flags: %s", res(ioctl(container, VFIO_IOMMU_DIRTY_PAGES, &d)));
		d.db.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP;
		T("dirty stop: %s", res(ioctl(container, VFIO_IOMMU_DIRTY_PAGES, &d)));
	}

	dirty_rules();
	threads();
	print_info();

	/* A forked child uses the inherited container for its own memory. */
	{
		pid_t pid;
		int status;

		fflush(stdout);
		pid = fork();
		if (!pid) {
			uint8_t *mine = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
					     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			T("child map 0x600000: %s", res(map(0x600000, mine, PAGE, RW, 0)));
			T("child dma lands: %d", roundtrip(mine, 0x600000, 0x3c));
			T_UNMAP("child unmap", 0x600000, PAGE, 0);
			fflush(stdout);
			_exit(0);
		}
		waitpid(pid, &status, 0);
		T("child exited: %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}

	/* The container and group sent to a child over a socket arrive as new fds. */
	{
		int sv[2], fds[2] = { container, group }, status;
		struct vfio_group_status gs = { .argsz = sizeof(gs) };
		pid_t pid;

		socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
		fflush(stdout);
		pid = fork();
		if (!pid) {
			uint8_t *mine = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
					     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			T("received: %s", res(recv_fds(sv[1], fds, 2)));
			T("received fds are new: %d", fds[0] != container && fds[1] != group);
			container = fds[0];
			r = ioctl(fds[1], VFIO_GROUP_GET_STATUS, &gs);
			T("received group status: %s flags=0x%x", res(r), gs.flags);
			T("received container api: %d", ioctl(container, VFIO_GET_API_VERSION));
			T("received map 0x700000: %s", res(map(0x700000, mine, PAGE, RW, 0)));
			T("received dma lands: %d", roundtrip(mine, 0x700000, 0x6d));
			T_UNMAP("received unmap", 0x700000, PAGE, 0);
			T("received close: %s %s", res(close(fds[0])), res(close(fds[1])));
			fflush(stdout);
			_exit(0);
		}
		r = send_fds(sv[0], fds, 2);
		waitpid(pid, &status, 0);
		T("sent: %d", r == 0);
		T("receiver exited: %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		T("container still usable: %s", res(map(0x700000, buf2, PAGE, RW, 0)));
		T_UNMAP("unmap 0x700000", 0x700000, PAGE, 0);
		close(sv[0]);
		close(sv[1]);
	}

	T("map 0x500000: %s", res(map(0x500000, buf2 + PAGE, PAGE, RW, 0)));
	T_UNMAP("unmap ALL", 0, 0, VFIO_DMA_UNMAP_FLAG_ALL);
	print_info();
	T("dma through 0x100000 after unmap lands: %d", roundtrip(buf, 0x100000, 0x5a));

	/* Hot reset, named by groups. */
	{
		struct vfio_pci_hot_reset_info *hi = calloc(1, 4096);
		struct vfio_pci_hot_reset *hr = calloc(1, sizeof(*hr) + sizeof(int));

		hi->argsz = 4096;
		r = ioctl(device, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, hi);
		T("hot reset info: %s count=%u flags=0x%x", res(r), hi->count, hi->flags);
		for (uint32_t i = 0; r == 0 && i < hi->count; i++)
			T("  affected %04x:%02x:%02x.%x group %s", hi->devices[i].segment,
			  hi->devices[i].bus, hi->devices[i].devfn >> 3, hi->devices[i].devfn & 7,
			  hi->devices[i].group_id == (uint32_t)grp ? "= ours" : "other");
		hr->argsz = sizeof(*hr) + sizeof(int);
		hr->count = 1;
		hr->group_fds[0] = open("/dev/null", O_RDONLY);
		T("hot reset with a foreign fd: %s",
		  res(ioctl(device, VFIO_DEVICE_PCI_HOT_RESET, hr)));
		close(hr->group_fds[0]);
		T("hot reset with a closed fd: %s",
		  res(ioctl(device, VFIO_DEVICE_PCI_HOT_RESET, hr)));
		hr->group_fds[0] = group;
		T("hot reset: %s", res(ioctl(device, VFIO_DEVICE_PCI_HOT_RESET, hr)));
		T("edu id after reset: 0x%x", reg_read(0));
		free(hi);
		free(hr);
	}

	T("close device: %s", res(close(device)));
	T("unset_container: %s", res(ioctl(group, VFIO_GROUP_UNSET_CONTAINER)));
	T("unset_container again: %s", res(ioctl(group, VFIO_GROUP_UNSET_CONTAINER)));
	T("close group: %s", res(close(group)));
	T("close container: %s", res(close(container)));
	T("ioctl on the closed container: %s", res(ioctl(container, VFIO_GET_API_VERSION)));
	return 0;
}
