// SPDX-License-Identifier: LGPL-2.1-or-later
/* Device interrupts delivered to eventfds (VFIO_DEVICE_SET_IRQS). */
#include <stdlib.h>

#include "device_internal.h"

static const char *irq_name(uint32_t index)
{
	static const char *const names[] = { "INTx", "MSI", "MSI-X", "ERR", "REQ" };

	return index < ARRAY_SIZE(names) ? names[index] : "IRQ";
}

IOMMUFD_API int iommufd_device_irq_info(struct iommufd_device *dev, uint32_t index,
					struct iommufd_irq_info *info)
{
	struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = index };
	int r;

	check_arg(dev);
	check_arg(info);
	r = xioctl(dev->fd, VFIO_DEVICE_GET_IRQ_INFO, &ii);
	if (r == -EINVAL)
		return iommufd_fail(dev->ctx, r, "%s: no IRQ index %u", dev->name, index);
	if (r < 0)
		return iommufd_fail_errno(dev->ctx, r, "VFIO_DEVICE_GET_IRQ_INFO");
	info->index = index;
	info->flags = ii.flags;
	info->count = ii.count;
	return 0;
}

static int set_irqs(struct iommufd_device *dev, uint32_t flags, uint32_t index, uint32_t start,
		    uint32_t count, const void *data, size_t data_len)
{
	struct vfio_irq_set *set;
	int r;

	set = calloc(1, sizeof(*set) + data_len);
	if (!set)
		return iommufd_fail(dev->ctx, -ENOMEM, "out of memory");
	set->argsz = sizeof(*set) + data_len;
	set->flags = flags;
	set->index = index;
	set->start = start;
	set->count = count;
	if (data_len)
		memcpy(set->data, data, data_len);
	r = xioctl(dev->fd, VFIO_DEVICE_SET_IRQS, set);
	free(set);
	return r;
}

IOMMUFD_API int iommufd_device_irq_enable(struct iommufd_device *dev, uint32_t index,
					  uint32_t start, uint32_t count, const int *eventfds)
{
	struct iommufd_irq_info info;
	int r;

	check_arg(dev);
	check_arg(eventfds && count);
	r = iommufd_device_irq_info(dev, index, &info);
	if (r < 0)
		return r;
	if (start > info.count || count > info.count - start)
		return iommufd_fail(dev->ctx, -EINVAL,
				    "%s: %s vectors %u-%u requested, the device has %u", dev->name,
				    irq_name(index), start, start + count - 1, info.count);
	if (!(info.flags & VFIO_IRQ_INFO_EVENTFD))
		return iommufd_fail(dev->ctx, -EINVAL, "%s: %s cannot signal an eventfd",
				    dev->name, irq_name(index));
	r = set_irqs(dev, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index, start,
		     count, eventfds, count * sizeof(int32_t));
	if (r == -EINVAL)
		return iommufd_fail(dev->ctx, r,
				    "%s: enabling %s refused: another IRQ type is enabled (disable "
				    "it first) or an fd is not an eventfd", dev->name,
				    irq_name(index));
	if (r < 0)
		return iommufd_fail_errno(dev->ctx, r, "VFIO_DEVICE_SET_IRQS");
	return 0;
}

IOMMUFD_API int iommufd_device_irq_disable(struct iommufd_device *dev, uint32_t index)
{
	int r;

	check_arg(dev);
	r = set_irqs(dev, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, index, 0, 0,
		     NULL, 0);
	if (r < 0)
		return iommufd_fail_errno(dev->ctx, r, "VFIO_DEVICE_SET_IRQS (disable)");
	return 0;
}

IOMMUFD_API int iommufd_device_irq_unmask(struct iommufd_device *dev, uint32_t index,
					  uint32_t vector)
{
	int r;

	check_arg(dev);
	r = set_irqs(dev, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK, index, vector, 1,
		     NULL, 0);
	if (r < 0)
		return iommufd_fail(dev->ctx, r, "%s: unmask %s vector %u: %s", dev->name,
				    irq_name(index), vector, strerror(-r));
	return 0;
}

IOMMUFD_API int iommufd_device_irq_unmask_eventfd(struct iommufd_device *dev, uint32_t index,
						  uint32_t vector, int efd)
{
	int32_t fd = efd;
	int r;

	check_arg(dev);
	check_arg(efd >= -1);
	r = set_irqs(dev, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK, index, vector, 1,
		     &fd, sizeof(fd));
	if (r == -EINVAL && efd >= 0)
		return iommufd_fail(dev->ctx, r, "%s: unmask %s vector %u by eventfd: not a "
				    "maskable vector (INTx only), %s not enabled, or fd %d is not "
				    "an eventfd", dev->name, irq_name(index), vector,
				    irq_name(index), efd);
	if (r < 0)
		return iommufd_fail(dev->ctx, r, "%s: unmask %s vector %u by eventfd: %s", dev->name,
				    irq_name(index), vector, strerror(-r));
	return 0;
}
