// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The emulated VFIO container. The dispatch mirrors the kernel's
 * iommufd_vfio_ioctl() (drivers/iommu/iommufd/vfio_compat.c): one function
 * per container ioctl, named after the kernel's, but the semantics, argument
 * checks and their order are those of the native type1 driver
 * (drivers/vfio/vfio_iommu_type1.c), because that is what programs were
 * written against. The map path, iommufd_vfio_map_dma(), ends in libiommufd's
 * IOAS map at a fixed IOVA, where the kernel's ends in iopt_map_user_pages().
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>

#include <iommufd/async.h>

#include "compat.h"

struct compat_dma {
	uint64_t iova;
	uint64_t size;
	uint64_t vaddr;
	bool vaddr_invalid;
};

#define MIN_PGSIZE(c) ((c)->pgsize_bitmap & -(c)->pgsize_bitmap)
/* type1's DIRTY_BITMAP_BYTES() and DIRTY_BITMAP_SIZE_MAX (INT_MAX pages). */
#define DIRTY_BITMAP_BYTES(n) ((((uint64_t)(n) + 63) / 64) * 8)
#define DIRTY_BITMAP_SIZE_MAX DIRTY_BITMAP_BYTES(INT32_MAX)
/* type1's "size >> __ffs(pgsize)"; on x86 a zero pgsize shifts by nothing. */
static uint64_t bitmap_pages(uint64_t size, uint64_t pgsize)
{
	return pgsize ? size >> __builtin_ctzll(pgsize) : size;
}

static int cmp_dma(const void *a, const void *b)
{
	const struct compat_dma *x = a, *y = b;

	if (x->iova + x->size - 1 < y->iova)
		return -1;
	if (x->iova > y->iova + y->size - 1)
		return 1;
	return 0;
}

/*
 * vfio_find_dma(): any mapping overlapping [start, last]. Inclusive bounds:
 * a range reaching 2^64 - 1 has no size that fits in 64 bits.
 */
static struct compat_dma *find_dma(struct compat_container *c, uint64_t start, uint64_t last)
{
	struct compat_dma key = { .iova = start, .size = last - start + 1 };
	void *hit;

	if (!key.size) {	/* all of the 64-bit space: split the key */
		key.size = 1ULL << 63;
		hit = tfind(&key, &c->dmas, cmp_dma);
		if (!hit) {
			key.iova = 1ULL << 63;
			hit = tfind(&key, &c->dmas, cmp_dma);
		}
	} else {
		hit = tfind(&key, &c->dmas, cmp_dma);
	}
	return hit ? *(struct compat_dma **)hit : NULL;
}

/* The lowest mapping overlapping [start, last], walking down from any overlap. */
static struct compat_dma *first_dma(struct compat_container *c, uint64_t start, uint64_t last)
{
	struct compat_dma *d = find_dma(c, start, last), *lower;

	while (d && d->iova > start) {
		lower = find_dma(c, start, d->iova - 1);
		if (!lower)
			break;
		d = lower;
	}
	return d;
}

static void remove_dma(struct compat_container *c, struct compat_dma *d)
{
	tdelete(d, &c->dmas, cmp_dma);
	c->dma_count--;
	free(d);
}

static int iommufd_vfio_check_extension(struct compat_container *c, unsigned long type)
{
	switch (type) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_TYPE1_NESTING_IOMMU:
	case VFIO_UNMAP_ALL:
		return 1;
	case VFIO_UPDATE_VADDR:
		/* type1 answers it only once an IOMMU is set. */
		return c->iommu_set;
	default:
		return 0;
	}
}

static int iommufd_vfio_set_iommu(struct compat_container *c, unsigned long type)
{
	if (c->iommu_set || !c->nr_groups)
		return -EINVAL;
	if (type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU &&
	    type != VFIO_TYPE1_NESTING_IOMMU)
		return -ENODEV;
	/* Attach every group's devices now, as type1 attaches groups to its domain. */
	for (int i = 0; i < c->nr_groups; i++) {
		int r = compat_group_bind(c->groups[i]);

		if (r < 0)
			return r;
	}
	compat_container_refresh_ranges(c);
	c->v2 = type != VFIO_TYPE1_IOMMU;
	c->iommu_set = true;
	compat_trace("VFIO_SET_IOMMU(%s) -> IOAS %u", c->v2 ? "TYPE1v2" : "TYPE1", c->ioas_id);
	return 0;
}

