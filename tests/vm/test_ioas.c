// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * struct ioas against the real kernel, with the edu device attached behind
 * VT-d: every IOVA the allocator picks is accepted by the kernel and stays
 * under edu's 28-bit DMA limit, pointers translate both ways, the device
 * DMAs through buffers from the DMA helpers, and failures roll back.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>

#include "edu.h"
#include "harness.h"

#include <iommufd/ioas.h>

#define PAGE 4096ULL

FIXTURE(ioas)
{
	struct iommufd_ctx *ctx;
	struct iommufd_device *dev;
	struct ioas *ioas;
};

FIXTURE_SETUP(ioas)
{
	int r = edu_ioas_open(&self->ctx, &self->dev, &self->ioas);

	if (r == -ENODEV)
		SKIP(return, "no edu device");
	if (r == -ENXIO)
		SKIP(return, "guest booted without an IOMMU");
	ASSERT_OK(r);
}

FIXTURE_TEARDOWN(ioas)
{
	edu_ioas_close(self->ctx, self->dev, self->ioas);
}

TEST_F(ioas, kernel_accepts_every_allocated_iova)
{
	enum { N = 300 };
	static void *bufs[N];
	static uint64_t lens[N], iovas[N];
	struct ioas_tracker_stats st;
	uint64_t seed = 12345, iova;
	void *v;

	for (int i = 0; i < N; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		lens[i] = PAGE * (1 + (seed >> 33) % 64);
		bufs[i] = mmap(NULL, lens[i], PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);
		ASSERT_NE(bufs[i], MAP_FAILED);
		/* ioas_map() fixes the IOVA; success means the kernel took it. */
		ASSERT_OK(ioas_map(self->ioas, bufs[i], lens[i], IOMMUFD_MAP_RW, &iovas[i]));
		ASSERT_LE(iovas[i] + lens[i] - 1, EDU_DMA_LIMIT);
		ASSERT_EQ(iovas[i] % PAGE, 0);
	}
	/* Any pointer inside a buffer translates, and back. */
	for (int i = 0; i < N; i += 7) {
		ASSERT_OK(ioas_vaddr_to_iova(self->ioas, (char *)bufs[i] + lens[i] - 1, &iova));
		ASSERT_EQ(iova, iovas[i] + lens[i] - 1);
		ASSERT_OK(ioas_iova_to_vaddr(self->ioas, iovas[i] + 100, &v));
		ASSERT_EQ(v, (char *)bufs[i] + 100);
	}
	/* The device reaches one of them through the IOMMU. */
	ASSERT_TRUE(edu_roundtrip(self->dev, bufs[N / 2], iovas[N / 2], 128, 0x3c));
	ASSERT_OK(ioas_tracker_stats(ioas_get_tracker(self->ioas), &st));
	ASSERT_EQ(st.mappings, N);
	for (int i = 0; i < N; i++) {
		ASSERT_OK(ioas_unmap(self->ioas, iovas[i]));
		munmap(bufs[i], lens[i]);
	}
	/* Gone from the kernel too: a fixed map at a freed IOVA works again. */
	ASSERT_OK(iommufd_ioas_map(self->ctx, ioas_id(self->ioas), bufs[0] = mmap(NULL, PAGE,
				   PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
				   PAGE, &iovas[0], IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA));
	ASSERT_OK(iommufd_ioas_unmap(self->ctx, ioas_id(self->ioas), iovas[0], PAGE, NULL));
	munmap(bufs[0], PAGE);
}

TEST_F(ioas, dma_buffers_within_28_bits)
{
	IOAS_OPTS(ioas_dma_opts, memfd, .flags = IOAS_DMA_MEMFD);
	struct ioas_dma_buf *a = NULL, *b = NULL;
	uint64_t iova;

	ASSERT_OK(ioas_dma_alloc(self->ioas, 100000, NULL, &a));
	ASSERT_EQ(a->mapped, 25 * PAGE);
	ASSERT_LE(a->iova + a->mapped - 1, EDU_DMA_LIMIT);
	ASSERT_EQ(a->fd, -1);
	/* DMA into the middle of the buffer, addressed by pointer translation. */
	ASSERT_OK(ioas_vaddr_to_iova(self->ioas, (char *)a->vaddr + 8192, &iova));
	ASSERT_TRUE(edu_roundtrip(self->dev, (uint8_t *)a->vaddr + 8192, iova, 128, 0x77));

	ASSERT_OK(ioas_dma_alloc(self->ioas, PAGE, &memfd, &b));
	ASSERT_TRUE(b->fd >= 0);
	ASSERT_TRUE(edu_roundtrip(self->dev, b->vaddr, b->iova, 128, 0x78));
	iova = b->iova;
	b = ioas_dma_free(self->ioas, b);
	/* Freed: unmapped in the kernel (the device no longer reaches it). */
	ASSERT_ERR(ENOENT, iommufd_ioas_unmap(self->ctx, ioas_id(self->ioas), iova, PAGE, NULL));
	ioas_dma_free(self->ioas, a);
}

TEST_F(ioas, huge_pages_or_a_clear_refusal)
{
	IOAS_OPTS(ioas_dma_opts, huge, .flags = IOAS_DMA_HUGE_2M);
	IOAS_OPTS(ioas_dma_opts, fallback, .flags = IOAS_DMA_HUGE_2M | IOAS_DMA_FALLBACK);
	struct ioas_dma_buf *b = NULL;
	FILE *f;

	/* No huge pages reserved: refused, with where to look. */
	f = fopen("/proc/sys/vm/nr_hugepages", "w");
	ASSERT_TRUE(f != NULL);
	fputs("0", f);
	fclose(f);
	ASSERT_ERR(ENOMEM, ioas_dma_alloc(self->ioas, 4 << 20, &huge, &b));
	ASSERT_EXPLAINS("no 2 MiB huge pages");
	ASSERT_EXPLAINS("nr_hugepages");
	/* Asked to, it falls back to small pages. */
	ASSERT_OK(ioas_dma_alloc(self->ioas, 4 << 20, &fallback, &b));
	ASSERT_EQ(b->flags & IOAS_DMA_HUGE_2M, 0);
	b = ioas_dma_free(self->ioas, b);
	/* With pages reserved: hugetlb memory, 2 MiB aligned in IOVA too. */
	f = fopen("/proc/sys/vm/nr_hugepages", "w");
	ASSERT_TRUE(f != NULL);
	fputs("4", f);
	fclose(f);
	ASSERT_OK(ioas_dma_alloc(self->ioas, 4 << 20, &huge, &b));
	ASSERT_TRUE(b->flags & IOAS_DMA_HUGE_2M);
	ASSERT_EQ(b->iova % (2 << 20), 0);
	ASSERT_TRUE(edu_roundtrip(self->dev, (uint8_t *)b->vaddr + (3 << 20), b->iova + (3 << 20), 128, 0x5e));
	ioas_dma_free(self->ioas, b);
}

TEST_F(ioas, same_buffer_twice_and_overlaps)
{
	uint64_t i1, i2;
	uint8_t *p = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);

	ASSERT_NE(p, MAP_FAILED);
	ASSERT_OK(ioas_map(self->ioas, p, 4 * PAGE, IOMMUFD_MAP_RW, &i1));
	ASSERT_OK(ioas_map(self->ioas, p, 4 * PAGE, IOMMUFD_MAP_RW, &i2));
	ASSERT_EQ(i1, i2);
	/* Overlapping another mapped buffer is refused, naming it. */
	ASSERT_ERR(EEXIST, ioas_map(self->ioas, p + PAGE, 4 * PAGE, IOMMUFD_MAP_RW, &i2));
	ASSERT_EXPLAINS("overlaps the mapping of buffer");
	ASSERT_ERR(EINVAL, ioas_map(self->ioas, p + 1, PAGE, IOMMUFD_MAP_RW, &i2));
	ASSERT_EXPLAINS("not aligned to the IOAS granule");
	ASSERT_ERR(EINVAL, ioas_map(self->ioas, p + 4 * PAGE, PAGE, 0, &i2));
	/* One unmap drops a reference: the device still reaches it. */
	ASSERT_OK(ioas_unmap(self->ioas, i1));
	ASSERT_TRUE(edu_roundtrip(self->dev, p, i1, 128, 0x11));
	ASSERT_OK(ioas_unmap_vaddr(self->ioas, p));
	ASSERT_FALSE(edu_roundtrip(self->dev, p, i1, 128, 0x12));
	ASSERT_ERR(ENOENT, ioas_unmap(self->ioas, i1));
	munmap(p, 8 * PAGE);
}

