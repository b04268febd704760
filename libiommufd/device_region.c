// SPDX-License-Identifier: LGPL-2.1-or-later
/* Device and region info, region access, BAR mmap, PCI config space. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "device_internal.h"

#define PCI_COMMAND		0x04
#define PCI_COMMAND_MASTER	0x4

IOMMUFD_API int iommufd_device_get_info(struct iommufd_device *dev,
					struct iommufd_device_info *info)
{
	struct vfio_device_info vi = { .argsz = sizeof(vi) };
	int r;

	check_arg(dev);
	check_arg(info);
	r = xioctl(dev->fd, VFIO_DEVICE_GET_INFO, &vi);
	if (r < 0)
		return iommufd_fail_errno(dev->ctx, r, "VFIO_DEVICE_GET_INFO");
	info->flags = vi.flags;
	info->num_regions = vi.num_regions;
	info->num_irqs = vi.num_irqs;
	return 0;
}

long iommufd_find_cap(const void *buf, size_t len, size_t offset, size_t min_offset, uint16_t id)
{
	const struct vfio_info_cap_header *hdr;
	size_t hops = 0;

	/*
	 * Each hop must move forward past the fixed part, so a chain cannot loop.
	 * VFIO places every capability at a multiple of 8 (vfio_info_cap_add()
	 * pads them), so the structs found can be read in place: one at 4 mod 8
	 * made the sparse-mmap areas misaligned u64 reads.
	 */
	while (offset) {
		if (offset < min_offset || offset > len || len - offset < sizeof(*hdr) ||
		    offset % 8 || ++hops > len / sizeof(*hdr))
			return -EINVAL;
		hdr = (const void *)((const char *)buf + offset);
		if (hdr->id == id)
			return (long)offset;
		if (hdr->next && hdr->next <= offset)
			return -EINVAL;
		offset = hdr->next;
	}
	return 0;
}

/* VFIO_DEVICE_GET_REGION_INFO, grown until the capability chain fits. */
static int region_info_raw(struct iommufd_device *dev, uint32_t index,
			   struct vfio_region_info **out)
{
	struct vfio_region_info *ri = NULL, *tmp;
	uint32_t argsz = sizeof(*ri);
	int r;

	for (int tries = 0; tries < 4; tries++) {
		tmp = realloc(ri, argsz);
		if (!tmp) {
			free(ri);
			return -ENOMEM;
		}
		ri = tmp;
		memset(ri, 0, argsz);
		ri->argsz = argsz;
		ri->index = index;
		r = xioctl(dev->fd, VFIO_DEVICE_GET_REGION_INFO, ri);
		if (r < 0) {
			free(ri);
			return r;
		}
		if (ri->argsz <= argsz) {
			*out = ri;
			return 0;
		}
		argsz = ri->argsz;
	}
	free(ri);
	return -EMSGSIZE;
}

IOMMUFD_API int iommufd_device_region_info(struct iommufd_device *dev, uint32_t index,
					   struct iommufd_region_info *user)
{
	/* Filled here, then copied out as far as the caller's struct goes. */
	struct iommufd_region_info out = { 0 }, *info = &out;
	struct vfio_region_info_cap_sparse_mmap *sp;
	struct vfio_region_info *ri;
	long off;
	int r;

