/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Private to libiommufd: the VFIO cdev device object and its pure helpers. */
#ifndef LIBIOMMUFD_DEVICE_INTERNAL_H
#define LIBIOMMUFD_DEVICE_INTERNAL_H

#include "internal.h"

struct iommufd_device {
	struct iommufd_ctx *ctx;	/* a reference */
	int fd;
	bool own_fd;
	uint32_t dev_id;
	char name[48];			/* BDF, mdev UUID (its cdev has no BDF), or "" */
	pthread_mutex_t lock;		/* attach state */
	uint32_t pt_id;			/* attached IOAS/HWPT, 0 when detached */
	/*
	 * vfio-pci's regions never change while the fd is open: read/write
	 * take flags, size and offset from here instead of an ioctl each.
	 */
	struct {
		bool valid;
		uint32_t flags;
		uint64_t size;
		uint64_t offset;
	} regions[VFIO_PCI_NUM_REGIONS];
};

/*
 * Normalise a PCI address: "DDDD:BB:DD.F", or "BB:DD.F" in domain 0000.
 * Return: 0 or -EINVAL.
 */
int iommufd_parse_bdf(const char *in, char *out, size_t len);

/* iommufd_device_cdev_path() with the sysfs and /dev roots given (tests). */
int iommufd_cdev_path_at(const char *sysfs_root, const char *dev_root, const char *bdf,
			 char *buf, size_t len);


#endif
