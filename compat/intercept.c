// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The libc entry points a legacy VFIO program reaches the kernel through.
 * /dev/vfio/vfio and /dev/vfio/N become emulated objects when the kernel has
 * no VFIO container (or IOMMUFD_COMPAT=force); every other path and fd goes
 * to libc untouched, after one table lookup.
 *
 * Not interposable, and so not supported: system calls made without libc's
 * wrappers (inline assembly; libc's own internal closes other than
 * fclose()'s), and state across exec() or into an unrelated process (the
 * emulated fds are memfds there, refused with a message). See
 * libiommufd-compat(7).
 */
#include <dlfcn.h>
#include <linux/close_range.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "compat.h"

#define EXPORT __attribute__((visibility("default")))

/* Interposed names that no libc header declares. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
int __xstat(int ver, const char *path, struct stat *st);
int __xstat64(int ver, const char *path, struct stat64 *st);
int __lxstat(int ver, const char *path, struct stat *st);
int __lxstat64(int ver, const char *path, struct stat64 *st);
int fcntl64(int fd, int cmd, ...);

/*
 * The next definition of each function (libc's, or another interposer's),
 * looked up on first use. Any of these may be called before the shim's
 * constructor has run: the constructors of the libraries a program links
 * (libselinux, gnutls, ...) run before a preloaded library's, and they open
 * and stat files. Threads that race here store the same pointer. Where no
 * next definition exists (a libc without close_range()), the system call is
 * made directly.
 */
static void *next_sym(void **slot, const char *name)
{
	void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	if (!p) {
		p = dlsym(RTLD_NEXT, name);
		__atomic_store_n(slot, p, __ATOMIC_RELEASE);
	}
	return p;
}

#define NEXT(name)                                                                       \
	({                                                                               \
		static void *next_##name;                                                \
		(__typeof__(name) *)next_sym(&next_##name, #name);                       \
	})
/* Call the next @name, or make system call @nr with the same arguments. */
#define CALL_NEXT(name, nr, ...)                                                         \
	({                                                                               \
		__typeof__(name) *fn_ = NEXT(name);                                      \
		fn_ ? fn_(__VA_ARGS__) : (__typeof__(name(__VA_ARGS__)))syscall_raw(nr, __VA_ARGS__); \
	})

/* A system call without our syscall() in the way; -1 and errno on failure. */
#define syscall_raw(nr, ...) real_syscall(nr, __VA_ARGS__)

static long real_syscall(long nr, ...)
{
	long (*fn)(long, ...) = NEXT(syscall);
	long a[6];
	va_list ap;

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (!fn) {
		errno = ENOSYS;
		return -1;
	}
	return fn(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

int compat_real_ioctl(int fd, unsigned long req, void *arg)
{
	return CALL_NEXT(ioctl, SYS_ioctl, fd, req, arg);
}

int compat_real_close(int fd)
{
	return CALL_NEXT(close, SYS_close, fd);
}

/*
 * glibc declares paths nonnull, but a program may pass NULL all the same and
 * the kernel then answers EFAULT: test for it rather than crash.
 */
#pragma GCC diagnostic ignored "-Wnonnull-compare"

__attribute__((constructor)) static void compat_init(void)
{
	compat_trace("loaded: %s", compat_config()->emulate ?
			"emulating /dev/vfio/vfio and groups on iommufd" :
			"the kernel has /dev/vfio/vfio: passing through");
}

/* Which emulated node a path names: 0 none, 1 container, 2 group. */
static int emulated(const char *path, int *group)
{
	/* Every open() in the process passes here: paths elsewhere cost one compare. */
	if (!path || strncmp(path, "/dev/vfio/", 10) || !compat_config()->emulate)
		return 0;
	if (!strcmp(path, "/dev/vfio/vfio"))
		return 1;
	return compat_path_group(path, group) ? 2 : 0;
}

static int fail(int r)
{
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}

static int open_emulated(int kind, int group, int flags)
{
	return fail(kind == 1 ? compat_open_container(flags) : compat_open_group(group, flags));
}

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0;
}

EXPORT int open(const char *path, int flags, ...)
{
	int g, k = emulated(path, &g);
	va_list ap;
	mode_t m;

	if (k)
		return open_emulated(k, g, flags);
	va_start(ap, flags);
	m = mode_arg(flags, ap);
	va_end(ap);
	return CALL_NEXT(open, SYS_open, path, flags, m);
}

EXPORT int open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t m;

	va_start(ap, flags);
	m = mode_arg(flags, ap);
	va_end(ap);
	return open(path, flags, m);
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	int g, k = path && path[0] == '/' ? emulated(path, &g) : 0;
	va_list ap;
	mode_t m;

	if (k)
		return open_emulated(k, g, flags);
	va_start(ap, flags);
	m = mode_arg(flags, ap);
	va_end(ap);
	return CALL_NEXT(openat, SYS_openat, dirfd, path, flags, m);
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t m;

	va_start(ap, flags);
	m = mode_arg(flags, ap);
	va_end(ap);
	return openat(dirfd, path, flags, m);
}

/* The _FORTIFY_SOURCE variants. */
EXPORT int __open_2(const char *path, int flags)
{
	return open(path, flags);
}

EXPORT int __open64_2(const char *path, int flags)
{
	return open(path, flags);
}

EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	return openat(dirfd, path, flags);
}

EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	return openat(dirfd, path, flags);
}

/*
 * The ioctls an emulated fd that came by a socket may first see: those of
 * containers and groups (VFIO_BASE + 0..6 and + 12..17), which cover hot
 * reset on devices. Device I/O (region, IRQ, reset) never pays a lookup.
 */
static bool maybe_emulated(unsigned long req)
{
	unsigned int nr = _IOC_NR(req) - VFIO_BASE;

	return _IOC_TYPE(req) == VFIO_TYPE && (nr <= 6 || (nr >= 12 && nr <= 17));
}

EXPORT int ioctl(int fd, unsigned long req, ...)
{
	struct compat_file *f = compat_fd_get(fd);
	va_list ap;
	void *arg;
	int r;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!f && maybe_emulated(req)) {
		f = compat_fd_lookup(fd, &r);
		if (r < 0)
			return fail(r);
	}
	if (!f)
		return CALL_NEXT(ioctl, SYS_ioctl, fd, req, arg);
	/* The reference keeps the file alive if another thread closes @fd meanwhile. */
	r = f->ops->ioctl(f, fd, req, arg);
	if (f->ops != &compat_device_ops)
		compat_trace("ioctl(%d, 0x%lx) = %d%s%s", fd, req, r, r < 0 ? " " : "",
			     r < 0 ? strerror(-r) : "");
	compat_file_put(f);
	return fail(r);
}

EXPORT int close(int fd)
{
	compat_fd_forget(fd);
	return compat_real_close(fd);
}

/*
 * Other ways an fd closes. After each, the table forgets the fds, so a new
 * file that gets the same number is never taken for the old one.
 */
static void forget_range(unsigned int first, unsigned int last)
{
	for (unsigned int fd = first; fd <= last && fd < COMPAT_MAX_FDS; fd++)
		compat_fd_forget((int)fd);
}

/* Forgotten first: once closed, the numbers may be another thread's new files. */
EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	if (first <= last && !(flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)) &&
	    !(flags & CLOSE_RANGE_CLOEXEC))
		forget_range(first, last);
	return CALL_NEXT(close_range, SYS_close_range, first, last, flags);
}

EXPORT void closefrom(int lowfd)
{
	void (*fn)(int) = NEXT(closefrom);

	forget_range(lowfd < 0 ? 0 : (unsigned int)lowfd, ~0U);
	if (fn)
		fn(lowfd);
	else
		real_syscall(SYS_close_range, lowfd, ~0U, 0);
}

EXPORT int fclose(FILE *stream)
{
	int (*fn)(FILE *) = NEXT(fclose);
	/* fdopen() of an emulated fd: fclose() closes it inside libc. */
	int fd = stream ? fileno(stream) : -1;

	if (fd >= 0)
		compat_fd_forget(fd);
	if (!fn) {
		errno = ENOSYS;
		return EOF;
	}
	return fn(stream);
}

/* A duplicate refers to the same file, or to none if it is not ours. */
static int dup_done(int oldfd, int newfd)
{
	int r;

	if (newfd < 0)
		return newfd;
	r = compat_fd_copy(oldfd, newfd);
	if (r < 0) {
		/* An emulated fd the table cannot hold would be a dead one: refuse it. */
		compat_real_close(newfd);
		return fail(r);
	}
	return newfd;
}

EXPORT int dup(int fd)
{
	return dup_done(fd, CALL_NEXT(dup, SYS_dup, fd));
}

/* dup2() and dup3() close @fd2 only when they succeed. */
EXPORT int dup2(int fd, int fd2)
{
	int r = CALL_NEXT(dup2, SYS_dup2, fd, fd2);

	return r < 0 || fd == fd2 ? r : dup_done(fd, r);
}

