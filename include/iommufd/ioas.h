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

/**
 * ioas_iova_allocator_new() - an IOVA allocator over one window.
 * @opts: optional, may be NULL: granule, window, cache depth.
 * @ret: the new allocator.
 *
 * Everything in the window is free; reserve what must never be handed out
 * (holes between an IOAS's ranges) with ioas_iova_reserve().
 *
 * Return: 0; -EINVAL for a granule that is not a power of two or a window
 * that is empty or not aligned to it, -EINVAL/-E2BIG for bad opts, -ENOMEM.
 */
IOMMUFD_API int ioas_iova_allocator_new(const struct ioas_iova_opts *opts,
					struct ioas_iova_allocator **ret);
/**
 * ioas_iova_allocator_free() - free an allocator and all its ranges.
 * @a: the allocator, or NULL.
 *
 * Return: NULL.
 */
IOMMUFD_API struct ioas_iova_allocator *ioas_iova_allocator_free(struct ioas_iova_allocator *a);

enum ioas_iova_flags {
	/* Align the range to its size rounded up to a power of two. */
	IOAS_IOVA_SIZE_ALIGNED = 1 << 0,
};

/**
 * ioas_iova_alloc() - take the highest free range of @size bytes below @limit.
 * @a: the allocator.
 * @size: bytes, rounded up to the granule.
 * @limit: the highest IOVA the range may reach (inclusive), e.g. a device's
 *	   DMA mask such as 0xfffffff for 28 bits.
 * @flags: enum ioas_iova_flags.
 * @iova: out, the start of the range.
 *
 * Return: 0 with *@iova set; -ENOSPC (explained: the largest gap there is);
 * -EINVAL for 0 bytes or unknown flags.
 */
IOMMUFD_API int ioas_iova_alloc(struct ioas_iova_allocator *a, uint64_t size, uint64_t limit,
				unsigned int flags, uint64_t *iova);
/**
 * ioas_iova_free() - give back the range ioas_iova_alloc() or
 * ioas_iova_alloc_at() returned.
 * @a: the allocator.
 * @iova: the start of the range.
 *
 * Return: 0; -ENOENT if no allocation starts at @iova, -EPERM if it is
 * reserved.
 */
IOMMUFD_API int ioas_iova_free(struct ioas_iova_allocator *a, uint64_t iova);

/**
 * ioas_iova_alloc_fast() - ioas_iova_alloc() through the per-size cache.
 * @a: the allocator.
 * @size: bytes, rounded up to a power of two of granules.
 * @limit: the highest IOVA the range may reach (inclusive).
 * @iova: out, the start of the range, aligned to its rounded size.
 *
 * The kernel's alloc_iova_fast(): ranges of up to 32 granules that
 * ioas_iova_free_fast() gave back are kept per size and handed out again
 * without touching the tree; a miss allocates size-aligned from the tree.
 * When the tree is full the caches are flushed and it tries once more.
 *
 * Return: 0 with *@iova set; -ENOSPC (explained), -EINVAL for 0 bytes.
 */
IOMMUFD_API int ioas_iova_alloc_fast(struct ioas_iova_allocator *a, uint64_t size,
				     uint64_t limit, uint64_t *iova);
/**
 * ioas_iova_free_fast() - give back a range from ioas_iova_alloc_fast().
 * @a: the allocator.
 * @iova: the start of the range.
 * @size: the size it was allocated with.
 *
 * Return: 0; -ENOENT when no live allocation of that size starts at @iova
 * (a wrong size or a second free would poison the cache, so both are caught).
 */
IOMMUFD_API int ioas_iova_free_fast(struct ioas_iova_allocator *a, uint64_t iova,
				    uint64_t size);

/**
 * ioas_iova_alloc_at() - take exactly [@iova, @iova + @size).
 * @a: the allocator.
 * @iova: the start, aligned to the granule.
 * @size: bytes, rounded up to the granule.
 *
 * Free it with ioas_iova_free().
 *
 * Return: 0; -EEXIST if any of it is allocated or reserved; -EINVAL if it is
 * empty, wraps or is not aligned.
 */