/*
 * Append one capability to a growing chain, padded to 8 bytes as VFIO's
 * vfio_info_cap_add() pads them; next offsets are fixed up later.
 */
static int add_cap(uint8_t **buf, size_t *len, const void *cap, size_t size)
{
	size_t padded = (size + 7) & ~(size_t)7;
	uint8_t *tmp = realloc(*buf, *len + padded);

	if (!tmp)
		return -ENOMEM;
	memset(tmp + *len, 0, padded);
	memcpy(tmp + *len, cap, size);
	*buf = tmp;
	*len += padded;
	return 0;
}

static int iommufd_vfio_iommu_get_info(struct compat_container *c, void *arg)
{
	struct vfio_iommu_type1_info info = { 0 };
	size_t minsz = offsetofend_(struct vfio_iommu_type1_info, iova_pgsizes);
	struct vfio_iommu_type1_info_cap_migration mig = {
		.header = { .id = VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, .version = 1 },
		.pgsize_bitmap = MIN_PGSIZE(c),
		.max_dirty_bitmap_size = DIRTY_BITMAP_SIZE_MAX,
	};
	struct vfio_iommu_type1_info_dma_avail avail = {
		.header = { .id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, .version = 1 },
		.avail = c->dma_limit - c->dma_count,
	};
	struct vfio_iommu_type1_info_cap_iova_range *iovas;
	size_t nr = c->nr_ranges, caps_len = 0, iovas_len, offs[3], n = 0;
	uint8_t *caps = NULL;
	int r;

	memcpy(&info, arg, minsz);
	if (info.argsz < minsz)
		return -EINVAL;
	minsz = info.argsz < sizeof(info) ? info.argsz : sizeof(info);
	info.flags = VFIO_IOMMU_INFO_PGSIZES;
	info.iova_pgsizes = c->pgsize_bitmap;

	iovas_len = sizeof(*iovas) + nr * sizeof(iovas->iova_ranges[0]);
	iovas = calloc(1, iovas_len);
	if (!iovas)
		return -ENOMEM;
	iovas->header = (struct vfio_info_cap_header){ .id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
						       .version = 1 };
	iovas->nr_iovas = nr;
	for (size_t i = 0; i < nr; i++) {
		iovas->iova_ranges[i].start = c->ranges[i].start;
		iovas->iova_ranges[i].end = c->ranges[i].last;
	}
	/* In type1's order: migration, DMA available, IOVA ranges. */
	offs[n++] = caps_len;
	r = add_cap(&caps, &caps_len, &mig, sizeof(mig));
	offs[n++] = caps_len;
	if (!r)
		r = add_cap(&caps, &caps_len, &avail, sizeof(avail));
	offs[n++] = caps_len;
	if (!r)
		r = add_cap(&caps, &caps_len, iovas, iovas_len);
	free(iovas);
	if (r < 0) {
		free(caps);
		return r;
	}
	info.flags |= VFIO_IOMMU_INFO_CAPS;
	if (info.argsz < sizeof(info) + caps_len) {
		info.argsz = sizeof(info) + caps_len;
	} else {
		/* Offsets count from the start of the info struct. */
		for (size_t i = 0; i < n; i++) {
			struct vfio_info_cap_header *h = (void *)(caps + offs[i]);

			h->next = i + 1 < n ? sizeof(info) + offs[i + 1] : 0;
		}
		memcpy((uint8_t *)arg + sizeof(info), caps, caps_len);
		info.cap_offset = sizeof(info);
	}
	free(caps);
	memcpy(arg, &info, minsz);
	return 0;
}

