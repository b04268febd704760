// SPDX-License-Identifier: LGPL-2.1-or-later
/* IOAS: allocate, map, unmap, copy, IOVA ranges, options, the compat IOAS. */
#include <stdlib.h>

#include "internal.h"

/*
 * Every struct is sent with the size of the version whose fields we fill
 * (offsetofend of the last one): built against newer headers, the library
 * still speaks to a 6.12 kernel, which would refuse unknown trailing bytes.
 */
#define UAPI_SIZE(TYPE, LAST) ((uint32_t)offsetofend(struct TYPE, LAST))

IOMMUFD_API int iommufd_destroy(struct iommufd_ctx *ctx, uint32_t id)
{
	struct iommu_destroy cmd = { .size = UAPI_SIZE(iommu_destroy, id), .id = id };
	int r;

	check_ctx(ctx);
	r = xioctl(ctx->fd, IOMMU_DESTROY, &cmd);
	if (r == -EBUSY)
		return iommufd_fail(ctx, r,
				    "object %u is still in use: detach its devices and destroy the "
				    "HWPTs and copies that use it first", id);
	if (r == -ENOENT)
		return iommufd_fail(ctx, r, "no object with ID %u", id);
	if (r < 0)
		return iommufd_fail_errno(ctx, r, "IOMMU_DESTROY");
	/* IDs are reused: forget what an IOAS of this ID had mapped, or a HWPT was. */
	iommufd_record_drop(ctx, id);
	iommufd_ctx_forget_auto_hwpt(ctx, id);
	return 0;
}

IOMMUFD_API int iommufd_ioas_alloc(struct iommufd_ctx *ctx, uint32_t *ioas_id)
{
	struct iommu_ioas_alloc cmd = { .size = UAPI_SIZE(iommu_ioas_alloc, out_ioas_id) };
	int r;

	check_ctx(ctx);
	check_arg(ioas_id);
	r = xioctl(ctx->fd, IOMMU_IOAS_ALLOC, &cmd);
	if (r < 0)
		return iommufd_fail_errno(ctx, r, "IOMMU_IOAS_ALLOC");
	*ioas_id = cmd.out_ioas_id;
	return 0;
}

static uint32_t map_flags_to_uapi(unsigned int flags)
{
	return (flags & IOMMUFD_MAP_READ ? IOMMU_IOAS_MAP_READABLE : 0) |
	       (flags & IOMMUFD_MAP_WRITE ? IOMMU_IOAS_MAP_WRITEABLE : 0) |
	       (flags & IOMMUFD_MAP_FIXED_IOVA ? IOMMU_IOAS_MAP_FIXED_IOVA : 0);
}

#define MAP_FLAGS_ALL (IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE | IOMMUFD_MAP_FIXED_IOVA)

/* The record's entry, before the kernel makes a mapping the record must know. */
static int record_prepare(struct iommufd_ctx *ctx, uint32_t ioas_id,
			  struct iommufd_record_entry **entry)
{
	if (iommufd_record_prepare(ctx, ioas_id, entry) < 0)
		return iommufd_fail(ctx, -ENOMEM, "IOAS %u: out of memory (for the record of the "
				    "mapping, which names it in later errors)", ioas_id);
	return 0;
}

IOMMUFD_API int iommufd_ioas_map(struct iommufd_ctx *ctx, uint32_t ioas_id, void *vaddr,
				 uint64_t length, uint64_t *iova, unsigned int flags)
{
	struct iommu_ioas_map cmd = {
		.size = UAPI_SIZE(iommu_ioas_map, iova),
		.flags = map_flags_to_uapi(flags),
		.ioas_id = ioas_id,
		.user_va = (uintptr_t)vaddr,
		.length = length,
	};
	struct iommufd_record_entry *entry;
	int r;

	check_ctx(ctx);
	check_arg(iova);
	if (flags & ~MAP_FLAGS_ALL)
		return iommufd_fail(ctx, -EINVAL, "IOAS %u: unknown map flags 0x%x", ioas_id,
				    flags & ~MAP_FLAGS_ALL);
	if (flags & IOMMUFD_MAP_FIXED_IOVA)
		cmd.iova = *iova;
	r = record_prepare(ctx, ioas_id, &entry);
	if (r < 0)
		return r;
	r = xioctl(ctx->fd, IOMMU_IOAS_MAP, &cmd);
	if (r < 0) {
		iommufd_record_cancel(ctx, ioas_id, entry);
		return iommufd_explain_map(ctx, r, ioas_id, (uintptr_t)vaddr, length,
					   flags & IOMMUFD_MAP_FIXED_IOVA ? *iova : 0, flags,
					   "map");
	}
	*iova = cmd.iova;
	iommufd_record_add(ctx, ioas_id, entry, cmd.iova, length, (uintptr_t)vaddr);
	return 0;
}

