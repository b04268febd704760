// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The same struct ioas without iommufd: over a legacy VFIO type1 container
 * (kernels without /dev/iommu, such as Debian 12's 6.1), or over VFIO's
 * no-IOMMU mode, where there is no translation at all and the device sees
 * physical addresses. And ioas_open_device(), which picks one at run time
 * and opens the device, a struct ioas_device that owns its fds.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "internal.h"

/* ---- type1 ---------------------------------------------------------------- */

static int type1_kernel_map(struct ioas *ioas, void *vaddr, uint64_t length, uint64_t iova,
			    unsigned int access)
{
	int r = iommufd_type1_map_dma(xioctl, ioas->container_fd, (uintptr_t)vaddr, iova, length,
				      access);

	if (r == -ENOSPC)
		return iommufd_fail(NULL, r, "VFIO type1: the container holds its maximum of "
				    "mappings (vfio_iommu_type1.dma_entry_limit)");
	if (r < 0)
		return iommufd_fail(NULL, r, "VFIO_IOMMU_MAP_DMA of 0x%" PRIx64 " bytes at IOVA 0x%"
				    PRIx64 ": %s", length, iova, strerror(-r));
	return 0;
}

static int type1_kernel_unmap(struct ioas *ioas, uint64_t iova, uint64_t length)
{
	int r = iommufd_type1_unmap_dma(xioctl, ioas->container_fd, iova, &length);

	if (r < 0)
		return iommufd_fail(NULL, r, "VFIO_IOMMU_UNMAP_DMA at IOVA 0x%" PRIx64 ": %s", iova,
				    strerror(-r));
	return 0;
}

/* The IOVA-range capability of VFIO_IOMMU_GET_INFO, and the smallest page size. */
static int type1_ranges(struct ioas *ioas, struct iommufd_iova_range **ranges, size_t *nr,
			uint64_t *alignment)
{
	struct vfio_iommu_type1_info *info = NULL, *tmp;
	struct vfio_iommu_type1_info_cap_iova_range *cap = NULL;
	uint32_t argsz = sizeof(*info), len;
	long off;
	int r;

	for (int tries = 0; tries < 3; tries++) {
		tmp = realloc(info, argsz);
		if (!tmp) {
			free(info);
			return iommufd_fail(NULL, -ENOMEM, "out of memory");
		}
		info = tmp;
		memset(info, 0, argsz);
		info->argsz = argsz;
		r = xioctl(ioas->container_fd, VFIO_IOMMU_GET_INFO, info);
		if (r < 0) {
			free(info);
			return iommufd_fail(NULL, r, "VFIO_IOMMU_GET_INFO: %s", strerror(-r));
		}
		if (info->argsz <= argsz)
			break;
		argsz = info->argsz;
	}
	/* The reply as far as it is in the buffer: a grown argsz may not be. */
	len = info->argsz < argsz ? info->argsz : argsz;
	off = info->flags & VFIO_IOMMU_INFO_CAPS ?
		      iommufd_find_cap(info, len, info->cap_offset, sizeof(*info),
				       VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) : 0;
	if (off > 0) {
		size_t room = len - (size_t)off;	/* find_cap kept off inside len */

		cap = (void *)((char *)info + off);
		if (room < sizeof(*cap) ||
		    (room - sizeof(*cap)) / sizeof(cap->iova_ranges[0]) < cap->nr_iovas)
			off = -EINVAL;
	}
	if (off < 0) {
		free(info);
		return iommufd_fail(NULL, -EINVAL, "VFIO_IOMMU_GET_INFO: a malformed capability "
				    "chain, or an IOVA-range capability longer than the reply");
	}
	*nr = cap ? cap->nr_iovas : 1;
	*ranges = calloc(*nr, sizeof(**ranges));
	if (!*ranges) {
		free(info);
		return iommufd_fail(NULL, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < *nr; i++) {
		(*ranges)[i].start = cap ? cap->iova_ranges[i].start : 0;
		(*ranges)[i].last = cap ? cap->iova_ranges[i].end : UINT64_MAX;
	}
	if (alignment)
		*alignment = info->flags & VFIO_IOMMU_INFO_PGSIZES ?
				     info->iova_pgsizes & -info->iova_pgsizes : 4096;
	free(info);
	return 0;
}

/*
 * The device, and with it the group, has left the container: type1 dropped
 * every mapping when its last group went. The empty container goes now.
 */
static void vfio_release(struct ioas *ioas)
{
	if (ioas->container_fd >= 0)
		close(ioas->container_fd);
	ioas->container_fd = -1;
}

const struct ioas_backend ioas_backend_type1 = {
	.name = "type1",
	.place = ioas_iommu_place,
	.unplace = ioas_iommu_unplace,
	.map = ioas_iommu_map,
	.unmap = ioas_iommu_unmap,
	.kernel_map = type1_kernel_map,
	.kernel_unmap = type1_kernel_unmap,
	.ranges = type1_ranges,
	.release = vfio_release,
};

/* ---- no IOMMU ------------------------------------------------------------- */

/*
 * Without an IOMMU the device reaches memory by physical address, and
 * nothing stops it reaching anything else: this is VFIO's unsafe mode. The
 * IOVA of a buffer is its physical address, from /proc/self/pagemap (root
 * only); the buffer is locked so the pages never move, and refused unless it
 * is physically contiguous (hugetlb memory is, within a huge page). Placing a
 * buffer (locking it, reading where it is) is all a map is; unplacing it
 * unlocks it.
 */
static int noiommu_place(struct ioas *ioas, struct ioas_mapping *m, bool identity)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t first = 0, entry, length = m->length;
	void *vaddr = m->vaddr;
	int fd, r = 0;

	if (identity)
		return iommufd_fail(ioas->ctx, -EOPNOTSUPP,
				    "identity maps need an IOMMU (the %s backend has none)",
				    ioas->backend->name);
	if (mlock(vaddr, length) < 0)
		return iommufd_fail(NULL, -errno, "no-IOMMU: cannot lock %p+0x%" PRIx64
				    " in memory: %s", vaddr, length, strerror(errno));
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = iommufd_fail(NULL, -errno, "no-IOMMU: /proc/self/pagemap: %s", strerror(errno));
		goto out;
	}
	for (uint64_t off = 0; off < length; off += pg) {
		uint64_t va = (uintptr_t)vaddr + off, pfn;

		if (pread(fd, &entry, 8, (off_t)(va / pg * 8)) != 8) {
			r = iommufd_fail(NULL, -EIO, "no-IOMMU: cannot read pagemap");
			break;
		}
		pfn = entry & ((1ULL << 55) - 1);
		/* Bit 63: present. Without CAP_SYS_ADMIN the PFN reads as 0. */
		if (!(entry >> 63) || !pfn) {
			r = iommufd_fail(NULL, -EPERM,
					 "no-IOMMU: the physical address of %p is hidden or the page "
					 "is not present (needs root, and memory faulted in)",
					 (void *)(uintptr_t)va);
			break;
		}
		if (!off) {
			first = pfn;
		} else if (pfn != first + off / pg) {
			r = iommufd_fail(NULL, -EINVAL,
					 "no-IOMMU: %p+0x%" PRIx64 " is not physically contiguous "
					 "(page %" PRIu64 " breaks the run); use hugetlb memory "
					 "(IOAS_DMA_HUGE_2M) for buffers larger than a page",
					 vaddr, length, off / pg);
			break;
		}
	}
	close(fd);
	if (!r)
		m->iova = first * pg + ((uintptr_t)vaddr & (pg - 1));
out:
	if (r)
		munlock(vaddr, length);
	return r;
}

