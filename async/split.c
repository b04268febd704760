// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Parallel pinning. Mapping memory is slow because the kernel faults in and
 * pins every page inside IOMMU_IOAS_MAP; two maps at disjoint IOVAs pin in
 * parallel. A large map is cut into chunks (2 MiB multiples, so huge pages
 * stay whole) that any thread claims from an atomic counter: the owner,
 * pool workers that join (split_map() with a pool), or threads started for
 * this map alone (iommufd_map_parallel()). If a chunk fails, the others
 * stop claiming, and the owner unmaps the chunks that did map.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define CHUNK_ALIGN (2 * MiB)
#define MIN_CHUNK (16 * MiB)

/* Enough chunks per thread that one slow chunk does not leave the others idle. */
static uint64_t pick_chunk(uint64_t length, unsigned int threads, uint64_t chunk)
{
	if (!chunk) {
		chunk = length / (16ULL * threads);
		if (chunk < MIN_CHUNK)
			chunk = MIN_CHUNK;
	}
	return (chunk + CHUNK_ALIGN - 1) & ~(CHUNK_ALIGN - 1);
}

void split_work(struct split *s)
{
	for (;;) {
		unsigned int i = atomic_fetch_add(&s->next_chunk, 1);
		uint64_t off, len, iova;
		bool failed;
		int r = 0;

		if (i >= s->nr_chunks)
			return;
		off = (uint64_t)i * s->chunk;
		len = s->length - off < s->chunk ? s->length - off : s->chunk;
		iova = s->iova + off;
		pthread_mutex_lock(&s->lock);
		failed = s->err != 0;
		pthread_mutex_unlock(&s->lock);
		if (!failed)
			r = iommufd_ioas_map(s->ctx, s->ioas_id, s->vaddr + off, len, &iova,
					     s->access | IOMMUFD_MAP_FIXED_IOVA);
		pthread_mutex_lock(&s->lock);
		if (!failed && !r) {
			s->mapped[i] = 1;
		} else if (r && !s->err) {
			s->err = r;
			snprintf(s->explanation, sizeof(s->explanation),
				 "chunk %u of %u (IOVA 0x%" PRIx64 ", 0x%" PRIx64 " bytes): %s", i + 1,
				 s->nr_chunks, iova, len, iommufd_last_error());
		}
		if (++s->done == s->nr_chunks)
			pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
	}
}

static void *helper_thread(void *arg)
{
	split_work(arg);
	return NULL;
}

/* Without a pool: threads of this map's own, joined before returning. */
static void run_with_threads(struct split *s, unsigned int threads)
{
	pthread_t tid[MAX_WORKERS];
	unsigned int started = 0;

	for (; started + 1 < threads && started < MAX_WORKERS; started++)
		if (pthread_create(&tid[started], NULL, helper_thread, s))
			break;	/* fewer helpers: the chunks still all get done */
	split_work(s);
	for (unsigned int i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
}

/* With the pool: open the split to idle workers, work, close, wait for helpers. */
static void run_with_pool(struct iommufd_async *a, struct split *s)
{
	struct split **pp;

	pthread_mutex_lock(&a->lock);
	s->next = a->splits;
	a->splits = s;
	pthread_cond_broadcast(&a->work_cond);
	pthread_mutex_unlock(&a->lock);

	split_work(s);

	pthread_mutex_lock(&a->lock);
	for (pp = &a->splits; *pp != s; pp = &(*pp)->next)
		;
	*pp = s->next;
	pthread_mutex_unlock(&a->lock);
	pthread_mutex_lock(&s->lock);
	while (s->done < s->nr_chunks || s->helpers)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
}

static int roll_back(struct split *s)
{
	char undo[128] = "";

	for (unsigned int i = 0; i < s->nr_chunks; i++) {
		uint64_t off = (uint64_t)i * s->chunk;
		uint64_t len = s->length - off < s->chunk ? s->length - off : s->chunk;

		if (s->mapped[i] && iommufd_ioas_unmap(s->ctx, s->ioas_id, s->iova + off, len, NULL))
			snprintf(undo, sizeof(undo), "; and unmapping chunk %u again failed: %s",
				 i + 1, iommufd_last_error());
	}
	return iommufd_set_last_error(s->err, "split map of 0x%" PRIx64 " bytes at IOVA 0x%" PRIx64
				      ": %s%s", s->length, s->iova, s->explanation, undo);
}

int split_map(struct iommufd_async *a, struct iommufd_ctx *ctx, uint32_t ioas_id, void *vaddr,
	      uint64_t length, uint64_t iova, unsigned int access, unsigned int threads,
	      uint64_t chunk)
{
	struct split s = {
		.ctx = ctx, .ioas_id = ioas_id, .vaddr = vaddr, .iova = iova, .length = length,
		.access = access,
	};
	int r = 0;

	if (!ctx || !vaddr || !length)
		return iommufd_set_last_error(-EINVAL, "parallel map: %s",
					      !ctx ? "no iommufd context" : !vaddr ? "NULL buffer"
									    : "0 bytes");
	if (threads < 1)
		threads = 1;
	s.chunk = pick_chunk(length, threads, chunk);
	s.nr_chunks = (length + s.chunk - 1) / s.chunk;
	if (s.nr_chunks < 2) {
		/* Nothing to share. */
		return iommufd_ioas_map(ctx, ioas_id, vaddr, length, &iova,
					access | IOMMUFD_MAP_FIXED_IOVA);
	}
	s.mapped = calloc(s.nr_chunks, 1);
	if (!s.mapped)
		return iommufd_set_last_error(-ENOMEM, "parallel map: %u chunks", s.nr_chunks);
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.cond, NULL);
	if (a)
		run_with_pool(a, &s);
	else
		run_with_threads(&s, threads);
	if (s.err)
		r = roll_back(&s);
	pthread_cond_destroy(&s.cond);
	pthread_mutex_destroy(&s.lock);
	free(s.mapped);
	return r;
}

IOMMUFD_API int iommufd_map_parallel(struct iommufd_ctx *ctx, uint32_t ioas_id, void *vaddr,
				     uint64_t length, uint64_t iova, unsigned int access,
				     unsigned int threads, uint64_t chunk)
{
	if (chunk % CHUNK_ALIGN)
		return iommufd_set_last_error(-EINVAL, "parallel map: chunk 0x%" PRIx64 " is not "
					      "a multiple of 2 MiB", chunk);
	if (threads > MAX_WORKERS)
		threads = MAX_WORKERS;
	return split_map(NULL, ctx, ioas_id, vaddr, length, iova, access, threads, chunk);
}
