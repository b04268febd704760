/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libiommufd: the iommufd (/dev/iommu) and VFIO cdev device API.
 *
 * Conventions (see libiommufd(7)):
 *  - Functions return 0 (or a count) on success and a negative errno on
 *    failure; constructors fill an out-parameter. Nothing is changed on failure.
 *  - After a failure, iommufd_last_error() explains it in this thread.
 *  - The library never prints and never exits; iommufd_set_log_fn() routes
 *    its messages to the caller.
 *  - Optional inputs come in opts structs whose first field is their size
 *    (IOMMUFD_OPTS()); fields are only ever appended.
 *  - This header is self-contained: it needs no kernel headers. Kernel object
 *    IDs (IOAS, HWPT, device, fault queue) are uint32_t as in the uAPI.
 *
 * Thread safety: a context and its objects may be used from many threads at
 * once; each function notes where the caller must serialise.
 */
#ifndef IOMMUFD_IOMMUFD_H
#define IOMMUFD_IOMMUFD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef IOMMUFD_API
#define IOMMUFD_API __attribute__((visibility("default")))
#endif

/*
 * IOMMUFD_OPTS(type, name, fields...) declares an opts struct with its size
 * filled in and every field not named zeroed.
 */
#define IOMMUFD_OPTS(TYPE, NAME, ...) struct TYPE NAME = { .sz = sizeof(struct TYPE), __VA_ARGS__ }

/* ------------------------------------------------------------------------ */
/* Context                                                                  */
/* ------------------------------------------------------------------------ */

struct iommufd_ctx;

struct iommufd_open_opts {
	size_t sz;
	/* Device node to open; NULL means /dev/iommu. */
	const char *path;
};

/* Flags of iommufd_ctx_from_fd(). */
enum iommufd_ctx_fd_flags {
	/* The context owns the fd and closes it when the last reference goes. */
	IOMMUFD_CTX_FD_OWN = 1 << 0,
};

/**
 * iommufd_ctx_open() - open /dev/iommu (or opts->path) and probe the kernel.
 * @opts: optional, may be NULL.
 * @ret: the new context, with one reference.
 *
 * Return: 0, or -ENOENT when the node is missing (no CONFIG_IOMMUFD), -EACCES,
 * -EINVAL/-E2BIG for bad opts, -ENOMEM.
 */
IOMMUFD_API int iommufd_ctx_open(const struct iommufd_open_opts *opts, struct iommufd_ctx **ret);

/**
 * iommufd_ctx_from_fd() - adopt an iommufd that a privileged helper passed in.
 * @fd: an open /dev/iommu file descriptor.
 * @flags: IOMMUFD_CTX_FD_OWN if the context is to close @fd.
 * @ret: the new context, with one reference.
 *
 * Return: 0, -EBADF if @fd is not open, -ENOTTY if it is not an iommufd.
 */
IOMMUFD_API int iommufd_ctx_from_fd(int fd, unsigned int flags, struct iommufd_ctx **ret);

/* Take and drop references. unref takes NULL and always returns NULL. */
IOMMUFD_API struct iommufd_ctx *iommufd_ctx_ref(struct iommufd_ctx *ctx);
IOMMUFD_API struct iommufd_ctx *iommufd_ctx_unref(struct iommufd_ctx *ctx);

/* The iommufd file descriptor, owned by the context. */
IOMMUFD_API int iommufd_ctx_fd(const struct iommufd_ctx *ctx);

/* iommufd ioctls the running kernel may or may not have. */
enum iommufd_feature {
	IOMMUFD_FEAT_DESTROY,
	IOMMUFD_FEAT_IOAS_ALLOC,
	IOMMUFD_FEAT_IOAS_ALLOW_IOVAS,
	IOMMUFD_FEAT_IOAS_COPY,
	IOMMUFD_FEAT_IOAS_IOVA_RANGES,
	IOMMUFD_FEAT_IOAS_MAP,
	IOMMUFD_FEAT_IOAS_UNMAP,
	IOMMUFD_FEAT_OPTION,
	IOMMUFD_FEAT_VFIO_IOAS,
	IOMMUFD_FEAT_HWPT_ALLOC,
	IOMMUFD_FEAT_GET_HW_INFO,
	IOMMUFD_FEAT_HWPT_SET_DIRTY_TRACKING,
	IOMMUFD_FEAT_HWPT_GET_DIRTY_BITMAP,
	IOMMUFD_FEAT_HWPT_INVALIDATE,
	IOMMUFD_FEAT_FAULT_QUEUE_ALLOC,
	IOMMUFD_FEAT_IOAS_MAP_FILE,	/* 6.13 */
	IOMMUFD_FEAT_VIOMMU_ALLOC,	/* 6.13 */
	IOMMUFD_FEAT_VDEVICE_ALLOC,	/* 6.13 */
	IOMMUFD_FEAT_IOAS_CHANGE_PROCESS, /* 6.13 */
	IOMMUFD_FEAT_VEVENTQ_ALLOC,	/* 6.15 */
	IOMMUFD_FEAT_TEST,		/* CONFIG_IOMMUFD_TEST kernels only */
	IOMMUFD_FEAT_COUNT
};

/* Whether the running kernel has @feat (probed once at open). */
IOMMUFD_API bool iommufd_ctx_has(const struct iommufd_ctx *ctx, enum iommufd_feature feat);
/* "IOAS_MAP", ...; NULL for an unknown value. */
IOMMUFD_API const char *iommufd_feature_name(enum iommufd_feature feat);

/* ------------------------------------------------------------------------ */
/* Errors and logging                                                       */
/* ------------------------------------------------------------------------ */

enum iommufd_log_level {
	IOMMUFD_LOG_ERR,
	IOMMUFD_LOG_WARN,
	IOMMUFD_LOG_INFO,
	IOMMUFD_LOG_DEBUG,
};

typedef void (*iommufd_log_fn)(void *userdata, enum iommufd_log_level level, const char *msg);

/*
 * Route the context's messages to @fn (NULL: silence, the default). Every
 * failure's explanation is passed at IOMMUFD_LOG_ERR. Set it before sharing
 * the context between threads.
 */
IOMMUFD_API void iommufd_set_log_fn(struct iommufd_ctx *ctx, iommufd_log_fn fn, void *userdata);

