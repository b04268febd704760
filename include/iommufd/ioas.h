/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ioas: userspace IOVA management on top of libiommufd.
 *
 *  - An IOVA allocator with the semantics of the kernel's alloc_iova():
 *    page-granular ranges below a limit, optionally size-aligned, chosen
 *    top-down, around reserved windows, with a per-size cache for the hot
 *    path (alloc_iova_fast()).
 *  - A mapping tracker: every mapping of an IOAS, looked up by IOVA or by
 *    any address inside its buffer.
 *  - struct ioas, which ties both to an iommufd IOAS: map a buffer and get
 *    its IOVA, translate pointers, allocate DMA memory.
 *
 * All functions return 0 or a negative errno and leave state unchanged on
 * failure; iommufd_last_error() explains. All are safe to call from many
 * threads at once on the same object.
 */
#ifndef IOMMUFD_IOAS_H
#define IOMMUFD_IOAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iommufd/iommufd.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IOAS_OPTS(TYPE, NAME, ...) IOMMUFD_OPTS(TYPE, NAME, __VA_ARGS__)

/* ------------------------------------------------------------------------ */
/* IOVA allocator                                                           */
/* ------------------------------------------------------------------------ */

struct ioas_iova_allocator;

struct ioas_iova_opts {
	size_t sz;
	/* Allocation granule in bytes, a power of two; 0 means 4096. */
	uint64_t granule;
	/* Lowest and highest usable IOVA. start 0 means one granule: IOVA 0
	 * is never handed out, so that a zero address stays an error. end 0
	 * means the top of the 64-bit space. */
	uint64_t start;
	uint64_t end;
	/* Freed ranges each fast-path size class keeps; 0 means 256. */
	uint32_t cache_depth;
};

IOMMUFD_API int ioas_iova_allocator_new(const struct ioas_iova_opts *opts,
					struct ioas_iova_allocator **ret);
/* Takes NULL; returns NULL. */
IOMMUFD_API struct ioas_iova_allocator *ioas_iova_allocator_free(struct ioas_iova_allocator *a);

enum ioas_iova_flags {
	/* Align the range to its size rounded up to a power of two. */
	IOAS_IOVA_SIZE_ALIGNED = 1 << 0,
};

/**
 * ioas_iova_alloc() - take the highest free range of @size bytes below @limit.
 * @size: bytes, rounded up to the granule.
 * @limit: the highest IOVA the range may reach (inclusive), e.g. a device's
 *	   DMA mask such as 0xfffffff for 28 bits.
 *
 * Return: 0 with *@iova set; -ENOSPC (explained: the largest gap there is).
 */
IOMMUFD_API int ioas_iova_alloc(struct ioas_iova_allocator *a, uint64_t size, uint64_t limit,
				unsigned int flags, uint64_t *iova);
/* Give back the range that starts at @iova: -ENOENT if none, -EPERM if reserved. */
IOMMUFD_API int ioas_iova_free(struct ioas_iova_allocator *a, uint64_t iova);

/*
 * The fast path: sizes are rounded up to a power of two and size-aligned;
 * freed ranges of up to 32 granules are kept per size and handed out again
 * without touching the tree (alloc_iova_fast()). Free with the same size.
 */
IOMMUFD_API int ioas_iova_alloc_fast(struct ioas_iova_allocator *a, uint64_t size,
				     uint64_t limit, uint64_t *iova);
IOMMUFD_API int ioas_iova_free_fast(struct ioas_iova_allocator *a, uint64_t iova,
				    uint64_t size);

/* Take exactly [iova, iova + size): -EEXIST if any of it is in use. */
IOMMUFD_API int ioas_iova_alloc_at(struct ioas_iova_allocator *a, uint64_t iova, uint64_t size);
/*
 * Keep [iova, iova + size) out of every allocation, for good (a hole in the
 * IOAS's ranges, a window the caller keeps). Overlapping reservations merge;
 * -EBUSY if a live allocation is in the way.
 */
IOMMUFD_API int ioas_iova_reserve(struct ioas_iova_allocator *a, uint64_t iova, uint64_t size);

struct ioas_iova_stats {
	uint64_t live;		/* allocations (ranges given out, cached ones included) */
	uint64_t live_bytes;
	uint64_t reserved;	/* reserved ranges, the window's two edges included */
	uint64_t cached;	/* freed ranges held by the fast path */
	uint64_t cache_hits;
	uint64_t cache_misses;
	uint64_t memory_bytes;	/* what the allocator itself uses */
};

IOMMUFD_API int ioas_iova_stats(struct ioas_iova_allocator *a, struct ioas_iova_stats *st);

/* ------------------------------------------------------------------------ */
/* Mapping tracker                                                          */
/* ------------------------------------------------------------------------ */

struct ioas_tracker;

/* One mapping: [iova, iova + length) backed by [vaddr, vaddr + length). */
struct ioas_mapping {
	uint64_t iova;
	uint64_t length;
	void *vaddr;
	unsigned int access;	/* IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE */
	unsigned int refs;	/* times mapped (same buffer mapped again) */
};

