/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The QEMU edu device (PCI 1234:11e8) as a DMA engine for tests: its DMA
 * goes through the IOMMU, so a test can see a mapping work and, once it is
 * gone, see the IOMMU block it.
 */
#ifndef TESTS_VM_EDU_H
#define TESTS_VM_EDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iommufd/iommufd.h>
#include <iommufd/ioas.h>

#define EDU_REG_ID		0x00
#define EDU_REG_LIVENESS	0x04
#define EDU_REG_IRQ_STATUS	0x24
#define EDU_REG_IRQ_RAISE	0x60
#define EDU_REG_IRQ_ACK		0x64
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_COUNT	0x90
#define EDU_REG_DMA_CMD		0x98
#define EDU_DMA_START		0x1
#define EDU_DMA_TO_RAM		0x2
#define EDU_DMA_IRQ		0x4
#define EDU_DMA_IRQ_STATUS	0x100	/* the IRQ status bit a DMA raises */
/* The device's internal buffer: 4 KiB at this device address. */
#define EDU_BUF_ADDR		0x40000
/* QEMU 7.2 aborts the VM on a count of 0 or 4096: keep within 1..4095. */
#define EDU_DMA_MAX		4095

/* The device's default DMA mask: 28 bits. */
#define EDU_DMA_LIMIT		0xfffffffULL

/* The BDF of the first edu device, or -ENODEV. */
int edu_find(char *bdf, size_t len);

/*
 * What an edu DMA test starts from: a new iommufd with the edu device bound
 * and attached to a new struct ioas limited to its DMA mask (ranges read
 * again, since the attach took the MSI window out), bus mastering on.
 * -ENODEV: no edu device; -ENXIO: the guest booted without an IOMMU; else 0
 * or the failing call's -errno, with nothing left open.
 */
int edu_ioas_open(struct iommufd_ctx **ctx, struct iommufd_device **dev, struct ioas **ioas);
void edu_ioas_close(struct iommufd_ctx *ctx, struct iommufd_device *dev, struct ioas *ioas);

int edu_read32(struct iommufd_device *dev, uint64_t reg, uint32_t *val);
int edu_write32(struct iommufd_device *dev, uint64_t reg, uint32_t val);
int edu_write64(struct iommufd_device *dev, uint64_t reg, uint64_t val);

/*
 * One DMA of @count bytes between the IOVA @iova and the device buffer at
 * @buf_off; @to_ram picks the direction. With @irq the device also raises
 * its interrupt. Waits (polling) until the device says it is done.
 */
int edu_dma(struct iommufd_device *dev, uint64_t iova, uint32_t buf_off, uint32_t count,
	    bool to_ram, bool irq);

/*
 * A round trip through @iova: @len bytes of @pattern written at @buf (what
 * @iova maps) go to the device and come back over zeroes. Did they land?
 */
bool edu_roundtrip(struct iommufd_device *dev, uint8_t *buf, uint64_t iova, uint32_t len,
		   uint8_t pattern);

/* The kernel log from now on: an fd to pass to kmsg_count(), then close. */
int kmsg_open(void);
/* Records read from @fd since the last call that contain @needle. */
int kmsg_count(int fd, const char *needle);

#endif
