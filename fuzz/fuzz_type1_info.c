// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The type1 backend's walk of VFIO_IOMMU_GET_INFO's capability chain for
 * the IOVA ranges (type1_ranges() in ioas/backend_vfio.c, included here
 * whole for its static functions), over a fake container fd whose answer
 * comes from the input with type1's argsz protocol: a short buffer gets
 * the fixed part and the size it needs; the need may grow between calls
 * (a group attached meanwhile).
 *
 * What must hold: nothing read outside the reply (ASan), the alignment a
 * power of two, an error explained.
 *
 * Input: per GET_INFO call, a fault byte, the size needed (2 bytes), then
 * that many bytes of reply.
 */
#include "../ioas/backend_vfio.c"
#include "fuzz.h"

static int container_ioctl(void *priv, int fd, unsigned long req, void *arg)
{
	struct vfio_iommu_type1_info *info = arg;
	struct fz *in = priv;
	uint32_t argsz = info->argsz, need;
	uint8_t reply[2048];

	if (req != VFIO_IOMMU_GET_INFO)
		return -ENOTTY;
	if (argsz < offsetofend(struct vfio_iommu_type1_info, iova_pgsizes))
		return -EINVAL;
	if (fz_u8(in) >= 0xf0)
		return -EFAULT;
	need = (uint32_t)(sizeof(*info) + fz_u16(in) % (sizeof(reply) - sizeof(*info))) & ~7u;
	if (need < sizeof(*info))
		need = sizeof(*info);
	fz_fill(in, reply, need);
	((struct vfio_iommu_type1_info *)reply)->argsz = need;
	if (argsz < need) {
		struct vfio_iommu_type1_info *r = (void *)reply;

		r->flags |= VFIO_IOMMU_INFO_CAPS;
		r->cap_offset = 0;
		memcpy(info, reply, argsz < sizeof(*info) ? argsz : sizeof(*info));
		return 0;
	}
	memcpy(info, reply, need);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = { data, size };
	struct ioas io = { .container_fd = -1 };
	struct iommufd_iova_range *ranges = NULL;
	uint64_t align = 0;
	size_t nr = 0;
	int r;

	fake_reset();
	io.container_fd = fake_fd_new(container_ioctl, NULL, &in, "/dev/vfio/vfio");
	if (io.container_fd < 0)
		return 0;
	r = ioas_backend_type1.ranges(&io, &ranges, &nr, &align);
	if (r < 0) {
		fuzz_assert(iommufd_last_error()[0], "type1 ranges: %d, no explanation", r);
	} else {
		fuzz_assert(ranges || !nr, "type1 ranges: %zu and no array", nr);
		fuzz_assert(!(align & (align - 1)), "alignment 0x%llx", (unsigned long long)align);
		free(ranges);
	}
	fake_reset();
	return 0;
}