int compat_container_refresh_ranges(struct compat_container *c)
{
	struct iommufd_iova_range *r;
	size_t nr;
	int ret;

	ret = iommufd_ioas_iova_ranges(c->ctx, c->ioas_id, &r, &nr, NULL);
	if (ret < 0)
		return ret;
	free(c->ranges);
	c->ranges = r;
	c->nr_ranges = nr;
	return 0;
}

/* The ranges a container may map: type1's vfio_iommu_iova_dma_valid(). */
static bool iova_valid(struct compat_container *c, uint64_t start, uint64_t last)
{
	if (!c->nr_ranges)
		return true;	/* type1: an empty list allows everything */
	for (size_t i = 0; i < c->nr_ranges; i++)
		if (start >= c->ranges[i].start && last <= c->ranges[i].last)
			return true;
	return false;
}

/*
 * The kernel half of a map or unmap that passed type1's checks. Every iommufd
 * also answers the type1 MAP_DMA and UNMAP_DMA ioctls itself, on its compat
 * IOAS (drivers/iommu/iommufd/vfio_compat.c, built into every iommufd, with
 * or without IOMMUFD_VFIO_CONTAINER): the same iopt_map_user_pages() and
 * iopt_unmap_iova() as IOMMU_IOAS_MAP and _UNMAP, by the path the kernel's
 * own compat container takes, and for a small map measurably shorter. The
 * shim publishes its IOAS as the compat IOAS and takes that path; when the
 * kernel refuses, libiommufd's call runs instead, to say why.
 */
void compat_container_use_kernel_compat(struct compat_container *c)
{
	c->kernel_compat = !iommufd_vfio_ioas_set(c->ctx, c->ioas_id);
}

static int kernel_map(struct compat_container *c, uint64_t vaddr, uint64_t size, uint64_t iova,
		      unsigned int prot)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .vaddr = vaddr, .iova = iova, .size = size,
		.flags = (prot & IOMMUFD_MAP_READ ? VFIO_DMA_MAP_FLAG_READ : 0) |
			 (prot & IOMMUFD_MAP_WRITE ? VFIO_DMA_MAP_FLAG_WRITE : 0),
	};

	if (c->kernel_compat && !real_ioctl(iommufd_ctx_fd(c->ctx), VFIO_IOMMU_MAP_DMA, &m))
		return 0;
	return iommufd_ioas_map(c->ctx, c->ioas_id, (void *)(uintptr_t)vaddr, size, &iova,
				prot | IOMMUFD_MAP_FIXED_IOVA);
}

static int kernel_unmap(struct compat_container *c, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = iova, .size = size };

	if (c->kernel_compat && !real_ioctl(iommufd_ctx_fd(c->ctx), VFIO_IOMMU_UNMAP_DMA, &u) &&
	    u.size == size)
		return 0;
	return iommufd_ioas_unmap(c->ctx, c->ioas_id, iova, size, NULL);
}

/*
 * A VMM mapping guest RAM spends nearly all of MAP_DMA faulting in and
 * pinning pages: from this size up, pin in chunks on every CPU the process
 * may use (the async layer's parallel path). IOMMUFD_COMPAT_PARALLEL=0
 * turns it off.
 */
#define PARALLEL_MAP_MIN (64ULL << 20)

static int map_pages(struct compat_container *c, uint64_t vaddr, uint64_t size, uint64_t iova,
		     unsigned int prot)
{
	const char *env;
	cpu_set_t cpus;
	int n = 1;

	/* Small maps, the common case, pay for nothing of this. */
	if (size >= PARALLEL_MAP_MIN && !((env = getenv("IOMMUFD_COMPAT_PARALLEL")) &&
					  !strcmp(env, "0")) &&
	    !sched_getaffinity(0, sizeof(cpus), &cpus))
		n = CPU_COUNT(&cpus);
	if (n > 1)
		return iommufd_map_parallel(c->ctx, c->ioas_id, (void *)(uintptr_t)vaddr, size,
					    iova, prot, n, 0);
	return kernel_map(c, vaddr, size, iova, prot);
}

