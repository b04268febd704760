/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * QEMU's edu device, as much as the examples drive: its registers in BAR0,
 * finding it in sysfs, starting a DMA, acknowledging its interrupt.
 * Header-only so that each example stays one file to read.
 */
#ifndef EXAMPLES_EDU_H
#define EXAMPLES_EDU_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <iommufd/iommufd.h>

#define REG_DMA_SRC	0x80
#define REG_DMA_DST	0x88
#define REG_DMA_COUNT	0x90
#define REG_DMA_CMD	0x98
#define REG_IRQ_STATUS	0x24
#define REG_IRQ_ACK	0x64
#define DMA_START	0x1
#define DMA_TO_RAM	0x2
#define DMA_IRQ		0x4
#define DEV_BUF		0x40000	/* the device's own 4 KiB buffer */
#define EDU_DMA_MASK	0xfffffffULL	/* 28 bits unless QEMU is told otherwise */

static inline int reg_write(struct iommufd_device *dev, uint64_t reg, uint64_t val)
{
	ssize_t n = iommufd_device_region_write(dev, IOMMUFD_PCI_BAR0, &val, 8, reg);

	return n == 8 ? 0 : n < 0 ? (int)n : -EIO;
}

static inline int reg_read32(struct iommufd_device *dev, uint64_t reg, uint32_t *val)
{
	ssize_t n = iommufd_device_region_read(dev, IOMMUFD_PCI_BAR0, val, 4, reg);

	return n == 4 ? 0 : n < 0 ? (int)n : -EIO;
}

/* Start one DMA of @len bytes (QEMU takes 1..4095) that raises an interrupt when done. */
static inline int edu_start_dma(struct iommufd_device *dev, uint64_t src, uint64_t dst,
				uint32_t len, uint64_t cmd)
{
	int r;

	if ((r = reg_write(dev, REG_DMA_SRC, src)) || (r = reg_write(dev, REG_DMA_DST, dst)) ||
	    (r = reg_write(dev, REG_DMA_COUNT, len)))
		return r;
	return reg_write(dev, REG_DMA_CMD, cmd | DMA_START | DMA_IRQ);
}

/* After the interrupt: clear what the device raised. */
static inline int edu_irq_ack(struct iommufd_device *dev)
{
	uint32_t status;
	int r = reg_read32(dev, REG_IRQ_STATUS, &status);

	return r ? r : reg_write(dev, REG_IRQ_ACK, status);
}

/* The first PCI 1234:11e8 device. */
static inline int find_edu(char *bdf, size_t len)
{
	char path[300], id[16];
	struct dirent *de;
	FILE *f;
	DIR *d = opendir("/sys/bus/pci/devices");

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(id, sizeof(id), f) && !strncmp(id, "0x11e8", 6)) {
			snprintf(bdf, len, "%s", de->d_name);
			fclose(f);
			closedir(d);
			return 0;
		}
		fclose(f);
	}
	closedir(d);
	return -ENODEV;
}

#endif
