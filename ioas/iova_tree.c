// SPDX-License-Identifier: LGPL-2.1-or-later
/* The augmented AVL tree behind the IOVA allocator (see iova_tree.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iova_tree.h"

#define CHUNK_SHIFT IOVA_CHUNK_SHIFT
#define CHUNK_NODES (1u << CHUNK_SHIFT)

#define N(i) iova_node(t, i)

int iova_tree_init(struct iova_tree *t)
{
	memset(t, 0, sizeof(*t));
	t->next_unused = 1;	/* index 0 is IOVA_NIL */
	return 0;
}

void iova_tree_destroy(struct iova_tree *t)
{
	for (uint32_t i = 0; i < t->nr_chunks; i++)
		free(t->chunks[i]);
	free(t->chunks);
	memset(t, 0, sizeof(*t));
}

size_t iova_tree_memory(const struct iova_tree *t)
{
	return (size_t)t->nr_chunks * (CHUNK_NODES * sizeof(struct iova_node) + sizeof(void *));
}

static uint32_t node_alloc(struct iova_tree *t)
{
	struct iova_node **chunks;
	uint32_t i;

	if (t->free_list) {
		i = t->free_list;
		t->free_list = N(i)->left;
		return i;
	}
	if ((t->next_unused >> CHUNK_SHIFT) >= t->nr_chunks) {
		if (t->nr_chunks == UINT32_MAX >> CHUNK_SHIFT)
			return IOVA_NIL;
		chunks = realloc(t->chunks, (t->nr_chunks + 1) * sizeof(*chunks));
		if (!chunks)
			return IOVA_NIL;
		t->chunks = chunks;
		chunks[t->nr_chunks] = malloc(CHUNK_NODES * sizeof(struct iova_node));
		if (!chunks[t->nr_chunks])
			return IOVA_NIL;
		t->nr_chunks++;
	}
	return t->next_unused++;
}

static void node_free(struct iova_tree *t, uint32_t i)
{
	N(i)->left = t->free_list;
	t->free_list = i;
}

static int height(const struct iova_tree *t, uint32_t i)
{
	return i ? N(i)->height : 0;
}

static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Recompute a node's height and augmentation from its children. */
static void update(struct iova_tree *t, uint32_t i)
{
	struct iova_node *x = N(i), *l = x->left ? N(x->left) : NULL;
	struct iova_node *r = x->right ? N(x->right) : NULL;
	uint64_t gap = 0;

	x->height = 1 + (height(t, x->left) > height(t, x->right) ? height(t, x->left) :
								     height(t, x->right));
	x->sub_lo = l ? l->sub_lo : x->lo;
	x->sub_hi = r ? r->sub_hi : x->hi;
	if (l)
		gap = max64(l->max_gap, x->lo - l->sub_hi - 1);
	if (r)
		gap = max64(gap, max64(r->max_gap, r->sub_lo - x->hi - 1));
	x->max_gap = gap;
}

static uint32_t rotate_right(struct iova_tree *t, uint32_t i)
{
	uint32_t l = N(i)->left;

	N(i)->left = N(l)->right;
	N(l)->right = i;
	update(t, i);
	update(t, l);
	return l;
}

static uint32_t rotate_left(struct iova_tree *t, uint32_t i)
{
	uint32_t r = N(i)->right;

	N(i)->right = N(r)->left;
	N(r)->left = i;
	update(t, i);
	update(t, r);
	return r;
}

static uint32_t rebalance(struct iova_tree *t, uint32_t i)
{
	int bal;

	update(t, i);
	bal = height(t, N(i)->left) - height(t, N(i)->right);
	if (bal > 1) {
		if (height(t, N(N(i)->left)->left) < height(t, N(N(i)->left)->right))
			N(i)->left = rotate_left(t, N(i)->left);
		return rotate_right(t, i);
	}
	if (bal < -1) {
		if (height(t, N(N(i)->right)->right) < height(t, N(N(i)->right)->left))
			N(i)->right = rotate_right(t, N(i)->right);
		return rotate_left(t, i);
	}
	return i;
}

static uint32_t insert_at(struct iova_tree *t, uint32_t i, uint32_t n)
{
	if (!i)
		return n;
	if (N(n)->lo < N(i)->lo)
		N(i)->left = insert_at(t, N(i)->left, n);
	else
		N(i)->right = insert_at(t, N(i)->right, n);
	return rebalance(t, i);
}

struct iova_node *iova_tree_floor(const struct iova_tree *t, uint64_t pfn)
{
	struct iova_node *best = NULL;
	uint32_t i = t->root;

	while (i) {
		struct iova_node *x = N(i);

		if (x->lo <= pfn) {
			best = x;
			i = x->right;
		} else {
			i = x->left;
		}
	}
	return best;
}

const struct iova_node *iova_tree_find(const struct iova_tree *t, uint64_t pfn)
{
	const struct iova_node *x = iova_tree_floor(t, pfn);

	return x && x->hi >= pfn ? x : NULL;
}

int iova_tree_insert(struct iova_tree *t, uint64_t lo, uint64_t hi, uint8_t flags)
{
	const struct iova_node *f;
	uint32_t n;

	if (lo > hi)
		return -EINVAL;
	/* Ranges are disjoint, so only the last one starting at or below hi can overlap. */
	f = iova_tree_floor(t, hi);
	if (f && f->hi >= lo)
		return -EEXIST;
	n = node_alloc(t);
	if (!n)
		return -ENOMEM;
	*N(n) = (struct iova_node){ .lo = lo, .hi = hi, .flags = flags };
	update(t, n);
	t->root = insert_at(t, t->root, n);
	t->live++;
	return 0;
}

