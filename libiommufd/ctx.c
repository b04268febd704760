// SPDX-License-Identifier: LGPL-2.1-or-later
/* The iommufd context: the fd, its references and what the kernel supports. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "internal.h"

static const struct {
	const char *name;
	unsigned long cmd;
} features[IOMMUFD_FEAT_COUNT] = {
	[IOMMUFD_FEAT_DESTROY] = { "DESTROY", IOMMU_DESTROY },
	[IOMMUFD_FEAT_IOAS_ALLOC] = { "IOAS_ALLOC", IOMMU_IOAS_ALLOC },
	[IOMMUFD_FEAT_IOAS_ALLOW_IOVAS] = { "IOAS_ALLOW_IOVAS", IOMMU_IOAS_ALLOW_IOVAS },
	[IOMMUFD_FEAT_IOAS_COPY] = { "IOAS_COPY", IOMMU_IOAS_COPY },
	[IOMMUFD_FEAT_IOAS_IOVA_RANGES] = { "IOAS_IOVA_RANGES", IOMMU_IOAS_IOVA_RANGES },
	[IOMMUFD_FEAT_IOAS_MAP] = { "IOAS_MAP", IOMMU_IOAS_MAP },
	[IOMMUFD_FEAT_IOAS_UNMAP] = { "IOAS_UNMAP", IOMMU_IOAS_UNMAP },
	[IOMMUFD_FEAT_OPTION] = { "OPTION", IOMMU_OPTION },
	[IOMMUFD_FEAT_VFIO_IOAS] = { "VFIO_IOAS", IOMMU_VFIO_IOAS },
	[IOMMUFD_FEAT_HWPT_ALLOC] = { "HWPT_ALLOC", IOMMU_HWPT_ALLOC },
	[IOMMUFD_FEAT_GET_HW_INFO] = { "GET_HW_INFO", IOMMU_GET_HW_INFO },
	[IOMMUFD_FEAT_HWPT_SET_DIRTY_TRACKING] = { "HWPT_SET_DIRTY_TRACKING",
						   IOMMU_HWPT_SET_DIRTY_TRACKING },
	[IOMMUFD_FEAT_HWPT_GET_DIRTY_BITMAP] = { "HWPT_GET_DIRTY_BITMAP",
						 IOMMU_HWPT_GET_DIRTY_BITMAP },
	[IOMMUFD_FEAT_HWPT_INVALIDATE] = { "HWPT_INVALIDATE", IOMMU_HWPT_INVALIDATE },
	[IOMMUFD_FEAT_FAULT_QUEUE_ALLOC] = { "FAULT_QUEUE_ALLOC", IOMMU_FAULT_QUEUE_ALLOC },
	/* Later kernels: the command numbers follow FAULT_QUEUE_ALLOC (0x8e). */
	[IOMMUFD_FEAT_IOAS_MAP_FILE] = { "IOAS_MAP_FILE", _IO(IOMMUFD_TYPE, 0x8f) },
	[IOMMUFD_FEAT_VIOMMU_ALLOC] = { "VIOMMU_ALLOC", _IO(IOMMUFD_TYPE, 0x90) },
	[IOMMUFD_FEAT_VDEVICE_ALLOC] = { "VDEVICE_ALLOC", _IO(IOMMUFD_TYPE, 0x91) },
	[IOMMUFD_FEAT_IOAS_CHANGE_PROCESS] = { "IOAS_CHANGE_PROCESS", _IO(IOMMUFD_TYPE, 0x92) },
	[IOMMUFD_FEAT_VEVENTQ_ALLOC] = { "VEVENTQ_ALLOC", _IO(IOMMUFD_TYPE, 0x93) },
	/* The selftest ioctl sits at the end of the 6.12 table (0xa0). */
	[IOMMUFD_FEAT_TEST] = { "TEST", _IO(IOMMUFD_TYPE, 0xa0) },
};

/*
 * Probe with a zeroed struct: its size of 0 is below every command's minimum,
 * so a kernel that has the ioctl answers EINVAL before doing anything, and
 * one that lacks it ENOTTY. (A NULL argument would not do: 6.12 reads the
 * size before it looks the command up, so it would answer EFAULT for every
 * number inside its table.)
 */
static uint64_t probe_features(int fd)
{
	uint64_t mask = 0;

	for (unsigned int i = 0; i < IOMMUFD_FEAT_COUNT; i++) {
		uint64_t zero[8] = { 0 };

		if (ioctl(fd, features[i].cmd, zero) < 0 && errno != ENOTTY)
			mask |= 1ULL << i;
	}
	return mask;
}

/*
 * This process's pid, kept by a fork handler: every call checks its context
 * was made here, and getpid() is a system call (glibc caches it no more).
 * A child made without fork() (raw clone) is not seen; see iommufd_ctx_open(3).
 */
static _Atomic pid_t self_pid;

