// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Device events in the ring: a multishot poll on an interrupt's eventfd, so
 * every interrupt is a completion next to the DMA set-up and the caller's
 * own I/O. Poll rather than read: one armed request serves every interrupt,
 * and the eventfd's counter still says how many there were.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <sys/eventfd.h>

#include "internal.h"

static struct io_uring_sqe *ring_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe && io_uring_submit(ring) >= 0)
		sqe = io_uring_get_sqe(ring);
	return sqe;
}

static int events_usable(struct iommufd_async *a, const char *what)
{
	if (!a)
		return iommufd_set_last_error(-EINVAL, "%s: a is NULL", what);
	if (a->sync)
		return iommufd_set_last_error(-EOPNOTSUPP, "%s: device events need io_uring, and "
					      "this async object is %s; poll the eventfd yourself",
					      what, a->description);
	return 0;
}

/*
 * One SQE on the completion ring, which may be our own and shared by threads:
 * begin_sqe() returns it with a->lock held, or NULL (unlocked, error set) when
 * the submission queue is full; end_sqe() submits it, counts the watch it
 * arms (+1) or removes (-1), and unlocks.
 */
static struct io_uring_sqe *begin_sqe(struct iommufd_async *a, const char *what, int *err)
{
	struct io_uring_sqe *sqe;

	pthread_mutex_lock(&a->lock);
	sqe = ring_sqe(a->ring);
	if (!sqe) {
		pthread_mutex_unlock(&a->lock);
		*err = iommufd_set_last_error(-EBUSY, "%s: the ring's submission queue is full",
					      what);
	}
	return sqe;
}

static int end_sqe(struct iommufd_async *a, const char *what, int watches)
{
	int r = io_uring_submit(a->ring);

	if (r >= 0 && watches > 0)
		atomic_fetch_add(&a->watches, 1);
	else if (r >= 0 && watches < 0 && atomic_load(&a->watches) &&
		 atomic_fetch_sub(&a->watches, 1) == 1)
		wake_reaper(a);
	pthread_mutex_unlock(&a->lock);
	if (r < 0)
		return iommufd_set_last_error(r, "%s: io_uring_submit: %s", what, strerror(-r));
	return 0;
}

IOMMUFD_API int iommufd_async_watch_eventfd(struct iommufd_async *a, int efd, uint64_t user_data)
{
	static const char what[] = "iommufd_async_watch_eventfd";
	struct io_uring_sqe *sqe;
	int r = events_usable(a, what);

	if (r < 0)
		return r;
	if (efd < 0)
		return iommufd_set_last_error(-EBADF, "%s: fd %d", what, efd);
	sqe = begin_sqe(a, what, &r);
	if (!sqe)
		return r;
	io_uring_prep_poll_multishot(sqe, efd, POLLIN);
	io_uring_sqe_set_data64(sqe, user_data);
	return end_sqe(a, what, +1);
}

IOMMUFD_API int iommufd_async_unwatch_eventfd(struct iommufd_async *a, uint64_t user_data)
{
	static const char what[] = "iommufd_async_unwatch_eventfd";
	struct io_uring_sqe *sqe;
	int r = events_usable(a, what);

	if (r < 0)
		return r;
	sqe = begin_sqe(a, what, &r);
	if (!sqe)
		return r;
	io_uring_prep_poll_remove(sqe, user_data);
	/* The watch's own last completion (-ECANCELED, no F_MORE) is the answer. */
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	io_uring_sqe_set_data64(sqe, user_data);
	return end_sqe(a, what, -1);
}

/* Kept for 0.1 callers: glibc's eventfd_read(), with EAGAIN as a count of 0. */
IOMMUFD_API int64_t iommufd_async_eventfd_ack(int efd)
{
	eventfd_t count;

	if (!eventfd_read(efd, &count))
		return (int64_t)count;
	return errno == EAGAIN ? 0 : -errno;
}