TEST_F(ioas, identity_map)
{
	uint64_t iova;
	uint8_t *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(p, MAP_FAILED);
	ASSERT_OK(ioas_map_identity(self->ioas, p, PAGE, IOMMUFD_MAP_RW));
	ASSERT_OK(ioas_vaddr_to_iova(self->ioas, p + 5, &iova));
	ASSERT_EQ(iova, (uintptr_t)p + 5);
	/* edu was started with a 64-bit DMA mask: it reaches the identity IOVA. */
	ASSERT_TRUE(edu_roundtrip(self->dev, p, (uintptr_t)p, 128, 0x66));
	ASSERT_OK(ioas_unmap(self->ioas, (uintptr_t)p));
	munmap(p, PAGE);
}

TEST_F(ioas, failures_roll_back)
{
	struct ioas_iova_stats before, after;
	struct ioas_tracker_stats ts;
	uint64_t iova;
	void *hole = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	munmap(hole, PAGE);
	ASSERT_OK(ioas_iova_stats(ioas_get_allocator(self->ioas), &before));
	/* The kernel refuses (nothing to pin): the IOVA goes back, nothing is recorded. */
	ASSERT_ERR(EFAULT, ioas_map(self->ioas, hole, PAGE, IOMMUFD_MAP_RW, &iova));
	ASSERT_EXPLAINS("not mapped in this process");
	ASSERT_OK(ioas_iova_stats(ioas_get_allocator(self->ioas), &after));
	ASSERT_EQ(after.live - after.cached, before.live - before.cached);
	ASSERT_OK(ioas_tracker_stats(ioas_get_tracker(self->ioas), &ts));
	ASSERT_EQ(ts.mappings, 0);
	/* More than fits below 28 bits: a clear ENOSPC. */
	ASSERT_ERR(ENOSPC, ioas_dma_alloc(self->ioas, 1ULL << 29, NULL, &(struct ioas_dma_buf *){ 0 }));
	ASSERT_EXPLAINS("at or below 0xfffffff");
}

