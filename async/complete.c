// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Completions: a worker gives the slot back first (so a caller that saw the
 * completion can always take a slot again), then posts the CQE to the
 * target ring with IORING_OP_MSG_RING from its own small ring. Failed
 * requests leave their explanation in a short table for
 * iommufd_async_explain().
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sys/eventfd.h>

#include "internal.h"

static void post(struct iommufd_async *a, struct io_uring *wr, uint64_t user_data, int res)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(wr);
	struct io_uring_cqe *cqe;

	/* The worker's ring has one request in flight at most: never full. */
	io_uring_prep_msg_ring(sqe, a->ring->ring_fd, (unsigned int)res, user_data, 0);
	/* Only a failed post gives a CQE on our side. */
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	io_uring_submit(wr);
	while (io_uring_peek_cqe(wr, &cqe) == 0) {
		/* The target ring is gone or full beyond its overflow: say so
		 * where the caller can read it. */
		char text[EXPLANATION_LEN];

		snprintf(text, sizeof(text), "async: posting the completion (res %d) failed: %s",
			 res, strerror(-cqe->res));
		record_failure(a, user_data, text);
		io_uring_cqe_seen(wr, cqe);
	}
}

void begin_posting(struct iommufd_async *a, struct posting *p)
{
	if (!p->nr_keys)
		return;
	p->next = a->posting;
	a->posting = p;
}

void done_posting(struct iommufd_async *a, struct posting *p)
{
	if (!p->nr_keys)
		return;
	pthread_mutex_lock(&a->lock);
	for (struct posting **pp = &a->posting; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	/* What waited for this completion may run now. */
	if (!TAILQ_EMPTY(&a->queue))
		pthread_cond_broadcast(&a->work_cond);
	pthread_mutex_unlock(&a->lock);
}

void complete_req(struct iommufd_async *a, struct io_uring *wr, struct iommufd_async_sqe *s,
		  int res)
{
	uint64_t user_data = s->user_data;
	struct req_key keys[2];
	struct posting p = { .keys = keys, .nr_keys = s->nr_keys };

	memcpy(keys, s->keys, sizeof(keys));
	pthread_mutex_lock(&a->lock);
	req_finish(a, s);
	begin_posting(a, &p);
	pthread_mutex_unlock(&a->lock);
	post(a, wr, user_data, res);
	done_posting(a, &p);
	posted(a, 1);
}

void post_many(struct iommufd_async *a, const uint64_t *user_data, const int *res, unsigned int n)
{
	struct io_uring_cqe *cqe;

	pthread_mutex_lock(&a->post_lock);
	for (unsigned int i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&a->post_ring);

		if (!sqe) {
			io_uring_submit(&a->post_ring);
			sqe = io_uring_get_sqe(&a->post_ring);
		}
		io_uring_prep_msg_ring(sqe, a->ring->ring_fd, (unsigned int)res[i], user_data[i], 0);
		/* Ours too: a failed post is recorded under the request's user_data. */
		io_uring_sqe_set_data64(sqe, user_data[i]);
		sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	}
	io_uring_submit(&a->post_ring);
	while (io_uring_peek_cqe(&a->post_ring, &cqe) == 0) {
		char text[EXPLANATION_LEN];

		snprintf(text, sizeof(text), "async: posting a completion failed: %s",
			 strerror(-cqe->res));
		record_failure(a, cqe->user_data, text);
		io_uring_cqe_seen(&a->post_ring, cqe);
	}
	pthread_mutex_unlock(&a->post_lock);
	posted(a, n);
}

void posted(struct iommufd_async *a, unsigned int n)
{
	if (atomic_fetch_sub(&a->unposted, n) == n)
		wake_reaper(a);
}

void wake_reaper(struct iommufd_async *a)
{
	if (a->wake_fd >= 0)
		eventfd_write(a->wake_fd, 1);
}

void record_failure(struct iommufd_async *a, uint64_t user_data, const char *text)
{
	struct explained *e;

	pthread_mutex_lock(&a->explain_lock);
	e = &a->failures[a->next_failure++ % EXPLAINED_FAILURES];
	e->user_data = user_data;
	snprintf(e->text, sizeof(e->text), "%s", text && text[0] ? text : "(no explanation)");
	pthread_mutex_unlock(&a->explain_lock);
}

IOMMUFD_API const char *iommufd_async_explain(struct iommufd_async *a, uint64_t user_data,
					      char *buf, size_t len)
{
	if (!buf || !len)
		return "";
	buf[0] = '\0';
	if (!a)
		return buf;
	pthread_mutex_lock(&a->explain_lock);
	/* Newest first: a user_data reused later names its latest failure. */
	for (unsigned int i = 1; i <= EXPLAINED_FAILURES && i <= a->next_failure; i++) {
		const struct explained *e =
			&a->failures[(a->next_failure - i) % EXPLAINED_FAILURES];

		if (e->user_data == user_data) {
			snprintf(buf, len, "%s", e->text);
			break;
		}
	}
	pthread_mutex_unlock(&a->explain_lock);
	return buf;
}