IOMMUFD_API int ioas_tracker_new(struct ioas_tracker **ret);
IOMMUFD_API struct ioas_tracker *ioas_tracker_free(struct ioas_tracker *t);

/*
 * Record a mapping: -EEXIST (explained, naming the other mapping) if its IOVA
 * range or its buffer overlaps one already recorded.
 */
IOMMUFD_API int ioas_tracker_add(struct ioas_tracker *t, const struct ioas_mapping *m);
/* Forget the mapping at @iova (its start): -ENOENT if none. */
IOMMUFD_API int ioas_tracker_remove(struct ioas_tracker *t, uint64_t iova,
				    struct ioas_mapping *removed);
/* Would [iova, iova+length) or [vaddr, vaddr+length) overlap a mapping? */
IOMMUFD_API int ioas_tracker_check(struct ioas_tracker *t, uint64_t iova, const void *vaddr,
				   uint64_t length);

/* The mapping holding @iova / the address @vaddr, anywhere inside it. */
IOMMUFD_API int ioas_tracker_find_iova(struct ioas_tracker *t, uint64_t iova,
				       struct ioas_mapping *m);
IOMMUFD_API int ioas_tracker_find_vaddr(struct ioas_tracker *t, const void *vaddr,
					struct ioas_mapping *m);

/* Call @fn for each mapping in IOVA order until it returns non-zero (returned). */
IOMMUFD_API int ioas_tracker_foreach(struct ioas_tracker *t,
				     int (*fn)(const struct ioas_mapping *m, void *data),
				     void *data);

struct ioas_tracker_stats {
	uint64_t mappings;
	uint64_t bytes;
	uint64_t lookups;
	uint64_t lookup_misses;
};

IOMMUFD_API int ioas_tracker_stats(struct ioas_tracker *t, struct ioas_tracker_stats *st);

/* ------------------------------------------------------------------------ */
/* struct ioas: an IOAS with its IOVAs managed in userspace                 */
/* ------------------------------------------------------------------------ */

struct ioas;

struct ioas_opts {
	size_t sz;
	/* Use this existing IOAS instead of allocating one (not destroyed by
	 * ioas_free()). */
	uint32_t ioas_id;
	/* The highest IOVA a mapping may reach, e.g. the device's DMA mask;
	 * 0 means no limit beyond the IOAS's own ranges. */
	uint64_t dma_limit;
};

/*
 * Make an IOAS on @ctx (or adopt opts->ioas_id) and read its IOVA ranges and
 * alignment: what lies outside the ranges is reserved in the allocator.
 * Attach devices before mapping (their reserved regions shrink the ranges),
 * or call ioas_refresh_ranges() after attaching.
 */
IOMMUFD_API int ioas_new(struct iommufd_ctx *ctx, const struct ioas_opts *opts,
			 struct ioas **ret);
/* Unmap everything mapped through it, destroy the IOAS if it made it. Takes NULL. */
IOMMUFD_API struct ioas *ioas_free(struct ioas *ioas);
IOMMUFD_API uint32_t ioas_id(const struct ioas *ioas);

/* Re-read the IOAS's ranges (after a device attached) and reserve the new holes. */
IOMMUFD_API int ioas_refresh_ranges(struct ioas *ioas);

/**
 * ioas_map() - map a buffer at an IOVA the allocator picks.
 * @access: IOMMUFD_MAP_READ and/or IOMMUFD_MAP_WRITE.
 *
 * Mapping the very same buffer (address and length) again, from any thread,
 * returns the same IOVA and takes a reference; a buffer overlapping another
 * mapped one is refused with -EEXIST. The mapping is recorded before the
 * kernel maps it; if the kernel refuses, the record and the IOVA go again.
 */
IOMMUFD_API int ioas_map(struct ioas *ioas, void *vaddr, uint64_t length, unsigned int access,
			 uint64_t *iova);
/* Map at IOVA == virtual address, for drivers that want identity addresses. */
IOMMUFD_API int ioas_map_identity(struct ioas *ioas, void *vaddr, uint64_t length,
				  unsigned int access);
/*
 * The kernel step of a map, done by the caller: map [@vaddr, +@length) at
 * @iova, returning 0 or a negative errno with nothing left mapped.
 */
typedef int (*ioas_kernel_map_fn)(struct ioas *ioas, void *vaddr, uint64_t length,
				  uint64_t iova, unsigned int access, void *arg);

/**
 * ioas_map_with() - ioas_map(), with the kernel step done by @fn.
 *
 * Everything else is ioas_map()'s: the same buffer again takes a reference,
 * the IOVA comes from the allocator and goes back if @fn fails, and the
 * mapping is recorded as one. For callers that map in their own way, e.g.
 * in chunks on several threads (the async layer's parallel pinning). On the
 * no-IOMMU backend nothing is mapped and @fn is not called. @fn may use
 * ioas_kernel_map() and ioas_kernel_unmap().
 */
IOMMUFD_API int ioas_map_with(struct ioas *ioas, void *vaddr, uint64_t length,
			      unsigned int access, ioas_kernel_map_fn fn, void *arg,
			      uint64_t *iova);
