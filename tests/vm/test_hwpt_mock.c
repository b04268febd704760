// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * HW page tables, dirty tracking, nesting, fault queues, hardware info and
 * the context itself, through libiommufd against the real kernel's
 * IOMMUFD_TEST mock IOMMU (QEMU's VT-d has no dirty tracking or nesting).
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <linux/iommufd.h>
#include "iommufd_test.h"

#include "harness.h"
#include "mock.h"

#define PAGE 4096ULL

FIXTURE(mock)
{
	struct iommufd_ctx *ctx;
	uint32_t ioas_id;
	struct mock_dev md;
};

FIXTURE_SETUP(mock)
{
	ASSERT_OK(iommufd_ctx_open(NULL, &self->ctx));
	if (!iommufd_ctx_has(self->ctx, IOMMUFD_FEAT_TEST))
		SKIP(return, "kernel without CONFIG_IOMMUFD_TEST");
	ASSERT_OK(iommufd_ioas_alloc(self->ctx, &self->ioas_id));
	ASSERT_OK(mock_domain(self->ctx, self->ioas_id, 0, &self->md));
}

FIXTURE_TEARDOWN(mock)
{
	iommufd_ctx_unref(self->ctx);
}

TEST_F(mock, features_of_6_12)
{
	static const enum iommufd_feature present[] = {
		IOMMUFD_FEAT_DESTROY, IOMMUFD_FEAT_IOAS_ALLOC, IOMMUFD_FEAT_IOAS_ALLOW_IOVAS,
		IOMMUFD_FEAT_IOAS_COPY, IOMMUFD_FEAT_IOAS_IOVA_RANGES, IOMMUFD_FEAT_IOAS_MAP,
		IOMMUFD_FEAT_IOAS_UNMAP, IOMMUFD_FEAT_OPTION, IOMMUFD_FEAT_VFIO_IOAS,
		IOMMUFD_FEAT_HWPT_ALLOC, IOMMUFD_FEAT_GET_HW_INFO,
		IOMMUFD_FEAT_HWPT_SET_DIRTY_TRACKING, IOMMUFD_FEAT_HWPT_GET_DIRTY_BITMAP,
		IOMMUFD_FEAT_HWPT_INVALIDATE, IOMMUFD_FEAT_FAULT_QUEUE_ALLOC, IOMMUFD_FEAT_TEST,
	};
	uint64_t iova = 0;

	for (size_t i = 0; i < sizeof(present) / sizeof(present[0]); i++)
		EXPECT_TRUE(iommufd_ctx_has(self->ctx, present[i]));
	/* 6.13's ioctls answer ENOTTY on 6.12. */
	EXPECT_TRUE(!iommufd_ctx_has(self->ctx, IOMMUFD_FEAT_IOAS_MAP_FILE));
	EXPECT_TRUE(!iommufd_ctx_has(self->ctx, IOMMUFD_FEAT_VIOMMU_ALLOC));
	EXPECT_TRUE(!iommufd_ctx_has(self->ctx, IOMMUFD_FEAT_VEVENTQ_ALLOC));
	ASSERT_ERR(EOPNOTSUPP, iommufd_ioas_map_file(self->ctx, self->ioas_id, 0, 0, PAGE, &iova,
						     IOMMUFD_MAP_RW));
	ASSERT_EXPLAINS("6.13");
}

TEST_F(mock, hw_info)
{
	struct iommufd_hw_info info = { .sz = sizeof(info) };

	ASSERT_OK(iommufd_get_hw_info(self->ctx, self->md.idev_id, &info));
	EXPECT_EQ(info.type, IOMMU_HW_INFO_TYPE_SELFTEST);
	EXPECT_TRUE(info.capabilities & IOMMUFD_HW_CAP_DIRTY_TRACKING);
	ASSERT_ERR(ENOENT, iommufd_get_hw_info(self->ctx, 7777, &info));
	/* An output struct carries its size: smaller than the first version is EINVAL. */
	info.sz = sizeof(info.sz);
	ASSERT_ERR(EINVAL, iommufd_get_hw_info(self->ctx, self->md.idev_id, &info));
}

TEST_F(mock, hwpt_alloc_and_replace)
{
	IOMMUFD_OPTS(iommufd_hwpt_alloc_opts, parent, .flags = IOMMUFD_HWPT_NEST_PARENT);
	uint32_t hwpt[2], ioas2;
	struct mock_dev md2;

	ASSERT_OK(iommufd_hwpt_alloc(self->ctx, self->md.idev_id, self->ioas_id, NULL, &hwpt[0]));
	ASSERT_OK(iommufd_hwpt_alloc(self->ctx, self->md.idev_id, self->ioas_id, &parent,
				     &hwpt[1]));
	/* Rotate the device through both; a HWPT in use cannot go. */
	ASSERT_OK(mock_domain_replace(self->ctx, self->md.stdev_id, hwpt[0]));
	ASSERT_ERR(EBUSY, iommufd_destroy(self->ctx, hwpt[0]));
	ASSERT_EXPLAINS("still in use");
	ASSERT_OK(mock_domain_replace(self->ctx, self->md.stdev_id, hwpt[1]));
	ASSERT_ERR(EBUSY, iommufd_destroy(self->ctx, hwpt[1]));
	ASSERT_OK(mock_domain_replace(self->ctx, self->md.stdev_id, self->ioas_id));
	ASSERT_OK(iommufd_destroy(self->ctx, hwpt[1]));
	/* A second device on an existing HWPT, then both go. */
	ASSERT_OK(mock_domain(self->ctx, hwpt[0], 0, &md2));
	ASSERT_OK(iommufd_destroy(self->ctx, md2.stdev_id));
	ASSERT_OK(iommufd_destroy(self->ctx, hwpt[0]));

	/* Replace onto another IOAS: mappings follow the new IOAS. */
	ASSERT_OK(iommufd_ioas_alloc(self->ctx, &ioas2));
	ASSERT_OK(mock_domain_replace(self->ctx, self->md.stdev_id, ioas2));
	ASSERT_OK(mock_domain_replace(self->ctx, self->md.stdev_id, self->ioas_id));
	ASSERT_OK(iommufd_destroy(self->ctx, ioas2));
}

TEST_F(mock, hwpt_alloc_errors)
{
	IOMMUFD_OPTS(iommufd_hwpt_alloc_opts, bad, .flags = 0x80);
	IOMMUFD_OPTS(iommufd_hwpt_alloc_opts, fault_parent,
		     .flags = IOMMUFD_HWPT_NEST_PARENT | IOMMUFD_HWPT_FAULT_ID_VALID);
	struct {
		struct iommufd_hwpt_alloc_opts o;
		uint32_t future;
	} big = { .o = { .sz = sizeof(big) }, .future = 1 };
	uint32_t id;

	ASSERT_ERR(EINVAL, iommufd_hwpt_alloc(self->ctx, self->md.idev_id, self->ioas_id, &bad,
					      &id));
	ASSERT_EXPLAINS("unknown flags 0x80");
	ASSERT_ERR(E2BIG, iommufd_hwpt_alloc(self->ctx, self->md.idev_id, self->ioas_id, &big.o,
					     &id));
	ASSERT_ERR(ENOENT, iommufd_hwpt_alloc(self->ctx, self->ioas_id, self->md.idev_id, NULL,
					      &id));
	ASSERT_ERR(EINVAL, iommufd_hwpt_alloc(self->ctx, self->md.idev_id, self->md.idev_id, NULL,
					      &id));
	ASSERT_ERR(EOPNOTSUPP, iommufd_hwpt_alloc(self->ctx, self->md.idev_id, self->ioas_id,
						  &fault_parent, &id));
	ASSERT_EXPLAINS("cannot do what flags");
}

TEST_F(mock, nested_and_invalidate)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_hwpt_invalidate_selftest inv[2] = { 0 };
	IOMMUFD_OPTS(iommufd_hwpt_alloc_opts, parent_opts, .flags = IOMMUFD_HWPT_NEST_PARENT);
	IOMMUFD_OPTS(iommufd_hwpt_alloc_opts, nested_opts, .data_type = IOMMU_HWPT_DATA_SELFTEST,
		     .data_len = sizeof(data), .data = &data);
	uint32_t parent, nested, n;

	ASSERT_OK(iommufd_hwpt_alloc(self->ctx, self->md.idev_id, self->ioas_id, &parent_opts,
				     &parent));
	ASSERT_OK(iommufd_hwpt_alloc(self->ctx, self->md.idev_id, parent, &nested_opts, &nested));
	for (uint32_t i = 0; i < MOCK_NESTED_DOMAIN_IOTLB_NUM; i++)
		ASSERT_OK(mock_check_iotlb(self->ctx, nested, i, IOMMU_TEST_IOTLB_DEFAULT));
	/* Nested on nested is refused; the parent is pinned by its child. */
	ASSERT_ERR(EINVAL, iommufd_hwpt_alloc(self->ctx, self->md.idev_id, nested, &nested_opts,
					      &n));
	ASSERT_ERR(EBUSY, iommufd_destroy(self->ctx, parent));

	/* Invalidate entry 1, then everything. */
	inv[0].iotlb_id = 1;
	n = 1;
	ASSERT_OK(iommufd_hwpt_invalidate(self->ctx, nested, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
					  inv, sizeof(inv[0]), &n));
	ASSERT_EQ(n, 1);
	ASSERT_OK(mock_check_iotlb(self->ctx, nested, 0, IOMMU_TEST_IOTLB_DEFAULT));
	ASSERT_OK(mock_check_iotlb(self->ctx, nested, 1, 0));
	inv[0].flags = IOMMU_TEST_INVALIDATE_FLAG_ALL;
	ASSERT_OK(iommufd_hwpt_invalidate(self->ctx, nested, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
					  inv, sizeof(inv[0]), &n));
	for (uint32_t i = 0; i < MOCK_NESTED_DOMAIN_IOTLB_NUM; i++)
		ASSERT_OK(mock_check_iotlb(self->ctx, nested, i, 0));
	/* A paging (parent) HWPT takes no invalidations; n says none were handled. */
	n = 1;
	ASSERT_ERR(ENOENT, iommufd_hwpt_invalidate(self->ctx, parent,
						   IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, inv,
						   sizeof(inv[0]), &n));
	ASSERT_EQ(n, 0);
	ASSERT_OK(iommufd_destroy(self->ctx, nested));
	ASSERT_OK(iommufd_destroy(self->ctx, parent));
}

