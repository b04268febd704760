// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The IOVA allocator: the kernel's alloc_iova() semantics (drivers/iommu/
 * iova.c) over the augmented tree of iova_tree.c, and its fast path: freed
 * ranges of small sizes wait in bounded per-size caches and are handed out
 * again without touching the tree, as alloc_iova_fast() does with its
 * per-CPU magazines. One mutex guards it all.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>

#include "../libiommufd/shared.h"
#include "iova_tree.h"
#include <iommufd/ioas.h>

/* Cached sizes: 1, 2, 4, ... 32 granules (the kernel's IOVA_RANGE_CACHE_MAX_SIZE). */
#define CACHE_CLASSES 6
#define IOVA_NODE_CACHED (1 << 1)

struct size_cache {
	uint64_t *pfns;
	uint32_t n;
};

struct ioas_iova_allocator {
	pthread_mutex_t lock;
	struct iova_tree tree;
	unsigned int shift;		/* log2 of the granule */
	uint64_t start_pfn, end_pfn;
	uint32_t depth;
	struct size_cache cache[CACHE_CLASSES];
	uint64_t live_pages, reserved;
	uint64_t hits, misses;
};

IOMMUFD_API int ioas_iova_allocator_new(const struct ioas_iova_opts *opts,
					struct ioas_iova_allocator **ret)
{
	uint64_t granule = 4096, start = 0, end = UINT64_MAX;
	struct ioas_iova_allocator *a;
	uint32_t depth = 256;
	int r;

	check_arg(ret);
	r = check_opts(NULL, opts, ioas_iova_opts, cache_depth);
	if (r < 0)
		return r;
	granule = opts_get(opts, ioas_iova_opts, granule, 0) ?: granule;
	start = opts_get(opts, ioas_iova_opts, start, 0);
	end = opts_get(opts, ioas_iova_opts, end, 0) ?: end;
	depth = opts_get(opts, ioas_iova_opts, cache_depth, 0) ?: depth;
	if (granule & (granule - 1))
		return iommufd_fail(NULL, -EINVAL, "IOVA granule 0x%" PRIx64 " is not a power of two",
				    granule);
	if (!start)
		start = granule;
	if ((start & (granule - 1)) || (end != UINT64_MAX && ((end + 1) & (granule - 1))) ||
	    end < start)
		return iommufd_fail(NULL, -EINVAL,
				    "IOVA window 0x%" PRIx64 "-0x%" PRIx64 " is empty or not aligned "
				    "to the granule 0x%" PRIx64, start, end, granule);
	a = calloc(1, sizeof(*a));
	if (!a)
		return iommufd_fail(NULL, -ENOMEM, "out of memory");
	pthread_mutex_init(&a->lock, NULL);
	iova_tree_init(&a->tree);
	a->shift = __builtin_ctzll(granule);
	a->start_pfn = start >> a->shift;
	a->end_pfn = end >> a->shift;
	if (a->end_pfn == UINT64_MAX)
		a->end_pfn--;	/* the top pfn is the upper anchor */
	a->depth = depth;
	/* Anchors below and above the window: free space is always between two ranges. */
	r = iova_tree_insert(&a->tree, 0, a->start_pfn - 1, IOVA_NODE_RESERVED);
	if (!r)
		r = iova_tree_insert(&a->tree, a->end_pfn + 1, UINT64_MAX, IOVA_NODE_RESERVED);
	a->reserved = 2;
	for (int i = 0; !r && i < CACHE_CLASSES; i++) {
		a->cache[i].pfns = malloc(depth * sizeof(uint64_t));
		if (!a->cache[i].pfns)
			r = -ENOMEM;
	}
	if (r < 0) {
		ioas_iova_allocator_free(a);
		return iommufd_fail(NULL, r, "out of memory");
	}
	*ret = a;
	return 0;
}

IOMMUFD_API struct ioas_iova_allocator *ioas_iova_allocator_free(struct ioas_iova_allocator *a)
{
	if (!a)
		return NULL;
	for (int i = 0; i < CACHE_CLASSES; i++)
		free(a->cache[i].pfns);
	iova_tree_destroy(&a->tree);
	pthread_mutex_destroy(&a->lock);
	free(a);
	return NULL;
}

