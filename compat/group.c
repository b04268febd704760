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

#include "../libiommufd/internal.h"
#include "compat.h"

static pthread_mutex_t groups_lock = PTHREAD_MUTEX_INITIALIZER;

/* Every live container, for the fork handler. */
static pthread_mutex_t containers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct compat_container *containers[64];

/*
 * A forked child shares the container fds, and so the kernel objects, as it
 * would share a real container; but a libiommufd context refuses use from a
 * child (its pins are the parent's). The child takes the same iommufd fd
 * into a context of its own, so its maps pin its own memory, as type1's do.
 * The parent's context object is left alone: closing it would close the fd.
 */
static void atfork_child(void)
{
	struct iommufd_ctx *mine;

	for (size_t i = 0; i < sizeof(containers) / sizeof(containers[0]); i++) {
		struct compat_container *c = containers[i];

		if (c && !iommufd_ctx_from_fd(iommufd_ctx_fd(c->ctx), 0, &mine)) {
			iommufd_ctx_disable_record(mine);
			c->ctx = mine;
		}
	}
}

static void install_atfork(void)
{
	pthread_atfork(NULL, NULL, atfork_child);
}

static void register_container(struct compat_container *c, bool add)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, install_atfork);
	pthread_mutex_lock(&containers_lock);
	for (size_t i = 0; i < sizeof(containers) / sizeof(containers[0]); i++) {
		if (add && !containers[i]) {
			containers[i] = c;
			break;
		}
		if (!add && containers[i] == c)
			containers[i] = NULL;
	}
	pthread_mutex_unlock(&containers_lock);
}
static int open_groups[1024];	/* a group file opens once, as in VFIO */

bool compat_path_group(const char *path, int *group_id)
{
	char *end;
	long n;

	if (strncmp(path, "/dev/vfio/", 10) || !path[10] || path[10] < '0' || path[10] > '9')
		return false;
	n = strtol(path + 10, &end, 10);
	if (*end || n < 0 || n >= 1024)
		return false;
	*group_id = (int)n;
	return true;
}

/* So the same file reached another way is known (fdtable.c); only tracing fails. */
static void register_file(int fd, const struct compat_obj *obj)
{
	int r = compat_fd_register(fd, obj);

	if (r < 0)
		compat_trace("fd %d cannot be recognised if passed over a socket: %s", fd,
			     strerror(-r));
}

/*
 * A real fd so that poll, close and dup behave; its ioctls are ours. A memfd
 * has an inode of its own, so the same file reaching the program by another
 * way (a socket) is still recognised (fdtable.c); its name says what it is.
 */
static int new_fd(int flags, const char *what)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), COMPAT_MEMFD_PREFIX "%s", what);
	fd = memfd_create(name, flags & O_CLOEXEC ? MFD_CLOEXEC : 0);
	if (fd < 0)
		return -errno;
	if (fd >= COMPAT_MAX_FDS) {
		compat_trace("fd %d is beyond the %d the shim can track", fd, COMPAT_MAX_FDS);
		real_close(fd);
		return -EMFILE;
	}
	return fd;
}

