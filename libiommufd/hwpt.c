// SPDX-License-Identifier: LGPL-2.1-or-later
/* Hardware page tables: allocation, dirty tracking, nested invalidation. */
#include <stdlib.h>

#include "internal.h"

#define UAPI_SIZE(TYPE, LAST) ((uint32_t)offsetofend(struct TYPE, LAST))
#define HWPT_FLAGS_ALL \
	(IOMMUFD_HWPT_NEST_PARENT | IOMMUFD_HWPT_DIRTY_TRACKING | IOMMUFD_HWPT_FAULT_ID_VALID)

IOMMUFD_API int iommufd_hwpt_alloc(struct iommufd_ctx *ctx, uint32_t dev_id, uint32_t pt_id,
				   const struct iommufd_hwpt_alloc_opts *opts, uint32_t *hwpt_id)
{
	struct iommu_hwpt_alloc cmd = {
		.size = UAPI_SIZE(iommu_hwpt_alloc, data_uptr),
		.dev_id = dev_id,
		.pt_id = pt_id,
	};
	int r;

	check_ctx(ctx);
	check_arg(hwpt_id);
	r = check_opts(ctx, opts, iommufd_hwpt_alloc_opts, data);
	if (r < 0)
		return r;
	/* The enum values are the uAPI's bits. */
	cmd.flags = opts_get(opts, iommufd_hwpt_alloc_opts, flags, 0);
	cmd.data_type = opts_get(opts, iommufd_hwpt_alloc_opts, data_type, 0);
	cmd.data_len = opts_get(opts, iommufd_hwpt_alloc_opts, data_len, 0);
	cmd.data_uptr = (uintptr_t)opts_get(opts, iommufd_hwpt_alloc_opts, data, NULL);
	if (cmd.flags & ~HWPT_FLAGS_ALL)
		return iommufd_fail(ctx, -EINVAL, "HWPT alloc: unknown flags 0x%x",
				    cmd.flags & ~HWPT_FLAGS_ALL);
	if (cmd.data_len && !cmd.data_uptr)
		return iommufd_fail(ctx, -EINVAL, "HWPT alloc: data_len without data");
	if (cmd.flags & IOMMUFD_HWPT_FAULT_ID_VALID) {
		cmd.size = UAPI_SIZE(iommu_hwpt_alloc, fault_id);
		cmd.fault_id = opts_get(opts, iommufd_hwpt_alloc_opts, fault_id, 0);
	}
	r = xioctl(ctx->fd, IOMMU_HWPT_ALLOC, &cmd);
	if (r == -EOPNOTSUPP)
		return iommufd_fail(ctx, r,
				    "HWPT alloc for device %u: the IOMMU cannot do what flags 0x%x "
				    "ask (dirty tracking or nesting); see iommufd_get_hw_info()",
				    dev_id, cmd.flags);
	if (r == -ENOENT)
		return iommufd_fail(ctx, r, "HWPT alloc: no device %u or no IOAS/HWPT %u", dev_id,
				    pt_id);
	if (r == -EINVAL)
		return iommufd_fail(ctx, r,
				    "HWPT alloc for device %u on %u refused: a nested HWPT needs a "
				    "NEST_PARENT HWPT and driver data, a paging one an IOAS and no "
				    "data", dev_id, pt_id);
	if (r < 0)
		return iommufd_fail_errno(ctx, r, "IOMMU_HWPT_ALLOC");
	*hwpt_id = cmd.out_hwpt_id;
	return 0;
}

IOMMUFD_API int iommufd_hwpt_set_dirty_tracking(struct iommufd_ctx *ctx, uint32_t hwpt_id,
						bool enable)
{
	struct iommu_hwpt_set_dirty_tracking cmd = {
		.size = UAPI_SIZE(iommu_hwpt_set_dirty_tracking, __reserved),
		.flags = enable ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0,
		.hwpt_id = hwpt_id,
	};
	int r;

	check_ctx(ctx);
	r = xioctl(ctx->fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd);
	if (r == -EOPNOTSUPP || r == -EINVAL)
		return iommufd_fail(ctx, r,
				    "HWPT %u was not allocated with IOMMUFD_HWPT_DIRTY_TRACKING, "
				    "or its IOMMU has no dirty tracking", hwpt_id);
	if (r < 0)
		return iommufd_fail_errno(ctx, r, "IOMMU_HWPT_SET_DIRTY_TRACKING");
	return 0;
}