static uint64_t pages_of(const struct ioas_iova_allocator *a, uint64_t size)
{
	return (size >> a->shift) + !!(size & ((1ULL << a->shift) - 1));
}

/* The last granule wholly at or below the byte address @limit, or -1 if none. */
static int64_t limit_pfn(const struct ioas_iova_allocator *a, uint64_t limit, uint64_t *pfn)
{
	uint64_t lp = limit == UINT64_MAX ? (UINT64_MAX >> a->shift) + 1 : (limit + 1) >> a->shift;

	if (!lp)
		return -1;
	*pfn = lp - 1 < a->end_pfn ? lp - 1 : a->end_pfn;
	return 0;
}

static int alloc_locked(struct ioas_iova_allocator *a, uint64_t pages, uint64_t lp,
			bool size_aligned, uint64_t *pfn)
{
	uint64_t mask = UINT64_MAX;
	int r;

	if (size_aligned && pages > 1)
		mask = ~((1ULL << (64 - __builtin_clzll(pages - 1))) - 1);
	r = iova_tree_find_gap(&a->tree, pages, lp, mask, pfn);
	if (!r)
		r = iova_tree_insert(&a->tree, *pfn, *pfn + pages - 1, 0);
	if (!r)
		a->live_pages += pages;
	return r;
}

static int explain_nospace(struct ioas_iova_allocator *a, uint64_t size, uint64_t limit)
{
	uint64_t at, gap = iova_tree_largest_gap(&a->tree, UINT64_MAX - 1, &at);

	return iommufd_fail(NULL, -ENOSPC,
			    "no free IOVA range of 0x%" PRIx64 " bytes at or below 0x%" PRIx64
			    ": the largest free gap is 0x%" PRIx64 " bytes at 0x%" PRIx64, size,
			    limit, gap << a->shift, at << a->shift);
}

IOMMUFD_API int ioas_iova_alloc(struct ioas_iova_allocator *a, uint64_t size, uint64_t limit,
				unsigned int flags, uint64_t *iova)
{
	uint64_t pages, lp, pfn;
	int r;

	check_arg(a);
	check_arg(iova);
	check_arg(!(flags & ~IOAS_IOVA_SIZE_ALIGNED));
	if (!size)
		return iommufd_fail(NULL, -EINVAL, "IOVA allocation of 0 bytes");
	pages = pages_of(a, size);
	if (limit_pfn(a, limit, &lp) < 0)
		return explain_nospace(a, size, limit);
	pthread_mutex_lock(&a->lock);
	r = alloc_locked(a, pages, lp, flags & IOAS_IOVA_SIZE_ALIGNED, &pfn);
	if (r == -ENOSPC)
		r = explain_nospace(a, size, limit);
	pthread_mutex_unlock(&a->lock);
	if (r == -ENOMEM)
		return iommufd_fail(NULL, r, "out of memory");
	if (!r)
		*iova = pfn << a->shift;
	return r;
}

static int free_locked(struct ioas_iova_allocator *a, uint64_t pfn)
{
	const struct iova_node *n = iova_tree_find(&a->tree, pfn);
	uint64_t hi;

	if (!n || n->lo != pfn || (n->flags & IOVA_NODE_CACHED))
		return -ENOENT;
	if (n->flags & IOVA_NODE_RESERVED)
		return -EPERM;
	iova_tree_remove(&a->tree, pfn, &hi, NULL);
	a->live_pages -= hi - pfn + 1;
	return 0;
}

IOMMUFD_API int ioas_iova_free(struct ioas_iova_allocator *a, uint64_t iova)
{
	int r;

	check_arg(a);
	pthread_mutex_lock(&a->lock);
	r = free_locked(a, iova >> a->shift);
	pthread_mutex_unlock(&a->lock);
	if (r == -ENOENT)
		return iommufd_fail(NULL, r, "no IOVA allocation starts at 0x%" PRIx64, iova);
	if (r == -EPERM)
		return iommufd_fail(NULL, r, "IOVA 0x%" PRIx64 " is reserved, not allocated",
				    iova);
	return 0;
}

