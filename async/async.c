// SPDX-License-Identifier: LGPL-2.1-or-later
/* The async object: mode, worker pool, request slots, submit, cancel, reaping. */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/eventfd.h>

#include "internal.h"

#define POST_BATCH 32

static unsigned int usable_cpus(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 1;
	n = CPU_COUNT(&set);
	return n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : n;
}

/* Why io_uring cannot be had, in words: the setup error and the sysctl. */
static void explain_no_uring(char *buf, size_t len, int err)
{
	char val[16] = "";
	FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "re");

	if (f) {
		if (!fgets(val, sizeof(val), f))
			val[0] = '\0';
		fclose(f);
		val[strcspn(val, "\n")] = '\0';
	}
	if (err == -ENOSYS)
		snprintf(buf, len, "synchronous: this kernel has no io_uring (io_uring_setup: %s)",
			 strerror(-err));
	else if (val[0] && strcmp(val, "0"))
		snprintf(buf, len, "synchronous: io_uring is disabled (kernel.io_uring_disabled = %s; "
			 "io_uring_setup: %s)", val, strerror(-err));
	else
		snprintf(buf, len, "synchronous: io_uring_setup failed: %s", strerror(-err));
}

/* 0, -EOPNOTSUPP (no IORING_OP_MSG_RING), or -ENOMEM (the probe could not be made). */
static int check_msg_ring(struct io_uring *ring)
{
	struct io_uring_probe *p = io_uring_get_probe_ring(ring);
	bool ok = p && io_uring_opcode_supported(p, IORING_OP_MSG_RING);

	if (!p)
		return -ENOMEM;		/* MSG_RING (5.18) came long after the probe (5.6) */
	io_uring_free_probe(p);
	return ok ? 0 : -EOPNOTSUPP;
}

/* Does io_uring_setup()'s @err mean this system offers no io_uring at all? */
static bool no_uring_here(int err)
{
	return err == -ENOSYS || err == -EPERM || err == -EACCES || err == -EOPNOTSUPP;
}

/* Choose the mode: the caller's ring, a ring of our own, or synchronous. */
static int choose_mode(struct iommufd_async *a, struct io_uring *ring, unsigned int flags)
{
	const char *env = getenv("IOMMUFD_ASYNC");
	int r;

	if (ring) {
		r = check_msg_ring(ring);
		if (r == -ENOMEM)
			return iommufd_set_last_error(r, "async: out of memory probing the ring's "
						      "opcodes");
		if (r)
			return iommufd_set_last_error(-EOPNOTSUPP,
				"async: this kernel has no IORING_OP_MSG_RING (5.18+), so workers "
				"cannot post to the caller's ring; pass no ring for the "
				"synchronous mode");
		a->ring = ring;
		return 0;
	}
	if ((flags & IOMMUFD_ASYNC_SYNC) || (env && !strcmp(env, "sync"))) {
		a->sync = true;
		snprintf(a->description, sizeof(a->description), "synchronous: asked for (%s)",
			 flags & IOMMUFD_ASYNC_SYNC ? "IOMMUFD_ASYNC_SYNC" : "IOMMUFD_ASYNC=sync");
		return 0;
	}
	r = io_uring_queue_init(64, &a->own_ring, 0);
	if (r == 0) {
		r = check_msg_ring(&a->own_ring);
		if (r == 0) {
			a->has_own_ring = true;
			a->ring = &a->own_ring;
			a->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			if (a->wake_fd < 0)
				return iommufd_set_last_error(-errno, "async: the eventfd that wakes "
							      "the reaper: %s", strerror(errno));
			return 0;
		}
		io_uring_queue_exit(&a->own_ring);
	}
	/* Synchronous only where there is no io_uring to have, not when it ran out of memory. */
	if (!no_uring_here(r))
		return iommufd_set_last_error(r, "async: cannot make its io_uring: %s (pass "
					      "IOMMUFD_ASYNC_SYNC for the synchronous mode)",
					      strerror(-r));
	a->sync = true;
	explain_no_uring(a->description, sizeof(a->description), r);
	return 0;
}

