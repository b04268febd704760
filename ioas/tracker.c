// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The mapping tracker: each mapping once, indexed twice, by IOVA range and
 * by buffer range, in two range indexes (libiommufd/range_index.h) whose
 * nodes sit in the mapping itself, so a mapping is one allocation. Ranges of
 * one index never overlap (the tracker refuses it), so any address inside a
 * range finds it in O(log n), and a walk by IOVA is in order. Lookups take
 * the read side of a rwlock and run in parallel.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "internal.h"
#include "../libiommufd/range_index.h"

/*
 * One mapping. Its IOVA, buffer and length are the two nodes' bounds, kept
 * nowhere else: one allocation of 104 bytes, where an entry and its two
 * tsearch() nodes took three of about the same size in all.
 */
struct tracked {
	struct range_node by_iova;	/* [iova, iova + length - 1] */
	struct range_node by_vaddr;	/* [vaddr, vaddr + length - 1], indexed if vaddr */
	unsigned int access;
	unsigned int refs;
};

struct ioas_tracker {
	pthread_rwlock_t lock;
	struct range_index by_iova;
	struct range_index by_vaddr;	/* mappings without a buffer (copies, files) are not here */
	uint64_t bytes;
	atomic_uint_fast64_t lookups, misses;
};

static struct tracked *of_iova(const struct range_node *n)
{
	return range_entry(n, struct tracked, by_iova);
}

static struct tracked *of_vaddr(const struct range_node *n)
{
	return range_entry(n, struct tracked, by_vaddr);
}

static struct ioas_mapping to_mapping(const struct tracked *e)
{
	return (struct ioas_mapping){
		.iova = e->by_iova.start,
		.length = e->by_iova.last - e->by_iova.start + 1,
		.vaddr = (void *)(uintptr_t)e->by_vaddr.start,
		.access = e->access,
		.refs = e->refs,
	};
}

static bool has_buffer(const struct tracked *e)
{
	return e->by_vaddr.start != 0;
}

static void unlink_locked(struct ioas_tracker *t, struct tracked *e)
{
	range_index_remove(&t->by_iova, &e->by_iova);
	if (has_buffer(e))
		range_index_remove(&t->by_vaddr, &e->by_vaddr);
	t->bytes -= e->by_iova.last - e->by_iova.start + 1;
}

IOMMUFD_API int ioas_tracker_new(struct ioas_tracker **ret)
{
	struct ioas_tracker *t;

	check_arg(ret);
	t = calloc(1, sizeof(*t));
	if (!t)
		return iommufd_fail(NULL, -ENOMEM, "out of memory");
	pthread_rwlock_init(&t->lock, NULL);
	range_index_init(&t->by_iova);
	range_index_init(&t->by_vaddr);
	*ret = t;
	return 0;
}

static void free_tracked(struct range_node *n, void *data)
{
	(void)data;
	free(of_iova(n));
}

IOMMUFD_API struct ioas_tracker *ioas_tracker_free(struct ioas_tracker *t)
{
	if (!t)
		return NULL;
	/* Every entry is in the IOVA index: free each once, from there. */
	range_index_clear(&t->by_iova, free_tracked, NULL);
	pthread_rwlock_destroy(&t->lock);
	free(t);
	return NULL;
}

static int explain_overlap(const char *what, const struct ioas_mapping *want,
			   const struct ioas_mapping *have)
{
	return iommufd_fail(NULL, -EEXIST,
			    "%s 0x%" PRIx64 "-0x%" PRIx64 " (buffer %p) overlaps the mapping of "
			    "buffer %p-%p at IOVA 0x%" PRIx64 "-0x%" PRIx64, what, want->iova,
			    want->iova + want->length - 1, want->vaddr, have->vaddr,
			    (void *)((uintptr_t)have->vaddr + have->length - 1), have->iova,
			    have->iova + have->length - 1);
}

/* The lowest mapping whose IOVA range / buffer overlaps [lo, lo + length), or NULL. */
static struct tracked *hit_iova(struct ioas_tracker *t, uint64_t lo, uint64_t length)
{
	struct range_node *n = range_index_first(&t->by_iova, lo, lo + length - 1);

	return n ? of_iova(n) : NULL;
}

static struct tracked *hit_vaddr(struct ioas_tracker *t, const void *vaddr, uint64_t length)
{
	struct range_node *n = range_index_first(&t->by_vaddr, (uintptr_t)vaddr,
						 (uintptr_t)vaddr + length - 1);

