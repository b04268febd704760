// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * struct ioas: an IOAS whose IOVAs are chosen in userspace. A map takes an
 * IOVA from the allocator, asks the backend (the kernel) to map there, and
 * records the mapping; each step is undone if a later one fails.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "internal.h"

static int iommufd_map(struct ioas *ioas, void *vaddr, uint64_t length, uint64_t iova,
		       unsigned int access)
{
	return iommufd_ioas_map(ioas->ctx, ioas->id, vaddr, length, &iova,
				access | IOMMUFD_MAP_FIXED_IOVA);
}

static int iommufd_unmap(struct ioas *ioas, uint64_t iova, uint64_t length)
{
	return iommufd_ioas_unmap(ioas->ctx, ioas->id, iova, length, NULL);
}

static int iommufd_ranges(struct ioas *ioas, struct iommufd_iova_range **ranges, size_t *nr,
			  uint64_t *alignment)
{
	return iommufd_ioas_iova_ranges(ioas->ctx, ioas->id, ranges, nr, alignment);
}

const struct ioas_backend ioas_backend_iommufd = {
	.name = "iommufd",
	.map = iommufd_map,
	.unmap = iommufd_unmap,
	.ranges = iommufd_ranges,
};

/* Reserve what lies between the usable ranges (and below the first). */
static int reserve_holes(struct ioas *ioas, const struct iommufd_iova_range *r, size_t nr)
{
	uint64_t next = 0;	/* first IOVA not covered so far */
	int ret;

	for (size_t i = 0; i < nr; i++) {
		if (r[i].start > next) {
			ret = ioas_iova_reserve(ioas->alloc, next, r[i].start - next);
			if (ret < 0)
				return ret;
		}
		if (r[i].last == UINT64_MAX)
			return 0;
		next = r[i].last + 1;
	}
	return ioas_iova_reserve(ioas->alloc, next, -next);	/* up to 2^64 */
}

int ioas_init_common(struct ioas *ioas)
{
	struct iommufd_iova_range *ranges = NULL;
	uint64_t align = 1;
	size_t nr = 0;
	int r;

	r = ioas->backend->ranges(ioas, &ranges, &nr, &align);
	if (r < 0)
		return r;
	/* The IOMMU's alignment, but never below a CPU page: buffers are pinned by page. */
	ioas->granule = align > 4096 ? align : 4096;
	{
		IOAS_OPTS(ioas_iova_opts, ao, .granule = ioas->granule);
		r = ioas_iova_allocator_new(&ao, &ioas->alloc);
	}
	if (!r)
		r = reserve_holes(ioas, ranges, nr);
	if (!r)
		r = ioas_tracker_new(&ioas->tracker);
	free(ranges);
	return r;
}

IOMMUFD_API int ioas_new(struct iommufd_ctx *ctx, const struct ioas_opts *opts,
			 struct ioas **ret)
{
	struct ioas *ioas;
	int r;

	check_arg(ctx);
	check_arg(ret);
	r = check_opts(ctx, opts, ioas_opts, dma_limit);
	if (r < 0)
		return r;
	ioas = calloc(1, sizeof(*ioas));
	if (!ioas)
		return iommufd_fail(ctx, -ENOMEM, "out of memory");
	ioas->ctx = iommufd_ctx_ref(ctx);
	ioas->backend = &ioas_backend_iommufd;
	ioas->container_fd = ioas->group_fd = ioas->device_fd = -1;
	ioas->limit = opts && opts->dma_limit ? opts->dma_limit : UINT64_MAX;
	pthread_mutex_init(&ioas->map_lock, NULL);
	if (opts && opts->ioas_id) {
		ioas->id = opts->ioas_id;
	} else {
		r = iommufd_ioas_alloc(ctx, &ioas->id);
		if (r < 0)
			goto fail;
		ioas->own_id = true;
	}
	r = ioas_init_common(ioas);
	if (r < 0)
		goto fail;
	*ret = ioas;
	return 0;
fail:
	ioas_free(ioas);
	return r;
}

