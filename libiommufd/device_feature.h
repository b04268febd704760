/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Private to libiommufd: what the device feature files (device_feature.c, device_mig.c) share. */
#ifndef LIBIOMMUFD_DEVICE_FEATURE_H
#define LIBIOMMUFD_DEVICE_FEATURE_H

#include "device_internal.h"

/*
 * VFIO_DEVICE_FEATURE with @flags (feature index | GET/SET/PROBE) and @len
 * bytes of @data, which the kernel's answer is copied back into. 0 or -errno,
 * nothing explained.
 */
int iommufd_feature_ioctl(struct iommufd_device *dev, uint32_t flags, void *data, size_t len);

/* The device's name for explanations: its BDF or mdev UUID, else "device". */
const char *iommufd_dev_label(const struct iommufd_device *dev);

/* Parse "8-4-4-4-12" hex digits and nothing after. 0 or -EINVAL. */
int iommufd_parse_uuid(const char *s, uint8_t out[16]);

#endif
