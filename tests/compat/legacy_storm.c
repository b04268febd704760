// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A legacy VFIO type1 program that storms the container with a random but
 * fixed sequence of VFIO_IOMMU_MAP_DMA and VFIO_IOMMU_UNMAP_DMA calls: maps
 * of random sizes at random IOVAs of a small window (so that many overlap
 * and are refused), unmaps of whole mappings, of runs of them, of random
 * ranges that cut one (type1v2 refuses) or hold none, and now and then an
 * unmap of everything; in phases of mostly maps, up to the administrator's
 * DMA-entry limit, and of mostly unmaps.
 * tests/compat/differential.sh runs it natively on type1 and through the
 * compat shim: every result (return value, errno, unmapped size) goes into
 * a running hash printed as a "T " line every 1000 operations, with the
 * counts of each outcome, so the two transcripts match exactly or show
 * where they part.
 *
 *   legacy_storm [OPS [SEED]]    (default 20000 operations, seed 1)
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <sys/mman.h>

#include "legacy.h"

#define POOL_PAGES 2048			/* the memory mapped, 8 MiB */
#define WINDOW 0x100000ULL		/* the IOVA window: 64 MiB from 1 MiB */
#define WINDOW_PAGES 16384
#define MAX_PAGES 32			/* largest single map */
#define MAX_LIVE 1024			/* mappings the program remembers */

struct live {
	uint64_t iova, size;
};

static struct live live[MAX_LIVE];
static unsigned int nlive;
static uint64_t rng = 1, hash = 0xcbf29ce484222325ULL;

static uint64_t rnd(uint64_t n)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (rng * 0x2545F4914F6CDD1DULL) % n;
}

/* FNV-1a over each result. */
static void fold(uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		hash ^= (v >> (8 * i)) & 0xff;
		hash *= 0x100000001b3ULL;
	}
}

enum { MAP_OK, MAP_EEXIST, MAP_ENOSPC, MAP_OTHER, UNMAP_OK, UNMAP_EMPTY, UNMAP_EINVAL,
       UNMAP_OTHER, NCOUNT };
static uint64_t counts[NCOUNT], unmapped_bytes;

static void forget(uint64_t iova, uint64_t last)
{
	for (unsigned int i = 0; i < nlive;)
		if (live[i].iova >= iova && live[i].iova + live[i].size - 1 <= last)
			live[i] = live[--nlive];
		else
			i++;
}

static void op_map(uint8_t *pool)
{
	uint64_t pages = rnd(MAX_PAGES) + 1;
	uint64_t iova = WINDOW + rnd(WINDOW_PAGES - pages) * PAGE;
	uint8_t *va = pool + rnd(POOL_PAGES - pages) * PAGE;
	int r = map(iova, va, pages * PAGE, RW, 0), err = r ? errno : 0;

	fold(1);
	fold((uint64_t)r);
	fold((uint64_t)err);
	if (!r) {
		counts[MAP_OK]++;
		if (nlive < MAX_LIVE)
			live[nlive++] = (struct live){ iova, pages * PAGE };
	} else {
		counts[err == EEXIST ? MAP_EEXIST : err == ENOSPC ? MAP_ENOSPC : MAP_OTHER]++;
	}
}