/* IOMMU_IOAS_MAP_FILE arrived in 6.13: its layout, for kernels that have it. */
struct iommufd_uapi_ioas_map_file {
	uint32_t size;
	uint32_t flags;
	uint32_t ioas_id;
	int32_t fd;
	uint64_t start;
	uint64_t length;
	uint64_t iova;
};
#define IOMMUFD_UAPI_IOAS_MAP_FILE _IO(IOMMUFD_TYPE, 0x8f)

IOMMUFD_API int iommufd_ioas_map_file(struct iommufd_ctx *ctx, uint32_t ioas_id, int fd,
				      uint64_t offset, uint64_t length, uint64_t *iova,
				      unsigned int flags)
{
	struct iommufd_uapi_ioas_map_file cmd = {
		.size = sizeof(cmd),
		.flags = map_flags_to_uapi(flags),
		.ioas_id = ioas_id,
		.fd = fd,
		.start = offset,
		.length = length,
	};
	struct iommufd_record_entry *entry;
	int r;

	check_ctx(ctx);
	check_arg(iova);
	check_arg(fd >= 0);
	if (!iommufd_ctx_has(ctx, IOMMUFD_FEAT_IOAS_MAP_FILE))
		return iommufd_fail(ctx, -EOPNOTSUPP,
				    "IOMMU_IOAS_MAP_FILE needs Linux 6.13 or later: map the memfd "
				    "with mmap() and iommufd_ioas_map() instead");
	if (flags & ~MAP_FLAGS_ALL)
		return iommufd_fail(ctx, -EINVAL, "IOAS %u: unknown map flags 0x%x", ioas_id,
				    flags & ~MAP_FLAGS_ALL);
	if (flags & IOMMUFD_MAP_FIXED_IOVA)
		cmd.iova = *iova;
	r = record_prepare(ctx, ioas_id, &entry);
	if (r < 0)
		return r;
	r = xioctl(ctx->fd, IOMMUFD_UAPI_IOAS_MAP_FILE, &cmd);
	if (r < 0)
		iommufd_record_cancel(ctx, ioas_id, entry);
	if (r == -ENOTTY)
		return iommufd_fail(ctx, -EOPNOTSUPP, "IOMMU_IOAS_MAP_FILE needs Linux 6.13 or later");
	if (r < 0)
		return iommufd_explain_map(ctx, r, ioas_id, offset, length,
					   flags & IOMMUFD_MAP_FIXED_IOVA ? *iova : 0, flags,
					   "map file");
	*iova = cmd.iova;
	iommufd_record_add(ctx, ioas_id, entry, cmd.iova, length, 0);
	return 0;
}

static int ioas_unmap_raw(struct iommufd_ctx *ctx, uint32_t ioas_id, uint64_t iova,
			  uint64_t length, uint64_t *unmapped)
{
	struct iommu_ioas_unmap cmd = {
		.size = UAPI_SIZE(iommu_ioas_unmap, length),
		.ioas_id = ioas_id,
		.iova = iova,
		.length = length,
	};
	int r;

	r = xioctl(ctx->fd, IOMMU_IOAS_UNMAP, &cmd);
	if (r < 0)
		return r;
	*unmapped = cmd.length;
	return 0;
}

