// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A random storm of map, unmap and copy operations through the ioas API on
 * an IOMMUFD_TEST mock domain, with every result predicted by a model and
 * the IOMMU's page table read back (IOMMU_TEST_OP_MD_CHECK_MAP): after each
 * operation the range it touched, and every STORM_CHECK operations the
 * whole model against the mapping tracker, the IOVA allocator and both
 * domains' page tables. Any difference is a mismatch; there must be none.
 *
 *   STORM_OPS      operations at most (default 1000000)
 *   STORM_SECONDS  stop earlier after this long (default 45; 0: no limit)
 *   STORM_SEED     the random sequence (default 1)
 *   STORM_CHECK    operations between full checks (default 1000)
 *
 * make check runs what fits 45 seconds; make storm runs the full million.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <time.h>

#include <iommufd/ioas.h>

#include "harness.h"
#include "mock.h"

#define PAGE 4096ULL
#define NSLOT 256		/* buffers, each mapped whole or not at all */
#define SLOT_PAGES 16
#define SLOT (SLOT_PAGES * PAGE)
#define NCOPY 64		/* copies alive in IOAS b at most */

struct slot {
	uint64_t len;		/* 0: not mapped */
	uint64_t iova;
	unsigned int refs;
};

struct copy {
	uint64_t iova, len;	/* in IOAS b, at the source's IOVA */
	uint8_t *vaddr;		/* the memory behind it */
};

struct storm {
	struct iommufd_ctx *ctx;
	uint32_t a, b;
	struct mock_dev mda, mdb;
	struct ioas *io;
	uint8_t *pool;
	struct slot slot[NSLOT];
	struct copy copy[NCOPY];
	unsigned int ncopy, mapped;
	uint64_t rng;
	uint64_t ops, mismatches, checks;
	uint64_t count[8];
};

enum { OP_MAP, OP_MAP_AGAIN, OP_MAP_CLASH, OP_UNMAP, OP_UNMAP_VADDR, OP_UNMAP_BOGUS, OP_COPY,
       OP_UNCOPY };
static const char *const op_names[] = { "map", "map again", "map over itself", "unmap",
					"unmap by address", "unmap of no mapping", "copy",
					"unmap of a copy" };

static uint64_t rnd(struct storm *s, uint64_t n)
{
	/* xorshift64*: the same sequence for the same seed, everywhere. */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return (s->rng * 0x2545F4914F6CDD1DULL) % n;
}

__attribute__((format(printf, 2, 3)))
static void mismatch(struct storm *s, const char *fmt, ...)
{
	va_list ap;

	if (s->mismatches++ < 10) {
		printf("#   op %" PRIu64 ": ", s->ops);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf(" (%s)\n", iommufd_last_error());
	}
}

static uint8_t *slot_va(struct storm *s, unsigned int i)
{
	return s->pool + (uint64_t)i * SLOT;
}

/* The page table of @hwpt maps [iova, +len) to @va (@want), or its first page is unmapped. */
static void expect_pt(struct storm *s, uint32_t hwpt, uint64_t iova, uint64_t len,
		      const void *va, bool want)
{
	int r = want ? mock_check_map(s->ctx, hwpt, iova, len, va)
		     : mock_check_map(s->ctx, hwpt, iova, MOCK_PGSIZE, va);

	if (want && r)
		mismatch(s, "domain %u does not map 0x%" PRIx64 "+0x%" PRIx64 " to %p: %s", hwpt,
			 iova, len, va, strerror(-r));
	else if (!want && r != -EINVAL)
		mismatch(s, "domain %u still maps 0x%" PRIx64 " to %p", hwpt, iova, va);
}

static int slot_of(struct storm *s, const void *va)
{
	uintptr_t off = (uintptr_t)va - (uintptr_t)s->pool;

	return (uintptr_t)va < (uintptr_t)s->pool || off >= NSLOT * SLOT || off % SLOT ? -1 :
	       (int)(off / SLOT);
}

static void op_map(struct storm *s)
{
	unsigned int i = rnd(s, NSLOT);
	struct slot *sl = &s->slot[i];
	uint64_t len = (rnd(s, SLOT_PAGES) + 1) * PAGE, iova = 0;
	int r;

	/* Half the time the same buffer again where it is mapped: a reference. */
	if (sl->len && rnd(s, 2))
		len = sl->len;
	r = ioas_map(s->io, slot_va(s, i), len, IOMMUFD_MAP_RW, &iova);
	if (!sl->len) {
		s->count[OP_MAP]++;
		if (r) {
			mismatch(s, "map of slot %u (0x%" PRIx64 " bytes) failed: %s", i, len,
				 strerror(-r));
			return;
		}
		for (unsigned int j = 0; j < NSLOT; j++)
			if (s->slot[j].len && iova < s->slot[j].iova + s->slot[j].len &&
			    s->slot[j].iova < iova + len)
				mismatch(s, "slot %u mapped at 0x%" PRIx64 ", over slot %u", i, iova,
					 j);
		*sl = (struct slot){ len, iova, 1 };
		s->mapped++;
		expect_pt(s, s->mda.hwpt_id, iova, len, slot_va(s, i), true);
	} else if (sl->len == len) {
		s->count[OP_MAP_AGAIN]++;
		if (r || iova != sl->iova)
			mismatch(s, "map of slot %u again: %d at 0x%" PRIx64 ", not 0 at 0x%"
				 PRIx64, i, r, iova, sl->iova);
		else
			sl->refs++;
	} else {
		s->count[OP_MAP_CLASH]++;
		if (r != -EEXIST)
			mismatch(s, "map of slot %u with another length: %d, not -EEXIST", i, r);
		if (!r)
			ioas_unmap(s->io, iova);
	}
}

