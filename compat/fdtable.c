// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Which fds are the shim's: an array indexed by fd, read without a lock, so
 * an fd the shim does not own costs one load. Entries are set and cleared
 * under a lock; objects are refcounted so dup()ed fds share them.
 *
 * An fd can also reach the program without passing through the shim: sent
 * over a socket (SCM_RIGHTS) by a forked child or parent, or left by exec.
 * Emulated containers and groups are memfds, one inode each, and a registry
 * maps inodes to live objects, so such an fd is recognised on first use and
 * takes its object, as the same kernel file would (compat_fd_lookup()).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"


static _Atomic(struct compat_obj *) table[COMPAT_MAX_FDS];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

struct compat_obj *compat_fd_get(int fd)
{
	if (fd < 0 || fd >= COMPAT_MAX_FDS)
		return NULL;
	return atomic_load_explicit(&table[fd], memory_order_acquire);
}

int compat_fd_set(int fd, struct compat_obj *obj)
{
	if (fd < 0 || fd >= COMPAT_MAX_FDS)
		return -EMFILE;
	pthread_mutex_lock(&table_lock);
	atomic_store_explicit(&table[fd], obj, memory_order_release);
	pthread_mutex_unlock(&table_lock);
	return 0;
}

struct compat_obj *compat_fd_take(int fd)
{
	struct compat_obj *obj;

	if (fd < 0 || fd >= COMPAT_MAX_FDS)
		return NULL;
	pthread_mutex_lock(&table_lock);
	obj = atomic_exchange(&table[fd], NULL);
	pthread_mutex_unlock(&table_lock);
	return obj;
}

/* One more reference, unless the object is already on its way out. */
static bool get_unless_zero(int *refs)
{
	int n = __atomic_load_n(refs, __ATOMIC_SEQ_CST);

	while (n > 0)
		if (__atomic_compare_exchange_n(refs, &n, n + 1, false, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			return true;
	return false;
}

struct compat_obj *compat_obj_dup(struct compat_obj *obj)
{
	struct compat_obj *copy = malloc(sizeof(*copy));
	bool live = false;

	if (!copy)
		return NULL;
	*copy = *obj;
	switch (obj->kind) {
	case COMPAT_CONTAINER:
		pthread_mutex_lock(&obj->container->lock);
		live = obj->container->refs > 0;
		obj->container->refs += live;
		pthread_mutex_unlock(&obj->container->lock);
		break;
	case COMPAT_GROUP:
		live = get_unless_zero(&obj->group->refs);
		break;
	case COMPAT_DEVICE:
		live = get_unless_zero(&obj->device->refs);
		break;
	}
	if (!live) {
		free(copy);
		return NULL;
	}
	return copy;
}

/* The registry: which file (device and inode) each live object is. */
struct compat_reg {
	dev_t dev;
	ino_t ino;
	struct compat_obj obj;	/* not a reference: removed before the object dies */
};

static struct compat_reg *reg;
static size_t nr_reg;
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;

static void *obj_ptr(const struct compat_obj *obj)
{
	return obj->kind == COMPAT_CONTAINER ? (void *)obj->container :
	       obj->kind == COMPAT_GROUP     ? (void *)obj->group : (void *)obj->device;
}

int compat_fd_register(int fd, const struct compat_obj *obj)
{
	struct stat st;
	void *tmp;

	if (fstat(fd, &st) < 0)
		return -errno;
	pthread_mutex_lock(&reg_lock);
	tmp = realloc(reg, (nr_reg + 1) * sizeof(*reg));
	if (!tmp) {
		pthread_mutex_unlock(&reg_lock);
		return -ENOMEM;
	}
	reg = tmp;
	reg[nr_reg++] = (struct compat_reg){ .dev = st.st_dev, .ino = st.st_ino, .obj = *obj };
	pthread_mutex_unlock(&reg_lock);
	return 0;
}

void compat_fd_unregister(const void *ptr)
{
	pthread_mutex_lock(&reg_lock);
	for (size_t i = 0; i < nr_reg; i++) {
		if (obj_ptr(&reg[i].obj) == ptr) {
			reg[i] = reg[--nr_reg];
			break;
		}
	}
	pthread_mutex_unlock(&reg_lock);
}

/* An emulated fd whose object lives in another process: say so, loudly. */
static bool foreign_emulated(int fd)
{
	char link[64], target[128];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = '\0';
	if (strncmp(target, "/memfd:" COMPAT_MEMFD_PREFIX, strlen("/memfd:" COMPAT_MEMFD_PREFIX)))
		return false;
	fprintf(stderr,
		"iommufd-compat[%d]: fd %d is %s, made by another process or before exec(): "
		"emulated VFIO objects live in the process that opened them (and the children "
		"it forks after); see libiommufd-compat(7)\n",
		(int)getpid(), fd, target + strlen("/memfd:"));
	return true;
}

struct compat_obj *compat_fd_lookup(int fd, int *err)
{
	struct compat_obj *obj = compat_fd_get(fd), *copy = NULL;
	struct stat st;

	*err = 0;
	if (obj || fd < 0 || fd >= COMPAT_MAX_FDS || !compat_active() || fstat(fd, &st) < 0)
		return obj;
	pthread_mutex_lock(&reg_lock);
	for (size_t i = 0; i < nr_reg && !copy; i++)
		if (reg[i].dev == st.st_dev && reg[i].ino == st.st_ino)
			copy = compat_obj_dup(&reg[i].obj);
	pthread_mutex_unlock(&reg_lock);
	if (copy) {
		/* Another thread may have taken it meanwhile: keep the first. */
		pthread_mutex_lock(&table_lock);
		obj = atomic_load(&table[fd]);
		if (!obj)
			atomic_store_explicit(&table[fd], copy, memory_order_release);
		pthread_mutex_unlock(&table_lock);
		if (obj) {
			compat_obj_put(copy);
			return obj;
		}
		compat_trace("fd %d is the same file as an emulated %s: taken", fd,
			     copy->kind == COMPAT_CONTAINER ? "container" :
			     copy->kind == COMPAT_GROUP ? "group" : "device");
		return copy;
	}
	if (S_ISREG(st.st_mode) && foreign_emulated(fd))
		*err = -EBADFD;
	return NULL;
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
