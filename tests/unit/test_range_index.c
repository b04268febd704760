// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The range index: each call at its edges (empty index, ranges touching 0 and
 * 2^64 - 1, adjacent ranges, refused overlaps), then long random runs checked
 * against a sorted array after every batch, with the tree's own invariants
 * (order, parent links, heights, AVL balance) checked as they go.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../libiommufd/range_index.h"

/* The node sits after another field, so range_entry() has an offset to undo. */
struct item {
	uint64_t tag;
	struct range_node node;
	bool live;
};

static struct range_node *set(struct item *it, uint64_t start, uint64_t last)
{
	it->node.start = start;
	it->node.last = last;
	return &it->node;
}

static void insert_ok(struct range_index *ix, struct item *it, uint64_t start, uint64_t last)
{
	assert_int_equal(range_index_insert(ix, set(it, start, last), NULL), 0);
}

/* Height of the subtree at @n after checking its links, order and balance; *@nodes counts. */
static int check_subtree(const struct range_node *n, const struct range_node *parent,
			 uint64_t lo, uint64_t hi, size_t *nodes)
{
	int l, r;

	if (!n)
		return 0;
	assert_ptr_equal(n->parent, parent);
	assert_true(n->start <= n->last);
	/* Every range of the subtree lies inside [lo, hi], the gap its ancestors leave. */
	assert_true(n->start >= lo && n->last <= hi);
	l = n->start > lo ? check_subtree(n->left, n, lo, n->start - 1, nodes)
			  : (assert_null(n->left), 0);
	r = n->last < hi ? check_subtree(n->right, n, n->last + 1, hi, nodes)
			 : (assert_null(n->right), 0);
	assert_int_equal(n->height, 1 + (l > r ? l : r));
	assert_true(l - r <= 1 && r - l <= 1);
	(*nodes)++;
	return n->height;
}

/* The whole tree's invariants; its height. */
static int check_tree(const struct range_index *ix)
{
	size_t nodes = 0;
	int h = check_subtree(ix->root, NULL, 0, UINT64_MAX, &nodes);

	assert_int_equal(nodes, ix->count);
	assert_int_equal(range_index_count(ix), ix->count);
	return h;
}

/* The ranges in order, forwards and backwards, must be exactly @want. */
static void check_order(const struct range_index *ix, struct range_node *const *want, size_t n)
{
	struct range_node *it, *tmp;
	size_t i = 0;

	assert_int_equal(range_index_count(ix), n);
	range_index_for_each(ix, it, tmp) {
		assert_true(i < n);
		assert_ptr_equal(it, want[i]);
		i++;
	}
	assert_int_equal(i, n);
	for (it = range_index_max(ix); it; it = range_index_prev(it)) {
		assert_true(i > 0);
		assert_ptr_equal(it, want[--i]);
	}
	assert_int_equal(i, 0);
	assert_ptr_equal(range_index_min(ix), n ? want[0] : NULL);
	assert_ptr_equal(range_index_max(ix), n ? want[n - 1] : NULL);
}

static void count_calls(struct range_node *n, void *data)
{
	(*(size_t *)data)++;
}

static void empty_index(void **state)
{
	struct range_index ix = RANGE_INDEX_INIT, ix2;
	struct range_node *n, *tmp;
	size_t calls = 0;

	memset(&ix2, 0xa5, sizeof(ix2));
	range_index_init(&ix2);
	assert_memory_equal(&ix, &ix2, sizeof(ix));
	assert_int_equal(range_index_count(&ix), 0);
	assert_null(range_index_find(&ix, 0));
	assert_null(range_index_find(&ix, UINT64_MAX));
	assert_null(range_index_first(&ix, 0, UINT64_MAX));
	assert_null(range_index_min(&ix));
	assert_null(range_index_max(&ix));
	range_index_for_each_in(&ix, n, tmp, 0, UINT64_MAX)
		fail();
	range_index_for_each(&ix, n, tmp)
		fail();
	range_index_clear(&ix, count_calls, &calls);
	assert_int_equal(calls, 0);
	assert_int_equal(check_tree(&ix), 0);
}