static void dropped(struct storm *s, unsigned int i)
{
	struct slot *sl = &s->slot[i];

	if (--sl->refs)
		return;
	expect_pt(s, s->mda.hwpt_id, sl->iova, sl->len, slot_va(s, i), false);
	sl->len = 0;
	s->mapped--;
}

static void op_unmap(struct storm *s, bool by_vaddr)
{
	unsigned int i = rnd(s, NSLOT), n;
	struct slot *sl;
	int r;

	/* The next mapped slot from a random one. */
	for (n = 0; n < NSLOT && !s->slot[i].len; n++)
		i = (i + 1) % NSLOT;
	sl = &s->slot[i];
	if (!sl->len)
		return;
	if (!by_vaddr && sl->len > PAGE && !rnd(s, 8)) {
		/* Inside a mapping, not at its start: nothing to unmap there. */
		s->count[OP_UNMAP_BOGUS]++;
		r = ioas_unmap(s->io, sl->iova + PAGE);
		if (r != -ENOENT)
			mismatch(s, "unmap inside slot %u: %d, not -ENOENT", i, r);
		return;
	}
	s->count[by_vaddr ? OP_UNMAP_VADDR : OP_UNMAP]++;
	r = by_vaddr ? ioas_unmap_vaddr(s->io, slot_va(s, i)) : ioas_unmap(s->io, sl->iova);
	if (r)
		mismatch(s, "unmap of slot %u: %s", i, strerror(-r));
	else
		dropped(s, i);
}

static bool copy_clashes(struct storm *s, uint64_t iova, uint64_t len)
{
	for (unsigned int c = 0; c < s->ncopy; c++)
		if (iova < s->copy[c].iova + s->copy[c].len && s->copy[c].iova < iova + len)
			return true;
	return false;
}

/* Part of a mapping of IOAS a into IOAS b at the same IOVA: same pages, no new pins. */
static void op_copy(struct storm *s)
{
	unsigned int i = rnd(s, NSLOT), n;
	uint64_t pages, off, len, dst;
	bool clash;
	int r;

	for (n = 0; n < NSLOT && !s->slot[i].len; n++)
		i = (i + 1) % NSLOT;
	if (!s->slot[i].len || s->ncopy == NCOPY)
		return;
	pages = s->slot[i].len / PAGE;
	off = rnd(s, pages);
	len = (rnd(s, pages - off) + 1) * PAGE;
	off *= PAGE;
	dst = s->slot[i].iova + off;
	clash = copy_clashes(s, dst, len);
	s->count[OP_COPY]++;
	r = iommufd_ioas_copy(s->ctx, s->b, &dst, s->a, s->slot[i].iova + off, len,
			      IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA);
	if (clash) {
		if (r != -EEXIST)
			mismatch(s, "copy over a copy: %d, not -EEXIST", r);
		if (!r)
			iommufd_ioas_unmap(s->ctx, s->b, dst, len, NULL);
		return;
	}
	if (r) {
		mismatch(s, "copy of slot %u +0x%" PRIx64 " (0x%" PRIx64 "): %s", i, off, len,
			 strerror(-r));
		return;
	}
	s->copy[s->ncopy++] = (struct copy){ dst, len, slot_va(s, i) + off };
	expect_pt(s, s->mdb.hwpt_id, dst, len, slot_va(s, i) + off, true);
}

static void op_uncopy(struct storm *s)
{
	unsigned int c;
	struct copy cp;
	uint64_t done = 0;
	int r;

	if (!s->ncopy)
		return;
	c = rnd(s, s->ncopy);
	cp = s->copy[c];
	s->count[OP_UNCOPY]++;
	r = iommufd_ioas_unmap(s->ctx, s->b, cp.iova, cp.len, &done);
	if (r || done != cp.len) {
		mismatch(s, "unmap of the copy at 0x%" PRIx64 ": %d, 0x%" PRIx64 " bytes", cp.iova,
			 r, done);
		return;
	}
	s->copy[c] = s->copy[--s->ncopy];
	expect_pt(s, s->mdb.hwpt_id, cp.iova, cp.len, cp.vaddr, false);
}

struct walk {
	struct storm *s;
	unsigned int n;
};