static int iommufd_vfio_map_dma(struct compat_container *c, void *arg)
{
	struct vfio_iommu_type1_dma_map map;
	size_t minsz = offsetofend_(struct vfio_iommu_type1_dma_map, size);
	uint32_t mask = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE | VFIO_DMA_MAP_FLAG_VADDR;
	bool set_vaddr;
	unsigned int prot = 0;
	uint64_t pgsize;
	struct compat_dma *d, **node;
	int r = 0;

	memcpy(&map, arg, minsz);
	if (map.argsz < minsz || map.flags & ~mask)
		return -EINVAL;
	/* vfio_dma_do_map(), check by check. */
	set_vaddr = map.flags & VFIO_DMA_MAP_FLAG_VADDR;
	if (map.flags & VFIO_DMA_MAP_FLAG_WRITE)
		prot |= IOMMUFD_MAP_WRITE;
	if (map.flags & VFIO_DMA_MAP_FLAG_READ)
		prot |= IOMMUFD_MAP_READ;
	if ((prot && set_vaddr) || (!prot && !set_vaddr))
		return -EINVAL;
	pgsize = MIN_PGSIZE(c);
	if (!map.size || (map.size | map.iova | map.vaddr) & (pgsize - 1))
		return -EINVAL;
	if (map.iova + map.size - 1 < map.iova || map.vaddr + map.size - 1 < map.vaddr)
		return -EINVAL;
	if (set_vaddr) {
		/* VFIO_UPDATE_VADDR: the same pages at a new address in this process. */
		d = find_dma(c, map.iova, map.iova + map.size - 1);
		if (!d || !d->vaddr_invalid || d->iova != map.iova || d->size != map.size)
			return -EINVAL;
		d->vaddr = map.vaddr;
		d->vaddr_invalid = false;
		return 0;
	}
	/* One tree walk: the insert finds an overlapping mapping (EEXIST) too. */
	d = malloc(sizeof(*d));
	if (!d)
		return -ENOMEM;
	*d = (struct compat_dma){ .iova = map.iova, .size = map.size, .vaddr = map.vaddr };
	node = tsearch(d, &c->dmas, cmp_dma);
	if (!node || *node != d) {
		free(d);
		return node ? -EEXIST : -ENOMEM;
	}
	if (c->dma_count >= c->dma_limit)
		r = -ENOSPC;
	else if (!iova_valid(c, map.iova, map.iova + map.size - 1))
		r = -EINVAL;
	else if ((r = map_pages(c, map.vaddr, map.size, map.iova, prot)) < 0)
		compat_trace("  IOMMU_IOAS_MAP failed: %s", iommufd_last_error());
	if (r < 0) {
		tdelete(d, &c->dmas, cmp_dma);
		free(d);
		return r;
	}
	c->dma_count++;
	compat_trace("  -> mapped in IOAS %u: IOVA 0x%" PRIx64 " length 0x%" PRIx64, c->ioas_id,
		     (uint64_t)map.iova, (uint64_t)map.size);
	return 0;
}

/* type1's verify_bitmap_size(). */
static int verify_bitmap_size(uint64_t npages, uint64_t bitmap_size)
{
	if (!npages || !bitmap_size || bitmap_size > DIRTY_BITMAP_SIZE_MAX ||
	    bitmap_size < DIRTY_BITMAP_BYTES(npages))
		return -EINVAL;
	return 0;
}