/*
 * The explanation of the last call that failed in this thread, for example
 * "IOAS 2: IOVA 0xfee00000 length 0x1000 is outside the usable IOVA ranges
 * (hits the reserved window 0xfee00000-0xfeefffff between 0x0-0xfedfffff and
 * 0xfef00000-0xffffffffffff)". Empty string when the last failure had none.
 * Valid until the next failing call in this thread.
 */
IOMMUFD_API const char *iommufd_last_error(void);

/*
 * Describe @err (a negative or positive errno) in iommufd terms into @buf.
 * Return: 0, or -ERANGE if @buf was too small (it is still terminated).
 */
IOMMUFD_API int iommufd_strerror(int err, char *buf, size_t len);

/* ------------------------------------------------------------------------ */
/* Objects and IOAS                                                         */
/* ------------------------------------------------------------------------ */

/* Destroy any iommufd object by ID: -EBUSY while something still uses it. */
IOMMUFD_API int iommufd_destroy(struct iommufd_ctx *ctx, uint32_t id);

/**
 * iommufd_ioas_alloc() - a new, empty I/O address space.
 * @ctx: the context.
 * @ioas_id: out, its ID (for attach, map, HWPT allocation).
 *
 * Every IOVA is allowed until devices with reserved regions are attached.
 * Free it with iommufd_destroy() once nothing uses it.
 *
 * Return: 0, -ENOMEM.
 */
IOMMUFD_API int iommufd_ioas_alloc(struct iommufd_ctx *ctx, uint32_t *ioas_id);

enum iommufd_map_flags {
	IOMMUFD_MAP_READ = 1 << 0,	/* the device may read the memory */
	IOMMUFD_MAP_WRITE = 1 << 1,	/* the device may write the memory */
	IOMMUFD_MAP_FIXED_IOVA = 1 << 2, /* map at *iova, else the kernel picks */
};
#define IOMMUFD_MAP_RW (IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE)

/**
 * iommufd_ioas_map() - pin @length bytes at @vaddr and map them into an IOAS.
 * @ctx: the context.
 * @ioas_id: the IOAS.
 * @vaddr: the memory, aligned as the IOAS requires (a page at least).
 * @length: bytes.
 * @iova: in with IOMMUFD_MAP_FIXED_IOVA, the IOVA to map at; out, the IOVA used.
 * @flags: enum iommufd_map_flags.
 *
 * Return: 0; -EINVAL (misaligned, outside the IOVA ranges, no access flag),
 * -EEXIST (overlaps a mapping), -ENOMEM (RLIMIT_MEMLOCK), -EFAULT (memory that
 * cannot be pinned), -ENOSPC (no free IOVA). iommufd_last_error() says which.
 */
IOMMUFD_API int iommufd_ioas_map(struct iommufd_ctx *ctx, uint32_t ioas_id, void *vaddr,
				 uint64_t length, uint64_t *iova, unsigned int flags);

struct iommufd_parallel_map;

/*
 * Threads lent to parallel maps by a caller with a pool of its own
 * (libiommufd-async lends its workers). @offer publishes @m: idle threads of
 * the pool call iommufd_parallel_map_help(@m) while
 * iommufd_parallel_map_wanted(@m) is true. @withdraw stops offering @m and
 * returns once no pool thread is inside iommufd_parallel_map_help(@m).
 */
struct iommufd_map_lender {
	void (*offer)(void *data, struct iommufd_parallel_map *m);
	void (*withdraw)(void *data, struct iommufd_parallel_map *m);
	void *data;
};

struct iommufd_parallel_opts {
	size_t sz;
	/* Threads to pin on, the caller's included (at most 64); 0 or 1: the
	 * caller's alone. With a lender: how many its pool has, to size chunks. */
	unsigned int threads;
	/* Bytes per chunk, a multiple of 2 MiB; 0: about 16 per thread, 16 MiB
	 * at least. */
	uint64_t chunk;
	/* Pin on the lender's threads instead of starting any (optional). */
	const struct iommufd_map_lender *lender;
};

/**
 * iommufd_ioas_map_parallel() - iommufd_ioas_map() at a fixed @iova, pinned
 * on several threads at once.
 *
 * Pinning (faulting in) the pages is nearly all a large map costs; chunks at
 * disjoint IOVAs pin in parallel. The calling thread maps chunks too.
 * Return: 0, or the first chunk's error with every chunk already mapped
 * unmapped again (one mapping or none); iommufd_last_error() names the chunk.
 */
IOMMUFD_API int iommufd_ioas_map_parallel(struct iommufd_ctx *ctx, uint32_t ioas_id, void *vaddr,
					  uint64_t length, uint64_t iova, unsigned int access,
					  const struct iommufd_parallel_opts *opts);
/* For a lender's threads: map chunks of @m until none is left to claim. */
IOMMUFD_API void iommufd_parallel_map_help(struct iommufd_parallel_map *m);
/* Whether @m has chunks left to claim. */
IOMMUFD_API bool iommufd_parallel_map_wanted(const struct iommufd_parallel_map *m);

/*
 * Map @length bytes of the file @fd (a memfd) from @offset (IOMMU_IOAS_MAP_FILE).
 * Return: as iommufd_ioas_map(); -EOPNOTSUPP on kernels before 6.13.
 */
IOMMUFD_API int iommufd_ioas_map_file(struct iommufd_ctx *ctx, uint32_t ioas_id, int fd,
				      uint64_t offset, uint64_t length, uint64_t *iova,
				      unsigned int flags);

/*
 * Unmap every mapping inside [iova, iova + length). A range that cuts a
 * mapping in two fails with -ENOENT/-EINVAL and unmaps nothing.
 * @unmapped (optional): bytes unmapped.
 */
IOMMUFD_API int iommufd_ioas_unmap(struct iommufd_ctx *ctx, uint32_t ioas_id, uint64_t iova,
				   uint64_t length, uint64_t *unmapped);

/* Unmap everything, including a mapping that ends at the top of the 64-bit space. */
IOMMUFD_API int iommufd_ioas_unmap_all(struct iommufd_ctx *ctx, uint32_t ioas_id,
				       uint64_t *unmapped);

/*
 * Map the pages already pinned at @src_iova in @src_ioas into @dst_ioas
 * without pinning them again. @dst_iova is in/out as in iommufd_ioas_map();
 * @flags takes IOMMUFD_MAP_* (READ/WRITE/FIXED_IOVA).
 */