#define ASYNC_FLAGS_ALL (IOMMUFD_ASYNC_SYNC | IOMMUFD_ASYNC_NO_INLINE)

/* The size rules every opts struct has (shared.h), then the values' own. */
static int check_async_opts(const struct iommufd_async_opts *o)
{
	unsigned int flags = opts_get(o, iommufd_async_opts, flags, 0);
	uint64_t chunk_size = opts_get(o, iommufd_async_opts, chunk_size, 0);
	unsigned int queue_depth = opts_get(o, iommufd_async_opts, queue_depth, 0);
	unsigned int workers = opts_get(o, iommufd_async_opts, workers, 0);
	int r;

	r = check_opts(NULL, o, iommufd_async_opts, flags);
	if (r < 0)
		return r;
	if (flags & ~ASYNC_FLAGS_ALL)
		return iommufd_set_last_error(-EINVAL, "async: unknown flags 0x%x",
					      flags & ~ASYNC_FLAGS_ALL);
	if (chunk_size % (2 * MiB))
		return iommufd_set_last_error(-EINVAL, "async: chunk_size 0x%llx is not a multiple "
					      "of 2 MiB", (unsigned long long)chunk_size);
	if (queue_depth > 65536)
		return iommufd_set_last_error(-EINVAL, "async: queue_depth %u is above 65536",
					      queue_depth);
	if (workers > MAX_WORKERS)
		return iommufd_set_last_error(-EINVAL, "async: %u workers is above %u", workers,
					      MAX_WORKERS);
	return 0;
}

static int start_workers(struct iommufd_async *a)
{
	a->workers = calloc(a->nr_workers, sizeof(*a->workers));
	if (!a->workers)
		return iommufd_set_last_error(-ENOMEM, "async: out of memory for %u workers",
					      a->nr_workers);
	for (unsigned int i = 0; i < a->nr_workers; i++) {
		struct worker *w = &a->workers[i];
		int r;

		w->a = a;
		r = io_uring_queue_init(16, &w->ring, 0);
		if (r < 0)
			return iommufd_set_last_error(r, "async: worker %u's ring: %s", i,
						      strerror(-r));
		w->has_ring = true;
		r = pthread_create(&w->thread, NULL, worker_main, w);
		if (r)
			return iommufd_set_last_error(-r, "async: starting worker %u: %s", i,
						      strerror(r));
		w->started = true;
	}
	return 0;
}

IOMMUFD_API int iommufd_async_new(struct io_uring *ring, const struct iommufd_async_opts *opts,
				  struct iommufd_async **ret)
{
	struct iommufd_async *a;
	unsigned int flags;
	int r;

	if (!ret)
		return iommufd_set_last_error(-EINVAL, "iommufd_async_new: ret is NULL");
	r = check_async_opts(opts);
	if (r < 0)
		return r;
	a = calloc(1, sizeof(*a));
	if (!a)
		return iommufd_set_last_error(-ENOMEM, "async: out of memory for the context");
	req_init(a);
	a->wake_fd = -1;
	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_init(&a->explain_lock, NULL);
	pthread_cond_init(&a->work_cond, NULL);
	pthread_cond_init(&a->idle_cond, NULL);
	lend_init(a);
	a->queue_depth = opts_get(opts, iommufd_async_opts, queue_depth, 0) ?: DEFAULT_QUEUE_DEPTH;
	a->nr_workers = opts_get(opts, iommufd_async_opts, workers, 0) ?: usable_cpus();
	a->split_threshold = opts_get(opts, iommufd_async_opts, split_threshold, 0)
				     ?: DEFAULT_SPLIT_THRESHOLD;
	a->chunk_size = opts_get(opts, iommufd_async_opts, chunk_size, 0);
	a->inline_max = opts_get(opts, iommufd_async_opts, inline_max, 0) ?: DEFAULT_INLINE_MAX;
	flags = opts_get(opts, iommufd_async_opts, flags, 0);
	if (flags & IOMMUFD_ASYNC_NO_INLINE)
		a->inline_max = 0;
	pthread_mutex_init(&a->post_lock, NULL);

