// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The workers: each takes chunks of an open split map first (one request
 * waits on them), then the oldest queued request that no earlier request
 * touching the same range holds back, runs it, and posts its completion.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

static bool keys_overlap(const struct req_key *x, const struct req_key *y)
{
	return x->owner == y->owner && x->space == y->space && x->first <= y->last &&
	       y->first <= x->last;
}

static bool reqs_conflict(const struct iommufd_async_sqe *x, const struct iommufd_async_sqe *y)
{
	for (unsigned int i = 0; i < x->nr_keys; i++)
		for (unsigned int j = 0; j < y->nr_keys; j++)
			if (keys_overlap(&x->keys[i], &y->keys[j]))
				return true;
	return false;
}

bool dispatch_blocked(const struct iommufd_async *a, const struct iommufd_async_sqe *s,
		      unsigned int own)
{
	if (!s->nr_keys)
		return false;
	/* A completion on its way: what overlaps it waits, so CQEs keep order. */
	for (const struct posting *p = a->posting; p; p = p->next)
		for (unsigned int i = 0; i < s->nr_keys; i++)
			for (unsigned int j = 0; j < p->nr_keys; j++)
				if (keys_overlap(&s->keys[i], &p->keys[j]))
					return true;
	/* Only its own batch running (one thread submitting): nothing to check there. */
	for (const struct iommufd_async_sqe *r = a->nr_running > own ? TAILQ_FIRST(&a->running)
								    : NULL;
	     r; r = TAILQ_NEXT(r, link))
		/* Same inline batch: those run one after the other, in order, anyway. */
		if ((!s->batch || r->batch != s->batch) && reqs_conflict(s, r))
			return true;
	for (const struct iommufd_async_sqe *q = TAILQ_FIRST(&a->queue); q && q != s;
	     q = TAILQ_NEXT(q, link))
		if (!q->cancelled && reqs_conflict(s, q))
			return true;
	return false;
}

struct iommufd_async_sqe *dispatch_pick(struct iommufd_async *a)
{
	struct iommufd_async_sqe *s;

	TAILQ_FOREACH(s, &a->queue, link)
		if (s->cancelled || !dispatch_blocked(a, s, 0))
			return s;
	return NULL;
}

void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct iommufd_async *a = w->a;
	struct iommufd_async_sqe *s;
	struct lent *l;
	int res;

	pthread_mutex_lock(&a->lock);
	for (;;) {
		l = lend_join(a);
		if (l) {
			lend_help(a, l);
			continue;
		}
		s = dispatch_pick(a);
		if (s) {
			req_start(a, s);
			pthread_mutex_unlock(&a->lock);
			if (s->cancelled) {
				res = -ECANCELED;
			} else {
				res = req_execute(a, s);
				if (res < 0)
					record_failure(a, s->user_data, iommufd_last_error());
			}
			complete_req(a, &w->ring, s, res);
			pthread_mutex_lock(&a->lock);
			continue;
		}
		if (a->stopping && TAILQ_EMPTY(&a->queue))
			break;
		pthread_cond_wait(&a->work_cond, &a->lock);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}
