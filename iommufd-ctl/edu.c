// SPDX-License-Identifier: LGPL-2.1-or-later
/* QEMU's edu device, the one device this tool can make do DMA (PCI 1234:11e8). */
#include <string.h>
#include <unistd.h>

#include "ctl.h"

#define REG_DMA_SRC	0x80
#define REG_DMA_DST	0x88
#define REG_DMA_COUNT	0x90
#define REG_DMA_CMD	0x98
#define DMA_START	0x1
#define DMA_TO_RAM	0x2
#define DEV_BUF		0x40000

bool ctl_is_edu(const struct ctl_pci *dev)
{
	return dev->vendor == 0x1234 && dev->device == 0x11e8;
}

static int reg_write(struct iommufd_device *dev, uint64_t reg, uint64_t v)
{
	return iommufd_device_region_write(dev, IOMMUFD_PCI_BAR0, &v, 8, reg) == 8 ? 0 : -1;
}

/* Start a DMA and poll until the device is done (it takes about 100 ms). */
static int dma(struct iommufd_device *dev, uint64_t src, uint64_t dst, uint64_t cmd)
{
	uint32_t st = 1;

	if (reg_write(dev, REG_DMA_SRC, src) || reg_write(dev, REG_DMA_DST, dst) ||
	    reg_write(dev, REG_DMA_COUNT, CTL_EDU_DMA_LEN) ||
	    reg_write(dev, REG_DMA_CMD, cmd | DMA_START))
		return -1;
	for (int i = 0; i < 300 && (st & DMA_START); i++) {
		usleep(10000);
		if (iommufd_device_region_read(dev, IOMMUFD_PCI_BAR0, &st, 4, REG_DMA_CMD) != 4)
			return -1;
	}
	return st & DMA_START ? -1 : 0;
}

int ctl_edu_roundtrip(struct iommufd_device *dev, uint8_t *buf, uint64_t iova, bool *landed)
{
	for (int i = 0; i < CTL_EDU_DMA_LEN; i++)
		buf[i] = (uint8_t)(i * 13 + 7);
	memset(buf + CTL_EDU_DMA_LEN, 0, CTL_EDU_DMA_LEN);
	if (dma(dev, iova, DEV_BUF, 0) || dma(dev, DEV_BUF, iova + CTL_EDU_DMA_LEN, DMA_TO_RAM))
		return -1;
	*landed = !memcmp(buf, buf + CTL_EDU_DMA_LEN, CTL_EDU_DMA_LEN);
	return 0;
}

int ctl_edu_dma_to_ram(struct iommufd_device *dev, uint64_t iova)
{
	return dma(dev, DEV_BUF, iova, DMA_TO_RAM);
}