	r = choose_mode(a, ring, flags);
	if (r < 0)
		goto err;
	a->slots = calloc(a->queue_depth, sizeof(*a->slots));
	if (!a->slots) {
		r = iommufd_set_last_error(-ENOMEM, "async: out of memory for %u requests",
					   a->queue_depth);
		goto err;
	}
	req_add_slots(a);
	if (!a->sync) {
		r = io_uring_queue_init(POST_BATCH, &a->post_ring, 0);
		if (r < 0) {
			iommufd_set_last_error(r, "async: the ring inline completions are posted "
					       "from: %s", strerror(-r));
			goto err;
		}
		a->has_post_ring = true;
		r = start_workers(a);
		if (r < 0)
			goto err;
		snprintf(a->description, sizeof(a->description),
			 "io_uring: completions posted to %s ring; requests up to %llu KiB run "
			 "in the submitting thread, larger ones on %u worker%s; maps of %llu MiB "
			 "and more pinned on all of them", a->has_own_ring ? "its own" : "the caller's",
			 (unsigned long long)(a->inline_max / 1024), a->nr_workers,
			 a->nr_workers == 1 ? "" : "s", (unsigned long long)(a->split_threshold / MiB));
	}
	*ret = a;
	return 0;
err:
	iommufd_async_free(a);
	return r;
}

IOMMUFD_API struct iommufd_async *iommufd_async_free(struct iommufd_async *a)
{
	struct iommufd_async_sqe *s;

	if (!a)
		return NULL;
	pthread_mutex_lock(&a->lock);
	a->stopping = true;
	TAILQ_FOREACH(s, &a->queue, link)
		s->cancelled = true;
	pthread_cond_broadcast(&a->work_cond);
	pthread_mutex_unlock(&a->lock);
	for (unsigned int i = 0; a->workers && i < a->nr_workers; i++) {
		if (a->workers[i].started)
			pthread_join(a->workers[i].thread, NULL);
		if (a->workers[i].has_ring)
			io_uring_queue_exit(&a->workers[i].ring);
	}
	if (a->has_post_ring)
		io_uring_queue_exit(&a->post_ring);
	if (a->has_own_ring)
		io_uring_queue_exit(&a->own_ring);
	if (a->wake_fd >= 0)
		close(a->wake_fd);
	pthread_mutex_destroy(&a->post_lock);
	pthread_cond_destroy(&a->work_cond);
	pthread_cond_destroy(&a->idle_cond);
	pthread_cond_destroy(&a->lent_cond);
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->explain_lock);
	free(a->workers);
	free(a->slots);
	free(a);
	return NULL;
}

IOMMUFD_API bool iommufd_async_is_sync(const struct iommufd_async *a)
{
	return a && a->sync;
}

IOMMUFD_API const char *iommufd_async_describe(const struct iommufd_async *a)
{
	return a ? a->description : "";
}

IOMMUFD_API struct iommufd_async_sqe *iommufd_async_get_sqe(struct iommufd_async *a)
{
	struct iommufd_async_sqe *s;

	if (!a) {
		errno = EINVAL;
		return NULL;
	}
	pthread_mutex_lock(&a->lock);
	s = req_take(a);
	pthread_mutex_unlock(&a->lock);
	if (!s)
		errno = EBUSY;
	return s;
}

/* Synchronous mode: run this thread's prepared requests now, in order. */
static int submit_sync(struct iommufd_async *a)
{
	struct iommufd_async_sqe *s;
	struct sqe_list mine = TAILQ_HEAD_INITIALIZER(mine);
	int n = 0;

	pthread_mutex_lock(&a->lock);
	req_take_mine(a, &mine);
	while ((s = TAILQ_FIRST(&mine))) {
		req_run_sync(a, &mine, s);
		pthread_mutex_unlock(&a->lock);
		s->res = req_execute(a, s);
		if (s->res < 0)
			record_failure(a, s->user_data, iommufd_last_error());
		pthread_mutex_lock(&a->lock);
		req_done(a, s);
		n++;
	}
	pthread_mutex_unlock(&a->lock);
	return n;
}

