// SPDX-License-Identifier: LGPL-2.1-or-later
/* The IOVA allocator against the kernel's alloc_iova() semantics and a reference model. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <iommufd/ioas.h>

#define G 4096ULL

static struct ioas_iova_allocator *new_alloc(uint64_t start, uint64_t end, uint32_t depth)
{
	IOAS_OPTS(ioas_iova_opts, o, .start = start, .end = end, .cache_depth = depth);
	struct ioas_iova_allocator *a = NULL;

	assert_int_equal(ioas_iova_allocator_new(&o, &a), 0);
	return a;
}

static void top_down_below_limit(void **state)
{
	struct ioas_iova_allocator *a = new_alloc(0, 0xffffffff, 0);
	uint64_t iova, prev;

	/* Highest first, each below the last. */
	assert_int_equal(ioas_iova_alloc(a, G, UINT64_MAX, 0, &iova), 0);
	assert_int_equal(iova, 0xfffff000);
	prev = iova;
	assert_int_equal(ioas_iova_alloc(a, 3 * G, UINT64_MAX, 0, &iova), 0);
	assert_int_equal(iova, prev - 3 * G);
	/* edu's 28-bit DMA mask: the range ends at or below 0xfffffff. */
	assert_int_equal(ioas_iova_alloc(a, 2 * G, 0xfffffff, 0, &iova), 0);
	assert_int_equal(iova, 0xfffe000);
	/* A size not a multiple of the granule takes whole granules. */
	assert_int_equal(ioas_iova_alloc(a, 100, 0xfffffff, 0, &iova), 0);
	assert_int_equal(iova, 0xfffd000);
	/* A limit that is not the last byte of a granule rounds down. */
	assert_int_equal(ioas_iova_alloc(a, G, 0x10000fff - 1, 0, &iova), 0);
	assert_int_equal(iova, 0xfffc000);
	ioas_iova_allocator_free(a);
}

static void size_aligned(void **state)
{
	struct ioas_iova_allocator *a = new_alloc(0, 0xffffffff, 0);
	uint64_t iova;

	assert_int_equal(ioas_iova_alloc(a, G, UINT64_MAX, 0, &iova), 0);
	/* 3 granules align to 4: the highest 16 KiB-aligned start ending below 0xfffff000. */
	assert_int_equal(ioas_iova_alloc(a, 3 * G, UINT64_MAX, IOAS_IOVA_SIZE_ALIGNED, &iova), 0);
	assert_int_equal(iova, 0xffffc000);
	assert_int_equal(iova % (4 * G), 0);
	assert_int_equal(ioas_iova_alloc(a, 512 * G, UINT64_MAX, IOAS_IOVA_SIZE_ALIGNED, &iova),
			 0);
	assert_int_equal(iova % (2 << 20), 0);
	assert_int_equal(iova, 0xffc00000);
	ioas_iova_allocator_free(a);
}

static void exhaustion_explained(void **state)
{
	struct ioas_iova_allocator *a = new_alloc(0, 0xfffff, 0);	/* 255 granules */
	uint64_t iova;

	assert_int_equal(ioas_iova_alloc(a, 256 * G, UINT64_MAX, 0, &iova), -ENOSPC);
	assert_non_null(strstr(iommufd_last_error(), "the largest free gap is 0xff000 bytes at 0x1000"));
	assert_int_equal(ioas_iova_alloc(a, 255 * G, UINT64_MAX, 0, &iova), 0);
	assert_int_equal(iova, G);	/* IOVA 0 is never handed out */
	assert_int_equal(ioas_iova_alloc(a, G, UINT64_MAX, 0, &iova), -ENOSPC);
	assert_int_equal(ioas_iova_alloc(a, G, 0xfff, 0, &iova), -ENOSPC);
	assert_int_equal(ioas_iova_alloc(a, 0, UINT64_MAX, 0, &iova), -EINVAL);
	assert_int_equal(ioas_iova_free(a, G), 0);
	assert_int_equal(ioas_iova_alloc(a, G, UINT64_MAX, 0, &iova), 0);
	ioas_iova_allocator_free(a);
}