IOMMUFD_API int iommufd_ioas_copy(struct iommufd_ctx *ctx, uint32_t dst_ioas_id,
				  uint64_t *dst_iova, uint32_t src_ioas_id, uint64_t src_iova,
				  uint64_t length, unsigned int flags);

/* An inclusive IOVA range, [start, last]. */
struct iommufd_iova_range {
	uint64_t start;
	uint64_t last;
};

/**
 * iommufd_ioas_iova_ranges() - the IOVAs that can be mapped in an IOAS now.
 * @ctx: the context.
 * @ioas_id: the IOAS.
 * @ranges: out, a malloc()ed array the caller frees.
 * @nr: out, its length.
 * @alignment: out (optional), the IOVA and length alignment every map needs.
 *
 * The ranges shrink as devices with reserved regions are attached.
 *
 * Return: 0; -ENOENT when no IOAS has @ioas_id, -ENOMEM.
 */
IOMMUFD_API int iommufd_ioas_iova_ranges(struct iommufd_ctx *ctx, uint32_t ioas_id,
					 struct iommufd_iova_range **ranges, size_t *nr,
					 uint64_t *alignment);

/*
 * Restrict the IOVAs the kernel may pick (and devices may later reserve) to
 * @ranges. -EADDRINUSE when a range hits an attached device's reserved region.
 */
IOMMUFD_API int iommufd_ioas_allow_iovas(struct iommufd_ctx *ctx, uint32_t ioas_id,
					 const struct iommufd_iova_range *ranges, size_t nr);

enum iommufd_option_id {
	/* Object 0 (the fd): 0 = account pinned pages per user, 1 = per process. */
	IOMMUFD_OPTION_RLIMIT_MODE = 0,
	/* Object an IOAS: 1 = map with huge pages (default), 0 = 4 KiB only. */
	IOMMUFD_OPTION_HUGE_PAGES = 1,
};

/**
 * iommufd_option_get() - read an option of the iommufd (@object_id 0) or an IOAS.
 * @ctx: the context.
 * @option: which.
 * @object_id: 0 for RLIMIT_MODE, an IOAS for HUGE_PAGES.
 * @value: out.
 *
 * Return: 0; -ENOENT when no such object.
 */
IOMMUFD_API int iommufd_option_get(struct iommufd_ctx *ctx, enum iommufd_option_id option,
				   uint32_t object_id, uint64_t *value);
/**
 * iommufd_option_set() - set an option, as iommufd_option_get() reads it.
 * @ctx: the context.
 * @option: which.
 * @object_id: 0 for RLIMIT_MODE, an IOAS for HUGE_PAGES.
 * @value: the new value.
 *
 * Return: 0; -EPERM for RLIMIT_MODE without CAP_SYS_RESOURCE, -EBUSY once
 * pages are pinned, -EINVAL for a bad value or object, -ENOENT.
 */
IOMMUFD_API int iommufd_option_set(struct iommufd_ctx *ctx, enum iommufd_option_id option,
				   uint32_t object_id, uint64_t value);

/*
 * The IOAS the kernel's VFIO compat container (/dev/vfio/vfio opened on
 * iommufd) uses: get (-ENODEV while none is set), set, clear.
 */
IOMMUFD_API int iommufd_vfio_ioas_get(struct iommufd_ctx *ctx, uint32_t *ioas_id);
IOMMUFD_API int iommufd_vfio_ioas_set(struct iommufd_ctx *ctx, uint32_t ioas_id);
IOMMUFD_API int iommufd_vfio_ioas_clear(struct iommufd_ctx *ctx);

/* ------------------------------------------------------------------------ */
/* Hardware page tables                                                     */
/* ------------------------------------------------------------------------ */

enum iommufd_hwpt_flags {
	IOMMUFD_HWPT_NEST_PARENT = 1 << 0,
	IOMMUFD_HWPT_DIRTY_TRACKING = 1 << 1,
	IOMMUFD_HWPT_FAULT_ID_VALID = 1 << 2,
};

struct iommufd_hwpt_alloc_opts {
	size_t sz;
	uint32_t flags;		/* enum iommufd_hwpt_flags */
	uint32_t fault_id;	/* with IOMMUFD_HWPT_FAULT_ID_VALID */
	/* Driver data for a nested (user-managed) HWPT, as the uAPI defines it
	 * for data_type (e.g. IOMMU_HWPT_DATA_VTD_S1); 0 for a paging HWPT. */
	uint32_t data_type;
	uint32_t data_len;
	const void *data;
};

/*
 * Allocate a HWPT for device @dev_id on @pt_id (an IOAS for a paging HWPT, a
 * nest-parent HWPT for a nested one). -EOPNOTSUPP when the IOMMU cannot do
 * what @opts->flags asks (dirty tracking, nesting).
 */
IOMMUFD_API int iommufd_hwpt_alloc(struct iommufd_ctx *ctx, uint32_t dev_id, uint32_t pt_id,
				   const struct iommufd_hwpt_alloc_opts *opts, uint32_t *hwpt_id);

/**
 * iommufd_hwpt_set_dirty_tracking() - start or stop dirty tracking in a HWPT.
 * @ctx: the context.
 * @hwpt_id: a HWPT allocated with IOMMUFD_HWPT_DIRTY_TRACKING.
 * @enable: start (true) or stop.
 *
 * Return: 0; -EOPNOTSUPP or -EINVAL (explained) when the HWPT was not
 * allocated for it or its IOMMU cannot track.
 */
IOMMUFD_API int iommufd_hwpt_set_dirty_tracking(struct iommufd_ctx *ctx, uint32_t hwpt_id,
						bool enable);

enum iommufd_dirty_flags {
	/* Read the bits without clearing them. */
	IOMMUFD_DIRTY_NO_CLEAR = 1 << 0,
};

/*
 * Read (and clear) the dirty bits of [iova, iova + length) at @page_size
 * granularity into @bitmap: bit n is the page at iova + n * page_size. @iova
 * must be aligned to @page_size; @bitmap holds length / page_size bits,
 * rounded up to whole uint64_t.
 */
IOMMUFD_API int iommufd_hwpt_get_dirty_bitmap(struct iommufd_ctx *ctx, uint32_t hwpt_id,
					      uint64_t iova, uint64_t length, uint64_t page_size,
					      uint64_t *bitmap, unsigned int flags);