/* type1's vfio_dma_do_unmap() over the recorded mappings, then the kernel. */
static int do_unmap(struct compat_container *c, struct vfio_iommu_type1_dma_unmap *unmap,
		    const struct vfio_bitmap *bitmap)
{
	bool all = unmap->flags & VFIO_DMA_UNMAP_FLAG_ALL;
	bool invalidate = unmap->flags & VFIO_DMA_UNMAP_FLAG_VADDR;
	uint64_t pgsize = MIN_PGSIZE(c), iova = unmap->iova, size = unmap->size;
	uint64_t unmapped = 0, last;
	struct compat_dma *d;
	int r = -EINVAL;

	unmap->size = 0;
	if (iova & (pgsize - 1))
		return r;
	if (all) {
		if (iova || size)
			return r;
		size = UINT64_MAX;
	} else if (!size || size & (pgsize - 1) || iova + size - 1 < iova) {
		return r;
	}
	last = all ? UINT64_MAX : iova + size - 1;
	if ((unmap->flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) &&
	    (!c->dirty_tracking || bitmap->pgsize != pgsize))
		return r;
	/* v2: a range that would bisect a mapping fails and removes nothing. */
	if (c->v2 && !all) {
		d = find_dma(c, iova, iova);
		if (d && d->iova != iova)
			return r;
		/* The common case, one whole mapping: nothing else can be in range. */
		if (d && d->iova + d->size - 1 == last && !invalidate &&
		    !(unmap->flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP)) {
			r = kernel_unmap(c, d->iova, d->size);
			if (r < 0)
				return r;
			compat_trace("  -> unmapped from IOAS %u: IOVA 0x%" PRIx64 " length 0x%" PRIx64,
				     c->ioas_id, d->iova, d->size);
			unmap->size = d->size;
			remove_dma(c, d);
			return 0;
		}
		d = find_dma(c, last, last);
		if (d && d->iova + d->size != iova + size)
			return r;
	}
	r = 0;
	while ((d = first_dma(c, iova, last))) {
		/* v1: nothing from a mapping the range starts inside. */
		if (!c->v2 && iova > d->iova)
			break;
		if (invalidate) {
			if (d->vaddr_invalid) {
				r = -EINVAL;
				unmapped = 0;
				break;
			}
			d->vaddr_invalid = true;
			unmapped += d->size;
			/* move past this one */
			if (d->iova + d->size - 1 >= last)
				break;
			iova = d->iova + d->size;
			continue;
		}
		if (unmap->flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) {
			/* Read before the unmap: the IOMMU forgets the pages with it. */
			r = compat_dirty_report(c, d->iova, d->size, unmap->iova, pgsize,
						(uint64_t *)(uintptr_t)bitmap->data);
			if (r < 0)
				break;
		}
		r = kernel_unmap(c, d->iova, d->size);
		if (r < 0)
			break;
		compat_trace("  -> unmapped from IOAS %u: IOVA 0x%" PRIx64 " length 0x%" PRIx64,
			     c->ioas_id, d->iova, d->size);
		unmapped += d->size;
		remove_dma(c, d);
	}
	unmap->size = unmapped;
	return r;
}

static int iommufd_vfio_unmap_dma(struct compat_container *c, void *arg)
{
	struct vfio_iommu_type1_dma_unmap unmap;
	struct vfio_bitmap bitmap = { 0 };
	size_t minsz = offsetofend_(struct vfio_iommu_type1_dma_unmap, size);
	uint32_t mask = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_VADDR |
			VFIO_DMA_UNMAP_FLAG_ALL;
	int r;

	memcpy(&unmap, arg, minsz);
	if (unmap.argsz < minsz || unmap.flags & ~mask)
		return -EINVAL;
	if ((unmap.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) &&
	    (unmap.flags & (VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR)))
		return -EINVAL;
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) {
		if (unmap.argsz < minsz + sizeof(bitmap))
			return -EINVAL;
		memcpy(&bitmap, (uint8_t *)arg + minsz, sizeof(bitmap));
		r = verify_bitmap_size(bitmap_pages(unmap.size, bitmap.pgsize), bitmap.size);
		if (r)
			return r;
	}
	r = do_unmap(c, &unmap, &bitmap);
	if (r)
		return r;
	memcpy(arg, &unmap, minsz);
	return 0;
}

/*
 * VFIO_IOMMU_DIRTY_PAGES, type1's vfio_iommu_type1_dirty_pages(): start and
 * stop tracking, and read the bitmap of a range. What is dirty is dirty.c's:
 * the IOMMU's dirty bits where it has them, every mapped page where not.
 */