static int check_tracked(const struct ioas_mapping *m, void *data)
{
	struct walk *w = data;
	struct storm *s = w->s;
	int i = slot_of(s, m->vaddr);

	w->n++;
	if (i < 0 || s->slot[i].len != m->length || s->slot[i].iova != m->iova ||
	    s->slot[i].refs != m->refs)
		mismatch(s, "the tracker has %p at 0x%" PRIx64 "+0x%" PRIx64 " (%u refs), the model "
			 "not", m->vaddr, m->iova, m->length, m->refs);
	return 0;
}

/* The model, the tracker, the allocator and both page tables agree. */
static void full_check(struct storm *s)
{
	struct walk w = { s, 0 };
	struct ioas_iova_stats st;

	s->checks++;
	ioas_tracker_foreach(ioas_get_tracker(s->io), check_tracked, &w);
	if (w.n != s->mapped)
		mismatch(s, "the tracker has %u mappings, the model %u", w.n, s->mapped);
	ioas_iova_stats(ioas_get_allocator(s->io), &st);
	if (st.live - st.cached != s->mapped)
		mismatch(s, "the allocator has %" PRIu64 " ranges in use, the model %u mappings",
			 st.live - st.cached, s->mapped);
	for (unsigned int i = 0; i < NSLOT; i++)
		if (s->slot[i].len)
			expect_pt(s, s->mda.hwpt_id, s->slot[i].iova, s->slot[i].len, slot_va(s, i),
				  true);
	for (unsigned int c = 0; c < s->ncopy; c++)
		expect_pt(s, s->mdb.hwpt_id, s->copy[c].iova, s->copy[c].len, s->copy[c].vaddr,
			  true);
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

TEST(ioas_storm)
{
	uint64_t max = env_u64("STORM_OPS", 1000000), seconds = env_u64("STORM_SECONDS", 45);
	uint64_t every = env_u64("STORM_CHECK", 1000) ?: 1000;
	struct storm *s = calloc(1, sizeof(*s));
	double t0, t;
	void *area;

	ASSERT_TRUE(s);
	/* The time limit, and a little for the set-up and the last check. */
	alarm(seconds ? seconds + 120 : 0);
	s->rng = env_u64("STORM_SEED", 1) ?: 1;
	area = mmap(NULL, NSLOT * SLOT + (2ULL << 20), PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(area, MAP_FAILED);
	s->pool = (uint8_t *)(((uintptr_t)area + (2ULL << 20) - 1) & ~((2ULL << 20) - 1));
	memset(s->pool, 0xa5, NSLOT * SLOT);
	ASSERT_OK(iommufd_ctx_open(NULL, &s->ctx));
	if (!iommufd_ctx_has(s->ctx, IOMMUFD_FEAT_TEST))
		SKIP(goto out, "kernel without CONFIG_IOMMUFD_TEST");
	ASSERT_OK(iommufd_ioas_alloc(s->ctx, &s->a));
	ASSERT_OK(iommufd_ioas_alloc(s->ctx, &s->b));
	ASSERT_OK(mock_domain(s->ctx, s->a, 0, &s->mda));
	ASSERT_OK(mock_domain(s->ctx, s->b, 0, &s->mdb));
	ASSERT_OK(ioas_new(s->ctx, &(struct ioas_opts){ .sz = sizeof(struct ioas_opts),
							.ioas_id = s->a }, &s->io));

	t0 = now();
	for (s->ops = 0; s->ops < max; s->ops++) {
		uint64_t pick = rnd(s, 100);

		if (pick < 40)
			op_map(s);
		else if (pick < 62)
			op_unmap(s, false);
		else if (pick < 72)
			op_unmap(s, true);
		else if (pick < 88)
			op_copy(s);
		else
			op_uncopy(s);
		if ((s->ops + 1) % every == 0) {
			full_check(s);
			t = now() - t0;
			if ((s->ops + 1) % 100000 == 0)
				printf("#   %" PRIu64 " operations, %.0f/s, %" PRIu64 " mismatches\n",
				       s->ops + 1, (s->ops + 1) / t, s->mismatches);
			if (seconds && t >= seconds) {
				s->ops++;
				break;
			}
		}
	}
	full_check(s);
	t = now() - t0;
	printf("# storm: %" PRIu64 " operations in %.1f s (%.0f/s), seed %" PRIu64 ", %" PRIu64
	       " full checks, %" PRIu64 " mismatches\n", s->ops, t, s->ops / t,
	       env_u64("STORM_SEED", 1), s->checks, s->mismatches);
	printf("#   ");
	for (int i = 0; i < 8; i++)
		printf("%s: %" PRIu64 "%s", op_names[i], s->count[i], i < 7 ? ", " : "\n");

	/* Everything back: nothing tracked, nothing in either page table. */
	for (unsigned int i = 0; i < NSLOT; i++)
		while (s->slot[i].len) {
			ASSERT_OK(ioas_unmap(s->io, s->slot[i].iova));
			dropped(s, i);
		}
	while (s->ncopy)
		op_uncopy(s);
	full_check(s);
	EXPECT_EQ(s->mismatches, 0);
out:
	ioas_free(s->io);
	iommufd_ctx_unref(s->ctx);
	munmap(area, NSLOT * SLOT + (2ULL << 20));
	free(s);
}

TEST_HARNESS_MAIN