/*
 * Invalidate the caches of a nested HWPT with @nr entries of @entry_len bytes
 * of the uAPI's @data_type. @nr is in/out: how many were handled.
 */
IOMMUFD_API int iommufd_hwpt_invalidate(struct iommufd_ctx *ctx, uint32_t hwpt_id,
					uint32_t data_type, const void *entries,
					uint32_t entry_len, uint32_t *nr);

/* Allocate an I/O page fault queue; @fault_fd is owned by the caller. */
IOMMUFD_API int iommufd_fault_queue_alloc(struct iommufd_ctx *ctx, uint32_t *fault_id,
					  int *fault_fd);

/* One page fault request as read from a fault queue. */
struct iommufd_pgfault {
	uint32_t flags;		/* IOMMU_PGFAULT_FLAGS_* of the uAPI */
	uint32_t dev_id;
	uint32_t pasid;
	uint32_t grpid;
	uint32_t perm;		/* IOMMU_PGFAULT_PERM_* of the uAPI */
	uint64_t addr;
	uint32_t length;
	uint32_t cookie;
};

/*
 * Read up to @max faults from @fault_fd. Return: how many, 0 when none are
 * pending on a non-blocking fd, or -errno.
 */
IOMMUFD_API int iommufd_fault_read(int fault_fd, struct iommufd_pgfault *faults, size_t max);

enum iommufd_fault_response {
	IOMMUFD_FAULT_RESP_SUCCESS = 0,
	IOMMUFD_FAULT_RESP_INVALID = 1,
};

/* Answer the fault group that @cookie names. */
IOMMUFD_API int iommufd_fault_respond(int fault_fd, uint32_t cookie,
				      enum iommufd_fault_response code);

/* ------------------------------------------------------------------------ */
/* Hardware information                                                     */
/* ------------------------------------------------------------------------ */

enum iommufd_hw_type {
	IOMMUFD_HW_NONE = 0,
	IOMMUFD_HW_INTEL_VTD = 1,
	IOMMUFD_HW_ARM_SMMUV3 = 2,
};

enum iommufd_hw_caps {
	IOMMUFD_HW_CAP_DIRTY_TRACKING = 1 << 0,
	IOMMUFD_HW_CAP_PCI_PASID_EXEC = 1 << 1,
	IOMMUFD_HW_CAP_PCI_PASID_PRIV = 1 << 2,
};

/*
 * Output structs that may grow carry their size like the opts structs: the
 * caller sets sz (struct iommufd_hw_info info = { .sz = sizeof(info) };),
 * the library writes no more than that and answers -EINVAL for a struct
 * smaller than the first version. Fields are only appended.
 */
struct iommufd_hw_info {
	size_t sz;		/* set by the caller */
	uint32_t type;		/* enum iommufd_hw_type */
	uint64_t capabilities;	/* enum iommufd_hw_caps */
	union {
		struct {
			uint32_t flags;
			uint64_t cap_reg;
			uint64_t ecap_reg;
		} vtd;
		struct {
			uint32_t flags;
			uint32_t idr[6];
			uint32_t iidr;
			uint32_t aidr;
		} smmuv3;
	};
};

/**
 * iommufd_get_hw_info() - what the IOMMU behind a device is and can do.
 * @ctx: the context.
 * @dev_id: a device bound to @ctx (iommufd_device_id()).
 * @info: out; iommufd_hw_info_decode() names its fields.
 *
 * Return: 0; -ENOENT when no device has @dev_id.
 */
IOMMUFD_API int iommufd_get_hw_info(struct iommufd_ctx *ctx, uint32_t dev_id,
				    struct iommufd_hw_info *info);

/* One decoded capability: a register field or flag, by its spec name. */
struct iommufd_hw_cap {
	const char *name;	/* e.g. "SAGAW", "NEST", "PASID" */
	const char *desc;	/* e.g. "supported adjusted guest address widths" */
	uint64_t value;
};

/*
 * Decode @info (as iommufd_get_hw_info() filled it, @info->sz set) into at
 * most @max named capabilities. Return: the number there are (which may
 * exceed @max: call again with more room); -EINVAL for a NULL @info or one
 * whose sz is below the first version.
 */
IOMMUFD_API int iommufd_hw_info_decode(const struct iommufd_hw_info *info,
				       struct iommufd_hw_cap *caps, size_t max);

/* ------------------------------------------------------------------------ */
/* VFIO cdev devices                                                        */
/* ------------------------------------------------------------------------ */

struct iommufd_device;

/*
 * The cdev node of a PCI device ("0000:00:02.0") bound to vfio-pci, from
 * /sys/bus/pci/devices/BDF/vfio-dev/vfioN, checked against the node's
 * major:minor. -ENODEV when the device is not bound to a VFIO driver.
 */
IOMMUFD_API int iommufd_device_cdev_path(const char *bdf, char *buf, size_t len);

/*
 * Open a device's cdev (a BDF, or a /dev/vfio/devices/vfioN path) and bind it
 * to @ctx. The device is not attached to anything yet.
 */
IOMMUFD_API int iommufd_device_open(struct iommufd_ctx *ctx, const char *name,
				    struct iommufd_device **ret);

/*
 * Bind an already open cdev fd. With IOMMUFD_CTX_FD_OWN the device closes it.
 * The fd may also be bound already (e.g. inherited from a launcher):
 * then @dev_id must give its ID, else pass 0.
 */
IOMMUFD_API int iommufd_device_from_fd(struct iommufd_ctx *ctx, int fd, unsigned int flags,
				       uint32_t dev_id, struct iommufd_device **ret);

/* Unbind and close. Takes NULL; returns NULL. */
IOMMUFD_API struct iommufd_device *iommufd_device_close(struct iommufd_device *dev);

/* The device's ID in its context (for HWPTs, hw info); 0 for NULL. */
IOMMUFD_API uint32_t iommufd_device_id(const struct iommufd_device *dev);
/* The cdev fd, owned by @dev (for VFIO ioctls the library lacks); -EINVAL for NULL. */
IOMMUFD_API int iommufd_device_fd(const struct iommufd_device *dev);
/* The BDF if known, an mdev's UUID when opened by its cdev path ("" otherwise). */
IOMMUFD_API const char *iommufd_device_name(const struct iommufd_device *dev);

