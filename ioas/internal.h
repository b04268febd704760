/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Private to ioas/: what struct ioas needs from the tracker and its backend. */
#ifndef IOAS_INTERNAL_H
#define IOAS_INTERNAL_H

#include <pthread.h>

#include <iommufd/ioas.h>

#include "../libiommufd/shared.h"

/* Take a reference on the mapping of exactly [vaddr, vaddr + length): 0 and *iova, or -ENOENT. */
int ioas_tracker_ref(struct ioas_tracker *t, const void *vaddr, uint64_t length, uint64_t *iova);
/*
 * Drop one: 0 if references remain; 1 for the last, which stays tracked (with
 * *m) until the caller has unmapped it and removes it.
 */
int ioas_tracker_unref(struct ioas_tracker *t, uint64_t iova, struct ioas_mapping *m);
/* Does [vaddr, vaddr + length) overlap a mapped buffer? 0 or -EEXIST explained. */
int ioas_tracker_check_buffer(struct ioas_tracker *t, const void *vaddr, uint64_t length);
/* The lowest mapping overlapping IOVAs [iova, last], quietly: not a counted lookup. */
bool ioas_tracker_hit(struct ioas_tracker *t, uint64_t iova, uint64_t last,
		      struct ioas_mapping *m);

/*
 * Where mappings really go: iommufd, a VFIO type1 container, or nowhere (no
 * IOMMU: the device sees physical addresses). struct ioas calls every op on
 * every backend; the two IOMMU backends share the mapping steps (the
 * ioas_iommu_*() below) and differ only in their kernel calls.
 */
struct ioas_backend {
	const char *name;
	/*
	 * A mapping is made in two steps and undone in reverse. place() sets
	 * m->iova, the address the device will use: an IOVA from the
	 * allocator (or m->vaddr itself when @identity), or, without an IOMMU,
	 * the memory's physical address, locked in place. unplace() gives it
	 * back. map() makes the memory reachable there, by @fn when given
	 * (ioas_map_with()), else by kernel_map(); unmap() undoes it.
	 */
	int (*place)(struct ioas *ioas, struct ioas_mapping *m, bool identity);
	void (*unplace)(struct ioas *ioas, const struct ioas_mapping *m);
	int (*map)(struct ioas *ioas, const struct ioas_mapping *m, ioas_kernel_map_fn fn,
		   void *arg);
	int (*unmap)(struct ioas *ioas, const struct ioas_mapping *m);
	/* The kernel's own map and unmap at a given IOVA (ioas_kernel_map()). */
	int (*kernel_map)(struct ioas *ioas, void *vaddr, uint64_t length, uint64_t iova,
			  unsigned int access);
	int (*kernel_unmap)(struct ioas *ioas, uint64_t iova, uint64_t length);
	int (*ranges)(struct ioas *ioas, struct iommufd_iova_range **ranges, size_t *nr,
		      uint64_t *alignment);
	/*
	 * ioas_free(), once the device is closed: undo every mapping still
	 * there and let the address space go. Copes with a half-built ioas.
	 */
	void (*release)(struct ioas *ioas);
};

/*
 * The device ioas_open_device() opened for the caller. It owns its fds;
 * ioas_free() closes it first, so that it cannot DMA into what is unmapped
 * next. On a VFIO container its group goes with it, and with the last group
 * the container's type1 mappings.
 */
struct ioas_device {
	struct iommufd_device *idev;	/* iommufd: the cdev, bound and attached */
	int group_fd;			/* VFIO group backends: the group, in the container, */
	int device_fd;			/* and the device; -1 if not open */
};

struct ioas_device *ioas_device_close(struct ioas_device *dev);

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
	int container_fd;		/* VFIO group backends: the address space; -1 if none */
	struct ioas_device *device;	/* what ioas_open_device() opened, or NULL */
	/*
	 * iommufd: the tracker is the context's record of what this ioas maps
	 * in its IOAS (iommufd_record_add_owner()), so each mapping is
	 * recorded once, and before the kernel maps it.
	 */
	struct iommufd_record_owner record;
};

extern const struct ioas_backend ioas_backend_iommufd;
extern const struct ioas_backend ioas_backend_type1;
extern const struct ioas_backend ioas_backend_noiommu;

/* Set up allocator and tracker over the backend's ranges (ioas.c). */
int ioas_init_common(struct ioas *ioas);

/* The mapping steps of the IOMMU backends (ioas.c): allocator and kernel_map(). */
int ioas_iommu_place(struct ioas *ioas, struct ioas_mapping *m, bool identity);
void ioas_iommu_unplace(struct ioas *ioas, const struct ioas_mapping *m);
int ioas_iommu_map(struct ioas *ioas, const struct ioas_mapping *m, ioas_kernel_map_fn fn,
		   void *arg);
int ioas_iommu_unmap(struct ioas *ioas, const struct ioas_mapping *m);

/*
 * Every mapping of @ioas, copied out of the tracker for release() (which
 * must not call the kernel under the tracker's lock): how many are in
 * *@out, which the caller frees; out of memory, those copied so far.
 */
size_t ioas_mappings(struct ioas *ioas, struct ioas_mapping **out);

#endif