TEST_F(mock, fault_queue)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	IOMMUFD_OPTS(iommufd_hwpt_alloc_opts, parent_opts, .flags = IOMMUFD_HWPT_NEST_PARENT);
	IOMMUFD_OPTS(iommufd_hwpt_alloc_opts, iopf_opts, .flags = IOMMUFD_HWPT_FAULT_ID_VALID,
		     .data_type = IOMMU_HWPT_DATA_SELFTEST, .data_len = sizeof(data),
		     .data = &data);
	struct iommufd_pgfault f[4];
	uint32_t parent, iopf, fault_id;
	int fault_fd;

	ASSERT_OK(iommufd_fault_queue_alloc(self->ctx, &fault_id, &fault_fd));
	ASSERT_OK(iommufd_hwpt_alloc(self->ctx, self->md.idev_id, self->ioas_id, &parent_opts,
				     &parent));
	iopf_opts.fault_id = 424242;
	ASSERT_ERR(ENOENT, iommufd_hwpt_alloc(self->ctx, self->md.idev_id, parent, &iopf_opts,
					      &iopf));
	iopf_opts.fault_id = fault_id;
	ASSERT_OK(iommufd_hwpt_alloc(self->ctx, self->md.idev_id, parent, &iopf_opts, &iopf));
	ASSERT_OK(mock_domain_replace(self->ctx, self->md.stdev_id, iopf));

	/* Nothing pending yet on a non-blocking queue. */
	ASSERT_SYS(fcntl(fault_fd, F_SETFL, O_NONBLOCK));
	ASSERT_EQ(iommufd_fault_read(fault_fd, f, 4), 0);

	ASSERT_OK(mock_trigger_iopf(self->ctx, self->md.idev_id, 1, 2,
				    IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE,
				    0xdeadb000));
	ASSERT_EQ(iommufd_fault_read(fault_fd, f, 4), 1);
	EXPECT_EQ(f[0].dev_id, self->md.idev_id);
	EXPECT_EQ(f[0].pasid, 1);
	EXPECT_EQ(f[0].grpid, 2);
	EXPECT_EQ(f[0].addr, 0xdeadb000);
	EXPECT_EQ(f[0].perm, IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE);
	ASSERT_OK(iommufd_fault_respond(fault_fd, f[0].cookie, IOMMUFD_FAULT_RESP_SUCCESS));
	/* A cookie that names no pending group is refused. */
	ASSERT_ERR(EINVAL, iommufd_fault_respond(fault_fd, f[0].cookie + 100,
						 IOMMUFD_FAULT_RESP_SUCCESS));

	ASSERT_OK(mock_domain_replace(self->ctx, self->md.stdev_id, self->ioas_id));
	ASSERT_OK(iommufd_destroy(self->ctx, iopf));
	ASSERT_OK(iommufd_destroy(self->ctx, parent));
	close(fault_fd);
}