struct collect {
	struct ioas_mapping *m;
	size_t n, cap;
};

static int collect_one(const struct ioas_mapping *m, void *data)
{
	struct collect *c = data;
	struct ioas_mapping *tmp;

	if (c->n == c->cap) {
		tmp = realloc(c->m, (c->cap * 2 + 16) * sizeof(*tmp));
		if (!tmp)
			return -ENOMEM;
		c->m = tmp;
		c->cap = c->cap * 2 + 16;
	}
	c->m[c->n++] = *m;
	return 0;
}

IOMMUFD_API struct ioas *ioas_free(struct ioas *ioas)
{
	struct collect c = { 0 };

	if (!ioas)
		return NULL;
	/* The device first: it must not DMA into what is unmapped next. */
	iommufd_device_close(ioas->device);
	if (ioas->device_fd >= 0)
		close(ioas->device_fd);
	if (ioas->own_id) {
		/* Destroying the IOAS unmaps everything in one go. */
		iommufd_destroy(ioas->ctx, ioas->id);
	} else if (ioas->tracker) {
		/* Not ours to destroy: take back exactly what we mapped. */
		ioas_tracker_foreach(ioas->tracker, collect_one, &c);
		for (size_t i = 0; i < c.n; i++) {
			if (ioas->backend->unmap)
				ioas->backend->unmap(ioas, c.m[i].iova, c.m[i].length);
			else
				munlock(c.m[i].vaddr, c.m[i].length);
		}
		free(c.m);
	}
	/* Closing the container drops type1's mappings with it. */
	if (ioas->group_fd >= 0)
		close(ioas->group_fd);
	if (ioas->container_fd >= 0)
		close(ioas->container_fd);
	ioas_tracker_free(ioas->tracker);
	ioas_iova_allocator_free(ioas->alloc);
	pthread_mutex_destroy(&ioas->map_lock);
	iommufd_ctx_unref(ioas->ctx);
	free(ioas);
	return NULL;
}

IOMMUFD_API uint32_t ioas_id(const struct ioas *ioas)
{
	return ioas ? ioas->id : 0;
}

IOMMUFD_API struct ioas_tracker *ioas_get_tracker(struct ioas *ioas)
{
	return ioas ? ioas->tracker : NULL;
}

IOMMUFD_API struct ioas_iova_allocator *ioas_get_allocator(struct ioas *ioas)
{
	return ioas ? ioas->alloc : NULL;
}

IOMMUFD_API int ioas_refresh_ranges(struct ioas *ioas)
{
	struct iommufd_iova_range *ranges;
	size_t nr;
	int r;

	check_arg(ioas);
	r = ioas->backend->ranges(ioas, &ranges, &nr, NULL);
	if (r < 0)
		return r;
	pthread_mutex_lock(&ioas->map_lock);
	r = reserve_holes(ioas, ranges, nr);
	pthread_mutex_unlock(&ioas->map_lock);
	free(ranges);
	return r;
}

/* Small ranges come from the allocator's fast path and go back to it. */
static bool fast_size(const struct ioas *ioas, uint64_t length)
{
	return length <= 32 * ioas->granule;
}

static void give_back(struct ioas *ioas, uint64_t iova, uint64_t length, bool identity)
{
	if (!identity && fast_size(ioas, length))
		ioas_iova_free_fast(ioas->alloc, iova, length);
	else
		ioas_iova_free(ioas->alloc, iova);
}

