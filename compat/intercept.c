// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The libc entry points a legacy VFIO program reaches the kernel through.
 * /dev/vfio/vfio and /dev/vfio/N become emulated objects when the kernel has
 * no VFIO container (or IOMMUFD_COMPAT=force); every other path and fd goes
 * to libc untouched, after one table lookup.
 *
 * Not interposable, and so not supported: raw syscall(SYS_ioctl, ...) and
 * syscall(SYS_openat, ...), and state across exec() or into an unrelated
 * process (the emulated fds are memfds there, refused with a message). See
 * libiommufd-compat(7).
 */
#include <dlfcn.h>
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

int (*real_open)(const char *path, int flags, ...);
int (*real_ioctl)(int fd, unsigned long req, ...);
int (*real_close)(int fd);
static int (*real_openat)(int dirfd, const char *path, int flags, ...);
static int (*real_dup)(int fd);
static int (*real_dup2)(int fd, int fd2);
static int (*real_dup3)(int fd, int fd2, int flags);
static int (*real_fcntl)(int fd, int cmd, ...);
static int (*real_fstatat)(int dirfd, const char *path, struct stat *st, int flags);
static int (*real_faccessat)(int dirfd, const char *path, int mode, int flags);

static int mode = -1;	/* 1: emulate, 0: pass through */

/*
 * glibc declares paths nonnull, but a program may pass NULL all the same and
 * the kernel then answers EFAULT: test for it rather than crash.
 */
#pragma GCC diagnostic ignored "-Wnonnull-compare"

__attribute__((constructor)) static void compat_init(void)
{
	const char *env = getenv("IOMMUFD_COMPAT");

	real_open = dlsym(RTLD_NEXT, "open");
	real_openat = dlsym(RTLD_NEXT, "openat");
	real_ioctl = dlsym(RTLD_NEXT, "ioctl");
	real_close = dlsym(RTLD_NEXT, "close");
	real_dup = dlsym(RTLD_NEXT, "dup");
	real_dup2 = dlsym(RTLD_NEXT, "dup2");
	real_dup3 = dlsym(RTLD_NEXT, "dup3");
	real_fcntl = dlsym(RTLD_NEXT, "fcntl");
	real_fstatat = dlsym(RTLD_NEXT, "fstatat");
	real_faccessat = dlsym(RTLD_NEXT, "faccessat");
	if (env && !strcmp(env, "off"))
		mode = 0;
	else if (env && (!strcmp(env, "force") || !strcmp(env, "on")))
		mode = 1;
	else	/* auto: only when the kernel has no container of its own */
		mode = syscall(SYS_faccessat, AT_FDCWD, "/dev/vfio/vfio", F_OK) < 0 &&
		       errno == ENOENT;
	compat_trace("loaded: %s", mode ? "emulating /dev/vfio/vfio and groups on iommufd" :
					  "the kernel has /dev/vfio/vfio: passing through");
}

bool compat_active(void)
{
	return mode == 1;
}

/* Which emulated node a path names: 0 none, 1 container, 2 group. */
static int emulated(const char *path, int *group)
{
	if (!compat_active() || !path)
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
	return real_open(path, flags, m);
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
	return real_openat(dirfd, path, flags, m);
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
	struct compat_obj *obj = compat_fd_get(fd);
	va_list ap;
	void *arg;
	int r;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!obj && maybe_emulated(req)) {
		obj = compat_fd_lookup(fd, &r);
		if (r < 0)
			return fail(r);
	}
	if (!obj)
		return real_ioctl(fd, req, arg);
	switch (obj->kind) {
	case COMPAT_CONTAINER:
		r = compat_vfio_ioctl(obj->container, req, arg);
		break;
	case COMPAT_GROUP:
		r = compat_group_ioctl(obj->group, fd, req, arg);
		break;
	default:
		return fail(compat_device_ioctl(obj->device, fd, req, arg));
	}
	if (compat_tracing())
		compat_trace("ioctl(%d, 0x%lx) = %d%s%s", fd, req, r, r < 0 ? " " : "",
			     r < 0 ? strerror(-r) : "");
	return fail(r);
}

EXPORT int close(int fd)
{
	compat_obj_put(compat_fd_take(fd));
	return real_close(fd);
}

/* A new fd for the same object: the duplicate shares it. */
static int dup_done(int oldfd, int newfd)
{
	struct compat_obj *obj = newfd >= 0 ? compat_fd_get(oldfd) : NULL, *copy;

	if (!obj)
		return newfd;
	copy = compat_obj_dup(obj);
	if (!copy || compat_fd_set(newfd, copy) < 0) {
		/* An emulated fd the table cannot hold would be a dead one: refuse it. */
		compat_obj_put(copy);
		real_close(newfd);
		errno = copy ? EMFILE : ENOMEM;
		return -1;
	}
	return newfd;
}

EXPORT int dup(int fd)
{
	return dup_done(fd, real_dup(fd));
}

EXPORT int dup2(int fd, int fd2)
{
	if (fd != fd2 && compat_fd_get(fd2))
		compat_obj_put(compat_fd_take(fd2));	/* dup2 closes fd2 first */
	return dup_done(fd, real_dup2(fd, fd2));
}

EXPORT int dup3(int fd, int fd2, int flags)
{
	if (fd != fd2 && compat_fd_get(fd2))
		compat_obj_put(compat_fd_take(fd2));
	return dup_done(fd, real_dup3(fd, fd2, flags));
}

EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		return dup_done(fd, real_fcntl(fd, cmd, arg));
	return real_fcntl(fd, cmd, arg);
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

EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	int g, k = path && path[0] == '/' ? emulated(path, &g) : 0;

	char dir[64];

	if (k == 2)
		snprintf(dir, sizeof(dir), "/sys/kernel/iommu_groups/%d", g);
	if (k == 1 || (k == 2 && !syscall(SYS_faccessat, AT_FDCWD, dir, F_OK)))
		return fake_stat(k, g, st);
	return real_fstatat(dirfd, path, st, flags);
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
	char dir[64];

	if (k == 1)
		return 0;
	if (k == 2) {
		snprintf(dir, sizeof(dir), "/sys/kernel/iommu_groups/%d", g);
		return real_faccessat(AT_FDCWD, dir, F_OK, 0);
	}
	return real_faccessat(dirfd, path, amode, flags);
}

EXPORT int access(const char *path, int amode)
{
	return faccessat(AT_FDCWD, path, amode, 0);
}
