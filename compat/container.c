// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The emulated VFIO container. The dispatch mirrors the kernel's
 * iommufd_vfio_ioctl() (drivers/iommu/iommufd/vfio_compat.c): one function
 * per container ioctl, named after the kernel's (compat_vfio_map_dma() is
 * its iommufd_vfio_map_dma(); the library's iommufd_ prefix stays for its
 * public names), but the semantics, argument
 * checks and their order are those of the native type1 driver
 * (drivers/vfio/vfio_iommu_type1.c), because that is what programs were
 * written against. The map path, compat_vfio_map_dma(), ends in libiommufd's
 * IOAS map at a fixed IOVA, where the kernel's ends in iopt_map_user_pages().
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "../libiommufd/range_index.h"
#include "compat.h"

/* One type1 mapping (struct vfio_dma): [node.start, node.last] of IOVA. */
struct compat_dma {
	struct range_node node;
	uint64_t vaddr;
	bool vaddr_invalid;
};

#define dma_of(n) range_entry(n, struct compat_dma, node)

static uint64_t dma_size(const struct compat_dma *d)
{
	return d->node.last - d->node.start + 1;
}

/* The mapping holding @iova, or NULL (type1's vfio_find_dma() of one byte). */
static struct compat_dma *find_dma(struct compat_container *c, uint64_t iova)
{
	struct range_node *n = range_index_find(&c->dmas, iova);

	return n ? dma_of(n) : NULL;
}

/* The lowest mapping overlapping [start, last], or NULL. */
static struct compat_dma *first_dma(struct compat_container *c, uint64_t start, uint64_t last)
{
	struct range_node *n = range_index_first(&c->dmas, start, last);

	return n ? dma_of(n) : NULL;
}

/* The mapping after @d if it starts at or below @last, or NULL. */
static struct compat_dma *next_dma(struct compat_dma *d, uint64_t last)
{
	struct range_node *n = range_index_next(&d->node);

	return n && n->start <= last ? dma_of(n) : NULL;
}

static void remove_dma(struct compat_container *c, struct compat_dma *d)
{
	range_index_remove(&c->dmas, &d->node);
	free(d);
}

#define MIN_PGSIZE(c) ((c)->pgsize_bitmap & -(c)->pgsize_bitmap)
/* type1's DIRTY_BITMAP_BYTES() and DIRTY_BITMAP_SIZE_MAX (INT_MAX pages). */
#define DIRTY_BITMAP_BYTES(n) ((((uint64_t)(n) + 63) / 64) * 8)
#define DIRTY_BITMAP_SIZE_MAX DIRTY_BITMAP_BYTES(INT32_MAX)
/* type1's "size >> __ffs(pgsize)"; on x86 a zero pgsize shifts by nothing. */
static uint64_t bitmap_pages(uint64_t size, uint64_t pgsize)
{
	return pgsize ? size >> __builtin_ctzll(pgsize) : size;
}

static int compat_vfio_check_extension(struct compat_container *c, unsigned long type)
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

static int compat_vfio_set_iommu(struct compat_container *c, unsigned long type)
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

