// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The fake world of the fuzz harnesses. The code under test reaches the
 * kernel through libc's ioctl(), open(), close(), fcntl(), readlink() and
 * fopen(); defining them here, in the fuzz program, puts these in front of
 * libc's for every caller (the library objects, the shim's, and the shared
 * libraries it links, as the dynamic linker resolves to the program first).
 * What is not fake passes through to the system call, or to libc's fopen().
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fuzz.h"

FILE *fuzz_stderr;

void fuzz_quiet(void)
{
	FILE *out, *err;

	/* A stream of our own on fd 2 for fuzz_assert(); stdio's go to /dev/null. */
	if (!fuzz_stderr)
		fuzz_stderr = fdopen(dup(2), "w");
	/* Opened either way, so that a reproducer sees the same fd numbers verbose. */
	out = fopen("/dev/null", "w");
	err = fopen("/dev/null", "w");
	if (getenv("FUZZ_VERBOSE"))
		return;
	stdout = out;
	stderr = err;
}

#define MAX_FAKE_FDS 128

struct fake_fd {
	bool used;
	int fd;
	fake_ioctl_fn ioctl;
	void (*release)(void *priv);
	void *priv;
	char link[64];
};

static struct fake_fd fds[MAX_FAKE_FDS];
static pthread_mutex_t fds_lock = PTHREAD_MUTEX_INITIALIZER;
struct fake_hooks fake_hooks;

static struct fake_fd *find_fd(int fd)
{
	for (int i = 0; i < MAX_FAKE_FDS; i++)
		if (fds[i].used && fds[i].fd == fd)
			return &fds[i];
	return NULL;
}

static int add_fd(int fd, fake_ioctl_fn ioctl_fn, void (*release)(void *), void *priv,
		  const char *link)
{
	pthread_mutex_lock(&fds_lock);
	for (int i = 0; i < MAX_FAKE_FDS; i++) {
		if (fds[i].used)
			continue;
		fds[i] = (struct fake_fd){ .used = true, .fd = fd, .ioctl = ioctl_fn,
					   .release = release, .priv = priv };
		snprintf(fds[i].link, sizeof(fds[i].link), "%s", link ? link : "");
		pthread_mutex_unlock(&fds_lock);
		return fd;
	}
	pthread_mutex_unlock(&fds_lock);
	syscall(SYS_close, fd);
	errno = EMFILE;
	return -1;
}

int fake_fd_new(fake_ioctl_fn ioctl_fn, void (*release)(void *), void *priv, const char *link)
{
	int fd = (int)syscall(SYS_memfd_create, "fuzz-fake", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	return add_fd(fd, ioctl_fn, release, priv, link);
}

int fake_fd_move(int fd, int to)
{
	struct fake_fd *f;

	if (syscall(SYS_dup3, fd, to, O_CLOEXEC) < 0)
		return -1;
	pthread_mutex_lock(&fds_lock);
	f = find_fd(to);
	if (f)
		f->used = false;	/* replaced, as dup2() replaces */
	f = find_fd(fd);
	if (f)
		f->fd = to;
	pthread_mutex_unlock(&fds_lock);
	syscall(SYS_close, fd);
	return to;
}

void *fake_fd_priv(int fd, fake_ioctl_fn ioctl_fn)
{
	struct fake_fd *f;
	void *p = NULL;

	pthread_mutex_lock(&fds_lock);
	f = find_fd(fd);
	if (f && f->ioctl == ioctl_fn)
		p = f->priv;
	pthread_mutex_unlock(&fds_lock);
	return p;
}

void fake_fd_close_all(void)
{
	pthread_mutex_lock(&fds_lock);
	for (int i = 0; i < MAX_FAKE_FDS; i++) {
		if (fds[i].used)
			syscall(SYS_close, fds[i].fd);
		fds[i].used = false;
	}
	pthread_mutex_unlock(&fds_lock);
}

/*
 * fork() while another thread is inside a fake ioctl: the child must not
 * inherit the table's lock held. Registered before the shim registers its
 * own handlers (it does so at its first file), so that the shim's prepare,
 * which takes its files' locks, runs first, in the order its ioctls take
 * them: a file's lock, then the fake kernel's, then the table's.
 */
static void fds_lock_take(void)
{
	pthread_mutex_lock(&fds_lock);
}

static void fds_lock_give(void)
{
	pthread_mutex_unlock(&fds_lock);
}

static void fds_atfork(void)
{
	pthread_atfork(fds_lock_take, fds_lock_give, fds_lock_give);
}

void fake_reset(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, fds_atfork);
	fake_fd_close_all();
	memset(&fake_hooks, 0, sizeof(fake_hooks));
}

