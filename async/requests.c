// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The requests: prep (record the arguments, like io_uring_prep_*), the
 * ranges each touches (for ordering), and running one in a worker.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "internal.h"

static void prep(struct iommufd_async_sqe *s, enum req_op op, struct ioas *ioas)
{
	s->op = op;
	s->ioas = ioas;
	s->ctx = NULL;
	s->vaddr = NULL;
	s->length = s->iova = 0;
	s->iova_out = NULL;
	s->access = 0;
	s->buf = NULL;
	s->buf_out = NULL;
	s->opts_err = 0;
}

IOMMUFD_API void iommufd_async_prep_map(struct iommufd_async_sqe *sqe, struct ioas *ioas,
					void *vaddr, uint64_t length, unsigned int access,
					uint64_t *iova)
{
	prep(sqe, OP_MAP, ioas);
	sqe->vaddr = vaddr;
	sqe->length = length;
	sqe->access = access;
	sqe->iova_out = iova;
}

IOMMUFD_API void iommufd_async_prep_unmap(struct iommufd_async_sqe *sqe, struct ioas *ioas,
					  uint64_t iova)
{
	prep(sqe, OP_UNMAP, ioas);
	sqe->iova = iova;
}

IOMMUFD_API void iommufd_async_prep_unmap_vaddr(struct iommufd_async_sqe *sqe,
						struct ioas *ioas, void *vaddr)
{
	prep(sqe, OP_UNMAP_VADDR, ioas);
	sqe->vaddr = vaddr;
}

IOMMUFD_API void iommufd_async_prep_copy(struct iommufd_async_sqe *sqe, struct iommufd_ctx *ctx,
					 uint32_t dst_ioas_id, uint64_t *dst_iova,
					 uint32_t src_ioas_id, uint64_t src_iova, uint64_t length,
					 unsigned int flags)
{
	prep(sqe, OP_COPY, NULL);
	sqe->ctx = ctx;
	sqe->dst_id = dst_ioas_id;
	sqe->iova_out = dst_iova;
	/* The fixed destination is read now: the caller's variable may change. */
	sqe->iova = dst_iova ? *dst_iova : 0;
	sqe->src_id = src_ioas_id;
	sqe->vaddr = (void *)(uintptr_t)src_iova;
	sqe->length = length;
	sqe->access = flags;
}

IOMMUFD_API void iommufd_async_prep_dma_alloc(struct iommufd_async_sqe *sqe, struct ioas *ioas,
					      uint64_t size, const struct ioas_dma_opts *opts,
					      struct ioas_dma_buf **buf)
{
	prep(sqe, OP_DMA_ALLOC, ioas);
	sqe->length = size;
	sqe->buf_out = buf;
	/*
	 * The caller's struct may be gone when the request runs: its size is
	 * checked now, its fields copied into one of this library's size.
	 */
	sqe->opts_err = check_opts(NULL, opts, ioas_dma_opts, flags);
	memset(&sqe->dma_opts, 0, sizeof(sqe->dma_opts));
	sqe->dma_opts.sz = sizeof(sqe->dma_opts);
	sqe->dma_opts.flags = opts_get(opts, ioas_dma_opts, flags, 0);
}

IOMMUFD_API void iommufd_async_prep_dma_free(struct iommufd_async_sqe *sqe, struct ioas *ioas,
					     struct ioas_dma_buf *buf)
{
	prep(sqe, OP_DMA_FREE, ioas);
	sqe->buf = buf;
}

IOMMUFD_API void iommufd_async_sqe_set_data(struct iommufd_async_sqe *sqe, uint64_t user_data)
{
	sqe->user_data = user_data;
}

static void add_key(struct iommufd_async_sqe *s, const void *owner, uint32_t space,
		    uint64_t start, uint64_t length)
{
	struct req_key *k = &s->keys[s->nr_keys++];

	k->owner = owner;
	k->space = space;
	k->first = start;
	k->last = length ? start + length - 1 : start;
	if (k->last < k->first)
		k->last = UINT64_MAX;
}

/* The buffer's mapping as the tracker knows it now, both ranges as keys. */
static bool add_mapping_keys(struct iommufd_async_sqe *s, int found, const struct ioas_mapping *m)
{
	if (found < 0)
		return false;
	add_key(s, s->ioas, KEY_VA, (uintptr_t)m->vaddr, m->length);
	add_key(s, s->ioas, KEY_IOVA, m->iova, m->length);
	return true;
}