EXPORT int dup3(int fd, int fd2, int flags)
{
	return dup_done(fd, CALL_NEXT(dup3, SYS_dup3, fd, fd2, flags));
}

EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	long arg;
	int r;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	r = CALL_NEXT(fcntl, SYS_fcntl, fd, cmd, arg);
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		return dup_done(fd, r);
	return r;
}

EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	return fcntl(fd, cmd, arg);
}

/*
 * syscall(SYS_close, ...) and the like reach the same fds: route the ones
 * that open, close, duplicate or ioctl through the wrappers above.
 */
EXPORT long syscall(long nr, ...)
{
	long a[6];
	va_list ap;

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	switch (nr) {
	case SYS_open:
		return open((const char *)a[0], (int)a[1], (mode_t)a[2]);
	case SYS_openat:
		return openat((int)a[0], (const char *)a[1], (int)a[2], (mode_t)a[3]);
	case SYS_close:
		return close((int)a[0]);
	case SYS_close_range:
		return close_range((unsigned int)a[0], (unsigned int)a[1], (int)a[2]);
	case SYS_ioctl:
		return ioctl((int)a[0], (unsigned long)a[1], (void *)a[2]);
	case SYS_dup:
		return dup((int)a[0]);
	case SYS_dup2:
		return dup2((int)a[0], (int)a[1]);
	case SYS_dup3:
		return dup3((int)a[0], (int)a[1], (int)a[2]);
	case SYS_fcntl:
		return fcntl((int)a[0], (int)a[1], a[2]);
	default:
		return real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	}
}

/* What stat() says of the real nodes: char devices, 10:196 for the container. */
static int fake_stat(int kind, int group, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFCHR | (kind == 1 ? 0666 : 0600);
	st->st_rdev = kind == 1 ? makedev(10, 196) : makedev(511, group);
	st->st_nlink = 1;
	st->st_blksize = 4096;
	return 0;
}

/* Whether group @g exists: the IOMMU core has it even with no VFIO group files. */
static bool group_exists(int g)
{
	char dir[64];

	snprintf(dir, sizeof(dir), "/sys/kernel/iommu_groups/%d", g);
	return real_syscall(SYS_faccessat, AT_FDCWD, dir, F_OK) == 0;
}

EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	int g, k = path && path[0] == '/' ? emulated(path, &g) : 0;

	if (k == 1 || (k == 2 && group_exists(g)))
		return fake_stat(k, g, st);
	return CALL_NEXT(fstatat, SYS_newfstatat, dirfd, path, st, flags);
}

/* On 64-bit, struct stat64 is struct stat. */
_Static_assert(sizeof(struct stat64) == sizeof(struct stat), "stat64 layout");

EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
	return fstatat(dirfd, path, (struct stat *)st, flags);
}

EXPORT int stat(const char *path, struct stat *st)
{
	return fstatat(AT_FDCWD, path, st, 0);
}

EXPORT int stat64(const char *path, struct stat64 *st)
{
	return fstatat(AT_FDCWD, path, (struct stat *)st, 0);
}

EXPORT int lstat(const char *path, struct stat *st)
{
	return fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

EXPORT int lstat64(const char *path, struct stat64 *st)
{
	return fstatat(AT_FDCWD, path, (struct stat *)st, AT_SYMLINK_NOFOLLOW);
}

/* Binaries built against glibc before 2.33 call these. */
EXPORT int __xstat(int ver, const char *path, struct stat *st)
{
	(void)ver;
	return stat(path, st);
}

EXPORT int __xstat64(int ver, const char *path, struct stat64 *st)
{
	(void)ver;
	return stat64(path, st);
}

EXPORT int __lxstat(int ver, const char *path, struct stat *st)
{
	(void)ver;
	return lstat(path, st);
}

EXPORT int __lxstat64(int ver, const char *path, struct stat64 *st)
{
	(void)ver;
	return lstat64(path, st);
}

EXPORT int faccessat(int dirfd, const char *path, int amode, int flags)
{
	int g, k = path && path[0] == '/' ? emulated(path, &g) : 0;

	if (k == 1)
		return 0;
	if (k == 2) {
		if (group_exists(g))
			return 0;
		errno = ENOENT;
		return -1;
	}
	return CALL_NEXT(faccessat, SYS_faccessat, dirfd, path, amode, flags);
}

EXPORT int access(const char *path, int amode)
{
	return faccessat(AT_FDCWD, path, amode, 0);
}
