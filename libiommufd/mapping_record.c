// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What this context has mapped, per IOAS, so that a map refused with EEXIST
 * can name the mapping it hit: the kernel has no query for its areas.
 *
 * Mappings of one IOAS never overlap, so ordering intervals by start and
 * calling two of them equal when they overlap is a total order on what is
 * stored, and a search with any range finds a mapping overlapping it. libc's
 * tsearch() (a red-black tree in glibc) gives O(log n) for all of it.
 */
#include <search.h>
#include <stdlib.h>

#include "internal.h"

struct mapping {
	uint64_t iova;
	uint64_t last;
	uint64_t vaddr;
};

struct ioas_record {
	uint32_t ioas_id;
	void *root;
	size_t count;
};

static int cmp_overlap(const void *a, const void *b)
{
	const struct mapping *x = a, *y = b;

	if (x->last < y->iova)
		return -1;
	if (x->iova > y->last)
		return 1;
	return 0;
}

static struct ioas_record *find_ioas(struct iommufd_ctx *ctx, uint32_t ioas_id, bool create)
{
	struct ioas_record *tmp;

	for (size_t i = 0; i < ctx->nr_records; i++)
		if (ctx->records[i].ioas_id == ioas_id)
			return &ctx->records[i];
	if (!create)
		return NULL;
	tmp = realloc(ctx->records, (ctx->nr_records + 1) * sizeof(*tmp));
	if (!tmp)
		return NULL;
	ctx->records = tmp;
	tmp[ctx->nr_records] = (struct ioas_record){ .ioas_id = ioas_id };
	return &tmp[ctx->nr_records++];
}

void iommufd_ctx_disable_record(struct iommufd_ctx *ctx)
{
	ctx->no_record = true;
}

void iommufd_record_add(struct iommufd_ctx *ctx, uint32_t ioas_id, uint64_t iova,
			uint64_t length, uint64_t vaddr)
{
	struct ioas_record *rec;
	struct mapping *m;
	void *node;

	if (ctx->no_record)
		return;
	m = malloc(sizeof(*m));
	if (!m)
		return;		/* the record only improves explanations */
	*m = (struct mapping){ iova, iova + length - 1, vaddr };
	pthread_mutex_lock(&ctx->lock);
	rec = find_ioas(ctx, ioas_id, true);
	node = rec ? tsearch(m, &rec->root, cmp_overlap) : NULL;
	if (node && *(struct mapping **)node == m)
		rec->count++;
	else
		free(m);	/* no memory, or made by someone else */
	pthread_mutex_unlock(&ctx->lock);
}

void iommufd_record_remove(struct iommufd_ctx *ctx, uint32_t ioas_id, uint64_t iova,
			   uint64_t last)
{
	struct mapping key = { iova, last, 0 }, *m;
	struct ioas_record *rec;
	void *node;

	if (ctx->no_record)
		return;
	pthread_mutex_lock(&ctx->lock);
	rec = find_ioas(ctx, ioas_id, false);
	/* The kernel removed every mapping overlapping the range, whole. */
	while (rec && (node = tfind(&key, &rec->root, cmp_overlap))) {
		m = *(struct mapping **)node;
		tdelete(m, &rec->root, cmp_overlap);
		free(m);
		rec->count--;
	}
	pthread_mutex_unlock(&ctx->lock);
}

void iommufd_record_drop(struct iommufd_ctx *ctx, uint32_t ioas_id)
{
	struct ioas_record *rec;

	pthread_mutex_lock(&ctx->lock);
	rec = find_ioas(ctx, ioas_id, false);
	if (rec) {
		tdestroy(rec->root, free);
		*rec = ctx->records[--ctx->nr_records];
	}
	pthread_mutex_unlock(&ctx->lock);
}

void iommufd_record_free(struct iommufd_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_records; i++)
		tdestroy(ctx->records[i].root, free);
	free(ctx->records);
	ctx->records = NULL;
	ctx->nr_records = 0;
}

bool iommufd_record_find(struct iommufd_ctx *ctx, uint32_t ioas_id, uint64_t iova,
			 uint64_t last, uint64_t *found_iova, uint64_t *found_last,
			 uint64_t *found_vaddr)
{
	struct mapping key = { iova, last, 0 }, *m;
	struct ioas_record *rec;
	bool found = false;
	void *node;

	pthread_mutex_lock(&ctx->lock);
	rec = find_ioas(ctx, ioas_id, false);
	node = rec ? tfind(&key, &rec->root, cmp_overlap) : NULL;
	if (node) {
		m = *(struct mapping **)node;
		*found_iova = m->iova;
		*found_last = m->last;
		*found_vaddr = m->vaddr;
		found = true;
	}
	pthread_mutex_unlock(&ctx->lock);
	return found;
}
