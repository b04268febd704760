# SPDX-License-Identifier: LGPL-2.1-or-later
# libiommufd: the iommufd and VFIO cdev library (libc only).
LIB_SRCS += $(wildcard libiommufd/*.c)
-include libiommufd/device.mk
