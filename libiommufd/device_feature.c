// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * VFIO device features (VFIO_DEVICE_FEATURE): probing, the raw GET/SET, and
 * the ones a VMM needs beside migration (device_mig.c): DMA logging, low
 * power, the SR-IOV VF token.
 */
#include <stdio.h>
#include <stdlib.h>

#include "device_feature.h"

static const char *const feature_names[IOMMUFD_DEVICE_FEATURE_NR] = {
	[IOMMUFD_DEVICE_FEATURE_PCI_VF_TOKEN] = "PCI_VF_TOKEN",
	[IOMMUFD_DEVICE_FEATURE_MIGRATION] = "MIGRATION",
	[IOMMUFD_DEVICE_FEATURE_MIG_DEVICE_STATE] = "MIG_DEVICE_STATE",
	[IOMMUFD_DEVICE_FEATURE_LOW_POWER_ENTRY] = "LOW_POWER_ENTRY",
	[IOMMUFD_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP] = "LOW_POWER_ENTRY_WITH_WAKEUP",
	[IOMMUFD_DEVICE_FEATURE_LOW_POWER_EXIT] = "LOW_POWER_EXIT",
	[IOMMUFD_DEVICE_FEATURE_DMA_LOGGING_START] = "DMA_LOGGING_START",
	[IOMMUFD_DEVICE_FEATURE_DMA_LOGGING_STOP] = "DMA_LOGGING_STOP",
	[IOMMUFD_DEVICE_FEATURE_DMA_LOGGING_REPORT] = "DMA_LOGGING_REPORT",
	[IOMMUFD_DEVICE_FEATURE_MIG_DATA_SIZE] = "MIG_DATA_SIZE",
};

IOMMUFD_API const char *iommufd_device_feature_name(uint32_t feature)
{
	return feature < IOMMUFD_DEVICE_FEATURE_NR ? feature_names[feature] : NULL;
}

const char *iommufd_dev_label(const struct iommufd_device *dev)
{
	return dev->name[0] ? dev->name : "device";
}

/* "MIGRATION", or "feature 12" for one this library has no name for. */
static const char *feature_label(uint32_t feature, char *buf, size_t len)
{
	const char *name = iommufd_device_feature_name(feature);

	if (name)
		return name;
	snprintf(buf, len, "feature %u", feature);
	return buf;
}

/* The header and up to 64 bytes of data: every feature this library calls fits. */
#define FEATURE_INLINE 64

int iommufd_feature_ioctl(struct iommufd_device *dev, uint32_t flags, void *data, size_t len)
{
	uint64_t inline_buf[(sizeof(struct vfio_device_feature) + FEATURE_INLINE) / 8];
	struct vfio_device_feature *f = (struct vfio_device_feature *)inline_buf;
	size_t argsz = sizeof(*f) + len;
	int r;

	if (len > UINT32_MAX - sizeof(*f))
		return -EINVAL;
	if (len > FEATURE_INLINE) {
		f = malloc(argsz);
		if (!f)
			return -ENOMEM;
	}
	f->argsz = (uint32_t)argsz;
	f->flags = flags;
	if (len)
		memcpy(f->data, data, len);
	r = xioctl(dev->fd, VFIO_DEVICE_FEATURE, f);
	/* The kernel writes GET results, and some SETs (DMA_LOGGING_START's page size), back. */
	if (r >= 0 && len)
		memcpy(data, f->data, len);
	if (f != (struct vfio_device_feature *)inline_buf)
		free(f);
	return r;
}

IOMMUFD_API int iommufd_device_feature_probe(struct iommufd_device *dev, uint32_t feature,
					     uint32_t *ops)
{
	char buf[32];
	uint32_t got = 0;
	int r;

	check_arg(dev);
	check_arg(feature <= VFIO_DEVICE_FEATURE_MASK);
	/* PROBE alone: offered at all. PROBE with GET or SET: that op too (EINVAL if not). */
	r = iommufd_feature_ioctl(dev, VFIO_DEVICE_FEATURE_PROBE | feature, NULL, 0);
	if (r == -ENOTTY)
		return iommufd_fail(dev->ctx, r, "%s does not offer the VFIO device feature %s",
				    iommufd_dev_label(dev), feature_label(feature, buf, sizeof(buf)));
	if (r < 0)
		return iommufd_fail_errno(dev->ctx, r, "VFIO_DEVICE_FEATURE_PROBE");
	if (!iommufd_feature_ioctl(dev, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET |
					feature, NULL, 0))
		got |= IOMMUFD_DEVICE_FEATURE_GET;
	if (!iommufd_feature_ioctl(dev, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET |
					feature, NULL, 0))
		got |= IOMMUFD_DEVICE_FEATURE_SET;
	if (ops)
		*ops = got;
	return 0;
}