int compat_open_container(int flags)
{
	struct compat_container *c;
	struct compat_obj *obj;
	const char *lim = getenv("IOMMUFD_COMPAT_DMA_LIMIT");
	int fd, r;

	c = calloc(1, sizeof(*c));
	obj = calloc(1, sizeof(*obj));
	if (!c || !obj) {
		free(c);
		free(obj);
		return -ENOMEM;
	}
	pthread_mutex_init(&c->lock, NULL);
	c->refs = 1;
	c->dma_limit = lim ? (uint32_t)strtoul(lim, NULL, 0) : COMPAT_DMA_LIMIT;
	c->pgsize_bitmap = 4096;
	r = iommufd_ctx_open(NULL, &c->ctx);
	if (!r) {
		/* The container keeps type1's own list of mappings. */
		iommufd_ctx_disable_record(c->ctx);
		r = iommufd_ioas_alloc(c->ctx, &c->ioas_id);
	}
	if (!r) {
		compat_container_use_kernel_compat(c);
		r = compat_container_refresh_ranges(c);
	}
	fd = r ? r : new_fd(flags, "container");
	if (fd < 0) {
		compat_trace("open(/dev/vfio/vfio) failed: %s", iommufd_last_error());
		iommufd_ctx_unref(c->ctx);
		free(c);
		free(obj);
		return fd;
	}
	obj->kind = COMPAT_CONTAINER;
	obj->container = c;
	register_container(c, true);
	compat_fd_set(fd, obj);
	register_file(fd, obj);
	compat_trace("open(/dev/vfio/vfio) = %d: iommufd %d, IOAS %u", fd,
		     iommufd_ctx_fd(c->ctx), c->ioas_id);
	return fd;
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

int compat_open_group(int group_id, int flags)
{
	struct compat_group *g;
	struct compat_obj *obj;
	char what[32];
	int fd, r;

	pthread_mutex_lock(&groups_lock);
	if (open_groups[group_id]) {
		pthread_mutex_unlock(&groups_lock);
		return -EBUSY;
	}
	g = calloc(1, sizeof(*g));
	obj = calloc(1, sizeof(*obj));
	r = g && obj ? 0 : -ENOMEM;
	if (!r) {
		g->refs = 1;
		g->group_id = group_id;
		r = read_group_devices(g);
	}
	if (!r) {
		snprintf(what, sizeof(what), "group %d", group_id);
		fd = new_fd(flags, what);
	} else {
		fd = r;
	}
	if (fd < 0) {
		if (g) {
			free(g->names);
			free(g->devs);
		}
		free(g);
		free(obj);
		pthread_mutex_unlock(&groups_lock);
		return fd;
	}
	open_groups[group_id] = 1;
	pthread_mutex_unlock(&groups_lock);
	obj->kind = COMPAT_GROUP;
	obj->group = g;
	compat_fd_set(fd, obj);
	register_file(fd, obj);
	compat_trace("open(/dev/vfio/%d) = %d: %d device(s)", group_id, fd, g->nr_devices);
	return fd;
}

/* The driver a PCI device is bound to, or "". */
static void driver_of(const char *bdf, char *buf, size_t len)
{
	char link[128], target[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/driver", bdf);
	n = readlink(link, target, sizeof(target) - 1);
	buf[0] = '\0';
	if (n > 0) {
		target[n] = '\0';
		snprintf(buf, len, "%s", strrchr(target, '/') + 1);
	}
}

/* VFIO's viability: every device on vfio-pci, on no driver, or a bridge's. */
static bool group_viable(struct compat_group *g)
{
	char drv[64];

	for (int i = 0; i < g->nr_devices; i++) {
		driver_of(g->names[i], drv, sizeof(drv));
		if (drv[0] && strcmp(drv, "vfio-pci") && strcmp(drv, "pcieport"))
			return false;
	}
	return true;
}

/*
 * Bind the group's vfio-pci devices to the container's iommufd and attach
 * them, with the container locked: type1 attaches a group to its domain at
 * VFIO_SET_IOMMU (or when a group joins a container that has one).
 */
int compat_group_bind(struct compat_group *g)
{
	struct compat_container *c = g->container;
	struct iommufd_hw_info info;
	char drv[64];
	int r;

	for (int i = 0; i < g->nr_devices; i++) {
		driver_of(g->names[i], drv, sizeof(drv));
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

static void unbind_group(struct compat_group *g)
{
	for (int i = 0; i < g->nr_devices; i++)
		g->devs[i] = iommufd_device_close(g->devs[i]);
	pthread_mutex_lock(&g->container->lock);
	compat_container_refresh_ranges(g->container);
	pthread_mutex_unlock(&g->container->lock);
}

static int group_set_container(struct compat_group *g, int cfd)
{
	struct compat_container *c;
	struct compat_obj *obj;
	void *tmp;
	int err;

	/* vfio_group_ioctl_set_container()'s order: a closed fd, a group that
	 * has one, then an fd that is no container. */
	if (fcntl(cfd, F_GETFD) < 0)
		return -EBADF;
	if (g->container)
		return -EINVAL;
	obj = compat_fd_lookup(cfd, &err);
	if (!obj || obj->kind != COMPAT_CONTAINER)
		return -EBADFD;
	if (!group_viable(g))
		return -EPERM;
	c = obj->container;
	pthread_mutex_lock(&c->lock);
	tmp = realloc(c->groups, (c->nr_groups + 1) * sizeof(*c->groups));
	if (!tmp) {
		pthread_mutex_unlock(&c->lock);
		return -ENOMEM;
	}
	c->groups = tmp;
	c->groups[c->nr_groups++] = g;
	c->refs++;
	g->container = c;
	pthread_mutex_unlock(&c->lock);
	compat_trace("VFIO_GROUP_SET_CONTAINER(group %d, container %d)", g->group_id, cfd);
	return 0;
}

static void group_unset_container(struct compat_group *g)
{
	struct compat_container *c = g->container;

	unbind_group(g);
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < c->nr_groups; i++)
		if (c->groups[i] == g)
			c->groups[i] = c->groups[--c->nr_groups];
	/* type1 lets go of its domain, and every mapping, with the last group. */
	if (!c->nr_groups && c->iommu_set) {
		compat_container_unmap_all(c);
		compat_dirty_release(c);
		c->iommu_set = false;
	}
	pthread_mutex_unlock(&c->lock);
	g->container = NULL;
	compat_container_put(c);
}

static int group_get_device_fd(struct compat_group *g, const char *name)
{
	struct compat_obj *obj;
	struct compat_device *d;
	int fd;

	if (!g->container || !g->container->iommu_set)
		return -EINVAL;
	for (int i = 0; i < g->nr_devices; i++) {
		if (strcmp(g->names[i], name) || !g->devs[i])
			continue;
		/* A second fd on the bound cdev: closing it leaves the binding alone. */
		fd = fcntl(iommufd_device_fd(g->devs[i]), F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (fd >= COMPAT_MAX_FDS) {
			real_close(fd);
			return -EMFILE;
		}
		d = calloc(1, sizeof(*d));
		obj = calloc(1, sizeof(*obj));
		if (!d || !obj) {
			free(d);
			free(obj);
			real_close(fd);
			return -ENOMEM;
		}
		d->refs = 1;
		d->dev = g->devs[i];
		d->group = g;
		__atomic_add_fetch(&g->refs, 1, __ATOMIC_SEQ_CST);
		obj->kind = COMPAT_DEVICE;
		obj->device = d;
		compat_fd_set(fd, obj);
		register_file(fd, obj);
		compat_trace("VFIO_GROUP_GET_DEVICE_FD(%s) = %d (cdev of device %u)", name, fd,
			     iommufd_device_id(d->dev));
		return fd;
	}
	return -ENODEV;	/* as VFIO answers for a name not in the group */
}

int compat_group_ioctl(struct compat_group *g, int fd, unsigned long req, void *arg)
{
	struct vfio_group_status *st = arg;
	int r;

	switch (req) {
	case VFIO_GROUP_GET_STATUS:
		if (st->argsz < offsetofend_(struct vfio_group_status, flags))
			return -EINVAL;
		st->flags = (group_viable(g) ? VFIO_GROUP_FLAGS_VIABLE : 0) |
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
		group_unset_container(g);
		return 0;
	case VFIO_GROUP_GET_DEVICE_FD:
		return group_get_device_fd(g, arg);
	default:
		return -ENOTTY;
	}
}

/*
 * The checks of vfio_pci_ioctl_pci_hot_reset_groups() on the group form, so a
 * bad fd gets the errno it gets from the kernel before the cdev form runs.
 */
static int check_hot_reset_groups(int fd, const struct vfio_pci_hot_reset *hr)
{
	struct vfio_pci_hot_reset_info info = { .argsz = sizeof(info) };

	if (hr->argsz < offsetofend_(struct vfio_pci_hot_reset, count) || hr->flags)
		return -EINVAL;
	/* A zero-length array is for cdev-opened devices; this one came from a group. */
	if (!hr->count)
		return -EINVAL;
	/* At most one group per affected device: the info's count. */
	if (real_ioctl(fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &info) < 0 && errno != ENOSPC)
		return -errno;
	if (hr->count > info.count)
		return -EINVAL;
	for (uint32_t i = 0; i < hr->count; i++) {
		struct compat_obj *obj;
		int err;

		if (fcntl(hr->group_fds[i], F_GETFD) < 0)
			return -EBADF;
		obj = compat_fd_lookup(hr->group_fds[i], &err);
		if (!obj || obj->kind != COMPAT_GROUP)
			return -EINVAL;
	}
	return 0;
}

/*
 * Device fds go straight to the kernel, but for hot reset: the group form
 * (group fds prove ownership) becomes the cdev form (the iommufd does), and
 * the affected devices are named by group again.
 */
int compat_device_ioctl(struct compat_device *d, int fd, unsigned long req, void *arg)
{
	struct vfio_pci_hot_reset *hr = arg;
	struct vfio_pci_hot_reset cdev_form;
	int r;

	if (req == VFIO_DEVICE_PCI_HOT_RESET) {
		r = check_hot_reset_groups(fd, hr);
		if (r < 0)
			return r;
		cdev_form = (struct vfio_pci_hot_reset){ .argsz = sizeof(cdev_form) };
		r = real_ioctl(fd, req, &cdev_form);
		compat_trace("VFIO_DEVICE_PCI_HOT_RESET(%u group fds) -> cdev form: %d", hr->count,
			     r < 0 ? -errno : r);
		return r < 0 ? -errno : r;
	}
	r = real_ioctl(fd, req, arg);
	if (r < 0)
		return -errno;
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

void compat_container_put(struct compat_container *c)
{
	bool last;

	pthread_mutex_lock(&c->lock);
	last = --c->refs == 0;
	pthread_mutex_unlock(&c->lock);
	if (!last)
		return;
	compat_fd_unregister(c);
	register_container(c, false);
	compat_container_unmap_all(c);
	iommufd_ctx_unref(c->ctx);
	free(c->ranges);
	free(c->groups);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void compat_group_put(struct compat_group *g)
{
	if (__atomic_sub_fetch(&g->refs, 1, __ATOMIC_SEQ_CST))
		return;
	compat_fd_unregister(g);
	if (g->container)
		group_unset_container(g);
	pthread_mutex_lock(&groups_lock);
	open_groups[g->group_id] = 0;
	pthread_mutex_unlock(&groups_lock);
	free(g->names);
	free(g->devs);
	free(g);
}

void compat_device_put(struct compat_device *d)
{
	if (__atomic_sub_fetch(&d->refs, 1, __ATOMIC_SEQ_CST))
		return;
	compat_fd_unregister(d);
	compat_group_put(d->group);
	free(d);
}