static void noiommu_unplace(struct ioas *ioas, const struct ioas_mapping *m)
{
	munlock(m->vaddr, m->length);
}

/* The memory is reachable where it is: nothing to map, and @fn is not called. */
static int noiommu_map(struct ioas *ioas, const struct ioas_mapping *m, ioas_kernel_map_fn fn,
		       void *arg)
{
	return 0;
}

static int noiommu_unmap(struct ioas *ioas, const struct ioas_mapping *m)
{
	return 0;
}

static int noiommu_kernel_map(struct ioas *ioas, void *vaddr, uint64_t length, uint64_t iova,
			      unsigned int access)
{
	return iommufd_fail(ioas->ctx, -EOPNOTSUPP, "the %s backend maps nothing",
			    ioas->backend->name);
}

static int noiommu_kernel_unmap(struct ioas *ioas, uint64_t iova, uint64_t length)
{
	return noiommu_kernel_map(ioas, NULL, length, iova, 0);
}

static int noiommu_ranges(struct ioas *ioas, struct iommufd_iova_range **ranges, size_t *nr,
			  uint64_t *alignment)
{
	*ranges = calloc(1, sizeof(**ranges));
	if (!*ranges)
		return -ENOMEM;
	(*ranges)[0] = (struct iommufd_iova_range){ 0, UINT64_MAX };
	*nr = 1;
	if (alignment)
		*alignment = sysconf(_SC_PAGESIZE);
	return 0;
}

