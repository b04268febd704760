/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libiommufd-async: DMA set-up requests completed on an io_uring.
 *
 * The kernel has no io_uring command for iommufd, so requests (map, unmap,
 * copy, DMA buffer alloc+map) run on a pool of worker threads, which post
 * each completion to the caller's ring with IORING_OP_MSG_RING: a program
 * waits for DMA set-up, device interrupts and its own I/O in one place.
 * A large map is split into chunks pinned on several workers at once.
 *
 *   struct iommufd_async *a;
 *   iommufd_async_new(&ring, NULL, &a);
 *   sqe = iommufd_async_get_sqe(a);
 *   iommufd_async_prep_map(sqe, ioas, buf, len, IOMMUFD_MAP_RW, &iova);
 *   iommufd_async_sqe_set_data(sqe, 42);
 *   iommufd_async_submit(a);
 *   io_uring_wait_cqe(&ring, &cqe);  // user_data 42, res 0 or -errno
 *
 * Link with -liommufd-async -liommufd -luring (pkg-config libiommufd-async).
 */
#ifndef IOMMUFD_ASYNC_H
#define IOMMUFD_ASYNC_H

#include <stdbool.h>
#include <stdint.h>

#include <iommufd/ioas.h>
#include <iommufd/iommufd.h>

#ifdef __cplusplus
extern "C" {
#endif

struct io_uring;
struct iommufd_async;
/* One request being prepared: from iommufd_async_get_sqe() to _submit(). */
struct iommufd_async_sqe;

enum iommufd_async_flags {
	/* Run every request in the submitting thread (no workers, no ring). */
	IOMMUFD_ASYNC_SYNC = 1 << 0,
	/* Hand every request to the workers, however small (see inline_max). */
	IOMMUFD_ASYNC_NO_INLINE = 1 << 1,
};

struct iommufd_async_opts {
	size_t sz;
	/* Requests taken and not yet completed (and, without a ring of the
	 * caller's, not yet reaped); iommufd_async_get_sqe() answers NULL
	 * beyond it. 0: 128. */
	unsigned int queue_depth;
	/* Worker threads. 0: the CPUs this process may run on, at most 64. */
	unsigned int workers;
	/* Maps of at least this many bytes are pinned in chunks on all
	 * workers at once. 0: 64 MiB; UINT64_MAX: never split. */
	uint64_t split_threshold;
	/* Chunk size of a split map, a multiple of 2 MiB. 0: chosen from
	 * the length and the number of workers. */
	uint64_t chunk_size;
	/* Requests on at most this many bytes run in the submitting thread
	 * when nothing earlier holds them back, completing on the ring all
	 * the same: handing a 4 KiB map to a worker costs more than the map
	 * (io_uring itself issues what will not block inline). 0: 64 KiB. */
	uint64_t inline_max;
	unsigned int flags;	/* enum iommufd_async_flags */
};

/**
 * iommufd_async_new() - start the worker pool.
 * @ring: the caller's ring, where every completion is posted; NULL for a
 *        ring of the layer's own, read with iommufd_async_wait_cqe().
 *
 * With @ring NULL and io_uring unavailable (a kernel without it, or
 * kernel.io_uring_disabled set; not a ring that could not be made for
 * lack of memory, which is returned), or with IOMMUFD_ASYNC_SYNC, or with
 * IOMMUFD_ASYNC=sync in the environment, requests run synchronously in
 * iommufd_async_submit() and complete through iommufd_async_wait_cqe():
 * the same program works either way, iommufd_async_describe() says which
 * and why. With a @ring given, io_uring is there: a kernel without
 * IORING_OP_MSG_RING (before 5.18) is refused with -EOPNOTSUPP.
 */
IOMMUFD_API int iommufd_async_new(struct io_uring *ring, const struct iommufd_async_opts *opts,
				  struct iommufd_async **ret);
/*
 * Cancel what has not started (each gets its -ECANCELED completion), wait
 * for what runs, stop the workers. Takes NULL; returns NULL.
 */
IOMMUFD_API struct iommufd_async *iommufd_async_free(struct iommufd_async *a);

/* True when requests run synchronously (see iommufd_async_new()). */
IOMMUFD_API bool iommufd_async_is_sync(const struct iommufd_async *a);
/* One sentence: the mode, the workers, and why the synchronous fallback. */
IOMMUFD_API const char *iommufd_async_describe(const struct iommufd_async *a);

/* ------------------------------------------------------------------------ */
/* Requests                                                                 */
/* ------------------------------------------------------------------------ */

/*
 * A request slot, or NULL with errno EBUSY when queue_depth requests are
 * outstanding: reap completions, then try again. Thread safe; the slot
 * belongs to the calling thread until its iommufd_async_submit().
 */
IOMMUFD_API struct iommufd_async_sqe *iommufd_async_get_sqe(struct iommufd_async *a);

/*
 * Map a buffer at an IOVA the ioas allocator picks (ioas_map()): *@iova is
 * written before the completion is posted. From split_threshold up, pinned
 * in chunks on every worker; still one mapping, one completion, and on any
 * chunk failing, nothing left mapped and the first error in the completion.
 */
IOMMUFD_API void iommufd_async_prep_map(struct iommufd_async_sqe *sqe, struct ioas *ioas,
					void *vaddr, uint64_t length, unsigned int access,
					uint64_t *iova);
/* ioas_unmap(): drop the mapping that starts at @iova. */
IOMMUFD_API void iommufd_async_prep_unmap(struct iommufd_async_sqe *sqe, struct ioas *ioas,
					  uint64_t iova);
/* ioas_unmap_vaddr(): by the buffer's address, usable before its map completed. */
IOMMUFD_API void iommufd_async_prep_unmap_vaddr(struct iommufd_async_sqe *sqe,
						struct ioas *ioas, void *vaddr);
/* iommufd_ioas_copy(): @dst_iova in/out as there. */
IOMMUFD_API void iommufd_async_prep_copy(struct iommufd_async_sqe *sqe, struct iommufd_ctx *ctx,
					 uint32_t dst_ioas_id, uint64_t *dst_iova,
					 uint32_t src_ioas_id, uint64_t src_iova, uint64_t length,
					 unsigned int flags);
/* ioas_dma_alloc(): *@buf is set before the completion is posted. @opts may be NULL. */
IOMMUFD_API void iommufd_async_prep_dma_alloc(struct iommufd_async_sqe *sqe, struct ioas *ioas,
					      uint64_t size, const struct ioas_dma_opts *opts,
					      struct ioas_dma_buf **buf);
/* ioas_dma_free(); a failed unmap completes with its errno and frees nothing. */
IOMMUFD_API void iommufd_async_prep_dma_free(struct iommufd_async_sqe *sqe, struct ioas *ioas,
					     struct ioas_dma_buf *buf);
/* The completion's user_data. */
IOMMUFD_API void iommufd_async_sqe_set_data(struct iommufd_async_sqe *sqe, uint64_t user_data);

/*
 * Queue every slot this thread prepared since its last submit. Requests
 * run in any order on the workers, except that one touching a virtual or
 * IOVA range of the same ioas as an earlier one (a map, then an unmap of
 * that buffer) waits for it. Return: how many were queued.
 */
IOMMUFD_API int iommufd_async_submit(struct iommufd_async *a);

/*
 * Cancel the queued requests with @user_data that have not started: each
 * completes with -ECANCELED. Return: how many, or -EALREADY if all such
 * requests already started, -ENOENT if none is outstanding.
 */
IOMMUFD_API int iommufd_async_cancel(struct iommufd_async *a, uint64_t user_data);

/*
 * Why the request with @user_data failed: the explanation iommufd_last_error()
 * gave in the worker. Kept for the last 64 failures; "" when unknown.
 */
IOMMUFD_API const char *iommufd_async_explain(struct iommufd_async *a, uint64_t user_data,
					      char *buf, size_t len);

/* ------------------------------------------------------------------------ */
/* Completions without a ring of the caller's                               */
/* ------------------------------------------------------------------------ */

struct iommufd_async_cqe {
	uint64_t user_data;
	int32_t res;		/* 0, a negative errno, or (events) the poll mask */
	uint32_t flags;		/* IORING_CQE_F_MORE: the event watch stays armed */
};

/*
 * Wait for the next completion (own ring or synchronous mode; one thread
 * reaps). Return 0, -ENOENT when nothing is outstanding, -EINVAL when the
 * completions go to the caller's ring.
 */
IOMMUFD_API int iommufd_async_wait_cqe(struct iommufd_async *a, struct iommufd_async_cqe *cqe);
/* The same, without waiting: -EAGAIN when none is ready. */
IOMMUFD_API int iommufd_async_peek_cqe(struct iommufd_async *a, struct iommufd_async_cqe *cqe);

/* ------------------------------------------------------------------------ */
/* Device events                                                            */
/* ------------------------------------------------------------------------ */

/**
 * iommufd_async_watch_eventfd() - complete on the ring whenever @efd fires.
 *
 * Arms a multishot poll of @efd (a device interrupt's eventfd, see
 * iommufd_device_irq_enable()) on the ring: each interrupt posts a
 * completion with @user_data, res the poll mask and IORING_CQE_F_MORE while
 * the watch stays armed. Read the eventfd (glibc's eventfd_read()) to clear
 * it. Call from the thread that submits to the ring: this submits to
 * it. -EOPNOTSUPP in synchronous mode.
 *
 * io_uring ends a multishot watch whose completion finds the completion
 * queue full: that completion comes without IORING_CQE_F_MORE. Reap every
 * completion a wake-up brings, and watch again after one without the flag.
 */
IOMMUFD_API int iommufd_async_watch_eventfd(struct iommufd_async *a, int efd,
					    uint64_t user_data);
/* Stop the watch with @user_data; its last completion has no IORING_CQE_F_MORE. */
IOMMUFD_API int iommufd_async_unwatch_eventfd(struct iommufd_async *a, uint64_t user_data);
/*
 * glibc's eventfd_read() as a count: interrupts since the last read, 0 for
 * none on a non-blocking eventfd, or -errno. Kept for 0.1 callers.
 */
IOMMUFD_API int64_t iommufd_async_eventfd_ack(int efd);

/* ------------------------------------------------------------------------ */
/* Parallel pinning without the queue                                       */
/* ------------------------------------------------------------------------ */

/**
 * iommufd_map_parallel() - one iommufd_ioas_map() at a fixed IOVA, pinned
 * on @threads threads at once in chunks of @chunk bytes (0: chosen).
 *
 * The core's iommufd_ioas_map_parallel() with those two options, kept for
 * callers of libiommufd-async 0.1. Return 0, or the first chunk's error with
 * every chunk already mapped unmapped again.
 */
IOMMUFD_API int iommufd_map_parallel(struct iommufd_ctx *ctx, uint32_t ioas_id, void *vaddr,
				     uint64_t length, uint64_t iova, unsigned int access,
				     unsigned int threads, uint64_t chunk);

#ifdef __cplusplus
}
#endif

#endif /* IOMMUFD_ASYNC_H */