/* Return every cached range to the tree (when the tree ran out). */
static void flush_caches(struct ioas_iova_allocator *a)
{
	for (int c = 0; c < CACHE_CLASSES; c++) {
		while (a->cache[c].n) {
			uint64_t pfn = a->cache[c].pfns[--a->cache[c].n], hi;

			iova_tree_remove(&a->tree, pfn, &hi, NULL);
			a->live_pages -= hi - pfn + 1;
		}
	}
}

/* The cache class of a size in granules, or -1 if it is not cached. */
static int size_class(uint64_t pages)
{
	int c = pages <= 1 ? 0 : 64 - __builtin_clzll(pages - 1);

	return c < CACHE_CLASSES ? c : -1;
}

IOMMUFD_API int ioas_iova_alloc_fast(struct ioas_iova_allocator *a, uint64_t size,
				     uint64_t limit, uint64_t *iova)
{
	uint64_t pages, lp, pfn;
	struct size_cache *sc;
	int c, r;

	check_arg(a);
	check_arg(iova);
	if (!size)
		return iommufd_fail(NULL, -EINVAL, "IOVA allocation of 0 bytes");
	pages = pages_of(a, size);
	c = size_class(pages);
	if (c >= 0)
		pages = 1ULL << c;
	if (limit_pfn(a, limit, &lp) < 0)
		return explain_nospace(a, size, limit);

	pthread_mutex_lock(&a->lock);
	if (c >= 0) {
		sc = &a->cache[c];
		/* Newest first: it is the most likely still warm in the IOTLB. */
		for (uint32_t i = sc->n; i-- > 0;) {
			if (sc->pfns[i] + pages - 1 > lp)
				continue;
			pfn = sc->pfns[i];
			sc->pfns[i] = sc->pfns[--sc->n];
			/* Cached ranges stay in the tree: just mark it live again. */
			iova_tree_floor(&a->tree, pfn)->flags &= ~IOVA_NODE_CACHED;
			a->hits++;
			pthread_mutex_unlock(&a->lock);
			*iova = pfn << a->shift;
			return 0;
		}
		a->misses++;
	}
	r = alloc_locked(a, pages, lp, true, &pfn);
	if (r == -ENOSPC) {
		flush_caches(a);
		r = alloc_locked(a, pages, lp, true, &pfn);
	}
	if (r == -ENOSPC)
		r = explain_nospace(a, size, limit);
	pthread_mutex_unlock(&a->lock);
	if (r == -ENOMEM)
		return iommufd_fail(NULL, r, "out of memory");
	if (!r)
		*iova = pfn << a->shift;
	return r;
}

IOMMUFD_API int ioas_iova_free_fast(struct ioas_iova_allocator *a, uint64_t iova, uint64_t size)
{
	uint64_t pfn, pages;
	struct iova_node *n;
	int c, r = 0;

	check_arg(a);
	pages = pages_of(a, size);
	c = size_class(pages);
	if (c >= 0)
		pages = 1ULL << c;
	pfn = iova >> a->shift;
	pthread_mutex_lock(&a->lock);
	n = iova_tree_floor(&a->tree, pfn);
	/* Validate: a wrong size or a double free would poison the cache. */
	if (!n || n->lo != pfn || (n->flags & (IOVA_NODE_CACHED | IOVA_NODE_RESERVED)) ||
	    n->hi - n->lo + 1 != pages) {
		pthread_mutex_unlock(&a->lock);
		return iommufd_fail(NULL, -ENOENT,
				    "no live IOVA allocation of 0x%" PRIx64 " bytes starts at 0x%"
				    PRIx64, size, iova);
	}
	if (c >= 0 && a->cache[c].n < a->depth) {
		n->flags |= IOVA_NODE_CACHED;
		a->cache[c].pfns[a->cache[c].n++] = pfn;
	} else {
		r = free_locked(a, pfn);
	}
	pthread_mutex_unlock(&a->lock);
	return r;
}