TEST_F(mock, vfio_ioas)
{
	uint32_t id = 0;

	ASSERT_ERR(ENODEV, iommufd_vfio_ioas_get(self->ctx, &id));
	ASSERT_EXPLAINS("no compat IOAS");
	ASSERT_ERR(ENOENT, iommufd_vfio_ioas_set(self->ctx, 5555));
	ASSERT_OK(iommufd_vfio_ioas_set(self->ctx, self->ioas_id));
	ASSERT_OK(iommufd_vfio_ioas_get(self->ctx, &id));
	ASSERT_EQ(id, self->ioas_id);
	ASSERT_OK(iommufd_vfio_ioas_clear(self->ctx));
	ASSERT_ERR(ENODEV, iommufd_vfio_ioas_get(self->ctx, &id));
}

/* The dirty-tracking cases of the kernel selftest, at a few buffer sizes. */
FIXTURE(dirty)
{
	struct iommufd_ctx *ctx;
	uint32_t ioas_id;
	struct mock_dev md;
	void *buf;
	uint64_t *bitmap;
};

FIXTURE_VARIANT(dirty)
{
	uint64_t size;
};

FIXTURE_VARIANT_ADD(dirty, size_8k) { .size = 8 << 10 };
FIXTURE_VARIANT_ADD(dirty, size_320k) { .size = 320 << 10 };
FIXTURE_VARIANT_ADD(dirty, size_64m) { .size = 64 << 20 };