/*
 * Attach to an IOAS or HWPT; if already attached, atomically replace the
 * page table. Return: 0; -EINVAL if the domain is incompatible with the device.
 */
IOMMUFD_API int iommufd_device_attach(struct iommufd_device *dev, uint32_t pt_id);
/**
 * iommufd_device_detach() - detach the device from its IOAS or HWPT.
 * @dev: the device.
 *
 * The device is left blocked: it can reach no memory until attached again.
 * A device that is not attached is left as it is. Closing a device detaches
 * it too.
 *
 * Return: 0, or the kernel's error.
 */
IOMMUFD_API int iommufd_device_detach(struct iommufd_device *dev);
/* The attached IOAS/HWPT (as given to attach), 0 when detached. */
IOMMUFD_API uint32_t iommufd_device_pt_id(const struct iommufd_device *dev);

/*
 * Attach to @ioas_id the way QEMU does: try each HWPT this context already
 * allocated on that IOAS (EINVAL means incompatible, try the next), else
 * allocate one with @hwpt_flags (IOMMUFD_HWPT_*). @hwpt_id (optional): the
 * HWPT the device ended up on.
 */
IOMMUFD_API int iommufd_device_attach_auto(struct iommufd_device *dev, uint32_t ioas_id,
					   uint32_t hwpt_flags, uint32_t *hwpt_id);

/* PCI region and IRQ indexes of vfio-pci. */
enum iommufd_pci_region {
	IOMMUFD_PCI_BAR0 = 0,
	IOMMUFD_PCI_BAR5 = 5,
	IOMMUFD_PCI_ROM = 6,
	IOMMUFD_PCI_CONFIG = 7,
	IOMMUFD_PCI_VGA = 8,
};

enum iommufd_pci_irq {
	IOMMUFD_PCI_INTX = 0,
	IOMMUFD_PCI_MSI = 1,
	IOMMUFD_PCI_MSIX = 2,
	IOMMUFD_PCI_ERR = 3,
	IOMMUFD_PCI_REQ = 4,
};

struct iommufd_device_info {
	uint32_t flags;		/* VFIO_DEVICE_FLAGS_* of the uAPI */
	uint32_t num_regions;
	uint32_t num_irqs;
};

/* The device's VFIO flags and how many regions and IRQ indexes it has. */
IOMMUFD_API int iommufd_device_get_info(struct iommufd_device *dev,
					struct iommufd_device_info *info);

/* Region flags, the same bits as VFIO_REGION_INFO_FLAG_*. */
enum iommufd_region_flags {
	IOMMUFD_REGION_READ = 1 << 0,
	IOMMUFD_REGION_WRITE = 1 << 1,
	IOMMUFD_REGION_MMAP = 1 << 2,
	IOMMUFD_REGION_CAPS = 1 << 3,
	/* Not a VFIO flag: the region has VFIO_REGION_INFO_CAP_MSIX_MAPPABLE,
	 * it may be mmap()ed over its MSI-X table and PBA (since 0.3). */
	IOMMUFD_REGION_MSIX_MAPPABLE = 1 << 16,
};

struct iommufd_sparse_area {
	uint64_t offset;	/* within the region */
	uint64_t size;
};

#define IOMMUFD_MAX_SPARSE_AREAS 8

/* Carries its size as struct iommufd_hw_info does: the caller sets sz. */
struct iommufd_region_info {
	size_t sz;		/* set by the caller */
	uint32_t index;
	uint32_t flags;		/* enum iommufd_region_flags */
	uint64_t size;
	uint64_t offset;	/* of the region in the device fd */
	/* Where the region has a sparse-mmap capability, the parts that may be
	 * mmap()ed; nr_sparse is 0 when all of it may (with REGION_MMAP). */
	uint32_t nr_sparse;
	struct iommufd_sparse_area sparse[IOMMUFD_MAX_SPARSE_AREAS];
};

/*
 * Region @index (enum iommufd_pci_region for PCI): size, offset in the device
 * fd, flags, mmap-able parts. -EINVAL when the device has no such region.
 */
IOMMUFD_API int iommufd_device_region_info(struct iommufd_device *dev, uint32_t index,
					   struct iommufd_region_info *info);

/* pread/pwrite of a region: return bytes done or -errno. */
IOMMUFD_API ssize_t iommufd_device_region_read(struct iommufd_device *dev, uint32_t index,
					       void *buf, size_t len, uint64_t offset);
IOMMUFD_API ssize_t iommufd_device_region_write(struct iommufd_device *dev, uint32_t index,
						const void *buf, size_t len, uint64_t offset);

/*
 * mmap() @len bytes of a region at @offset. -EINVAL (explained) when the
 * range is not inside an mmap-able part (sparse areas are respected).
 * Undo with munmap().
 */
IOMMUFD_API int iommufd_device_region_mmap(struct iommufd_device *dev, uint32_t index,
					   uint64_t offset, size_t len, int prot, void **addr);

/* PCI config space access (region IOMMUFD_PCI_CONFIG): bytes done or -errno. */
IOMMUFD_API ssize_t iommufd_device_config_read(struct iommufd_device *dev, uint64_t offset,
					       void *buf, size_t len);
IOMMUFD_API ssize_t iommufd_device_config_write(struct iommufd_device *dev, uint64_t offset,
						const void *buf, size_t len);

/* Set or clear Bus Master Enable in the PCI command register. */
IOMMUFD_API int iommufd_device_set_bus_master(struct iommufd_device *dev, bool enable);

struct iommufd_irq_info {
	uint32_t index;
	uint32_t flags;		/* VFIO_IRQ_INFO_* of the uAPI */
	uint32_t count;
};

/* IRQ index @index (enum iommufd_pci_irq): vectors, flags. -EINVAL when none. */
IOMMUFD_API int iommufd_device_irq_info(struct iommufd_device *dev, uint32_t index,
					struct iommufd_irq_info *info);

/*
 * Deliver vectors [start, start + count) of IRQ @index to @eventfds (-1 leaves
 * a vector unconnected). Enabling MSI/MSI-X this way also sets the device up.
 */
IOMMUFD_API int iommufd_device_irq_enable(struct iommufd_device *dev, uint32_t index,
					  uint32_t start, uint32_t count, const int *eventfds);