IOMMUFD_API int iommufd_device_feature(struct iommufd_device *dev, uint32_t feature,
				       uint32_t op, void *data, size_t len)
{
	char buf[32];
	uint32_t flags;
	int r;

	check_arg(dev);
	check_arg(feature <= VFIO_DEVICE_FEATURE_MASK);
	check_arg(op == IOMMUFD_DEVICE_FEATURE_GET || op == IOMMUFD_DEVICE_FEATURE_SET);
	check_arg(data || !len);
	flags = feature | (op == IOMMUFD_DEVICE_FEATURE_GET ? VFIO_DEVICE_FEATURE_GET
							    : VFIO_DEVICE_FEATURE_SET);
	r = iommufd_feature_ioctl(dev, flags, data, len);
	if (r == -ENOTTY)
		return iommufd_fail(dev->ctx, r, "%s does not offer the VFIO device feature %s",
				    iommufd_dev_label(dev), feature_label(feature, buf, sizeof(buf)));
	if (r < 0)
		return iommufd_fail(dev->ctx, r, "%s: VFIO_DEVICE_FEATURE %s of %s: %s",
				    iommufd_dev_label(dev),
				    op == IOMMUFD_DEVICE_FEATURE_GET ? "GET" : "SET",
				    feature_label(feature, buf, sizeof(buf)), strerror(-r));
	return 0;
}

/* ---- DMA logging ---- */

static int no_dma_log(struct iommufd_device *dev)
{
	return iommufd_fail(dev->ctx, -ENOTTY,
			    "%s has no device DMA logging (its driver does not track the pages "
			    "the device writes; use a dirty-tracking HWPT where the IOMMU can)",
			    iommufd_dev_label(dev));
}

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

IOMMUFD_API int iommufd_device_dma_log_start(struct iommufd_device *dev,
					     const struct iommufd_iova_range *ranges, size_t nr,
					     uint64_t *page_size)
{
	struct vfio_device_feature_dma_logging_control ctl = { 0 };
	struct vfio_device_feature_dma_logging_range *kr;
	size_t i;
	int r;

	check_arg(dev);
	check_arg(ranges && nr);
	check_arg(page_size);
	if (!is_pow2(*page_size) || *page_size < 4096)
		return iommufd_fail(dev->ctx, -EINVAL,
				    "DMA logging page size 0x%llx is not a power of two of 4 KiB "
				    "or more", (unsigned long long)*page_size);
	/* The kernel takes one page of ranges. */
	if (nr > 4096 / sizeof(*kr))
		return iommufd_fail(dev->ctx, -E2BIG, "%zu DMA logging ranges: at most %zu",
				    nr, 4096 / sizeof(*kr));
	kr = calloc(nr, sizeof(*kr));
	if (!kr)
		return iommufd_fail(dev->ctx, -ENOMEM, "out of memory");
	for (i = 0; i < nr; i++) {
		uint64_t mask = *page_size - 1;

		if (ranges[i].last < ranges[i].start || (ranges[i].start & mask) ||
		    ((ranges[i].last + 1) & mask)) {
			r = iommufd_fail(dev->ctx, -EINVAL,
					 "DMA logging range %zu (0x%llx-0x%llx) is empty or not "
					 "aligned to the page size 0x%llx", i,
					 (unsigned long long)ranges[i].start,
					 (unsigned long long)ranges[i].last,
					 (unsigned long long)*page_size);
			goto out_free;
		}
		kr[i].iova = ranges[i].start;
		kr[i].length = ranges[i].last - ranges[i].start + 1;
	}
	ctl.page_size = *page_size;
	ctl.num_ranges = (uint32_t)nr;
	ctl.ranges = (uintptr_t)kr;
	r = iommufd_feature_ioctl(dev, VFIO_DEVICE_FEATURE_SET |
				  VFIO_DEVICE_FEATURE_DMA_LOGGING_START, &ctl, sizeof(ctl));
	if (r == -ENOTTY) {
		r = no_dma_log(dev);
	} else if (r == -EINVAL) {
		r = iommufd_fail(dev->ctx, r,
				 "%s: DMA logging refused the ranges (overlapping?) or is "
				 "already running", iommufd_dev_label(dev));
	} else if (r < 0) {
		r = iommufd_fail_errno(dev->ctx, r, "VFIO_DEVICE_FEATURE_DMA_LOGGING_START");
	} else {
		*page_size = ctl.page_size;
		r = 0;
	}
out_free:
	free(kr);
	return r;
}

IOMMUFD_API int iommufd_device_dma_log_stop(struct iommufd_device *dev)
{
	int r;

	check_arg(dev);
	r = iommufd_feature_ioctl(dev, VFIO_DEVICE_FEATURE_SET |
				  VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, NULL, 0);
	if (r == -ENOTTY)
		return no_dma_log(dev);
	if (r < 0)
		return iommufd_fail_errno(dev->ctx, r, "VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP");
	return 0;
}