IOMMUFD_API int ioas_iova_alloc_at(struct ioas_iova_allocator *a, uint64_t iova, uint64_t size);
/**
 * ioas_iova_reserve() - keep [@iova, @iova + @size) out of every allocation.
 * @a: the allocator.
 * @iova: the start.
 * @size: bytes; the range may reach the top of the 64-bit space.
 *
 * For good: a hole in the IOAS's ranges, a window the caller keeps.
 * Overlapping reservations merge into one.
 *
 * Return: 0; -EBUSY if a live allocation is in the way; -EINVAL if the range
 * is empty or wraps.
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

/**
 * ioas_iova_stats() - what the allocator holds now, and its cache's hits.
 * @a: the allocator.
 * @st: out.
 *
 * Return: 0.
 */
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

/**
 * ioas_tracker_new() - an empty mapping tracker.
 * @ret: the new tracker.
 *
 * A tracker records mappings and translates addresses both ways; it asks
 * the kernel nothing. struct ioas keeps one (ioas_get_tracker()); a driver
 * that maps through its own calls may keep its own.
 *
 * Return: 0, -ENOMEM.
 */
IOMMUFD_API int ioas_tracker_new(struct ioas_tracker **ret);
/**
 * ioas_tracker_free() - free a tracker and its records (nothing is unmapped).
 * @t: the tracker, or NULL.
 *
 * Return: NULL.
 */
IOMMUFD_API struct ioas_tracker *ioas_tracker_free(struct ioas_tracker *t);

/**
 * ioas_tracker_add() - record a mapping.
 * @t: the tracker.
 * @m: the mapping; @m->refs 0 counts as 1. A NULL @m->vaddr (a copy, a file)
 *     is found by IOVA only.
 *
 * Return: 0; -EEXIST (explained, naming the other mapping) if its IOVA range
 * or its buffer overlaps one already recorded; -EINVAL if it is empty or
 * wraps; -ENOMEM.
 */
IOMMUFD_API int ioas_tracker_add(struct ioas_tracker *t, const struct ioas_mapping *m);
/**
 * ioas_tracker_remove() - forget the mapping that starts at @iova, whatever
 * its references.
 * @t: the tracker.
 * @iova: the mapping's first IOVA.
 * @removed: out (optional), what it was.
 *
 * Return: 0; -ENOENT if no mapping starts there.
 */
IOMMUFD_API int ioas_tracker_remove(struct ioas_tracker *t, uint64_t iova,
				    struct ioas_mapping *removed);
/**
 * ioas_tracker_check() - would a mapping be refused, without recording it?
 * @t: the tracker.
 * @iova: the IOVA it would have.
 * @vaddr: its buffer (NULL: none).
 * @length: bytes.
 *
 * For callers that ask before the kernel maps.
 *
 * Return: 0; -EEXIST (explained) if [@iova, @iova + @length) or [@vaddr,
 * @vaddr + @length) overlaps a recorded mapping; -EINVAL if empty or wrapping.
 */
IOMMUFD_API int ioas_tracker_check(struct ioas_tracker *t, uint64_t iova, const void *vaddr,
				   uint64_t length);

/**
 * ioas_tracker_find_iova() - the mapping holding @iova, anywhere inside it.
 * @t: the tracker.
 * @iova: any IOVA.
 * @m: out (optional), the mapping.
 *
 * Counted in the tracker's lookup statistics.
 *
 * Return: 0; -ENOENT (explained) when no mapping holds it.
 */
IOMMUFD_API int ioas_tracker_find_iova(struct ioas_tracker *t, uint64_t iova,
				       struct ioas_mapping *m);
/**
 * ioas_tracker_find_vaddr() - the mapping whose buffer holds @vaddr.
 * @t: the tracker.
 * @vaddr: any address inside a buffer.
 * @m: out (optional), the mapping.
 *
 * Return: 0; -ENOENT (explained) when no mapped buffer holds it.
 */
IOMMUFD_API int ioas_tracker_find_vaddr(struct ioas_tracker *t, const void *vaddr,
					struct ioas_mapping *m);

/**
 * ioas_tracker_foreach() - call @fn for each mapping in IOVA order.
 * @t: the tracker.
 * @fn: called with a copy of each mapping; a non-zero return stops the walk.
 * @data: passed to @fn.
 *
 * @fn runs under the tracker's read lock: it may look up, not add or remove.
 *
 * Return: 0, or what @fn returned to stop.
 */
