// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Parallel pinning. Mapping memory is slow because the kernel faults in and
 * pins every page inside IOMMU_IOAS_MAP; two maps at disjoint IOVAs pin in
 * parallel. A large map is cut into chunks (2 MiB multiples, so huge pages
 * stay whole) that any thread claims from an atomic counter: the caller,
 * threads started for this map alone, or threads a lender offers it to
 * (libiommufd-async lends its workers). If a chunk fails, the others stop
 * claiming, and the caller unmaps the chunks that did map: one mapping, or
 * none.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

#define MiB (1ULL << 20)
#define CHUNK_ALIGN (2 * MiB)
#define MIN_CHUNK (16 * MiB)
/* Threads one map starts for itself, at most. */
#define MAX_THREADS 64

struct iommufd_parallel_map {
	struct iommufd_ctx *ctx;
	uint32_t ioas_id;
	char *vaddr;
	uint64_t iova, length, chunk;
	unsigned int access;
	unsigned int nr_chunks;
	atomic_uint next_chunk;		/* the next chunk to claim */
	unsigned char *mapped;		/* per chunk: 1 once mapped */
	pthread_mutex_t lock;		/* guards err and explanation */
	int err;			/* the first chunk error */
	char explanation[256];
};

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

static uint64_t chunk_len(const struct iommufd_parallel_map *m, unsigned int i)
{
	uint64_t off = (uint64_t)i * m->chunk;

	return m->length - off < m->chunk ? m->length - off : m->chunk;
}

IOMMUFD_API bool iommufd_parallel_map_wanted(const struct iommufd_parallel_map *m)
{
	return m && atomic_load((atomic_uint *)&m->next_chunk) < m->nr_chunks;
}

IOMMUFD_API void iommufd_parallel_map_help(struct iommufd_parallel_map *m)
{
	for (;;) {
		unsigned int i = atomic_fetch_add(&m->next_chunk, 1);
		uint64_t off, iova;
		bool failed;
		int r = 0;

		if (i >= m->nr_chunks)
			return;
		off = (uint64_t)i * m->chunk;
		iova = m->iova + off;
		pthread_mutex_lock(&m->lock);
		failed = m->err != 0;
		pthread_mutex_unlock(&m->lock);
		if (failed)
			continue;	/* claim the rest, so every thread leaves */
		r = iommufd_ioas_map(m->ctx, m->ioas_id, m->vaddr + off, chunk_len(m, i), &iova,
				     m->access | IOMMUFD_MAP_FIXED_IOVA);
		pthread_mutex_lock(&m->lock);
		if (!r) {
			m->mapped[i] = 1;
		} else if (!m->err) {
			m->err = r;
			snprintf(m->explanation, sizeof(m->explanation),
				 "chunk %u of %u (IOVA 0x%" PRIx64 ", 0x%" PRIx64 " bytes): %s", i + 1,
				 m->nr_chunks, iova, chunk_len(m, i), iommufd_last_error());
		}
		pthread_mutex_unlock(&m->lock);
	}
}

static void *helper_thread(void *arg)
{
	iommufd_parallel_map_help(arg);
	return NULL;
}

/* Threads of this map's own, joined before returning. */
static void run_with_threads(struct iommufd_parallel_map *m, unsigned int threads)
{
	pthread_t tid[MAX_THREADS];
	unsigned int started = 0;

	for (; started + 1 < threads && started < MAX_THREADS; started++)
		if (pthread_create(&tid[started], NULL, helper_thread, m))
			break;	/* fewer helpers: the chunks still all get done */
	iommufd_parallel_map_help(m);
	for (unsigned int i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
}

/*
 * A lender's threads: offered, worked on here too, withdrawn. Once withdraw
 * returns no lent thread is inside the map, and every chunk claimed is done.
 */
static void run_with_lender(struct iommufd_parallel_map *m, const struct iommufd_map_lender *l)
{
	l->offer(l->data, m);
	iommufd_parallel_map_help(m);
	l->withdraw(l->data, m);
}

static int roll_back(struct iommufd_parallel_map *m)
{
	char undo[128] = "";

	for (unsigned int i = 0; i < m->nr_chunks; i++)
		if (m->mapped[i] && iommufd_ioas_unmap(m->ctx, m->ioas_id,
						       m->iova + (uint64_t)i * m->chunk,
						       chunk_len(m, i), NULL))
			snprintf(undo, sizeof(undo), "; and unmapping chunk %u again failed: %s",
				 i + 1, iommufd_last_error());
	return iommufd_fail(m->ctx, m->err, "parallel map of 0x%" PRIx64 " bytes at IOVA 0x%" PRIx64
			    ": %s%s", m->length, m->iova, m->explanation, undo);
}

IOMMUFD_API int iommufd_ioas_map_parallel(struct iommufd_ctx *ctx, uint32_t ioas_id, void *vaddr,
					  uint64_t length, uint64_t iova, unsigned int access,
					  const struct iommufd_parallel_opts *opts)
{
	const struct iommufd_map_lender *lender;
	struct iommufd_parallel_map m = {
		.ctx = ctx, .ioas_id = ioas_id, .vaddr = vaddr, .iova = iova, .length = length,
		.access = access,
	};
	unsigned int threads;
	uint64_t chunk;
	int r;

	check_ctx(ctx);
	check_arg(vaddr);
	check_arg(length);
	r = check_opts(ctx, opts, iommufd_parallel_opts, chunk);
	if (r < 0)
		return r;
	threads = opts_get(opts, iommufd_parallel_opts, threads, 1);
	chunk = opts_get(opts, iommufd_parallel_opts, chunk, 0);
	lender = opts_get(opts, iommufd_parallel_opts, lender, NULL);
	if (chunk % CHUNK_ALIGN)
		return iommufd_fail(ctx, -EINVAL, "parallel map: chunk 0x%" PRIx64 " is not a "
				    "multiple of 2 MiB", chunk);
	if (lender && (!lender->offer || !lender->withdraw))
		return iommufd_fail(ctx, -EINVAL, "parallel map: a lender needs offer and withdraw");
	if (threads < 1)
		threads = 1;
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	m.chunk = pick_chunk(length, threads, chunk);
	m.nr_chunks = (length + m.chunk - 1) / m.chunk;
	if (m.nr_chunks < 2 || (threads < 2 && !lender))	/* nothing to share */
		return iommufd_ioas_map(ctx, ioas_id, vaddr, length, &iova,
					access | IOMMUFD_MAP_FIXED_IOVA);
	m.mapped = calloc(m.nr_chunks, 1);
	if (!m.mapped)
		return iommufd_fail(ctx, -ENOMEM, "parallel map: %u chunks", m.nr_chunks);
	pthread_mutex_init(&m.lock, NULL);
	if (lender)
		run_with_lender(&m, lender);
	else
		run_with_threads(&m, threads);
	r = m.err ? roll_back(&m) : 0;
	pthread_mutex_destroy(&m.lock);
	free(m.mapped);
	return r;
}
