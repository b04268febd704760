// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * DMA memory: allocate pages (anonymous, hugetlb or a memfd), map them at an
 * allocated IOVA, and undo both on any failure: the userspace counterpart of
 * the kernel's allocate pages, alloc_iova(), iommu_map() sequence.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/memfd.h>
#include <linux/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

#define HUGE_FLAGS (IOAS_DMA_HUGE_2M | IOAS_DMA_HUGE_1G)
#define DMA_FLAGS_ALL (HUGE_FLAGS | IOAS_DMA_MEMFD | IOAS_DMA_FALLBACK | IOAS_DMA_READ_ONLY)

static uint64_t page_of(unsigned int flags)
{
	return flags & IOAS_DMA_HUGE_1G ? 1ULL << 30 : flags & IOAS_DMA_HUGE_2M ? 2ULL << 20 : 4096;
}

/* Pages for @len bytes as @flags ask: 0 and *addr (and *fd), or -errno. */
static int get_pages(uint64_t len, unsigned int flags, void **addr, int *fd)
{
	int huge = flags & IOAS_DMA_HUGE_1G ? MAP_HUGETLB | MAP_HUGE_1GB :
		   flags & IOAS_DMA_HUGE_2M ? MAP_HUGETLB | MAP_HUGE_2MB : 0;
	void *p;

	*fd = -1;
	if (flags & IOAS_DMA_MEMFD) {
		unsigned int mfd = MFD_CLOEXEC;

		if (flags & IOAS_DMA_HUGE_1G)
			mfd |= MFD_HUGETLB | MFD_HUGE_1GB;
		else if (flags & IOAS_DMA_HUGE_2M)
			mfd |= MFD_HUGETLB | MFD_HUGE_2MB;
		*fd = memfd_create("ioas-dma", mfd);
		if (*fd < 0)
			return -errno;
		if (ftruncate(*fd, (off_t)len) < 0)
			goto fail;
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, *fd, 0);
	} else {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | huge, -1, 0);
	}
	if (p == MAP_FAILED)
		goto fail;
	*addr = p;
	return 0;
fail:
	{
		int err = -errno;

		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return err;
	}
}

/* Give pages back: 0, or -errno with the pages still there. */
static int put_pages(void *addr, uint64_t len, int fd)
{
	int r = xmunmap(addr, len);

	if (r < 0)
		return r;
	if (fd >= 0)
		close(fd);
	return 0;
}

static unsigned long hugepages_free(uint64_t page)
{
	char path[96];
	unsigned long n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%" PRIu64 "kB/free_hugepages",
		 page >> 10);
	f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%lu", &n) != 1)
			n = 0;
		fclose(f);
	}
	return n;
}

IOMMUFD_API int ioas_dma_alloc(struct ioas *ioas, uint64_t size, const struct ioas_dma_opts *opts,
			       struct ioas_dma_buf **ret)
{
	unsigned int flags, access;
	struct ioas_dma_buf *buf;
	uint64_t page, len;
	void *addr;
	int fd, r;

	check_arg(ioas);
	check_arg(ret);
	r = check_opts(ioas->ctx, opts, ioas_dma_opts, flags);
	if (r < 0)
		return r;
	flags = opts_get(opts, ioas_dma_opts, flags, 0);
	if (!size || (flags & ~DMA_FLAGS_ALL) || (flags & HUGE_FLAGS) == HUGE_FLAGS)
		return iommufd_fail(ioas->ctx, -EINVAL,
				    "DMA buffer of 0x%" PRIx64 " bytes with flags 0x%x: empty, unknown "
				    "flags, or both huge page sizes", size, flags);

	page = page_of(flags);
	len = (size + page - 1) & ~(page - 1);
	r = get_pages(len, flags, &addr, &fd);
	if (r < 0 && (flags & HUGE_FLAGS) && (flags & IOAS_DMA_FALLBACK)) {
		flags &= ~HUGE_FLAGS;
		page = 4096;
		len = (size + page - 1) & ~(page - 1);
		r = get_pages(len, flags, &addr, &fd);
	}
	if (r < 0) {
		if (flags & HUGE_FLAGS)
			return iommufd_fail(ioas->ctx, r,
					    "no %s huge pages for a 0x%" PRIx64 " byte DMA buffer "
					    "(%lu free; see /proc/sys/vm/nr_hugepages, or pass "
					    "IOAS_DMA_FALLBACK)", page == (1ULL << 30) ? "1 GiB" : "2 MiB",
					    size, hugepages_free(page));
		return iommufd_fail(ioas->ctx, r, "cannot allocate 0x%" PRIx64 " bytes: %s", len,
				    strerror(-r));
	}

	buf = calloc(1, sizeof(*buf));
	if (!buf) {
		r = iommufd_fail(ioas->ctx, -ENOMEM, "out of memory");
		goto out_release;
	}
	access = flags & IOAS_DMA_READ_ONLY ? IOMMUFD_MAP_READ : IOMMUFD_MAP_RW;
	r = ioas_map(ioas, addr, len, access, &buf->iova);
	if (r < 0)
		goto out_free_buf;
	buf->vaddr = addr;
	buf->size = size;
	buf->mapped = len;
	buf->fd = fd;
	buf->flags = flags;
	*ret = buf;
	return 0;

out_free_buf:
	free(buf);
out_release:
	put_pages(addr, len, fd);
	return r;
}

IOMMUFD_API struct ioas_dma_buf *ioas_dma_free(struct ioas *ioas, struct ioas_dma_buf *buf)
{
	int r;

	if (!buf)
		return NULL;
	/*
	 * Unmap from the IOMMU before the pages go back: the device may still DMA.
	 * If the kernel keeps the mapping, the pages stay too.
	 */
	if (ioas) {
		r = ioas_unmap(ioas, buf->iova);
		if (r < 0) {
			errno = -r;
			return buf;
		}
	}
	r = put_pages(buf->vaddr, buf->mapped, buf->fd);
	if (r < 0) {
		/* Put it back as it was (the allocator hands the freed IOVA out first). */
		unsigned int access = buf->flags & IOAS_DMA_READ_ONLY ? IOMMUFD_MAP_READ :
									IOMMUFD_MAP_RW;

		if (ioas && ioas_map(ioas, buf->vaddr, buf->mapped, access, &buf->iova) < 0)
			iommufd_fail(ioas->ctx, r,
				     "DMA buffer at %p: munmap() failed (%s) after the IOMMU unmap, "
				     "and mapping it again failed too (%s): release it with "
				     "ioas_dma_free(NULL, buf)", buf->vaddr, strerror(-r),
				     iommufd_last_error());
		else
			iommufd_fail(ioas ? ioas->ctx : NULL, r,
				     "DMA buffer at %p: munmap() failed: %s; it is mapped as before "
				     "(IOVA 0x%" PRIx64 "): try again", buf->vaddr, strerror(-r),
				     buf->iova);
		errno = -r;
		return buf;
	}
	free(buf);
	return NULL;
}
