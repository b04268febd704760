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
#include <sys/queue.h>
#include <sys/single_threaded.h>
#include <sys/stat.h>

#include <linux/vfio.h>

#include <iommufd/iommufd.h>

#include "../libiommufd/range_index.h"
#include "../libiommufd/shared.h"

/* type1's default dma_entry_limit (vfio_iommu_type1.c). */
#define COMPAT_DMA_LIMIT 65535

/* Every IOMMUFD_COMPAT_* setting, read once (config.c). */
struct compat_config {
	bool emulate;		/* IOMMUFD_COMPAT=force, or auto and no /dev/vfio/vfio */
	uint32_t dma_limit;	/* IOMMUFD_COMPAT_DMA_LIMIT, else the kernel command line's */
	bool parallel;		/* IOMMUFD_COMPAT_PARALLEL != 0 */
};
const struct compat_config *compat_config(void);

/*
 * An emulated open file: the container, a group or a device, each embedding
 * one of these first, as the kernel's objects hang off a struct file. The fd
 * table holds one reference per fd (dup()ed fds share the file); an ioctl
 * holds one while it runs, so close() from another thread cannot free the
 * object under it. The last reference calls ->release().
 */
struct compat_file;

enum compat_fork_phase { COMPAT_FORK_PREPARE, COMPAT_FORK_PARENT, COMPAT_FORK_CHILD };

struct compat_file_ops {
	const char *name;
	int (*ioctl)(struct compat_file *f, int fd, unsigned long req, void *arg);
	void (*release)(struct compat_file *f);
	/* Optional: take the file's own locks before fork(), let go after. */
	void (*atfork)(struct compat_file *f, enum compat_fork_phase phase);
	/* Optional: whether @fd is one the shim keeps on the same file for itself. */
	bool (*internal_fd)(const struct compat_file *f, int fd);
};

struct compat_file {
	const struct compat_file_ops *ops;
	int refs;			/* atomic */
	dev_t dev;			/* which memfd or cdev it is, for fds that */
	ino_t ino;			/* reach the process by a socket */
	/*
	 * The process forked while the file was open, so another process may
	 * hold the same kernel objects: the last close here only lets go of
	 * this process's fds, and the kernel tears down when the last holder
	 * anywhere closes, as it does for a real container file.
	 */
	bool shared;
	bool listed;
	LIST_ENTRY(compat_file) link;	/* every live file (fdtable.c) */
};

/* Emulated containers and groups are memfds named so (see /proc/PID/fd). */
#define COMPAT_MEMFD_PREFIX "iommufd-compat:"
/* Emulated objects need an fd below this: the table is an array. */
#define COMPAT_MAX_FDS 65536

/* The fd table and the live files (fdtable.c). */
void compat_file_init(struct compat_file *f, const struct compat_file_ops *ops);
/* Publish @f as open at @fd, which takes over the caller's reference. */
int compat_fd_install(int fd, struct compat_file *f);
/* The file at @fd with a reference, or NULL; one atomic load when not ours. */
struct compat_file *compat_fd_get(int fd);
/*
 * compat_fd_get(), and for an fd the table does not know, whether it is the
 * same file as a live one (received over a socket): then it is installed.
 * *err: -EBADFD for an emulated fd of another process (reported on stderr).
 */
struct compat_file *compat_fd_lookup(int fd, int *err);
/* The fd was closed: drop its reference. No lock when the fd is not ours. */
void compat_fd_forget(int fd);
/* The fd now refers to what @from does (dup2/dup3/F_DUPFD), or to nothing. */
int compat_fd_copy(int from, int to);
struct compat_file *compat_file_get(struct compat_file *f);
void compat_file_put(struct compat_file *f);
/* Live from here on, as the file open at @fd: found by inode, seen by fork(). */
void compat_file_publish(struct compat_file *f, int fd);
/* Tie @f to a new memfd named after it and publish it; the fd, or -errno. */
int compat_file_memfd(struct compat_file *f, int flags, const char *what);
/* Whether @f is of the kind @ops makes. */
static inline bool compat_file_is(const struct compat_file *f, const struct compat_file_ops *ops)
{
	return f && f->ops == ops;
}

