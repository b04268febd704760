// SPDX-License-Identifier: LGPL-2.1-or-later
/* IOMMU_GET_HW_INFO: what the IOMMU behind a device reports. */
#include "internal.h"

/* ARM SMMUv3 reports (type 2) from Linux 6.14 on; its layout, for those kernels. */
#define HW_INFO_TYPE_ARM_SMMUV3 2
struct hw_info_arm_smmuv3 {
	uint32_t flags;
	uint32_t reserved;
	uint32_t idr[6];
	uint32_t iidr;
	uint32_t aidr;
};

/* The driver data of every IOMMU type we decode fits here. */
union hw_info_data {
	struct iommu_hw_info_vtd vtd;
	struct hw_info_arm_smmuv3 smmu;
	uint8_t raw[128];
};

IOMMUFD_API int iommufd_get_hw_info(struct iommufd_ctx *ctx, uint32_t dev_id,
				    struct iommufd_hw_info *info)
{
	union hw_info_data data = { 0 };
	struct iommufd_hw_info hw = { 0 };
	struct iommu_hw_info cmd = {
		.size = (uint32_t)offsetofend(struct iommu_hw_info, out_capabilities),
		.dev_id = dev_id,
		.data_len = sizeof(data),
		.data_uptr = (uintptr_t)&data,
	};
	int r;

	check_ctx(ctx);
	check_arg(info);
	r = check_out(ctx, info, iommufd_hw_info, smmuv3);
	if (r < 0)
		return r;
	r = xioctl(ctx->fd, IOMMU_GET_HW_INFO, &cmd);
	if (r == -ENOENT)
		return iommufd_fail(ctx, r, "hw info: no device with ID %u", dev_id);
	if (r < 0)
		return iommufd_fail_errno(ctx, r, "IOMMU_GET_HW_INFO");
	hw.type = cmd.out_data_type;
	hw.capabilities = cmd.out_capabilities;
	switch (cmd.out_data_type) {
	case IOMMU_HW_INFO_TYPE_INTEL_VTD:
		hw.vtd.flags = data.vtd.flags;
		hw.vtd.cap_reg = data.vtd.cap_reg;
		hw.vtd.ecap_reg = data.vtd.ecap_reg;
		break;
	case HW_INFO_TYPE_ARM_SMMUV3:
		hw.smmuv3.flags = data.smmu.flags;
		memcpy(hw.smmuv3.idr, data.smmu.idr, sizeof(hw.smmuv3.idr));
		hw.smmuv3.iidr = data.smmu.iidr;
		hw.smmuv3.aidr = data.smmu.aidr;
		break;
	}
	copy_out(info, &hw);
	return 0;
}