IOMMUFD_API int iommufd_ioas_unmap(struct iommufd_ctx *ctx, uint32_t ioas_id, uint64_t iova,
				   uint64_t length, uint64_t *unmapped)
{
	uint64_t done = 0;
	int r;

	check_ctx(ctx);
	if (!length)
		return iommufd_fail(ctx, -EINVAL, "IOAS %u: unmap of length 0", ioas_id);
	if (iova + length - 1 < iova)
		return iommufd_fail(ctx, -EOVERFLOW,
				    "IOAS %u: unmap range 0x%llx + 0x%llx overflows 64 bits", ioas_id,
				    (unsigned long long)iova, (unsigned long long)length);
	r = ioas_unmap_raw(ctx, ioas_id, iova, length, &done);
	/* The kernel answers ENOENT both for an empty range and for one that cuts a mapping. */
	if (r == -ENOENT && !iommufd_ioas_exists(ctx, ioas_id))
		return iommufd_fail(ctx, r, "no IOAS with ID %u", ioas_id);
	if (r == -ENOENT)
		return iommufd_fail(ctx, r,
				    "IOAS %u: no mapping lies wholly inside 0x%llx-0x%llx: nothing is "
				    "mapped there, or the range cuts a mapping in two (unmap whole "
				    "mappings)", ioas_id, (unsigned long long)iova,
				    (unsigned long long)(iova + length - 1));
	if (r == -EINVAL)
		return iommufd_fail(ctx, r,
				    "IOAS %u: unmap 0x%llx-0x%llx is not aligned to the IOAS's "
				    "alignment", ioas_id, (unsigned long long)iova,
				    (unsigned long long)(iova + length - 1));
	if (r == -EBUSY)
		return iommufd_fail(ctx, r,
				    "IOAS %u: 0x%llx-0x%llx is pinned by an in-kernel access "
				    "(e.g. an emulated device) that did not let go", ioas_id,
				    (unsigned long long)iova, (unsigned long long)(iova + length - 1));
	if (r < 0)
		return iommufd_fail_errno(ctx, r, "IOMMU_IOAS_UNMAP");
	iommufd_record_remove(ctx, ioas_id, iova, iova + length - 1);
	if (unmapped)
		*unmapped = done;
	return 0;
}

IOMMUFD_API int iommufd_ioas_unmap_all(struct iommufd_ctx *ctx, uint32_t ioas_id,
				       uint64_t *unmapped)
{
	uint64_t done = 0;
	int r;

	check_ctx(ctx);
	/*
	 * A length of 2^64 does not fit in the struct: the kernel reads iova 0
	 * with length UINT64_MAX as "everything", top page included.
	 */
	r = ioas_unmap_raw(ctx, ioas_id, 0, UINT64_MAX, &done);
	/*
	 * An IOAS with nothing mapped answers 0 (iopt_unmap_all()), so ENOENT
	 * means the kernel did not find the IOAS: taken for "nothing mapped",
	 * it would report success and forget mappings that are still there.
	 */
	if (r == -ENOENT && !iommufd_ioas_exists(ctx, ioas_id))
		return iommufd_fail(ctx, r, "no IOAS with ID %u", ioas_id);
	if (r == -ENOENT)
		return iommufd_fail(ctx, r, "IOAS %u: the kernel did not find the IOAS to unmap "
				    "(it exists now: destroyed and made again meanwhile?); nothing "
				    "was unmapped", ioas_id);
	if (r < 0)
		return iommufd_fail_errno(ctx, r, "IOMMU_IOAS_UNMAP (all)");
	iommufd_record_drop(ctx, ioas_id);
	if (unmapped)
		*unmapped = done;
	return 0;
}

IOMMUFD_API int iommufd_ioas_copy(struct iommufd_ctx *ctx, uint32_t dst_ioas_id,
				  uint64_t *dst_iova, uint32_t src_ioas_id, uint64_t src_iova,
				  uint64_t length, unsigned int flags)
{
	struct iommu_ioas_copy cmd = {
		.size = UAPI_SIZE(iommu_ioas_copy, src_iova),
		.flags = map_flags_to_uapi(flags),
		.dst_ioas_id = dst_ioas_id,
		.src_ioas_id = src_ioas_id,
		.length = length,
		.src_iova = src_iova,
	};
	struct iommufd_record_entry *entry;
	int r;

	check_ctx(ctx);
	check_arg(dst_iova);
	if (flags & ~MAP_FLAGS_ALL)
		return iommufd_fail(ctx, -EINVAL, "copy: unknown flags 0x%x",
				    flags & ~MAP_FLAGS_ALL);
	if (flags & IOMMUFD_MAP_FIXED_IOVA)
		cmd.dst_iova = *dst_iova;
	r = record_prepare(ctx, dst_ioas_id, &entry);
	if (r < 0)
		return r;
	r = xioctl(ctx->fd, IOMMU_IOAS_COPY, &cmd);
	if (r < 0)
		iommufd_record_cancel(ctx, dst_ioas_id, entry);
	if (r == -ENOENT)
		return iommufd_fail(ctx, r,
				    "copy: IOAS %u has no mapping covering all of 0x%llx-0x%llx "
				    "(or an IOAS ID is wrong)", src_ioas_id,
				    (unsigned long long)src_iova,
				    (unsigned long long)(src_iova + length - 1));
	if (r < 0)
		return iommufd_explain_map(ctx, r, dst_ioas_id, 0, length,
					   flags & IOMMUFD_MAP_FIXED_IOVA ? *dst_iova : 0, flags,
					   "copy");
	*dst_iova = cmd.dst_iova;
	iommufd_record_add(ctx, dst_ioas_id, entry, cmd.dst_iova, length, 0);
	return 0;
}