static void single_range(void **state)
{
	struct range_index ix = RANGE_INDEX_INIT;
	struct item a = { .tag = 42 };
	struct range_node *hit = NULL;

	insert_ok(&ix, &a, 0x1000, 0x1fff);
	assert_int_equal(check_tree(&ix), 1);
	assert_null(range_index_find(&ix, 0xfff));
	assert_ptr_equal(range_index_find(&ix, 0x1000), &a.node);
	assert_ptr_equal(range_index_find(&ix, 0x1800), &a.node);
	assert_ptr_equal(range_index_find(&ix, 0x1fff), &a.node);
	assert_null(range_index_find(&ix, 0x2000));
	assert_int_equal(range_entry(range_index_find(&ix, 0x1000), struct item, node)->tag, 42);
	assert_null(range_index_next(&a.node));
	assert_null(range_index_prev(&a.node));
	assert_ptr_equal(range_index_min(&ix), &a.node);
	assert_ptr_equal(range_index_max(&ix), &a.node);
	/* Inserting the same node again, or an equal range, is an overlap. */
	assert_int_equal(range_index_insert(&ix, &a.node, &hit), -EEXIST);
	assert_ptr_equal(hit, &a.node);
	range_index_remove(&ix, &a.node);
	assert_int_equal(range_index_count(&ix), 0);
	assert_null(ix.root);
	assert_null(range_index_find(&ix, 0x1000));
	/* A removed node keeps its range and can go back in. */
	assert_int_equal(a.node.start, 0x1000);
	assert_int_equal(range_index_insert(&ix, &a.node, NULL), 0);
	assert_int_equal(check_tree(&ix), 1);
}

static void edges_of_the_space(void **state)
{
	struct range_index ix = RANGE_INDEX_INIT;
	struct item lo, mid, hi, all, x;
	struct range_node *want[3] = { &lo.node, &mid.node, &hi.node }, *hit;

	insert_ok(&ix, &hi, UINT64_MAX, UINT64_MAX);
	insert_ok(&ix, &lo, 0, 0);
	insert_ok(&ix, &mid, 1, UINT64_MAX - 1);
	check_tree(&ix);
	check_order(&ix, want, 3);
	assert_ptr_equal(range_index_find(&ix, 0), &lo.node);
	assert_ptr_equal(range_index_find(&ix, 1), &mid.node);
	assert_ptr_equal(range_index_find(&ix, UINT64_MAX - 1), &mid.node);
	assert_ptr_equal(range_index_find(&ix, UINT64_MAX), &hi.node);
	assert_ptr_equal(range_index_first(&ix, 0, 0), &lo.node);
	assert_ptr_equal(range_index_first(&ix, 0, UINT64_MAX), &lo.node);
	assert_ptr_equal(range_index_first(&ix, UINT64_MAX, UINT64_MAX), &hi.node);
	assert_ptr_equal(range_index_first(&ix, 2, UINT64_MAX), &mid.node);
	assert_int_equal(range_index_insert(&ix, set(&x, UINT64_MAX, UINT64_MAX), &hit), -EEXIST);
	assert_ptr_equal(hit, &hi.node);
	assert_int_equal(range_index_insert(&ix, set(&x, 0, UINT64_MAX), &hit), -EEXIST);
	assert_ptr_equal(hit, &lo.node);
	range_index_remove(&ix, &mid.node);
	assert_null(range_index_first(&ix, 1, UINT64_MAX - 1));
	assert_ptr_equal(range_index_next(&lo.node), &hi.node);
	assert_ptr_equal(range_index_prev(&hi.node), &lo.node);
	range_index_clear(&ix, NULL, NULL);

	/* One range covering all of it: every address finds it, nothing else fits. */
	insert_ok(&ix, &all, 0, UINT64_MAX);
	assert_ptr_equal(range_index_find(&ix, 0), &all.node);
	assert_ptr_equal(range_index_find(&ix, UINT64_MAX), &all.node);
	assert_ptr_equal(range_index_first(&ix, UINT64_MAX, UINT64_MAX), &all.node);
	assert_int_equal(range_index_insert(&ix, set(&x, UINT64_MAX, UINT64_MAX), NULL), -EEXIST);
	assert_int_equal(range_index_insert(&ix, set(&x, 0, 0), NULL), -EEXIST);
	assert_int_equal(check_tree(&ix), 1);
}

