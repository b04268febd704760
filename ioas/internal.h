/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Private to ioas/: what struct ioas needs from the tracker and its backend. */
#ifndef IOAS_INTERNAL_H
#define IOAS_INTERNAL_H

#include "../libiommufd/internal.h"
#include <iommufd/ioas.h>

/* Take a reference on the mapping of exactly [vaddr, vaddr + length): 0 and *iova, or -ENOENT. */
int ioas_tracker_ref(struct ioas_tracker *t, const void *vaddr, uint64_t length, uint64_t *iova);
/* Drop one: 0 if references remain, 1 if it was the last (entry gone, *m what it was). */
int ioas_tracker_unref(struct ioas_tracker *t, uint64_t iova, struct ioas_mapping *m);
/* Does [vaddr, vaddr + length) overlap a mapped buffer? 0 or -EEXIST explained. */
int ioas_tracker_check_buffer(struct ioas_tracker *t, const void *vaddr, uint64_t length);

/*
 * Where mappings really go: iommufd, a VFIO type1 container, or nowhere (no
 * IOMMU: the device sees physical addresses).
 */
struct ioas_backend {
	const char *name;
	int (*map)(struct ioas *ioas, void *vaddr, uint64_t length, uint64_t iova,
		   unsigned int access);
	int (*unmap)(struct ioas *ioas, uint64_t iova, uint64_t length);
	int (*ranges)(struct ioas *ioas, struct iommufd_iova_range **ranges, size_t *nr,
		      uint64_t *alignment);
	/* When set, the IOVA is not chosen but given by the memory (no IOMMU). */
	int (*translate)(struct ioas *ioas, void *vaddr, uint64_t length, uint64_t *iova);
};

struct ioas {
	struct iommufd_ctx *ctx;
	uint32_t id;
	bool own_id;
	const struct ioas_backend *backend;
	struct ioas_iova_allocator *alloc;
	struct ioas_tracker *tracker;
	uint64_t granule;
	uint64_t limit;			/* highest IOVA a mapping may reach */
	pthread_mutex_t map_lock;	/* map/unmap: one buffer mapped once */
	/* What ioas_open_device() opened, closed by ioas_free(). */
	struct iommufd_device *device;	/* iommufd backend */
	int container_fd, group_fd, device_fd;	/* VFIO group backends, -1 if none */
};

extern const struct ioas_backend ioas_backend_iommufd;
extern const struct ioas_backend ioas_backend_type1;
extern const struct ioas_backend ioas_backend_noiommu;

/* Set up allocator and tracker over the backend's ranges (ioas.c). */
int ioas_init_common(struct ioas *ioas);

#endif
