/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CONFIG_IOMMUFD_TEST mock domains: devices and IOMMU page tables that exist
 * only in the kernel's selftest code, for what no emulated device can show
 * (dirty tracking, nesting, reserved regions on demand, what the IOMMU page
 * table really holds). The uAPI is drivers/iommu/iommufd/iommufd_test.h of
 * the kernel source, used in place.
 */
#ifndef TESTS_VM_MOCK_H
#define TESTS_VM_MOCK_H

#include <stdint.h>

#include <iommufd/iommufd.h>

/* The mock IOMMU's aperture and IO page size (selftest.c). */
#define MOCK_START	(1ULL << 24)
#define MOCK_LAST	((1ULL << 31) - 1)
#define MOCK_PGSIZE	2048ULL
#define MOCK_HUGE_PGSIZE (512 * MOCK_PGSIZE)

struct mock_dev {
	uint32_t stdev_id;	/* the selftest device object */
	uint32_t hwpt_id;	/* the domain it was attached to */
	uint32_t idev_id;	/* its bound-device ID, as VFIO's dev_id */
};

/* All return 0 or -errno. */
int mock_domain(struct iommufd_ctx *ctx, uint32_t pt_id, uint32_t dev_flags, struct mock_dev *md);
int mock_domain_replace(struct iommufd_ctx *ctx, uint32_t stdev_id, uint32_t pt_id);
int mock_add_reserved(struct iommufd_ctx *ctx, uint32_t ioas_id, uint64_t start, uint64_t len);
/* Does the mock page table of @hwpt_id map [iova, iova+len) to the pages of @uptr? */
int mock_check_map(struct iommufd_ctx *ctx, uint32_t hwpt_id, uint64_t iova, uint64_t len,
		   const void *uptr);
/* Mark the pages whose bits are set in @bitmap dirty; @nr_dirty: how many were set. */
int mock_set_dirty(struct iommufd_ctx *ctx, uint32_t hwpt_id, uint64_t iova, uint64_t len,
		   uint64_t page_size, uint64_t *bitmap, uint64_t *nr_dirty);
int mock_check_iotlb(struct iommufd_ctx *ctx, uint32_t hwpt_id, uint32_t iotlb_id,
		     uint32_t value);
int mock_trigger_iopf(struct iommufd_ctx *ctx, uint32_t dev_id, uint32_t pasid, uint32_t grpid,
		      uint32_t perm, uint64_t addr);

#endif
