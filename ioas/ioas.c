// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * struct ioas: an IOAS whose IOVAs are chosen in userspace. A map has the
 * backend place it (an IOVA from the allocator, or a physical address), map
 * it there (the kernel), and records the mapping; each step is undone if a
 * later one fails. Here, too, the iommufd backend and the steps the two IOMMU
 * backends share; backend_vfio.c has the VFIO group ones.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "internal.h"

static int iommufd_kernel_map(struct ioas *ioas, void *vaddr, uint64_t length, uint64_t iova,
			      unsigned int access)
{
	return iommufd_ioas_map(ioas->ctx, ioas->id, vaddr, length, &iova,
				access | IOMMUFD_MAP_FIXED_IOVA);
}

static int iommufd_kernel_unmap(struct ioas *ioas, uint64_t iova, uint64_t length)
{
	return iommufd_ioas_unmap(ioas->ctx, ioas->id, iova, length, NULL);
}

static int iommufd_ranges(struct ioas *ioas, struct iommufd_iova_range **ranges, size_t *nr,
			  uint64_t *alignment)
{
	return iommufd_ioas_iova_ranges(ioas->ctx, ioas->id, ranges, nr, alignment);
}

/* The context asks which of our mappings a range hits (to explain EEXIST, or to not record it). */
static bool record_find(struct iommufd_record_owner *owner, uint64_t iova, uint64_t last,
			struct iommufd_record_hit *hit)
{
	struct ioas *ioas = (struct ioas *)((char *)owner - offsetof(struct ioas, record));
	struct ioas_mapping m;

	if (!ioas_tracker_hit(ioas->tracker, iova, last, &m))
		return false;
	*hit = (struct iommufd_record_hit){ m.iova, m.iova + m.length - 1, (uintptr_t)m.vaddr };
	return true;
}

static void iommufd_release(struct ioas *ioas)
{
	struct ioas_mapping *m = NULL;
	size_t n;

	iommufd_record_remove_owner(ioas->ctx, ioas->id, &ioas->record);
	if (ioas->own_id) {
		/* Destroying the IOAS unmaps everything in one go. */
		iommufd_destroy(ioas->ctx, ioas->id);
	} else if (ioas->tracker) {
		/* Not ours to destroy: take back exactly what we mapped. */
		n = ioas_mappings(ioas, &m);
		for (size_t i = 0; i < n; i++)
			ioas->backend->unmap(ioas, &m[i]);
		free(m);
	}
}