/* Small, and nothing earlier touching its ranges still pending: run it here. */
static bool runs_inline(const struct iommufd_async *a, const struct iommufd_async_sqe *s,
			unsigned int batch_len)
{
	return a->inline_max && req_bytes(s) <= a->inline_max &&
	       !dispatch_blocked(a, s, batch_len);
}

/*
 * Run the requests taken inline, in order (they sit on the running list
 * meanwhile, holding back what touches their ranges). Completions go out
 * in batches, each batch's slots freed just before its post.
 */
static void run_inline(struct iommufd_async *a, struct iommufd_async_sqe *first)
{
	struct iommufd_async_sqe *s = first, *batch;
	struct req_key keys[2 * POST_BATCH];
	uint64_t ud[POST_BATCH];
	int res[POST_BATCH];

	while (s) {
		struct posting p = { .keys = keys };
		unsigned int n = 0;

		for (batch = s; s && n < POST_BATCH; s = s->inline_next, n++) {
			res[n] = req_execute(a, s);
			ud[n] = s->user_data;
			if (res[n] < 0)
				record_failure(a, s->user_data, iommufd_last_error());
			for (unsigned int k = 0; k < s->nr_keys; k++)
				keys[p.nr_keys++] = s->keys[k];
		}
		pthread_mutex_lock(&a->lock);
		for (unsigned int i = 0; i < n; i++, batch = batch->inline_next)
			req_finish(a, batch);
		begin_posting(a, &p);
		if (!TAILQ_EMPTY(&a->queue))
			pthread_cond_broadcast(&a->work_cond);
		pthread_mutex_unlock(&a->lock);
		post_many(a, ud, res, n);
		done_posting(a, &p);
	}
}

IOMMUFD_API int iommufd_async_submit(struct iommufd_async *a)
{
	struct iommufd_async_sqe *s;
	struct iommufd_async_sqe *here = NULL, **here_tail = &here;
	struct sqe_list mine = TAILQ_HEAD_INITIALIZER(mine);
	unsigned int queued = 0, inlined = 0;

	if (!a)
		return iommufd_set_last_error(-EINVAL, "iommufd_async_submit: a is NULL");
	if (a->sync)
		return submit_sync(a);
	/* Take this thread's slots; their keys read the ioas trackers, unlocked. */
	pthread_mutex_lock(&a->lock);
	req_take_mine(a, &mine);
	pthread_mutex_unlock(&a->lock);
	TAILQ_FOREACH(s, &mine, link)
		req_compute_keys(s);
	pthread_mutex_lock(&a->lock);
	while ((s = TAILQ_FIRST(&mine))) {
		s->batch = &here;
		if (runs_inline(a, s, inlined)) {
			req_run_inline(a, &mine, s);
			/* A second link for the batch: link is the running list's. */
			s->inline_next = NULL;
			*here_tail = s;
			here_tail = &s->inline_next;
			inlined++;
		} else {
			s->batch = NULL;
			req_queue(a, &mine, s);
			queued++;
		}
	}
	if (queued)
		pthread_cond_broadcast(&a->work_cond);
	pthread_mutex_unlock(&a->lock);
	if (inlined)
		run_inline(a, here);
	return queued + inlined;
}

IOMMUFD_API int iommufd_async_cancel(struct iommufd_async *a, uint64_t user_data)
{
	struct iommufd_async_sqe *s;
	int cancelled = 0, started = 0;

	if (!a)
		return iommufd_set_last_error(-EINVAL, "iommufd_async_cancel: a is NULL");
	pthread_mutex_lock(&a->lock);
	TAILQ_FOREACH(s, &a->queue, link) {
		if (s->user_data != user_data || s->cancelled)
			continue;
		/* A worker completes it with -ECANCELED without running it. */
		s->cancelled = true;
		cancelled++;
	}
	TAILQ_FOREACH(s, &a->running, link)
		started += s->user_data == user_data;
	TAILQ_FOREACH(s, &a->done, link)
		started += s->user_data == user_data;
	if (cancelled)
		pthread_cond_broadcast(&a->work_cond);
	pthread_mutex_unlock(&a->lock);
	if (cancelled)
		return cancelled;
	if (started)
		return iommufd_set_last_error(-EALREADY, "request 0x%llx already started",
					      (unsigned long long)user_data);
	return iommufd_set_last_error(-ENOENT, "no outstanding request 0x%llx",
				      (unsigned long long)user_data);
}