IOMMUFD_API int ioas_tracker_foreach(struct ioas_tracker *t,
				     int (*fn)(const struct ioas_mapping *m, void *data),
				     void *data);

struct ioas_tracker_stats {
	uint64_t mappings;
	uint64_t bytes;
	uint64_t lookups;
	uint64_t lookup_misses;
};

/**
 * ioas_tracker_stats() - mappings and bytes recorded, lookups made and missed.
 * @t: the tracker.
 * @st: out.
 *
 * Return: 0.
 */
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

/**
 * ioas_new() - an IOAS on @ctx whose IOVAs are chosen here.
 * @ctx: the context; the ioas takes a reference.
 * @opts: optional, may be NULL: an existing IOAS to adopt, a DMA limit.
 * @ret: the new ioas.
 *
 * Allocates an IOAS (or adopts @opts->ioas_id) and reads its IOVA ranges
 * and alignment: what lies outside the ranges is reserved in the allocator.
 * Attach devices before mapping (their reserved regions shrink the ranges),
 * or call ioas_refresh_ranges() after attaching.
 *
 * Return: 0; the errors of iommufd_ioas_alloc() and iommufd_ioas_iova_ranges(),
 * -EINVAL/-E2BIG for bad opts, -ENOMEM.
 */
IOMMUFD_API int ioas_new(struct iommufd_ctx *ctx, const struct ioas_opts *opts,
			 struct ioas **ret);
/**
 * ioas_free() - close the device, unmap, and free.
 * @ioas: the ioas, or NULL.
 *
 * Closes the device ioas_open_device() opened first, so that it cannot DMA
 * into what is unmapped next; destroys the IOAS if ioas_new() made it, else
 * unmaps exactly what was mapped through @ioas; unlocks no-IOMMU buffers.
 *
 * Return: NULL.
 */
IOMMUFD_API struct ioas *ioas_free(struct ioas *ioas);
/**
 * ioas_id() - the IOAS's ID, for iommufd_device_attach() and the like.
 * @ioas: the ioas.
 *
 * Return: the ID; 0 for NULL and for the VFIO group backends (no IOAS).
 */
IOMMUFD_API uint32_t ioas_id(const struct ioas *ioas);

/**
 * ioas_refresh_ranges() - re-read the usable ranges and reserve the new holes.
 * @ioas: the ioas.
 *
 * Call it after attaching a device: its reserved regions (the MSI window)
 * shrink the ranges.
 *
 * Return: 0; -EBUSY if a mapping already lies where a hole now is; the errors
 * of iommufd_ioas_iova_ranges().
 */
IOMMUFD_API int ioas_refresh_ranges(struct ioas *ioas);

/**
 * ioas_map() - map a buffer at an IOVA the allocator picks.
 * @ioas: the ioas.
 * @vaddr: the buffer, aligned to the IOAS's granule (a page at least).
 * @length: bytes, a multiple of the granule.
 * @access: IOMMUFD_MAP_READ and/or IOMMUFD_MAP_WRITE.
 * @iova: out, where the device sees the buffer.
 *
 * Mapping the very same buffer (address and length) again, from any thread,
 * returns the same IOVA and takes a reference; a buffer overlapping another
 * mapped one is refused with -EEXIST. The mapping is recorded before the
 * kernel maps it; if the kernel refuses, the record and the IOVA go again.
 *
 * Return: 0; -EINVAL (NULL, empty, unaligned, no access flag), -EEXIST,
 * -ENOSPC (no IOVA below the DMA limit), or the kernel's error, explained.
 */
IOMMUFD_API int ioas_map(struct ioas *ioas, void *vaddr, uint64_t length, unsigned int access,
			 uint64_t *iova);
