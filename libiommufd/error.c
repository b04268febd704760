// SPDX-License-Identifier: LGPL-2.1-or-later
/* Explanations of failures: per-thread text, the log hook, iommufd_strerror(). */
#include <stdio.h>

#include "internal.h"

#define EXPLANATION_MAX 512

/* One explanation per thread: no locking, and threads never see each other's. */
static __thread char last_error[EXPLANATION_MAX];

static void vlog(const struct iommufd_ctx *ctx, enum iommufd_log_level level, const char *fmt,
		 va_list ap)
{
	char msg[EXPLANATION_MAX];

	if (!ctx || !ctx->log_fn)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	ctx->log_fn(ctx->log_data, level, msg);
}

void iommufd_log(const struct iommufd_ctx *ctx, enum iommufd_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(ctx, level, fmt, ap);
	va_end(ap);
}

int iommufd_fail(const struct iommufd_ctx *ctx, int err, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	if (ctx && ctx->log_fn)
		ctx->log_fn(ctx->log_data, IOMMUFD_LOG_ERR, last_error);
	errno = saved;
	return err;
}

IOMMUFD_API int iommufd_set_last_error(int err, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	errno = saved;
	return err;
}

int iommufd_fail_errno(const struct iommufd_ctx *ctx, int err, const char *what)
{
	char buf[256];

	iommufd_strerror(err, buf, sizeof(buf));
	return iommufd_fail(ctx, err, "%s: %s", what, buf);
}

void iommufd_clear_error(void)
{
	last_error[0] = '\0';
}

IOMMUFD_API int iommufd_check_opts(const struct iommufd_ctx *ctx, const void *opts, size_t min,
				   size_t known, const char *name)
{
	size_t sz;

	if (!opts)
		return 0;
	sz = *(const size_t *)opts;	/* every opts struct begins with its size */
	if (sz < min)
		return iommufd_fail(ctx, -EINVAL, "%s: size %zu is smaller than any version", name,
				    sz);
	for (size_t i = known; i < sz; i++)
		if (((const char *)opts)[i])
			return iommufd_fail(ctx, -E2BIG, "%s: unknown non-zero field at byte %zu",
					    name, i);
	return 0;
}

IOMMUFD_API const char *iommufd_last_error(void)
{
	return last_error;
}

/*
 * What an errno means when iommufd or VFIO returns it. The kernel reuses a
 * handful of errnos for many causes; these name the common ones (each pinned
 * by the kernel's selftests) so that a bare "Invalid argument" says more.
 */
static const struct {
	int err;
	const char *text;
} meanings[] = {
	{ EINVAL, "invalid argument: a misaligned IOVA/length/address, an IOVA outside the "
		  "usable ranges, no access flag, or an incompatible domain" },
	{ EEXIST, "the IOVA range overlaps an existing mapping" },
	{ ENOENT, "no such object ID, or no mapping at that IOVA" },
	{ EBUSY, "the object is still in use (an IOAS or HWPT with a device attached, or "
		 "with an access or copy pinning it)" },
	{ EADDRINUSE, "the allowed IOVA ranges hit a reserved region of an attached device" },
	{ ENOSPC, "no free IOVA range of that size" },
	{ ENOMEM, "out of memory, or the pinned pages would exceed RLIMIT_MEMLOCK" },
	{ EFAULT, "the memory cannot be pinned (unmapped, or device memory such as a "
		  "PFNMAP BAR mapping)" },
	{ E2BIG, "the struct has non-zero fields this kernel does not know" },
	{ ENOTTY, "the kernel does not have this ioctl" },
	{ EOPNOTSUPP, "the IOMMU or kernel does not support this operation" },
	{ EOVERFLOW, "IOVA plus length overflows 64 bits" },
	{ EMSGSIZE, "the buffer is too small for the answer" },
	{ EPERM, "not permitted: ownership of every affected device is not proven" },
	{ ECHILD, "the context was made by the parent process (used after fork)" },
	{ ENODEV, "the device is not bound to a VFIO driver" },
};

IOMMUFD_API int iommufd_strerror(int err, char *buf, size_t len)
{
	const char *text = NULL;
	int n;

	if (!buf || !len)
		return -EINVAL;
	if (err < 0)
		err = -err;
	for (size_t i = 0; i < ARRAY_SIZE(meanings); i++)
		if (meanings[i].err == err)
			text = meanings[i].text;
	if (text)
		n = snprintf(buf, len, "%s (%s)", text, strerrordesc_np(err) ?: "unknown");
	else
		n = snprintf(buf, len, "%s", strerrordesc_np(err) ?: "unknown error");
	return n >= 0 && (size_t)n < len ? 0 : -ERANGE;
}
