/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to async/: requests, the worker pool, split maps, completions.
 *
 * Lock order, outermost first:
 *
 *   1. the ioas's and the core's own locks: a request runs (req_execute())
 *      and computes its keys (the trackers) with no lock of ours held, but
 *      a split map offers itself to the pool (lend.c) and withdraws under
 *      the ioas's map lock;
 *   2. a->lock: the request lists and states (state.c), the lent maps, the
 *      completions being posted. Nothing is taken under it, and it is let go
 *      before a request runs, before a completion is posted and before a
 *      lent map is helped; its condition variables wait on it alone;
 *   3. a->post_lock: the shared ring inline completions are posted from;
 *   4. a->explain_lock, innermost: the table of failures (a failed post is
 *      recorded with post_lock held).
 *
 * a->lock and a->post_lock are never held together.
 */
#ifndef ASYNC_INTERNAL_H
#define ASYNC_INTERNAL_H

#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <iommufd/async.h>

#include "../libiommufd/shared.h"

#define MiB (1ULL << 20)
#define DEFAULT_QUEUE_DEPTH 128
#define DEFAULT_SPLIT_THRESHOLD (64 * MiB)
#define DEFAULT_INLINE_MAX (64 * 1024)
#define MAX_WORKERS 64
#define EXPLAINED_FAILURES 64
#define EXPLANATION_LEN 512

enum req_op {
	OP_NONE,
	OP_MAP,
	OP_UNMAP,
	OP_UNMAP_VADDR,
	OP_COPY,
	OP_DMA_ALLOC,
	OP_DMA_FREE,
};

enum req_state {
	REQ_FREE,	/* on the free list */
	REQ_TAKEN,	/* handed out by get_sqe, being prepared */
	REQ_QUEUED,	/* submitted, not started */
	REQ_RUNNING,
	REQ_DONE,	/* synchronous mode: completed, not yet reaped */
};

/*
 * What a request touches, for ordering: a range in one address space of
 * one handle (the virtual or the IOVA space of an ioas, or an IOAS ID of a
 * context). Requests whose keys overlap run in submission order.
 */
enum key_space { KEY_VA, KEY_IOVA, KEY_RAW_IOAS };

struct req_key {
	const void *owner;	/* the ioas, or the ctx for KEY_RAW_IOAS */
	uint32_t space;		/* enum key_space, or KEY_RAW_IOAS + IOAS ID */
	uint64_t first, last;	/* inclusive */
};

/* The requests in one state (state.c). */
TAILQ_HEAD(sqe_list, iommufd_async_sqe);

struct iommufd_async_sqe {
	TAILQ_ENTRY(iommufd_async_sqe) link;	/* on the list of its state */
	struct iommufd_async_sqe *inline_next;	/* a submit's batch run inline */
	const void *batch;	/* which submit call runs it inline, else NULL */
	enum req_state state;
	enum req_op op;
	bool cancelled;
	pthread_t owner;	/* the thread that took it (submit takes its own) */
	uint64_t seq;		/* submission order */
	uint64_t user_data;
	struct req_key keys[2];
	unsigned int nr_keys;

	struct ioas *ioas;
	struct iommufd_ctx *ctx;
	void *vaddr;
	uint64_t length;
	uint64_t iova;
	uint64_t *iova_out;
	unsigned int access;	/* map access, copy flags */
	uint32_t dst_id, src_id;
	struct ioas_dma_opts dma_opts;
	int opts_err;		/* the caller's dma opts broke the size rules (prep) */
	struct ioas_dma_buf *buf;
	struct ioas_dma_buf **buf_out;
	int res;		/* synchronous mode: the result until reaped */
};

/*
 * Completions on their way to the ring. Their slots are free already (a
 * program that reads the CQE may take the slot at once), but their keys
 * still hold back what overlaps them, so that a request that waited for
 * another never has its CQE arrive first.
 */
struct posting {
	struct posting *next;
	const struct req_key *keys;
	unsigned int nr_keys;
};

/* A parallel map offered to the pool's workers (lend.c). */
struct lent {
	struct iommufd_parallel_map *m;
	unsigned int helpers;		/* workers inside iommufd_parallel_map_help() */
	struct lent *next;
};

struct explained {
	uint64_t user_data;
	char text[EXPLANATION_LEN];
};

/* A worker thread and the small ring it posts completions from. */
struct worker {
	struct iommufd_async *a;
	pthread_t thread;
	struct io_uring ring;
	bool has_ring, started;
};

struct iommufd_async {
	struct io_uring *ring;		/* where completions go (the caller's or own) */
	struct io_uring own_ring;
	bool has_own_ring;
	bool sync;
	char description[256];
	unsigned int queue_depth;
	unsigned int nr_workers;
	uint64_t split_threshold, chunk_size;
	uint64_t inline_max;		/* 0: nothing runs inline */