IOMMUFD_API int iommufd_device_dma_log_report(struct iommufd_device *dev, uint64_t iova,
					      uint64_t length, uint64_t page_size,
					      uint64_t *bitmap)
{
	struct vfio_device_feature_dma_logging_report rep = {
		.iova = iova,
		.length = length,
		.page_size = page_size,
		.bitmap = (uintptr_t)bitmap,
	};
	int r;

	check_arg(dev);
	check_arg(bitmap);
	check_arg(length);
	if (!is_pow2(page_size) || page_size < 4096)
		return iommufd_fail(dev->ctx, -EINVAL,
				    "DMA logging page size 0x%llx is not a power of two of 4 KiB "
				    "or more", (unsigned long long)page_size);
	if (length / page_size > SIZE_MAX / 2)
		return iommufd_fail(dev->ctx, -EOVERFLOW, "DMA logging report of 0x%llx bytes: "
				    "too long a bitmap", (unsigned long long)length);
	/*
	 * The kernel only sets the bits of dirty pages (iova_bitmap): clear
	 * the bitmap first, so that it holds this report alone.
	 */
	memset(bitmap, 0, (length / page_size + !!(length % page_size) + 63) / 64 * 8);
	r = iommufd_feature_ioctl(dev, VFIO_DEVICE_FEATURE_GET |
				  VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, &rep, sizeof(rep));
	if (r == -ENOTTY)
		return no_dma_log(dev);
	if (r < 0)
		return iommufd_fail(dev->ctx, r, "%s: DMA logging report of 0x%llx+0x%llx: %s",
				    iommufd_dev_label(dev), (unsigned long long)iova,
				    (unsigned long long)length, strerror(-r));
	return 0;
}

/* ---- low power ---- */

IOMMUFD_API int iommufd_device_low_power_enter(struct iommufd_device *dev, int wakeup_eventfd)
{
	struct vfio_device_low_power_entry_with_wakeup w = { .wakeup_eventfd = wakeup_eventfd };
	int r;

	check_arg(dev);
	check_arg(wakeup_eventfd >= -1);
	if (wakeup_eventfd >= 0)
		r = iommufd_feature_ioctl(dev, VFIO_DEVICE_FEATURE_SET |
					  VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP,
					  &w, sizeof(w));
	else
		r = iommufd_feature_ioctl(dev, VFIO_DEVICE_FEATURE_SET |
					  VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY, NULL, 0);
	if (r == -ENOTTY)
		return iommufd_fail(dev->ctx, r,
				    "%s has no low-power entry (not a vfio-pci device, or a "
				    "kernel without runtime power management)",
				    iommufd_dev_label(dev));
	if (r == -EINVAL && wakeup_eventfd >= 0)
		return iommufd_fail(dev->ctx, r, "%s: low-power entry refused fd %d as its "
				    "wakeup eventfd, or the device is in low power already",
				    iommufd_dev_label(dev), wakeup_eventfd);
	if (r == -EINVAL)
		return iommufd_fail(dev->ctx, r, "%s is in low power already",
				    iommufd_dev_label(dev));
	if (r < 0)
		return iommufd_fail_errno(dev->ctx, r, "VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY");
	return 0;
}

IOMMUFD_API int iommufd_device_low_power_exit(struct iommufd_device *dev)
{
	int r;

	check_arg(dev);
	r = iommufd_feature_ioctl(dev, VFIO_DEVICE_FEATURE_SET |
				  VFIO_DEVICE_FEATURE_LOW_POWER_EXIT, NULL, 0);
	if (r == -ENOTTY)
		return iommufd_fail(dev->ctx, r, "%s has no low-power states to leave",
				    iommufd_dev_label(dev));
	if (r < 0)
		return iommufd_fail_errno(dev->ctx, r, "VFIO_DEVICE_FEATURE_LOW_POWER_EXIT");
	return 0;
}

/* ---- SR-IOV VF token ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int iommufd_parse_uuid_prefix(const char *s, uint8_t out[16])
{
	size_t i, n = 0;

	for (i = 0; i < 36; i++) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -EINVAL;
			continue;
		}
		hi = hexval(s[i]);
		lo = hi < 0 ? -1 : hexval(s[i + 1]);
		if (lo < 0)
			return -EINVAL;
		out[n++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	return 0;
}

int iommufd_parse_uuid(const char *s, uint8_t out[16])
{
	int r = iommufd_parse_uuid_prefix(s, out);

	return r < 0 || s[36] ? -EINVAL : 0;
}

IOMMUFD_API int iommufd_device_set_vf_token(struct iommufd_device *dev, const char *uuid)
{
	uint8_t token[16];
	int r;

	check_arg(dev);
	check_arg(uuid);
	if (iommufd_parse_uuid(uuid, token) < 0)
		return iommufd_fail(dev->ctx, -EINVAL,
				    "\"%s\" is not a UUID (8-4-4-4-12 hex digits)", uuid);
	r = iommufd_feature_ioctl(dev, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_PCI_VF_TOKEN,
				  token, sizeof(token));
	if (r == -ENOTTY)
		return iommufd_fail(dev->ctx, r,
				    "%s takes no VF token: it is not an SR-IOV physical function "
				    "(a device with the SR-IOV capability) bound to vfio-pci",
				    iommufd_dev_label(dev));
	if (r < 0)
		return iommufd_fail_errno(dev->ctx, r, "VFIO_DEVICE_FEATURE_PCI_VF_TOKEN");
	return 0;
}