static void adjacent_ranges(void **state)
{
	struct range_index ix = RANGE_INDEX_INIT;
	struct item a, b, c;
	struct range_node *want[3] = { &a.node, &b.node, &c.node };

	/* Touching is not overlapping: last + 1 == start is fine. */
	insert_ok(&ix, &b, 0x2000, 0x2fff);
	insert_ok(&ix, &a, 0x1000, 0x1fff);
	insert_ok(&ix, &c, 0x3000, 0x3000);
	check_tree(&ix);
	check_order(&ix, want, 3);
	assert_ptr_equal(range_index_find(&ix, 0x1fff), &a.node);
	assert_ptr_equal(range_index_find(&ix, 0x2000), &b.node);
	assert_ptr_equal(range_index_find(&ix, 0x2fff), &b.node);
	assert_ptr_equal(range_index_find(&ix, 0x3000), &c.node);
	assert_null(range_index_find(&ix, 0x3001));
	assert_null(range_index_find(&ix, 0xfff));
	assert_ptr_equal(range_index_first(&ix, 0x1fff, 0x2000), &a.node);
	assert_ptr_equal(range_index_first(&ix, 0x2000, 0x2000), &b.node);
	assert_ptr_equal(range_index_next(&a.node), &b.node);
	assert_ptr_equal(range_index_prev(&c.node), &b.node);
}

static void overlap_refused_unchanged(void **state)
{
	static const uint64_t tries[][3] = {
		/* start, last, index of the lowest range hit */
		{ 15, 35, 0 }, { 35, 55, 1 }, { 0, 100, 0 }, { 19, 19, 0 }, { 10, 19, 0 },
		{ 59, 70, 2 }, { 0, 10, 0 }, { 39, 39, 1 }, { 20, 30, 1 }, { 0, UINT64_MAX, 0 },
		{ 50, UINT64_MAX, 2 }, { 40, 50, 2 },
	};
	struct range_index ix = RANGE_INDEX_INIT, before;
	struct item it[3], saved[3], x;
	struct range_node *hit;

	memset(it, 0, sizeof(it));	/* padding too: the items are compared whole */
	insert_ok(&ix, &it[0], 10, 19);
	insert_ok(&ix, &it[1], 30, 39);
	insert_ok(&ix, &it[2], 50, 59);
	memcpy(saved, it, sizeof(it));
	before = ix;
	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		memset(&x, 0x5a, sizeof(x));
		set(&x, tries[i][0], tries[i][1]);
		hit = NULL;
		assert_int_equal(range_index_insert(&ix, &x.node, &hit), -EEXIST);
		assert_ptr_equal(hit, &it[tries[i][2]].node);
		assert_int_equal(range_index_insert(&ix, &x.node, NULL), -EEXIST);
		/* Not a field of the tree moved, and the refused node was not linked. */
		assert_memory_equal(&ix, &before, sizeof(ix));
		assert_memory_equal(it, saved, sizeof(it));
		assert_ptr_equal(x.node.parent, (void *)0x5a5a5a5a5a5a5a5aULL);
	}
	/* The gaps between them are still free. */
	insert_ok(&ix, &x, 20, 29);
	insert_ok(&ix, &saved[0], 40, 49);
	insert_ok(&ix, &saved[1], 60, UINT64_MAX);
	insert_ok(&ix, &saved[2], 0, 9);
	assert_int_equal(range_index_count(&ix), 7);
	check_tree(&ix);
}

static void first_queries(void **state)
{
	struct range_index ix = RANGE_INDEX_INIT;
	struct item a, b, c;

	insert_ok(&ix, &a, 10, 19);
	insert_ok(&ix, &b, 30, 39);
	insert_ok(&ix, &c, 50, 59);
	/* Starting inside a range finds that range. */
	assert_ptr_equal(range_index_first(&ix, 15, 15), &a.node);
	assert_ptr_equal(range_index_first(&ix, 15, 100), &a.node);
	assert_ptr_equal(range_index_first(&ix, 39, 50), &b.node);
	/* Starting in a gap: the next range if it starts by last, else nothing. */
	assert_null(range_index_first(&ix, 20, 29));
	assert_ptr_equal(range_index_first(&ix, 20, 30), &b.node);
	assert_ptr_equal(range_index_first(&ix, 25, UINT64_MAX), &b.node);
	assert_null(range_index_first(&ix, 0, 9));
	assert_ptr_equal(range_index_first(&ix, 0, 10), &a.node);
	assert_ptr_equal(range_index_first(&ix, 0, UINT64_MAX), &a.node);
	/* Past the end. */
	assert_null(range_index_first(&ix, 60, UINT64_MAX));
	assert_null(range_index_first(&ix, UINT64_MAX, UINT64_MAX));
	assert_ptr_equal(range_index_first(&ix, 59, UINT64_MAX), &c.node);
}