int ioctl(int fd, unsigned long req, ...)
{
	struct fake_fd copy, *f;
	va_list ap;
	void *arg;
	int r;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	pthread_mutex_lock(&fds_lock);
	f = find_fd(fd);
	if (f)
		copy = *f;
	pthread_mutex_unlock(&fds_lock);
	if (!f)
		return (int)syscall(SYS_ioctl, fd, req, arg);
	r = copy.ioctl(copy.priv, fd, req, arg);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}

/* The last fd of a fake closed: its release, as the kernel's file release. */
int close(int fd)
{
	void (*release)(void *) = NULL;
	struct fake_fd *f;
	void *priv = NULL;

	pthread_mutex_lock(&fds_lock);
	f = find_fd(fd);
	if (f) {
		f->used = false;
		release = f->release;
		priv = f->priv;
		for (int i = 0; i < MAX_FAKE_FDS && release; i++)
			if (fds[i].used && fds[i].priv == priv)
				release = NULL;
	}
	pthread_mutex_unlock(&fds_lock);
	if (release)
		release(priv);
	return (int)syscall(SYS_close, fd);
}

int fcntl(int fd, int cmd, ...)
{
	struct fake_fd copy, *f;
	va_list ap;
	long arg;
	int r;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	r = (int)syscall(SYS_fcntl, fd, cmd, arg);
	if (r < 0 || (cmd != F_DUPFD && cmd != F_DUPFD_CLOEXEC))
		return r;
	pthread_mutex_lock(&fds_lock);
	f = find_fd(fd);
	if (f)
		copy = *f;
	pthread_mutex_unlock(&fds_lock);
	return f ? add_fd(r, copy.ioctl, copy.release, copy.priv, copy.link[0] ? copy.link : NULL)
		 : r;
}

ssize_t readlink(const char *path, char *buf, size_t len)
{
	const char *target = fake_hooks.readlink ? fake_hooks.readlink(path) : NULL;
	char own[64];
	int fd;

	if (!target && sscanf(path, "/proc/self/fd/%d", &fd) == 1) {
		struct fake_fd *f;

		pthread_mutex_lock(&fds_lock);
		f = find_fd(fd);
		if (f && f->link[0]) {
			snprintf(own, sizeof(own), "%s", f->link);
			target = own;
		}
		pthread_mutex_unlock(&fds_lock);
	}
	if (target) {
		size_t n = strlen(target) < len ? strlen(target) : len;

		if (!*target) {
			errno = ENOENT;
			return -1;
		}
		memcpy(buf, target, n);
		return (ssize_t)n;
	}
	return syscall(SYS_readlink, path, buf, len);
}

FILE *fopen(const char *path, const char *mode)
{
	static FILE *(*real)(const char *, const char *);
	const void *data;
	size_t len;

	if (fake_hooks.fopen && fake_hooks.fopen(path, &data, &len)) {
		if (!len)
			path = "/dev/null";
		else
			return fmemopen((void *)data, len, "r");
	}
	if (!real)
		real = (FILE * (*)(const char *, const char *)) dlsym(RTLD_NEXT, "fopen");
	return real(path, mode);
}

int access(const char *path, int mode)
{
	if (fake_hooks.access) {
		int r = fake_hooks.access(path);

		if (r != -2) {
			if (r < 0)
				errno = ENOENT;
			return r;
		}
	}
	return (int)syscall(SYS_faccessat, AT_FDCWD, path, mode);
}

size_t fake_fd_count(void)
{
	size_t n = 0;

	pthread_mutex_lock(&fds_lock);
	for (int i = 0; i < MAX_FAKE_FDS; i++)
		n += fds[i].used;
	pthread_mutex_unlock(&fds_lock);
	return n;
}

void fake_fd_describe(char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	pthread_mutex_lock(&fds_lock);
	for (int i = 0; i < MAX_FAKE_FDS && off < len; i++)
		if (fds[i].used)
			off += (size_t)snprintf(buf + off, len - off, "%s%d (%s)", off ? ", " : "",
						fds[i].fd, fds[i].link);
	pthread_mutex_unlock(&fds_lock);
}

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	if (fake_hooks.open) {
		int fd = fake_hooks.open(path, flags);

		if (fd >= 0)
			return fd;
	}
	va_start(ap, flags);
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		mode = va_arg(ap, mode_t);
	va_end(ap);
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}