IOMMUFD_API int ioas_iova_alloc_at(struct ioas_iova_allocator *a, uint64_t iova, uint64_t size)
{
	uint64_t lo, hi;
	int r;

	check_arg(a);
	if (!size || iova + size - 1 < iova)
		return iommufd_fail(NULL, -EINVAL, "IOVA range 0x%" PRIx64 "+0x%" PRIx64
				    " is empty or wraps", iova, size);
	if (iova & ((1ULL << a->shift) - 1))
		return iommufd_fail(NULL, -EINVAL, "IOVA 0x%" PRIx64 " is not aligned to the "
				    "granule 0x%llx", iova, 1ULL << a->shift);
	lo = iova >> a->shift;
	hi = lo + pages_of(a, size) - 1;
	pthread_mutex_lock(&a->lock);
	r = iova_tree_insert(&a->tree, lo, hi, 0);
	if (r == -EEXIST) {
		flush_caches(a);	/* a cached range is free space to the caller */
		r = iova_tree_insert(&a->tree, lo, hi, 0);
	}
	if (!r)
		a->live_pages += hi - lo + 1;
	pthread_mutex_unlock(&a->lock);
	if (r == -EEXIST)
		return iommufd_fail(NULL, r, "IOVA 0x%" PRIx64 "-0x%" PRIx64 " is already in use "
				    "or reserved", iova, iova + size - 1);
	if (r < 0)
		return iommufd_fail(NULL, r, "out of memory");
	return 0;
}

IOMMUFD_API int ioas_iova_reserve(struct ioas_iova_allocator *a, uint64_t iova, uint64_t size)
{
	struct iova_node *n;
	uint64_t lo, hi;
	int r = 0;

	check_arg(a);
	if (!size || iova + size - 1 < iova)
		return iommufd_fail(NULL, -EINVAL, "IOVA range 0x%" PRIx64 "+0x%" PRIx64
				    " is empty or wraps", iova, size);
	/* Whole granules: a partly reserved granule cannot be handed out. */
	lo = iova >> a->shift;
	hi = (iova + size - 1) >> a->shift;
	pthread_mutex_lock(&a->lock);
	flush_caches(a);
	/*
	 * The ranges overlapping [lo, hi] are a run ending at the last one that
	 * starts at or below hi. Refuse before changing anything if one is live.
	 */
	for (n = iova_tree_floor(&a->tree, hi); n && n->hi >= lo;
	     n = n->lo ? iova_tree_floor(&a->tree, n->lo - 1) : NULL) {
		if (!(n->flags & IOVA_NODE_RESERVED)) {
			r = -EBUSY;
			break;
		}
	}
	/* Merge the reserved ones into one range. */
	while (!r && (n = iova_tree_floor(&a->tree, hi)) && n->hi >= lo) {
		lo = n->lo < lo ? n->lo : lo;
		hi = n->hi > hi ? n->hi : hi;
		iova_tree_remove(&a->tree, n->lo, NULL, NULL);
		a->reserved--;
	}
	if (!r) {
		r = iova_tree_insert(&a->tree, lo, hi, IOVA_NODE_RESERVED);
		if (!r)
			a->reserved++;
	}
	pthread_mutex_unlock(&a->lock);
	if (r == -EBUSY)
		return iommufd_fail(NULL, r, "cannot reserve 0x%" PRIx64 "-0x%" PRIx64
				    ": an allocation lives there", iova, iova + size - 1);
	if (r < 0)
		return iommufd_fail(NULL, r, "out of memory");
	return 0;
}

IOMMUFD_API int ioas_iova_stats(struct ioas_iova_allocator *a, struct ioas_iova_stats *st)
{
	check_arg(a);
	check_arg(st);
	pthread_mutex_lock(&a->lock);
	*st = (struct ioas_iova_stats){
		.reserved = a->reserved,
		.cache_hits = a->hits,
		.cache_misses = a->misses,
		.memory_bytes = sizeof(*a) + iova_tree_memory(&a->tree) +
				CACHE_CLASSES * a->depth * sizeof(uint64_t),
	};
	for (int c = 0; c < CACHE_CLASSES; c++)
		st->cached += a->cache[c].n;
	st->live = a->tree.live - a->reserved;
	st->live_bytes = a->live_pages << a->shift;
	pthread_mutex_unlock(&a->lock);
	return 0;
}