static void refresh_pid(void)
{
	atomic_store(&self_pid, getpid());
}

static void init_pid(void)
{
	refresh_pid();
	pthread_atfork(NULL, NULL, refresh_pid);
}

static pid_t current_pid(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, init_pid);
	return atomic_load_explicit(&self_pid, memory_order_relaxed);
}

static int ctx_new(int fd, bool own_fd, struct iommufd_ctx **ret)
{
	struct iommufd_ctx *ctx;

	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	atomic_init(&ctx->refcount, 1);
	ctx->fd = fd;
	ctx->own_fd = own_fd;
	/* Fresh, not cached: fork handlers may make contexts before ours runs. */
	current_pid();
	ctx->pid = getpid();
	pthread_mutex_init(&ctx->lock, NULL);
	ctx->features = probe_features(fd);
	*ret = ctx;
	return 0;
}

IOMMUFD_API int iommufd_ctx_open(const struct iommufd_open_opts *opts, struct iommufd_ctx **ret)
{
	const char *path = "/dev/iommu";
	int fd, r;

	check_arg(ret);
	r = check_opts(NULL, opts, iommufd_open_opts, path);
	if (r < 0)
		return r;
	path = opts_get(opts, iommufd_open_opts, path, NULL) ?: path;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		if (r == -ENOENT)
			return iommufd_fail(NULL, r,
					    "%s does not exist: the kernel lacks CONFIG_IOMMUFD", path);
		return iommufd_fail(NULL, r, "cannot open %s: %s", path, strerror(-r));
	}
	r = ctx_new(fd, true, ret);
	if (r < 0) {
		close(fd);
		return iommufd_fail(NULL, r, "out of memory");
	}
	if (!iommufd_ctx_has(*ret, IOMMUFD_FEAT_IOAS_ALLOC)) {
		*ret = iommufd_ctx_unref(*ret);
		return iommufd_fail(NULL, -ENOTTY, "%s is not an iommufd", path);
	}
	return 0;
}

IOMMUFD_API int iommufd_ctx_from_fd(int fd, unsigned int flags, struct iommufd_ctx **ret)
{
	int r;

	check_arg(ret);
	check_arg(!(flags & ~IOMMUFD_CTX_FD_OWN));
	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return iommufd_fail(NULL, -EBADF, "fd %d is not open", fd);
	r = ctx_new(fd, flags & IOMMUFD_CTX_FD_OWN, ret);
	if (r < 0)
		return iommufd_fail(NULL, r, "out of memory");
	if (!iommufd_ctx_has(*ret, IOMMUFD_FEAT_IOAS_ALLOC)) {
		/* Not ours to close: the caller keeps the fd on failure. */
		(*ret)->own_fd = false;
		*ret = iommufd_ctx_unref(*ret);
		return iommufd_fail(NULL, -ENOTTY, "fd %d is not an iommufd", fd);
	}
	return 0;
}

IOMMUFD_API struct iommufd_ctx *iommufd_ctx_ref(struct iommufd_ctx *ctx)
{
	if (ctx)
		atomic_fetch_add(&ctx->refcount, 1);
	return ctx;
}

IOMMUFD_API struct iommufd_ctx *iommufd_ctx_unref(struct iommufd_ctx *ctx)
{
	if (!ctx || atomic_fetch_sub(&ctx->refcount, 1) != 1)
		return NULL;
	/* Closing the fd destroys every object it made. */
	if (ctx->own_fd)
		close(ctx->fd);
	iommufd_record_free(ctx);
	pthread_mutex_destroy(&ctx->lock);
	free(ctx->auto_hwpts);
	free(ctx);
	return NULL;
}

IOMMUFD_API int iommufd_ctx_fd(const struct iommufd_ctx *ctx)
{
	return ctx ? ctx->fd : -EINVAL;
}

IOMMUFD_API bool iommufd_ctx_has(const struct iommufd_ctx *ctx, enum iommufd_feature feat)
{
	if (!ctx || (unsigned int)feat >= IOMMUFD_FEAT_COUNT)
		return false;
	return ctx->features & (1ULL << feat);
}

IOMMUFD_API const char *iommufd_feature_name(enum iommufd_feature feat)
{
	if ((unsigned int)feat >= IOMMUFD_FEAT_COUNT)
		return NULL;
	return features[feat].name;
}

int iommufd_ctx_check(const struct iommufd_ctx *ctx)
{
	/* Objects and pins belong to the process that made them. */
	if (ctx->pid != current_pid())
		return iommufd_fail(ctx, -ECHILD,
				    "iommufd context used in a forked child (made by pid %d)",
				    (int)ctx->pid);
	return 0;
}

IOMMUFD_API void iommufd_set_log_fn(struct iommufd_ctx *ctx, iommufd_log_fn fn, void *userdata)
{
	if (!ctx)
		return;
	ctx->log_fn = fn;
	ctx->log_data = userdata;
}