/* With map_lock held: IOVA chosen (or fixed), then kernel, then record. */
static int map_locked(struct ioas *ioas, void *vaddr, uint64_t length, unsigned int access,
		      bool identity, ioas_kernel_map_fn fn, void *arg, uint64_t *iova)
{
	struct ioas_mapping m = { .length = length, .vaddr = vaddr, .access = access };
	int r;

	r = ioas_tracker_check_buffer(ioas->tracker, vaddr, length);
	if (r < 0)
		return r;
	if (ioas->backend->translate) {
		/* No IOMMU: the address is where the memory is; nothing to map. */
		if (identity)
			return iommufd_fail(ioas->ctx, -EOPNOTSUPP,
					    "identity maps need an IOMMU (the %s backend has none)",
					    ioas->backend->name);
		r = ioas->backend->translate(ioas, vaddr, length, &m.iova);
		if (!r)
			r = ioas_tracker_add(ioas->tracker, &m);
		if (!r)
			*iova = m.iova;
		return r;
	} else if (identity) {
		m.iova = (uintptr_t)vaddr;
		r = ioas_iova_alloc_at(ioas->alloc, m.iova, length);
	} else if (fast_size(ioas, length)) {
		r = ioas_iova_alloc_fast(ioas->alloc, length, ioas->limit, &m.iova);
	} else {
		r = ioas_iova_alloc(ioas->alloc, length, ioas->limit, IOAS_IOVA_SIZE_ALIGNED,
				    &m.iova);
		/* Size alignment may not fit below a low DMA limit where the size does. */
		if (r == -ENOSPC)
			r = ioas_iova_alloc(ioas->alloc, length, ioas->limit, 0, &m.iova);
	}
	if (r < 0)
		return r;
	if (fn)
		r = fn(ioas, vaddr, length, m.iova, access, arg);
	else
		r = ioas->backend->map(ioas, vaddr, length, m.iova, access);
	if (r < 0)
		goto out_free_iova;
	r = ioas_tracker_add(ioas->tracker, &m);
	if (r < 0)
		goto out_unmap;
	*iova = m.iova;
	return 0;

out_unmap:
	ioas->backend->unmap(ioas, m.iova, length);
out_free_iova:
	give_back(ioas, m.iova, length, identity);
	return r;
}

static int check_map_args(struct ioas *ioas, const void *vaddr, uint64_t length,
			  unsigned int access)
{
	if (!vaddr || !length)
		return iommufd_fail(ioas->ctx, -EINVAL, "map of %s", vaddr ? "0 bytes" : "NULL");
	if (!(access & IOMMUFD_MAP_RW) || (access & ~IOMMUFD_MAP_RW))
		return iommufd_fail(ioas->ctx, -EINVAL,
				    "access 0x%x: give IOMMUFD_MAP_READ and/or IOMMUFD_MAP_WRITE",
				    access);
	if (((uintptr_t)vaddr | length) & (ioas->granule - 1))
		return iommufd_fail(ioas->ctx, -EINVAL,
				    "buffer %p of 0x%" PRIx64 " bytes is not aligned to the IOAS "
				    "granule 0x%" PRIx64, vaddr, length, ioas->granule);
	return 0;
}

IOMMUFD_API int ioas_map_with(struct ioas *ioas, void *vaddr, uint64_t length,
			      unsigned int access, ioas_kernel_map_fn fn, void *arg,
			      uint64_t *iova)
{
	int r;

	check_arg(ioas);
	check_arg(iova);
	r = check_map_args(ioas, vaddr, length, access);
	if (r < 0)
		return r;
	pthread_mutex_lock(&ioas->map_lock);
	/* The same buffer again (perhaps from another thread): same IOVA, one more ref. */
	r = ioas_tracker_ref(ioas->tracker, vaddr, length, iova);
	if (r == -ENOENT)
		r = map_locked(ioas, vaddr, length, access, false, fn, arg, iova);
	pthread_mutex_unlock(&ioas->map_lock);
	return r;
}

IOMMUFD_API int ioas_map(struct ioas *ioas, void *vaddr, uint64_t length, unsigned int access,
			 uint64_t *iova)
{
	return ioas_map_with(ioas, vaddr, length, access, NULL, NULL, iova);
}

IOMMUFD_API int ioas_kernel_map(struct ioas *ioas, void *vaddr, uint64_t length, uint64_t iova,
				unsigned int access)
{
	check_arg(ioas);
	if (ioas->backend->translate)
		return iommufd_fail(ioas->ctx, -EOPNOTSUPP, "the %s backend maps nothing",
				    ioas->backend->name);
	return ioas->backend->map(ioas, vaddr, length, iova, access);
}

