// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What libiommufd adds to a map+unmap pair over the raw ioctls, measured in
 * one run on the same IOAS: rounds alternate so that drift (TCG, host load)
 * hits both sides alike. Prints the per-pair cost of each and the ratio.
 *
 *	bench_core [BDF]	attach that device first (default: the edu device),
 *				so that maps really pin and load an IOMMU domain
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/iommufd.h>

#include <iommufd/iommufd.h>

#define ROUNDS 10
#define PAIRS 2000
#define IOVA 0x40000000ULL

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double raw_pairs(int fd, uint32_t ioas, void *buf, size_t len)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map), .ioas_id = ioas, .user_va = (uintptr_t)buf, .length = len,
		.iova = IOVA, .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
				       IOMMU_IOAS_MAP_WRITEABLE,
	};
	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap), .ioas_id = ioas,
					  .iova = IOVA, .length = len };
	double t = now();

	for (int i = 0; i < PAIRS; i++) {
		if (ioctl(fd, IOMMU_IOAS_MAP, &map) || ioctl(fd, IOMMU_IOAS_UNMAP, &unmap)) {
			perror("raw map/unmap");
			exit(1);
		}
		unmap.length = len;
	}
	return now() - t;
}

static double lib_pairs(struct iommufd_ctx *ctx, uint32_t ioas, void *buf, size_t len)
{
	double t = now();

	for (int i = 0; i < PAIRS; i++) {
		uint64_t iova = IOVA;

		if (iommufd_ioas_map(ctx, ioas, buf, len, &iova,
				     IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA) ||
		    iommufd_ioas_unmap(ctx, ioas, iova, len, NULL)) {
			fprintf(stderr, "library map/unmap: %s\n", iommufd_last_error());
			exit(1);
		}
	}
	return now() - t;
}

static int find_edu(char *bdf, size_t len)
{
	struct dirent *de;
	char path[300], id[16];
	DIR *d = opendir("/sys/bus/pci/devices");
	int r = -ENODEV;

	while (d && (de = readdir(d))) {
		FILE *f;

		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", de->d_name);
		f = fopen(path, "re");
		if (f && fgets(id, sizeof(id), f) && !strncmp(id, "0x11e8", 6)) {
			snprintf(bdf, len, "%s", de->d_name);
			r = 0;
		}
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return r;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 4096, 2 << 20 };
	struct iommufd_device *dev = NULL;
	struct iommufd_ctx *ctx;
	char bdf[300] = "";
	uint32_t ioas;
	void *buf;

	if (argc > 1)
		snprintf(bdf, sizeof(bdf), "%s", argv[1]);
	else
		find_edu(bdf, sizeof(bdf));
	if (iommufd_ctx_open(NULL, &ctx) || iommufd_ioas_alloc(ctx, &ioas)) {
		fprintf(stderr, "bench_core: %s\n", iommufd_last_error());
		return 77;
	}
	if (bdf[0] && (iommufd_device_open(ctx, bdf, &dev) || iommufd_device_attach(dev, ioas))) {
		fprintf(stderr, "bench_core: %s\n", iommufd_last_error());
		return 1;
	}
	buf = mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
		   -1, 0);
	if (buf == MAP_FAILED)
		return 1;

	printf("# libiommufd vs raw ioctl, map+unmap pairs at a fixed IOVA, %s\n",
	       dev ? "device attached" : "no device attached");
	printf("%-8s %14s %14s %8s\n", "size", "raw us/pair", "lib us/pair", "lib/raw");
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		double raw = 0, lib = 0;

		/* Warm up: the first touch of guest memory costs double. */
		raw_pairs(iommufd_ctx_fd(ctx), ioas, buf, sizes[s]);
		for (int r = 0; r < ROUNDS; r++) {
			raw += raw_pairs(iommufd_ctx_fd(ctx), ioas, buf, sizes[s]);
			lib += lib_pairs(ctx, ioas, buf, sizes[s]);
		}
		printf("%-8zu %14.2f %14.2f %8.3f\n", sizes[s], raw / (ROUNDS * PAIRS) * 1e6,
		       lib / (ROUNDS * PAIRS) * 1e6, lib / raw);
	}
	iommufd_device_close(dev);
	iommufd_ctx_unref(ctx);
	return 0;
}
