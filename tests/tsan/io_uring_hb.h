/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * io_uring as ThreadSanitizer should see it, for the TSan builds only
 * (tests/tsan/module.mk force-includes this in the async layer and its
 * tests). A completion is posted by one thread's io_uring_submit() (an
 * async worker's IORING_OP_MSG_RING) and reaped by another from the CQ
 * ring; the kernel orders the two (the syscall, then its store-release of
 * the CQ tail, which liburing load-acquires), but TSan sees neither side, so
 * every out-parameter a worker stores before posting (the map's IOVA) is
 * reported as raced by the thread that reaps. Here a submit releases and a
 * reap acquires one object: what a thread did before it submitted happens
 * before what another does after it reaped. What a thread does after its
 * submit stays unordered, so touching a request after posting it, the bug
 * that matters, is still reported.
 */
#ifndef TSAN_IO_URING_HB_H
#define TSAN_IO_URING_HB_H

#include <liburing.h>
#include <sanitizer/tsan_interface.h>

/* One object for every file that includes this: weak definitions merge. */
__attribute__((weak)) char tsan_io_uring_hb;

static inline int tsan_io_uring_submit(struct io_uring *ring)
{
	__tsan_release(&tsan_io_uring_hb);
	return io_uring_submit(ring);
}

static inline int tsan_io_uring_wait_cqe(struct io_uring *ring, struct io_uring_cqe **cqe)
{
	int r = io_uring_wait_cqe(ring, cqe);

	__tsan_acquire(&tsan_io_uring_hb);
	return r;
}

static inline int tsan_io_uring_peek_cqe(struct io_uring *ring, struct io_uring_cqe **cqe)
{
	int r = io_uring_peek_cqe(ring, cqe);

	__tsan_acquire(&tsan_io_uring_hb);
	return r;
}

static inline int tsan_io_uring_wait_cqe_timeout(struct io_uring *ring,
						 struct io_uring_cqe **cqe,
						 struct __kernel_timespec *ts)
{
	int r = io_uring_wait_cqe_timeout(ring, cqe, ts);

	__tsan_acquire(&tsan_io_uring_hb);
	return r;
}

#define io_uring_submit tsan_io_uring_submit
#define io_uring_wait_cqe tsan_io_uring_wait_cqe
#define io_uring_peek_cqe tsan_io_uring_peek_cqe
#define io_uring_wait_cqe_timeout tsan_io_uring_wait_cqe_timeout

#endif
