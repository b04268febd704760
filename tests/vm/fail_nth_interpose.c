// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Userspace failure injection: this object, linked into a test program
 * (exported with -rdynamic), takes the place of libc's allocator entry
 * points and of the calls that make fds, mappings and threads, for the
 * program, the libraries it links statically and any shared object it
 * loads (the compat shim too), and of glibc's own internal malloc calls
 * (glibc supports replacing malloc). Each call passes straight through,
 * except that once armed (fi_user_arm(N)) the Nth such call from now fails
 * as it would when memory or fds run out: the userspace counterpart of the
 * kernel's /proc/self/task/TID/fail-nth. It also counts live heap blocks,
 * which is how a test sees a leak without valgrind.
 *
 * Not under AddressSanitizer, which owns these names itself: then nothing
 * here is compiled and fi_user_available() says so.
 */
#include <dlfcn.h>
#include <malloc.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <dirent.h>

#include "fail_nth.h"

#if defined(__SANITIZE_ADDRESS__)

bool fi_user_available(void)
{
	return false;
}

void fi_user_arm(unsigned int n, pid_t tid)
{
	(void)n;
	(void)tid;
}

bool fi_user_disarm(void)
{
	return false;
}

const char *fi_user_last(void)
{
	return "";
}

long fi_heap_live(void)
{
	return 0;
}

#else

/* glibc's own allocator, under the names it exports for replacements. */
void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void __libc_free(void *p);
void *__libc_memalign(size_t align, size_t size);

static atomic_long heap_live;		/* blocks handed out and not freed */
static atomic_uint countdown;		/* 0: disarmed; else fail when it reaches 0 */
static atomic_int armed_tid;		/* 0: any thread */
static atomic_bool hit;
static char last[96];			/* what was failed, for the report */

bool fi_user_available(void)
{
	return true;
}

void fi_user_arm(unsigned int n, pid_t tid)
{
	atomic_store(&hit, false);
	atomic_store(&armed_tid, tid);
	last[0] = '\0';
	atomic_store(&countdown, n);
}

bool fi_user_disarm(void)
{
	atomic_store(&countdown, 0);
	return atomic_load(&hit);
}

const char *fi_user_last(void)
{
	return last;
}

long fi_heap_live(void)
{
	return atomic_load(&heap_live);
}

/*
 * Should this call fail? Only while armed, only in the armed thread, and
 * only the Nth: the counter goes down once per call and fails the one that
 * takes it to zero, which also disarms it.
 */
static bool should_fail(const char *what, const void *caller)
{
	unsigned int c = atomic_load_explicit(&countdown, memory_order_relaxed);
	int tid = atomic_load_explicit(&armed_tid, memory_order_relaxed);

	if (!c)
		return false;
	if (tid && tid != (int)syscall(SYS_gettid))
		return false;
	for (;;) {
		if (!c)
			return false;
		if (atomic_compare_exchange_weak(&countdown, &c, c - 1))
			break;
	}
	if (c != 1)
		return false;
	snprintf(last, sizeof(last), "%s from %p", what, caller);
	atomic_store(&hit, true);
	return true;
}

#define CALLER __builtin_return_address(0)

void *malloc(size_t size)
{
	void *p;

	if (should_fail("malloc", CALLER)) {
		errno = ENOMEM;
		return NULL;
	}
	p = __libc_malloc(size);
	if (p)
		atomic_fetch_add(&heap_live, 1);
	return p;
}

void *calloc(size_t n, size_t size)
{
	void *p;

	if (should_fail("calloc", CALLER)) {
		errno = ENOMEM;
		return NULL;
	}
	p = __libc_calloc(n, size);
	if (p)
		atomic_fetch_add(&heap_live, 1);
	return p;
}

void *realloc(void *old, size_t size)
{
	void *p;

	if (old && !size) {	/* glibc frees */
		atomic_fetch_sub(&heap_live, 1);
		return __libc_realloc(old, size);
	}
	if (should_fail("realloc", CALLER)) {
		errno = ENOMEM;
		return NULL;
	}
	p = __libc_realloc(old, size);
	if (p && !old)
		atomic_fetch_add(&heap_live, 1);
	return p;
}

void *reallocarray(void *old, size_t n, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(old, bytes);
}

void free(void *p)
{
	if (!p)
		return;
	atomic_fetch_sub(&heap_live, 1);
	__libc_free(p);
}

int posix_memalign(void **ret, size_t align, size_t size)
{
	void *p;

	if (!align || (align & (align - 1)) || align % sizeof(void *))
		return EINVAL;
	if (should_fail("posix_memalign", CALLER))
		return ENOMEM;
	p = __libc_memalign(align, size);
	if (!p)
		return ENOMEM;
	atomic_fetch_add(&heap_live, 1);
	*ret = p;
	return 0;
}