/* Disconnect every vector of IRQ @index (MSI/MSI-X are disabled in the device). */
IOMMUFD_API int iommufd_device_irq_disable(struct iommufd_device *dev, uint32_t index);
/* Unmask a level-triggered (INTx) interrupt after it was handled. */
IOMMUFD_API int iommufd_device_irq_unmask(struct iommufd_device *dev, uint32_t index,
					  uint32_t vector);
/**
 * iommufd_device_irq_unmask_eventfd() - unmask INTx whenever an eventfd is signalled.
 * @dev: the device, with @index enabled (iommufd_device_irq_enable()).
 * @index: IOMMUFD_PCI_INTX: only a level-triggered interrupt is masked.
 * @vector: 0.
 * @efd: an eventfd; -1 disconnects the one connected.
 *
 * What a VMM connects to KVM's resample fd: the kernel unmasks the line when
 * the guest's EOI signals @efd, without a system call of the VMM's.
 *
 * Return: 0; -EINVAL (explained) for a vector that cannot be masked, an
 * index not enabled, or an fd that is not an eventfd.
 */
IOMMUFD_API int iommufd_device_irq_unmask_eventfd(struct iommufd_device *dev, uint32_t index,
						  uint32_t vector, int efd);

/* Function-level reset; -ENOTTY when the device has no reset. */
IOMMUFD_API int iommufd_device_reset(struct iommufd_device *dev);

/*
 * PCI hot reset of the device's bus (cdev form: ownership is proven by the
 * iommufd, no group fds). -EPERM when other affected devices are not owned
 * by this iommufd (named); -ENODEV when there is no bus or slot reset;
 * -ENOTTY for a device that is not PCI, or when the reset itself failed.
 */
IOMMUFD_API int iommufd_device_hot_reset(struct iommufd_device *dev);

/*
 * Where a PCI function's MSI-X table and pending bits are (its capability).
 * An output struct that may grow: the caller sets sz (= sizeof).
 */
struct iommufd_msix_info {
	size_t sz;		/* set by the caller */
	uint32_t vectors;	/* table entries */
	uint32_t cap_offset;	/* of the capability in config space */
	uint32_t table_bar;	/* region index (enum iommufd_pci_region) */
	uint32_t pba_bar;
	uint64_t table_offset;	/* in that BAR */
	uint64_t pba_offset;
	bool enabled;		/* MSI-X Enable in the message control */
	bool function_masked;	/* Function Mask in the message control */
	bool table_mappable;	/* the table's BAR may be mmap()ed over it */
};

/**
 * iommufd_device_msix_info() - the MSI-X capability of a PCI device.
 * @dev: the device.
 * @info: out, with @info->sz set; no more than sz bytes are written.
 *
 * Return: 0; -ENODEV (explained) when the device has no MSI-X capability;
 * -EINVAL when @info->sz is smaller than the first version.
 */
IOMMUFD_API int iommufd_device_msix_info(struct iommufd_device *dev,
					 struct iommufd_msix_info *info);
/**
 * iommufd_device_msix_mask() - set or clear one MSI-X vector's mask bit.
 * @dev: the device, with MSI-X enabled (iommufd_device_irq_enable()).
 * @vector: the vector.
 * @mask: true to mask.
 *
 * vfio-pci cannot mask MSI-X vectors (its SET_IRQS mask action is for
 * INTx); this sets the vector's own mask bit in the MSI-X table, through a
 * mapping of the BAR. While masked the device holds the message and sets
 * the vector's pending bit; unmasking sends it.
 *
 * Return: 0; -EINVAL for a vector beyond the table; -EOPNOTSUPP (explained)
 * when the BAR may not be mmap()ed over the table (no MSIX_MAPPABLE).
 */
IOMMUFD_API int iommufd_device_msix_mask(struct iommufd_device *dev, uint32_t vector, bool mask);
/* The vector's pending bit in the PBA: 1, 0, or -errno as for the mask. */
IOMMUFD_API int iommufd_device_msix_pending(struct iommufd_device *dev, uint32_t vector);

/* ------------------------------------------------------------------------ */
/* VFIO device features: migration, DMA logging, low power, VF token        */
/* ------------------------------------------------------------------------ */

/* VFIO_DEVICE_FEATURE indexes; the same numbers as the uAPI's. */
enum iommufd_device_feature {
	IOMMUFD_DEVICE_FEATURE_PCI_VF_TOKEN = 0,
	IOMMUFD_DEVICE_FEATURE_MIGRATION = 1,
	IOMMUFD_DEVICE_FEATURE_MIG_DEVICE_STATE = 2,
	IOMMUFD_DEVICE_FEATURE_LOW_POWER_ENTRY = 3,
	IOMMUFD_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP = 4,
	IOMMUFD_DEVICE_FEATURE_LOW_POWER_EXIT = 5,
	IOMMUFD_DEVICE_FEATURE_DMA_LOGGING_START = 6,
	IOMMUFD_DEVICE_FEATURE_DMA_LOGGING_STOP = 7,
	IOMMUFD_DEVICE_FEATURE_DMA_LOGGING_REPORT = 8,
	IOMMUFD_DEVICE_FEATURE_MIG_DATA_SIZE = 9,
	IOMMUFD_DEVICE_FEATURE_NR = 10,		/* the ones this library knows */
};

/* What a device can do with a feature (iommufd_device_feature_probe()). */
enum iommufd_device_feature_ops {
	IOMMUFD_DEVICE_FEATURE_GET = 1 << 0,
	IOMMUFD_DEVICE_FEATURE_SET = 1 << 1,
};

/**
 * iommufd_device_feature_probe() - does the device offer a VFIO device feature?
 * @dev: the device.
 * @feature: enum iommufd_device_feature, or any uAPI feature index (< 0x10000).
 * @ops: out (optional): IOMMUFD_DEVICE_FEATURE_GET and/or _SET, what it allows.
 *
 * Return: 0 when the device offers @feature; -ENOTTY when it does not (the
 * explanation names the feature and the device).
 */
IOMMUFD_API int iommufd_device_feature_probe(struct iommufd_device *dev, uint32_t feature,
					     uint32_t *ops);

/*
 * VFIO_DEVICE_FEATURE GET or SET (@op: one IOMMUFD_DEVICE_FEATURE_GET/_SET)
 * of @feature with @len bytes of @data, for features that have no call of
 * their own here. Return: 0 or -errno (-ENOTTY: the device lacks @feature).
 */
