// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The mapping tracker: each mapping once, indexed twice, by IOVA range and
 * by buffer range, in libc's tsearch() trees (red-black in glibc). Ranges of
 * one index never overlap (the tracker refuses it), so "overlaps" can serve
 * as equality and any address inside a range finds it in O(log n). Lookups
 * take the read side of a rwlock and run in parallel.
 */
#include <inttypes.h>
#include <search.h>
#include <stdlib.h>

#include "internal.h"

struct tracked {
	struct ioas_mapping m;
};

struct ioas_tracker {
	pthread_rwlock_t lock;
	void *by_iova;
	void *by_vaddr;
	uint64_t count, bytes;
	atomic_uint_fast64_t lookups, misses;
};

/* Keys: a [lo, hi] range on either index. */
struct key {
	uint64_t lo, hi;
};

static struct key iova_key(const struct ioas_mapping *m)
{
	return (struct key){ m->iova, m->iova + m->length - 1 };
}

static struct key vaddr_key(const struct ioas_mapping *m)
{
	return (struct key){ (uintptr_t)m->vaddr, (uintptr_t)m->vaddr + m->length - 1 };
}

static int cmp_range(struct key a, struct key b)
{
	return a.hi < b.lo ? -1 : a.lo > b.hi ? 1 : 0;
}

/* Both trees hold struct tracked; the search key is an entry too. */
static int cmp_iova(const void *a, const void *b)
{
	return cmp_range(iova_key(&((const struct tracked *)a)->m),
			 iova_key(&((const struct tracked *)b)->m));
}

static int cmp_vaddr(const void *a, const void *b)
{
	return cmp_range(vaddr_key(&((const struct tracked *)a)->m),
			 vaddr_key(&((const struct tracked *)b)->m));
}

IOMMUFD_API int ioas_tracker_new(struct ioas_tracker **ret)
{
	struct ioas_tracker *t;

	check_arg(ret);
	t = calloc(1, sizeof(*t));
	if (!t)
		return iommufd_fail(NULL, -ENOMEM, "out of memory");
	pthread_rwlock_init(&t->lock, NULL);
	*ret = t;
	return 0;
}

static void noop_free(void *p)
{
	(void)p;
}