/* The backend's own kernel map and unmap, untracked: for ioas_map_with() callbacks. */
IOMMUFD_API int ioas_kernel_map(struct ioas *ioas, void *vaddr, uint64_t length, uint64_t iova,
				unsigned int access);
IOMMUFD_API int ioas_kernel_unmap(struct ioas *ioas, uint64_t iova, uint64_t length);
/* The context an ioas maps through (NULL for the VFIO group backends). */
IOMMUFD_API struct iommufd_ctx *ioas_get_ctx(const struct ioas *ioas);

/* Drop a reference on the mapping that starts at @iova; the last unmaps it. */
IOMMUFD_API int ioas_unmap(struct ioas *ioas, uint64_t iova);
/* The same, by the buffer's start address. */
IOMMUFD_API int ioas_unmap_vaddr(struct ioas *ioas, void *vaddr);

/* Any pointer inside a mapped buffer to its IOVA, and back. */
IOMMUFD_API int ioas_vaddr_to_iova(struct ioas *ioas, const void *vaddr, uint64_t *iova);
IOMMUFD_API int ioas_iova_to_vaddr(struct ioas *ioas, uint64_t iova, void **vaddr);

/* Where mappings go. */
enum ioas_backend_kind {
	IOAS_BACKEND_AUTO = 0,	/* IOAS_BACKEND from the environment; else no-IOMMU
				 * when the device's group is a no-IOMMU one; else
				 * iommufd if /dev/iommu exists; else type1 */
	IOAS_BACKEND_IOMMUFD,	/* /dev/iommu and the device's VFIO cdev */
	IOAS_BACKEND_TYPE1,	/* a legacy VFIO container (kernels without iommufd) */
	IOAS_BACKEND_NOIOMMU,	/* VFIO's unsafe no-IOMMU mode: IOVA = physical address */
};

struct ioas_open_opts {
	size_t sz;
	enum ioas_backend_kind backend;	/* any but AUTO is used as given */
	uint64_t dma_limit;		/* as in struct ioas_opts */
};

/**
 * ioas_open_device() - give a PCI device to this process for DMA.
 * @bdf: a device bound to vfio-pci.
 * @device_fd: out, its VFIO device fd (regions, IRQs, reset), owned by *@ret.
 *
 * Opens the device on the chosen backend and returns a struct ioas for its
 * DMA: the same ioas_map()/ioas_dma_alloc() calls work on all three. With
 * IOAS_BACKEND_NOIOMMU there is no protection at all: the device can reach
 * any memory (VFIO's enable_unsafe_noiommu_mode); buffers get their physical
 * address as IOVA, must be physically contiguous (use hugetlb memory), and
 * need root. IOAS_BACKEND=iommufd|type1|noiommu in the environment chooses
 * one when @opts leaves the choice open (IOAS_BACKEND_AUTO).
 */
IOMMUFD_API int ioas_open_device(const char *bdf, const struct ioas_open_opts *opts,
				 struct ioas **ret, int *device_fd);
/* "iommufd", "type1" or "noiommu". */
IOMMUFD_API const char *ioas_backend_name(const struct ioas *ioas);

IOMMUFD_API struct ioas_tracker *ioas_get_tracker(struct ioas *ioas);
IOMMUFD_API struct ioas_iova_allocator *ioas_get_allocator(struct ioas *ioas);

/* ------------------------------------------------------------------------ */
/* DMA memory                                                               */
/* ------------------------------------------------------------------------ */

enum ioas_dma_flags {
	IOAS_DMA_HUGE_2M = 1 << 0,	/* hugetlb 2 MiB pages */
	IOAS_DMA_HUGE_1G = 1 << 1,	/* hugetlb 1 GiB pages */
	IOAS_DMA_MEMFD = 1 << 2,	/* backed by a memfd (shareable, see buf->fd) */
	IOAS_DMA_FALLBACK = 1 << 3,	/* no huge pages to be had: use small ones */
	IOAS_DMA_READ_ONLY = 1 << 4,	/* the device may only read */
};

struct ioas_dma_opts {
	size_t sz;
	unsigned int flags;	/* enum ioas_dma_flags */
};

/* A DMA buffer: these fields are frozen. */
struct ioas_dma_buf {
	void *vaddr;
	uint64_t iova;
	uint64_t size;		/* as asked */
	uint64_t mapped;	/* rounded to the page size used */
	int fd;			/* the memfd with IOAS_DMA_MEMFD, else -1 */
	unsigned int flags;	/* what was actually used */
};

/*
 * Allocate @size bytes of memory (locked in: the device may DMA any time)
 * and map them at an allocated IOVA. Everything is undone on failure.
 */
IOMMUFD_API int ioas_dma_alloc(struct ioas *ioas, uint64_t size, const struct ioas_dma_opts *opts,
			       struct ioas_dma_buf **ret);
/* Unmap and release. Takes NULL; returns NULL. */
IOMMUFD_API struct ioas_dma_buf *ioas_dma_free(struct ioas *ioas, struct ioas_dma_buf *buf);

#ifdef __cplusplus
}
#endif

#endif /* IOMMUFD_IOAS_H */