static void shuffle(size_t *v, size_t n, uint64_t *rng);

/*
 * Remove each node of trees of every size up to 40, built in three orders:
 * leaves, single children, successors near and far, the root.
 */
static void remove_every_position(void **state)
{
	struct item it[40];
	struct range_node *want[40];
	uint64_t rng = 7;
	size_t order[40];

	for (size_t n = 1; n <= 40; n++) {
		for (int how = 0; how < 3; how++) {
			for (size_t k = 0; k < n; k++) {
				struct range_index ix = RANGE_INDEX_INIT;
				size_t m = 0;

				for (size_t i = 0; i < n; i++)
					order[i] = how == 1 ? n - 1 - i : i;
				if (how == 2)
					shuffle(order, n, &rng);
				for (size_t i = 0; i < n; i++) {
					size_t j = order[i];

					insert_ok(&ix, &it[j], j * 10, j * 10 + 9);
				}
				check_tree(&ix);
				range_index_remove(&ix, &it[k].node);
				check_tree(&ix);
				for (size_t i = 0; i < n; i++)
					if (i != k)
						want[m++] = &it[i].node;
				check_order(&ix, want, m);
				assert_null(range_index_find(&ix, k * 10 + 5));
				assert_null(it[k].node.parent);
			}
		}
	}
}

static void for_each_in_removing(void **state)
{
	struct range_index ix = RANGE_INDEX_INIT;
	struct item it[100];
	struct range_node *n, *tmp, *want[100];
	size_t seen = 0, m = 0;

	for (size_t i = 0; i < 100; i++)
		insert_ok(&ix, &it[i], i * 0x1000, i * 0x1000 + 0xfff);
	/* [0x10800, 0x307ff] starts inside range 16 and ends inside range 48. */
	range_index_for_each_in(&ix, n, tmp, 0x10800, 0x307ff) {
		assert_ptr_equal(n, &it[16 + seen].node);
		range_index_remove(&ix, n);
		memset(n, 0xee, sizeof(*n));	/* as if freed */
		seen++;
	}
	assert_int_equal(seen, 33);
	check_tree(&ix);
	for (size_t i = 0; i < 100; i++)
		if (i < 16 || i > 48)
			want[m++] = &it[i].node;
	check_order(&ix, want, m);
	/* A walk over a gap only sees nothing. */
	range_index_for_each_in(&ix, n, tmp, 0x11000, 0x30fff)
		fail();
	/* Remove the rest with the whole-space walk. */
	seen = 0;
	range_index_for_each(&ix, n, tmp) {
		assert_ptr_equal(n, want[seen++]);
		range_index_remove(&ix, n);
	}
	assert_int_equal(seen, m);
	assert_int_equal(range_index_count(&ix), 0);
	assert_null(ix.root);
}

struct clear_state {
	size_t calls;
};

static void free_item(struct range_node *n, void *data)
{
	struct clear_state *cs = data;

	/* Children go first, and are cut off: nothing under @n is left to free. */
	assert_null(n->left);
	assert_null(n->right);
	cs->calls++;
	free(range_entry(n, struct item, node));
}

static void clear_frees_each_once(void **state)
{
	struct range_index ix = RANGE_INDEX_INIT;
	struct clear_state cs = { 0 };
	struct item *it;

	for (size_t i = 0; i < 5000; i++) {
		it = calloc(1, sizeof(*it));
		assert_non_null(it);
		insert_ok(&ix, it, i * 3, i * 3 + 1);
	}
	check_tree(&ix);
	range_index_clear(&ix, free_item, &cs);
	assert_int_equal(cs.calls, 5000);
	assert_int_equal(range_index_count(&ix), 0);
	assert_null(ix.root);
	/* Still usable. */
	it = calloc(1, sizeof(*it));
	assert_non_null(it);
	insert_ok(&ix, it, 0, UINT64_MAX);
	range_index_clear(&ix, free_item, &cs);
	assert_int_equal(cs.calls, 5001);
}

/* An AVL tree of n nodes is at most 1.4405 log2(n + 2) - 0.3277 high. */
static void assert_avl_height(const struct range_index *ix)
{
	int h = check_tree(ix);

	assert_true(h <= 1.4405 * log2(ix->count + 2.0) - 0.3277);
}