/**
 * ioas_map_identity() - map a buffer at IOVA = its virtual address.
 * @ioas: the ioas.
 * @vaddr: the buffer, aligned to the granule.
 * @length: bytes, a multiple of the granule.
 * @access: IOMMUFD_MAP_READ and/or IOMMUFD_MAP_WRITE.
 *
 * For drivers that want identity addresses; undo with ioas_unmap() at
 * @vaddr's address. The same buffer mapped twice is refused, not counted.
 *
 * Return: as ioas_map(); -EEXIST also when the IOVA is taken;
 * -EOPNOTSUPP on the no-IOMMU backend.
 */
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
 * @ioas: the ioas.
 * @vaddr: the buffer, as for ioas_map().
 * @length: bytes, as for ioas_map().
 * @access: IOMMUFD_MAP_READ and/or IOMMUFD_MAP_WRITE.
 * @fn: maps [@vaddr, +@length) at the IOVA it is given, or undoes what it
 *      mapped and fails.
 * @arg: passed to @fn.
 * @iova: out, as for ioas_map().
 *
 * Everything else is ioas_map()'s: the same buffer again takes a reference,
 * the IOVA comes from the allocator and goes back if @fn fails, and the
 * mapping is recorded as one. For callers that map in their own way, e.g.
 * in chunks on several threads (the async layer's parallel pinning). On the
 * no-IOMMU backend nothing is mapped and @fn is not called. @fn may use
 * ioas_kernel_map() and ioas_kernel_unmap().
 *
 * Return: as ioas_map(), or what @fn returned.
 */
IOMMUFD_API int ioas_map_with(struct ioas *ioas, void *vaddr, uint64_t length,
			      unsigned int access, ioas_kernel_map_fn fn, void *arg,
			      uint64_t *iova);
/**
 * ioas_kernel_map() - the backend's own kernel map, untracked.
 * @ioas: the ioas.
 * @vaddr: the memory.
 * @length: bytes.
 * @iova: where to map it.
 * @access: IOMMUFD_MAP_READ and/or IOMMUFD_MAP_WRITE.
 *
 * IOMMU_IOAS_MAP at a fixed IOVA, or VFIO_IOMMU_MAP_DMA on a type1
 * container: for ioas_map_with() callbacks.
 *
 * Return: 0, the kernel's error (explained), -EOPNOTSUPP on the no-IOMMU
 * backend, which maps nothing.
 */
IOMMUFD_API int ioas_kernel_map(struct ioas *ioas, void *vaddr, uint64_t length, uint64_t iova,
				unsigned int access);
/**
 * ioas_kernel_unmap() - the backend's own kernel unmap, untracked.
 * @ioas: the ioas.
 * @iova: the start of what to unmap.
 * @length: bytes.
 *
 * Return: as ioas_kernel_map().
 */
IOMMUFD_API int ioas_kernel_unmap(struct ioas *ioas, uint64_t iova, uint64_t length);
/**
 * ioas_get_ctx() - the iommufd context an ioas maps through.
 * @ioas: the ioas.
 *
 * Return: the context (the ioas holds the reference), or NULL for the VFIO
 * group backends (type1, no-IOMMU), where there is no iommufd.
 */
IOMMUFD_API struct iommufd_ctx *ioas_get_ctx(const struct ioas *ioas);

/**
 * ioas_unmap() - drop a reference on the mapping that starts at @iova.
 * @ioas: the ioas.
 * @iova: the IOVA ioas_map() returned.
 *
 * The last reference unmaps it and gives the IOVA back. If the kernel
 * refuses to unmap, the mapping stays recorded with one reference.
 *
 * Return: 0; -ENOENT (explained) if no mapping starts at @iova; the kernel's
 * error.
 */
IOMMUFD_API int ioas_unmap(struct ioas *ioas, uint64_t iova);
/**
 * ioas_unmap_vaddr() - ioas_unmap() by the buffer's start address.
 * @ioas: the ioas.
 * @vaddr: the buffer ioas_map() was given.
 *
 * Return: as ioas_unmap(); -ENOENT when no mapped buffer holds @vaddr,
 * -EINVAL when @vaddr is inside one but not its start.
 */
IOMMUFD_API int ioas_unmap_vaddr(struct ioas *ioas, void *vaddr);

/**
 * ioas_vaddr_to_iova() - where the device sees the byte at @vaddr.
 * @ioas: the ioas.
 * @vaddr: any address inside a mapped buffer.
 * @iova: out.
 *
 * Return: 0; -ENOENT (explained) when no mapped buffer holds @vaddr.
 */
IOMMUFD_API int ioas_vaddr_to_iova(struct ioas *ioas, const void *vaddr, uint64_t *iova);
/**
 * ioas_iova_to_vaddr() - the byte of memory behind @iova.
 * @ioas: the ioas.
 * @iova: any IOVA inside a mapping.
 * @vaddr: out.
 *
 * Return: 0; -ENOENT (explained) when no mapping holds @iova.
 */
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
 * @opts: optional, may be NULL: the backend, a DMA limit.
 * @ret: the new ioas, which owns the device.
 * @device_fd: out, its VFIO device fd (regions, IRQs, reset), owned by *@ret.
 *
 * Opens the device on the chosen backend and returns a struct ioas for its
 * DMA: the same ioas_map()/ioas_dma_alloc() calls work on all three. With
 * IOAS_BACKEND_NOIOMMU there is no protection at all: the device can reach
 * any memory (VFIO's enable_unsafe_noiommu_mode); buffers get their physical
 * address as IOVA, must be physically contiguous (use hugetlb memory), and
 * need root. IOAS_BACKEND=iommufd|type1|noiommu in the environment chooses
 * one when @opts leaves the choice open (IOAS_BACKEND_AUTO).
 *
 * Return: 0; -ENODEV when the device is not bound to vfio-pci, has no IOMMU
 * group, or its group does not suit the backend; -EBUSY when another device
 * of its group is on a host driver; the errors of the backend's set-up.
 * Everything opened is closed again on failure.
 */
IOMMUFD_API int ioas_open_device(const char *bdf, const struct ioas_open_opts *opts,
				 struct ioas **ret, int *device_fd);
/**
 * ioas_backend_name() - which backend an ioas maps through.
 * @ioas: the ioas.
 *
 * Return: "iommufd", "type1" or "noiommu"; "" for NULL.
 */
IOMMUFD_API const char *ioas_backend_name(const struct ioas *ioas);

/**
 * ioas_get_tracker() - the tracker that records the ioas's mappings.
 * @ioas: the ioas.
 *
 * For lookups and statistics; adding or removing through it bypasses the
 * ioas (nothing is mapped or unmapped).
 *
 * Return: the tracker, owned by @ioas; NULL for NULL.
 */
IOMMUFD_API struct ioas_tracker *ioas_get_tracker(struct ioas *ioas);
/**
 * ioas_get_allocator() - the allocator the ioas takes its IOVAs from.
 * @ioas: the ioas.
 *
 * For statistics, and to reserve windows the ioas must not use.
 *
 * Return: the allocator, owned by @ioas; NULL for NULL.
 */
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

/**
 * ioas_dma_alloc() - memory for DMA, mapped at an allocated IOVA.
 * @ioas: the ioas to map it in.
 * @size: bytes, rounded up to the page size used.
 * @opts: optional, may be NULL: enum ioas_dma_flags (huge pages, memfd,
 *        read-only for the device).
 * @ret: the buffer.
 *
 * The memory is faulted in and pinned by the map: the device may DMA any
 * time. Everything is undone on failure.
 *
 * Return: 0; -EINVAL for 0 bytes or bad flags; the mmap() or memfd error
 * (explained, with the free huge pages when those ran out); as ioas_map().
 */
IOMMUFD_API int ioas_dma_alloc(struct ioas *ioas, uint64_t size, const struct ioas_dma_opts *opts,
			       struct ioas_dma_buf **ret);
/**
 * ioas_dma_free() - unmap a DMA buffer, then release its memory.
 * @ioas: the ioas it was mapped in (NULL: release only).
 * @buf: the buffer, or NULL.
 *
 * Unmaps first: the device may still DMA until then. When the unmap fails,
 * nothing is released: the device could still reach the memory.
 *
 * Return: NULL; or @buf, still mapped and allocated, when the unmap failed
 * (errno and iommufd_last_error() say why): call again, or ioas_free() the
 * IOAS and then ioas_dma_free(NULL, @buf). When the IOMMU unmap worked but
 * munmap() did not (ENOMEM, twice), the buffer is mapped again and @buf
 * returned, as it was (its IOVA may differ): call again. Should that map
 * fail too, @buf is no longer mapped: release it with ioas_dma_free(NULL, @buf).
 */
IOMMUFD_API struct ioas_dma_buf *ioas_dma_free(struct ioas *ioas, struct ioas_dma_buf *buf);

#ifdef __cplusplus
}
#endif

#endif /* IOMMUFD_IOAS_H */
