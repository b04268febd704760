// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What this context has mapped, per IOAS, so that a map refused with EEXIST
 * can name the mapping it hit: the kernel has no query for its areas.
 *
 * Mappings of one IOAS never overlap, so they sit in a range index
 * (range_index.h): O(log n) to add, to find the lowest mapping a range hits,
 * and to drop each of the mappings an unmap took, walked in order.
 *
 * Each mapping is recorded once. An owner (struct ioas, whose tracker knows
 * its mappings anyway) records what it maps before it maps it; a map that
 * lies inside a mapping an owner of the IOAS holds is that owner's and is not
 * recorded here again, and a search asks the owners too.
 */
#include <stdlib.h>

#include "internal.h"
#include "range_index.h"

struct iommufd_record_entry {
	struct range_node node;		/* [iova, last] */
	uint64_t vaddr;
};

struct ioas_record {
	uint32_t ioas_id;
	struct range_index mappings;	/* those no owner holds */
	struct iommufd_record_owner *owners;
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
						     .mappings = RANGE_INDEX_INIT, .owners = NULL };
	return &tmp[ctx->nr_records++];
}

/* With ctx->lock held: drop @rec if nothing is left in it. */
static void put_ioas(struct iommufd_ctx *ctx, struct ioas_record *rec)
{
	if (!rec->owners && !range_index_count(&rec->mappings))
		*rec = ctx->records[--ctx->nr_records];
}

static void free_mapping(struct range_node *n, void *data)
{
	(void)data;
	free(range_entry(n, struct iommufd_record_entry, node));
}

void iommufd_ctx_disable_record(struct iommufd_ctx *ctx)
{
	ctx->no_record = true;
}

int iommufd_record_add_owner(struct iommufd_ctx *ctx, uint32_t ioas_id,
			     struct iommufd_record_owner *owner)
{
	struct ioas_record *rec;

	pthread_mutex_lock(&ctx->lock);
	rec = find_ioas(ctx, ioas_id, true);
	if (rec) {
		owner->next = rec->owners;
		rec->owners = owner;
	}
	pthread_mutex_unlock(&ctx->lock);
	return rec ? 0 : -ENOMEM;
}

void iommufd_record_remove_owner(struct iommufd_ctx *ctx, uint32_t ioas_id,
				 struct iommufd_record_owner *owner)
{
	struct iommufd_record_owner **pp;
	struct ioas_record *rec;

	pthread_mutex_lock(&ctx->lock);
	rec = find_ioas(ctx, ioas_id, false);
	for (pp = rec ? &rec->owners : NULL; pp && *pp; pp = &(*pp)->next) {
		if (*pp == owner) {
			*pp = owner->next;
			break;
		}
	}
	if (rec)
		put_ioas(ctx, rec);
	pthread_mutex_unlock(&ctx->lock);
}

/* With ctx->lock held: the lowest mapping any owner of @rec holds in [iova, last]. */
static bool owners_find(struct ioas_record *rec, uint64_t iova, uint64_t last,
			struct iommufd_record_hit *hit)
{
	struct iommufd_record_hit h;
	bool found = false;

	for (struct iommufd_record_owner *o = rec->owners; o; o = o->next) {
		if (o->find(o, iova, last, &h) && (!found || h.iova < hit->iova)) {
			*hit = h;
			found = true;
		}
	}
	return found;
}

int iommufd_record_prepare(struct iommufd_ctx *ctx, uint32_t ioas_id,
			   struct iommufd_record_entry **entry)
{
	struct iommufd_record_entry *m;
	bool ok;

	*entry = NULL;
	if (ctx->no_record)
		return 0;
	m = malloc(sizeof(*m));
	if (!m)
		return -ENOMEM;
	pthread_mutex_lock(&ctx->lock);
	ok = find_ioas(ctx, ioas_id, true);
	pthread_mutex_unlock(&ctx->lock);
	if (!ok) {
		free(m);
		return -ENOMEM;
	}
	*entry = m;
	return 0;
}

void iommufd_record_cancel(struct iommufd_ctx *ctx, uint32_t ioas_id,
			   struct iommufd_record_entry *entry)
{
	struct ioas_record *rec;

	if (!entry)
		return;
	free(entry);
	pthread_mutex_lock(&ctx->lock);
	rec = find_ioas(ctx, ioas_id, false);
	if (rec)
		put_ioas(ctx, rec);
	pthread_mutex_unlock(&ctx->lock);
}

void iommufd_record_add(struct iommufd_ctx *ctx, uint32_t ioas_id,
			struct iommufd_record_entry *entry, uint64_t iova, uint64_t length,
			uint64_t vaddr)
{
	struct iommufd_record_entry *m = entry;
	struct iommufd_record_hit hit;
	struct ioas_record *rec;

	if (!m)
		return;
	m->node.start = iova;
	m->node.last = iova + length - 1;
	m->vaddr = vaddr;
	pthread_mutex_lock(&ctx->lock);
	/* Prepared, so there unless a failed map on another thread dropped it. */
	rec = find_ioas(ctx, ioas_id, true);
	/* An owner that holds all of it recorded it before mapping it. */
	if (rec && owners_find(rec, iova, m->node.last, &hit) && hit.iova <= iova &&
	    hit.last >= m->node.last)
		rec = NULL;
	if (!rec || range_index_insert(&rec->mappings, &m->node, NULL) < 0)
		free(m);	/* an owner's, made by someone else, or no memory */
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
		/* Owners stay until they go: they know when their IOAS does. */
		if (!rec->owners)
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
	struct iommufd_record_hit hit = { 0 };
	struct range_node *n = NULL;
	struct ioas_record *rec;
	bool found = false;

	pthread_mutex_lock(&ctx->lock);
	rec = find_ioas(ctx, ioas_id, false);
	if (rec) {
		found = owners_find(rec, iova, last, &hit);
		n = range_index_first(&rec->mappings, iova, last);
	}
	/* The lowest of the two: the same answer for the same mappings, whoever holds them. */
	if (n && (!found || n->start < hit.iova)) {
		hit.iova = n->start;
		hit.last = n->last;
		hit.vaddr = range_entry(n, struct iommufd_record_entry, node)->vaddr;
		found = true;
	}
	pthread_mutex_unlock(&ctx->lock);
	if (found) {
		*found_iova = hit.iova;
		*found_last = hit.last;
		*found_vaddr = hit.vaddr;
	}
	return found;
}