static int compat_vfio_iommu_get_info(struct compat_container *c, void *arg)
{
	struct vfio_iommu_type1_info info = { 0 };
	size_t minsz = offsetofend(struct vfio_iommu_type1_info, iova_pgsizes);
	struct vfio_iommu_type1_info_cap_migration mig = {
		.header = { .id = VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, .version = 1 },
		.pgsize_bitmap = MIN_PGSIZE(c),
		.max_dirty_bitmap_size = DIRTY_BITMAP_SIZE_MAX,
	};
	struct vfio_iommu_type1_info_dma_avail avail = {
		.header = { .id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, .version = 1 },
		.avail = c->dma_limit - (uint32_t)range_index_count(&c->dmas),
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
static void use_kernel_compat(struct compat_container *c)
{
	c->kernel_compat = !iommufd_vfio_ioas_set(c->ctx, c->ioas_id);
}

static int kernel_map(struct compat_container *c, uint64_t vaddr, uint64_t size, uint64_t iova,
		      unsigned int prot)
{
	if (c->kernel_compat &&
	    !iommufd_type1_map_dma(compat_real_ioctl, iommufd_ctx_fd(c->ctx), vaddr, iova, size,
				   prot))
		return 0;
	return iommufd_ioas_map(c->ctx, c->ioas_id, (void *)(uintptr_t)vaddr, size, &iova,
				prot | IOMMUFD_MAP_FIXED_IOVA);
}

/*
 * Unmap [iova, last], which holds @mapped bytes of whole mappings and holes
 * between them, in one call, as the kernel's own compat container does for a
 * range: 262 144 small mappings go in one ioctl, not 262 144.
 */
static int kernel_unmap(struct compat_container *c, uint64_t iova, uint64_t last, uint64_t mapped)
{
	uint64_t size = last - iova + 1;

	if (!size)	/* all of the 64-bit space: no size says it */
		return iommufd_ioas_unmap_all(c->ctx, c->ioas_id, NULL);
	if (c->kernel_compat &&
	    !iommufd_type1_unmap_dma(compat_real_ioctl, iommufd_ctx_fd(c->ctx), iova, &size) &&
	    size == mapped)
		return 0;
	return iommufd_ioas_unmap(c->ctx, c->ioas_id, iova, last - iova + 1, NULL);
}

/*
 * A VMM mapping guest RAM spends nearly all of MAP_DMA faulting in and
 * pinning pages: from this size up, pin in chunks on every CPU the process
 * may use (iommufd_ioas_map_parallel()). IOMMUFD_COMPAT_PARALLEL=0
 * turns it off.
 */
#define PARALLEL_MAP_MIN (64ULL << 20)

static int map_pages(struct compat_container *c, uint64_t vaddr, uint64_t size, uint64_t iova,
		     unsigned int prot)
{
	cpu_set_t cpus;
	int n = 1;

	/* Small maps, the common case, pay for nothing of this. */
	if (size >= PARALLEL_MAP_MIN && compat_config()->parallel &&
	    !sched_getaffinity(0, sizeof(cpus), &cpus))
		n = CPU_COUNT(&cpus);
	if (n > 1) {
		IOMMUFD_OPTS(iommufd_parallel_opts, opts, .threads = (unsigned int)n);

		return iommufd_ioas_map_parallel(c->ctx, c->ioas_id, (void *)(uintptr_t)vaddr,
						 size, iova, prot, &opts);
	}
	return kernel_map(c, vaddr, size, iova, prot);
}

static int compat_vfio_map_dma(struct compat_container *c, void *arg)
{
	struct vfio_iommu_type1_dma_map map;
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_map, size);
	uint32_t mask = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE | VFIO_DMA_MAP_FLAG_VADDR;
	bool set_vaddr;
	unsigned int prot = 0;
	uint64_t pgsize;
	struct compat_dma *d;
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
		d = first_dma(c, map.iova, map.iova + map.size - 1);
		if (!d)
			return -ENOENT;
		if (!d->vaddr_invalid || d->node.start != map.iova || dma_size(d) != map.size)
			return -EINVAL;
		d->vaddr = map.vaddr;
		d->vaddr_invalid = false;
		return 0;
	}
	/* One tree walk: the insert finds an overlapping mapping (EEXIST) too. */
	d = malloc(sizeof(*d));
	if (!d)
		return -ENOMEM;
	*d = (struct compat_dma){ .node = { .start = map.iova, .last = map.iova + map.size - 1 },
				  .vaddr = map.vaddr };
	r = range_index_insert(&c->dmas, &d->node, NULL);
	if (r < 0) {
		free(d);
		return r;
	}
	if (range_index_count(&c->dmas) > c->dma_limit)
		r = -ENOSPC;
	else if (!iova_valid(c, map.iova, map.iova + map.size - 1))
		r = -EINVAL;
	else if ((r = map_pages(c, map.vaddr, map.size, map.iova, prot)) < 0)
		compat_trace("  IOMMU_IOAS_MAP failed: %s", iommufd_last_error());
	if (r < 0) {
		remove_dma(c, d);
		return r;
	}
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

static void trace_unmapped(struct compat_container *c, uint64_t iova, uint64_t size, size_t n)
{
	compat_trace("  -> unmapped from IOAS %u: IOVA 0x%" PRIx64 " length 0x%" PRIx64
		     " (%zu mapping%s)", c->ioas_id, iova, size, n, n == 1 ? "" : "s");
}

/*
 * VFIO_DMA_UNMAP_FLAG_VADDR: mark [first, last]'s mappings as having no
 * valid vaddr; one that already has none fails the call, and type1 then
 * rolls back what this call marked.
 */
static int invalidate_vaddrs(struct compat_dma *first, uint64_t last, uint64_t *unmapped)
{
	struct compat_dma *d, *u;

	for (d = first; d; d = next_dma(d, last)) {
		if (d->vaddr_invalid) {
			for (u = first; u != d; u = next_dma(u, last))
				u->vaddr_invalid = false;
			*unmapped = 0;
			return -EINVAL;
		}
		d->vaddr_invalid = true;
		*unmapped += dma_size(d);
	}
	return 0;
}

/* type1's vfio_dma_do_unmap() over the recorded mappings, then the kernel. */
static int do_unmap(struct compat_container *c, struct vfio_iommu_type1_dma_unmap *unmap,
		    const struct vfio_bitmap *bitmap)
{
	bool all = unmap->flags & VFIO_DMA_UNMAP_FLAG_ALL;
	bool dirty = unmap->flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
	uint64_t pgsize = MIN_PGSIZE(c), iova = unmap->iova, size = unmap->size;
	uint64_t unmapped = 0, last;
	struct compat_dma *d, *first, *next;
	size_t n = 0;
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
	if (dirty && (!c->dirty_tracking || bitmap->pgsize != pgsize))
		return r;
	/* v2: a range that would bisect a mapping fails and removes nothing. */
	if (c->v2 && !all) {
		d = find_dma(c, iova);
		if (d && d->node.start != iova)
			return r;
		d = find_dma(c, last);
		if (d && d->node.last != last)
			return r;
	}
	first = first_dma(c, iova, last);
	/* v1: nothing from a mapping the range starts inside. */
	if (!first || (!c->v2 && iova > first->node.start))
		return 0;
	if (unmap->flags & VFIO_DMA_UNMAP_FLAG_VADDR) {
		r = invalidate_vaddrs(first, last, &unmapped);
		unmap->size = unmapped;
		return r;
	}
	if (dirty) {
		/* Mapping by mapping: each is read before the IOMMU forgets its pages. */
		for (d = first; d; d = next) {
			next = next_dma(d, last);
			r = compat_dirty_report(c, d->node.start, dma_size(d), unmap->iova, pgsize,
						(uint64_t *)(uintptr_t)bitmap->data);
			if (!r)
				r = kernel_unmap(c, d->node.start, d->node.last, dma_size(d));
			if (r < 0)
				break;
			trace_unmapped(c, d->node.start, dma_size(d), 1);
			unmapped += dma_size(d);
			remove_dma(c, d);
		}
		unmap->size = unmapped;
		return r;
	}
	/* Every mapping that starts in range goes (v1's last one may reach past it). */
	for (d = first; d; d = next_dma(d, last)) {
		unmapped += dma_size(d);
		iova = d->node.last;
		n++;
	}
	r = kernel_unmap(c, first->node.start, iova, unmapped);
	if (r < 0)
		return r;
	trace_unmapped(c, first->node.start, unmapped, n);
	for (d = first; d; d = next) {
		next = next_dma(d, last);
		remove_dma(c, d);
	}
	unmap->size = unmapped;
	return 0;
}

static int compat_vfio_unmap_dma(struct compat_container *c, void *arg)
{
	struct vfio_iommu_type1_dma_unmap unmap;
	struct vfio_bitmap bitmap = { 0 };
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_unmap, size);
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
static int compat_vfio_dirty_pages(struct compat_container *c, void *arg)
{
	struct vfio_iommu_type1_dirty_bitmap db;
	struct vfio_iommu_type1_dirty_bitmap_get range;
	size_t minsz = offsetofend(struct vfio_iommu_type1_dirty_bitmap, flags);
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
	d = find_dma(c, range.iova);
	if (d && d->node.start != range.iova)
		return -EINVAL;
	d = find_dma(c, last);
	if (d && d->node.last != last)
		return -EINVAL;
	for (d = first_dma(c, range.iova, last); d && !r; d = next_dma(d, last))
		r = compat_dirty_report(c, d->node.start, dma_size(d), range.iova, pgsize,
					(uint64_t *)(uintptr_t)range.bitmap.data);
	return r;
}

static int container_ioctl(struct compat_file *f, int fd, unsigned long req, void *arg)
{
	struct compat_container *c = (struct compat_container *)f;
	bool lock = !compat_single_threaded();
	int r;

	if (lock)
		pthread_mutex_lock(&c->lock);
	switch (req) {
	case VFIO_GET_API_VERSION:
		r = VFIO_API_VERSION;
		break;
	case VFIO_CHECK_EXTENSION:
		r = compat_vfio_check_extension(c, (unsigned long)arg);
		break;
	case VFIO_SET_IOMMU:
		r = compat_vfio_set_iommu(c, (unsigned long)arg);
		break;
	case VFIO_IOMMU_GET_INFO:
		r = c->iommu_set ? compat_vfio_iommu_get_info(c, arg) : -EINVAL;
		break;
	case VFIO_IOMMU_MAP_DMA:
		r = c->iommu_set ? compat_vfio_map_dma(c, arg) : -EINVAL;
		break;
	case VFIO_IOMMU_UNMAP_DMA:
		r = c->iommu_set ? compat_vfio_unmap_dma(c, arg) : -EINVAL;
		break;
	case VFIO_IOMMU_DIRTY_PAGES:
		r = c->iommu_set ? compat_vfio_dirty_pages(c, arg) : -EINVAL;
		break;
	default:
		/* type1 answers ENOTTY to what it does not know; no driver, EINVAL. */
		r = c->iommu_set ? -ENOTTY : -EINVAL;
		break;
	}
	if (lock)
		pthread_mutex_unlock(&c->lock);
	return r;
}

static void free_dma(struct range_node *n, void *unused)
{
	free(dma_of(n));
}

/* Forget every mapping: the last group left, so type1 let go of its domain. */
void compat_container_unmap_all(struct compat_container *c)
{
	/*
	 * After a fork the other process may still be using them. A kernel
	 * that refuses keeps the mappings, and so does type1's list of them:
	 * the two never part.
	 */
	if (!c->file.shared && iommufd_ioas_unmap_all(c->ctx, c->ioas_id, NULL) < 0) {
		compat_trace("  unmapping everything from IOAS %u failed: %s", c->ioas_id,
			     iommufd_last_error());
		return;
	}
	range_index_clear(&c->dmas, free_dma, NULL);
}

int compat_container_add_group(struct compat_container *c, struct compat_group *g)
{
	void *tmp;

	pthread_mutex_lock(&c->lock);
	tmp = realloc(c->groups, (c->nr_groups + 1) * sizeof(*c->groups));
	if (!tmp) {
		pthread_mutex_unlock(&c->lock);
		return -ENOMEM;
	}
	c->groups = tmp;
	c->groups[c->nr_groups++] = g;
	g->container = c;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

void compat_container_del_group(struct compat_container *c, struct compat_group *g)
{
	for (int i = 0; i < c->nr_groups; i++)
		if (c->groups[i] == g)
			c->groups[i] = c->groups[--c->nr_groups];
	compat_container_refresh_ranges(c);
	/* type1 lets go of its domain, and every mapping, with the last group. */
	if (!c->nr_groups && c->iommu_set) {
		compat_container_unmap_all(c);
		if (!c->file.shared)
			compat_dirty_release(c);
		c->iommu_set = false;
	}
}

/*
 * A forked child shares the container's iommufd, and so its IOAS, as it
 * would share a real container; but a libiommufd context refuses use from
 * a child (its pins are the parent's). The child takes the same fd into a
 * context of its own, so its maps pin its own memory, as type1's do, and
 * keeps the parent's only to let go of it.
 */
static void container_atfork(struct compat_file *f, enum compat_fork_phase phase)
{
	struct compat_container *c = (struct compat_container *)f;
	struct iommufd_ctx *mine;

	if (phase == COMPAT_FORK_PREPARE) {
		pthread_mutex_lock(&c->lock);
		return;
	}
	if (phase == COMPAT_FORK_CHILD &&
	    !iommufd_ctx_from_fd(iommufd_ctx_fd(c->ctx), 0, &mine)) {
		iommufd_ctx_disable_record(mine);
		if (c->parent_ctx)	/* a grandchild: the middle one is not needed */
			iommufd_ctx_unref(c->ctx);
		else
			c->parent_ctx = c->ctx;
		c->ctx = mine;
	}
	pthread_mutex_unlock(&c->lock);
}

/* The last fd closed; groups hold references, so none is attached any more. */
static void container_release(struct compat_file *f)
{
	struct compat_container *c = (struct compat_container *)f;

	compat_container_unmap_all(c);
	/* Closing the iommufd destroys the IOAS, unless another process holds it. */
	range_index_clear(&c->dmas, free_dma, NULL);
	iommufd_ctx_unref(c->ctx);
	iommufd_ctx_unref(c->parent_ctx);
	free(c->ranges);
	free(c->groups);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

const struct compat_file_ops compat_container_ops = {
	.name = "container",
	.ioctl = container_ioctl,
	.release = container_release,
	.atfork = container_atfork,
};

int compat_open_container(int flags)
{
	struct compat_container *c = calloc(1, sizeof(*c));
	int fd;

	if (!c)
		return -ENOMEM;
	compat_file_init(&c->file, &compat_container_ops);
	pthread_mutex_init(&c->lock, NULL);
	c->dma_limit = compat_config()->dma_limit;
	c->pgsize_bitmap = 4096;
	fd = iommufd_ctx_open(NULL, &c->ctx);
	if (fd < 0)
		goto out_free;
	/* The container keeps type1's own list of mappings. */
	iommufd_ctx_disable_record(c->ctx);
	fd = iommufd_ioas_alloc(c->ctx, &c->ioas_id);
	if (fd < 0)
		goto out_free;
	use_kernel_compat(c);
	fd = compat_container_refresh_ranges(c);
	if (fd < 0)
		goto out_free;
	fd = compat_file_memfd(&c->file, flags, "container");
	if (fd < 0)
		goto out_free;
	compat_fd_install(fd, &c->file);
	compat_trace("open(/dev/vfio/vfio) = %d: iommufd %d, IOAS %u", fd,
		     iommufd_ctx_fd(c->ctx), c->ioas_id);
	return fd;

out_free:
	compat_trace("open(/dev/vfio/vfio) failed: %s", iommufd_last_error());
	free(c->ranges);
	iommufd_ctx_unref(c->ctx);
	pthread_mutex_destroy(&c->lock);
	free(c);
	return fd;
}
