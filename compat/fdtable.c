// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Which fds are the shim's, and the emulated files behind them.
 *
 * The table is an array indexed by fd. An fd the shim does not own costs one
 * atomic load and takes no lock, so close() of such an fd stays
 * async-signal-safe and cannot hang in a child forked while another thread
 * held a lock. Slots that are set are read and changed under table_lock, and
 * a reader takes a reference before it lets go: a file stays alive while an
 * ioctl runs on it, whatever another thread closes meanwhile, as the kernel
 * holds a struct file for the length of a call. A process that has only ever
 * had one thread needs neither the lock nor atomic counts (compat.h).
 *
 * An fd can also reach the process without passing through the shim: sent
 * over a socket (SCM_RIGHTS) by a forked child or parent. Emulated
 * containers and groups are memfds, one inode each, and every live file
 * knows its inode, so such an fd is recognised on first use and joins its
 * file, as the same kernel file would (compat_fd_lookup()).
 *
 * Every lock here is taken before fork() and let go on both sides
 * (pthread_atfork), so the child starts with none held; files add their own
 * locks through their ->atfork op.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "compat.h"

static _Atomic(struct compat_file *) table[COMPAT_MAX_FDS];
/*
 * Held for a load or a swap and a reference count, nothing longer: a spin
 * lock, taken twice in every emulated ioctl, costs one atomic where a mutex
 * costs two and a call each way.
 */
static atomic_flag table_lock = ATOMIC_FLAG_INIT;

static void table_lock_take(void)
{
	while (atomic_flag_test_and_set_explicit(&table_lock, memory_order_acquire))
		sched_yield();
}

static void table_lock_drop(void)
{
	atomic_flag_clear_explicit(&table_lock, memory_order_release);
}

/* Every live file: for fds that come by socket, and for fork(). */
static LIST_HEAD(, compat_file) files = LIST_HEAD_INITIALIZER(files);
static pthread_mutex_t files_lock = PTHREAD_MUTEX_INITIALIZER;

static void atfork_prepare(void)
{
	struct compat_file *f;

	pthread_mutex_lock(&files_lock);
	LIST_FOREACH(f, &files, link)
		if (f->ops->atfork)
			f->ops->atfork(f, COMPAT_FORK_PREPARE);
	table_lock_take();
}

static void atfork_done(enum compat_fork_phase phase)
{
	struct compat_file *f;

	table_lock_drop();
	LIST_FOREACH(f, &files, link) {
		/* Both processes now hold the kernel objects behind it. */
		f->shared = true;
		if (f->ops->atfork)
			f->ops->atfork(f, phase);
	}
	pthread_mutex_unlock(&files_lock);
}

static void atfork_parent(void)
{
	atfork_done(COMPAT_FORK_PARENT);
}

static void atfork_child(void)
{
	atfork_done(COMPAT_FORK_CHILD);
}

static void install_atfork(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

void compat_file_init(struct compat_file *f, const struct compat_file_ops *ops)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, install_atfork);
	memset(f, 0, sizeof(*f));
	f->ops = ops;
	f->refs = 1;
}

void compat_file_publish(struct compat_file *f, int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0) {
		f->dev = st.st_dev;
		f->ino = st.st_ino;
	} else {
		compat_trace("fd %d cannot be recognised if passed over a socket: %s", fd,
			     strerror(errno));
	}
	pthread_mutex_lock(&files_lock);
	LIST_INSERT_HEAD(&files, f, link);
	f->listed = true;
	pthread_mutex_unlock(&files_lock);
}

struct compat_file *compat_file_get(struct compat_file *f)
{
	if (compat_single_threaded())
		f->refs++;
	else
		__atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
	return f;
}

/* A reference unless the file is already on its way out (the inode path). */
static struct compat_file *file_get_unless_zero(struct compat_file *f)
{
	int n = __atomic_load_n(&f->refs, __ATOMIC_RELAXED);