static void stays_balanced(void **state)
{
	enum { N = 1 << 16 };
	struct range_index ix = RANGE_INDEX_INIT;
	struct item *it = calloc(N, sizeof(*it));

	assert_non_null(it);
	/* Ascending, then descending insertion: the worst case of an unbalanced tree. */
	for (size_t i = 0; i < N; i++)
		insert_ok(&ix, &it[i], i << 12, (i << 12) + 0xfff);
	assert_avl_height(&ix);
	assert_int_equal(check_tree(&ix), 17);
	/* Removing every other one, then the lower half, keeps it balanced. */
	for (size_t i = 0; i < N; i += 2)
		range_index_remove(&ix, &it[i].node);
	assert_avl_height(&ix);
	for (size_t i = 1; i < N / 2; i += 2)
		range_index_remove(&ix, &it[i].node);
	assert_avl_height(&ix);
	range_index_clear(&ix, NULL, NULL);
	for (size_t i = N; i-- > 0;)
		insert_ok(&ix, &it[i], i << 12, (i << 12) + 0xfff);
	assert_avl_height(&ix);
	free(it);
}

/* Deterministic across libcs: splitmix64. */
static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void shuffle(size_t *v, size_t n, uint64_t *rng)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = rnd(rng) % i, t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
}

/* The reference: the live ranges in a sorted array, binary-searched. */
struct ref {
	struct range_node **r;
	size_t n;
};