/* For the explanations: the ranges without recording an error. */
int iommufd_ioas_ranges_raw(struct iommufd_ctx *ctx, uint32_t ioas_id,
			    struct iommufd_iova_range **ranges, size_t *nr, uint64_t *alignment)
{
	struct iommu_ioas_iova_ranges cmd = {
		.size = UAPI_SIZE(iommu_ioas_iova_ranges, out_iova_alignment),
		.ioas_id = ioas_id,
	};
	struct iommu_iova_range *buf = NULL, *tmp;
	struct iommufd_iova_range *out;
	int r;

	/* Two calls: the first (or a racing attach) says how many with EMSGSIZE. */
	for (;;) {
		r = xioctl(ctx->fd, IOMMU_IOAS_IOVA_RANGES, &cmd);
		if (r != -EMSGSIZE)
			break;
		tmp = realloc(buf, (cmd.num_iovas ?: 1) * sizeof(*buf));
		if (!tmp) {
			r = -ENOMEM;
			break;
		}
		buf = tmp;
		cmd.allowed_iovas = (uintptr_t)buf;
	}
	if (r < 0) {
		free(buf);
		return r;
	}
	out = calloc(cmd.num_iovas ?: 1, sizeof(*out));
	if (!out) {
		free(buf);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < cmd.num_iovas; i++) {
		out[i].start = buf[i].start;
		out[i].last = buf[i].last;
	}
	free(buf);
	*ranges = out;
	*nr = cmd.num_iovas;
	if (alignment)
		*alignment = cmd.out_iova_alignment;
	return 0;
}

bool iommufd_ioas_exists(struct iommufd_ctx *ctx, uint32_t ioas_id)
{
	struct iommu_ioas_iova_ranges cmd = {
		.size = UAPI_SIZE(iommu_ioas_iova_ranges, out_iova_alignment),
		.ioas_id = ioas_id,
	};

	return xioctl(ctx->fd, IOMMU_IOAS_IOVA_RANGES, &cmd) != -ENOENT;
}

IOMMUFD_API int iommufd_ioas_iova_ranges(struct iommufd_ctx *ctx, uint32_t ioas_id,
					 struct iommufd_iova_range **ranges, size_t *nr,
					 uint64_t *alignment)
{
	int r;

	check_ctx(ctx);
	check_arg(ranges);
	check_arg(nr);
	r = iommufd_ioas_ranges_raw(ctx, ioas_id, ranges, nr, alignment);
	if (r == -ENOENT)
		return iommufd_fail(ctx, r, "no IOAS with ID %u", ioas_id);
	if (r < 0)
		return iommufd_fail_errno(ctx, r, "IOMMU_IOAS_IOVA_RANGES");
	return 0;
}

IOMMUFD_API int iommufd_ioas_allow_iovas(struct iommufd_ctx *ctx, uint32_t ioas_id,
					 const struct iommufd_iova_range *ranges, size_t nr)
{
	struct iommu_ioas_allow_iovas cmd = {
		.size = UAPI_SIZE(iommu_ioas_allow_iovas, allowed_iovas),
		.ioas_id = ioas_id,
		.num_iovas = nr,
	};
	struct iommu_iova_range *buf = NULL;
	int r;

	check_ctx(ctx);
	check_arg(ranges || !nr);
	check_arg(nr <= UINT32_MAX);
	for (size_t i = 0; i < nr; i++)
		if (ranges[i].start > ranges[i].last)
			return iommufd_fail(ctx, -EINVAL,
					    "allowed range %zu: start 0x%llx is above last 0x%llx", i,
					    (unsigned long long)ranges[i].start,
					    (unsigned long long)ranges[i].last);
	if (nr) {
		buf = calloc(nr, sizeof(*buf));
		if (!buf)
			return iommufd_fail(ctx, -ENOMEM, "out of memory");
		for (size_t i = 0; i < nr; i++) {
			buf[i].start = ranges[i].start;
			buf[i].last = ranges[i].last;
		}
		cmd.allowed_iovas = (uintptr_t)buf;
	}
	r = xioctl(ctx->fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd);
	free(buf);
	if (r == -EADDRINUSE)
		return iommufd_fail(ctx, r,
				    "IOAS %u: the allowed ranges cover a reserved region of an "
				    "attached device (see iommufd_ioas_iova_ranges())", ioas_id);
	if (r == -EINVAL)
		return iommufd_fail(ctx, r,
				    "IOAS %u: allowed ranges must be sorted, disjoint and aligned, "
				    "and must keep every existing mapping", ioas_id);
	if (r < 0)
		return iommufd_fail_errno(ctx, r, "IOMMU_IOAS_ALLOW_IOVAS");
	return 0;
}