	while (n > 0)
		if (__atomic_compare_exchange_n(&f->refs, &n, n + 1, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return f;
	return NULL;
}

void compat_file_put(struct compat_file *f)
{
	if (!f)
		return;
	if (compat_single_threaded() ? --f->refs : __atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL))
		return;
	if (f->listed) {
		pthread_mutex_lock(&files_lock);
		LIST_REMOVE(f, link);
		pthread_mutex_unlock(&files_lock);
	}
	f->ops->release(f);
}

int compat_file_memfd(struct compat_file *f, int flags, const char *what)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), COMPAT_MEMFD_PREFIX "%s", what);
	fd = memfd_create(name, flags & O_CLOEXEC ? MFD_CLOEXEC : 0);
	if (fd < 0)
		return -errno;
	if (fd >= COMPAT_MAX_FDS) {
		compat_trace("fd %d is beyond the %d the shim can track", fd, COMPAT_MAX_FDS);
		compat_real_close(fd);
		return -EMFILE;
	}
	compat_file_publish(f, fd);
	return fd;
}

static bool fd_in_table(int fd)
{
	return fd >= 0 && fd < COMPAT_MAX_FDS;
}

/* Set @fd's slot to @f (a reference the slot takes over); the old one is returned. */
static struct compat_file *slot_swap(int fd, struct compat_file *f)
{
	struct compat_file *old;

	table_lock_take();
	old = atomic_exchange_explicit(&table[fd], f, memory_order_acq_rel);
	table_lock_drop();
	return old;
}

int compat_fd_install(int fd, struct compat_file *f)
{
	if (!fd_in_table(fd))
		return -EMFILE;
	/* A file left in the slot was closed behind the shim's back (a raw syscall). */
	compat_file_put(slot_swap(fd, f));
	return 0;
}

struct compat_file *compat_fd_get(int fd)
{
	struct compat_file *f;

	if (!fd_in_table(fd) || !atomic_load_explicit(&table[fd], memory_order_relaxed))
		return NULL;
	if (compat_single_threaded()) {
		f = atomic_load_explicit(&table[fd], memory_order_relaxed);
		return f ? compat_file_get(f) : NULL;
	}
	table_lock_take();
	f = atomic_load_explicit(&table[fd], memory_order_relaxed);
	if (f)
		compat_file_get(f);
	table_lock_drop();
	return f;
}

void compat_fd_forget(int fd)
{
	if (!fd_in_table(fd) || !atomic_load_explicit(&table[fd], memory_order_relaxed))
		return;
	compat_file_put(slot_swap(fd, NULL));
}

int compat_fd_copy(int from, int to)
{
	struct compat_file *f = compat_fd_get(from);

	if (!fd_in_table(to)) {
		compat_file_put(f);
		return f ? -EMFILE : 0;
	}
	if (f || atomic_load_explicit(&table[to], memory_order_relaxed))
		compat_file_put(slot_swap(to, f));
	return 0;
}

/* An emulated fd whose file lives in another process: say so, loudly. */
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

struct compat_file *compat_fd_lookup(int fd, int *err)
{
	struct compat_file *f = compat_fd_get(fd), *it;
	struct stat st;

	*err = 0;
	if (f || !fd_in_table(fd) || !compat_config()->emulate || fstat(fd, &st) < 0)
		return f;
	pthread_mutex_lock(&files_lock);
	LIST_FOREACH(it, &files, link) {
		/* The shim's own fd on the same file (a device's bound cdev) is not the program's. */
		if (it->ino == st.st_ino && it->dev == st.st_dev &&
		    !(it->ops->internal_fd && it->ops->internal_fd(it, fd))) {
			f = file_get_unless_zero(it);
			break;
		}
	}
	pthread_mutex_unlock(&files_lock);
	if (f) {
		/* Another thread may have installed it meanwhile: keep the first. */
		struct compat_file *was;

		compat_file_get(f);	/* one for the slot, one for the caller */
		table_lock_take();
		was = atomic_load_explicit(&table[fd], memory_order_relaxed);
		if (!was)
			atomic_store_explicit(&table[fd], f, memory_order_release);
		table_lock_drop();
		if (was) {
			compat_file_put(f);
			compat_file_put(f);
			return compat_fd_get(fd);
		}
		compat_trace("fd %d is the same file as an emulated %s: taken", fd, f->ops->name);
		return f;
	}
	if (S_ISREG(st.st_mode) && foreign_emulated(fd))
		*err = -EBADFD;
	return NULL;
}
