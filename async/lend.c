// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The pool lends its workers to large maps. The core pins a map in chunks
 * (iommufd_ioas_map_parallel()); a map request at or above split_threshold
 * offers its map to the pool, and idle workers claim chunks of it before
 * they take the next request. Withdrawing waits for the workers inside it.
 */
#include <stdlib.h>

#include "internal.h"

static void lend_offer(void *data, struct iommufd_parallel_map *m)
{
	struct iommufd_async *a = data;
	struct lent *l = malloc(sizeof(*l));

	if (!l)
		return;	/* no helpers: the map's own thread claims every chunk */
	*l = (struct lent){ .m = m };
	pthread_mutex_lock(&a->lock);
	l->next = a->lent;
	a->lent = l;
	pthread_cond_broadcast(&a->work_cond);
	pthread_mutex_unlock(&a->lock);
}

static void lend_withdraw(void *data, struct iommufd_parallel_map *m)
{
	struct iommufd_async *a = data;
	struct lent **pp, *l;

	pthread_mutex_lock(&a->lock);
	for (pp = &a->lent; *pp && (*pp)->m != m; pp = &(*pp)->next)
		;
	l = *pp;
	if (l) {
		*pp = l->next;
		while (l->helpers)
			pthread_cond_wait(&a->lent_cond, &a->lock);
	}
	pthread_mutex_unlock(&a->lock);
	free(l);
}

void lend_init(struct iommufd_async *a)
{
	pthread_cond_init(&a->lent_cond, NULL);
	a->lender = (struct iommufd_map_lender){
		.offer = lend_offer, .withdraw = lend_withdraw, .data = a,
	};
}

struct lent *lend_join(struct iommufd_async *a)
{
	for (struct lent *l = a->lent; l; l = l->next) {
		if (iommufd_parallel_map_wanted(l->m)) {
			l->helpers++;
			return l;
		}
	}
	return NULL;
}

void lend_help(struct iommufd_async *a, struct lent *l)
{
	pthread_mutex_unlock(&a->lock);
	iommufd_parallel_map_help(l->m);
	pthread_mutex_lock(&a->lock);
	if (!--l->helpers)
		pthread_cond_broadcast(&a->lent_cond);
}
