// SPDX-License-Identifier: LGPL-2.1-or-later
/* VFIO cdev devices: open, bind to the iommufd, attach, replace, detach. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "device_internal.h"

#define VFIO_SIZE(TYPE, LAST) ((uint32_t)offsetofend(struct TYPE, LAST))

static int bind_device(struct iommufd_device *dev)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = VFIO_SIZE(vfio_device_bind_iommufd, out_devid),
		.iommufd = dev->ctx->fd,
	};
	int r;

	r = xioctl(dev->fd, VFIO_DEVICE_BIND_IOMMUFD, &bind);
	if (r == -EBUSY)
		return iommufd_fail(dev->ctx, r,
				    "%s: already bound, or opened through its VFIO group",
				    dev->name[0] ? dev->name : "device");
	if (r == -ENOTTY)
		return iommufd_fail(dev->ctx, r, "fd %d is not a VFIO cdev device", dev->fd);
	if (r < 0)
		return iommufd_fail_errno(dev->ctx, r, "VFIO_DEVICE_BIND_IOMMUFD");
	dev->dev_id = bind.out_devid;
	return 0;
}

static int device_new(struct iommufd_ctx *ctx, int fd, bool own_fd, const char *name,
		      struct iommufd_device **ret)
{
	struct iommufd_device *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return iommufd_fail(ctx, -ENOMEM, "out of memory");
	dev->ctx = iommufd_ctx_ref(ctx);
	dev->fd = fd;
	dev->own_fd = own_fd;
	pthread_mutex_init(&dev->lock, NULL);
	if (name)
		copy_str(dev->name, sizeof(dev->name), name);
	*ret = dev;
	return 0;
}

static void device_free(struct iommufd_device *dev)
{
	/* Closing the cdev unbinds it and detaches it from its page table. */
	if (dev->own_fd)
		close(dev->fd);
	pthread_mutex_destroy(&dev->lock);
	iommufd_ctx_unref(dev->ctx);
	free(dev);
}

/* The BDF behind an open cdev, from /proc/self/fd and sysfs (best effort). */
static void name_from_path(const char *path, char *bdf, size_t len)
{
	char link[PATH_MAX], sys[PATH_MAX + 64];
	const char *node = strrchr(path, '/');
	ssize_t n;

	bdf[0] = '\0';
	if (!node)
		return;
	snprintf(sys, sizeof(sys), "/sys/class/vfio-dev/%s/device", node + 1);
	n = readlink(sys, link, sizeof(link) - 1);
	if (n <= 0)
		return;
	link[n] = '\0';
	copy_str(bdf, len, strrchr(link, '/') ? strrchr(link, '/') + 1 : link);
}

IOMMUFD_API int iommufd_device_open(struct iommufd_ctx *ctx, const char *name,
				    struct iommufd_device **ret)
{
	char path[PATH_MAX], bdf[48] = "";
	struct iommufd_device *dev;
	int fd, r;

	check_ctx(ctx);
	check_arg(name);
	check_arg(ret);
	if (name[0] == '/') {
		if (copy_str(path, sizeof(path), name) < 0)
			return iommufd_fail(ctx, -ENAMETOOLONG, "device path too long");
		name_from_path(path, bdf, sizeof(bdf));
	} else {
		r = iommufd_device_cdev_path(name, path, sizeof(path));
		if (r < 0)
			return r;
		iommufd_parse_bdf(name, bdf, sizeof(bdf));
	}

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		if (r == -EBUSY)
			return iommufd_fail(ctx, r, "%s (%s) is already open elsewhere", path,
					    bdf[0] ? bdf : "?");
		return iommufd_fail(ctx, r, "cannot open %s: %s", path, strerror(-r));
	}
	r = device_new(ctx, fd, true, bdf, &dev);
	if (r < 0) {
		close(fd);
		return r;
	}
	r = bind_device(dev);
	if (r < 0) {
		device_free(dev);
		return r;
	}
	*ret = dev;
	return 0;
}

IOMMUFD_API int iommufd_device_from_fd(struct iommufd_ctx *ctx, int fd, unsigned int flags,
				       uint32_t dev_id, struct iommufd_device **ret)
{
	struct iommufd_device *dev;
	char path[64], target[PATH_MAX], bdf[48] = "";
	ssize_t n;
	int r;

	check_ctx(ctx);
	check_arg(ret);
	check_arg(!(flags & ~IOMMUFD_CTX_FD_OWN));
	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return iommufd_fail(ctx, -EBADF, "fd %d is not open", fd);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n > 0) {
		target[n] = '\0';
		name_from_path(target, bdf, sizeof(bdf));
	}
	r = device_new(ctx, fd, false, bdf, &dev);
	if (r < 0)
		return r;
	if (dev_id) {
		dev->dev_id = dev_id;	/* bound already, e.g. by a launcher */
	} else {
		r = bind_device(dev);
		if (r < 0) {
			device_free(dev);	/* not ours: fd stays open */
			return r;
		}
	}
	dev->own_fd = flags & IOMMUFD_CTX_FD_OWN;
	*ret = dev;
	return 0;
}

IOMMUFD_API struct iommufd_device *iommufd_device_close(struct iommufd_device *dev)
{
	if (dev)
		device_free(dev);
	return NULL;
}

IOMMUFD_API uint32_t iommufd_device_id(const struct iommufd_device *dev)
{
	return dev ? dev->dev_id : 0;
}