/* Every buffer still mapped is unlocked; then the container goes. */
static void noiommu_release(struct ioas *ioas)
{
	struct ioas_mapping *m = NULL;
	size_t n;

	if (ioas->tracker) {
		n = ioas_mappings(ioas, &m);
		for (size_t i = 0; i < n; i++)
			ioas->backend->unplace(ioas, &m[i]);
		free(m);
	}
	vfio_release(ioas);
}

const struct ioas_backend ioas_backend_noiommu = {
	.name = "noiommu",
	.place = noiommu_place,
	.unplace = noiommu_unplace,
	.map = noiommu_map,
	.unmap = noiommu_unmap,
	.kernel_map = noiommu_kernel_map,
	.kernel_unmap = noiommu_kernel_unmap,
	.ranges = noiommu_ranges,
	.release = noiommu_release,
};

/* ---- choosing one --------------------------------------------------------- */

static int group_of(const char *bdf, char *node, size_t len)
{
	char link[PATH_MAX], target[PATH_MAX], name[256] = "";
	ssize_t n;
	FILE *f;

	snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return iommufd_fail(NULL, -ENODEV, "%s has no IOMMU group (no IOMMU, and VFIO's "
				    "no-IOMMU mode is off)", bdf);
	target[n] = '\0';
	/* No-IOMMU groups are named "vfio-noiommu"; their node is /dev/vfio/noiommu-N. */
	snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/iommu_group/name", bdf);
	f = fopen(link, "re");
	if (f) {
		if (!fgets(name, sizeof(name), f))
			name[0] = '\0';
		fclose(f);
	}
	snprintf(node, len, "/dev/vfio/%s%s", strncmp(name, "vfio-noiommu", 12) ? "" : "noiommu-",
		 strrchr(target, '/') + 1);
	return !strncmp(name, "vfio-noiommu", 12);
}

struct ioas_device *ioas_device_close(struct ioas_device *dev)
{
	if (!dev)
		return NULL;
	iommufd_device_close(dev->idev);
	if (dev->device_fd >= 0)
		close(dev->device_fd);
	if (dev->group_fd >= 0)
		close(dev->group_fd);
	free(dev);
	return NULL;
}

static int device_new(struct ioas *ioas)
{
	ioas->device = calloc(1, sizeof(*ioas->device));
	if (!ioas->device)
		return iommufd_fail(NULL, -ENOMEM, "out of memory");
	ioas->device->group_fd = ioas->device->device_fd = -1;
	return 0;
}

/* A legacy VFIO container (the ioas's) with @bdf's group in it, and the device. */
static int open_vfio(struct ioas *ioas, const char *bdf, bool noiommu)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	struct ioas_device *dev;
	char node[64];
	int r, is_noiommu;

	is_noiommu = group_of(bdf, node, sizeof(node));
	if (is_noiommu < 0)
		return is_noiommu;
	if (is_noiommu != noiommu)
		return iommufd_fail(NULL, -ENODEV, "%s: %s", bdf, noiommu ?
				    "not in a no-IOMMU group (the IOMMU is on: use it)" :
				    "in a no-IOMMU group: the type1 backend needs an IOMMU");
	r = device_new(ioas);
	if (r < 0)
		return r;
	dev = ioas->device;
	ioas->container_fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (ioas->container_fd < 0)
		return iommufd_fail(NULL, -errno, "/dev/vfio/vfio: %s (the kernel has no VFIO "
				    "container)", strerror(errno));
	dev->group_fd = open(node, O_RDWR | O_CLOEXEC);
	if (dev->group_fd < 0)
		return iommufd_fail(NULL, -errno, "%s: %s (is %s bound to vfio-pci?)", node,
				    strerror(errno), bdf);
	r = xioctl(dev->group_fd, VFIO_GROUP_GET_STATUS, &st);
	if (!r && !(st.flags & VFIO_GROUP_FLAGS_VIABLE))
		return iommufd_fail(NULL, -EBUSY, "%s: another device of its group is still on a "
				    "host driver", node);
	if (!r)
		r = xioctl(dev->group_fd, VFIO_GROUP_SET_CONTAINER, &ioas->container_fd);
	if (!r)
		r = xioctl(ioas->container_fd, VFIO_SET_IOMMU,
			   (void *)(uintptr_t)(noiommu ? VFIO_NOIOMMU_IOMMU : VFIO_TYPE1v2_IOMMU));
	if (r < 0)
		return iommufd_fail(NULL, r, "%s: setting up the container: %s", node, strerror(-r));
	dev->device_fd = xioctl(dev->group_fd, VFIO_GROUP_GET_DEVICE_FD, (void *)bdf);
	if (dev->device_fd < 0)
		return iommufd_fail(NULL, dev->device_fd, "%s: VFIO_GROUP_GET_DEVICE_FD: %s", bdf,
				    strerror(-dev->device_fd));
	return 0;
}

