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

IOMMUFD_API int iommufd_async_watch_eventfd(struct iommufd_async *a, int efd, uint64_t user_data)
{
	struct io_uring_sqe *sqe;
	int r = events_usable(a, "iommufd_async_watch_eventfd");

	if (r < 0)
		return r;
	if (efd < 0)
		return iommufd_set_last_error(-EBADF, "iommufd_async_watch_eventfd: fd %d", efd);
	/* Our own ring may be used from several threads; the caller's is theirs. */
	pthread_mutex_lock(&a->lock);
	sqe = ring_sqe(a->ring);
	if (!sqe) {
		pthread_mutex_unlock(&a->lock);
		return iommufd_set_last_error(-EBUSY, "iommufd_async_watch_eventfd: the ring's "
					      "submission queue is full");
	}
	io_uring_prep_poll_multishot(sqe, efd, POLLIN);
	io_uring_sqe_set_data64(sqe, user_data);
	r = io_uring_submit(a->ring);
	if (r >= 0)
		atomic_fetch_add(&a->watches, 1);
	pthread_mutex_unlock(&a->lock);
	if (r < 0)
		return iommufd_set_last_error(r, "iommufd_async_watch_eventfd: io_uring_submit: %s",
					      strerror(-r));
	return 0;
}

IOMMUFD_API int iommufd_async_unwatch_eventfd(struct iommufd_async *a, uint64_t user_data)
{
	struct io_uring_sqe *sqe;
	int r = events_usable(a, "iommufd_async_unwatch_eventfd");

	if (r < 0)
		return r;
	pthread_mutex_lock(&a->lock);
	sqe = ring_sqe(a->ring);
	if (!sqe) {
		pthread_mutex_unlock(&a->lock);
		return iommufd_set_last_error(-EBUSY, "iommufd_async_unwatch_eventfd: the ring's "
					      "submission queue is full");
	}
	io_uring_prep_poll_remove(sqe, user_data);
	/* The watch's own last completion (-ECANCELED, no F_MORE) is the answer. */
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	io_uring_sqe_set_data64(sqe, user_data);
	r = io_uring_submit(a->ring);
	if (r >= 0 && atomic_load(&a->watches))
		atomic_fetch_sub(&a->watches, 1);
	pthread_mutex_unlock(&a->lock);
	if (r < 0)
		return iommufd_set_last_error(r, "iommufd_async_unwatch_eventfd: io_uring_submit: %s",
					      strerror(-r));
	return 0;
}

IOMMUFD_API int64_t iommufd_async_eventfd_ack(int efd)
{
	uint64_t count;
	ssize_t n = read(efd, &count, sizeof(count));

	if (n == sizeof(count))
		return (int64_t)count;
	if (n < 0 && errno == EAGAIN)
		return 0;
	return n < 0 ? -errno : -EIO;
}
