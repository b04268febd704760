// SPDX-License-Identifier: LGPL-2.1-or-later
/* Function reset and PCI hot reset in its cdev form. */
#include <stdio.h>
#include <stdlib.h>

#include "device_feature.h"

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

static int reset_info_raw(struct iommufd_device *dev, struct vfio_pci_hot_reset_info **out);

/* A vfio-pci device? ENOTTY from a PCI ioctl means "not PCI" only for the others. */
static bool is_pci(struct iommufd_device *dev)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };

	return !xioctl(dev->fd, VFIO_DEVICE_GET_INFO, &info) && (info.flags & VFIO_DEVICE_FLAGS_PCI);
}
static void fill_dep(const struct vfio_pci_dependent_device *d, struct iommufd_reset_dep *dep);

/*
 * The first device a hot reset of @dev would touch that this iommufd does not
 * own, into @bdf: 1 if there is one, 0 if none, -errno if the kernel says nothing.
 */
static int first_not_owned(struct iommufd_device *dev, char *bdf, size_t len)
{
	struct vfio_pci_hot_reset_info *info;
	int r = 0;

	if (reset_info_raw(dev, &info) < 0)
		return -EIO;
	for (uint32_t k = 0; k < info->count && !r; k++) {
		struct iommufd_reset_dep dep;

		fill_dep(&info->devices[k], &dep);
		if (!dep.owned) {
			copy_str(bdf, len, dep.bdf);
			r = 1;
		}
	}
	free(info);
	return r;
}

IOMMUFD_API int iommufd_device_hot_reset(struct iommufd_device *dev)
{
	/* The cdev form: no group fds; the iommufd proves ownership of the devices. */
	struct vfio_pci_hot_reset hr = { .argsz = sizeof(hr), .count = 0 };
	char other[16];
	int r;

	check_arg(dev);
	r = xioctl(dev->fd, VFIO_DEVICE_PCI_HOT_RESET, &hr);
	/*
	 * The kernel answers EINVAL when an affected device is not owned by
	 * this iommufd (vfio_pci_dev_set_hot_reset()), or not bound to a VFIO
	 * driver of the same reset set (a VF beside its PF): the reset info
	 * tells which, and the library's answer for that is EPERM.
	 */
	if (r == -EINVAL && first_not_owned(dev, other, sizeof(other)) == 1)
		return iommufd_fail(dev->ctx, -EPERM,
				    "%s: hot reset would also reset %s, which this iommufd does "
				    "not own (bound elsewhere, not bound to vfio-pci, or a VF "
				    "beside its PF)", iommufd_dev_label(dev), other);
	if (r == -ENODEV)
		return iommufd_fail(dev->ctx, r,
				    "%s has no bus or slot reset (is it on the root bus?)",
				    iommufd_dev_label(dev));
	if (r == -ENOTTY && !is_pci(dev))
		return iommufd_fail(dev->ctx, r, "%s is not a PCI device: it has no hot reset",
				    iommufd_dev_label(dev));
	if (r == -ENOTTY)
		return iommufd_fail(dev->ctx, r,
				    "%s: the bus or slot reset itself failed (a link or a device "
				    "did not come back in time: see the kernel log)",
				    iommufd_dev_label(dev));
	if (r < 0)
		return iommufd_fail_errno(dev->ctx, r, "VFIO_DEVICE_PCI_HOT_RESET");
	return 0;
}

/*
 * VFIO_DEVICE_GET_PCI_HOT_RESET_INFO in its cdev form: each affected device
 * comes with its device ID in our iommufd (or OWNED / NOT_OWNED). The count
 * is asked for first: ENOSPC gives it.
 */
static int reset_info_raw(struct iommufd_device *dev, struct vfio_pci_hot_reset_info **out)
{
	struct vfio_pci_hot_reset_info hdr = { .argsz = sizeof(hdr) };
	struct vfio_pci_hot_reset_info *info;
	uint32_t count;
	int r, tries;

	for (tries = 0; tries < 4; tries++) {
		r = xioctl(dev->fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &hdr);
		if (r < 0 && r != -ENOSPC)
			return r;
		count = hdr.count;
		info = calloc(1, sizeof(*info) + count * sizeof(info->devices[0]));
		if (!info)
			return -ENOMEM;
		info->argsz = (uint32_t)(sizeof(*info) + count * sizeof(info->devices[0]));
		r = xioctl(dev->fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info);
		if (r == 0) {
			*out = info;
			return 0;
		}
		free(info);
		/* The bus changed between the two calls: ask again. */
		if (r != -ENOSPC && r != -EAGAIN)
			return r;
	}
	return -EAGAIN;
}