void *aligned_alloc(size_t align, size_t size)
{
	void *p;

	if (should_fail("aligned_alloc", CALLER)) {
		errno = ENOMEM;
		return NULL;
	}
	p = __libc_memalign(align, size);
	if (p)
		atomic_fetch_add(&heap_live, 1);
	return p;
}

void *memalign(size_t align, size_t size)
{
	void *p;

	if (should_fail("memalign", CALLER)) {
		errno = ENOMEM;
		return NULL;
	}
	p = __libc_memalign(align, size);
	if (p)
		atomic_fetch_add(&heap_live, 1);
	return p;
}

/* The next definition of @name: the shim's when it is preloaded, else libc's. */
static void *next(void **slot, const char *name)
{
	void *p = atomic_load_explicit((void *_Atomic *)slot, memory_order_acquire);

	if (!p) {
		p = dlsym(RTLD_NEXT, name);
		atomic_store_explicit((void *_Atomic *)slot, p, memory_order_release);
	}
	return p;
}

#define NEXT(name) ((__typeof__(&name))next(&next_##name, #name))

/* An fd-making call that fails as if the process ran out of fds. */
#define FAIL_FD(what)                                                                    \
	do {                                                                             \
		if (should_fail(what, CALLER)) {                                         \
			errno = EMFILE;                                                  \
			return -1;                                                       \
		}                                                                        \
	} while (0)

static mode_t mode_of(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0;
}

static void *next_open, *next_open64, *next_openat, *next_openat64, *next___open_2,
	*next___open64_2, *next_fopen, *next_fopen64, *next_opendir, *next_mmap, *next_mmap64,
	*next_munmap, *next_eventfd, *next_memfd_create, *next_pthread_create, *next_dup,
	*next_dup2, *next_dup3, *next_socket, *next_pipe, *next_pipe2;

int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_of(flags, ap);
	va_end(ap);
	FAIL_FD("open");
	return NEXT(open)(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_of(flags, ap);
	va_end(ap);
	FAIL_FD("open64");
	return NEXT(open64)(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_of(flags, ap);
	va_end(ap);
	FAIL_FD("openat");
	return NEXT(openat)(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_of(flags, ap);
	va_end(ap);
	FAIL_FD("openat64");
	return NEXT(openat64)(dirfd, path, flags, mode);
}

int __open_2(const char *path, int flags);
int __open_2(const char *path, int flags)
{
	FAIL_FD("__open_2");
	return NEXT(__open_2)(path, flags);
}

int __open64_2(const char *path, int flags);
int __open64_2(const char *path, int flags)
{
	FAIL_FD("__open64_2");
	return NEXT(__open64_2)(path, flags);
}

/* fopen() and opendir() open with libc's internal open: caught here. */
FILE *fopen(const char *path, const char *mode)
{
	if (should_fail("fopen", CALLER)) {
		errno = EMFILE;
		return NULL;
	}
	return NEXT(fopen)(path, mode);
}

FILE *fopen64(const char *path, const char *mode)
{
	if (should_fail("fopen64", CALLER)) {
		errno = EMFILE;
		return NULL;
	}
	return NEXT(fopen64)(path, mode);
}

DIR *opendir(const char *path)
{
	if (should_fail("opendir", CALLER)) {
		errno = EMFILE;
		return NULL;
	}
	return NEXT(opendir)(path);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (should_fail("mmap", CALLER)) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	return NEXT(mmap)(addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (should_fail("mmap64", CALLER)) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	return NEXT(mmap64)(addr, len, prot, flags, fd, off);
}

/* The kernel fails an unmap that must split a VMA when it has no memory. */
int munmap(void *addr, size_t len)
{
	if (should_fail("munmap", CALLER)) {
		errno = ENOMEM;
		return -1;
	}
	return NEXT(munmap)(addr, len);
}

int eventfd(unsigned int count, int flags)
{
	FAIL_FD("eventfd");
	return NEXT(eventfd)(count, flags);
}

int memfd_create(const char *name, unsigned int flags)
{
	FAIL_FD("memfd_create");
	return NEXT(memfd_create)(name, flags);
}

int dup(int fd)
{
	FAIL_FD("dup");
	return NEXT(dup)(fd);
}

int dup2(int fd, int to)
{
	FAIL_FD("dup2");
	return NEXT(dup2)(fd, to);
}

int dup3(int fd, int to, int flags)
{
	FAIL_FD("dup3");
	return NEXT(dup3)(fd, to, flags);
}

int socket(int domain, int type, int proto)
{
	FAIL_FD("socket");
	return NEXT(socket)(domain, type, proto);
}

int pipe(int fds[2])
{
	FAIL_FD("pipe");
	return NEXT(pipe)(fds);
}

int pipe2(int fds[2], int flags)
{
	FAIL_FD("pipe2");
	return NEXT(pipe2)(fds, flags);
}

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	if (should_fail("pthread_create", CALLER))
		return EAGAIN;
	return NEXT(pthread_create)(t, attr, fn, arg);
}

#endif