/* Detach the leftmost node of subtree i into *min. */
static uint32_t remove_min(struct iova_tree *t, uint32_t i, uint32_t *min)
{
	if (!N(i)->left) {
		*min = i;
		return N(i)->right;
	}
	N(i)->left = remove_min(t, N(i)->left, min);
	return rebalance(t, i);
}

static uint32_t remove_at(struct iova_tree *t, uint32_t i, uint64_t lo, uint32_t *gone)
{
	uint32_t l, r, m;

	if (!i)
		return IOVA_NIL;
	if (lo < N(i)->lo) {
		N(i)->left = remove_at(t, N(i)->left, lo, gone);
	} else if (lo > N(i)->lo) {
		N(i)->right = remove_at(t, N(i)->right, lo, gone);
	} else {
		*gone = i;
		l = N(i)->left;
		r = N(i)->right;
		if (!r)
			return l;
		r = remove_min(t, r, &m);
		N(m)->left = l;
		N(m)->right = r;
		return rebalance(t, m);
	}
	return rebalance(t, i);
}

int iova_tree_remove(struct iova_tree *t, uint64_t lo, uint64_t *hi, uint8_t *flags)
{
	uint32_t gone = IOVA_NIL;

	t->root = remove_at(t, t->root, lo, &gone);
	if (!gone)
		return -ENOENT;
	if (hi)
		*hi = N(gone)->hi;
	if (flags)
		*flags = N(gone)->flags;
	node_free(t, gone);
	t->live--;
	return 0;
}

struct gap_query {
	uint64_t size, limit, mask;
	unsigned int misses;	/* gaps long enough but misaligned, looked at so far */
};

/* The highest aligned fit inside the free gap [gs, ge], clipped to the limit. */
static bool fit(struct gap_query *q, uint64_t gs, uint64_t ge, uint64_t *lo)
{
	uint64_t a;

	if (ge > q->limit)
		ge = q->limit;
	if (ge < gs || ge - gs + 1 < q->size)
		return false;
	a = (ge - q->size + 1) & q->mask;
	if (a < gs) {
		q->misses++;
		return false;
	}
	*lo = a;
	return true;
}

/* Gaps inside subtree i, highest first; gives up after IOVA_MAX_MISSES misses. */
static bool search(const struct iova_tree *t, uint32_t i, struct gap_query *q, uint64_t *lo)
{
	const struct iova_node *x, *l, *r;

	if (!i || q->misses > IOVA_MAX_MISSES)
		return false;
	x = N(i);
	/* Nothing fits inside, or every gap inside starts above the limit. */
	if (x->max_gap < q->size || x->sub_lo >= q->limit)
		return false;
	l = x->left ? N(x->left) : NULL;
	r = x->right ? N(x->right) : NULL;
	if (r && x->hi < q->limit) {
		if (search(t, x->right, q, lo))
			return true;
		if (fit(q, x->hi + 1, r->sub_lo - 1, lo))
			return true;
	}
	if (l) {
		if (fit(q, l->sub_hi + 1, x->lo - 1, lo))
			return true;
		return search(t, x->left, q, lo);
	}
	return false;
}

int iova_tree_find_gap(const struct iova_tree *t, uint64_t size, uint64_t limit, uint64_t mask,
		       uint64_t *lo)
{
	struct gap_query q = { size, limit, mask, 0 };
	uint64_t slack = ~mask, window;

	if (!size)
		return -EINVAL;
	if (search(t, t->root, &q, lo))
		return 0;
	if (q.misses <= IOVA_MAX_MISSES || size + slack < size)
		return -ENOSPC;
	/*
	 * Too many misaligned gaps: take the highest gap that holds size +
	 * alignment - 1, where an aligned fit is certain. One more O(log n)
	 * search bounds the worst case; the result is still aligned, below
	 * the limit, and the highest fit in that gap.
	 */
	q = (struct gap_query){ size + slack, limit, UINT64_MAX, 0 };
	if (!search(t, t->root, &q, &window))
		return -ENOSPC;
	*lo = (window + slack) & mask;
	return 0;
}

/* The largest gap (clipped to the limit) in subtree i, for explanations: O(n). */
static void largest(const struct iova_tree *t, uint32_t i, uint64_t limit, uint64_t *best,
		    uint64_t *at)
{
	const struct iova_node *x, *l, *r;
	uint64_t gs, ge;

	if (!i)
		return;
	x = N(i);
	l = x->left ? N(x->left) : NULL;
	r = x->right ? N(x->right) : NULL;
	if (l) {
		gs = l->sub_hi + 1;
		ge = x->lo - 1 < limit ? x->lo - 1 : limit;
		if (ge >= gs && ge - gs + 1 > *best) {
			*best = ge - gs + 1;
			*at = gs;
		}
		largest(t, x->left, limit, best, at);
	}
	if (r && x->hi < limit) {
		gs = x->hi + 1;
		ge = r->sub_lo - 1 < limit ? r->sub_lo - 1 : limit;
		if (ge >= gs && ge - gs + 1 > *best) {
			*best = ge - gs + 1;
			*at = gs;
		}
		largest(t, x->right, limit, best, at);
	}
}

uint64_t iova_tree_largest_gap(const struct iova_tree *t, uint64_t limit, uint64_t *at)
{
	uint64_t best = 0;

	*at = 0;
	largest(t, t->root, limit, &best, at);
	return best;
}
