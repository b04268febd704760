// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Hardware info: iommufd_get_hw_info() (libiommufd/hw_info.c) over the
 * fake kernel's IOMMU_GET_HW_INFO, whose data type, registers and
 * capability bits come from the input, then iommufd_hw_info_decode()
 * (libiommufd/hw_info_decode.c) into a caller's array of every size from
 * none up: nothing is written past @max, the count is the same whatever
 * @max, each field has a name and a description, and fields the
 * specifications fix (VT-d SAGAW and MGAW, SMMUv3 OAS) have their values.
 * Then the decoder alone on a struct straight from the input, with any type.
 *
 * Input: the fake kernel's replies, then faults (see fuzz.h), the split
 * at byte 0's value; then a device ID choice and a struct for the decoder.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <iommufd/iommufd.h>

#include "fuzz.h"

static const struct iommufd_hw_cap *find(const struct iommufd_hw_cap *caps, size_t n,
					 const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(caps[i].name, name))
			return &caps[i];
	return NULL;
}

static void check_decode(const struct iommufd_hw_info *info)
{
	struct iommufd_hw_cap all[128], *few;
	int n = iommufd_hw_info_decode(info, all, 128), m;
	const struct iommufd_hw_cap *c;

	fuzz_assert(n >= 0 && n <= 128, "decode: %d", n);
	if (info->type != IOMMUFD_HW_INTEL_VTD && info->type != IOMMUFD_HW_ARM_SMMUV3)
		fuzz_assert(n == 0, "type %u decodes to %d fields", info->type, n);
	for (int i = 0; i < n; i++) {
		fuzz_assert(all[i].name && all[i].name[0] && all[i].desc && all[i].desc[0],
			    "field %d has no name", i);
		for (int j = 0; j < i; j++)
			fuzz_assert(strcmp(all[i].name, all[j].name), "%s twice", all[i].name);
	}
	if (info->type == IOMMUFD_HW_INTEL_VTD && n) {
		c = find(all, n, "SAGAW");
		fuzz_assert(c && c->value == ((info->vtd.cap_reg >> 8) & 0x1f), "SAGAW");
		c = find(all, n, "MGAW");
		fuzz_assert(c && c->value == ((info->vtd.cap_reg >> 16) & 0x3f) + 1, "MGAW");
		c = find(all, n, "PASID");
		fuzz_assert(c && c->value == ((info->vtd.ecap_reg >> 40) & 1), "PASID");
	}
	if (info->type == IOMMUFD_HW_ARM_SMMUV3 && n) {
		c = find(all, n, "OAS");
		fuzz_assert(c && c->value == (info->smmuv3.idr[5] & 7), "OAS");
	}
	/* Exactly @max entries of room: ASan sees a write past them. */
	for (size_t max = 0; max <= (size_t)n + 1; max++) {
		few = malloc((max ? max : 1) * sizeof(*few));
		m = iommufd_hw_info_decode(info, max ? few : NULL, max);
		fuzz_assert(m == n, "decode into %zu: %d, into 128: %d", max, m, n);
		for (size_t i = 0; i < max && i < (size_t)n; i++)
			fuzz_assert(!strcmp(few[i].name, all[i].name) && few[i].value == all[i].value,
				    "decode into %zu differs at %zu", max, i);
		free(few);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = { data, size };
	size_t split = fz_u8(&in);
	struct fake_kernel_opts ko = { .replies = fz_split(&in, split * 4) };
	struct iommufd_device *dev = NULL;
	struct iommufd_ctx *ctx = NULL;
	struct iommufd_hw_info info = { .sz = sizeof(info) };
	uint32_t dev_id;
	int fd, cdev, r;

	ko.faults = fz_split(&in, fz_u8(&in) % 8);
	fake_reset();
	fake_kernel_reset(&ko);
	fd = fake_iommufd_open();
	cdev = fake_vfio_cdev_open();
	if (fd < 0 || cdev < 0)
		goto out;
	if (iommufd_ctx_from_fd(fd, IOMMUFD_CTX_FD_OWN, &ctx) < 0)
		goto out;
	fd = -1;
	if (iommufd_device_from_fd(ctx, cdev, IOMMUFD_CTX_FD_OWN, 0, &dev) < 0)
		goto out;
	cdev = -1;
	/* The device's own ID, or another: ENOENT, with words. */
	dev_id = fz_bool(&in) ? iommufd_device_id(dev) : fz_u32(&in);
	memset(&info, 0xa5, sizeof(info));
	info.sz = sizeof(info);
	r = iommufd_get_hw_info(ctx, dev_id, &info);
	if (r < 0)
		fuzz_assert(iommufd_last_error()[0], "hw info failed (%d) with no explanation", r);
	else
		check_decode(&info);
out:
	iommufd_device_close(dev);
	iommufd_ctx_unref(ctx);
	if (fd >= 0)
		close(fd);
	if (cdev >= 0)
		close(cdev);
	/* The decoder alone, on anything. */
	fz_fill(&in, &info, sizeof(info));
	info.type %= 4;
	/* A size below the first version is refused; any other is decoded. */
	if (info.sz < offsetof(struct iommufd_hw_info, smmuv3) + sizeof(info.smmuv3)) {
		r = iommufd_hw_info_decode(&info, NULL, 0);
		fuzz_assert(r == -EINVAL, "decode of a %zu-byte struct: %d", info.sz, r);
		info.sz = sizeof(info);
	}
	check_decode(&info);
	fake_reset();
	return 0;
}
