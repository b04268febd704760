// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A legacy VFIO type1 program (<linux/vfio.h> only) timing what VMMs do:
 * one MAP_DMA of 1 GiB of never-touched memory (guest RAM at VM start), and
 * MAP_DMA/UNMAP_DMA of 4 KiB, 2 MiB and 1 GiB of prefaulted memory with the
 * edu device open (so the IOMMU domain is real), and plain ioctls on an fd
 * that is not VFIO's. "bench_compat loop" instead runs the classic stress
 * loop: 262 144 MAP_DMAs of 4 KiB, each its own mmap, then one UNMAP_DMA of
 * the whole GiB, "bench_compat cold" only the 1 GiB cold maps, and
 * "bench_compat pair4k" only the 4 KiB pair. bench/compat.sh runs it
 * natively, on the kernel's own compat container, and through the shim, and
 * prints the ratios.
 * Output: "R name value" lines.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/vfio.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int container;

static void *idle_thread(void *unused)
{
	(void)unused;
	for (;;)
		pause();
	return NULL;
}

static double pairs(void *buf, uint64_t size, int n)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)buf, .iova = 1ULL << 32, .size = size,
	};
	struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = 1ULL << 32 };
	double t = now();

	for (int i = 0; i < n; i++) {
		u.size = size;
		if (ioctl(container, VFIO_IOMMU_MAP_DMA, &m) ||
		    ioctl(container, VFIO_IOMMU_UNMAP_DMA, &u)) {
			perror("map/unmap");
			exit(1);
		}
	}
	return (now() - t) / n;
}

/*
 * Guest RAM as a VMM maps it at start: never touched, 4 KiB pages (no THP),
 * so MAP_DMA faults in and pins every page. One map, timed; then unmapped.
 */
static double cold_map(uint64_t size)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.iova = 1ULL << 32, .size = size,
	};
	struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = 1ULL << 32,
						.size = size };
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	double t;

	if (p == MAP_FAILED || madvise(p, size, MADV_NOHUGEPAGE)) {
		perror("cold buffer");
		exit(1);
	}
	m.vaddr = (uintptr_t)p;
	t = now();
	if (ioctl(container, VFIO_IOMMU_MAP_DMA, &m)) {
		perror("cold map");
		exit(1);
	}
	t = now() - t;
	if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &u)) {
		perror("cold unmap");
		exit(1);
	}
	munmap(p, size);
	return t;
}

/*
 * The classic legacy stress cycle: a GiB of separate 4 KiB buffers, each its
 * own mmap and MAP_DMA, then one UNMAP_DMA of the whole range. Native type1
 * needs vfio_iommu_type1.dma_entry_limit raised for it (bench/compat.sh
 * does). Prints the best cycle's map and unmap phases.
 */
#define LOOP_MAPS 262144
static void legacy_loop(int cycles)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.size = 4096,
	};
	struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u) };
	static void *bufs[LOOP_MAPS];
	double best_map = 0, best_unmap = 0;

	for (int c = 0; c < cycles; c++) {
		double t0, t1, t2;

		t0 = now();
		for (int i = 0; i < LOOP_MAPS; i++) {
			bufs[i] = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			m.vaddr = (uintptr_t)bufs[i];
			m.iova = (1ULL << 32) + (uint64_t)i * 4096;
			if (bufs[i] == MAP_FAILED || ioctl(container, VFIO_IOMMU_MAP_DMA, &m)) {
				fprintf(stderr, "loop map %d: %m\n", i);
				exit(1);
			}
		}
		t1 = now();
		u.iova = 1ULL << 32;
		u.size = (uint64_t)LOOP_MAPS * 4096;
		if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &u) || u.size != (uint64_t)LOOP_MAPS * 4096) {
			fprintf(stderr, "loop unmap: %m (size 0x%llx)\n", (unsigned long long)u.size);
			exit(1);
		}
		t2 = now();
		for (int i = 0; i < LOOP_MAPS; i++)
			munmap(bufs[i], 4096);
		printf("R loop_cycle%d_s %.3f %.3f\n", c, t1 - t0, t2 - t1);
		/* The first cycle warms up (the host backs guest RAM on first touch). */
		if (c == 1 || (c > 1 && t2 - t0 < best_map + best_unmap)) {
			best_map = t1 - t0;
			best_unmap = t2 - t1;
		}
	}
	printf("R loop_map_s %.3f\nR loop_unmap_s %.3f\nR loop_cycle_s %.3f\n", best_map,
	       best_unmap, best_map + best_unmap);
}