static void reserve_and_fixed(void **state)
{
	struct ioas_iova_allocator *a = new_alloc(0, 0xffffffff, 0);
	struct ioas_iova_stats st;
	uint64_t iova;

	/* The x86 MSI window, as IOMMU_IOAS_IOVA_RANGES leaves it out. */
	assert_int_equal(ioas_iova_reserve(a, 0xfee00000, 0x100000), 0);
	assert_int_equal(ioas_iova_reserve(a, 0xff000000, 0x1000000), 0);
	assert_int_equal(ioas_iova_alloc(a, 16 * G, UINT64_MAX, 0, &iova), 0);
	/* The top of the gap between the two reserved windows. */
	assert_int_equal(iova, 0xfeff0000);
	/* Overlapping reservations merge; over a live allocation they are refused. */
	assert_int_equal(ioas_iova_reserve(a, 0xfed00000, 0x180000), 0);
	assert_int_equal(ioas_iova_stats(a, &st), 0);
	assert_int_equal(st.reserved, 2 + 2);
	assert_int_equal(ioas_iova_reserve(a, iova, G), -EBUSY);
	assert_non_null(strstr(iommufd_last_error(), "an allocation lives there"));
	assert_int_equal(ioas_iova_free(a, 0xfed00000), -EPERM);	/* the merged start */
	assert_int_equal(ioas_iova_free(a, iova + G), -ENOENT);
	assert_int_equal(ioas_iova_free(a, iova), 0);
	assert_int_equal(ioas_iova_free(a, iova), -ENOENT);

	/* Fixed ranges: identity maps. */
	assert_int_equal(ioas_iova_alloc_at(a, 0x100000, 8 * G), 0);
	assert_int_equal(ioas_iova_alloc_at(a, 0x104000, G), -EEXIST);
	assert_int_equal(ioas_iova_alloc_at(a, 0xfee10000, G), -EEXIST);
	assert_int_equal(ioas_iova_alloc_at(a, 0x100001, G), -EINVAL);
	assert_int_equal(ioas_iova_free(a, 0x100000), 0);
	assert_int_equal(ioas_iova_stats(a, &st), 0);
	assert_int_equal(st.live, 0);
	assert_int_equal(st.live_bytes, 0);
	ioas_iova_allocator_free(a);
}