/* The real libc functions, resolved on first use (intercept.c). */
int compat_real_ioctl(int fd, unsigned long req, void *arg);
int compat_real_close(int fd);

struct compat_group;

struct compat_container {
	struct compat_file file;
	pthread_mutex_t lock;
	struct iommufd_ctx *ctx;
	/* In a forked child: the parent's context, kept only to be let go of. */
	struct iommufd_ctx *parent_ctx;
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
	struct range_index dmas;	/* struct compat_dma, by IOVA (container.c) */
	uint32_t dma_limit;		/* type1's dma_entry_limit */
	uint64_t pgsize_bitmap;
	int nr_groups;
	struct compat_group **groups;	/* attached groups (for binding devices) */
	/* The IOAS's usable ranges, read again whenever devices attach or leave. */
	struct iommufd_iova_range *ranges;
	size_t nr_ranges;
};

struct compat_group {
	struct compat_file file;
	int group_id;
	struct compat_container *container;
	int open_devices;		/* device fds handed out and still open */
	/* Its devices, bound to the container's iommufd while it is attached. */
	int nr_devices;
	char (*names)[16];
	struct iommufd_device **devs;
};

struct compat_device {
	struct compat_file file;
	struct iommufd_device *dev;
	struct compat_group *group;
	char vf_of[16];			/* a VF opened with its PF's token: the PF */
};

extern const struct compat_file_ops compat_container_ops;
extern const struct compat_file_ops compat_group_ops;
extern const struct compat_file_ops compat_device_ops;

/*
 * SR-IOV VF tokens set on PFs through the shim in this process (vf_token.c):
 * a PF's token is recorded when set; a VF is checked against it (0,
 * -EACCES, or -ENOKEY when this process never set it); a PF with VFs open
 * through the shim needs their token (0 or -EACCES; @uuid NULL: none given).
 */
int compat_vf_token_set(const char *pf, const uint8_t *uuid);
int compat_vf_token_check(const char *pf, bool for_vf, const uint8_t *uuid);
void compat_vf_token_use(const char *pf, int delta);

/* The emulated nodes: which path names one, and opening it (group.c, container.c). */
int compat_open_container(int flags);
int compat_open_group(int group_id, int flags);
bool compat_path_group(const char *path, int *group_id);

/* Groups and containers (group.c, container.c). */
int compat_group_bind(struct compat_group *g);
/* A group joins @c (which takes the container lock), or leaves it (locked). */
int compat_container_add_group(struct compat_container *c, struct compat_group *g);
void compat_container_del_group(struct compat_container *c, struct compat_group *g);
void compat_container_unmap_all(struct compat_container *c);
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

/*
 * True while the process has never had a second thread (glibc's
 * __libc_single_threaded): then nothing can close an fd or change a file
 * while a call runs, so the hot paths take no lock and count references
 * with plain arithmetic. Atomic instructions cost little on hardware and a
 * lot under emulation (QEMU TCG): they were a third of what the shim added
 * to a 4 KiB MAP+UNMAP pair there. Threads the library starts for itself
 * (parallel pinning) make it false too, and never touch the shim's files.
 */
static inline bool compat_single_threaded(void)
{
	return __libc_single_threaded;
}

/*
 * Tracing (trace.c): IOMMUFD_COMPAT_TRACE=1 or =FILE. Every MAP_DMA asks
 * whether it is on, so the answer is a load here, not a call.
 */
extern int compat_trace_state;	/* 0: not read yet, 1: off, 2: on */
bool compat_trace_setup(void);
__attribute__((format(printf, 1, 2))) void compat_trace_line(const char *fmt, ...);

static inline bool compat_tracing(void)
{
	int s = __atomic_load_n(&compat_trace_state, __ATOMIC_ACQUIRE);

	return s ? s == 2 : compat_trace_setup();
}

#define compat_trace(...)                                                                 \
	do {                                                                              \
		if (compat_tracing())                                                     \
			compat_trace_line(__VA_ARGS__);                                   \
	} while (0)

#endif
