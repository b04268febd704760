// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Groups without group files. /dev/vfio/N is emulated from
 * /sys/kernel/iommu_groups/N/devices (groups still exist in the IOMMU core
 * when VFIO's group files do not). Attaching a group to a container with an
 * IOMMU set binds its devices' cdevs to the container's iommufd and attaches
 * them to its IOAS, as type1 attaches a group to its domain at that point;
 * VFIO_GROUP_GET_DEVICE_FD then hands out the bound cdev, so every device
 * ioctl goes to the kernel itself.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "compat.h"

/* Which groups are open: a group file opens once, as in VFIO. */
static int open_groups[1024];

bool compat_path_group(const char *path, int *group_id)
{
	char *end;
	long n;

	if (strncmp(path, "/dev/vfio/", 10) || !path[10] || path[10] < '0' || path[10] > '9')
		return false;
	n = strtol(path + 10, &end, 10);
	if (*end || n < 0 || n >= (long)(sizeof(open_groups) / sizeof(open_groups[0])))
		return false;
	*group_id = (int)n;
	return true;
}

static int read_group_devices(struct compat_group *g)
{
	char path[64];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/devices", g->group_id);
	d = opendir(path);
	if (!d)
		return -ENOENT;
	while ((de = readdir(d))) {
		void *n, *v;

		if (de->d_name[0] == '.' || strlen(de->d_name) >= 16)
			continue;
		n = realloc(g->names, (g->nr_devices + 1) * sizeof(*g->names));
		v = n ? realloc(g->devs, (g->nr_devices + 1) * sizeof(*g->devs)) : NULL;
		if (n)
			g->names = n;
		if (!v) {
			closedir(d);
			return -ENOMEM;
		}
		g->devs = v;
		strcpy(g->names[g->nr_devices], de->d_name);
		g->devs[g->nr_devices++] = NULL;
	}
	closedir(d);
	return 0;
}

static void group_free(struct compat_group *g)
{
	free(g->names);
	free(g->devs);
	free(g);
}

int compat_open_group(int group_id, int flags)
{
	struct compat_group *g;
	char what[32];
	int expect = 0, fd;

	if (!__atomic_compare_exchange_n(&open_groups[group_id], &expect, 1, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return -EBUSY;
	g = calloc(1, sizeof(*g));
	if (!g) {
		fd = -ENOMEM;
		goto out_unclaim;
	}
	compat_file_init(&g->file, &compat_group_ops);
	g->group_id = group_id;
	fd = read_group_devices(g);
	if (fd < 0)
		goto out_free;
	snprintf(what, sizeof(what), "group %d", group_id);
	fd = compat_file_memfd(&g->file, flags, what);
	if (fd < 0)
		goto out_free;
	compat_fd_install(fd, &g->file);
	compat_trace("open(/dev/vfio/%d) = %d: %d device(s)", group_id, fd, g->nr_devices);
	return fd;

out_free:
	group_free(g);
out_unclaim:
	__atomic_store_n(&open_groups[group_id], 0, __ATOMIC_RELEASE);
	return fd;
}

/* The driver a PCI device is bound to, or "". */
/* The name of @bdf's driver, "" for none: 0, or -errno when sysfs cannot say. */
static int driver_of(const char *bdf, char *buf, size_t len)
{
	char link[128], target[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/driver", bdf);
	n = readlink(link, target, sizeof(target) - 1);
	buf[0] = '\0';
	if (n < 0 && errno != ENOENT) {
		int r = -errno;

		compat_trace("  the driver of %s: readlink(%s) failed: %s", bdf, link, strerror(-r));
		return r;
	}
	if (n > 0) {
		target[n] = '\0';
		snprintf(buf, len, "%s", strrchr(target, '/') + 1);
	}
	return 0;
}

/* VFIO's viability: every device on vfio-pci, on no driver, or a bridge's. 1, 0 or -errno. */
static int group_viable(struct compat_group *g)
{
	char drv[64];
	int r;

	for (int i = 0; i < g->nr_devices; i++) {
		r = driver_of(g->names[i], drv, sizeof(drv));
		if (r < 0)
			return r;
		if (drv[0] && strcmp(drv, "vfio-pci") && strcmp(drv, "pcieport"))
			return 0;
	}
	return 1;
}

/*
 * Bind the group's vfio-pci devices to the container's iommufd and attach
 * them, with the container locked: type1 attaches a group to its domain at
 * VFIO_SET_IOMMU (or when a group joins a container that has one).
 */
int compat_group_bind(struct compat_group *g)
{
	struct compat_container *c = g->container;
	struct iommufd_hw_info info = { .sz = sizeof(info) };
	char drv[64];
	int r;

	for (int i = 0; i < g->nr_devices; i++) {
		r = driver_of(g->names[i], drv, sizeof(drv));
		if (r < 0)
			return r;
		if (g->devs[i] || strcmp(drv, "vfio-pci"))
			continue;
		r = iommufd_device_open(c->ctx, g->names[i], &g->devs[i]);
		if (!r)
			r = compat_dirty_attach(c, g->devs[i]);
		if (r < 0) {
			compat_trace("  binding %s failed: %s", g->names[i], iommufd_last_error());
			g->devs[i] = iommufd_device_close(g->devs[i]);
			return r;
		}
		compat_trace("  %s bound as device %u, attached to IOAS %u", g->names[i],
			     iommufd_device_id(g->devs[i]), c->ioas_id);
		/* type1 reports its domain's page sizes: VT-d's from SLLPS. */
		compat_container_refresh_ranges(c);
		if (!iommufd_get_hw_info(c->ctx, iommufd_device_id(g->devs[i]), &info) &&
		    info.type == IOMMUFD_HW_INTEL_VTD) {
			uint64_t sllps = (info.vtd.cap_reg >> 34) & 0xf;

			c->pgsize_bitmap = 4096 | (sllps & 1 ? 2ULL << 20 : 0) |
					   (sllps & 2 ? 1ULL << 30 : 0);
		}
	}
	return 0;
}

/*
 * The shim's own handles on the group's cdevs. Closing one unbinds the device
 * when no other fd holds the cdev: not while the program keeps a device fd,
 * nor while a forked process holds the same file.
 */
static void unbind_group(struct compat_group *g)
{
	for (int i = 0; i < g->nr_devices; i++)
		g->devs[i] = iommufd_device_close(g->devs[i]);
}

static int group_set_container(struct compat_group *g, int cfd)
{
	struct compat_file *f;
	int err, r;

	/* vfio_group_ioctl_set_container()'s order: a closed fd, a group that
	 * has one, then an fd that is no container. */
	if (fcntl(cfd, F_GETFD) < 0)
		return -EBADF;
	if (g->container)
		return -EINVAL;
	f = compat_fd_lookup(cfd, &err);
	if (!compat_file_is(f, &compat_container_ops)) {
		compat_file_put(f);
		return -EBADFD;
	}
	r = group_viable(g);
	if (r <= 0) {
		compat_file_put(f);
		return r ? r : -EPERM;
	}
	/* The group keeps the reference: a container lives while a group is set. */
	r = compat_container_add_group((struct compat_container *)f, g);
	if (r < 0) {
		compat_file_put(f);
		return r;
	}
	compat_trace("VFIO_GROUP_SET_CONTAINER(group %d, container %d)", g->group_id, cfd);
	return 0;
}

/* VFIO_GROUP_UNSET_CONTAINER, or the group's last close. */
static void group_unset_container(struct compat_group *g)
{
	struct compat_container *c = g->container;

	unbind_group(g);
	pthread_mutex_lock(&c->lock);
	compat_container_del_group(c, g);
	pthread_mutex_unlock(&c->lock);
	g->container = NULL;
	compat_file_put(&c->file);
}

/* What match_device() found. */
enum device_match {
	NO_MATCH,
	MATCH,
	MATCH_SET_PF_TOKEN,	/* a PF given a token while no VF is in use */
	MATCH_VF,		/* a VF of a vfio-pci PF, with the PF's token */
};

/*
 * vfio_pci_core_match(): "BDF" or "BDF vf_token=UUID", with the answers
 * vfio-pci gives: enum device_match (@uuid: the token, 16 bytes; @pf: a
 * VF's PF), or -errno. 6.12's cdev bind takes no token, so the shim checks
 * a VF's against the PF's token as this process set it (vf_token.c), and
 * refuses one it cannot check rather than taking it on trust.
 */
static int match_device(const char *bdf, const char *buf, uint8_t *uuid, char *pf, size_t pf_len)
{
	char path[128], target[PATH_MAX], drv[64];
	size_t n = strlen(bdf);
	bool token = false;
	ssize_t len;
	int r;

	if (strncmp(buf, bdf, n))
		return NO_MATCH;
	buf += n;
	if (*buf && *buf != ' ')
		return NO_MATCH;
	while (*buf) {
		if (*buf == ' ') {
			buf++;
			continue;
		}
		if (token || strncmp(buf, "vf_token=", 9))
			return -EINVAL;	/* unknown or repeated option */
		buf += 9;
		if (iommufd_parse_uuid_prefix(buf, uuid) < 0)
			return -EINVAL;
		token = true;
		buf += 36;
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/physfn", bdf);
	len = readlink(path, target, sizeof(target) - 1);
	if (len > 0) {
		/* A VF. */
		const char *base;

		target[len] = '\0';
		base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
		if (strlen(base) >= pf_len)
			return -ENODEV;
		memcpy(pf, base, strlen(base) + 1);
		snprintf(path, sizeof(path), "%s/physfn", bdf);
		r = driver_of(path, drv, sizeof(drv));
		if (r < 0)
			return r;
		if (strcmp(drv, "vfio-pci"))
			return token ? -EINVAL : MATCH;	/* the PF is not vfio-pci's */
		r = compat_vf_token_check(pf, true, token ? uuid : NULL);
		if (r == -ENOKEY) {
			compat_trace("  %s: the token of its PF %s was not set through the shim in "
				     "this process, and 6.12's cdev bind cannot check it", bdf, pf);
			r = -EACCES;
		}
		return r < 0 ? r : MATCH_VF;
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/sriov_totalvfs", bdf);
	if (access(path, F_OK))
		return token ? -EINVAL : MATCH;	/* "VF token incorrectly provided" */
	/* A PF: with its VFs in use, their token; else a token given is set. */
	r = compat_vf_token_check(bdf, false, token ? uuid : NULL);
	if (r < 0)
		return r;
	return token ? MATCH_SET_PF_TOKEN : MATCH;
}

/* A PF given a token keeps it for its VFs: VFIO_DEVICE_FEATURE_PCI_VF_TOKEN. */
static int set_vf_token(int fd, const char *pf, const uint8_t *uuid)
{
	struct {
		struct vfio_device_feature f;
		uint8_t uuid[16];
	} arg = {
		.f = { .argsz = sizeof(arg),
		       .flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_PCI_VF_TOKEN },
	};

	memcpy(arg.uuid, uuid, sizeof(arg.uuid));
	if (compat_real_ioctl(fd, VFIO_DEVICE_FEATURE, &arg) < 0)
		return -errno;
	return compat_vf_token_set(pf, uuid);
}

static int group_get_device_fd(struct compat_group *g, const char *name)
{
	struct compat_device *d;
	uint8_t uuid[16];
	char pf[16] = "";
	int fd, i, m = NO_MATCH;

	/* vfio_device_get_from_name() first: a bad name answers before a missing IOMMU. */
	for (i = 0; i < g->nr_devices; i++) {
		m = match_device(g->names[i], name, uuid, pf, sizeof(pf));
		if (m)
			break;
	}
	if (m < 0)
		return m;
	if (m == NO_MATCH)
		return -ENODEV;
	if (!g->container || !g->container->iommu_set || !g->devs[i])
		return -EINVAL;
	/* A second fd on the bound cdev: closing it leaves the binding alone. */
	fd = fcntl(iommufd_device_fd(g->devs[i]), F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (fd >= COMPAT_MAX_FDS) {
		compat_real_close(fd);
		return -EMFILE;
	}
	if (m == MATCH_SET_PF_TOKEN && (m = set_vf_token(fd, g->names[i], uuid)) < 0) {
		compat_real_close(fd);
		return m;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		compat_real_close(fd);
		return -ENOMEM;
	}
	compat_file_init(&d->file, &compat_device_ops);
	d->dev = g->devs[i];
	d->group = (struct compat_group *)compat_file_get(&g->file);
	if (m == MATCH_VF) {
		snprintf(d->vf_of, sizeof(d->vf_of), "%s", pf);
		compat_vf_token_use(pf, 1);
	}
	__atomic_add_fetch(&g->open_devices, 1, __ATOMIC_RELAXED);
	compat_file_publish(&d->file, fd);
	compat_fd_install(fd, &d->file);
	compat_trace("VFIO_GROUP_GET_DEVICE_FD(%s) = %d (cdev of device %u)", name, fd,
		     iommufd_device_id(d->dev));
	return fd;
}

static int group_ioctl(struct compat_file *f, int fd, unsigned long req, void *arg)
{
	struct compat_group *g = (struct compat_group *)f;
	struct vfio_group_status *st = arg;
	int r;

	switch (req) {
	case VFIO_GROUP_GET_STATUS:
		if (st->argsz < offsetofend(struct vfio_group_status, flags))
			return -EINVAL;
		r = group_viable(g);
		if (r < 0)
			return r;
		st->flags = (r ? VFIO_GROUP_FLAGS_VIABLE : 0) |
			    (g->container ? VFIO_GROUP_FLAGS_CONTAINER_SET : 0);
		return 0;
	case VFIO_GROUP_SET_CONTAINER:
		r = group_set_container(g, *(int *)arg);
		if (!r && g->container->iommu_set) {
			pthread_mutex_lock(&g->container->lock);
			r = compat_group_bind(g);
			pthread_mutex_unlock(&g->container->lock);
		}
		return r;
	case VFIO_GROUP_UNSET_CONTAINER:
		if (!g->container)
			return -EINVAL;
		/* The kernel's container_users: each open device fd holds the group there. */
		if (__atomic_load_n(&g->open_devices, __ATOMIC_RELAXED))
			return -EBUSY;
		group_unset_container(g);
		return 0;
	case VFIO_GROUP_GET_DEVICE_FD:
		return group_get_device_fd(g, arg);
	default:
		return -ENOTTY;
	}
}

static void group_release(struct compat_file *f)
{
	struct compat_group *g = (struct compat_group *)f;
	int id = g->group_id;

	if (g->container)
		group_unset_container(g);
	group_free(g);
	__atomic_store_n(&open_groups[id], 0, __ATOMIC_RELEASE);
}

const struct compat_file_ops compat_group_ops = {
	.name = "group",
	.ioctl = group_ioctl,
	.release = group_release,
};
/*
 * The checks of vfio_pci_ioctl_pci_hot_reset_groups() on the group form, so a
 * bad fd gets the errno it gets from the kernel before the cdev form runs.
 */
static int check_hot_reset_groups(int fd, const struct vfio_pci_hot_reset *hr)
{
	struct vfio_pci_hot_reset_info info = { .argsz = sizeof(info) };
	int r;

	if (hr->argsz < offsetofend(struct vfio_pci_hot_reset, count) || hr->flags)
		return -EINVAL;
	/* A zero-length array is for cdev-opened devices; this one came from a group. */
	if (!hr->count)
		return -EINVAL;
	/* At most one group per affected device: the info's count. */
	r = compat_real_ioctl(fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &info) < 0 ? -errno : 0;
	if (r < 0 && r != -ENOSPC)
		return r;
	if (hr->count > info.count)
		return -EINVAL;
	for (uint32_t i = 0; i < hr->count; i++) {
		struct compat_file *f;
		bool group;
		int err;

		if (fcntl(hr->group_fds[i], F_GETFD) < 0)
			return -EBADF;
		f = compat_fd_lookup(hr->group_fds[i], &err);
		group = compat_file_is(f, &compat_group_ops);
		compat_file_put(f);
		if (!group)
			return -EINVAL;
	}
	return 0;
}

static bool is_vf_token_set(const void *arg)
{
	const struct vfio_device_feature *f = arg;

	return (f->flags & VFIO_DEVICE_FEATURE_MASK) == VFIO_DEVICE_FEATURE_PCI_VF_TOKEN &&
	       (f->flags & VFIO_DEVICE_FEATURE_SET) && !(f->flags & VFIO_DEVICE_FEATURE_PROBE) &&
	       f->argsz >= sizeof(*f) + 16;
}

/*
 * Device fds go straight to the kernel, but for hot reset: the group form
 * (group fds prove ownership) becomes the cdev form (the iommufd does), and
 * the affected devices are named by group again; and a VF token the kernel
 * took for a PF is recorded, to check its VFs' names against.
 */
static int device_ioctl(struct compat_file *f, int fd, unsigned long req, void *arg)
{
	struct vfio_pci_hot_reset *hr = arg;
	struct vfio_pci_hot_reset cdev_form;
	int r;

	if (req == VFIO_DEVICE_PCI_HOT_RESET) {
		r = check_hot_reset_groups(fd, hr);
		if (r < 0)
			return r;
		cdev_form = (struct vfio_pci_hot_reset){ .argsz = sizeof(cdev_form) };
		r = compat_real_ioctl(fd, req, &cdev_form);
		compat_trace("VFIO_DEVICE_PCI_HOT_RESET(%u group fds) -> cdev form: %d", hr->count,
			     r < 0 ? -errno : r);
		return r < 0 ? -errno : r;
	}
	r = compat_real_ioctl(fd, req, arg);
	if (r < 0)
		return -errno;
	if (req == VFIO_DEVICE_FEATURE && is_vf_token_set(arg)) {
		/* The kernel took it: the PF's VFs are checked against it from now on. */
		r = compat_vf_token_set(iommufd_device_name(((struct compat_device *)f)->dev),
					(const uint8_t *)((struct vfio_device_feature *)arg)->data);
		return r;
	}
	if (req == VFIO_DEVICE_GET_PCI_HOT_RESET_INFO) {
		struct vfio_pci_hot_reset_info *info = arg;

		if ((info->flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID) &&
		    info->argsz >= sizeof(*info) + info->count * sizeof(info->devices[0])) {
			for (uint32_t i = 0; i < info->count; i++) {
				struct vfio_pci_dependent_device *dd = &info->devices[i];
				char link[96], target[PATH_MAX];
				ssize_t n;

				snprintf(link, sizeof(link),
					 "/sys/bus/pci/devices/%04x:%02x:%02x.%x/iommu_group",
					 dd->segment, dd->bus, dd->devfn >> 3, dd->devfn & 7);
				n = readlink(link, target, sizeof(target) - 1);
				if (n > 0) {
					target[n] = '\0';
					dd->group_id = atoi(strrchr(target, '/') + 1);
				}
			}
			info->flags &= ~(VFIO_PCI_HOT_RESET_FLAG_DEV_ID |
					 VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED);
		}
	}
	return r;
}

static void device_release(struct compat_file *f)
{
	struct compat_device *d = (struct compat_device *)f;

	if (d->vf_of[0])
		compat_vf_token_use(d->vf_of, -1);
	__atomic_sub_fetch(&d->group->open_devices, 1, __ATOMIC_RELAXED);
	compat_file_put(&d->group->file);
	free(d);
}

/* The group's bound cdev, which the device fds handed out are duplicates of. */
static bool device_internal_fd(const struct compat_file *f, int fd)
{
	const struct compat_device *d = (const struct compat_device *)f;

	return iommufd_device_fd(d->dev) == fd;
}

const struct compat_file_ops compat_device_ops = {
	.name = "device",
	.ioctl = device_ioctl,
	.release = device_release,
	.internal_fd = device_internal_fd,
};