IOMMUFD_API int ioas_kernel_unmap(struct ioas *ioas, uint64_t iova, uint64_t length)
{
	check_arg(ioas);
	if (ioas->backend->translate)
		return iommufd_fail(ioas->ctx, -EOPNOTSUPP, "the %s backend maps nothing",
				    ioas->backend->name);
	return ioas->backend->unmap(ioas, iova, length);
}

IOMMUFD_API struct iommufd_ctx *ioas_get_ctx(const struct ioas *ioas)
{
	return ioas && ioas->backend == &ioas_backend_iommufd ? ioas->ctx : NULL;
}

IOMMUFD_API int ioas_map_identity(struct ioas *ioas, void *vaddr, uint64_t length,
				  unsigned int access)
{
	uint64_t iova;
	int r;

	check_arg(ioas);
	r = check_map_args(ioas, vaddr, length, access);
	if (r < 0)
		return r;
	pthread_mutex_lock(&ioas->map_lock);
	r = map_locked(ioas, vaddr, length, access, true, NULL, NULL, &iova);
	pthread_mutex_unlock(&ioas->map_lock);
	return r;
}

IOMMUFD_API int ioas_unmap(struct ioas *ioas, uint64_t iova)
{
	struct ioas_mapping m;
	int r;

	check_arg(ioas);
	pthread_mutex_lock(&ioas->map_lock);
	r = ioas_tracker_unref(ioas->tracker, iova, &m);
	if (r == 1 && ioas->backend->translate) {
		/* Nothing was mapped, only locked in place. */
		munlock(m.vaddr, m.length);
		r = 0;
	} else if (r == 1) {
		r = ioas->backend->unmap(ioas, m.iova, m.length);
		if (r < 0) {
			/* Still mapped in the kernel: keep it recorded. */
			m.refs = 1;
			ioas_tracker_add(ioas->tracker, &m);
		} else {
			give_back(ioas, m.iova, m.length, m.iova == (uintptr_t)m.vaddr);
		}
	} else if (r == -ENOENT) {
		r = iommufd_fail(ioas->ctx, r, "IOAS %u: no mapping starts at IOVA 0x%" PRIx64,
				 ioas->id, iova);
	}
	pthread_mutex_unlock(&ioas->map_lock);
	return r;
}

IOMMUFD_API int ioas_unmap_vaddr(struct ioas *ioas, void *vaddr)
{
	struct ioas_mapping m;
	int r;

	check_arg(ioas);
	r = ioas_tracker_find_vaddr(ioas->tracker, vaddr, &m);
	if (r < 0)
		return r;
	if (m.vaddr != vaddr)
		return iommufd_fail(ioas->ctx, -EINVAL,
				    "%p is inside the buffer %p mapped at 0x%" PRIx64 ", not its start",
				    vaddr, m.vaddr, m.iova);
	return ioas_unmap(ioas, m.iova);
}

IOMMUFD_API int ioas_vaddr_to_iova(struct ioas *ioas, const void *vaddr, uint64_t *iova)
{
	struct ioas_mapping m;
	int r;

	check_arg(ioas);
	check_arg(iova);
	r = ioas_tracker_find_vaddr(ioas->tracker, vaddr, &m);
	if (r < 0)
		return r;
	*iova = m.iova + ((uintptr_t)vaddr - (uintptr_t)m.vaddr);
	return 0;
}

IOMMUFD_API int ioas_iova_to_vaddr(struct ioas *ioas, uint64_t iova, void **vaddr)
{
	struct ioas_mapping m;
	int r;

	check_arg(ioas);
	check_arg(vaddr);
	r = ioas_tracker_find_iova(ioas->tracker, iova, &m);
	if (r < 0)
		return r;
	*vaddr = (char *)m.vaddr + (iova - m.iova);
	return 0;
}
