// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * IOAS behaviour through libiommufd, against the real kernel: the cases the
 * kernel's own selftests (tools/testing/selftests/iommu/iommufd.c) check,
 * with no domain, one and two mock domains attached, plus the library's
 * explanations of each refusal.
 */
#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>


#include "harness.h"
#include "mock.h"

#define PAGE 4096ULL
#define BUFSZ (PAGE * 64)

FIXTURE(ioas)
{
	struct iommufd_ctx *ctx;
	uint32_t ioas_id;
	struct mock_dev md[2];
	uint64_t base;
	uint8_t *buf;
	void *area;
};

/*
 * The kernel picks IOVAs aligned like the user address as well as the length:
 * a 2 MiB aligned buffer lets the length alone decide.
 */
#define BUF_ALIGN (2ULL << 20)

FIXTURE_VARIANT(ioas)
{
	int mock_domains;
};

FIXTURE_VARIANT_ADD(ioas, no_domain) { .mock_domains = 0 };
FIXTURE_VARIANT_ADD(ioas, mock_domain) { .mock_domains = 1 };
FIXTURE_VARIANT_ADD(ioas, two_mock_domains) { .mock_domains = 2 };

FIXTURE_SETUP(ioas)
{
	self->area = mmap(NULL, BUFSZ + BUF_ALIGN, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(self->area, MAP_FAILED);
	self->buf = (uint8_t *)(((uintptr_t)self->area + BUF_ALIGN - 1) & ~(BUF_ALIGN - 1));
	memset(self->buf, 1, BUFSZ);
	ASSERT_OK(iommufd_ctx_open(NULL, &self->ctx));
	if (!iommufd_ctx_has(self->ctx, IOMMUFD_FEAT_TEST))
		SKIP(return, "kernel without CONFIG_IOMMUFD_TEST");
	ASSERT_OK(iommufd_ioas_alloc(self->ctx, &self->ioas_id));
	for (int i = 0; i < variant->mock_domains; i++)
		ASSERT_OK(mock_domain(self->ctx, self->ioas_id, 0, &self->md[i]));
	/* Inside the mock aperture, which is also fine with no domain. */
	self->base = MOCK_START;
}

FIXTURE_TEARDOWN(ioas)
{
	iommufd_ctx_unref(self->ctx);
	if (self->area)
		munmap(self->area, BUFSZ + BUF_ALIGN);
}

static int map_fixed(struct iommufd_ctx *ctx, uint32_t ioas, void *buf, uint64_t len,
		     uint64_t iova)
{
	return iommufd_ioas_map(ctx, ioas, buf, len, &iova,
				IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA);
}

TEST_F(ioas, area)
{
	uint64_t done;

	/* Nothing mapped: unmap finds nothing. */
	for (int i = 0; i < 10; i++)
		ASSERT_ERR(ENOENT, iommufd_ioas_unmap(self->ctx, self->ioas_id,
						      self->base + i * PAGE, PAGE, NULL));
	ASSERT_EXPLAINS("no mapping lies wholly inside");

	for (int i = 0; i < 10; i++)
		ASSERT_OK(map_fixed(self->ctx, self->ioas_id, self->buf, PAGE,
				    self->base + i * PAGE));
	for (int i = 0; i < 10; i++) {
		ASSERT_OK(iommufd_ioas_unmap(self->ctx, self->ioas_id, self->base + i * PAGE,
					     PAGE, &done));
		ASSERT_EQ(done, PAGE);
	}

	/* Splitting a mapping fails. */
	ASSERT_OK(map_fixed(self->ctx, self->ioas_id, self->buf, 2 * PAGE,
			    self->base + 16 * PAGE));
	ASSERT_ERR(ENOENT, iommufd_ioas_unmap(self->ctx, self->ioas_id, self->base + 16 * PAGE,
					      PAGE, NULL));
	ASSERT_ERR(ENOENT, iommufd_ioas_unmap(self->ctx, self->ioas_id, self->base + 17 * PAGE,
					      PAGE, NULL));

	/* Mapping over a mapping fails, from every side, and says where. */
	ASSERT_ERR(EEXIST, map_fixed(self->ctx, self->ioas_id, self->buf, 2 * PAGE,
				     self->base + 16 * PAGE));
	ASSERT_ERR(EEXIST, map_fixed(self->ctx, self->ioas_id, self->buf, PAGE,
				     self->base + 17 * PAGE));
	ASSERT_ERR(EEXIST, map_fixed(self->ctx, self->ioas_id, self->buf, 2 * PAGE,
				     self->base + 15 * PAGE));
	ASSERT_ERR(EEXIST, map_fixed(self->ctx, self->ioas_id, self->buf, 3 * PAGE,
				     self->base + 15 * PAGE));
	/* The library names the mapping that was hit, and the memory behind it. */
	ASSERT_EXPLAINS("map at IOVA 0x100f000-0x1011fff overlaps the existing mapping "
			"0x1010000-0x1011fff (of memory at 0x");

	/* Copies are recorded too; unmapped ranges are forgotten. */
	ASSERT_OK(iommufd_ioas_copy(self->ctx, self->ioas_id, &(uint64_t){ self->base + 32 * PAGE },
				    self->ioas_id, self->base + 16 * PAGE, 2 * PAGE,
				    IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA));
	ASSERT_ERR(EEXIST, map_fixed(self->ctx, self->ioas_id, self->buf, PAGE,
				     self->base + 33 * PAGE));
	ASSERT_EXPLAINS("overlaps the existing mapping 0x1020000-0x1021fff");
	ASSERT_OK(iommufd_ioas_unmap(self->ctx, self->ioas_id, self->base + 32 * PAGE, 2 * PAGE,
				     NULL));
	ASSERT_OK(map_fixed(self->ctx, self->ioas_id, self->buf, PAGE, self->base + 33 * PAGE));
	ASSERT_OK(iommufd_ioas_unmap(self->ctx, self->ioas_id, self->base + 33 * PAGE, PAGE,
				     NULL));

	ASSERT_OK(iommufd_ioas_unmap_all(self->ctx, self->ioas_id, &done));
	ASSERT_EQ(done, 2 * PAGE);

	/* Unmapping all of an empty IOAS succeeds. */
	ASSERT_OK(iommufd_ioas_unmap_all(self->ctx, self->ioas_id, &done));
	ASSERT_EQ(done, 0);
	/* Nothing is remembered after unmapping all: the same range maps again. */
	ASSERT_OK(map_fixed(self->ctx, self->ioas_id, self->buf, 2 * PAGE, self->base + 16 * PAGE));
}

TEST_F(ioas, unmap_fully_contained_areas)
{
	uint64_t done;

	self->base += 4 * PAGE;
	for (int i = 0; i < 4; i++)
		ASSERT_OK(map_fixed(self->ctx, self->ioas_id, self->buf, 8 * PAGE,
				    self->base + i * 16 * PAGE));
	/* Ranges that cut the first or last mapping unmap nothing. */
	ASSERT_ERR(ENOENT, iommufd_ioas_unmap(self->ctx, self->ioas_id, self->base - 4 * PAGE,
					      8 * PAGE, NULL));
	ASSERT_ERR(ENOENT, iommufd_ioas_unmap(self->ctx, self->ioas_id,
					      self->base + 3 * 16 * PAGE + 4 * PAGE, 8 * PAGE,
					      NULL));
	/* One range over all four, holes included, takes all four. */
	ASSERT_OK(iommufd_ioas_unmap(self->ctx, self->ioas_id, self->base - 4 * PAGE,
				     3 * 16 * PAGE + 8 * PAGE + 4 * PAGE, &done));
	ASSERT_EQ(done, 32 * PAGE);
}

TEST_F(ioas, area_auto_iova)
{
	struct iommufd_iova_range allowed;
	uint64_t iovas[10];

	for (int i = 0; i < 10; i++)
		ASSERT_OK(iommufd_ioas_map(self->ctx, self->ioas_id, self->buf, PAGE, &iovas[i],
					   IOMMUFD_MAP_RW));
	for (int i = 0; i < 10; i++)
		ASSERT_OK(iommufd_ioas_unmap(self->ctx, self->ioas_id, iovas[i], PAGE, NULL));

	/* The kernel aligns the IOVAs it picks to the lowest set bit of the length. */
	for (int i = 0; i < 10; i++) {
		uint64_t len = PAGE * (i + 1);

		ASSERT_OK(iommufd_ioas_map(self->ctx, self->ioas_id, self->buf, len, &iovas[i],
					   IOMMUFD_MAP_RW));
		EXPECT_EQ(iovas[i] % (1ULL << __builtin_ctzll(len)), 0);
	}
	for (int i = 0; i < 10; i++)
		ASSERT_OK(iommufd_ioas_unmap(self->ctx, self->ioas_id, iovas[i], PAGE * (i + 1),
					     NULL));

	/* It avoids a reserved region. */
	ASSERT_OK(mock_add_reserved(self->ctx, self->ioas_id, PAGE * 4, PAGE * 100));
	for (int i = 0; i < 10; i++) {
		ASSERT_OK(iommufd_ioas_map(self->ctx, self->ioas_id, self->buf, PAGE * (i + 1),
					   &iovas[i], IOMMUFD_MAP_RW));
		EXPECT_TRUE(iovas[i] + PAGE * (i + 1) <= PAGE * 4 || iovas[i] >= PAGE * 104);
	}
	for (int i = 0; i < 10; i++)
		ASSERT_OK(iommufd_ioas_unmap(self->ctx, self->ioas_id, iovas[i], PAGE * (i + 1),
					     NULL));

	/* Allowing a range over a reserved region is refused, and explained. */
	allowed = (struct iommufd_iova_range){ PAGE, PAGE * 600 };
	ASSERT_ERR(EADDRINUSE, iommufd_ioas_allow_iovas(self->ctx, self->ioas_id, &allowed, 1));
	ASSERT_EXPLAINS("reserved region");

	/* Picked IOVAs stay inside the allowed range. */
	allowed = (struct iommufd_iova_range){ self->base + PAGE, self->base + PAGE * 600 - 1 };
	ASSERT_OK(iommufd_ioas_allow_iovas(self->ctx, self->ioas_id, &allowed, 1));
	for (int i = 0; i < 10; i++) {
		uint64_t len = PAGE * (i + 1);

		ASSERT_OK(iommufd_ioas_map(self->ctx, self->ioas_id, self->buf, len, &iovas[i],
					   IOMMUFD_MAP_RW));
		EXPECT_TRUE(iovas[i] >= allowed.start && iovas[i] + len - 1 <= allowed.last);
	}
}

TEST_F(ioas, area_allowed)
{
	struct iommufd_iova_range allowed = { self->base, self->base + PAGE * 600 };

	/* A reserved region cannot appear inside an allowed range... */
	ASSERT_OK(iommufd_ioas_allow_iovas(self->ctx, self->ioas_id, &allowed, 1));
	ASSERT_ERR(EADDRINUSE, mock_add_reserved(self->ctx, self->ioas_id, self->base + PAGE,
						 PAGE));
	ASSERT_OK(iommufd_ioas_allow_iovas(self->ctx, self->ioas_id, NULL, 0));
	/* ...nor an allowed range over a reserved region. */
	ASSERT_OK(mock_add_reserved(self->ctx, self->ioas_id, self->base + PAGE, PAGE));
	ASSERT_ERR(EADDRINUSE, iommufd_ioas_allow_iovas(self->ctx, self->ioas_id, &allowed, 1));
	/* Bad input is refused before the kernel is asked. */
	allowed = (struct iommufd_iova_range){ 10 * PAGE, PAGE };
	ASSERT_ERR(EINVAL, iommufd_ioas_allow_iovas(self->ctx, self->ioas_id, &allowed, 1));
	ASSERT_EXPLAINS("is above last");
}

TEST_F(ioas, copy_area)
{
	uint64_t dst = self->base + PAGE;
	uint32_t other;

	ASSERT_OK(map_fixed(self->ctx, self->ioas_id, self->buf, PAGE, self->base));
	/* Within one IOAS, then into another at a kernel-picked IOVA. */
	ASSERT_OK(iommufd_ioas_copy(self->ctx, self->ioas_id, &dst, self->ioas_id, self->base,
				    PAGE, IOMMUFD_MAP_WRITE | IOMMUFD_MAP_FIXED_IOVA));
	ASSERT_OK(iommufd_ioas_alloc(self->ctx, &other));
	dst = 0;
	ASSERT_OK(iommufd_ioas_copy(self->ctx, other, &dst, self->ioas_id, self->base, PAGE,
				    IOMMUFD_MAP_WRITE));
	/* The copy shares the pages: the domain maps them at the new IOVA. */
	if (variant->mock_domains)
		ASSERT_OK(mock_check_map(self->ctx, self->md[0].hwpt_id, self->base + PAGE, PAGE,
					 self->buf));
	/* A source range that is not wholly mapped is refused and explained. */
	dst = 0;
	ASSERT_ERR(ENOENT, iommufd_ioas_copy(self->ctx, other, &dst, self->ioas_id,
					     self->base + 8 * PAGE, PAGE, IOMMUFD_MAP_WRITE));
	ASSERT_EXPLAINS("has no mapping covering");
}

TEST_F(ioas, iova_ranges)
{
	struct iommufd_iova_range *r;
	uint64_t align;
	size_t nr;

	ASSERT_OK(iommufd_ioas_iova_ranges(self->ctx, self->ioas_id, &r, &nr, &align));
	ASSERT_EQ(nr, 1);
	if (!variant->mock_domains) {
		EXPECT_EQ(r[0].start, 0);
		EXPECT_EQ(r[0].last, UINT64_MAX);
		EXPECT_EQ(align, 1);
	} else {
		EXPECT_EQ(r[0].start, MOCK_START);
		EXPECT_EQ(r[0].last, MOCK_LAST);
		EXPECT_EQ(align, MOCK_PGSIZE);
	}
	free(r);

	/* Many reserved holes: the library grows its buffer on EMSGSIZE. */
	for (int i = 0; i < 40; i++)
		ASSERT_OK(mock_add_reserved(self->ctx, self->ioas_id, PAGE * (2 * i + 1), PAGE));
	ASSERT_OK(iommufd_ioas_iova_ranges(self->ctx, self->ioas_id, &r, &nr, NULL));
	if (!variant->mock_domains) {
		ASSERT_EQ(nr, 41);
		EXPECT_EQ(r[0].start, 0);
		EXPECT_EQ(r[0].last, PAGE - 1);
		EXPECT_EQ(r[1].start, 2 * PAGE);
		EXPECT_EQ(r[40].start, 80 * PAGE);
		EXPECT_EQ(r[40].last, UINT64_MAX);
	} else {
		ASSERT_EQ(nr, 1);	/* all below the mock aperture */
	}
	free(r);
	ASSERT_ERR(ENOENT, iommufd_ioas_iova_ranges(self->ctx, 9999, &r, &nr, NULL));
}

TEST_F(ioas, option_huge_pages)
{
	uint64_t v = 3;

	ASSERT_OK(iommufd_option_get(self->ctx, IOMMUFD_OPTION_HUGE_PAGES, self->ioas_id, &v));
	ASSERT_EQ(v, 1);
	ASSERT_OK(iommufd_option_set(self->ctx, IOMMUFD_OPTION_HUGE_PAGES, self->ioas_id, 0));
	ASSERT_OK(iommufd_option_get(self->ctx, IOMMUFD_OPTION_HUGE_PAGES, self->ioas_id, &v));
	ASSERT_EQ(v, 0);
	ASSERT_ERR(EINVAL, iommufd_option_set(self->ctx, IOMMUFD_OPTION_HUGE_PAGES,
					      self->ioas_id, 2));
	ASSERT_OK(iommufd_option_set(self->ctx, IOMMUFD_OPTION_HUGE_PAGES, self->ioas_id, 1));
}

TEST_F(ioas, iova_alloc_lengths)
{
	uint64_t iova;

	for (uint64_t len = 1; len < PAGE * 2; len += 97) {
		if (variant->mock_domains && (len % MOCK_PGSIZE)) {
			ASSERT_ERR(EINVAL, iommufd_ioas_map(self->ctx, self->ioas_id, self->buf,
							    len, &iova, IOMMUFD_MAP_RW));
			ASSERT_EXPLAINS("is not a multiple of the IOAS's required alignment 0x800");
		} else {
			ASSERT_OK(iommufd_ioas_map(self->ctx, self->ioas_id, self->buf, len, &iova,
						   IOMMUFD_MAP_RW));
			ASSERT_OK(iommufd_ioas_unmap(self->ctx, self->ioas_id, iova, len, NULL));
		}
	}
}

TEST_F(ioas, explain_outside_ranges)
{
	if (!variant->mock_domains)
		SKIP(return, "every IOVA is usable without a domain");
	ASSERT_ERR(EINVAL, map_fixed(self->ctx, self->ioas_id, self->buf, PAGE, 0x10000));
	ASSERT_EXPLAINS("outside the usable IOVA ranges");
	ASSERT_EXPLAINS("reserved window 0x0-0xffffff");
	ASSERT_EXPLAINS("usable: 0x1000000-0x7fffffff");
	ASSERT_ERR(EINVAL, map_fixed(self->ctx, self->ioas_id, self->buf, PAGE, MOCK_LAST + 1));
	ASSERT_EXPLAINS("reserved window 0x80000000-0xffffffffffffffff");
	ASSERT_ERR(EINVAL, map_fixed(self->ctx, self->ioas_id, self->buf, PAGE,
				     self->base + 0x400));
	ASSERT_EXPLAINS("IOVA 0x1000400 is not aligned to the IOAS's required alignment 0x800");
}

TEST_F(ioas, explain_access_and_flags)
{
	uint64_t iova = self->base;

	ASSERT_ERR(EINVAL, iommufd_ioas_map(self->ctx, self->ioas_id, self->buf, PAGE, &iova,
					    IOMMUFD_MAP_FIXED_IOVA));
	ASSERT_EXPLAINS("neither read nor write");
	ASSERT_ERR(EINVAL, iommufd_ioas_map(self->ctx, self->ioas_id, self->buf, PAGE, &iova,
					    IOMMUFD_MAP_RW | 0x100));
	ASSERT_EXPLAINS("unknown map flags 0x100");
	ASSERT_ERR(ENOENT, iommufd_ioas_map(self->ctx, 4242, self->buf, PAGE, &iova,
					    IOMMUFD_MAP_RW));
	ASSERT_EXPLAINS("no IOAS with ID 4242");
}

TEST_F(ioas, explain_unpinnable_memory)
{
	void *hole;

	if (!variant->mock_domains)
		SKIP(return, "without a domain nothing is pinned at map time");
	hole = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(hole, MAP_FAILED);
	munmap(hole, PAGE);
	ASSERT_ERR(EFAULT, map_fixed(self->ctx, self->ioas_id, hole, PAGE, self->base));
	ASSERT_EXPLAINS("is not mapped in this process");
}

TEST_F(ioas, explain_memlock_limit)
{
	struct rlimit rl = { 16 * PAGE, 16 * PAGE };

	if (!variant->mock_domains)
		SKIP(return, "without a domain nothing is pinned at map time");
	ASSERT_OK(th_drop_ipc_lock());
	ASSERT_SYS(setrlimit(RLIMIT_MEMLOCK, &rl));
	ASSERT_OK(map_fixed(self->ctx, self->ioas_id, self->buf, 8 * PAGE, self->base));
	ASSERT_ERR(ENOMEM, map_fixed(self->ctx, self->ioas_id, self->buf + 8 * PAGE, 32 * PAGE,
				     self->base + 64 * PAGE));
	ASSERT_EXPLAINS("would exceed RLIMIT_MEMLOCK (64 KiB");
	/* Nothing was left behind by the refused map. */
	ASSERT_ERR(ENOENT, iommufd_ioas_unmap(self->ctx, self->ioas_id, self->base + 64 * PAGE,
					      32 * PAGE, NULL));
}

TEST_F(ioas, destroy_busy_and_missing)
{
	uint32_t other;

	ASSERT_OK(iommufd_ioas_alloc(self->ctx, &other));
	ASSERT_OK(iommufd_destroy(self->ctx, other));
	ASSERT_ERR(ENOENT, iommufd_destroy(self->ctx, other));
	ASSERT_EXPLAINS("no object with ID");
	if (variant->mock_domains) {
		ASSERT_ERR(EBUSY, iommufd_destroy(self->ctx, self->ioas_id));
		ASSERT_EXPLAINS("still in use");
	}
}

struct thread_arg {
	struct iommufd_ctx *ctx;
	uint32_t ioas_id;
	uint64_t base;
	uint8_t *buf;
	int failures;
};

static void *map_unmap_loop(void *p)
{
	struct thread_arg *a = p;

	for (int i = 0; i < 200; i++) {
		uint64_t iova = a->base + (i % 16) * PAGE, done = 0;

		if (iommufd_ioas_map(a->ctx, a->ioas_id, a->buf, PAGE, &iova,
				     IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA) ||
		    iommufd_ioas_unmap(a->ctx, a->ioas_id, iova, PAGE, &done) || done != PAGE)
			a->failures++;
	}
	return NULL;
}

/* One context, many threads, disjoint IOVAs: every call succeeds. */
TEST_F(ioas, threads_share_a_context)
{
	struct thread_arg args[4];
	pthread_t t[4];
	uint64_t done = 1;

	for (int i = 0; i < 4; i++) {
		args[i] = (struct thread_arg){ self->ctx, self->ioas_id,
					       self->base + i * 64 * PAGE, self->buf, 0 };
		ASSERT_EQ(pthread_create(&t[i], NULL, map_unmap_loop, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(args[i].failures, 0);
	}
	ASSERT_OK(iommufd_ioas_unmap_all(self->ctx, self->ioas_id, &done));
	ASSERT_EQ(done, 0);
}

TEST_HARNESS_MAIN
