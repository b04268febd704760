// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * iommufd-ctl dma-test BDF: for a device this tool can drive (QEMU's edu),
 * a DMA round trip through the IOMMU, then unmap and show the device's DMA
 * no longer lands.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ctl.h"

#define IOVA 0x1000000
#define LEN CTL_EDU_DMA_LEN

int cmd_dma_test(int argc, char **argv)
{
	struct iommufd_device *dev = NULL;
	struct iommufd_ctx *ctx = NULL;
	struct ctl_pci pci;
	uint64_t iova = IOVA;
	bool landed, blocked = true;
	uint32_t ioas;
	uint8_t *buf;
	int r = CTL_FAILED;

	if (argc != 2) {
		fprintf(stderr, "usage: iommufd-ctl dma-test BDF\n");
		return CTL_USAGE;
	}
	if (ctl_pci_get(argv[1], &pci) < 0) {
		fprintf(stderr, "iommufd-ctl: no PCI device %s\n", argv[1]);
		return CTL_FAILED;
	}
	if (!ctl_is_edu(&pci)) {
		fprintf(stderr, "iommufd-ctl: dma-test drives only QEMU's edu device (1234:11e8); "
			"%s is %04x:%04x\n", pci.bdf, pci.vendor, pci.device);
		return CTL_FAILED;
	}
	buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return ctl_fail("mmap");
	if (iommufd_ctx_open(NULL, &ctx) < 0 || iommufd_device_open(ctx, pci.bdf, &dev) < 0 ||
	    iommufd_ioas_alloc(ctx, &ioas) < 0 || iommufd_device_attach(dev, ioas) < 0 ||
	    iommufd_device_set_bus_master(dev, true) < 0 ||
	    iommufd_ioas_map(ctx, ioas, buf, 4096, &iova, IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA) < 0) {
		r = ctl_fail("%s", pci.bdf);
		goto out;
	}
	if (ctl_edu_roundtrip(dev, buf, iova, &landed)) {
		r = ctl_fail("%s: the device did not finish its DMA", pci.bdf);
		goto out;
	}
	if (iommufd_ioas_unmap(ctx, ioas, iova, 4096, NULL) < 0) {
		r = ctl_fail("unmap");
		goto out;
	}
	memset(buf, 0xee, 4096);
	if (ctl_edu_dma_to_ram(dev, iova) == 0)
		for (int i = 0; i < 4096; i++)
			blocked &= buf[i] == 0xee;
	if (ctl.json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "bdf", json_object_new_string(pci.bdf));
		json_object_object_add(o, "iova", json_object_new_int64(IOVA));
		json_object_object_add(o, "roundtrip", json_object_new_boolean(landed));
		json_object_object_add(o, "blocked_after_unmap", json_object_new_boolean(blocked));
		ctl_print_json(o);
	} else {
		printf("%s: DMA of %d bytes to and from IOVA 0x%x: %s\n", pci.bdf, LEN, IOVA,
		       landed ? "data came back intact" : "DATA DIFFERS");
		printf("%s: after unmap, the device's DMA to IOVA 0x%x %s\n", pci.bdf, IOVA,
		       blocked ? "was blocked by the IOMMU (memory untouched)" : "STILL LANDED");
	}
	r = landed && blocked ? CTL_OK : CTL_FAILED;
out:
	iommufd_device_close(dev);
	iommufd_ctx_unref(ctx);
	munmap(buf, 4096);
	return r;
}