static int reset_info_fail(struct iommufd_device *dev, int r)
{
	if (r == -ENODEV)
		return iommufd_fail(dev->ctx, r,
				    "%s has no bus or slot reset (is it on the root bus?)",
				    iommufd_dev_label(dev));
	if (r == -ENOTTY)
		return iommufd_fail(dev->ctx, r, "%s is not a PCI device: it has no hot reset",
				    iommufd_dev_label(dev));
	if (r == -ENOMEM)
		return iommufd_fail(dev->ctx, r, "out of memory");
	return iommufd_fail_errno(dev->ctx, r, "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO");
}

static void fill_dep(const struct vfio_pci_dependent_device *d, struct iommufd_reset_dep *dep)
{
	snprintf(dep->bdf, sizeof(dep->bdf), "%04x:%02x:%02x.%x", d->segment, d->bus,
		 (d->devfn >> 3) & 0x1f, d->devfn & 7);
	/* The union holds a device ID (> 0), OWNED (0) or NOT_OWNED (-1). */
	dep->owned = d->devid != (uint32_t)VFIO_PCI_DEVID_NOT_OWNED;
	dep->dev_id = d->devid == (uint32_t)VFIO_PCI_DEVID_NOT_OWNED ? 0 : d->devid;
}

IOMMUFD_API int iommufd_device_hot_reset_info(struct iommufd_device *dev,
					      struct iommufd_reset_dep **deps, size_t *nr)
{
	struct vfio_pci_hot_reset_info *info;
	struct iommufd_reset_dep *out;
	uint32_t i;
	int r;

	check_arg(dev);
	check_arg(deps);
	check_arg(nr);
	r = reset_info_raw(dev, &info);
	if (r < 0)
		return reset_info_fail(dev, r);
	/* A cdev opened device always gets device IDs; a group-opened one cannot come here. */
	if (!(info->flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID)) {
		free(info);
		return iommufd_fail(dev->ctx, -EOPNOTSUPP,
				    "%s: the kernel answered with group IDs, not device IDs",
				    iommufd_dev_label(dev));
	}
	out = calloc(info->count ? info->count : 1, sizeof(*out));
	if (!out) {
		free(info);
		return iommufd_fail(dev->ctx, -ENOMEM, "out of memory");
	}
	for (i = 0; i < info->count; i++)
		fill_dep(&info->devices[i], &out[i]);
	*nr = info->count;
	*deps = out;
	free(info);
	return 0;
}

IOMMUFD_API int iommufd_device_hot_reset_set(struct iommufd_device *const *devs, size_t nr)
{
	struct iommufd_ctx *ctx;
	bool *covered = NULL;
	size_t *leaders = NULL, nr_leaders = 0, i, j;
	uint32_t k;
	int r;

	check_arg(devs && nr);
	for (i = 0; i < nr; i++)
		check_arg(devs[i]);
	ctx = devs[0]->ctx;
	for (i = 1; i < nr; i++)
		if (devs[i]->ctx != ctx)
			return iommufd_fail(ctx, -EINVAL,
					    "%s and %s are bound to different iommufds: a hot "
					    "reset covers the devices of one",
					    iommufd_dev_label(devs[0]), iommufd_dev_label(devs[i]));
	covered = calloc(nr, sizeof(*covered));
	leaders = calloc(nr, sizeof(*leaders));
	if (!covered || !leaders) {
		r = iommufd_fail(ctx, -ENOMEM, "out of memory");
		goto out_free;
	}
	/* Check every reset before doing any: a refusal leaves all devices as they were. */
	for (i = 0; i < nr; i++) {
		struct vfio_pci_hot_reset_info *info;

		if (covered[i])
			continue;
		r = reset_info_raw(devs[i], &info);
		if (r < 0) {
			r = reset_info_fail(devs[i], r);
			goto out_free;
		}
		for (k = 0; k < info->count; k++) {
			struct iommufd_reset_dep dep;

			fill_dep(&info->devices[k], &dep);
			if (!dep.owned) {
				r = iommufd_fail(ctx, -EPERM,
						 "a hot reset of %s would also reset %s, which "
						 "this iommufd does not own (bound elsewhere, or "
						 "not bound to vfio-pci)",
						 iommufd_dev_label(devs[i]), dep.bdf);
				free(info);
				goto out_free;
			}
			for (j = 0; j < nr; j++)
				if (dep.dev_id && devs[j]->dev_id == dep.dev_id)
					covered[j] = true;
		}
		free(info);
		if (!covered[i]) {
			r = iommufd_fail(ctx, -EINVAL,
					 "%s is not among the devices its own hot reset lists",
					 iommufd_dev_label(devs[i]));
			goto out_free;
		}
		leaders[nr_leaders++] = i;
	}
	for (i = 0; i < nr_leaders; i++) {
		r = iommufd_device_hot_reset(devs[leaders[i]]);
		if (r < 0) {
			char why[256];

			if (i) {
				copy_str(why, sizeof(why), iommufd_last_error());
				iommufd_fail(ctx, r, "%s (after %zu of %zu resets were done)",
					     why, i, nr_leaders);
			}
			goto out_free;
		}
	}
	r = 0;
out_free:
	free(covered);
	free(leaders);
	return r;
}
