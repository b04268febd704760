/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to the compat shim: emulated VFIO containers and groups over
 * iommufd and VFIO cdevs, for legacy type1 programs (LD_PRELOAD).
 */
#ifndef COMPAT_H
#define COMPAT_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include <linux/vfio.h>

#include <iommufd/iommufd.h>

#define offsetofend_(TYPE, MEMBER) (offsetof(TYPE, MEMBER) + sizeof(((TYPE *)0)->MEMBER))

/* type1's default dma_entry_limit; IOMMUFD_COMPAT_DMA_LIMIT changes it. */
#define COMPAT_DMA_LIMIT 65535

enum compat_kind { COMPAT_CONTAINER = 1, COMPAT_GROUP, COMPAT_DEVICE };

struct compat_dma;

struct compat_container {
	pthread_mutex_t lock;
	int refs;			/* fds pointing here */
	struct iommufd_ctx *ctx;
	uint32_t ioas_id;
	bool kernel_compat;		/* ioas_id is the iommufd's compat IOAS (container.c) */
	bool iommu_set;
	bool v2;			/* VFIO_TYPE1v2_IOMMU */
	bool dirty_tracking;
	/* A dirty-tracking HWPT its devices are on, or 0 (dirty.c); partial: a
	 * device could not join it, so every page is reported dirty, as type1. */
	uint32_t dirty_hwpt_id;
	bool dirty_partial;
	bool dirty_hw_refused;		/* the IOMMU said no: ask again when devices change */
	void *dmas;			/* tsearch tree of struct compat_dma, by IOVA */
	uint32_t dma_count;
	uint32_t dma_limit;		/* type1's dma_entry_limit */
	uint64_t pgsize_bitmap;
	int nr_groups;
	struct compat_group **groups;	/* attached groups (for binding devices) */
	/* The IOAS's usable ranges, read again whenever devices attach or leave. */
	struct iommufd_iova_range *ranges;
	size_t nr_ranges;
};

struct compat_group {
	int refs;
	int group_id;
	struct compat_container *container;
	/* Its devices, bound to the container's iommufd while it is attached. */
	int nr_devices;
	char (*names)[16];
	struct iommufd_device **devs;
};

struct compat_device {
	int refs;
	struct iommufd_device *dev;
	struct compat_group *group;
};

struct compat_obj {
	enum compat_kind kind;
	union {
		struct compat_container *container;
		struct compat_group *group;
		struct compat_device *device;
	};
};

/* fd table (fdtable.c): one lookup for fds the shim does not own. */
#define COMPAT_MAX_FDS 65536	/* emulated objects need an fd below this */
struct compat_obj *compat_fd_get(int fd);
/*
 * compat_fd_get(), and for an fd the table does not know, whether it is the
 * same file as a live object (received over a socket): then it joins it.
 * *err: -EBADFD for an emulated fd of another process (reported on stderr).
 */
struct compat_obj *compat_fd_lookup(int fd, int *err);
/* Record which file @fd is for @obj, until compat_fd_unregister(its object). */
int compat_fd_register(int fd, const struct compat_obj *obj);
void compat_fd_unregister(const void *object);
/* Emulated containers and groups are memfds named so (see /proc/PID/fd). */
#define COMPAT_MEMFD_PREFIX "iommufd-compat:"
int compat_fd_set(int fd, struct compat_obj *obj);
struct compat_obj *compat_fd_take(int fd);
void compat_obj_put(struct compat_obj *obj);
struct compat_obj *compat_obj_dup(struct compat_obj *obj);

/* The real libc functions (intercept.c). */
extern int (*real_open)(const char *path, int flags, ...);
extern int (*real_ioctl)(int fd, unsigned long req, ...);
extern int (*real_close)(int fd);

/* Whether /dev/vfio/vfio and groups are emulated (intercept.c). */
bool compat_active(void);

/* Emulated nodes (group.c). */
int compat_open_container(int flags);
int compat_open_group(int group_id, int flags);
bool compat_path_group(const char *path, int *group_id);
int compat_group_bind(struct compat_group *g);
int compat_group_ioctl(struct compat_group *g, int fd, unsigned long req, void *arg);
int compat_device_ioctl(struct compat_device *d, int fd, unsigned long req, void *arg);
void compat_container_put(struct compat_container *c);
void compat_group_put(struct compat_group *g);
void compat_device_put(struct compat_device *d);

/* The container (container.c): iommufd_vfio_ioctl() in userspace. */
int compat_vfio_ioctl(struct compat_container *c, unsigned long req, void *arg);
void compat_container_unmap_all(struct compat_container *c);
/* Publish the IOAS as the iommufd's compat IOAS, for the short kernel path. */
void compat_container_use_kernel_compat(struct compat_container *c);
/* Re-read the IOVA ranges (devices attached or left); container locked. */
int compat_container_refresh_ranges(struct compat_container *c);

/* Dirty tracking (dirty.c); the container locked. */
int compat_dirty_attach(struct compat_container *c, struct iommufd_device *dev);
int compat_dirty_start(struct compat_container *c);
void compat_dirty_stop(struct compat_container *c);
void compat_dirty_release(struct compat_container *c);
/* type1's update_user_bitmap(): one mapping's pages into @user, bit 0 at @base_iova. */
int compat_dirty_report(struct compat_container *c, uint64_t iova, uint64_t size,
			uint64_t base_iova, uint64_t pgsize, uint64_t *user);

/* Tracing (trace.c): IOMMUFD_COMPAT_TRACE=1 or =FILE. */
__attribute__((format(printf, 1, 2))) void compat_trace(const char *fmt, ...);
bool compat_tracing(void);

#endif
