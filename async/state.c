// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The request state machine: the only file that changes a request's state
 * or moves it between the lists, each list holding the requests of one
 * state (the running list also holds a submit's inline batch):
 *
 *   FREE --get_sqe--> TAKEN --submit--> QUEUED --worker--> RUNNING --> FREE
 *                       |                                    ^
 *                       +--submit, small and not held back---+
 *                       |
 *                       +--submit, synchronous mode--> RUNNING --> DONE --reap--> FREE
 *
 * A slot goes back to FREE before its completion is posted, so a program
 * that has read the CQE can always take a slot again. Every function here
 * runs with a->lock held.
 */
#include <assert.h>

#include "internal.h"

void req_init(struct iommufd_async *a)
{
	TAILQ_INIT(&a->free_list);
	TAILQ_INIT(&a->taken);
	TAILQ_INIT(&a->queue);
	TAILQ_INIT(&a->running);
	TAILQ_INIT(&a->done);
}

void req_add_slots(struct iommufd_async *a)
{
	for (unsigned int i = 0; i < a->queue_depth; i++) {
		a->slots[i].state = REQ_FREE;
		TAILQ_INSERT_TAIL(&a->free_list, &a->slots[i], link);
	}
}

struct iommufd_async_sqe *req_take(struct iommufd_async *a)
{
	struct iommufd_async_sqe *s = TAILQ_FIRST(&a->free_list);

	if (!s)
		return NULL;
	assert(s->state == REQ_FREE);
	TAILQ_REMOVE(&a->free_list, s, link);
	TAILQ_INSERT_TAIL(&a->taken, s, link);
	a->outstanding++;
	s->state = REQ_TAKEN;
	s->batch = NULL;
	s->owner = pthread_self();
	s->op = OP_NONE;
	s->cancelled = false;
	s->user_data = 0;
	s->nr_keys = 0;
	return s;
}

void req_take_mine(struct iommufd_async *a, struct sqe_list *mine)
{
	struct iommufd_async_sqe *s, *next;

	for (s = TAILQ_FIRST(&a->taken); s; s = next) {
		next = TAILQ_NEXT(s, link);
		if (!pthread_equal(s->owner, pthread_self()))
			continue;
		TAILQ_REMOVE(&a->taken, s, link);
		TAILQ_INSERT_TAIL(mine, s, link);
	}
}

/* Submitted: numbered in submission order, its completion now awaited. */
static void submitted(struct iommufd_async *a, struct sqe_list *mine,
		      struct iommufd_async_sqe *s)
{
	assert(s->state == REQ_TAKEN);
	TAILQ_REMOVE(mine, s, link);
	s->seq = a->next_seq++;
	atomic_fetch_add(&a->unposted, 1);
}

void req_queue(struct iommufd_async *a, struct sqe_list *mine, struct iommufd_async_sqe *s)
{
	submitted(a, mine, s);
	s->state = REQ_QUEUED;
	TAILQ_INSERT_TAIL(&a->queue, s, link);
}

void req_run_inline(struct iommufd_async *a, struct sqe_list *mine, struct iommufd_async_sqe *s)
{
	submitted(a, mine, s);
	s->state = REQ_RUNNING;
	TAILQ_INSERT_TAIL(&a->running, s, link);
	a->nr_running++;
}

void req_start(struct iommufd_async *a, struct iommufd_async_sqe *s)
{
	assert(s->state == REQ_QUEUED);
	TAILQ_REMOVE(&a->queue, s, link);
	s->state = REQ_RUNNING;
	TAILQ_INSERT_TAIL(&a->running, s, link);
	a->nr_running++;
}

static void release_slot(struct iommufd_async *a, struct iommufd_async_sqe *s)
{
	s->state = REQ_FREE;
	s->op = OP_NONE;
	TAILQ_INSERT_TAIL(&a->free_list, s, link);
	a->outstanding--;
}

void req_finish(struct iommufd_async *a, struct iommufd_async_sqe *s)
{
	assert(s->state == REQ_RUNNING);
	TAILQ_REMOVE(&a->running, s, link);
	a->nr_running--;
	release_slot(a, s);
}

void req_run_sync(struct iommufd_async *a, struct sqe_list *mine, struct iommufd_async_sqe *s)
{
	assert(s->state == REQ_TAKEN);
	TAILQ_REMOVE(mine, s, link);
	s->state = REQ_RUNNING;
}

void req_done(struct iommufd_async *a, struct iommufd_async_sqe *s)
{
	assert(s->state == REQ_RUNNING);
	s->state = REQ_DONE;
	TAILQ_INSERT_TAIL(&a->done, s, link);
}

void req_reaped(struct iommufd_async *a, struct iommufd_async_sqe *s)
{
	assert(s->state == REQ_DONE);
	TAILQ_REMOVE(&a->done, s, link);
	release_slot(a, s);
}