IOMMUFD_API struct ioas_tracker *ioas_tracker_free(struct ioas_tracker *t)
{
	if (!t)
		return NULL;
	tdestroy(t->by_vaddr, noop_free);	/* the entries are freed once, below */
	tdestroy(t->by_iova, free);
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

/* With the lock held: 0, or -EEXIST explained. */
static int check_locked(struct ioas_tracker *t, const struct ioas_mapping *m)
{
	struct tracked probe = { .m = *m };
	void *hit;

	hit = tfind(&probe, &t->by_iova, cmp_iova);
	if (hit)
		return explain_overlap("IOVA range", m, &(*(struct tracked **)hit)->m);
	if (m->vaddr) {
		hit = tfind(&probe, &t->by_vaddr, cmp_vaddr);
		if (hit)
			return explain_overlap("the buffer mapped at IOVA", m,
					       &(*(struct tracked **)hit)->m);
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
	e->m = *m;
	if (!e->m.refs)
		e->m.refs = 1;
	pthread_rwlock_wrlock(&t->lock);
	r = check_locked(t, m);
	if (!r && !tsearch(e, &t->by_iova, cmp_iova))
		r = -ENOMEM;
	/* Mappings without a buffer (copies, files) are not in the vaddr index. */
	if (!r && m->vaddr && !tsearch(e, &t->by_vaddr, cmp_vaddr)) {
		tdelete(e, &t->by_iova, cmp_iova);
		r = -ENOMEM;
	}
	if (!r) {
		t->count++;
		t->bytes += m->length;
	}
	pthread_rwlock_unlock(&t->lock);
	if (r) {
		free(e);
		if (r == -ENOMEM)
			return iommufd_fail(NULL, r, "out of memory");
	}
	return r;
}

IOMMUFD_API int ioas_tracker_remove(struct ioas_tracker *t, uint64_t iova,
				    struct ioas_mapping *removed)
{
	struct tracked probe = { .m = { .iova = iova, .length = 1 } }, *e = NULL;
	void *hit;

	check_arg(t);
	pthread_rwlock_wrlock(&t->lock);
	hit = tfind(&probe, &t->by_iova, cmp_iova);
	if (hit && (*(struct tracked **)hit)->m.iova == iova) {
		e = *(struct tracked **)hit;
		tdelete(e, &t->by_iova, cmp_iova);
		if (e->m.vaddr)
			tdelete(e, &t->by_vaddr, cmp_vaddr);
		t->count--;
		t->bytes -= e->m.length;
	}
	pthread_rwlock_unlock(&t->lock);
	if (!e)
		return iommufd_fail(NULL, -ENOENT, "no mapping starts at IOVA 0x%" PRIx64, iova);
	if (removed)
		*removed = e->m;
	free(e);
	return 0;
}

static int find(struct ioas_tracker *t, void **root, int (*cmp)(const void *, const void *),
		const struct tracked *probe, struct ioas_mapping *m)
{
	void *hit;

	atomic_fetch_add_explicit(&t->lookups, 1, memory_order_relaxed);
	pthread_rwlock_rdlock(&t->lock);
	hit = tfind(probe, root, cmp);
	if (hit && m)
		*m = (*(struct tracked **)hit)->m;
	pthread_rwlock_unlock(&t->lock);
	if (!hit) {
		atomic_fetch_add_explicit(&t->misses, 1, memory_order_relaxed);
		return -ENOENT;
	}
	return 0;
}

IOMMUFD_API int ioas_tracker_find_iova(struct ioas_tracker *t, uint64_t iova,
				       struct ioas_mapping *m)
{
	struct tracked probe = { .m = { .iova = iova, .length = 1 } };

	check_arg(t);
	if (find(t, &t->by_iova, cmp_iova, &probe, m))
		return iommufd_fail(NULL, -ENOENT, "IOVA 0x%" PRIx64 " is not mapped", iova);
	return 0;
}

IOMMUFD_API int ioas_tracker_find_vaddr(struct ioas_tracker *t, const void *vaddr,
					struct ioas_mapping *m)
{
	struct tracked probe = { .m = { .vaddr = (void *)vaddr, .length = 1 } };

	check_arg(t);
	if (find(t, &t->by_vaddr, cmp_vaddr, &probe, m))
		return iommufd_fail(NULL, -ENOENT, "address %p is in no mapped buffer", vaddr);
	return 0;
}

struct walk {
	int (*fn)(const struct ioas_mapping *m, void *data);
	void *data;
	int ret;
};

static void visit(const void *node, VISIT which, void *closure)
{
	struct walk *w = closure;

	if ((which == postorder || which == leaf) && !w->ret)
		w->ret = w->fn(&(*(struct tracked *const *)node)->m, w->data);
}

IOMMUFD_API int ioas_tracker_foreach(struct ioas_tracker *t,
				     int (*fn)(const struct ioas_mapping *m, void *data),
				     void *data)
{
	struct walk w = { fn, data, 0 };

	check_arg(t);
	check_arg(fn);
	pthread_rwlock_rdlock(&t->lock);
	twalk_r(t->by_iova, visit, &w);
	pthread_rwlock_unlock(&t->lock);
	return w.ret;
}

IOMMUFD_API int ioas_tracker_stats(struct ioas_tracker *t, struct ioas_tracker_stats *st)
{
	check_arg(t);
	check_arg(st);
	pthread_rwlock_rdlock(&t->lock);
	st->mappings = t->count;
	st->bytes = t->bytes;
	pthread_rwlock_unlock(&t->lock);
	st->lookups = atomic_load(&t->lookups);
	st->lookup_misses = atomic_load(&t->misses);
	return 0;
}

int ioas_tracker_check_buffer(struct ioas_tracker *t, const void *vaddr, uint64_t length)
{
	struct tracked probe = { .m = { .vaddr = (void *)vaddr, .length = length } };
	void *hit;
	int r = 0;

	pthread_rwlock_rdlock(&t->lock);
	hit = tfind(&probe, &t->by_vaddr, cmp_vaddr);
	if (hit)
		r = explain_overlap("the buffer to map at IOVA", &probe.m,
				    &(*(struct tracked **)hit)->m);
	pthread_rwlock_unlock(&t->lock);
	return r;
}

int ioas_tracker_ref(struct ioas_tracker *t, const void *vaddr, uint64_t length, uint64_t *iova)
{
	struct tracked probe = { .m = { .vaddr = (void *)vaddr, .length = length } }, *e;
	void *hit;
	int r = -ENOENT;

	pthread_rwlock_wrlock(&t->lock);
	hit = vaddr ? tfind(&probe, &t->by_vaddr, cmp_vaddr) : NULL;
	if (hit) {
		e = *(struct tracked **)hit;
		if (e->m.vaddr == vaddr && e->m.length == length) {
			e->m.refs++;
			*iova = e->m.iova;
			r = 0;
		}
	}
	pthread_rwlock_unlock(&t->lock);
	return r;
}

int ioas_tracker_unref(struct ioas_tracker *t, uint64_t iova, struct ioas_mapping *m)
{
	struct tracked probe = { .m = { .iova = iova, .length = 1 } }, *e;
	void *hit;
	int r = -ENOENT;

	pthread_rwlock_wrlock(&t->lock);
	hit = tfind(&probe, &t->by_iova, cmp_iova);
	if (hit && (*(struct tracked **)hit)->m.iova == iova) {
		e = *(struct tracked **)hit;
		*m = e->m;
		if (--e->m.refs) {
			r = 0;
		} else {
			tdelete(e, &t->by_iova, cmp_iova);
			if (e->m.vaddr)
				tdelete(e, &t->by_vaddr, cmp_vaddr);
			t->count--;
			t->bytes -= e->m.length;
			free(e);
			r = 1;
		}
	}
	pthread_rwlock_unlock(&t->lock);
	return r;
}
