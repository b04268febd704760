// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The IOVA allocator and the mapping tracker under load, with 1, 10 000 and
 * 1 000 000 live allocations, against a naive sorted-array allocator and a
 * linear lookup measured in the same run. Prints rates and ratios; each
 * figure is the best of three timed runs of about 0.2 s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <iommufd/ioas.h>

#define G 4096ULL

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* The naive reference: a sorted array of [lo, hi] pfn ranges, top-down first fit. */
struct naive {
	uint64_t (*r)[2];
	size_t n, cap;
};

static int naive_alloc(struct naive *a, uint64_t pages, uint64_t top, uint64_t *lo)
{
	uint64_t prev_end = top + 1;

	for (size_t i = a->n; i-- > 0;) {
		if (prev_end - a->r[i][1] - 1 >= pages) {
			*lo = prev_end - pages;
			memmove(&a->r[i + 2], &a->r[i + 1], (a->n - i - 1) * sizeof(a->r[0]));
			a->r[i + 1][0] = *lo;
			a->r[i + 1][1] = *lo + pages - 1;
			a->n++;
			return 0;
		}
		prev_end = a->r[i][0];
	}
	return -1;
}

static void naive_free(struct naive *a, uint64_t lo)
{
	size_t l = 0, h = a->n;

	while (l < h) {
		size_t m = (l + h) / 2;

		if (a->r[m][0] < lo)
			l = m + 1;
		else
			h = m;
	}
	memmove(&a->r[l], &a->r[l + 1], (a->n - l - 1) * sizeof(a->r[0]));
	a->n--;
}

/* Pairs per second of alloc+free of one granule, with `live` allocations held. */
static double tree_pairs(size_t live, bool fast, uint64_t *mem_per_live)
{
	IOAS_OPTS(ioas_iova_opts, o, .end = (1ULL << 40) - 1);
	struct ioas_iova_allocator *a;
	struct ioas_iova_stats st;
	double best = 0;
	uint64_t iova;

	ioas_iova_allocator_new(&o, &a);
	for (size_t i = 0; i < live; i++)
		ioas_iova_alloc(a, G * (1 + next() % 4), UINT64_MAX, 0, &iova);
	if (mem_per_live) {
		ioas_iova_stats(a, &st);
		*mem_per_live = st.memory_bytes / (live ? live : 1);
	}
	for (int run = 0; run < 3; run++) {
		long n = 0;
		double t0 = now(), t;

		do {
			for (int k = 0; k < 1000; k++) {
				if (fast) {
					ioas_iova_alloc_fast(a, G, UINT64_MAX, &iova);
					ioas_iova_free_fast(a, iova, G);
				} else {
					ioas_iova_alloc(a, G, UINT64_MAX, 0, &iova);
					ioas_iova_free(a, iova);
				}
			}
			n += 1000;
		} while ((t = now() - t0) < 0.2);
		if (n / t > best)
			best = n / t;
	}
	ioas_iova_allocator_free(a);
	return best;
}

static double naive_pairs(size_t live)
{
	struct naive a = { .cap = live + 16 };
	uint64_t top = (1ULL << 28) - 1, lo;
	double best = 0;

	a.r = malloc(a.cap * sizeof(a.r[0]));
	a.r[0][0] = a.r[0][1] = 0;	/* the low anchor */
	a.n = 1;
	/* What `live` top-down allocations leave, built directly (inserting is O(n) each). */
	for (size_t i = 1, end = top; i < live; i++) {
		uint64_t pages = 1 + next() % 4;

		a.r[live - i][0] = end - pages + 1;
		a.r[live - i][1] = end;
		end -= pages;
	}
	a.n = live;
	for (int run = 0; run < 3; run++) {
		long n = 0;
		double t0 = now(), t;

		do {
			for (int k = 0; k < 10; k++) {
				/* Free something in the middle, as long-running programs do. */
				if (naive_alloc(&a, 1, top, &lo) == 0)
					naive_free(&a, lo);
			}
			n += 10;
		} while ((t = now() - t0) < 0.2);
		if (n / t > best)
			best = n / t;
	}
	free(a.r);
	return best;
}

static double tracker_lookups(size_t live, bool linear)
{
	struct ioas_tracker *t;
	struct ioas_mapping m;
	uint64_t *starts = malloc(live * sizeof(*starts));
	double best = 0;

	ioas_tracker_new(&t);
	for (size_t i = 0; i < live; i++) {
		/* Buffers 8 KiB apart; the tracker never dereferences them. */
		m = (struct ioas_mapping){ .iova = 0x100000000ULL + i * 0x4000, .length = 0x2000,
					   .vaddr = (void *)(0x10000000000ULL + i * 0x4000),
					   .access = IOMMUFD_MAP_RW };
		ioas_tracker_add(t, &m);
		starts[i] = (uint64_t)(uintptr_t)m.vaddr;
	}
	for (int run = 0; run < 3; run++) {
		long n = 0, hits = 0;
		double t0 = now(), tt;

		do {
			for (int k = 0; k < 1000; k++) {
				uint64_t v = starts[next() % live] + 0x1234;

				if (linear) {
					for (size_t i = 0; i < live; i++)
						if (v >= starts[i] && v < starts[i] + 0x2000) {
							hits++;
							break;
						}
				} else {
					hits += !ioas_tracker_find_vaddr(t, (void *)(uintptr_t)v, &m);
				}
			}
			n += 1000;
		} while ((tt = now() - t0) < 0.2);
		if (hits != n)
			fprintf(stderr, "bench_iova: %ld of %ld lookups missed\n", n - hits, n);
		if (n / tt > best)
			best = n / tt;
	}
	ioas_tracker_free(t);
	free(starts);
	return best;
}

int main(void)
{
	static const size_t lives[] = { 1, 10000, 1000000 };
	uint64_t mem;

	printf("# IOVA allocator: alloc+free pairs per second (one thread)\n");
	printf("%-10s %14s %14s %14s %10s %10s %12s\n", "live", "fast path", "tree", "naive",
	       "fast/naive", "tree/naive", "bytes/live");
	for (size_t i = 0; i < 3; i++) {
		double fast = tree_pairs(lives[i], true, NULL);
		double tree = tree_pairs(lives[i], false, &mem);
		double naive = naive_pairs(lives[i]);

		printf("%-10zu %14.0f %14.0f %14.0f %10.1f %10.1f %12llu\n", lives[i], fast, tree,
		       naive, fast / naive, tree / naive,
		       lives[i] > 1 ? (unsigned long long)mem : 0ULL);
	}
	printf("\n# Mapping tracker: vaddr -> IOVA lookups per second\n");
	printf("%-10s %14s %14s %10s\n", "live", "tree", "linear", "tree/linear");
	for (size_t i = 0; i < 3; i++) {
		double tree = tracker_lookups(lives[i], false);
		double lin = lives[i] <= 10000 ? tracker_lookups(lives[i], true) : 0;

		if (lin)
			printf("%-10zu %14.0f %14.0f %10.1f\n", lives[i], tree, lin, tree / lin);
		else
			printf("%-10zu %14.0f %14s %10s\n", lives[i], tree, "(skipped)", "-");
	}
	return 0;
}
