// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The compat shim's dirty tracking (compat/dirty.c) against an IOMMU that
 * has dirty bits: the IOMMUFD_TEST mock domain, since QEMU's VT-d has none
 * (there the shim answers as type1, every page dirty, and the differential
 * test in tests/compat compares that with native type1). A container is set
 * up as VFIO_SET_IOMMU leaves it, with the mock device standing in for the
 * group's device on a dirty-tracking HWPT; the type1-format bitmap the shim
 * writes must hold exactly the pages the mock IOMMU saw written.
 */
#include <sys/mman.h>

#include <linux/iommufd.h>
#include "iommufd_test.h"

#include "../../compat/compat.h"
#include "harness.h"
#include "mock.h"

#define PAGE 4096ULL
#define NPAGES 200

FIXTURE(compat_dirty)
{
	struct iommufd_ctx *ctx;
	struct mock_dev md;
	struct compat_container c;
	uint8_t *buf;
	uint64_t iova;
	uint64_t dirty[8];	/* which mock IO pages (half a page each) were written */
};

FIXTURE_SETUP(compat_dirty)
{
	IOMMUFD_OPTS(iommufd_hwpt_alloc_opts, opts, .flags = IOMMUFD_HWPT_DIRTY_TRACKING);
	struct compat_container *c = &self->c;

	self->buf = MAP_FAILED;
	ASSERT_OK(iommufd_ctx_open(NULL, &self->ctx));
	if (!iommufd_ctx_has(self->ctx, IOMMUFD_FEAT_TEST))
		SKIP(return, "kernel without CONFIG_IOMMUFD_TEST");
	*c = (struct compat_container){ .ctx = self->ctx, .iommu_set = true, .v2 = true,
					.pgsize_bitmap = PAGE };
	ASSERT_OK(iommufd_ioas_alloc(self->ctx, &c->ioas_id));
	ASSERT_OK(mock_domain(self->ctx, c->ioas_id, 0, &self->md));
	/* What compat_dirty_start() does for VFIO devices: a dirty HWPT, moved onto. */
	ASSERT_OK(iommufd_hwpt_alloc(self->ctx, self->md.idev_id, c->ioas_id, &opts,
				     &c->dirty_hwpt_id));
	ASSERT_OK(mock_domain_replace(self->ctx, self->md.stdev_id, c->dirty_hwpt_id));
	self->buf = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(self->buf, MAP_FAILED);
	self->iova = MOCK_START;
	ASSERT_OK(iommufd_ioas_map(self->ctx, c->ioas_id, self->buf, NPAGES * PAGE, &self->iova,
				   IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA));
}

FIXTURE_TEARDOWN(compat_dirty)
{
	if (self->buf != MAP_FAILED)
		munmap(self->buf, NPAGES * PAGE);
	free(self->c.ranges);
	iommufd_ctx_unref(self->ctx);
}

/*
 * Let the "device" write every @step-th page from @first, as the IOMMU sees
 * it: the mock marks its own 2 KiB IO pages, here the second half of each.
 */
static int device_writes(struct th_data_compat_dirty *self, unsigned int first, unsigned int step)
{
	uint64_t nr = 0;

	memset(self->dirty, 0, sizeof(self->dirty));
	for (unsigned int p = first; p < NPAGES; p += step)
		self->dirty[(2 * p + 1) / 64] |= 1ULL << ((2 * p + 1) % 64);
	return mock_set_dirty(self->ctx, self->c.dirty_hwpt_id, self->iova, NPAGES * PAGE,
			      MOCK_PGSIZE, self->dirty, &nr);
}

static bool bit(const uint64_t *map, uint64_t n)
{
	return map[n / 64] >> (n % 64) & 1;
}

TEST_F(compat_dirty, reports_what_the_iommu_saw)
{
	uint64_t user[8];

	ASSERT_OK(compat_dirty_start(&self->c));
	ASSERT_TRUE(self->c.dirty_tracking);
	ASSERT_OK(device_writes(self, 1, 3));

	/* Bit 0 at the mapping: the bits are exactly the pages written. */
	memset(user, 0, sizeof(user));
	ASSERT_OK(compat_dirty_report(&self->c, self->iova, NPAGES * PAGE, self->iova, PAGE, user));
	for (uint64_t p = 0; p < NPAGES; p++)
		ASSERT_EQ(bit(user, p), (p % 3 == 1));
	/* The read cleared them: nothing new was written since. */
	memset(user, 0, sizeof(user));
	ASSERT_OK(compat_dirty_report(&self->c, self->iova, NPAGES * PAGE, self->iova, PAGE, user));
	for (size_t w = 0; w < 8; w++)
		ASSERT_EQ(user[w], 0);
}

