// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * VFIO type1's MAP_DMA and UNMAP_DMA, for the two modules that speak it:
 * ioas/'s type1 backend on a real container, and the shim (compat/) on the
 * iommufd's own compat IOAS. One copy of the arguments and of the access to
 * flags conversion; each caller passes the ioctl it issues them with, as the
 * shim must bypass its own interposed ioctl().
 */
#include <linux/vfio.h>

#include "internal.h"

int iommufd_type1_map_dma(iommufd_ioctl_fn ioctl_fn, int fd, uint64_t vaddr, uint64_t iova,
			  uint64_t size, unsigned int access)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = (access & IOMMUFD_MAP_READ ? VFIO_DMA_MAP_FLAG_READ : 0) |
			 (access & IOMMUFD_MAP_WRITE ? VFIO_DMA_MAP_FLAG_WRITE : 0),
		.vaddr = vaddr,
		.iova = iova,
		.size = size,
	};

	return ioctl_fn(fd, VFIO_IOMMU_MAP_DMA, &m);
}

int iommufd_type1_unmap_dma(iommufd_ioctl_fn ioctl_fn, int fd, uint64_t iova, uint64_t *size)
{
	struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = iova, .size = *size };
	int r = ioctl_fn(fd, VFIO_IOMMU_UNMAP_DMA, &u);

	*size = u.size;
	return r;
}