IOMMUFD_API int iommufd_device_feature(struct iommufd_device *dev, uint32_t feature,
				       uint32_t op, void *data, size_t len);

/* The uAPI name of a feature ("MIGRATION", ...); NULL for one this library does not know. */
IOMMUFD_API const char *iommufd_device_feature_name(uint32_t feature);

/* Migration states; the same numbers as the uAPI's enum vfio_device_mig_state. */
enum iommufd_mig_state {
	IOMMUFD_MIG_ERROR = 0,
	IOMMUFD_MIG_STOP = 1,
	IOMMUFD_MIG_RUNNING = 2,
	IOMMUFD_MIG_STOP_COPY = 3,
	IOMMUFD_MIG_RESUMING = 4,
	IOMMUFD_MIG_RUNNING_P2P = 5,
	IOMMUFD_MIG_PRE_COPY = 6,
	IOMMUFD_MIG_PRE_COPY_P2P = 7,
	IOMMUFD_MIG_NR_STATES = 8,
};

/* Migration flags (iommufd_device_mig_flags()); the uAPI's VFIO_MIGRATION_* bits. */
enum iommufd_mig_flags {
	IOMMUFD_MIG_FLAG_STOP_COPY = 1 << 0,
	IOMMUFD_MIG_FLAG_P2P = 1 << 1,
	IOMMUFD_MIG_FLAG_PRE_COPY = 1 << 2,
};

/* "RUNNING", "STOP_COPY", ...; "?" for a number that is no state. */
IOMMUFD_API const char *iommufd_mig_state_name(enum iommufd_mig_state state);

/**
 * iommufd_mig_path() - the arcs from one migration state to another.
 * @flags: the device's migration flags (enum iommufd_mig_flags).
 * @from: the current state.
 * @to: the wanted state.
 * @path: out: the states after each arc, the last being @to.
 * @max: room in @path.
 *
 * The kernel's state machine (vfio_mig_get_next_state()) moves a device only
 * along single arcs; a request between states further apart is walked
 * through the states between, skipping those the device's flags leave out.
 * This computes that walk without a device.
 *
 * Return: the number of arcs (0 when @from is @to; it may exceed @max: call
 * again with more room); -EINVAL when there is no path (a state the flags do
 * not offer, ERROR, or an arc the kernel forbids, as STOP_COPY -> PRE_COPY):
 * the explanation names the arcs that leave @from.
 */
IOMMUFD_API int iommufd_mig_path(uint32_t flags, enum iommufd_mig_state from,
				 enum iommufd_mig_state to, enum iommufd_mig_state *path,
				 size_t max);

/* The device's migration flags; -ENOTTY when it cannot migrate. */
IOMMUFD_API int iommufd_device_mig_flags(struct iommufd_device *dev, uint32_t *flags);
/* The device's migration state now. */
IOMMUFD_API int iommufd_device_mig_get_state(struct iommufd_device *dev,
					     enum iommufd_mig_state *state);

/**
 * iommufd_device_mig_set_state() - move a device to a migration state.
 * @dev: the device.
 * @state: the wanted state.
 * @data_fd: out (optional): the migration data fd the last arc opened
 *	(entering STOP_COPY, PRE_COPY, PRE_COPY_P2P or RESUMING from outside
 *	the saving states), close-on-exec and the caller's to close; -1 when
 *	no arc opened one. With NULL such an fd is closed.
 *
 * Walks iommufd_mig_path() from the current state, one VFIO arc at a time,
 * so that a failure names the arc that failed. The caller serialises the
 * calls that change a device's state.
 *
 * Return: 0; -ENOTTY when the device cannot migrate; -EINVAL with no path
 * (nothing is changed; the explanation names the allowed arcs). When an arc
 * fails, the kernel's error: a device that started in RUNNING, RUNNING_P2P
 * or STOP is walked back there; one that started in a state with a data
 * session (which cannot be had back) stays where the failure left it. The
 * explanation names the failed arc and the state the device is in, which
 * may be ERROR (iommufd_device_reset() brings it back to RUNNING).
 */
IOMMUFD_API int iommufd_device_mig_set_state(struct iommufd_device *dev,
					     enum iommufd_mig_state state, int *data_fd);

/* The device's estimate of the bytes STOP_COPY will produce (VFIO_DEVICE_FEATURE_MIG_DATA_SIZE). */
IOMMUFD_API int iommufd_device_mig_data_size(struct iommufd_device *dev, uint64_t *bytes);

/*
 * VFIO_MIG_GET_PRECOPY_INFO on a data fd of @dev in PRE_COPY or PRE_COPY_P2P:
 * the bytes of initial state not yet read and the dirty bytes known now
 * (both optional). -EINVAL in another state; -ENOTTY without PRE_COPY.
 */
IOMMUFD_API int iommufd_device_mig_precopy_info(struct iommufd_device *dev, int data_fd,
						uint64_t *initial_bytes, uint64_t *dirty_bytes);

/**
 * iommufd_device_dma_log_start() - have the device track the pages it writes.
 * @dev: the device.
 * @ranges: the IOVA ranges to track; @nr of them, not overlapping.
 * @nr: 1..(page size / 16).
 * @page_size: in: the granule wanted (a power of two, 4 KiB or more), which
 *	every range start and end must be aligned to; out: the device's own.
 *
 * Device DMA logging (VFIO_DEVICE_FEATURE_DMA_LOGGING_START) is the device's
 * own dirty tracking, for devices whose IOMMU cannot track (compare
 * iommufd_hwpt_get_dirty_bitmap()).
 *
 * Return: 0; -ENOTTY when the device has no DMA logging; -EINVAL for a bad
 * range (named in the explanation).
 */
IOMMUFD_API int iommufd_device_dma_log_start(struct iommufd_device *dev,
					     const struct iommufd_iova_range *ranges, size_t nr,
					     uint64_t *page_size);
/* Stop DMA logging. -ENOTTY when the device has none. */
IOMMUFD_API int iommufd_device_dma_log_stop(struct iommufd_device *dev);
/*
 * Read and clear the dirty bits of [iova, iova + length) into @bitmap (a bit
 * per @page_size page, bit 0 of bitmap[0] for @iova; length / page_size bits,
 * rounded up to whole uint64_t); the bitmap is cleared first, so it holds
 * this report alone. -ENOTTY without DMA logging.
 */
