// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * edu-dma: a complete userspace driver for QEMU's edu device on libiommufd.
 *
 * It finds the device, binds it to an iommufd, attaches it to an IOAS, maps
 * a buffer, has the device DMA it in and back out with completion by MSI on
 * an eventfd, checks the data, unmaps, and shows that the device can no
 * longer reach the buffer.
 *
 *	edu-dma [BDF]		(default: the first 1234:11e8 device)
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <iommufd/iommufd.h>

#include "edu.h"

#define LEN		2048	/* QEMU's edu takes 1..4095 bytes */
#define BUF_IOVA	0x200000

static int die(const char *what, int err)
{
	fprintf(stderr, "edu-dma: %s: %s\n  %s\n", what, strerror(-err), iommufd_last_error());
	return 1;
}

/* Start a DMA and wait for its MSI on @efd; ack the device's IRQ status. */
static int dma(struct iommufd_device *dev, int efd, uint64_t src, uint64_t dst, uint64_t cmd)
{
	struct pollfd pfd = { .fd = efd, .events = POLLIN };
	uint64_t count;
	int r = edu_start_dma(dev, src, dst, LEN, cmd);

	if (r)
		return r;
	r = poll(&pfd, 1, 5000);
	if (r <= 0)
		return r ? -errno : -ETIMEDOUT;
	if (read(efd, &count, sizeof(count)) != sizeof(count))
		return -EIO;
	return edu_irq_ack(dev);
}

int main(int argc, char **argv)
{
	struct iommufd_device *dev = NULL;
	struct iommufd_ctx *ctx = NULL;
	uint64_t iova = BUF_IOVA;
	uint32_t ioas_id;
	char bdf[300];
	int efd = -1, r, ret = 1;
	uint8_t *buf;

	if (argc > 1)
		snprintf(bdf, sizeof(bdf), "%s", argv[1]);
	else if (find_edu(bdf, sizeof(bdf)) < 0) {
		fprintf(stderr, "edu-dma: no edu device (PCI 1234:11e8) found\n");
		return 77;
	}
	buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return die("mmap", -errno);

	/* Bring the device up: iommufd, bind, IOAS, attach, map. */
	if ((r = iommufd_ctx_open(NULL, &ctx)))
		return die("open /dev/iommu", r);
	if ((r = iommufd_device_open(ctx, bdf, &dev))) {
		ret = die("open the device", r);
		goto out;
	}
	if ((r = iommufd_ioas_alloc(ctx, &ioas_id)) ||
	    (r = iommufd_device_attach(dev, ioas_id))) {
		ret = die("attach", r);
		goto out;
	}
	if ((r = iommufd_ioas_map(ctx, ioas_id, buf, 4096, &iova,
				  IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA))) {
		ret = die("map", r);
		goto out;
	}
	printf("%s: device %u attached to IOAS %u; buffer %p mapped at IOVA 0x%" PRIx64 "\n",
	       bdf, iommufd_device_id(dev), ioas_id, (void *)buf, iova);

	/* Interrupts: MSI vector 0 to an eventfd; DMA needs bus mastering. */
	efd = eventfd(0, EFD_CLOEXEC);
	if (efd < 0 || (r = iommufd_device_irq_enable(dev, IOMMUFD_PCI_MSI, 0, 1, &efd)) ||
	    (r = iommufd_device_set_bus_master(dev, true))) {
		ret = die("enable MSI and bus mastering", efd < 0 ? -errno : r);
		goto out;
	}

	for (int i = 0; i < LEN; i++)
		buf[i] = (uint8_t)(i ^ 0x5c);
	if ((r = dma(dev, efd, iova, DEV_BUF, 0))) {
		ret = die("DMA to the device", r);
		goto out;
	}
	if ((r = dma(dev, efd, DEV_BUF, iova + LEN, DMA_TO_RAM))) {
		ret = die("DMA from the device", r);
		goto out;
	}
	if (memcmp(buf, buf + LEN, LEN)) {
		fprintf(stderr, "edu-dma: data came back different\n");
		goto out;
	}
	printf("DMA round trip of %d bytes through the IOMMU: data verified, 2 MSIs taken\n",
	       LEN);

	/* Unmapped, the device's DMA is blocked by the IOMMU. */
	if ((r = iommufd_ioas_unmap(ctx, ioas_id, iova, 4096, NULL))) {
		ret = die("unmap", r);
		goto out;
	}
	memset(buf, 0xee, 4096);
	if ((r = dma(dev, efd, DEV_BUF, iova, DMA_TO_RAM))) {
		ret = die("DMA after unmap", r);
		goto out;
	}
	for (int i = 0; i < 4096; i++) {
		if (buf[i] != 0xee) {
			fprintf(stderr, "edu-dma: DMA reached the buffer after unmap\n");
			goto out;
		}
	}
	printf("after unmap the device's DMA was blocked by the IOMMU: buffer untouched\n");
	ret = 0;
out:
	if (efd >= 0) {
		iommufd_device_irq_disable(dev, IOMMUFD_PCI_MSI);
		close(efd);
	}
	iommufd_device_close(dev);
	iommufd_ctx_unref(ctx);
	munmap(buf, 4096);
	return ret;
}
