/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internal to the project, never installed: an index of disjoint ranges, for
 * every module that has to answer "which mapping holds this address" or
 * "which mappings does this range hit, in order".
 *
 * Why it exists: the core's mapping record (libiommufd/mapping_record.c), the
 * IOAS tracker (ioas/tracker.c) and the shim's container (compat/container.c)
 * each kept their ranges in a tsearch() tree with "overlaps compares equal".
 * That finds some overlapping range in O(log n) but gives no order: finding
 * the lowest one takes repeated searches, and there is no successor, so a
 * range unmap over 262 144 small mappings cost O(n log^2 n). Here the lowest
 * overlap is one descent and the next range is O(1) amortised, so the same
 * unmap is O(n + log n) walking and O(n log n) removing.
 *
 * Bounds are inclusive: [start, last]. A range reaching 2^64 - 1 has no size
 * that fits in 64 bits, so no caller has to special-case the top of the space.
 *
 * The index is intrusive and never allocates: callers embed a struct
 * range_node in their own object, so the only -ENOMEM is theirs, met before
 * they touch the index, and removal cannot fail. It takes no lock; callers
 * hold their own. Ranges in one index never overlap (insert refuses), so
 * ordering by start is total. It is an AVL tree with parent pointers:
 * O(log n) insert, remove, find and first, O(1) amortised next and prev.
 *
 * A container holding its DMA mappings, and its unmap of [start, last]; the
 * walk has the next node in hand before the body frees the current one:
 *
 *	struct dma {
 *		uint64_t vaddr;
 *		struct range_node node;
 *	};
 *
 *	d->node.start = iova;
 *	d->node.last = iova + size - 1;
 *	r = range_index_insert(&c->dmas, &d->node, &hit);
 *	...
 *	range_index_for_each_in(&c->dmas, n, tmp, start, last) {
 *		struct dma *d = range_entry(n, struct dma, node);
 *
 *		range_index_remove(&c->dmas, n);
 *		free(d);
 *	}
 */
#ifndef LIBIOMMUFD_RANGE_INDEX_H
#define LIBIOMMUFD_RANGE_INDEX_H

#include <stddef.h>
#include <stdint.h>

struct range_node {
	uint64_t start;			/* first address, set by the caller before insert */
	uint64_t last;			/* last address (inclusive), >= start */
	struct range_node *left, *right, *parent;
	int height;			/* of the subtree: 1 for a leaf */
};

struct range_index {
	struct range_node *root;
	size_t count;
};

#define RANGE_INDEX_INIT { NULL, 0 }

/* The object that embeds @ptr, a struct range_node in its member @member. */
#define range_entry(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

static inline void range_index_init(struct range_index *ix)
{
	ix->root = NULL;
	ix->count = 0;
}

static inline size_t range_index_count(const struct range_index *ix)
{
	return ix->count;
}

/*
 * Insert @n, whose start and last the caller has set (start <= last). 0, or
 * -EEXIST when @n overlaps a range already in @ix: the index is unchanged and,
 * when @hit is not NULL, *@hit is the lowest range @n overlaps.
 */
int range_index_insert(struct range_index *ix, struct range_node *n, struct range_node **hit);

/* Take @n, which is in @ix, out of it. Its start and last are kept. */
void range_index_remove(struct range_index *ix, struct range_node *n);

/* The range containing @addr, or NULL. */
struct range_node *range_index_find(const struct range_index *ix, uint64_t addr);

/* The lowest range overlapping [@start, @last], or NULL. */
struct range_node *range_index_first(const struct range_index *ix, uint64_t start, uint64_t last);

/* The lowest and highest range, or NULL when @ix is empty. */
struct range_node *range_index_min(const struct range_index *ix);
struct range_node *range_index_max(const struct range_index *ix);

/* The range after / before @n (which is in an index), or NULL. */
struct range_node *range_index_next(const struct range_node *n);
struct range_node *range_index_prev(const struct range_node *n);

/*
 * Empty @ix, calling @fn (if not NULL) once on each node with @data, children
 * before their parent and in O(n) in all, so @fn may free the node.
 */
void range_index_clear(struct range_index *ix, void (*fn)(struct range_node *n, void *data),
		       void *data);

/*
 * Every range overlapping [@lo, @hi], lowest first. @tmp holds the next range
 * before the body runs, so the body may remove (and free) @n; it must not
 * remove @tmp. @hi is evaluated on each step.
 */
#define range_index_for_each_in(ix, n, tmp, lo, hi)                                       \
	for ((n) = range_index_first((ix), (lo), (hi));                                    \
	     (n) && (n)->start <= (hi) && ((tmp) = range_index_next(n), 1); (n) = (tmp))

/* Every range in @ix, lowest first; the body may remove @n, as above. */
#define range_index_for_each(ix, n, tmp)                                                  \
	for ((n) = range_index_min(ix); (n) && ((tmp) = range_index_next(n), 1); (n) = (tmp))

#endif /* LIBIOMMUFD_RANGE_INDEX_H */
