// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * iommufd-ctl info [BDF]: what the running kernel's iommufd can do, and
 * with a device, what its IOMMU can: ranges, alignment, decoded registers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static uint64_t cap(const struct iommufd_hw_cap *caps, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(caps[i].name, name))
			return caps[i].value;
	return 0;
}

int cmd_info(int argc, char **argv)
{
	struct json_object *root = json_object_new_object(), *feats = json_object_new_object();
	struct iommufd_device *dev = NULL;
	struct iommufd_ctx *ctx;
	int r = CTL_OK;

	if (argc > 2) {
		fprintf(stderr, "usage: iommufd-ctl info [BDF]\n");
		json_object_put(root);
		json_object_put(feats);
		return CTL_USAGE;
	}
	if (iommufd_ctx_open(NULL, &ctx) < 0) {
		json_object_put(root);
		json_object_put(feats);
		return ctl_fail("cannot open /dev/iommu");
	}
	if (!ctl.json)
		printf("iommufd features of the running kernel:\n");
	for (int f = 0; f < IOMMUFD_FEAT_COUNT; f++) {
		bool has = iommufd_ctx_has(ctx, f);

		json_object_object_add(feats, iommufd_feature_name(f), json_object_new_boolean(has));
		if (!ctl.json)
			printf("  %-24s %s\n", iommufd_feature_name(f), has ? "yes" : "no");
	}
	json_object_object_add(root, "features", feats);

	if (argc == 2) {
		struct iommufd_iova_range *ranges = NULL;
		struct iommufd_hw_cap caps[128];
		struct iommufd_hw_info hw = { .sz = sizeof(hw) };
		struct json_object *jr = json_object_new_array(), *jc = json_object_new_object();
		uint64_t align = 0;
		uint32_t ioas;
		size_t nr = 0;
		int n = 0;

		if (iommufd_device_open(ctx, argv[1], &dev) < 0 ||
		    iommufd_ioas_alloc(ctx, &ioas) < 0 || iommufd_device_attach(dev, ioas) < 0 ||
		    iommufd_ioas_iova_ranges(ctx, ioas, &ranges, &nr, &align) < 0 ||
		    iommufd_get_hw_info(ctx, iommufd_device_id(dev), &hw) < 0) {
			r = ctl_fail("%s", argv[1]);
			json_object_put(jr);
			json_object_put(jc);
			goto out;
		}
		n = iommufd_hw_info_decode(&hw, caps, 128);
		if (!ctl.json)
			printf("\n%s: IOMMU type %s, IOVA alignment 0x%llx\n  usable IOVA ranges:\n",
			       argv[1], hw.type == IOMMUFD_HW_INTEL_VTD ? "Intel VT-d" :
			       hw.type == IOMMUFD_HW_ARM_SMMUV3 ? "ARM SMMUv3" : "other",
			       (unsigned long long)align);
		for (size_t i = 0; i < nr; i++) {
			char buf[64];

			snprintf(buf, sizeof(buf), "0x%llx-0x%llx", (unsigned long long)ranges[i].start,
				 (unsigned long long)ranges[i].last);
			json_object_array_add(jr, json_object_new_string(buf));
			if (!ctl.json)
				printf("    %s%s\n", buf, i + 1 < nr ? "" : "");
			/* The gap after it is reserved: name the well-known window. */
			if (!ctl.json && i + 1 < nr)
				printf("    (reserved 0x%llx-0x%llx%s)\n",
				       (unsigned long long)ranges[i].last + 1,
				       (unsigned long long)ranges[i + 1].start - 1,
				       ranges[i].last + 1 == 0xfee00000 ? ", the x86 MSI window" : "");
		}
		json_object_object_add(root, "iova_ranges", jr);
		json_object_object_add(root, "iova_alignment", json_object_new_int64(align));
		json_object_object_add(jc, "dirty_tracking", json_object_new_boolean(
			hw.capabilities & IOMMUFD_HW_CAP_DIRTY_TRACKING));
		json_object_object_add(jc, "pasid", json_object_new_boolean(
			cap(caps, n < 128 ? n : 128, "PASID") ||
			(hw.capabilities & IOMMUFD_HW_CAP_PCI_PASID_EXEC)));
		json_object_object_add(jc, "nesting", json_object_new_boolean(
			cap(caps, n < 128 ? n : 128, "NEST") || cap(caps, n < 128 ? n : 128, "S1P")));
		json_object_object_add(jc, "fault_queues", json_object_new_boolean(
			iommufd_ctx_has(ctx, IOMMUFD_FEAT_FAULT_QUEUE_ALLOC)));
		if (!ctl.json) {
			printf("  capabilities:");
			json_object_object_foreach(jc, k, v)
				printf(" %s=%s", k, json_object_get_boolean(v) ? "yes" : "no");
			printf("\n  registers:\n");
		}
		{
			struct json_object *jregs = json_object_new_object();

			for (int i = 0; i < n && i < 128; i++) {
				json_object_object_add(jregs, caps[i].name,
						       json_object_new_int64((int64_t)caps[i].value));
				if (!ctl.json)
					printf("    %-12s %#-10llx %s\n", caps[i].name,
					       (unsigned long long)caps[i].value, caps[i].desc);
			}
			json_object_object_add(root, "registers", jregs);
		}
		json_object_object_add(root, "capabilities", jc);
		free(ranges);
	}
out:
	if (ctl.json && r == CTL_OK)
		ctl_print_json(root);
	else
		json_object_put(root);
	iommufd_device_close(dev);
	iommufd_ctx_unref(ctx);
	return r;
}
