// SPDX-License-Identifier: LGPL-2.1-or-later
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "edu.h"

static bool sysfs_hex_is(const char *dev, const char *attr, unsigned int want)
{
	char path[256];
	unsigned int v;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", dev, attr);
	f = fopen(path, "re");
	if (!f)
		return false;
	n = fscanf(f, "%x", &v);
	fclose(f);
	return n == 1 && v == want;
}

int edu_find(char *bdf, size_t len)
{
	struct dirent *de;
	DIR *d;
	int r = -ENODEV;

	d = opendir("/sys/bus/pci/devices");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (sysfs_hex_is(de->d_name, "vendor", 0x1234) &&
		    sysfs_hex_is(de->d_name, "device", 0x11e8)) {
			snprintf(bdf, len, "%s", de->d_name);
			r = 0;
			break;
		}
	}
	closedir(d);
	return r;
}

int edu_ioas_open(struct iommufd_ctx **ctx, struct iommufd_device **dev, struct ioas **ioas)
{
	IOAS_OPTS(ioas_opts, opts, .dma_limit = EDU_DMA_LIMIT);
	const char *iommu = getenv("LIBIOMMUFD_VM_IOMMU");
	char bdf[32];
	int r;

	*ctx = NULL;
	*dev = NULL;
	*ioas = NULL;
	if (edu_find(bdf, sizeof(bdf)) < 0)
		return -ENODEV;
	if (!iommu || !strcmp(iommu, "0"))
		return -ENXIO;
	r = iommufd_ctx_open(NULL, ctx);
	if (!r)
		r = iommufd_device_open(*ctx, bdf, dev);
	if (!r)
		r = ioas_new(*ctx, &opts, ioas);
	if (!r)
		r = iommufd_device_attach(*dev, ioas_id(*ioas));
	if (!r)
		r = ioas_refresh_ranges(*ioas);
	if (!r)
		r = iommufd_device_set_bus_master(*dev, true);
	if (r < 0) {
		edu_ioas_close(*ctx, *dev, *ioas);
		*ctx = NULL;
		*dev = NULL;
		*ioas = NULL;
	}
	return r;
}

void edu_ioas_close(struct iommufd_ctx *ctx, struct iommufd_device *dev, struct ioas *ioas)
{
	iommufd_device_close(dev);
	ioas_free(ioas);
	iommufd_ctx_unref(ctx);
}

int edu_read32(struct iommufd_device *dev, uint64_t reg, uint32_t *val)
{
	ssize_t n = iommufd_device_region_read(dev, IOMMUFD_PCI_BAR0, val, 4, reg);

	return n == 4 ? 0 : n < 0 ? (int)n : -EIO;
}

int edu_write32(struct iommufd_device *dev, uint64_t reg, uint32_t val)
{
	ssize_t n = iommufd_device_region_write(dev, IOMMUFD_PCI_BAR0, &val, 4, reg);

	return n == 4 ? 0 : n < 0 ? (int)n : -EIO;
}

int edu_write64(struct iommufd_device *dev, uint64_t reg, uint64_t val)
{
	ssize_t n = iommufd_device_region_write(dev, IOMMUFD_PCI_BAR0, &val, 8, reg);

	return n == 8 ? 0 : n < 0 ? (int)n : -EIO;
}

int edu_dma(struct iommufd_device *dev, uint64_t iova, uint32_t buf_off, uint32_t count,
	    bool to_ram, bool irq)
{
	uint64_t dev_addr = EDU_BUF_ADDR + buf_off;
	uint32_t cmd;
	int r;

	if (!count || count > EDU_DMA_MAX || buf_off + count > 4096)
		return -EINVAL;
	r = edu_write64(dev, EDU_REG_DMA_SRC, to_ram ? dev_addr : iova);
	if (!r)
		r = edu_write64(dev, EDU_REG_DMA_DST, to_ram ? iova : dev_addr);
	if (!r)
		r = edu_write64(dev, EDU_REG_DMA_COUNT, count);
	if (!r)
		r = edu_write64(dev, EDU_REG_DMA_CMD,
				EDU_DMA_START | (to_ram ? EDU_DMA_TO_RAM : 0) |
					(irq ? EDU_DMA_IRQ : 0));
	if (r)
		return r;
	/* The DMA runs on a QEMU timer about 100 ms later. */
	for (int i = 0; i < 500; i++) {
		r = edu_read32(dev, EDU_REG_DMA_CMD, &cmd);
		if (r)
			return r;
		if (!(cmd & EDU_DMA_START))
			return 0;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	/* /dev/kmsg seeks to the end of the log: only new records follow. */
	if (lseek(fd, 0, SEEK_END) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

int kmsg_count(int fd, const char *needle)
{
	char rec[2048];
	int count = 0;
	ssize_t n;

	/* One record per read; EPIPE when records were overwritten, EAGAIN at the end. */
	while ((n = read(fd, rec, sizeof(rec) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		if (n <= 0)
			continue;
		rec[n] = '\0';
		if (strstr(rec, needle))
			count++;
	}
	return count;
}

bool edu_roundtrip(struct iommufd_device *dev, uint8_t *buf, uint64_t iova, uint32_t len,
		   uint8_t pattern)
{
	memset(buf, pattern, len);
	if (edu_dma(dev, iova, 0, len, false, false))
		return false;
	memset(buf, 0, len);
	if (edu_dma(dev, iova, 0, len, true, false))
		return false;
	for (uint32_t i = 0; i < len; i++)
		if (buf[i] != pattern)
			return false;
	return true;
}