struct same_arg {
	struct ioas *ioas;
	void *p;
	uint64_t iova;
	int r;
};

static void *map_same(void *a)
{
	struct same_arg *s = a;

	s->r = ioas_map(s->ioas, s->p, 16 * PAGE, IOMMUFD_MAP_RW, &s->iova);
	return NULL;
}

TEST_F(ioas, threads_map_one_buffer_once)
{
	struct same_arg args[4];
	struct ioas_tracker_stats st;
	pthread_t t[4];
	void *p = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(p, MAP_FAILED);
	for (int i = 0; i < 4; i++) {
		args[i] = (struct same_arg){ self->ioas, p, 0, -1 };
		ASSERT_EQ(pthread_create(&t[i], NULL, map_same, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ASSERT_OK(args[i].r);
		ASSERT_EQ(args[i].iova, args[0].iova);
	}
	ASSERT_OK(ioas_tracker_stats(ioas_get_tracker(self->ioas), &st));
	ASSERT_EQ(st.mappings, 1);
	for (int i = 0; i < 4; i++)
		ASSERT_OK(ioas_unmap(self->ioas, args[0].iova));
	ASSERT_ERR(ENOENT, iommufd_ioas_unmap(self->ctx, ioas_id(self->ioas), args[0].iova,
					      16 * PAGE, NULL));
	munmap(p, 16 * PAGE);
}

TEST_F(ioas, adopted_ioas_keeps_other_mappings)
{
	struct ioas *mine;
	uint64_t fixed = 0x100000, iova;
	void *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(p, MAP_FAILED);
	/* Someone else's mapping in the same IOAS... */
	ASSERT_OK(iommufd_ioas_map(self->ctx, ioas_id(self->ioas), p, PAGE, &fixed,
				   IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA));
	{
		IOAS_OPTS(ioas_opts, o, .ioas_id = ioas_id(self->ioas), .dma_limit = 0xfffff);
		ASSERT_OK(ioas_new(self->ctx, &o, &mine));
	}
	ASSERT_OK(ioas_map(mine, (char *)p + PAGE, PAGE, IOMMUFD_MAP_RW, &iova));
	/* ...survives freeing the adopting object, which unmaps only its own. */
	ioas_free(mine);
	ASSERT_ERR(ENOENT, iommufd_ioas_unmap(self->ctx, ioas_id(self->ioas), iova, PAGE, NULL));
	ASSERT_OK(iommufd_ioas_unmap(self->ctx, ioas_id(self->ioas), fixed, PAGE, NULL));
	munmap(p, 2 * PAGE);
}

/*
 * The context's explanations name what a map hits, whether the ioas mapped it
 * (the ioas's tracker holds it, once) or someone mapped it straight into the
 * ioas's IOAS (the context's own record holds it).
 */
TEST_F(ioas, core_explanations_name_ioas_mappings)
{
	uint8_t *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	uint64_t iova, fixed = 0x100000, at;
	char want[160];

	ASSERT_NE(p, MAP_FAILED);
	ASSERT_OK(ioas_map(self->ioas, p, 2 * PAGE, IOMMUFD_MAP_RW, &iova));
	at = iova + PAGE;
	ASSERT_ERR(EEXIST, iommufd_ioas_map(self->ctx, ioas_id(self->ioas), p + 2 * PAGE, PAGE,
					    &at, IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA));
	snprintf(want, sizeof(want), "overlaps the existing mapping 0x%" PRIx64 "-0x%" PRIx64
		 " (of memory at 0x%" PRIxPTR ")", iova, (uint64_t)(iova + 2 * PAGE - 1), (uintptr_t)p);
	ASSERT_EXPLAINS(want);
	ASSERT_OK(iommufd_ioas_map(self->ctx, ioas_id(self->ioas), p + 2 * PAGE, PAGE, &fixed,
				   IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA));
	ASSERT_ERR(EEXIST, iommufd_ioas_map(self->ctx, ioas_id(self->ioas), p + 3 * PAGE, PAGE,
					    &fixed, IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA));
	snprintf(want, sizeof(want), "overlaps the existing mapping 0x100000-0x100fff (of memory "
		 "at 0x%" PRIxPTR ")", (uintptr_t)(p + 2 * PAGE));
	ASSERT_EXPLAINS(want);
	/* Unmapped, each is forgotten: the same IOVAs map again. */
	ASSERT_OK(ioas_unmap(self->ioas, iova));
	ASSERT_OK(iommufd_ioas_unmap(self->ctx, ioas_id(self->ioas), fixed, PAGE, NULL));
	ASSERT_OK(iommufd_ioas_map(self->ctx, ioas_id(self->ioas), p, 2 * PAGE, &iova,
				   IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA));
	ASSERT_OK(iommufd_ioas_map(self->ctx, ioas_id(self->ioas), p + 3 * PAGE, PAGE, &fixed,
				   IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA));
	ASSERT_OK(iommufd_ioas_unmap(self->ctx, ioas_id(self->ioas), iova, 2 * PAGE, NULL));
	ASSERT_OK(iommufd_ioas_unmap(self->ctx, ioas_id(self->ioas), fixed, PAGE, NULL));
	munmap(p, 4 * PAGE);
}

TEST_HARNESS_MAIN
