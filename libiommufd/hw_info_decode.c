// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Named fields of the hardware information IOMMU_GET_HW_INFO returns: Intel
 * VT-d CAP_REG/ECAP_REG and ARM SMMUv3 IDR0-IDR5, by their names in the
 * architecture specifications. Table-driven: one row per field.
 */
#include "internal.h"

struct hw_field {
	uint8_t reg;		/* VT-d: 0 CAP, 1 ECAP; SMMUv3: IDR number */
	uint8_t shift;
	uint8_t width;
	uint8_t plus_one;	/* the register holds the value minus one */
	const char *name;
	const char *desc;
};

static const struct hw_field vtd_fields[] = {
	{ 0, 0, 3, 0, "ND", "number of domains supported (2^(4+2*ND))" },
	{ 0, 3, 1, 0, "AFL", "advanced fault logging" },
	{ 0, 4, 1, 0, "RWBF", "required write-buffer flushing" },
	{ 0, 5, 1, 0, "PLMR", "protected low-memory region" },
	{ 0, 6, 1, 0, "PHMR", "protected high-memory region" },
	{ 0, 7, 1, 0, "CM", "caching mode (a virtual IOMMU)" },
	{ 0, 8, 5, 0, "SAGAW", "supported adjusted guest address widths (bit 1: 39, 2: 48, 3: 57)" },
	{ 0, 16, 6, 1, "MGAW", "maximum guest address width" },
	{ 0, 22, 1, 0, "ZLR", "zero-length read" },
	{ 0, 24, 10, 0, "FRO", "fault-recording register offset (x16)" },
	{ 0, 34, 4, 0, "SLLPS", "second-level large page sizes (bit 0: 2M, 1: 1G)" },
	{ 0, 39, 1, 0, "PSI", "page-selective invalidation" },
	{ 0, 40, 8, 1, "NFR", "number of fault-recording registers" },
	{ 0, 48, 6, 0, "MAMV", "maximum address mask value" },
	{ 0, 54, 1, 0, "DWD", "write draining" },
	{ 0, 55, 1, 0, "DRD", "read draining" },
	{ 0, 56, 1, 0, "FL1GP", "first-level 1 GiB pages" },
	{ 0, 59, 1, 0, "PI", "posted interrupts" },
	{ 0, 60, 1, 0, "FL5LP", "first-level 5-level paging" },
	{ 0, 62, 1, 0, "ESIRTPS", "enhanced set interrupt root table pointer" },
	{ 0, 63, 1, 0, "ESRTPS", "enhanced set root table pointer" },
	{ 1, 0, 1, 0, "C", "page-walk coherency" },
	{ 1, 1, 1, 0, "QI", "queued invalidation" },
	{ 1, 2, 1, 0, "DT", "device TLB (ATS)" },
	{ 1, 3, 1, 0, "IR", "interrupt remapping" },
	{ 1, 4, 1, 0, "EIM", "extended interrupt mode (x2APIC)" },
	{ 1, 6, 1, 0, "PT", "pass-through" },
	{ 1, 7, 1, 0, "SC", "snoop control" },
	{ 1, 8, 10, 0, "IRO", "IOTLB register offset (x16)" },
	{ 1, 20, 4, 0, "MHMV", "maximum handle mask value" },
	{ 1, 25, 1, 0, "MTS", "memory type support" },
	{ 1, 26, 1, 0, "NEST", "nested translation" },
	{ 1, 29, 1, 0, "PRS", "page request support" },
	{ 1, 30, 1, 0, "ERS", "execute request support" },
	{ 1, 31, 1, 0, "SRS", "supervisor request support" },
	{ 1, 33, 1, 0, "NWFS", "no write flag support" },
	{ 1, 34, 1, 0, "EAFS", "extended accessed flag" },
	{ 1, 35, 5, 0, "PSS", "PASID size supported (PASID bits - 1)" },
	{ 1, 40, 1, 0, "PASID", "process address space IDs" },
	{ 1, 41, 1, 0, "DIT", "device-TLB invalidation throttle" },
	{ 1, 42, 1, 0, "PDS", "page-request drain" },
	{ 1, 43, 1, 0, "SMTS", "scalable-mode translation" },
	{ 1, 45, 1, 0, "SLADS", "second-level accessed/dirty" },
	{ 1, 46, 1, 0, "SLTS", "second-level translation" },
	{ 1, 47, 1, 0, "FLTS", "first-level translation" },
	{ 1, 48, 1, 0, "SMPWC", "scalable-mode page-walk coherency" },
	{ 1, 49, 1, 0, "RPS", "RID-PASID support" },
	{ 1, 51, 1, 0, "PMS", "performance monitoring" },
};