	/* Inline completions are posted from here, by any submitting thread. */
	pthread_mutex_t post_lock;
	struct io_uring post_ring;
	bool has_post_ring;

	pthread_mutex_t lock;		/* everything below */
	pthread_cond_t work_cond;	/* a request or a split chunk to take */
	pthread_cond_t idle_cond;	/* a request finished (for free()) */
	struct iommufd_async_sqe *slots;
	struct sqe_list free_list, taken, queue, running, done;
	unsigned int nr_running;	/* on the running list */
	unsigned int outstanding;	/* slots not on the free list */
	uint64_t next_seq;
	atomic_uint unposted;		/* submitted, completion not yet posted */
	atomic_uint watches;		/* armed eventfd watches */
	int wake_fd;			/* own ring: both reached 0 (wake_reaper()) */
	struct lent *lent;		/* parallel maps offered to the workers */
	pthread_cond_t lent_cond;	/* a worker left a lent map */
	struct iommufd_map_lender lender;
	struct posting *posting;	/* completions being posted */
	bool stopping;
	struct worker *workers;

	pthread_mutex_t explain_lock;
	struct explained failures[EXPLAINED_FAILURES];
	unsigned int next_failure;
};

/*
 * state.c: every change of a request's state and list, with a->lock held.
 * @mine is a submitting thread's own list of the requests it took.
 */
void req_init(struct iommufd_async *a);		/* the lists, empty */
void req_add_slots(struct iommufd_async *a);	/* a->slots, all FREE */
/* FREE -> TAKEN, for the calling thread; NULL when every slot is out. */
struct iommufd_async_sqe *req_take(struct iommufd_async *a);
/* The calling thread's TAKEN requests, in order, moved to @mine. */
void req_take_mine(struct iommufd_async *a, struct sqe_list *mine);
/* TAKEN -> QUEUED, for a worker. */
void req_queue(struct iommufd_async *a, struct sqe_list *mine, struct iommufd_async_sqe *s);
/* TAKEN -> RUNNING in the submitting thread (an inline batch). */
void req_run_inline(struct iommufd_async *a, struct sqe_list *mine, struct iommufd_async_sqe *s);
/* QUEUED -> RUNNING on a worker. */
void req_start(struct iommufd_async *a, struct iommufd_async_sqe *s);
/* RUNNING -> FREE: the slot goes back before the completion is posted. */
void req_finish(struct iommufd_async *a, struct iommufd_async_sqe *s);
/* Synchronous mode: TAKEN -> RUNNING (on no list) -> DONE -> FREE when reaped. */
void req_run_sync(struct iommufd_async *a, struct sqe_list *mine, struct iommufd_async_sqe *s);
void req_done(struct iommufd_async *a, struct iommufd_async_sqe *s);
void req_reaped(struct iommufd_async *a, struct iommufd_async_sqe *s);

/* complete.c: with a->lock held, hold back what overlaps @p until done_posting(). */
void begin_posting(struct iommufd_async *a, struct posting *p);
void done_posting(struct iommufd_async *a, struct posting *p);

/* requests.c: run one request in the calling thread, 0 or -errno. */
int req_execute(struct iommufd_async *a, struct iommufd_async_sqe *s);
/* The ordering keys of a prepared request. */
void req_compute_keys(struct iommufd_async_sqe *s);
/* How many bytes the request works on (what inline_max is compared with). */
uint64_t req_bytes(const struct iommufd_async_sqe *s);

/* dispatch.c */
void *worker_main(void *arg);
/* With a->lock held: the first queued request nothing earlier blocks. */
struct iommufd_async_sqe *dispatch_pick(struct iommufd_async *a);
/*
 * With a->lock held: is @s held back by a running or an earlier queued
 * request? @own: how many of the running are @s's own inline batch.
 */
bool dispatch_blocked(const struct iommufd_async *a, const struct iommufd_async_sqe *s,
		      unsigned int own);

/* lend.c: the workers pin chunks of large maps (iommufd_ioas_map_parallel()). */
void lend_init(struct iommufd_async *a);
/* With a->lock held: a lent map with chunks left, joined as a helper, or NULL. */
struct lent *lend_join(struct iommufd_async *a);
/* Help @l with a->lock held (dropped while helping). */
void lend_help(struct iommufd_async *a, struct lent *l);

/* complete.c */
/* @s ran with @res: give its slot back, then post its completion from @wr. */
void complete_req(struct iommufd_async *a, struct io_uring *wr, struct iommufd_async_sqe *s,
		  int res);
/* Post @n completions at once from the shared post ring. */
void post_many(struct iommufd_async *a, const uint64_t *user_data, const int *res, unsigned int n);
void record_failure(struct iommufd_async *a, uint64_t user_data, const char *text);
/* @n completions posted (or failed to): the reaper learns when none is left. */
void posted(struct iommufd_async *a, unsigned int n);
/* A reaper waiting on the own ring looks again at what is outstanding. */
void wake_reaper(struct iommufd_async *a);

#endif