/* The index of the first range not wholly below @start (ref->n if none). */
static size_t ref_lower(const struct ref *ref, uint64_t start)
{
	size_t lo = 0, hi = ref->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ref->r[mid]->last < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct range_node *ref_first(const struct ref *ref, uint64_t start, uint64_t last)
{
	size_t i = ref_lower(ref, start);

	return i < ref->n && ref->r[i]->start <= last ? ref->r[i] : NULL;
}

struct diff_params {
	uint64_t seed;
	size_t ops;
	uint64_t space;		/* addresses per window: one at 0, one ending at 2^64 - 1 */
	uint64_t max_len;
};

static uint64_t rnd_addr(const struct diff_params *p, uint64_t *rng)
{
	uint64_t off = rnd(rng) % p->space;

	return rnd(rng) & 1 ? off : UINT64_MAX - p->space + 1 + off;
}

static void rnd_range(const struct diff_params *p, uint64_t *rng, uint64_t *start, uint64_t *last)
{
	uint64_t len = 1 + rnd(rng) % p->max_len;

	*start = rnd_addr(p, rng);
	if (rnd(rng) % 1000 == 0)		/* rarely, one across the whole space */
		*last = rnd_addr(p, rng) | (1ULL << 63);
	else if (*start >= UINT64_MAX - len + 1)
		*last = UINT64_MAX;
	else
		*last = *start + len - 1;
	if (*last < *start)
		*last = *start;
}

/* Each live node exactly once: a second visit would find it unmarked. */
static void unmark(struct range_node *n, void *data)
{
	struct item *x = range_entry(n, struct item, node);

	assert_true(x->live);
	x->live = false;
	(*(size_t *)data)++;
}

static void random_differential(void **state)
{
	const struct diff_params *p = *state;
	size_t pool = 2 * p->space + 1, nfree = pool, *freelist, refused = 0, added = 0;
	size_t removed = 0, queries = 0, max_live = 0;
	struct range_index ix = RANGE_INDEX_INIT;
	struct ref ref = { 0 };
	uint64_t rng = p->seed;
	struct item *it;

	it = calloc(pool, sizeof(*it));
	freelist = calloc(pool, sizeof(*freelist));
	ref.r = calloc(pool, sizeof(*ref.r));
	assert_true(it && freelist && ref.r);
	for (size_t i = 0; i < pool; i++) {
		freelist[i] = i;
		it[i].tag = i;
	}

	for (size_t op = 1; op <= p->ops; op++) {
		/*
		 * Phases of 25 000 operations alternately fill the index until
		 * most inserts overlap, then drain it: deep trees and bulk removal.
		 */
		unsigned int grow = op / 25000 % 2 ? 15 : 60, what = rnd(&rng) % 100;
		uint64_t s, l;

		if (what < grow && nfree) {
			struct item *x = &it[freelist[nfree - 1]];
			struct range_node *hit = NULL, *want;
			int r;

			rnd_range(p, &rng, &s, &l);
			want = ref_first(&ref, s, l);
			r = range_index_insert(&ix, set(x, s, l), &hit);
			if (want) {
				assert_int_equal(r, -EEXIST);
				assert_ptr_equal(hit, want);
				refused++;
			} else {
				size_t i = ref_lower(&ref, s);

				assert_int_equal(r, 0);
				memmove(&ref.r[i + 1], &ref.r[i], (ref.n - i) * sizeof(*ref.r));
				ref.r[i] = &x->node;
				ref.n++;
				x->live = true;
				nfree--;
				added++;
				if (ref.n > max_live)
					max_live = ref.n;
			}
		} else if (what < 75 && ref.n) {	/* 15% or 60% */
			size_t i = rnd(&rng) % ref.n;
			struct item *x = range_entry(ref.r[i], struct item, node);

			assert_true(x->live);
			range_index_remove(&ix, &x->node);
			memmove(&ref.r[i], &ref.r[i + 1], (ref.n - i - 1) * sizeof(*ref.r));
			ref.n--;
			x->live = false;
			freelist[nfree++] = x->tag;
			removed++;
		} else if (what < 85) {
			s = rnd_addr(p, &rng);
			assert_ptr_equal(range_index_find(&ix, s), ref_first(&ref, s, s));
			queries++;
		} else if (what < 95) {
			struct range_node *n, *tmp;
			size_t i;

			rnd_range(p, &rng, &s, &l);
			i = ref_lower(&ref, s);
			assert_ptr_equal(range_index_first(&ix, s, l), ref_first(&ref, s, l));
			range_index_for_each_in(&ix, n, tmp, s, l) {
				assert_true(i < ref.n);
				assert_ptr_equal(n, ref.r[i]);
				i++;
			}
			assert_true(i == ref.n || ref.r[i]->start > l);
			queries++;
		} else if (what < 99 && ref.n) {
			size_t i = rnd(&rng) % ref.n;

			assert_ptr_equal(range_index_next(ref.r[i]),
					 i + 1 < ref.n ? ref.r[i + 1] : NULL);
			assert_ptr_equal(range_index_prev(ref.r[i]), i ? ref.r[i - 1] : NULL);
			queries++;
		} else if (rnd(&rng) % 500 == 0) {
			size_t calls = 0;

			range_index_clear(&ix, unmark, &calls);
			assert_int_equal(calls, ref.n);
			for (size_t i = 0; i < ref.n; i++)
				freelist[nfree++] = range_entry(ref.r[i], struct item, node)->tag;
			ref.n = 0;
		}
		if (op % 256 == 0) {
			check_order(&ix, ref.r, ref.n);
			check_tree(&ix);
		}
	}
	check_order(&ix, ref.r, ref.n);
	assert_avl_height(&ix);
	/* The run was worth it: both outcomes of insert, many times over. */
	assert_true(added > p->ops / 20);
	assert_true(refused > p->ops / 50);
	assert_true(removed > p->ops / 20 && queries > p->ops / 5);
	assert_true(max_live >= p->space / p->max_len / 4);
	free(ref.r);
	free(freelist);
	free(it);
}

/* Up to ~2000 ranges; up to ~6000 of 1-4 addresses; a few long ones that mostly collide. */
static const struct diff_params medium = { .seed = 1, .ops = 200000, .space = 16384,
					   .max_len = 32 };
static const struct diff_params tiny = { .seed = 2, .ops = 200000, .space = 8192, .max_len = 4 };
static const struct diff_params wide = { .seed = 3, .ops = 200000, .space = 512, .max_len = 256 };

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_index),
		cmocka_unit_test(single_range),
		cmocka_unit_test(edges_of_the_space),
		cmocka_unit_test(adjacent_ranges),
		cmocka_unit_test(overlap_refused_unchanged),
		cmocka_unit_test(first_queries),
		cmocka_unit_test(remove_every_position),
		cmocka_unit_test(for_each_in_removing),
		cmocka_unit_test(clear_frees_each_once),
		cmocka_unit_test(stays_balanced),
		/* cmocka_unit_test_prestate() would name all three alike. */
		{ "random_differential_medium", random_differential, NULL, NULL, (void *)&medium },
		{ "random_differential_tiny", random_differential, NULL, NULL, (void *)&tiny },
		{ "random_differential_wide", random_differential, NULL, NULL, (void *)&wide },
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