static const struct hw_field smmuv3_fields[] = {
	{ 0, 0, 1, 0, "S2P", "stage-2 translation" },
	{ 0, 1, 1, 0, "S1P", "stage-1 translation" },
	{ 0, 2, 2, 0, "TTF", "translation table formats (2: AArch64, 3: AArch32+64)" },
	{ 0, 4, 1, 0, "COHACC", "coherent access" },
	{ 0, 6, 2, 0, "HTTU", "hardware table updates (1: access, 2: access+dirty)" },
	{ 0, 9, 1, 0, "HYP", "hypervisor stage 1 contexts" },
	{ 0, 10, 1, 0, "ATS", "PCIe ATS" },
	{ 0, 12, 1, 0, "ASID16", "16-bit ASIDs" },
	{ 0, 13, 1, 0, "MSI", "MSI-based completion" },
	{ 0, 14, 1, 0, "SEV", "send event" },
	{ 0, 16, 1, 0, "PRI", "PCIe page request interface" },
	{ 0, 18, 1, 0, "VMID16", "16-bit VMIDs" },
	{ 0, 19, 1, 0, "CD2L", "2-level context descriptor tables" },
	{ 0, 21, 2, 0, "TTENDIAN", "table endianness (0: mixed, 2: LE, 3: BE)" },
	{ 0, 24, 2, 0, "STALL_MODEL", "stall model (0: stall, 1: none, 2: forced)" },
	{ 0, 27, 2, 0, "ST_LVL", "stream table levels (1: 2-level)" },
	{ 1, 0, 6, 0, "SIDSIZE", "stream ID bits" },
	{ 1, 6, 5, 0, "SSIDSIZE", "substream ID bits" },
	{ 1, 11, 5, 0, "PRIQS", "PRI queue size (log2)" },
	{ 1, 16, 5, 0, "EVTQS", "event queue size (log2)" },
	{ 1, 21, 5, 0, "CMDQS", "command queue size (log2)" },
	{ 1, 28, 1, 0, "REL", "relative base pointers" },
	{ 3, 10, 1, 0, "RIL", "range invalidation" },
	{ 5, 0, 3, 0, "OAS", "output address size (0: 32 ... 5: 48, 6: 52 bits)" },
	{ 5, 4, 1, 0, "GRAN4K", "4 KiB translation granule" },
	{ 5, 5, 1, 0, "GRAN16K", "16 KiB translation granule" },
	{ 5, 6, 1, 0, "GRAN64K", "64 KiB translation granule" },
	{ 5, 10, 2, 0, "VAX", "virtual address extend (1: 52-bit)" },
	{ 5, 16, 16, 0, "STALL_MAX", "maximum outstanding stalled transactions" },
};

static size_t decode(const struct hw_field *f, size_t nf, const uint64_t *regs,
		     struct iommufd_hw_cap *caps, size_t max)
{
	for (size_t i = 0; i < nf && i < max; i++) {
		uint64_t mask = f[i].width == 64 ? UINT64_MAX : (1ULL << f[i].width) - 1;

		caps[i].name = f[i].name;
		caps[i].desc = f[i].desc;
		caps[i].value = ((regs[f[i].reg] >> f[i].shift) & mask) + f[i].plus_one;
	}
	return nf;
}

IOMMUFD_API int iommufd_hw_info_decode(const struct iommufd_hw_info *info,
				       struct iommufd_hw_cap *caps, size_t max)
{
	uint64_t regs[6];
	int r;

	check_arg(info);
	check_arg(caps || !max);
	/* What iommufd_get_hw_info() filled: at least the first version. */
	r = check_out(NULL, info, iommufd_hw_info, smmuv3);
	if (r < 0)
		return r;
	switch (info->type) {
	case IOMMUFD_HW_INTEL_VTD:
		regs[0] = info->vtd.cap_reg;
		regs[1] = info->vtd.ecap_reg;
		return (int)decode(vtd_fields, ARRAY_SIZE(vtd_fields), regs, caps, max);
	case IOMMUFD_HW_ARM_SMMUV3:
		for (int i = 0; i < 6; i++)
			regs[i] = info->smmuv3.idr[i];
		return (int)decode(smmuv3_fields, ARRAY_SIZE(smmuv3_fields), regs, caps, max);
	default:
		return 0;
	}
}
