// SPDX-License-Identifier: LGPL-2.1-or-later
/* Function reset and PCI hot reset in its cdev form. */
#include "device_internal.h"

IOMMUFD_API int iommufd_device_reset(struct iommufd_device *dev)
{
	int r;

	check_arg(dev);
	r = xioctl(dev->fd, VFIO_DEVICE_RESET, NULL);
	if (r == -ENOTTY || r == -EINVAL)
		return iommufd_fail(dev->ctx, -ENOTTY, "%s: the device has no function reset",
				    dev->name);
	if (r < 0)
		return iommufd_fail_errno(dev->ctx, r, "VFIO_DEVICE_RESET");
	return 0;
}

IOMMUFD_API int iommufd_device_hot_reset(struct iommufd_device *dev)
{
	/* The cdev form: no group fds; the iommufd proves ownership of the devices. */
	struct vfio_pci_hot_reset hr = { .argsz = sizeof(hr), .count = 0 };
	int r;

	check_arg(dev);
	r = xioctl(dev->fd, VFIO_DEVICE_PCI_HOT_RESET, &hr);
	if (r == -EPERM)
		return iommufd_fail(dev->ctx, r,
				    "%s: hot reset would also reset devices not bound to this "
				    "iommufd", dev->name);
	if (r == -ENOTTY || r == -EINVAL)
		return iommufd_fail(dev->ctx, r,
				    "%s: no bus or slot reset for this device (is it on the root "
				    "bus?)", dev->name);
	if (r < 0)
		return iommufd_fail_errno(dev->ctx, r, "VFIO_DEVICE_PCI_HOT_RESET");
	return 0;
}