TEST_F(compat_dirty, shifted_into_the_users_words)
{
	/* The bitmap starts 37 + 64 pages below the mapping: a shift across words. */
	uint64_t base = self->iova - 101 * PAGE, user[8];

	ASSERT_OK(compat_dirty_start(&self->c));
	ASSERT_OK(device_writes(self, 0, 7));
	memset(user, 0xa5, sizeof(user));
	ASSERT_OK(compat_dirty_report(&self->c, self->iova, NPAGES * PAGE, base, PAGE, user));
	/* The word before the mapping's first is untouched. */
	ASSERT_EQ(user[0], 0xa5a5a5a5a5a5a5a5ULL);
	/* type1 ORs the whole first word the mapping starts in with the user's. */
	for (uint64_t n = 64; n < 101 + NPAGES; n++) {
		bool garbage = n < 128 && (0xa5a5a5a5a5a5a5a5ULL >> (n - 64)) & 1;
		bool written = n >= 101 && (n - 101) % 7 == 0;

		ASSERT_EQ(bit(user, n), (garbage || written));
	}
	/* The rest of the last word written is clear; the words after untouched. */
	for (uint64_t n = 101 + NPAGES; n < 320; n++)
		ASSERT_EQ(bit(user, n), 0);
	ASSERT_EQ(user[5], 0xa5a5a5a5a5a5a5a5ULL);
}

TEST_F(compat_dirty, only_writes_after_start)
{
	uint64_t user[4] = { 0 };

	/* Written while tracking was off, then started: the enable cleared them. */
	ASSERT_OK(iommufd_hwpt_set_dirty_tracking(self->ctx, self->c.dirty_hwpt_id, true));
	ASSERT_OK(device_writes(self, 0, 1));
	ASSERT_OK(iommufd_hwpt_set_dirty_tracking(self->ctx, self->c.dirty_hwpt_id, false));
	ASSERT_OK(compat_dirty_start(&self->c));
	ASSERT_OK(compat_dirty_report(&self->c, self->iova, NPAGES * PAGE, self->iova, PAGE, user));
	for (size_t w = 0; w < 4; w++)
		ASSERT_EQ(user[w], 0);
	/* Stopped: the IOMMU no longer tracks, so the mock refuses to mark pages. */
	compat_dirty_stop(&self->c);
	ASSERT_FALSE(self->c.dirty_tracking);
	ASSERT_ERR(EINVAL, device_writes(self, 0, 2));
}

TEST_F(compat_dirty, type1_answer_without_iommu_bits)
{
	uint64_t user[4] = { 0 };

	/* A device that could not join the HWPT: every page dirty, as type1. */
	self->c.dirty_partial = true;
	ASSERT_OK(compat_dirty_start(&self->c));
	ASSERT_OK(compat_dirty_report(&self->c, self->iova, NPAGES * PAGE, self->iova, PAGE, user));
	for (uint64_t p = 0; p < 256; p++)
		ASSERT_EQ(bit(user, p), (p < NPAGES));
	compat_dirty_stop(&self->c);

	/* No HWPT and no device to make one with: the same answer. */
	ASSERT_OK(mock_domain_replace(self->ctx, self->md.stdev_id, self->c.ioas_id));
	compat_dirty_release(&self->c);
	ASSERT_EQ(self->c.dirty_hwpt_id, 0);
	ASSERT_OK(compat_dirty_start(&self->c));
	ASSERT_EQ(self->c.dirty_hwpt_id, 0);
	memset(user, 0, sizeof(user));
	ASSERT_OK(compat_dirty_report(&self->c, self->iova, 3 * PAGE, self->iova, PAGE, user));
	ASSERT_EQ(user[0], 0x7);
}

TEST_F(compat_dirty, bad_bitmap_pointer_is_efault)
{
	ASSERT_OK(compat_dirty_start(&self->c));
	ASSERT_OK(device_writes(self, 0, 2));
	/* As the kernel's copy_to_user(): an error, not a crash. */
	ASSERT_ERR(EFAULT, compat_dirty_report(&self->c, self->iova, NPAGES * PAGE, self->iova,
					       PAGE, (uint64_t *)8));
	ASSERT_ERR(EFAULT, compat_dirty_report(&self->c, self->iova, NPAGES * PAGE,
					       self->iova - PAGE, PAGE, (uint64_t *)8));
}

TEST_F(compat_dirty, release_destroys_the_hwpt)
{
	uint32_t hwpt = self->c.dirty_hwpt_id;

	ASSERT_OK(compat_dirty_start(&self->c));
	/* The last device left (as when the last group leaves the container). */
	ASSERT_OK(mock_domain_replace(self->ctx, self->md.stdev_id, self->c.ioas_id));
	compat_dirty_release(&self->c);
	ASSERT_FALSE(self->c.dirty_tracking);
	ASSERT_ERR(ENOENT, iommufd_destroy(self->ctx, hwpt));
}

TEST_HARNESS_MAIN