static int reap_sync(struct iommufd_async *a, struct iommufd_async_cqe *cqe)
{
	struct iommufd_async_sqe *s;

	pthread_mutex_lock(&a->lock);
	s = TAILQ_FIRST(&a->done);
	if (s) {
		*cqe = (struct iommufd_async_cqe){ .user_data = s->user_data, .res = s->res };
		req_reaped(a, s);
	}
	pthread_mutex_unlock(&a->lock);
	/* Everything submitted ran in submit: nothing will arrive later. */
	return s ? 0 : -ENOENT;
}

/*
 * The own ring's next CQE. Waiting ends with one, or with -ENOENT once no
 * completion or event can come: unposted drops just after a post lands, so
 * a wait that began while it was not yet 0 is woken through a->wake_fd
 * (wake_reaper()) when it gets there, as when the last watch goes.
 */
static int reap_ring(struct iommufd_async *a, struct iommufd_async_cqe *cqe, bool wait)
{
	struct pollfd fds[2] = {
		{ .fd = a->ring->ring_fd, .events = POLLIN },	/* readable: a CQE */
		{ .fd = a->wake_fd, .events = POLLIN },
	};
	struct io_uring_cqe *c;
	eventfd_t wakes;

	for (;;) {
		/* Taken before the checks: a wake-up after them ends the poll(). */
		eventfd_read(a->wake_fd, &wakes);
		if (io_uring_peek_cqe(a->ring, &c) == 0)
			break;
		if (!wait)
			return -EAGAIN;
		if (!atomic_load(&a->unposted) && !atomic_load(&a->watches)) {
			/* The last post may have landed between the peek and the load. */
			if (io_uring_peek_cqe(a->ring, &c) == 0)
				break;
			return -ENOENT;
		}
		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			return -errno;
	}
	*cqe = (struct iommufd_async_cqe){ .user_data = c->user_data, .res = c->res,
					   .flags = c->flags };
	io_uring_cqe_seen(a->ring, c);
	return 0;
}

static int reap(struct iommufd_async *a, struct iommufd_async_cqe *cqe, bool wait)
{
	if (!a || !cqe)
		return iommufd_set_last_error(-EINVAL, "iommufd_async_%s_cqe: %s is NULL",
					      wait ? "wait" : "peek", a ? "cqe" : "a");
	if (a->sync) {
		int r = reap_sync(a, cqe);

		return r == -ENOENT && !wait ? -EAGAIN : r;
	}
	if (!a->has_own_ring)
		return iommufd_set_last_error(-EINVAL, "async: completions are posted to the "
					      "caller's ring; read them there");
	return reap_ring(a, cqe, wait);
}

IOMMUFD_API int iommufd_async_wait_cqe(struct iommufd_async *a, struct iommufd_async_cqe *cqe)
{
	return reap(a, cqe, true);
}

IOMMUFD_API int iommufd_async_peek_cqe(struct iommufd_async *a, struct iommufd_async_cqe *cqe)
{
	return reap(a, cqe, false);
}

/* libiommufd-async 0.1's name for the core's iommufd_ioas_map_parallel(). */
IOMMUFD_API int iommufd_map_parallel(struct iommufd_ctx *ctx, uint32_t ioas_id, void *vaddr,
				     uint64_t length, uint64_t iova, unsigned int access,
				     unsigned int threads, uint64_t chunk)
{
	IOMMUFD_OPTS(iommufd_parallel_opts, opts, .threads = threads, .chunk = chunk);

	return iommufd_ioas_map_parallel(ctx, ioas_id, vaddr, length, iova, access, &opts);
}