	check_arg(dev);
	check_arg(user);
	r = check_out(dev->ctx, user, iommufd_region_info, sparse);
	if (r < 0)
		return r;
	r = region_info_raw(dev, index, &ri);
	if (r == -EINVAL)
		return iommufd_fail(dev->ctx, r, "%s: no region %u", dev->name, index);
	if (r < 0)
		return iommufd_fail_errno(dev->ctx, r, "VFIO_DEVICE_GET_REGION_INFO");
	info->index = index;
	info->flags = ri->flags;
	info->size = ri->size;
	info->offset = ri->offset;
	if (ri->flags & VFIO_REGION_INFO_FLAG_CAPS) {
		off = iommufd_find_cap(ri, ri->argsz, ri->cap_offset, sizeof(*ri),
				       VFIO_REGION_INFO_CAP_SPARSE_MMAP);
		if (off < 0) {
			free(ri);
			return iommufd_fail(dev->ctx, -EIO,
					    "%s: region %u has a malformed capability chain",
					    dev->name, index);
		}
		if (off) {
			sp = (void *)((char *)ri + off);
			if (off + sizeof(*sp) + (uint64_t)sp->nr_areas * sizeof(sp->areas[0]) >
			    ri->argsz) {
				free(ri);
				return iommufd_fail(dev->ctx, -EIO,
						    "%s: region %u: sparse-mmap capability "
						    "overruns the reply", dev->name, index);
			}
			info->nr_sparse = sp->nr_areas < IOMMUFD_MAX_SPARSE_AREAS ?
						  sp->nr_areas : IOMMUFD_MAX_SPARSE_AREAS;
			for (uint32_t i = 0; i < info->nr_sparse; i++) {
				info->sparse[i].offset = sp->areas[i].offset;
				info->sparse[i].size = sp->areas[i].size;
			}
			/* A sparse capability with no areas: nothing may be mapped. */
			if (!sp->nr_areas)
				info->flags &= ~IOMMUFD_REGION_MMAP;
		}
		/* A chain already walked above: the same walk finds no fault here. */
		if (iommufd_find_cap(ri, ri->argsz, ri->cap_offset, sizeof(*ri),
				     VFIO_REGION_INFO_CAP_MSIX_MAPPABLE) > 0)
			info->flags |= IOMMUFD_REGION_MSIX_MAPPABLE;
	}
	free(ri);
	copy_out(user, &out);
	return 0;
}

/* Flags, size and offset of a region, from the cache once read. */
static int region_basics(struct iommufd_device *dev, uint32_t index, uint32_t *flags,
			 uint64_t *size, uint64_t *offset)
{
	struct iommufd_region_info info = { .sz = sizeof(info) };
	int r;

	if (index < VFIO_PCI_NUM_REGIONS && __atomic_load_n(&dev->regions[index].valid,
							    __ATOMIC_ACQUIRE)) {
		*flags = dev->regions[index].flags;
		*size = dev->regions[index].size;
		*offset = dev->regions[index].offset;
		return 0;
	}
	r = iommufd_device_region_info(dev, index, &info);
	if (r < 0)
		return r;
	*flags = info.flags;
	*size = info.size;
	*offset = info.offset;
	if (index < VFIO_PCI_NUM_REGIONS) {
		pthread_mutex_lock(&dev->lock);
		dev->regions[index].flags = info.flags;
		dev->regions[index].size = info.size;
		dev->regions[index].offset = info.offset;
		__atomic_store_n(&dev->regions[index].valid, true, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&dev->lock);
	}
	return 0;
}

static ssize_t region_rw(struct iommufd_device *dev, uint32_t index, void *buf, size_t len,
			 uint64_t offset, bool write)
{
	uint64_t size, base;
	uint32_t flags;
	ssize_t n;
	int r;

	r = region_basics(dev, index, &flags, &size, &base);
	if (r < 0)
		return r;
	if (offset > size || len > size - offset)
		return iommufd_fail(dev->ctx, -EINVAL,
				    "%s: region %u access at 0x%llx+0x%zx is beyond its size 0x%llx",
				    dev->name, index, (unsigned long long)offset, len,
				    (unsigned long long)size);
	if (!(flags & (write ? IOMMUFD_REGION_WRITE : IOMMUFD_REGION_READ)))
		return iommufd_fail(dev->ctx, -EINVAL, "%s: region %u is not %s", dev->name,
				    index, write ? "writable" : "readable");
	do
		n = write ? pwrite(dev->fd, buf, len, base + offset) :
			    pread(dev->fd, buf, len, base + offset);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return iommufd_fail(dev->ctx, -errno, "%s: region %u %s at 0x%llx: %s", dev->name,
				    index, write ? "write" : "read", (unsigned long long)offset,
				    strerror(errno));
	return n;
}

IOMMUFD_API ssize_t iommufd_device_region_read(struct iommufd_device *dev, uint32_t index,
					       void *buf, size_t len, uint64_t offset)
{
	check_arg(dev);
	check_arg(buf || !len);
	return region_rw(dev, index, buf, len, offset, false);
}

IOMMUFD_API ssize_t iommufd_device_region_write(struct iommufd_device *dev, uint32_t index,
						const void *buf, size_t len, uint64_t offset)
{
	check_arg(dev);
	check_arg(buf || !len);
	return region_rw(dev, index, (void *)buf, len, offset, true);
}