IOMMUFD_API int iommufd_hwpt_get_dirty_bitmap(struct iommufd_ctx *ctx, uint32_t hwpt_id,
					      uint64_t iova, uint64_t length, uint64_t page_size,
					      uint64_t *bitmap, unsigned int flags)
{
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.size = UAPI_SIZE(iommu_hwpt_get_dirty_bitmap, data),
		.hwpt_id = hwpt_id,
		.flags = flags & IOMMUFD_DIRTY_NO_CLEAR ? IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR : 0,
		.iova = iova,
		.length = length,
		.page_size = page_size,
		.data = (uintptr_t)bitmap,
	};
	int r;

	check_ctx(ctx);
	check_arg(bitmap);
	if (flags & ~IOMMUFD_DIRTY_NO_CLEAR)
		return iommufd_fail(ctx, -EINVAL, "dirty bitmap: unknown flags 0x%x", flags);
	if (!page_size || (page_size & (page_size - 1)))
		return iommufd_fail(ctx, -EINVAL,
				    "dirty bitmap: page size 0x%llx is not a power of two",
				    (unsigned long long)page_size);
	if ((iova | length) & (page_size - 1))
		return iommufd_fail(ctx, -EINVAL,
				    "dirty bitmap: IOVA 0x%llx and length 0x%llx must be multiples "
				    "of the page size 0x%llx", (unsigned long long)iova,
				    (unsigned long long)length, (unsigned long long)page_size);
	r = xioctl(ctx->fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd);
	if (r == -EINVAL)
		return iommufd_fail(ctx, r,
				    "HWPT %u: dirty bitmap of 0x%llx-0x%llx refused: tracking off, "
				    "range not mapped, or page size below the IOAS alignment",
				    hwpt_id, (unsigned long long)iova,
				    (unsigned long long)(iova + length - 1));
	if (r < 0)
		return iommufd_fail_errno(ctx, r, "IOMMU_HWPT_GET_DIRTY_BITMAP");
	return 0;
}

IOMMUFD_API int iommufd_hwpt_invalidate(struct iommufd_ctx *ctx, uint32_t hwpt_id,
					uint32_t data_type, const void *entries,
					uint32_t entry_len, uint32_t *nr)
{
	struct iommu_hwpt_invalidate cmd = {
		.size = UAPI_SIZE(iommu_hwpt_invalidate, __reserved),
		.hwpt_id = hwpt_id,
		.data_uptr = (uintptr_t)entries,
		.data_type = data_type,
		.entry_len = entry_len,
	};
	int r;

	check_ctx(ctx);
	check_arg(nr);
	check_arg(entries || !*nr);
	cmd.entry_num = *nr;
	r = xioctl(ctx->fd, IOMMU_HWPT_INVALIDATE, &cmd);
	*nr = cmd.entry_num;
	if (r < 0)
		return iommufd_fail(ctx, r,
				    "HWPT %u: invalidation failed after %u entries: %s (only nested "
				    "HWPTs take invalidations of their own data type)", hwpt_id,
				    cmd.entry_num, strerror(-r));
	return 0;
}

int iommufd_ctx_add_auto_hwpt(struct iommufd_ctx *ctx, uint32_t hwpt_id, uint32_t ioas_id,
			      uint32_t flags)
{
	struct iommufd_auto_hwpt *tmp;
	int r = 0;

	pthread_mutex_lock(&ctx->lock);
	tmp = realloc(ctx->auto_hwpts, (ctx->nr_auto_hwpts + 1) * sizeof(*tmp));
	if (tmp) {
		ctx->auto_hwpts = tmp;
		tmp[ctx->nr_auto_hwpts++] = (struct iommufd_auto_hwpt){ hwpt_id, ioas_id, flags };
	} else {
		r = -ENOMEM;
	}
	pthread_mutex_unlock(&ctx->lock);
	return r;
}

void iommufd_ctx_forget_auto_hwpt(struct iommufd_ctx *ctx, uint32_t hwpt_id)
{
	pthread_mutex_lock(&ctx->lock);
	for (size_t i = 0; i < ctx->nr_auto_hwpts; i++)
		if (ctx->auto_hwpts[i].hwpt_id == hwpt_id) {
			ctx->auto_hwpts[i] = ctx->auto_hwpts[--ctx->nr_auto_hwpts];
			break;
		}
	pthread_mutex_unlock(&ctx->lock);
}