	return n ? of_vaddr(n) : NULL;
}

/* The mapping that starts at @iova exactly, or NULL. */
static struct tracked *at_iova(struct ioas_tracker *t, uint64_t iova)
{
	struct range_node *n = range_index_find(&t->by_iova, iova);

	return n && n->start == iova ? of_iova(n) : NULL;
}

/* With the lock held: 0, or -EEXIST explained. */
static int check_locked(struct ioas_tracker *t, const struct ioas_mapping *m)
{
	struct ioas_mapping have;
	struct tracked *e;

	e = hit_iova(t, m->iova, m->length);
	if (e) {
		have = to_mapping(e);
		return explain_overlap("IOVA range", m, &have);
	}
	e = m->vaddr ? hit_vaddr(t, m->vaddr, m->length) : NULL;
	if (e) {
		have = to_mapping(e);
		return explain_overlap("the buffer mapped at IOVA", m, &have);
	}
	return 0;
}

static int check_mapping(const struct ioas_mapping *m)
{
	if (!m->length || m->iova + m->length - 1 < m->iova ||
	    (uintptr_t)m->vaddr + m->length - 1 < (uintptr_t)m->vaddr)
		return iommufd_fail(NULL, -EINVAL, "mapping at IOVA 0x%" PRIx64 " of 0x%" PRIx64
				    " bytes is empty or wraps", m->iova, m->length);
	return 0;
}

IOMMUFD_API int ioas_tracker_check(struct ioas_tracker *t, uint64_t iova, const void *vaddr,
				   uint64_t length)
{
	struct ioas_mapping m = { .iova = iova, .length = length, .vaddr = (void *)vaddr };
	int r;

	check_arg(t);
	r = check_mapping(&m);
	if (r < 0)
		return r;
	pthread_rwlock_rdlock(&t->lock);
	r = check_locked(t, &m);
	pthread_rwlock_unlock(&t->lock);
	return r;
}

IOMMUFD_API int ioas_tracker_add(struct ioas_tracker *t, const struct ioas_mapping *m)
{
	struct tracked *e;
	int r;

	check_arg(t);
	check_arg(m);
	r = check_mapping(m);
	if (r < 0)
		return r;
	e = malloc(sizeof(*e));
	if (!e)
		return iommufd_fail(NULL, -ENOMEM, "out of memory");
	e->by_iova.start = m->iova;
	e->by_iova.last = m->iova + m->length - 1;
	e->by_vaddr.start = (uintptr_t)m->vaddr;
	e->by_vaddr.last = (uintptr_t)m->vaddr + m->length - 1;
	e->access = m->access;
	e->refs = m->refs ? m->refs : 1;
	pthread_rwlock_wrlock(&t->lock);
	/* Checked first, so that neither insert can be refused. */
	r = check_locked(t, m);
	if (!r) {
		range_index_insert(&t->by_iova, &e->by_iova, NULL);
		if (has_buffer(e))
			range_index_insert(&t->by_vaddr, &e->by_vaddr, NULL);
		t->bytes += m->length;
	}
	pthread_rwlock_unlock(&t->lock);
	if (r)
		free(e);
	return r;
}

IOMMUFD_API int ioas_tracker_remove(struct ioas_tracker *t, uint64_t iova,
				    struct ioas_mapping *removed)
{
	struct tracked *e;

	check_arg(t);
	pthread_rwlock_wrlock(&t->lock);
	e = at_iova(t, iova);
	if (e)
		unlink_locked(t, e);
	pthread_rwlock_unlock(&t->lock);
	if (!e)
		return iommufd_fail(NULL, -ENOENT, "no mapping starts at IOVA 0x%" PRIx64, iova);
	if (removed)
		*removed = to_mapping(e);
	free(e);
	return 0;
}

/* A lookup of @addr in @ix, counted: 0 and *@m, or -ENOENT. */
static int find(struct ioas_tracker *t, const struct range_index *ix,
		struct tracked *(*entry)(const struct range_node *n), uint64_t addr,
		struct ioas_mapping *m)
{
	struct range_node *n;

