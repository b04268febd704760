// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Which fds are the shim's: an array indexed by fd, read without a lock, so
 * an fd the shim does not own costs one load. Entries are set and cleared
 * under a lock; objects are refcounted so dup()ed fds share them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "compat.h"

#define MAX_FDS 65536

static _Atomic(struct compat_obj *) table[MAX_FDS];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

struct compat_obj *compat_fd_get(int fd)
{
	if (fd < 0 || fd >= MAX_FDS)
		return NULL;
	return atomic_load_explicit(&table[fd], memory_order_acquire);
}

int compat_fd_set(int fd, struct compat_obj *obj)
{
	if (fd < 0 || fd >= MAX_FDS)
		return -EMFILE;
	pthread_mutex_lock(&table_lock);
	atomic_store_explicit(&table[fd], obj, memory_order_release);
	pthread_mutex_unlock(&table_lock);
	return 0;
}

struct compat_obj *compat_fd_take(int fd)
{
	struct compat_obj *obj;

	if (fd < 0 || fd >= MAX_FDS)
		return NULL;
	pthread_mutex_lock(&table_lock);
	obj = atomic_exchange(&table[fd], NULL);
	pthread_mutex_unlock(&table_lock);
	return obj;
}

struct compat_obj *compat_obj_dup(struct compat_obj *obj)
{
	struct compat_obj *copy = malloc(sizeof(*copy));

	if (!copy)
		return NULL;
	*copy = *obj;
	switch (obj->kind) {
	case COMPAT_CONTAINER:
		pthread_mutex_lock(&obj->container->lock);
		obj->container->refs++;
		pthread_mutex_unlock(&obj->container->lock);
		break;
	case COMPAT_GROUP:
		__atomic_add_fetch(&obj->group->refs, 1, __ATOMIC_SEQ_CST);
		break;
	case COMPAT_DEVICE:
		__atomic_add_fetch(&obj->device->refs, 1, __ATOMIC_SEQ_CST);
		break;
	}
	return copy;
}

void compat_obj_put(struct compat_obj *obj)
{
	if (!obj)
		return;
	switch (obj->kind) {
	case COMPAT_CONTAINER:
		compat_container_put(obj->container);
		break;
	case COMPAT_GROUP:
		compat_group_put(obj->group);
		break;
	case COMPAT_DEVICE:
		compat_device_put(obj->device);
		break;
	}
	free(obj);
}