void req_compute_keys(struct iommufd_async_sqe *s)
{
	struct ioas_mapping m;

	s->nr_keys = 0;
	if (!s->ioas && s->op != OP_COPY)
		return;
	switch (s->op) {
	case OP_MAP:
		add_key(s, s->ioas, KEY_VA, (uintptr_t)s->vaddr, s->length);
		break;
	case OP_UNMAP:
		/* Mapped already: its whole range; else the IOVA itself. */
		if (!add_mapping_keys(s, ioas_tracker_find_iova(ioas_get_tracker(s->ioas), s->iova,
								&m), &m))
			add_key(s, s->ioas, KEY_IOVA, s->iova, 1);
		break;
	case OP_UNMAP_VADDR:
		/* Its map may still be queued: the address orders it after. */
		if (!add_mapping_keys(s, ioas_tracker_find_vaddr(ioas_get_tracker(s->ioas),
								 s->vaddr, &m), &m))
			add_key(s, s->ioas, KEY_VA, (uintptr_t)s->vaddr, 1);
		break;
	case OP_COPY:
		add_key(s, s->ctx, KEY_RAW_IOAS + s->src_id, (uintptr_t)s->vaddr, s->length);
		if (s->access & IOMMUFD_MAP_FIXED_IOVA)
			add_key(s, s->ctx, KEY_RAW_IOAS + s->dst_id, s->iova, s->length);
		break;
	case OP_DMA_FREE:
		if (s->buf) {
			add_key(s, s->ioas, KEY_VA, (uintptr_t)s->buf->vaddr, s->buf->mapped);
			add_key(s, s->ioas, KEY_IOVA, s->buf->iova, s->buf->mapped);
		}
		break;
	default:
		break;
	}
}

uint64_t req_bytes(const struct iommufd_async_sqe *s)
{
	switch (s->op) {
	case OP_MAP:
	case OP_COPY:
	case OP_DMA_ALLOC:
		return s->length;
	case OP_UNMAP:
	case OP_UNMAP_VADDR:
		/* The mapping's size when the tracker knew it at submit. */
		return s->nr_keys ? s->keys[0].last - s->keys[0].first + 1 : 0;
	case OP_DMA_FREE:
		return s->buf ? s->buf->mapped : 0;
	default:
		return 0;
	}
}

/* ioas_map()'s kernel step for a split map: the chunks on the pool's workers. */
static int map_split(struct ioas *ioas, void *vaddr, uint64_t length, uint64_t iova,
		     unsigned int access, void *arg)
{
	struct iommufd_async *a = arg;
	IOMMUFD_OPTS(iommufd_parallel_opts, opts, .threads = a->nr_workers,
		     .chunk = a->chunk_size, .lender = &a->lender);

	return iommufd_ioas_map_parallel(ioas_get_ctx(ioas), ioas_id(ioas), vaddr, length, iova,
					 access, &opts);
}

static int exec_map(struct iommufd_async *a, struct iommufd_async_sqe *s)
{
	uint64_t iova;
	int r;

	if (!s->iova_out)
		return iommufd_set_last_error(-EINVAL, "async map: the iova pointer is NULL");
	/* Only iommufd maps at a fixed IOVA in pieces; type1 and no-IOMMU do not split. */
	if (s->length >= a->split_threshold && a->nr_workers > 1 && ioas_get_ctx(s->ioas))
		r = ioas_map_with(s->ioas, s->vaddr, s->length, s->access, map_split, a, &iova);
	else
		r = ioas_map(s->ioas, s->vaddr, s->length, s->access, &iova);
	if (!r)
		*s->iova_out = iova;
	return r;
}

static int exec_copy(struct iommufd_async_sqe *s)
{
	uint64_t iova = s->iova;
	int r;

	if (!s->ctx)
		return iommufd_set_last_error(-EINVAL, "async copy: no iommufd context");
	if (!s->iova_out)
		return iommufd_set_last_error(-EINVAL, "async copy: the dst_iova pointer is NULL");
	r = iommufd_ioas_copy(s->ctx, s->dst_id, &iova, s->src_id, (uintptr_t)s->vaddr, s->length,
			      s->access);
	if (!r)
		*s->iova_out = iova;
	return r;
}

static int exec_dma_alloc(struct iommufd_async_sqe *s)
{
	struct ioas_dma_buf *buf;
	int r;

	if (!s->buf_out)
		return iommufd_set_last_error(-EINVAL, "async DMA alloc: the buf pointer is NULL");
	if (s->opts_err)
		return iommufd_set_last_error(s->opts_err, "async DMA alloc: ioas_dma_opts %s",
					      s->opts_err == -E2BIG ? "has unknown non-zero fields"
								    : "is smaller than any version");
	r = ioas_dma_alloc(s->ioas, s->length, &s->dma_opts, &buf);
	if (!r)
		*s->buf_out = buf;
	return r;
}

int req_execute(struct iommufd_async *a, struct iommufd_async_sqe *s)
{
	if (s->op == OP_NONE)
		return iommufd_set_last_error(-EINVAL, "request 0x%" PRIx64 " was submitted "
					      "without a prep call", s->user_data);
	if (!s->ioas && s->op != OP_COPY)
		return iommufd_set_last_error(-EINVAL, "request 0x%" PRIx64 ": the ioas is NULL",
					      s->user_data);
	switch (s->op) {
	case OP_MAP:
		return exec_map(a, s);
	case OP_UNMAP:
		return ioas_unmap(s->ioas, s->iova);
	case OP_UNMAP_VADDR:
		return ioas_unmap_vaddr(s->ioas, s->vaddr);
	case OP_COPY:
		return exec_copy(s);
	case OP_DMA_ALLOC:
		return exec_dma_alloc(s);
	case OP_DMA_FREE:
		if (!s->buf)
			return iommufd_set_last_error(-EINVAL, "async DMA free: the buffer is NULL");
		return ioas_dma_free(s->ioas, s->buf) ? -errno : 0;
	default:
		return -EINVAL;
	}
}