	atomic_fetch_add_explicit(&t->lookups, 1, memory_order_relaxed);
	pthread_rwlock_rdlock(&t->lock);
	n = range_index_find(ix, addr);
	if (n && m)
		*m = to_mapping(entry(n));
	pthread_rwlock_unlock(&t->lock);
	if (!n) {
		atomic_fetch_add_explicit(&t->misses, 1, memory_order_relaxed);
		return -ENOENT;
	}
	return 0;
}

IOMMUFD_API int ioas_tracker_find_iova(struct ioas_tracker *t, uint64_t iova,
				       struct ioas_mapping *m)
{
	check_arg(t);
	if (find(t, &t->by_iova, of_iova, iova, m))
		return iommufd_fail(NULL, -ENOENT, "IOVA 0x%" PRIx64 " is not mapped", iova);
	return 0;
}

IOMMUFD_API int ioas_tracker_find_vaddr(struct ioas_tracker *t, const void *vaddr,
					struct ioas_mapping *m)
{
	check_arg(t);
	if (find(t, &t->by_vaddr, of_vaddr, (uintptr_t)vaddr, m))
		return iommufd_fail(NULL, -ENOENT, "address %p is in no mapped buffer", vaddr);
	return 0;
}

IOMMUFD_API int ioas_tracker_foreach(struct ioas_tracker *t,
				     int (*fn)(const struct ioas_mapping *m, void *data),
				     void *data)
{
	struct range_node *n, *tmp;
	struct ioas_mapping m;
	int r = 0;

	check_arg(t);
	check_arg(fn);
	pthread_rwlock_rdlock(&t->lock);
	range_index_for_each(&t->by_iova, n, tmp) {
		m = to_mapping(of_iova(n));
		r = fn(&m, data);
		if (r)
			break;
	}
	pthread_rwlock_unlock(&t->lock);
	return r;
}

IOMMUFD_API int ioas_tracker_stats(struct ioas_tracker *t, struct ioas_tracker_stats *st)
{
	check_arg(t);
	check_arg(st);
	pthread_rwlock_rdlock(&t->lock);
	st->mappings = range_index_count(&t->by_iova);
	st->bytes = t->bytes;
	pthread_rwlock_unlock(&t->lock);
	st->lookups = atomic_load(&t->lookups);
	st->lookup_misses = atomic_load(&t->misses);
	return 0;
}

int ioas_tracker_check_buffer(struct ioas_tracker *t, const void *vaddr, uint64_t length)
{
	struct ioas_mapping want = { .vaddr = (void *)vaddr, .length = length }, have;
	struct tracked *e;
	int r = 0;

	pthread_rwlock_rdlock(&t->lock);
	e = hit_vaddr(t, vaddr, length);
	if (e) {
		have = to_mapping(e);
		r = explain_overlap("the buffer to map at IOVA", &want, &have);
	}
	pthread_rwlock_unlock(&t->lock);
	return r;
}

int ioas_tracker_ref(struct ioas_tracker *t, const void *vaddr, uint64_t length, uint64_t *iova)
{
	struct range_node *n;
	struct tracked *e;
	int r = -ENOENT;

	if (!vaddr)
		return r;
	pthread_rwlock_wrlock(&t->lock);
	/* Buffers do not overlap: the one holding @vaddr is the only candidate. */
	n = range_index_find(&t->by_vaddr, (uintptr_t)vaddr);
	e = n ? of_vaddr(n) : NULL;
	if (e && n->start == (uintptr_t)vaddr && n->last - n->start == length - 1) {
		e->refs++;
		*iova = e->by_iova.start;
		r = 0;
	}
	pthread_rwlock_unlock(&t->lock);
	return r;
}

int ioas_tracker_unref(struct ioas_tracker *t, uint64_t iova, struct ioas_mapping *m)
{
	struct tracked *e;
	int r = -ENOENT;

	pthread_rwlock_wrlock(&t->lock);
	e = at_iova(t, iova);
	if (e) {
		*m = to_mapping(e);
		if (e->refs > 1) {
			e->refs--;
			r = 0;
		} else {
			r = 1;
		}
	}
	pthread_rwlock_unlock(&t->lock);
	return r;
}

bool ioas_tracker_hit(struct ioas_tracker *t, uint64_t iova, uint64_t last, struct ioas_mapping *m)
{
	struct range_node *n;

	pthread_rwlock_rdlock(&t->lock);
	n = range_index_first(&t->by_iova, iova, last);
	if (n)
		*m = to_mapping(of_iova(n));
	pthread_rwlock_unlock(&t->lock);
	return n != NULL;
}