static int iommufd_vfio_dirty_pages(struct compat_container *c, void *arg)
{
	struct vfio_iommu_type1_dirty_bitmap db;
	struct vfio_iommu_type1_dirty_bitmap_get range;
	size_t minsz = offsetofend_(struct vfio_iommu_type1_dirty_bitmap, flags);
	uint32_t mask = VFIO_IOMMU_DIRTY_PAGES_FLAG_START | VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP |
			VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	uint64_t pgsize = MIN_PGSIZE(c), last;
	struct compat_dma *d;
	int r;

	if (!c->v2)
		return -EACCES;
	memcpy(&db, arg, minsz);
	if (db.argsz < minsz || db.flags & ~mask)
		return -EINVAL;
	/* Exactly one operation. */
	if (!db.flags || (db.flags & (db.flags - 1)))
		return -EINVAL;
	if (db.flags == VFIO_IOMMU_DIRTY_PAGES_FLAG_START)
		return compat_dirty_start(c);
	if (db.flags == VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP) {
		compat_dirty_stop(c);
		return 0;
	}
	if (db.argsz - minsz < sizeof(range))
		return -EINVAL;
	memcpy(&range, (uint8_t *)arg + minsz, sizeof(range));
	if (range.iova + range.size < range.iova)
		return -EINVAL;
	r = verify_bitmap_size(bitmap_pages(range.size, range.bitmap.pgsize),
			       range.bitmap.size);
	if (r)
		return r;
	if (range.bitmap.pgsize != pgsize || range.iova & (pgsize - 1) || !range.size ||
	    range.size & (pgsize - 1) || !c->dirty_tracking)
		return -EINVAL;
	/* vfio_iova_dirty_bitmap(): mappings may not be bisected; holes are fine. */
	last = range.iova + range.size - 1;
	d = find_dma(c, range.iova, range.iova);
	if (d && d->iova != range.iova)
		return -EINVAL;
	d = find_dma(c, last, last);
	if (d && d->iova + d->size - 1 != last)
		return -EINVAL;
	for (uint64_t iova = range.iova; (d = first_dma(c, iova, last)); iova = d->iova + d->size) {
		r = compat_dirty_report(c, d->iova, d->size, range.iova, pgsize,
					(uint64_t *)(uintptr_t)range.bitmap.data);
		if (r < 0 || d->iova + d->size - 1 == last)
			break;
	}
	return r;
}

int compat_vfio_ioctl(struct compat_container *c, unsigned long req, void *arg)
{
	int r;

	pthread_mutex_lock(&c->lock);
	switch (req) {
	case VFIO_GET_API_VERSION:
		r = VFIO_API_VERSION;
		break;
	case VFIO_CHECK_EXTENSION:
		r = iommufd_vfio_check_extension(c, (unsigned long)arg);
		break;
	case VFIO_SET_IOMMU:
		r = iommufd_vfio_set_iommu(c, (unsigned long)arg);
		break;
	case VFIO_IOMMU_GET_INFO:
		r = c->iommu_set ? iommufd_vfio_iommu_get_info(c, arg) : -EINVAL;
		break;
	case VFIO_IOMMU_MAP_DMA:
		r = c->iommu_set ? iommufd_vfio_map_dma(c, arg) : -EINVAL;
		break;
	case VFIO_IOMMU_UNMAP_DMA:
		r = c->iommu_set ? iommufd_vfio_unmap_dma(c, arg) : -EINVAL;
		break;
	case VFIO_IOMMU_DIRTY_PAGES:
		r = c->iommu_set ? iommufd_vfio_dirty_pages(c, arg) : -EINVAL;
		break;
	default:
		/* type1 answers ENOTTY to what it does not know; no driver, EINVAL. */
		r = c->iommu_set ? -ENOTTY : -EINVAL;
		break;
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

/* Forget every mapping (the last group left, or the container went away). */
void compat_container_unmap_all(struct compat_container *c)
{
	iommufd_ioas_unmap_all(c->ctx, c->ioas_id, NULL);
	tdestroy(c->dmas, free);
	c->dmas = NULL;
	c->dma_count = 0;
}