static void fast_path_cache(void **state)
{
	struct ioas_iova_allocator *a = new_alloc(0, 0xffffffff, 4);
	struct ioas_iova_stats st;
	uint64_t iova[8], again;

	for (int i = 0; i < 8; i++)
		assert_int_equal(ioas_iova_alloc_fast(a, 3 * G, UINT64_MAX, &iova[i]), 0);
	/* Rounded to 4 granules and aligned to them. */
	for (int i = 0; i < 8; i++)
		assert_int_equal(iova[i] % (4 * G), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(ioas_iova_free_fast(a, iova[i], 3 * G), 0);
	assert_int_equal(ioas_iova_stats(a, &st), 0);
	assert_int_equal(st.cached, 4);		/* bounded by the depth */
	assert_int_equal(st.live, 4);
	/* The newest cached range comes back first, without the tree. */
	assert_int_equal(ioas_iova_alloc_fast(a, 4 * G, UINT64_MAX, &again), 0);
	assert_int_equal(again, iova[3]);
	assert_int_equal(ioas_iova_stats(a, &st), 0);
	assert_int_equal(st.cache_hits, 1);
	/* A cached range above the limit is not handed out. */
	assert_int_equal(ioas_iova_alloc_fast(a, 4 * G, 0xffff, &again), 0);
	assert_true(again + 4 * G - 1 <= 0xffff);
	/* Double free, wrong size, never allocated: refused, cache unharmed. */
	assert_int_equal(ioas_iova_free_fast(a, iova[0], 3 * G), -ENOENT);
	assert_int_equal(ioas_iova_free_fast(a, again, 8 * G), -ENOENT);
	assert_int_equal(ioas_iova_free_fast(a, 0x5000, G), -ENOENT);
	assert_int_equal(ioas_iova_free(a, iova[1]), -ENOENT);	/* cached is not live */
	ioas_iova_allocator_free(a);
}

static void cache_flushed_when_full(void **state)
{
	struct ioas_iova_allocator *a = new_alloc(0, 64 * G - 1, 0);	/* 63 granules */
	uint64_t iova[15], big;
	int n = 0;

	/* Fill the window with 4-granule blocks, free them into the cache. */
	while (n < 15 && ioas_iova_alloc_fast(a, 4 * G, UINT64_MAX, &iova[n]) == 0)
		n++;
	assert_int_equal(n, 15);
	for (int i = 0; i < n; i++)
		assert_int_equal(ioas_iova_free_fast(a, iova[i], 4 * G), 0);
	/* Only a flush of the cache makes room for 32 granules. */
	assert_int_equal(ioas_iova_alloc_fast(a, 32 * G, UINT64_MAX, &big), 0);
	assert_int_equal(big % (32 * G), 0);
	ioas_iova_allocator_free(a);
}

static void options_checked(void **state)
{
	struct ioas_iova_allocator *a = NULL;
	struct {
		struct ioas_iova_opts o;
		uint64_t future;
	} big = { .o = { .sz = sizeof(big) }, .future = 7 };

	assert_int_equal(ioas_iova_allocator_new(&big.o, &a), -E2BIG);
	big.o.sz = 4;
	assert_int_equal(ioas_iova_allocator_new(&big.o, &a), -EINVAL);
	{
		IOAS_OPTS(ioas_iova_opts, o, .granule = 3000);
		assert_int_equal(ioas_iova_allocator_new(&o, &a), -EINVAL);
	}
	{
		IOAS_OPTS(ioas_iova_opts, o, .start = 0x10000, .end = 0x1000);
		assert_int_equal(ioas_iova_allocator_new(&o, &a), -EINVAL);
	}
	assert_null(a);
	assert_null(ioas_iova_allocator_free(NULL));
	/* The whole 64-bit space. */
	assert_int_equal(ioas_iova_allocator_new(NULL, &a), 0);
	{
		uint64_t iova;

		assert_int_equal(ioas_iova_alloc(a, G, UINT64_MAX, 0, &iova), 0);
		assert_int_equal(iova, UINT64_MAX - G + 1);	/* the anchor lies beyond 2^64 */
	}
	ioas_iova_allocator_free(a);
}

/* ---- the reference model: sorted disjoint ranges, searched by brute force ---- */

struct range {
	uint64_t lo, hi;
	int kind;	/* 0 live, 1 reserved */
};

struct model {
	struct range r[4096];
	int n;
};

static void model_insert(struct model *m, uint64_t lo, uint64_t hi, int kind)
{
	int i = 0;

	while (i < m->n && m->r[i].lo < lo)
		i++;
	memmove(&m->r[i + 1], &m->r[i], (m->n - i) * sizeof(m->r[0]));
	m->r[i] = (struct range){ lo, hi, kind };
	m->n++;
}

/*
 * alloc_iova(): the highest aligned fit below the limit, looking top down;
 * after 32 long-enough but misaligned gaps, the highest gap that holds the
 * size plus the alignment's slack (the allocator's bound on its search).
 */
static bool model_alloc(struct model *m, uint64_t pages, uint64_t lp, uint64_t mask,
			uint64_t *lo)
{
	int misses = 0;

	for (int pass = 0; pass < 2; pass++) {
		uint64_t need = pass ? pages + ~mask : pages;

		for (int i = m->n - 1; i > 0; i--) {
			uint64_t gs = m->r[i - 1].hi + 1, ge = m->r[i].lo - 1, a;

			if (m->r[i].lo == m->r[i - 1].hi + 1)
				continue;
			if (ge > lp)
				ge = lp;
			if (ge < gs || ge - gs + 1 < need)
				continue;
			a = (ge - pages + 1) & mask;
			if (a >= gs) {
				*lo = a;
				model_insert(m, a, a + pages - 1, 0);
				return true;
			}
			if (++misses > 32)
				break;
		}
		if (misses <= 32)
			return false;
	}
	return false;
}

/* Many misaligned gaps above a fit: the search is bounded, and still aligned. */
static void aligned_search_is_bounded(void **state)
{
	struct ioas_iova_allocator *a = new_alloc(0, (1 << 20) * G - 1, 0);
	uint64_t iova, prev = 0;

	/*
	 * 100 gaps of 3 granules starting one granule past a 4-aligned point:
	 * long enough for 3, never 4-aligned. Below them, room that fits.
	 */
	for (uint64_t i = 0; i < 100; i++) {
		uint64_t base = (1 << 19) + i * 8;

		assert_int_equal(ioas_iova_alloc_at(a, base * G, G), 0);
		assert_int_equal(ioas_iova_alloc_at(a, (base + 4) * G, 4 * G), 0);
	}
	assert_int_equal(ioas_iova_reserve(a, ((1 << 19) + 800) * G, ((1 << 20) - (1 << 19) - 800) * G), 0);
	/*
	 * Just below them, an aligned 4-granule hole that would fit: an
	 * unbounded search finds it after 100 misses. The bounded one gives up
	 * after 32 and takes the highest gap with room for any alignment,
	 * below the hole.
	 */
	assert_int_equal(ioas_iova_alloc_at(a, ((1 << 19) - 4) * G, 4 * G), 0);
	assert_int_equal(ioas_iova_alloc_at(a, ((1 << 19) - 12) * G, 8 * G), 0);
	assert_int_equal(ioas_iova_free(a, ((1 << 19) - 4) * G), 0);
	assert_int_equal(ioas_iova_alloc_at(a, ((1 << 19) - 4) * G, G), 0);
	assert_int_equal(ioas_iova_free(a, ((1 << 19) - 4) * G), 0);
	assert_int_equal(ioas_iova_alloc(a, 3 * G, UINT64_MAX, IOAS_IOVA_SIZE_ALIGNED, &iova), 0);
	assert_int_equal(iova % (4 * G), 0);
	assert_true(iova < ((1ULL << 19) - 12) * G);
	/* Unaligned requests are not bounded by misses: the highest gap is taken. */
	assert_int_equal(ioas_iova_alloc(a, 3 * G, UINT64_MAX, 0, &prev), 0);
	assert_int_equal(prev, ((1 << 19) + 99 * 8 + 1) * G);
	ioas_iova_allocator_free(a);
}

static void randomized_against_model(void **state)
{
	const uint64_t end_pfn = 1 << 16;
	struct ioas_iova_allocator *a = new_alloc(0, end_pfn * G - 1, 0);
	struct model *m = calloc(1, sizeof(*m));
	uint64_t seed = 0x9e3779b97f4a7c15ULL, ops = 0;
	struct ioas_iova_stats st;

	m->r[m->n++] = (struct range){ 0, 0, 1 };
	m->r[m->n++] = (struct range){ end_pfn, UINT64_MAX >> 12, 1 };
	assert_int_equal(ioas_iova_reserve(a, 0x8000000, 0x100000), 0);
	model_insert(m, 0x8000, 0x80ff, 1);

	for (ops = 0; ops < 1000000; ops++) {
		uint64_t x, iova, lo;
		bool want;

		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		x = seed;
		if ((x & 3) != 0 && m->n < 400) {
			uint64_t pages = 1 + ((x >> 8) % ((x >> 40) & 1 ? 64 : 4));
			uint64_t lp = (x >> 20) & 1 ? end_pfn - 1 : (x >> 24) % end_pfn;
			bool aligned = (x >> 30) & 1;
			uint64_t mask = aligned && pages > 1 ?
						~((1ULL << (64 - __builtin_clzll(pages - 1))) - 1) :
						UINT64_MAX;
			int r = ioas_iova_alloc(a, pages * G, lp * G + G - 1,
						aligned ? IOAS_IOVA_SIZE_ALIGNED : 0, &iova);

			want = model_alloc(m, pages, lp, mask, &lo);
			if (want != (r == 0))
				fail_msg("op %llu: alloc of %llu pages below pfn 0x%llx: model %d, "
					 "allocator %d", (unsigned long long)ops,
					 (unsigned long long)pages, (unsigned long long)lp, want, r);
			if (want && iova != lo * G)
				fail_msg("op %llu: allocator chose 0x%llx, model 0x%llx",
					 (unsigned long long)ops, (unsigned long long)iova,
					 (unsigned long long)(lo * G));
			/* Invariants the model checks by construction: in the window, aligned. */
			if (r == 0 && (iova + pages * G - 1 > lp * G + G - 1 || (iova & ~mask * G)))
				fail_msg("op %llu: 0x%llx breaks limit or alignment",
					 (unsigned long long)ops, (unsigned long long)iova);
		} else {
			int live[4096], nl = 0, k;

			for (int i = 0; i < m->n; i++)
				if (!m->r[i].kind)
					live[nl++] = i;
			if (!nl)
				continue;
			k = live[(x >> 16) % nl];
			assert_int_equal(ioas_iova_free(a, m->r[k].lo * G), 0);
			memmove(&m->r[k], &m->r[k + 1], (m->n - k - 1) * sizeof(m->r[0]));
			m->n--;
		}
	}
	/* Every free returned its space: the counts agree at the end. */
	assert_int_equal(ioas_iova_stats(a, &st), 0);
	{
		uint64_t live = 0, bytes = 0;

		for (int i = 0; i < m->n; i++)
			if (!m->r[i].kind) {
				live++;
				bytes += (m->r[i].hi - m->r[i].lo + 1) * G;
			}
		assert_int_equal(st.live, live);
		assert_int_equal(st.live_bytes, bytes);
		/* At most 64 bytes of allocator memory per live range (nodes come in chunks). */
		assert_true(st.memory_bytes < 64 * (live + 3) + 4096 * 64 + 16384);
	}
	free(m);
	ioas_iova_allocator_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(top_down_below_limit),
		cmocka_unit_test(size_aligned),
		cmocka_unit_test(exhaustion_explained),
		cmocka_unit_test(reserve_and_fixed),
		cmocka_unit_test(fast_path_cache),
		cmocka_unit_test(cache_flushed_when_full),
		cmocka_unit_test(options_checked),
		cmocka_unit_test(aligned_search_is_bounded),
		cmocka_unit_test(randomized_against_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