static int option_op(struct iommufd_ctx *ctx, uint16_t op, enum iommufd_option_id option,
		     uint32_t object_id, uint64_t *value)
{
	struct iommu_option cmd = {
		.size = UAPI_SIZE(iommu_option, val64),
		.option_id = option,
		.op = op,
		.object_id = object_id,
		.val64 = op == IOMMU_OPTION_OP_SET ? *value : 0,
	};
	int r;

	r = xioctl(ctx->fd, IOMMU_OPTION, &cmd);
	if (r == -EINVAL && option == IOMMUFD_OPTION_RLIMIT_MODE && op == IOMMU_OPTION_OP_SET)
		return iommufd_fail(ctx, r,
				    "RLIMIT_MODE is only changed on object 0 before anything is "
				    "mapped, to 0 (per user) or 1 (per process)");
	if (r == -EPERM)
		return iommufd_fail(ctx, r, "changing RLIMIT_MODE needs CAP_SYS_RESOURCE");
	if (r == -EBUSY)
		return iommufd_fail(ctx, r,
				    "option %u cannot change while pages are pinned: set it first",
				    option);
	if (r == -ENOENT)
		return iommufd_fail(ctx, r, "option %u: no object %u", option, object_id);
	if (r < 0)
		return iommufd_fail_errno(ctx, r, "IOMMU_OPTION");
	if (op == IOMMU_OPTION_OP_GET)
		*value = cmd.val64;
	return 0;
}

IOMMUFD_API int iommufd_option_get(struct iommufd_ctx *ctx, enum iommufd_option_id option,
				   uint32_t object_id, uint64_t *value)
{
	check_ctx(ctx);
	check_arg(value);
	return option_op(ctx, IOMMU_OPTION_OP_GET, option, object_id, value);
}

IOMMUFD_API int iommufd_option_set(struct iommufd_ctx *ctx, enum iommufd_option_id option,
				   uint32_t object_id, uint64_t value)
{
	check_ctx(ctx);
	return option_op(ctx, IOMMU_OPTION_OP_SET, option, object_id, &value);
}

static int vfio_ioas_op(struct iommufd_ctx *ctx, uint16_t op, uint32_t *ioas_id)
{
	struct iommu_vfio_ioas cmd = {
		.size = UAPI_SIZE(iommu_vfio_ioas, __reserved),
		.ioas_id = *ioas_id,
		.op = op,
	};
	int r;

	r = xioctl(ctx->fd, IOMMU_VFIO_IOAS, &cmd);
	if (r == -ENODEV && op == IOMMU_VFIO_IOAS_GET)
		return iommufd_fail(ctx, r, "no compat IOAS is set");
	if (r == -ENOENT)
		return iommufd_fail(ctx, r, "no IOAS with ID %u", *ioas_id);
	if (r < 0)
		return iommufd_fail_errno(ctx, r, "IOMMU_VFIO_IOAS");
	*ioas_id = cmd.ioas_id;
	return 0;
}

IOMMUFD_API int iommufd_vfio_ioas_get(struct iommufd_ctx *ctx, uint32_t *ioas_id)
{
	check_ctx(ctx);
	check_arg(ioas_id);
	return vfio_ioas_op(ctx, IOMMU_VFIO_IOAS_GET, ioas_id);
}

IOMMUFD_API int iommufd_vfio_ioas_set(struct iommufd_ctx *ctx, uint32_t ioas_id)
{
	check_ctx(ctx);
	return vfio_ioas_op(ctx, IOMMU_VFIO_IOAS_SET, &ioas_id);
}

IOMMUFD_API int iommufd_vfio_ioas_clear(struct iommufd_ctx *ctx)
{
	uint32_t id = 0;

	check_ctx(ctx);
	return vfio_ioas_op(ctx, IOMMU_VFIO_IOAS_CLEAR, &id);
}
