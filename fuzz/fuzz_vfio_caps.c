// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * VFIO capability chains: iommufd_find_cap() (libiommufd/device_region.c)
 * on a buffer straight from the input, and the region info a VFIO cdev
 * returns, capability chain and all, through iommufd_device_region_info()
 * and iommufd_device_region_mmap() over the fake kernel (whose
 * VFIO_DEVICE_GET_REGION_INFO answers with the input, keeping the argsz
 * protocol: a short buffer gets the size it needs).
 *
 * What must hold: a found capability lies inside the buffer, at or past
 * the fixed part, aligned, with the ID asked for; a walk ends (a chain that
 * loops or goes backwards is -EINVAL); region info has at most
 * IOMMUFD_MAX_SPARSE_AREAS areas and an error comes with an explanation.
 *
 * Input: byte 0 picks the part. Walk: a length byte, offset, min offset and
 * ID, then the buffer. Region: the replies (split at byte 1), faults, then
 * region index and mmap offset/length choices.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "../libiommufd/device_internal.h"
#include "fuzz.h"

static void walk(struct fz *in)
{
	size_t len = fz_u16(in) % 2048, offset = fz_u16(in) % 4096, min = fz_u8(in);
	uint16_t id = fz_u16(in) % 8;
	uint8_t *buf = malloc(len ? len : 1);
	long r;

	fz_fill(in, buf, len);
	r = iommufd_find_cap(buf, len, offset, min, id);
	fuzz_assert(r == 0 || r == -EINVAL || r > 0, "find_cap: %ld", r);
	if (r > 0) {
		const struct vfio_info_cap_header *h = (const void *)(buf + r);

		fuzz_assert((size_t)r >= min && (size_t)r + sizeof(*h) <= len && r % 8 == 0,
			    "capability at %ld of %zu bytes (min %zu)", r, len, min);
		fuzz_assert(h->id == id, "capability %u found for %u", h->id, id);
	}
	free(buf);
}

static void region(struct fz *in)
{
	struct fake_kernel_opts ko = { .replies = fz_split(in, fz_u8(in) * 8) };
	struct iommufd_region_info info = { .sz = sizeof(info) };
	struct iommufd_device *dev = NULL;
	struct iommufd_ctx *ctx = NULL;
	int fd, cdev, r;

	ko.faults = fz_split(in, fz_u8(in) % 4);
	fake_kernel_reset(&ko);
	fd = fake_iommufd_open();
	cdev = fake_vfio_cdev_open();
	if (fd < 0 || cdev < 0 || iommufd_ctx_from_fd(fd, IOMMUFD_CTX_FD_OWN, &ctx) < 0) {
		if (fd >= 0)
			close(fd);
		if (cdev >= 0)
			close(cdev);
		return;
	}
	if (iommufd_device_from_fd(ctx, cdev, IOMMUFD_CTX_FD_OWN, 1, &dev) < 0) {
		close(cdev);
		goto out;
	}
	for (int i = 0; i < 3 && in->n; i++) {
		uint32_t index = fz_u8(in) % 10;
		uint64_t off, len;
		void *p;

		memset(&info, 0x5a, sizeof(info));
		r = iommufd_device_region_info(dev, index, &info);
		if (r < 0) {
			fuzz_assert(iommufd_last_error()[0], "region %u: %d, no explanation", index, r);
			continue;
		}
		fuzz_assert(info.index == index && info.nr_sparse <= IOMMUFD_MAX_SPARSE_AREAS,
			    "region %u: index %u, %u sparse areas", index, info.index,
			    info.nr_sparse);
		/* The mmap checks (sizes, sparse areas) on the same reply. */
		off = fz_u64(in) & ~0xfffULL & 0xffffffff;
		len = (fz_u32(in) & ~0xfffULL) + 4096;
		r = iommufd_device_region_mmap(dev, index, off, len, PROT_READ, &p);
		if (!r)
			munmap(p, len);
		else
			fuzz_assert(iommufd_last_error()[0], "mmap: %d, no explanation", r);
	}
	iommufd_device_close(dev);
out:
	iommufd_ctx_unref(ctx);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = { data, size };

	fake_reset();
	if (fz_u8(&in) & 1)
		region(&in);
	else
		walk(&in);
	fake_reset();
	return 0;
}