const struct ioas_backend ioas_backend_iommufd = {
	.name = "iommufd",
	.place = ioas_iommu_place,
	.unplace = ioas_iommu_unplace,
	.map = ioas_iommu_map,
	.unmap = ioas_iommu_unmap,
	.kernel_map = iommufd_kernel_map,
	.kernel_unmap = iommufd_kernel_unmap,
	.ranges = iommufd_ranges,
	.release = iommufd_release,
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
	ioas->container_fd = -1;
	ioas->limit = opts_get(opts, ioas_opts, dma_limit, 0) ?: UINT64_MAX;
	pthread_mutex_init(&ioas->map_lock, NULL);
	ioas->id = opts_get(opts, ioas_opts, ioas_id, 0);
	if (!ioas->id) {
		r = iommufd_ioas_alloc(ctx, &ioas->id);
		if (r < 0)
			goto fail;
		ioas->own_id = true;
	}
	r = ioas_init_common(ioas);
	if (r < 0)
		goto fail;
	/* Without memory for it, the context records our mappings too: harmless. */
	ioas->record.find = record_find;
	iommufd_record_add_owner(ctx, ioas->id, &ioas->record);
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

/* Out of memory part way, the mappings copied so far. */
size_t ioas_mappings(struct ioas *ioas, struct ioas_mapping **out)
{
	struct collect c = { 0 };

	ioas_tracker_foreach(ioas->tracker, collect_one, &c);
	*out = c.m;
	return c.n;
}

IOMMUFD_API struct ioas *ioas_free(struct ioas *ioas)
{
	if (!ioas)
		return NULL;
	/* The device first: it must not DMA into what is unmapped next. */
	ioas->device = ioas_device_close(ioas->device);
	ioas->backend->release(ioas);
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

int ioas_iommu_place(struct ioas *ioas, struct ioas_mapping *m, bool identity)
{
	int r;

	if (identity) {
		m->iova = (uintptr_t)m->vaddr;
		return ioas_iova_alloc_at(ioas->alloc, m->iova, m->length);
	}
	if (fast_size(ioas, m->length))
		return ioas_iova_alloc_fast(ioas->alloc, m->length, ioas->limit, &m->iova);
	r = ioas_iova_alloc(ioas->alloc, m->length, ioas->limit, IOAS_IOVA_SIZE_ALIGNED,
			    &m->iova);
	/* Size alignment may not fit below a low DMA limit where the size does. */
	if (r == -ENOSPC)
		r = ioas_iova_alloc(ioas->alloc, m->length, ioas->limit, 0, &m->iova);
	return r;
}

void ioas_iommu_unplace(struct ioas *ioas, const struct ioas_mapping *m)
{
	/* An identity IOVA was taken with ioas_iova_alloc_at(), never the fast path. */
	if (m->iova != (uintptr_t)m->vaddr && fast_size(ioas, m->length))
		ioas_iova_free_fast(ioas->alloc, m->iova, m->length);
	else
		ioas_iova_free(ioas->alloc, m->iova);
}

int ioas_iommu_map(struct ioas *ioas, const struct ioas_mapping *m, ioas_kernel_map_fn fn,
		   void *arg)
{
	if (fn)
		return fn(ioas, m->vaddr, m->length, m->iova, m->access, arg);
	return ioas->backend->kernel_map(ioas, m->vaddr, m->length, m->iova, m->access);
}

int ioas_iommu_unmap(struct ioas *ioas, const struct ioas_mapping *m)
{
	return ioas->backend->kernel_unmap(ioas, m->iova, m->length);
}

/*
 * With map_lock held: the address chosen (or fixed), then the record, then
 * the kernel. Recorded before it is mapped, the mapping is ours when the
 * context sees the kernel map it (from @fn's threads too), and not recorded
 * there again.
 */
static int map_locked(struct ioas *ioas, void *vaddr, uint64_t length, unsigned int access,
		      bool identity, ioas_kernel_map_fn fn, void *arg, uint64_t *iova)
{
	struct ioas_mapping m = { .length = length, .vaddr = vaddr, .access = access };
	int r;

	r = ioas_tracker_check_buffer(ioas->tracker, vaddr, length);
	if (r < 0)
		return r;
	r = ioas->backend->place(ioas, &m, identity);
	if (r < 0)
		return r;
	r = ioas_tracker_add(ioas->tracker, &m);
	if (r < 0)
		goto out_unplace;
	r = ioas->backend->map(ioas, &m, fn, arg);
	if (r < 0)
		goto out_forget;
	*iova = m.iova;
	return 0;

out_forget:
	ioas_tracker_remove(ioas->tracker, m.iova, NULL);
out_unplace:
	ioas->backend->unplace(ioas, &m);
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
	return ioas->backend->kernel_map(ioas, vaddr, length, iova, access);
}

IOMMUFD_API int ioas_kernel_unmap(struct ioas *ioas, uint64_t iova, uint64_t length)
{
	check_arg(ioas);
	return ioas->backend->kernel_unmap(ioas, iova, length);
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
	if (r == 1) {
		/* Forgotten only once the kernel has unmapped it: a failure loses nothing. */
		r = ioas->backend->unmap(ioas, &m);
		if (r >= 0) {
			ioas_tracker_remove(ioas->tracker, iova, NULL);
			ioas->backend->unplace(ioas, &m);
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