IOMMUFD_API int iommufd_device_fd(const struct iommufd_device *dev)
{
	return dev ? dev->fd : -EINVAL;
}

IOMMUFD_API const char *iommufd_device_name(const struct iommufd_device *dev)
{
	return dev ? dev->name : "";
}

IOMMUFD_API uint32_t iommufd_device_pt_id(const struct iommufd_device *dev)
{
	uint32_t id;

	if (!dev)
		return 0;
	pthread_mutex_lock((pthread_mutex_t *)&dev->lock);
	id = dev->pt_id;
	pthread_mutex_unlock((pthread_mutex_t *)&dev->lock);
	return id;
}

/* Attach or replace with dev->lock held; the explanation names both sides. */
static int attach_locked(struct iommufd_device *dev, uint32_t pt_id)
{
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = VFIO_SIZE(vfio_device_attach_iommufd_pt, pt_id),
		.pt_id = pt_id,
	};
	int r;

	r = xioctl(dev->fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach);
	if (r == -ENOENT)
		return iommufd_fail(dev->ctx, r, "%s: no IOAS or HWPT with ID %u", dev->name,
				    pt_id);
	if (r == -EINVAL)
		return iommufd_fail(dev->ctx, r,
				    "%s: %u is not compatible with the device (a HWPT of another "
				    "IOMMU, or existing mappings outside its aperture), or not a "
				    "page table", dev->name, pt_id);
	if (r == -EBUSY)
		return iommufd_fail(dev->ctx, r, "%s: busy attaching to %u", dev->name, pt_id);
	if (r < 0)
		return iommufd_fail_errno(dev->ctx, r, "VFIO_DEVICE_ATTACH_IOMMUFD_PT");
	/* For an IOAS the kernel reports the HWPT it chose; keep what the caller named. */
	dev->pt_id = pt_id;
	return 0;
}

IOMMUFD_API int iommufd_device_attach(struct iommufd_device *dev, uint32_t pt_id)
{
	int r;

	check_arg(dev);
	check_ctx(dev->ctx);
	pthread_mutex_lock(&dev->lock);
	r = attach_locked(dev, pt_id);
	pthread_mutex_unlock(&dev->lock);
	return r;
}

IOMMUFD_API int iommufd_device_detach(struct iommufd_device *dev)
{
	struct vfio_device_detach_iommufd_pt detach = {
		.argsz = VFIO_SIZE(vfio_device_detach_iommufd_pt, flags),
	};
	int r;

	check_arg(dev);
	check_ctx(dev->ctx);
	pthread_mutex_lock(&dev->lock);
	r = xioctl(dev->fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach);
	if (!r)
		dev->pt_id = 0;
	pthread_mutex_unlock(&dev->lock);
	if (r < 0)
		return iommufd_fail_errno(dev->ctx, r, "VFIO_DEVICE_DETACH_IOMMUFD_PT");
	return 0;
}

IOMMUFD_API int iommufd_device_attach_auto(struct iommufd_device *dev, uint32_t ioas_id,
					   uint32_t hwpt_flags, uint32_t *hwpt_id)
{
	IOMMUFD_OPTS(iommufd_hwpt_alloc_opts, opts, .flags = hwpt_flags);
	struct iommufd_ctx *ctx;
	uint32_t *tries = NULL, id;
	size_t nr = 0;
	int r;

	check_arg(dev);
	ctx = dev->ctx;
	check_ctx(ctx);

	/* Snapshot the candidates: attaching must not hold the context lock. */
	pthread_mutex_lock(&ctx->lock);
	if (ctx->nr_auto_hwpts)
		tries = malloc(ctx->nr_auto_hwpts * sizeof(*tries));
	for (size_t i = 0; tries && i < ctx->nr_auto_hwpts; i++)
		if (ctx->auto_hwpts[i].ioas_id == ioas_id &&
		    ctx->auto_hwpts[i].flags == hwpt_flags)
			tries[nr++] = ctx->auto_hwpts[i].hwpt_id;
	pthread_mutex_unlock(&ctx->lock);

	pthread_mutex_lock(&dev->lock);
	for (size_t i = 0; i < nr; i++) {
		r = attach_locked(dev, tries[i]);
		/* ENOENT: destroyed behind the library's back; do not try it again. */
		if (r == -ENOENT)
			iommufd_ctx_forget_auto_hwpt(ctx, tries[i]);
		/* EINVAL: that domain does not fit this device; try the next. */
		if (r != -EINVAL && r != -ENOENT)
			goto out;
	}
	r = iommufd_hwpt_alloc(ctx, dev->dev_id, ioas_id, &opts, &id);
	if (r < 0)
		goto out;
	r = attach_locked(dev, id);
	if (r < 0) {
		iommufd_destroy(ctx, id);
		goto out;
	}
	/* Only a cache for the next device: failing to remember it is no failure. */
	if (iommufd_ctx_add_auto_hwpt(ctx, id, ioas_id, hwpt_flags) < 0)
		iommufd_log(ctx, IOMMUFD_LOG_WARN, "HWPT %u will not be shared: out of memory", id);
out:
	if (!r && hwpt_id)
		*hwpt_id = dev->pt_id;
	pthread_mutex_unlock(&dev->lock);
	free(tries);
	return r;
}