IOMMUFD_API int iommufd_device_region_mmap(struct iommufd_device *dev, uint32_t index,
					   uint64_t offset, size_t len, int prot, void **addr)
{
	struct iommufd_region_info info = { .sz = sizeof(info) };
	long pg = sysconf(_SC_PAGESIZE);
	bool inside = false;
	void *p;
	int r;

	check_arg(dev);
	check_arg(addr);
	check_arg(len);
	r = iommufd_device_region_info(dev, index, &info);
	if (r < 0)
		return r;
	if (!(info.flags & IOMMUFD_REGION_MMAP))
		return iommufd_fail(dev->ctx, -EINVAL, "%s: region %u cannot be mmap()ed%s",
				    dev->name, index,
				    info.flags & IOMMUFD_REGION_CAPS ? " (no mappable area)" : "");
	if ((offset | len) & (pg - 1))
		return iommufd_fail(dev->ctx, -EINVAL,
				    "%s: region %u mmap at 0x%llx+0x%zx is not page aligned",
				    dev->name, index, (unsigned long long)offset, len);
	if (offset > info.size || len > info.size - offset)
		return iommufd_fail(dev->ctx, -EINVAL,
				    "%s: region %u mmap at 0x%llx+0x%zx is beyond its size 0x%llx",
				    dev->name, index, (unsigned long long)offset, len,
				    (unsigned long long)info.size);
	for (uint32_t i = 0; i < info.nr_sparse; i++)
		if (offset >= info.sparse[i].offset &&
		    offset + len <= info.sparse[i].offset + info.sparse[i].size)
			inside = true;
	if (info.nr_sparse && !inside) {
		char areas[256];
		size_t o = 0;

		areas[0] = '\0';
		for (uint32_t i = 0; i < info.nr_sparse && o < sizeof(areas); i++)
			o += snprintf(areas + o, sizeof(areas) - o, "%s0x%llx-0x%llx", i ? ", " : "",
				      (unsigned long long)info.sparse[i].offset,
				      (unsigned long long)(info.sparse[i].offset +
							   info.sparse[i].size - 1));
		return iommufd_fail(dev->ctx, -EINVAL,
				    "%s: region %u mmap at 0x%llx+0x%zx is not inside one mappable "
				    "area (%s; the rest, e.g. an MSI-X table, is not mappable)",
				    dev->name, index, (unsigned long long)offset, len, areas);
	}
	p = mmap(NULL, len, prot, MAP_SHARED, dev->fd, (off_t)(info.offset + offset));
	if (p == MAP_FAILED)
		return iommufd_fail(dev->ctx, -errno, "%s: mmap of region %u: %s", dev->name,
				    index, strerror(errno));
	*addr = p;
	return 0;
}

IOMMUFD_API ssize_t iommufd_device_config_read(struct iommufd_device *dev, uint64_t offset,
					       void *buf, size_t len)
{
	return iommufd_device_region_read(dev, VFIO_PCI_CONFIG_REGION_INDEX, buf, len, offset);
}

IOMMUFD_API ssize_t iommufd_device_config_write(struct iommufd_device *dev, uint64_t offset,
						const void *buf, size_t len)
{
	return iommufd_device_region_write(dev, VFIO_PCI_CONFIG_REGION_INDEX, buf, len, offset);
}

IOMMUFD_API int iommufd_device_set_bus_master(struct iommufd_device *dev, bool enable)
{
	uint16_t cmd;
	ssize_t n;

	check_arg(dev);
	n = iommufd_device_config_read(dev, PCI_COMMAND, &cmd, sizeof(cmd));
	if (n != sizeof(cmd))
		return n < 0 ? (int)n : iommufd_fail(dev->ctx, -EIO, "short config read");
	cmd = enable ? cmd | PCI_COMMAND_MASTER : cmd & ~PCI_COMMAND_MASTER;
	n = iommufd_device_config_write(dev, PCI_COMMAND, &cmd, sizeof(cmd));
	if (n != sizeof(cmd))
		return n < 0 ? (int)n : iommufd_fail(dev->ctx, -EIO, "short config write");
	return 0;
}