/*
 * The backend when the caller leaves the choice open (IOAS_BACKEND_AUTO): the
 * one IOAS_BACKEND in the environment names; else no-IOMMU for a device in a
 * no-IOMMU group, which nothing else can reach (/dev/iommu exists in such a
 * kernel too, for IOMMUFD_TEST); else iommufd where /dev/iommu exists; else
 * type1. A backend the caller names is never overridden: a program that asks
 * for type1 must not end up in the unsafe mode.
 */
static enum ioas_backend_kind pick_auto(const char *bdf)
{
	const char *env = getenv("IOAS_BACKEND");

	if (env && !strcmp(env, "iommufd"))
		return IOAS_BACKEND_IOMMUFD;
	if (env && !strcmp(env, "type1"))
		return IOAS_BACKEND_TYPE1;
	if (env && !strcmp(env, "noiommu"))
		return IOAS_BACKEND_NOIOMMU;
	if (group_of(bdf, (char[64]){ 0 }, 64) == 1)
		return IOAS_BACKEND_NOIOMMU;
	if (!access("/dev/iommu", F_OK))
		return IOAS_BACKEND_IOMMUFD;
	return IOAS_BACKEND_TYPE1;
}

IOMMUFD_API int ioas_open_device(const char *bdf, const struct ioas_open_opts *opts,
				 struct ioas **ret, int *device_fd)
{
	enum ioas_backend_kind kind;
	IOAS_OPTS(ioas_opts, o);
	struct iommufd_ctx *ctx;
	struct ioas *ioas;
	char norm[16];
	int r;

	check_arg(bdf);
	check_arg(ret);
	check_arg(device_fd);
	r = check_opts(NULL, opts, ioas_open_opts, dma_limit);
	if (r < 0)
		return r;
	kind = opts_get(opts, ioas_open_opts, backend, IOAS_BACKEND_AUTO);
	o.dma_limit = opts_get(opts, ioas_open_opts, dma_limit, 0);
	snprintf(norm, sizeof(norm), "%s%s", strlen(bdf) == 7 ? "0000:" : "", bdf);
	if (kind == IOAS_BACKEND_AUTO)
		kind = pick_auto(norm);

	if (kind == IOAS_BACKEND_IOMMUFD) {
		r = iommufd_ctx_open(NULL, &ctx);
		if (r < 0)
			return r;
		r = ioas_new(ctx, &o, &ioas);
		iommufd_ctx_unref(ctx);
		if (r < 0)
			return r;
		r = device_new(ioas);
		if (!r)
			r = iommufd_device_open(ioas->ctx, norm, &ioas->device->idev);
		if (!r)
			r = iommufd_device_attach(ioas->device->idev, ioas->id);
		if (!r)
			r = ioas_refresh_ranges(ioas);
		if (r < 0) {
			ioas_free(ioas);
			return r;
		}
		*device_fd = iommufd_device_fd(ioas->device->idev);
		*ret = ioas;
		return 0;
	}

	ioas = calloc(1, sizeof(*ioas));
	if (!ioas)
		return iommufd_fail(NULL, -ENOMEM, "out of memory");
	ioas->container_fd = -1;
	ioas->limit = o.dma_limit ? o.dma_limit : UINT64_MAX;
	pthread_mutex_init(&ioas->map_lock, NULL);
	ioas->backend = kind == IOAS_BACKEND_NOIOMMU ? &ioas_backend_noiommu : &ioas_backend_type1;
	r = open_vfio(ioas, norm, kind == IOAS_BACKEND_NOIOMMU);
	if (!r)
		r = ioas_init_common(ioas);
	if (r < 0) {
		ioas_free(ioas);
		return r;
	}
	*device_fd = ioas->device->device_fd;
	*ret = ioas;
	return 0;
}

IOMMUFD_API const char *ioas_backend_name(const struct ioas *ioas)
{
	return ioas ? ioas->backend->name : "";
}
