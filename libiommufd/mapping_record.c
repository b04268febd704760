// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What this context has mapped, per IOAS, so that a map refused with EEXIST
 * can name the mapping it hit: the kernel has no query for its areas.
 *
 * Mappings of one IOAS never overlap, so they sit in a range index
 * (range_index.h): O(log n) to add, to find the lowest mapping a range hits,
 * and to drop each of the mappings an unmap took, walked in order.
 */
#include <stdlib.h>

#include "internal.h"
#include "range_index.h"

struct mapping {
	struct range_node node;		/* [iova, last] */
	uint64_t vaddr;
};

struct ioas_record {
	uint32_t ioas_id;
	struct range_index mappings;
};

static struct ioas_record *find_ioas(struct iommufd_ctx *ctx, uint32_t ioas_id, bool create)
{
	struct ioas_record *tmp;

	for (size_t i = 0; i < ctx->nr_records; i++)
		if (ctx->records[i].ioas_id == ioas_id)
			return &ctx->records[i];
	if (!create)
		return NULL;
	/* Moving a struct range_index is fine: no node points back at it. */
	tmp = realloc(ctx->records, (ctx->nr_records + 1) * sizeof(*tmp));
	if (!tmp)
		return NULL;
	ctx->records = tmp;
	tmp[ctx->nr_records] = (struct ioas_record){ .ioas_id = ioas_id,
						     .mappings = RANGE_INDEX_INIT };
	return &tmp[ctx->nr_records++];
}

static void free_mapping(struct range_node *n, void *data)
{
	(void)data;
	free(range_entry(n, struct mapping, node));
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

	if (ctx->no_record)
		return;
	m = malloc(sizeof(*m));
	if (!m)
		return;		/* the record only improves explanations */
	m->node.start = iova;
	m->node.last = iova + length - 1;
	m->vaddr = vaddr;
	pthread_mutex_lock(&ctx->lock);
	rec = find_ioas(ctx, ioas_id, true);
	if (!rec || range_index_insert(&rec->mappings, &m->node, NULL) < 0)
		free(m);	/* no memory, or made by someone else */
	pthread_mutex_unlock(&ctx->lock);
}

void iommufd_record_remove(struct iommufd_ctx *ctx, uint32_t ioas_id, uint64_t iova,
			   uint64_t last)
{
	struct range_node *n, *tmp;
	struct ioas_record *rec;

	if (ctx->no_record)
		return;
	pthread_mutex_lock(&ctx->lock);
	rec = find_ioas(ctx, ioas_id, false);
	/* The kernel removed every mapping overlapping the range, whole. */
	if (rec) {
		range_index_for_each_in(&rec->mappings, n, tmp, iova, last) {
			range_index_remove(&rec->mappings, n);
			free_mapping(n, NULL);
		}
	}
	pthread_mutex_unlock(&ctx->lock);
}

void iommufd_record_drop(struct iommufd_ctx *ctx, uint32_t ioas_id)
{
	struct ioas_record *rec;

	pthread_mutex_lock(&ctx->lock);
	rec = find_ioas(ctx, ioas_id, false);
	if (rec) {
		range_index_clear(&rec->mappings, free_mapping, NULL);
		*rec = ctx->records[--ctx->nr_records];
	}
	pthread_mutex_unlock(&ctx->lock);
}

void iommufd_record_free(struct iommufd_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_records; i++)
		range_index_clear(&ctx->records[i].mappings, free_mapping, NULL);
	free(ctx->records);
	ctx->records = NULL;
	ctx->nr_records = 0;
}

bool iommufd_record_find(struct iommufd_ctx *ctx, uint32_t ioas_id, uint64_t iova,
			 uint64_t last, uint64_t *found_iova, uint64_t *found_last,
			 uint64_t *found_vaddr)
{
	struct range_node *n = NULL;
	struct ioas_record *rec;

	pthread_mutex_lock(&ctx->lock);
	rec = find_ioas(ctx, ioas_id, false);
	if (rec)
		n = range_index_first(&rec->mappings, iova, last);
	if (n) {
		*found_iova = n->start;
		*found_last = n->last;
		*found_vaddr = range_entry(n, struct mapping, node)->vaddr;
	}
	pthread_mutex_unlock(&ctx->lock);
	return n != NULL;
}