static void op_unmap(void)
{
	uint64_t iova, size, done = 0, pick = rnd(1000);
	uint32_t flags = 0;
	int r, err;

	if (pick < 2) {
		/* Everything. */
		iova = size = 0;
		flags = VFIO_DMA_UNMAP_FLAG_ALL;
	} else if (pick < 600 && nlive) {
		/* One mapping, whole. */
		struct live *l = &live[rnd(nlive)];

		iova = l->iova;
		size = l->size;
	} else if (pick < 700 && nlive) {
		/* From the start of one mapping to the end of another. */
		struct live *a = &live[rnd(nlive)], *b = &live[rnd(nlive)];

		if (a->iova > b->iova) {
			struct live *t = a;

			a = b;
			b = t;
		}
		iova = a->iova;
		size = b->iova + b->size - a->iova;
	} else {
		/* Anywhere: it may hold nothing, or cut a mapping. */
		uint64_t pages = rnd(4 * MAX_PAGES) + 1;

		iova = WINDOW + rnd(WINDOW_PAGES - pages) * PAGE;
		size = pages * PAGE;
	}
	r = unmap(iova, size, flags, &done);
	err = r ? errno : 0;
	fold(2);
	fold((uint64_t)r);
	fold((uint64_t)err);
	fold(done);
	if (r) {
		counts[err == EINVAL ? UNMAP_EINVAL : UNMAP_OTHER]++;
		return;
	}
	counts[done ? UNMAP_OK : UNMAP_EMPTY]++;
	unmapped_bytes += done;
	if (flags & VFIO_DMA_UNMAP_FLAG_ALL)
		nlive = 0;
	else
		forget(iova, iova + size - 1);
}

int main(int argc, char **argv)
{
	unsigned long ops = argc > 1 ? strtoul(argv[1], NULL, 0) : 20000;
	char bdf[256], gpath[64];
	uint8_t *pool;
	int grp;

	setvbuf(stdout, NULL, _IOLBF, 0);
	(void)config_off;	/* legacy.h's: no config space here */
	/*
	 * Under the shim's trace (differential.sh runs it so) each call would
	 * print a line on the guest's slow console: tens of thousands here.
	 * The transcript says all; the trace goes nowhere.
	 */
	if (getenv("IOMMUFD_COMPAT_TRACE")) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		if (null >= 0) {
			printf("the shim's trace of this storm is silenced\n");
			dup2(null, STDERR_FILENO);
			close(null);
		}
	}
	rng = argc > 2 ? strtoull(argv[2], NULL, 0) ?: 1 : 1;
	grp = find_edu_group(bdf, sizeof(bdf));
	if (grp < 0) {
		printf("no edu device\n");
		return 77;
	}
	snprintf(gpath, sizeof(gpath), "/dev/vfio/%d", grp);
	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	group = open(gpath, O_RDWR | O_CLOEXEC);
	if (container < 0 || group < 0 || ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) ||
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
		T("setup failed: %s", strerror(errno));
		return 1;
	}
	/* With the device open, as a driver runs. */
	device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	T("storm: %lu operations, seed %llu, device open: %s", ops,
	  (unsigned long long)rng, res(device < 0 ? -1 : 0));
	pool = mmap(NULL, POOL_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	if (pool == MAP_FAILED)
		return 1;
	memset(pool, 0x5a, POOL_PAGES * PAGE);

	for (unsigned long i = 0; i < ops; i++) {
		/* Phases of 2000: mostly maps, up to the DMA-entry limit, then mostly unmaps. */
		if (rnd(100) < (i / 2000 % 2 ? 30 : 90))
			op_map(pool);
		else
			op_unmap();
		if ((i + 1) % 1000 == 0 || i + 1 == ops)
			T("ops %lu: hash %016" PRIx64 "; maps %" PRIu64 " ok, %" PRIu64 " EEXIST, %"
			  PRIu64 " ENOSPC, %" PRIu64 " other; unmaps %" PRIu64 " ok, %" PRIu64
			  " empty, %" PRIu64 " EINVAL, %" PRIu64 " other; 0x%" PRIx64
			  " bytes unmapped",
			  i + 1, hash, counts[MAP_OK], counts[MAP_EEXIST], counts[MAP_ENOSPC],
			  counts[MAP_OTHER], counts[UNMAP_OK], counts[UNMAP_EMPTY],
			  counts[UNMAP_EINVAL], counts[UNMAP_OTHER], unmapped_bytes);
	}
	print_info();
	T_UNMAP("unmap all at the end", 0, 0, VFIO_DMA_UNMAP_FLAG_ALL);
	close(device);
	close(group);
	close(container);
	munmap(pool, POOL_PAGES * PAGE);
	return 0;
}