FIXTURE_SETUP(dirty)
{
	self->buf = MAP_FAILED;
	ASSERT_OK(iommufd_ctx_open(NULL, &self->ctx));
	if (!iommufd_ctx_has(self->ctx, IOMMUFD_FEAT_TEST))
		SKIP(return, "kernel without CONFIG_IOMMUFD_TEST");
	self->buf = mmap(NULL, variant->size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(self->buf, MAP_FAILED);
	self->bitmap = calloc(variant->size / MOCK_PGSIZE / 64 + 1, 8);
	ASSERT_OK(iommufd_ioas_alloc(self->ctx, &self->ioas_id));
	ASSERT_OK(mock_domain(self->ctx, self->ioas_id, 0, &self->md));
}

FIXTURE_TEARDOWN(dirty)
{
	if (self->buf != MAP_FAILED)
		munmap(self->buf, variant->size);
	free(self->bitmap);
	iommufd_ctx_unref(self->ctx);
}

TEST_F(dirty, enforce_dirty_capability)
{
	IOMMUFD_OPTS(iommufd_hwpt_alloc_opts, opts, .flags = IOMMUFD_HWPT_DIRTY_TRACKING);
	struct mock_dev nodirty;
	uint32_t ioas, hwpt;

	ASSERT_OK(iommufd_ioas_alloc(self->ctx, &ioas));
	ASSERT_OK(mock_domain(self->ctx, ioas, MOCK_FLAGS_DEVICE_NO_DIRTY, &nodirty));
	ASSERT_ERR(EOPNOTSUPP, iommufd_hwpt_alloc(self->ctx, nodirty.idev_id, ioas, &opts,
						  &hwpt));
	ASSERT_EXPLAINS("dirty tracking or nesting");
	/* A device without dirty tracking cannot join a dirty-tracking HWPT. */
	ASSERT_OK(iommufd_hwpt_alloc(self->ctx, self->md.idev_id, self->ioas_id, &opts, &hwpt));
	ASSERT_ERR(EINVAL, mock_domain(self->ctx, hwpt, MOCK_FLAGS_DEVICE_NO_DIRTY, &nodirty));
}

TEST_F(dirty, bitmap_read_and_clear)
{
	IOMMUFD_OPTS(iommufd_hwpt_alloc_opts, opts, .flags = IOMMUFD_HWPT_DIRTY_TRACKING);
	uint64_t nbits = variant->size / MOCK_PGSIZE, words = (nbits + 63) / 64, nr = 0;
	uint32_t ioas, hwpt;

	ASSERT_OK(iommufd_ioas_alloc(self->ctx, &ioas));
	ASSERT_OK(iommufd_ioas_map(self->ctx, ioas, self->buf, variant->size,
				   &(uint64_t){ MOCK_START },
				   IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA));
	ASSERT_OK(iommufd_hwpt_alloc(self->ctx, self->md.idev_id, ioas, &opts, &hwpt));
	ASSERT_OK(iommufd_hwpt_set_dirty_tracking(self->ctx, hwpt, true));

	/* Every fourth mock page dirty. */
	memset(self->bitmap, 0, words * 8);
	for (uint64_t i = 0; i < nbits; i += 4)
		self->bitmap[i / 64] |= 1ULL << (i % 64);
	ASSERT_OK(mock_set_dirty(self->ctx, hwpt, MOCK_START, variant->size, MOCK_PGSIZE,
				 self->bitmap, &nr));
	ASSERT_EQ(nr, (nbits + 3) / 4);

	/* NO_CLEAR reads twice the same; a clearing read then empties it. */
	for (int pass = 0; pass < 3; pass++) {
		unsigned int flags = pass < 2 ? IOMMUFD_DIRTY_NO_CLEAR : 0;

		memset(self->bitmap, 0, words * 8);
		ASSERT_OK(iommufd_hwpt_get_dirty_bitmap(self->ctx, hwpt, MOCK_START,
							variant->size, MOCK_PGSIZE,
							self->bitmap, flags));
		for (uint64_t i = 0; i < nbits; i++)
			ASSERT_EQ(!!(self->bitmap[i / 64] & (1ULL << (i % 64))), i % 4 == 0);
	}
	memset(self->bitmap, 0, words * 8);
	ASSERT_OK(iommufd_hwpt_get_dirty_bitmap(self->ctx, hwpt, MOCK_START, variant->size,
						MOCK_PGSIZE, self->bitmap, 0));
	for (uint64_t i = 0; i < words; i++)
		ASSERT_EQ(self->bitmap[i], 0);

	/* Bad geometry is refused before the kernel sees it. */
	ASSERT_ERR(EINVAL, iommufd_hwpt_get_dirty_bitmap(self->ctx, hwpt, MOCK_START + 1,
							 variant->size, MOCK_PGSIZE,
							 self->bitmap, 0));
	ASSERT_EXPLAINS("must be multiples of the page size");
	ASSERT_ERR(EINVAL, iommufd_hwpt_get_dirty_bitmap(self->ctx, hwpt, MOCK_START,
							 variant->size, 3000, self->bitmap, 0));
	ASSERT_OK(iommufd_hwpt_set_dirty_tracking(self->ctx, hwpt, false));
}

/* The context: adopting an fd, ownership, use after fork. */
TEST(ctx_adopt_and_fork)
{
	struct iommufd_ctx *ctx, *ctx2;
	uint32_t id;
	pid_t pid;
	int fd, st;

	fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	ASSERT_SYS(fd);
	/* Borrowed: the fd survives the context. */
	ASSERT_OK(iommufd_ctx_from_fd(fd, 0, &ctx));
	ASSERT_OK(iommufd_ioas_alloc(ctx, &id));
	iommufd_ctx_unref(ctx);
	ASSERT_SYS(fcntl(fd, F_GETFD));
	/* Owned: the last unref closes it; refs keep it alive. */
	ASSERT_OK(iommufd_ctx_from_fd(fd, IOMMUFD_CTX_FD_OWN, &ctx));
	ctx2 = iommufd_ctx_ref(ctx);
	iommufd_ctx_unref(ctx);
	ASSERT_OK(iommufd_ioas_alloc(ctx2, &id));
	iommufd_ctx_unref(ctx2);
	ASSERT_EQ(fcntl(fd, F_GETFD), -1);

	/* A forked child may not use the parent's context. */
	ASSERT_OK(iommufd_ctx_open(NULL, &ctx));
	pid = fork();
	ASSERT_SYS(pid);
	if (!pid)
		_exit(iommufd_ioas_alloc(ctx, &id) == -ECHILD &&
		      strstr(iommufd_last_error(), "forked child") ? 0 : 1);
	ASSERT_SYS(waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	iommufd_ctx_unref(ctx);
}

static void log_capture(void *userdata, enum iommufd_log_level level, const char *msg)
{
	if (level == IOMMUFD_LOG_ERR)
		snprintf(userdata, 256, "%s", msg);
}

TEST(log_fn_gets_explanations)
{
	struct iommufd_ctx *ctx;
	char seen[256] = "";

	ASSERT_OK(iommufd_ctx_open(NULL, &ctx));
	iommufd_set_log_fn(ctx, log_capture, seen);
	ASSERT_ERR(ENOENT, iommufd_destroy(ctx, 31337));
	ASSERT_TRUE(strstr(seen, "no object with ID 31337") != NULL);
	iommufd_ctx_unref(ctx);
}

TEST_HARNESS_MAIN
