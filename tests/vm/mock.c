// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <sys/ioctl.h>

#include <linux/iommufd.h>
#include "iommufd_test.h"

#include "mock.h"

static int test_cmd(struct iommufd_ctx *ctx, struct iommu_test_cmd *cmd)
{
	cmd->size = sizeof(*cmd);
	return ioctl(iommufd_ctx_fd(ctx), IOMMU_TEST_CMD, cmd) ? -errno : 0;
}

int mock_domain(struct iommufd_ctx *ctx, uint32_t pt_id, uint32_t dev_flags, struct mock_dev *md)
{
	struct iommu_test_cmd cmd = {
		.op = dev_flags ? IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS : IOMMU_TEST_OP_MOCK_DOMAIN,
		.id = pt_id,
		.mock_domain_flags = { .dev_flags = dev_flags },
	};
	int r = test_cmd(ctx, &cmd);

	if (r)
		return r;
	md->stdev_id = cmd.mock_domain_flags.out_stdev_id;
	md->hwpt_id = cmd.mock_domain_flags.out_hwpt_id;
	md->idev_id = cmd.mock_domain_flags.out_idev_id;
	return 0;
}

int mock_domain_replace(struct iommufd_ctx *ctx, uint32_t stdev_id, uint32_t pt_id)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
		.id = stdev_id,
		.mock_domain_replace = { .pt_id = pt_id },
	};

	return test_cmd(ctx, &cmd);
}

int mock_add_reserved(struct iommufd_ctx *ctx, uint32_t ioas_id, uint64_t start, uint64_t len)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ADD_RESERVED,
		.id = ioas_id,
		.add_reserved = { .start = start, .length = len },
	};

	return test_cmd(ctx, &cmd);
}

int mock_check_map(struct iommufd_ctx *ctx, uint32_t hwpt_id, uint64_t iova, uint64_t len,
		   const void *uptr)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MD_CHECK_MAP,
		.id = hwpt_id,
		.check_map = { .iova = iova, .length = len, .uptr = (uintptr_t)uptr },
	};

	return test_cmd(ctx, &cmd);
}

int mock_set_dirty(struct iommufd_ctx *ctx, uint32_t hwpt_id, uint64_t iova, uint64_t len,
		   uint64_t page_size, uint64_t *bitmap, uint64_t *nr_dirty)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_DIRTY,
		.id = hwpt_id,
		.dirty = { .iova = iova, .length = len, .page_size = page_size,
			   .uptr = (uintptr_t)bitmap },
	};
	int r = test_cmd(ctx, &cmd);

	if (!r && nr_dirty)
		*nr_dirty = cmd.dirty.out_nr_dirty;
	return r;
}

int mock_check_iotlb(struct iommufd_ctx *ctx, uint32_t hwpt_id, uint32_t iotlb_id,
		     uint32_t value)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MD_CHECK_IOTLB,
		.id = hwpt_id,
		.check_iotlb = { .id = iotlb_id, .iotlb = value },
	};

	return test_cmd(ctx, &cmd);
}

int mock_trigger_iopf(struct iommufd_ctx *ctx, uint32_t dev_id, uint32_t pasid, uint32_t grpid,
		      uint32_t perm, uint64_t addr)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_TRIGGER_IOPF,
		.trigger_iopf = { .dev_id = dev_id, .pasid = pasid, .grpid = grpid,
				  .perm = perm, .addr = addr },
	};

	return test_cmd(ctx, &cmd);
}
