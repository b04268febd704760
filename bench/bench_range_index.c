// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The range index against the tsearch() "overlap compares equal" trick it
 * replaces, on the case that hurt: 262 144 adjacent 4 KiB ranges inserted,
 * walked lowest first, then all unmapped by one range unmap. tsearch() has no
 * successor, so its walk and its unmap find each lowest range by repeated
 * searches (compat/container.c's first_dma()), O(log^2 n) a step. Prints ns
 * per range for each phase and the ratios; each figure is the best of three.
 */
#include <search.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../libiommufd/range_index.h"

#define N (1u << 18)
#define PAGE 4096ULL
/* The starts of all N ranges added up: what a complete walk sees. */
#define SUM ((uint64_t)N * (N - 1) / 2 * PAGE)

struct item {
	struct range_node node;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct phases {
	double insert, walk, unmap;	/* seconds for all N */
};

static void keep(struct phases *best, const struct phases *p)
{
	if (p->insert < best->insert)
		best->insert = p->insert;
	if (p->walk < best->walk)
		best->walk = p->walk;
	if (p->unmap < best->unmap)
		best->unmap = p->unmap;
}

static int run_index(struct item *it, struct phases *p)
{
	struct range_index ix = RANGE_INDEX_INIT;
	struct range_node *n, *tmp;
	uint64_t sum = 0;
	double t0, t1, t2, t3;
	size_t seen = 0;

	t0 = now();
	for (size_t i = 0; i < N; i++) {
		it[i].node.start = i * PAGE;
		it[i].node.last = i * PAGE + PAGE - 1;
		if (range_index_insert(&ix, &it[i].node, NULL))
			return -1;
	}
	t1 = now();
	for (n = range_index_first(&ix, 0, UINT64_MAX); n; n = range_index_next(n))
		sum += n->start;
	t2 = now();
	range_index_for_each_in(&ix, n, tmp, 0, UINT64_MAX) {
		range_index_remove(&ix, n);
		seen++;
	}
	t3 = now();
	*p = (struct phases){ t1 - t0, t2 - t1, t3 - t2 };
	return seen == N && !range_index_count(&ix) && sum == SUM ? 0 : -1;
}

/* The old way: [start, last] pairs, equal when they overlap. */
static int cmp_overlap(const void *a, const void *b)
{
	const struct range_node *x = a, *y = b;

	return x->last < y->start ? -1 : x->start > y->last ? 1 : 0;
}

static struct range_node *ts_any(void **root, uint64_t start, uint64_t last)
{
	struct range_node key = { .start = start, .last = last };
	void *hit = tfind(&key, root, cmp_overlap);

	return hit ? *(struct range_node **)hit : NULL;
}

/* compat/container.c's first_dma(): any overlap, then lower ones while there are some. */
static struct range_node *ts_first(void **root, uint64_t start, uint64_t last)
{
	struct range_node *n = ts_any(root, start, last), *lower;

	while (n && n->start > start && (lower = ts_any(root, start, n->start - 1)))
		n = lower;
	return n;
}

static int run_tsearch(struct item *it, struct phases *p)
{
	struct range_node *n;
	void *root = NULL;
	uint64_t sum = 0;
	double t0, t1, t2, t3;
	size_t seen = 0;

	t0 = now();
	for (size_t i = 0; i < N; i++) {
		it[i].node.start = i * PAGE;
		it[i].node.last = i * PAGE + PAGE - 1;
		if (!tsearch(&it[i].node, &root, cmp_overlap))
			return -1;
	}
	t1 = now();
	for (n = ts_first(&root, 0, UINT64_MAX); n;
	     n = n->last == UINT64_MAX ? NULL : ts_first(&root, n->last + 1, UINT64_MAX))
		sum += n->start;
	t2 = now();
	while ((n = ts_first(&root, 0, UINT64_MAX))) {
		tdelete(n, &root, cmp_overlap);
		seen++;
	}
	t3 = now();
	*p = (struct phases){ t1 - t0, t2 - t1, t3 - t2 };
	return seen == N && !root && sum == SUM ? 0 : -1;
}

int main(void)
{
	struct phases ri = { 1e9, 1e9, 1e9 }, ts = ri, p;
	struct item *it = calloc(N, sizeof(*it));

	if (!it)
		return 1;
	for (int run = 0; run < 3; run++) {
		if (run_index(it, &p) < 0)
			goto out_wrong;
		keep(&ri, &p);
		if (run_tsearch(it, &p) < 0)
			goto out_wrong;
		keep(&ts, &p);
	}
	printf("%u adjacent 4 KiB ranges, ns per range (best of 3)\n", N);
	printf("%-10s %12s %12s %8s\n", "phase", "range_index", "tsearch", "ratio");
	printf("%-10s %12.1f %12.1f %7.1fx\n", "insert", ri.insert * 1e9 / N, ts.insert * 1e9 / N,
	       ts.insert / ri.insert);
	printf("%-10s %12.1f %12.1f %7.1fx\n", "walk", ri.walk * 1e9 / N, ts.walk * 1e9 / N,
	       ts.walk / ri.walk);
	printf("%-10s %12.1f %12.1f %7.1fx\n", "unmap", ri.unmap * 1e9 / N, ts.unmap * 1e9 / N,
	       ts.unmap / ri.unmap);
	printf("range_index total %.1f ms, tsearch total %.1f ms\n",
	       (ri.insert + ri.walk + ri.unmap) * 1e3, (ts.insert + ts.walk + ts.unmap) * 1e3);
	free(it);
	return 0;
out_wrong:
	fprintf(stderr, "bench_range_index: a walk or unmap went wrong\n");
	free(it);
	return 1;
}