IOMMUFD_API int iommufd_device_dma_log_report(struct iommufd_device *dev, uint64_t iova,
					      uint64_t length, uint64_t page_size,
					      uint64_t *bitmap);

/*
 * Let the device enter a low-power state while unused
 * (VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY; with @wakeup_eventfd >= 0,
 * ..._ENTRY_WITH_WAKEUP: the eventfd is signalled when the device wakes by
 * itself). Any access to the device brings it back. -ENOTTY when the device
 * or the kernel has no runtime power management for it.
 */
IOMMUFD_API int iommufd_device_low_power_enter(struct iommufd_device *dev, int wakeup_eventfd);
/* Leave low power (VFIO_DEVICE_FEATURE_LOW_POWER_EXIT). */
IOMMUFD_API int iommufd_device_low_power_exit(struct iommufd_device *dev);

/**
 * iommufd_device_set_vf_token() - set the VF token of an SR-IOV PF.
 * @dev: a physical function bound to vfio-pci.
 * @uuid: the token, as text ("8-4-4-4-12" hex digits).
 *
 * A VF of this PF bound to vfio-pci may then be opened only by a user who
 * shows the same token: through a VFIO group, in the device name
 * ("BDF vf_token=UUID", which the compat shim also takes). Linux 6.12's cdev
 * bind does not ask for the token; 6.17 adds it to VFIO_DEVICE_BIND_IOMMUFD.
 *
 * Return: 0; -EINVAL for a malformed @uuid; -ENOTTY when @dev is not a PF
 * that vfio-pci manages VFs for (the explanation says which).
 */
IOMMUFD_API int iommufd_device_set_vf_token(struct iommufd_device *dev, const char *uuid);

/* One device a PCI hot reset affects (iommufd_device_hot_reset_info()). */
struct iommufd_reset_dep {
	char bdf[16];		/* "DDDD:BB:DD.F" */
	/*
	 * Its device ID in the context @dev is bound to; 0 when not bound to
	 * it. @owned says whether the reset may still touch it: bound here, or
	 * in a VFIO group this iommufd owns and not open.
	 */
	uint32_t dev_id;
	bool owned;
};

/**
 * iommufd_device_hot_reset_info() - which devices a PCI hot reset of @dev affects.
 * @dev: the device.
 * @deps: out: a malloc()ed array the caller frees, one entry per device on
 *	the bus or slot that would be reset (@dev among them).
 * @nr: out: its length.
 *
 * Return: 0; -ENODEV when the device has no bus or slot reset (on the root
 * bus, for instance); -ENOTTY for a device that is not PCI (an mdev).
 */
IOMMUFD_API int iommufd_device_hot_reset_info(struct iommufd_device *dev,
					      struct iommufd_reset_dep **deps, size_t *nr);

/**
 * iommufd_device_hot_reset_set() - hot reset a set of devices bound to one iommufd.
 * @devs: the devices, all bound to the same context.
 * @nr: how many.
 *
 * Groups @devs by the bus or slot reset that covers each, checks that every
 * device each reset affects is owned by the context, and only then resets:
 * one VFIO_DEVICE_PCI_HOT_RESET per group (the cdev form, no group fds).
 * A device of the set that no reset reaches stops it before anything is
 * reset.
 *
 * Return: 0; -EINVAL for devices of different contexts; -EPERM when a reset
 * would touch a device this iommufd does not own (named); -ENODEV when a
 * device has no bus or slot reset. On a failure before the first reset,
 * nothing was reset.
 */
IOMMUFD_API int iommufd_device_hot_reset_set(struct iommufd_device *const *devs, size_t nr);

/* What a launcher (iommufd-ctl exec) handed over: the iommufd, IOASes, devices. */
struct iommufd_handoff;

struct iommufd_handoff_opts {
	size_t sz;
	/* Read the variables from this NULL-terminated "NAME=value" array (as
	 * execve() takes it) instead of the process's environment. */
	char *const *envp;
};

/**
 * iommufd_handoff_from_env() - adopt what a launcher handed over in the environment.
 * @opts: optional, may be NULL.
 * @ret: the hand-off: the context, each device (bound and attached, as the
 *       launcher left it) and the IOAS IDs, by name.
 *
 * Reads IOMMUFD_FD, IOMMUFD_IOAS, IOMMUFD_IOAS_ID, IOMMUFD_DEVICES,
 * IOMMUFD_DEVICE_IDS and IOMMUFD_DEVICE_IOAS (iommufd-ctl(8)) and checks all
 * of them before adopting anything. Once adopted, the fds are the hand-off's
 * (closed by iommufd_handoff_free()) and close-on-exec.
 *
 * Return: 0; -ENOENT when IOMMUFD_FD is not set, or an ID names no object;
 * -EINVAL for a malformed or inconsistent variable; -EBADF for an fd that is
 * not open; -ENOTTY for one that is not what it is said to be.
 * iommufd_last_error() names the variable and the entry.
 */
IOMMUFD_API int iommufd_handoff_from_env(const struct iommufd_handoff_opts *opts,
					 struct iommufd_handoff **ret);
/* Close the devices, drop the context's reference. Takes NULL; returns NULL. */
IOMMUFD_API struct iommufd_handoff *iommufd_handoff_free(struct iommufd_handoff *h);
/* The context; the hand-off holds the reference (iommufd_ctx_ref() to keep it). */
IOMMUFD_API struct iommufd_ctx *iommufd_handoff_ctx(const struct iommufd_handoff *h);
/* An IOAS by the launcher's name for it; NULL: the current IOAS. 0 if none. */
IOMMUFD_API uint32_t iommufd_handoff_ioas(const struct iommufd_handoff *h, const char *name);
/* The name of the @i-th IOAS; NULL past the last. */
IOMMUFD_API const char *iommufd_handoff_ioas_name(const struct iommufd_handoff *h, size_t i);
/* A device by BDF, or the @i-th; NULL if none. It belongs to the hand-off: do not close it. */
IOMMUFD_API struct iommufd_device *iommufd_handoff_device(const struct iommufd_handoff *h,
							  const char *bdf);
IOMMUFD_API struct iommufd_device *iommufd_handoff_device_at(const struct iommufd_handoff *h,
							     size_t i);

#ifdef __cplusplus
}
#endif

#endif /* IOMMUFD_IOMMUFD_H */