static int edu_group(char *bdf, size_t len)
{
	char path[300], link[300], id[16];
	struct dirent *de;
	DIR *d = opendir("/sys/bus/pci/devices");
	int grp = -1;

	while (d && (de = readdir(d)) && grp < 0) {
		FILE *f;

		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", de->d_name);
		f = fopen(path, "r");
		if (f && fgets(id, sizeof(id), f) && !strncmp(id, "0x11e8", 6)) {
			ssize_t n;

			snprintf(bdf, len, "%s", de->d_name);
			snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group",
				 de->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n > 0) {
				link[n] = '\0';
				grp = atoi(strrchr(link, '/') + 1);
			}
		}
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return grp;
}

int main(int argc, char **argv)
{
	bool loop = argc > 1 && !strcmp(argv[1], "loop");
	bool cold = argc > 1 && !strcmp(argv[1], "cold");
	/*
	 * Only the 4 KiB pair, quickly: bench/compat_sameboot.sh alternates many
	 * of these. "pair4k-threaded" first starts a thread that only waits, as
	 * a VMM or DPDK has threads: the shim then takes its locks.
	 */
	bool pair4k = argc > 1 && !strncmp(argv[1], "pair4k", 6);
	bool threaded = argc > 1 && !strcmp(argv[1], "pair4k-threaded");
	static const struct {
		const char *name;
		uint64_t size;
		int n;
	} sizes[] = { { "4k", 4096, 3000 }, { "2m", 2 << 20, 300 }, { "1g", 1ULL << 30, 4 } };
	char bdf[256], gpath[64];
	int grp, group, device, p[2];
	void *buf;

	/* First, with no VFIO at all: an ioctl on an fd that is nobody's VFIO object: what interposing costs. */
	if (!loop && !cold && !pair4k && pipe(p) == 0) {
		int avail;
		double t = now();

		for (int i = 0; i < 1000000; i++)
			ioctl(p[0], FIONREAD, &avail);
		printf("R foreign_ioctl_ns %.1f\n", (now() - t) / 1000000 * 1e9);
	}

	grp = edu_group(bdf, sizeof(bdf));
	if (grp < 0)
		return 77;
	snprintf(gpath, sizeof(gpath), "/dev/vfio/%d", grp);
	container = open("/dev/vfio/vfio", O_RDWR);
	group = open(gpath, O_RDWR);
	if (container < 0 || group < 0 || ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) ||
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
		perror("container set-up");
		return 1;
	}
	/* With the device open the IOMMU domain is real everywhere (FACTS.md). */
	device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (device < 0) {
		perror("device");
		return 1;
	}
	if (loop) {
		legacy_loop(2);
		return 0;
	}
	if (pair4k) {
		double best = 0;
		pthread_t idler;

		if (threaded && pthread_create(&idler, NULL, idle_thread, NULL))
			return 1;

		buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (buf == MAP_FAILED)
			return 1;
		pairs(buf, 4096, 100);	/* warm up */
		for (int round = 0; round < 5; round++) {
			double t = pairs(buf, 4096, 400);

			best = round && best < t ? best : t;
		}
		printf("R pair_4k_us %.3f\n", best * 1e6);
		return 0;
	}
	/* Before the prefaulted buffer: the guest has 2 GiB. The first run warms up. */
	cold_map(1ULL << 30);
	printf("R cold_1g_ms %.1f\n", (cold_map(1ULL << 30) + cold_map(1ULL << 30)) / 2 * 1e3);
	if (cold)
		return 0;
	buf = mmap(NULL, 1ULL << 30, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED)
		return 1;
	pairs(buf, 4096, 200);	/* warm up */
	/* The best of five rounds: a TCG guest's timer and translation work land in some. */
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		double best = 0;

		for (int round = 0; round < (sizes[i].size < (1ULL << 30) ? 5 : 1); round++) {
			double t = pairs(buf, sizes[i].size, sizes[i].n);

			best = round && best < t ? best : t;
		}
		printf("R pair_%s_us %.3f\n", sizes[i].name, best * 1e6);
	}

	return 0;
}
