// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The async layer against the real kernel, with the edu device behind VT-d:
 * every request type completes as a CQE on the caller's ring with the
 * kernel's answer, a split map is one mapping or nothing, dependent
 * requests keep their order, cancellation, back-pressure, edu's MSI as a
 * CQE, the synchronous fallback, and many submitting threads.
 */
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "edu.h"
#include "harness.h"

#include <iommufd/async.h>
#include <iommufd/ioas.h>

#define PAGE 4096ULL
#define MiB (1ULL << 20)

FIXTURE(async)
{
	struct iommufd_ctx *ctx;
	struct iommufd_device *dev;
	struct ioas *ioas;
	struct io_uring ring;
	bool have_ring;
};

FIXTURE_SETUP(async)
{
	int r = edu_ioas_open(&self->ctx, &self->dev, &self->ioas);

	if (r == -ENODEV)
		SKIP(return, "no edu device");
	if (r == -ENXIO)
		SKIP(return, "guest booted without an IOMMU");
	ASSERT_OK(r);
	ASSERT_OK(io_uring_queue_init(256, &self->ring, 0));
	self->have_ring = true;
}

FIXTURE_TEARDOWN(async)
{
	if (self->have_ring)
		io_uring_queue_exit(&self->ring);
	edu_ioas_close(self->ctx, self->dev, self->ioas);
}

static void *anon(uint64_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Wait for one CQE on @ring: its res, and its user_data in *@ud. */
static int next_cqe(struct io_uring *ring, uint64_t *ud, unsigned int *flags)
{
	struct io_uring_cqe *cqe;
	int r = io_uring_wait_cqe(ring, &cqe);

	if (r < 0)
		return r;
	*ud = cqe->user_data;
	r = cqe->res;
	if (flags)
		*flags = cqe->flags;
	io_uring_cqe_seen(ring, cqe);
	return r;
}

static struct iommufd_async_sqe *sqe_with(struct iommufd_async *a, uint64_t ud)
{
	struct iommufd_async_sqe *sqe = iommufd_async_get_sqe(a);

	if (sqe)
		iommufd_async_sqe_set_data(sqe, ud);
	return sqe;
}

static uint64_t kernel_unmap_all(struct iommufd_ctx *ctx, uint32_t id)
{
	uint64_t unmapped = ~0ULL;

	if (iommufd_ioas_unmap_all(ctx, id, &unmapped))
		return ~0ULL;
	return unmapped;
}

TEST_F(async, map_and_unmap_complete_on_the_callers_ring)
{
	struct iommufd_async *a;
	uint64_t iova = 0, ud, found;
	uint8_t *buf = anon(64 * 1024);

	ASSERT_NE(buf, NULL);
	ASSERT_OK(iommufd_async_new(&self->ring, NULL, &a));
	ASSERT_FALSE(iommufd_async_is_sync(a));
	ASSERT_TRUE(strstr(iommufd_async_describe(a), "the caller's ring") != NULL);
	iommufd_async_prep_map(sqe_with(a, 11), self->ioas, buf, 64 * 1024, IOMMUFD_MAP_RW, &iova);
	ASSERT_EQ(iommufd_async_submit(a), 1);
	/* 64 KiB runs inline: its completion is on the ring when submit returns. */
	ASSERT_EQ(io_uring_cq_ready(&self->ring), 1);
	ASSERT_EQ(next_cqe(&self->ring, &ud, NULL), 0);
	ASSERT_EQ(ud, 11);
	ASSERT_NE(iova, 0);
	ASSERT_OK(ioas_vaddr_to_iova(self->ioas, buf + 4096, &found));
	ASSERT_EQ(found, iova + 4096);
	/* The device reaches the buffer at the IOVA the completion reported. */
	ASSERT_TRUE(edu_roundtrip(self->dev, buf, iova, 128, 0x5a));

	iommufd_async_prep_unmap(sqe_with(a, 12), self->ioas, iova);
	ASSERT_EQ(iommufd_async_submit(a), 1);
	ASSERT_EQ(next_cqe(&self->ring, &ud, NULL), 0);
	ASSERT_EQ(ud, 12);
	ASSERT_ERR(ENOENT, ioas_vaddr_to_iova(self->ioas, buf, &found));
	iommufd_async_free(a);
	munmap(buf, 64 * 1024);
}

TEST_F(async, failures_carry_errno_and_explanation)
{
	struct iommufd_async *a;
	uint64_t iova = 0, iova2 = 0, ud;
	uint8_t *buf = anon(8 * PAGE);
	int res[6] = { 1, 1, 1, 1, 1, 1 };
	char why[512];

	ASSERT_NE(buf, NULL);
	ASSERT_OK(iommufd_async_new(&self->ring, NULL, &a));
	/* 1: no access; 2: unprepared; 3: nothing at that IOVA; 4: map, 5: overlap of 4. */
	iommufd_async_prep_map(sqe_with(a, 1), self->ioas, buf, PAGE, 0, &iova);
	ASSERT_NE(sqe_with(a, 2), NULL);
	iommufd_async_prep_unmap(sqe_with(a, 3), self->ioas, 0x123000);
	iommufd_async_prep_map(sqe_with(a, 4), self->ioas, buf, 4 * PAGE, IOMMUFD_MAP_RW, &iova);
	iommufd_async_prep_map(sqe_with(a, 5), self->ioas, buf + PAGE, 4 * PAGE, IOMMUFD_MAP_RW,
			       &iova2);
	ASSERT_EQ(iommufd_async_submit(a), 5);
	for (int i = 0; i < 5; i++) {
		int r = next_cqe(&self->ring, &ud, NULL);

		ASSERT_TRUE(ud >= 1 && ud <= 5);
		res[ud] = r;
	}
	EXPECT_EQ(res[1], -EINVAL);
	EXPECT_EQ(res[2], -EINVAL);
	EXPECT_EQ(res[3], -ENOENT);
	EXPECT_EQ(res[4], 0);
	EXPECT_EQ(res[5], -EEXIST);
	EXPECT_TRUE(strstr(iommufd_async_explain(a, 1, why, sizeof(why)), "access") != NULL);
	EXPECT_TRUE(strstr(iommufd_async_explain(a, 2, why, sizeof(why)), "without a prep") != NULL);
	EXPECT_TRUE(strstr(iommufd_async_explain(a, 3, why, sizeof(why)), "0x123000") != NULL);
	EXPECT_TRUE(strstr(iommufd_async_explain(a, 5, why, sizeof(why)), "overlap") != NULL);
	TH_LOG("EEXIST explained: %s", why);
	/* A request that succeeded has no explanation. */
	EXPECT_EQ(iommufd_async_explain(a, 4, why, sizeof(why))[0], '\0');
	iommufd_async_free(a);
	ASSERT_OK(ioas_unmap(self->ioas, iova));
	munmap(buf, 8 * PAGE);
}

TEST_F(async, copy_into_another_ioas)
{
	struct iommufd_async *a;
	uint64_t iova = 0, dst = 0, bad = 0, ud;
	uint8_t *buf = anon(16 * PAGE);
	uint32_t other;
	int res[3] = { 1, 1, 1 };

	ASSERT_NE(buf, NULL);
	ASSERT_OK(iommufd_ioas_alloc(self->ctx, &other));
	ASSERT_OK(ioas_map(self->ioas, buf, 16 * PAGE, IOMMUFD_MAP_RW, &iova));
	ASSERT_OK(iommufd_async_new(&self->ring, NULL, &a));
	iommufd_async_prep_copy(sqe_with(a, 1), self->ctx, other, &dst, ioas_id(self->ioas), iova,
				16 * PAGE, IOMMUFD_MAP_RW);
	/* Nothing is mapped at IOVA 0 of the source. */
	iommufd_async_prep_copy(sqe_with(a, 2), self->ctx, other, &bad, ioas_id(self->ioas), 0,
				16 * PAGE, IOMMUFD_MAP_RW);
	ASSERT_EQ(iommufd_async_submit(a), 2);
	for (int i = 0; i < 2; i++) {
		int r = next_cqe(&self->ring, &ud, NULL);

		res[ud] = r;
	}
	ASSERT_EQ(res[1], 0);
	ASSERT_EQ(res[2], -ENOENT);
	/* The copy is there: the kernel unmaps exactly its length at dst. */
	ASSERT_EQ(kernel_unmap_all(self->ctx, other), 16 * PAGE);
	iommufd_async_free(a);
	ASSERT_OK(ioas_unmap(self->ioas, iova));
	ASSERT_OK(iommufd_destroy(self->ctx, other));
	munmap(buf, 16 * PAGE);
}

TEST_F(async, dma_buffer_alloc_and_free)
{
	struct iommufd_async *a;
	struct ioas_dma_buf *buf = NULL, *nothing = NULL;
	struct ioas_tracker_stats st;
	uint64_t ud;
	int res[3] = { 1, 1, 1 };

	ASSERT_OK(iommufd_async_new(&self->ring, NULL, &a));
	iommufd_async_prep_dma_alloc(sqe_with(a, 1), self->ioas, 3 * PAGE, NULL, &buf);
	iommufd_async_prep_dma_alloc(sqe_with(a, 2), self->ioas, 0, NULL, &nothing);
	ASSERT_EQ(iommufd_async_submit(a), 2);
	for (int i = 0; i < 2; i++) {
		int r = next_cqe(&self->ring, &ud, NULL);

		res[ud] = r;
	}
	ASSERT_EQ(res[1], 0);
	ASSERT_EQ(res[2], -EINVAL);
	ASSERT_NE(buf, NULL);
	ASSERT_EQ(nothing, NULL);
	ASSERT_TRUE(edu_roundtrip(self->dev, buf->vaddr, buf->iova, 128, 0xc3));

	iommufd_async_prep_dma_free(sqe_with(a, 3), self->ioas, buf);
	ASSERT_EQ(iommufd_async_submit(a), 1);
	ASSERT_EQ(next_cqe(&self->ring, &ud, NULL), 0);
	ASSERT_EQ(ud, 3);
	ASSERT_OK(ioas_tracker_stats(ioas_get_tracker(self->ioas), &st));
	ASSERT_EQ(st.mappings, 0);
	iommufd_async_free(a);
}

TEST_F(async, queue_depth_pushes_back)
{
	IOMMUFD_OPTS(iommufd_async_opts, opts, .queue_depth = 4);
	struct iommufd_async_sqe *s[5];
	struct iommufd_async *a;
	uint64_t ud;

	ASSERT_OK(iommufd_async_new(&self->ring, &opts, &a));
	for (int i = 0; i < 4; i++)
		ASSERT_NE(s[i] = iommufd_async_get_sqe(a), NULL);
	errno = 0;
	ASSERT_EQ(iommufd_async_get_sqe(a), NULL);
	ASSERT_EQ(errno, EBUSY);
	/* Unprepared requests still complete (with -EINVAL) and free their slots. */
	ASSERT_EQ(iommufd_async_submit(a), 4);
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(next_cqe(&self->ring, &ud, NULL), -EINVAL);
	ASSERT_NE(s[4] = iommufd_async_get_sqe(a), NULL);
	iommufd_async_free(a);
}

/* One worker busy with a slow map: what queues behind it can be cancelled. */
TEST_F(async, cancel_what_has_not_started)
{
	IOMMUFD_OPTS(iommufd_async_opts, opts, .workers = 1, .split_threshold = UINT64_MAX,
		     .flags = IOMMUFD_ASYNC_NO_INLINE);
	enum { N = 8, BIG = 128 * MiB };
	uint64_t iova[N + 1], ud;
	uint8_t *big = anon(BIG), *small = anon(N * PAGE);
	struct iommufd_async *a;
	int res[N + 1], got = 0;

	ASSERT_NE(big, NULL);
	ASSERT_NE(small, NULL);
	ASSERT_OK(iommufd_async_new(&self->ring, &opts, &a));
	iommufd_async_prep_map(sqe_with(a, 0), self->ioas, big, BIG, IOMMUFD_MAP_RW, &iova[0]);
	for (int i = 1; i <= N; i++)
		iommufd_async_prep_map(sqe_with(a, i), self->ioas, small + (i - 1) * PAGE, PAGE,
				       IOMMUFD_MAP_RW, &iova[i]);
	ASSERT_EQ(iommufd_async_submit(a), N + 1);
	/* Faulting in 128 MiB takes the one worker far longer than this. */
	ASSERT_EQ(iommufd_async_cancel(a, 5), 1);
	ASSERT_EQ(iommufd_async_cancel(a, 5), -ENOENT);
	ASSERT_EQ(iommufd_async_cancel(a, 999), -ENOENT);
	for (int i = 0; i <= N; i++) {
		int r = next_cqe(&self->ring, &ud, NULL);

		ASSERT_LE(ud, N);
		res[ud] = r;
		got++;
	}
	ASSERT_EQ(got, N + 1);
	for (int i = 0; i <= N; i++)
		EXPECT_EQ(res[i], i == 5 ? -ECANCELED : 0);
	/* Completed: too late to cancel. */
	ASSERT_EQ(iommufd_async_cancel(a, 1), -ENOENT);
	iommufd_async_free(a);
	for (int i = 0; i <= N; i++)
		if (i != 5)
			ASSERT_OK(ioas_unmap(self->ioas, iova[i]));
	munmap(big, BIG);
	munmap(small, N * PAGE);
}

/* free() with requests queued: the running one finishes, the rest are cancelled. */
TEST_F(async, free_cancels_the_queue)
{
	IOMMUFD_OPTS(iommufd_async_opts, opts, .workers = 1, .split_threshold = UINT64_MAX,
		     .flags = IOMMUFD_ASYNC_NO_INLINE);
	enum { BIG = 64 * MiB };
	uint8_t *big = anon(BIG), *small = anon(4 * PAGE);
	uint64_t iova[5], ud;
	struct iommufd_async *a;
	struct ioas_tracker_stats st;
	int ok = 0, cancelled = 0;

	ASSERT_OK(iommufd_async_new(&self->ring, &opts, &a));
	iommufd_async_prep_map(sqe_with(a, 0), self->ioas, big, BIG, IOMMUFD_MAP_RW, &iova[0]);
	for (int i = 1; i < 5; i++)
		iommufd_async_prep_map(sqe_with(a, i), self->ioas, small + (i - 1) * PAGE, PAGE,
				       IOMMUFD_MAP_RW, &iova[i]);
	ASSERT_EQ(iommufd_async_submit(a), 5);
	iommufd_async_free(a);
	/* Every request has its completion on the ring already. */
	for (int i = 0; i < 5; i++) {
		struct io_uring_cqe *cqe;

		ASSERT_EQ(io_uring_peek_cqe(&self->ring, &cqe), 0);
		ud = cqe->user_data;
		if (cqe->res == 0)
			ok++;
		else if (cqe->res == -ECANCELED)
			cancelled++;
		io_uring_cqe_seen(&self->ring, cqe);
		(void)ud;
	}
	ASSERT_EQ(ok + cancelled, 5);
	ASSERT_GE(cancelled, 3);
	ASSERT_OK(ioas_tracker_stats(ioas_get_tracker(self->ioas), &st));
	ASSERT_EQ(st.mappings, (uint64_t)ok);
	munmap(big, BIG);
	munmap(small, 4 * PAGE);
}

/* Everything on the workers: small requests too, when asked. */
TEST_F(async, no_inline_hands_everything_to_the_workers)
{
	IOMMUFD_OPTS(iommufd_async_opts, opts, .flags = IOMMUFD_ASYNC_NO_INLINE);
	struct iommufd_async *a;
	uint8_t *buf = anon(PAGE);
	uint64_t iova = 0, ud;

	ASSERT_OK(iommufd_async_new(&self->ring, &opts, &a));
	ASSERT_TRUE(strstr(iommufd_async_describe(a), "up to 0 KiB") != NULL);
	iommufd_async_prep_map(sqe_with(a, 1), self->ioas, buf, PAGE, IOMMUFD_MAP_RW, &iova);
	iommufd_async_prep_unmap_vaddr(sqe_with(a, 2), self->ioas, buf);
	ASSERT_EQ(iommufd_async_submit(a), 2);
	ASSERT_EQ(next_cqe(&self->ring, &ud, NULL), 0);
	ASSERT_EQ(ud, 1);
	ASSERT_EQ(next_cqe(&self->ring, &ud, NULL), 0);
	ASSERT_EQ(ud, 2);
	iommufd_async_free(a);
	munmap(buf, PAGE);
}

/*
 * An unmap by address submitted with its map: it must wait for the map,
 * or it would find nothing (the maps are slow: 8 MiB never touched). The
 * unmap is small enough to run inline, but its map holds it back.
 */
TEST_F(async, unmap_never_overtakes_its_map)
{
	enum { N = 24, LEN = 8 * MiB };
	uint8_t *mem = anon((uint64_t)N * LEN);
	uint64_t iova[N], ud;
	struct iommufd_async *a;
	int seen_map[N] = { 0 };

	ASSERT_NE(mem, NULL);
	ASSERT_OK(iommufd_async_new(&self->ring, NULL, &a));
	for (int i = 0; i < N; i++) {
		iommufd_async_prep_map(sqe_with(a, 2 * i), self->ioas, mem + (uint64_t)i * LEN, LEN,
				       IOMMUFD_MAP_RW, &iova[i]);
		iommufd_async_prep_unmap_vaddr(sqe_with(a, 2 * i + 1), self->ioas,
					       mem + (uint64_t)i * LEN);
	}
	ASSERT_EQ(iommufd_async_submit(a), 2 * N);
	for (int i = 0; i < 2 * N; i++) {
		ASSERT_EQ(next_cqe(&self->ring, &ud, NULL), 0);
		if (ud % 2 == 0)
			seen_map[ud / 2] = 1;
		else
			ASSERT_TRUE(seen_map[ud / 2]);	/* its map completed first */
	}
	ASSERT_EQ(kernel_unmap_all(self->ctx, ioas_id(self->ioas)), 0);
	iommufd_async_free(a);
	munmap(mem, (uint64_t)N * LEN);
}

TEST_F(async, split_map_is_one_mapping)
{
	IOMMUFD_OPTS(iommufd_async_opts, opts, .workers = 2, .split_threshold = 8 * MiB,
		     .chunk_size = 2 * MiB);
	enum { LEN = 64 * MiB };
	uint8_t *mem = anon(LEN);
	struct ioas_tracker_stats st;
	struct iommufd_async *a;
	uint64_t iova = 0, ud;

	ASSERT_NE(mem, NULL);
	ASSERT_OK(iommufd_async_new(&self->ring, &opts, &a));
	iommufd_async_prep_map(sqe_with(a, 7), self->ioas, mem, LEN, IOMMUFD_MAP_RW, &iova);
	ASSERT_EQ(iommufd_async_submit(a), 1);
	ASSERT_EQ(next_cqe(&self->ring, &ud, NULL), 0);
	ASSERT_OK(ioas_tracker_stats(ioas_get_tracker(self->ioas), &st));
	ASSERT_EQ(st.mappings, 1);
	ASSERT_EQ(st.bytes, LEN);
	/* The first, a middle and the last chunk all reach the device. */
	ASSERT_TRUE(edu_roundtrip(self->dev, mem, iova, 128, 1));
	ASSERT_TRUE(edu_roundtrip(self->dev, mem + 31 * MiB + 4096, iova + 31 * MiB + 4096, 128, 2));
	ASSERT_TRUE(edu_roundtrip(self->dev, mem + LEN - PAGE, iova + LEN - PAGE, 128, 3));
	/* One unmap of the one mapping removes every chunk from the kernel. */
	iommufd_async_prep_unmap(sqe_with(a, 8), self->ioas, iova);
	ASSERT_EQ(iommufd_async_submit(a), 1);
	ASSERT_EQ(next_cqe(&self->ring, &ud, NULL), 0);
	ASSERT_EQ(kernel_unmap_all(self->ctx, ioas_id(self->ioas)), 0);
	iommufd_async_free(a);
	munmap(mem, LEN);
}

/* RLIMIT_MEMLOCK runs out after some chunks: those are unmapped again. */
TEST_F(async, split_map_failure_rolls_back)
{
	IOMMUFD_OPTS(iommufd_async_opts, opts, .workers = 2, .split_threshold = 8 * MiB,
		     .chunk_size = 2 * MiB);
	struct rlimit rl = { 24 * MiB, 24 * MiB };
	enum { LEN = 64 * MiB };
	uint8_t *mem = anon(LEN);
	struct ioas_tracker_stats st;
	struct iommufd_async *a;
	uint64_t iova = 0, ud;
	char why[512];

	ASSERT_NE(mem, NULL);
	ASSERT_OK(th_drop_ipc_lock());
	ASSERT_SYS(setrlimit(RLIMIT_MEMLOCK, &rl));
	ASSERT_OK(iommufd_async_new(&self->ring, &opts, &a));
	iommufd_async_prep_map(sqe_with(a, 9), self->ioas, mem, LEN, IOMMUFD_MAP_RW, &iova);
	ASSERT_EQ(iommufd_async_submit(a), 1);
	ASSERT_EQ(next_cqe(&self->ring, &ud, NULL), -ENOMEM);
	iommufd_async_explain(a, 9, why, sizeof(why));
	TH_LOG("%s", why);
	ASSERT_TRUE(strstr(why, "chunk") != NULL);
	ASSERT_TRUE(strstr(why, "RLIMIT_MEMLOCK") != NULL);
	/* Nothing is left: not in the kernel, not in the tracker, not in the pin count. */
	ASSERT_EQ(kernel_unmap_all(self->ctx, ioas_id(self->ioas)), 0);
	ASSERT_OK(ioas_tracker_stats(ioas_get_tracker(self->ioas), &st));
	ASSERT_EQ(st.mappings, 0);
	iommufd_async_prep_map(sqe_with(a, 10), self->ioas, mem, 20 * MiB, IOMMUFD_MAP_RW, &iova);
	ASSERT_EQ(iommufd_async_submit(a), 1);
	ASSERT_EQ(next_cqe(&self->ring, &ud, NULL), 0);
	ASSERT_OK(ioas_unmap(self->ioas, iova));
	iommufd_async_free(a);
	munmap(mem, LEN);
}

/* edu's MSI as completions on the same ring, with a DMA's completion. */
TEST_F(async, device_interrupts_complete_on_the_ring)
{
	struct iommufd_async *a;
	unsigned int flags;
	uint8_t *buf = anon(PAGE);
	uint64_t iova = 0, ud;
	uint32_t status;
	int efd, r;

	ASSERT_NE(buf, NULL);
	ASSERT_OK(iommufd_async_new(&self->ring, NULL, &a));
	ASSERT_SYS(efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
	ASSERT_OK(iommufd_device_irq_enable(self->dev, IOMMUFD_PCI_MSI, 0, 1, &efd));
	ASSERT_OK(iommufd_async_watch_eventfd(a, efd, 0x1e0));

	ASSERT_OK(edu_write32(self->dev, EDU_REG_IRQ_RAISE, 0x42));
	r = next_cqe(&self->ring, &ud, &flags);
	ASSERT_EQ(ud, 0x1e0);
	ASSERT_TRUE(r & POLLIN);
	ASSERT_TRUE(flags & IORING_CQE_F_MORE);
	ASSERT_EQ(iommufd_async_eventfd_ack(efd), 1);
	ASSERT_OK(edu_read32(self->dev, EDU_REG_IRQ_STATUS, &status));
	ASSERT_EQ(status, 0x42);
	ASSERT_OK(edu_write32(self->dev, EDU_REG_IRQ_ACK, status));

	/* A map request and the device's DMA-done interrupt, one loop. */
	iommufd_async_prep_map(sqe_with(a, 1), self->ioas, buf, PAGE, IOMMUFD_MAP_RW, &iova);
	ASSERT_EQ(iommufd_async_submit(a), 1);
	ASSERT_EQ(next_cqe(&self->ring, &ud, NULL), 0);
	ASSERT_EQ(ud, 1);
	memset(buf, 0x77, 64);
	ASSERT_OK(edu_dma(self->dev, iova, 0, 64, false, true));
	r = next_cqe(&self->ring, &ud, &flags);
	ASSERT_EQ(ud, 0x1e0);
	ASSERT_TRUE(flags & IORING_CQE_F_MORE);
	ASSERT_EQ(iommufd_async_eventfd_ack(efd), 1);
	ASSERT_OK(edu_read32(self->dev, EDU_REG_IRQ_STATUS, &status));
	ASSERT_OK(edu_write32(self->dev, EDU_REG_IRQ_ACK, status));

	/* Unwatching ends the watch with a last completion without F_MORE. */
	ASSERT_OK(iommufd_async_unwatch_eventfd(a, 0x1e0));
	r = next_cqe(&self->ring, &ud, &flags);
	ASSERT_EQ(ud, 0x1e0);
	ASSERT_EQ(r, -ECANCELED);
	ASSERT_FALSE(flags & IORING_CQE_F_MORE);
	ASSERT_OK(iommufd_device_irq_disable(self->dev, IOMMUFD_PCI_MSI));
	close(efd);
	ASSERT_OK(ioas_unmap(self->ioas, iova));
	iommufd_async_free(a);
	munmap(buf, PAGE);
}

/* Without a ring of the caller's: the layer's own ring, read with wait_cqe. */
TEST_F(async, own_ring_completions)
{
	struct iommufd_async_cqe cqe;
	struct iommufd_async *a;
	uint8_t *buf = anon(4 * PAGE);
	uint64_t iova = 0;

	ASSERT_OK(iommufd_async_new(NULL, NULL, &a));
	ASSERT_FALSE(iommufd_async_is_sync(a));
	ASSERT_TRUE(strstr(iommufd_async_describe(a), "its own ring") != NULL);
	ASSERT_ERR(EAGAIN, iommufd_async_peek_cqe(a, &cqe));
	iommufd_async_prep_map(sqe_with(a, 3), self->ioas, buf, 4 * PAGE, IOMMUFD_MAP_READ, &iova);
	ASSERT_EQ(iommufd_async_submit(a), 1);
	ASSERT_OK(iommufd_async_wait_cqe(a, &cqe));
	ASSERT_EQ(cqe.user_data, 3);
	ASSERT_EQ(cqe.res, 0);
	ASSERT_ERR(ENOENT, iommufd_async_wait_cqe(a, &cqe));
	ASSERT_OK(ioas_unmap(self->ioas, iova));
	iommufd_async_free(a);
	munmap(buf, 4 * PAGE);
}

/* The caller's ring mode has nothing to reap here. */
TEST_F(async, wait_cqe_with_the_callers_ring_is_refused)
{
	struct iommufd_async_cqe cqe;
	struct iommufd_async *a;

	ASSERT_OK(iommufd_async_new(&self->ring, NULL, &a));
	ASSERT_ERR(EINVAL, iommufd_async_wait_cqe(a, &cqe));
	ASSERT_EXPLAINS("caller's ring");
	iommufd_async_free(a);
}

static void run_sync_requests(struct iommufd_async *a, struct ioas *ioas)
{
	struct iommufd_async_cqe cqe;
	uint8_t *buf = anon(2 * PAGE);
	uint64_t iova = 0;

	ASSERT_TRUE(iommufd_async_is_sync(a));
	iommufd_async_prep_map(sqe_with(a, 1), ioas, buf, 2 * PAGE, IOMMUFD_MAP_RW, &iova);
	iommufd_async_prep_unmap_vaddr(sqe_with(a, 2), ioas, buf);
	iommufd_async_prep_unmap_vaddr(sqe_with(a, 3), ioas, buf);
	ASSERT_EQ(iommufd_async_submit(a), 3);
	/* In submission order, having run in submit. */
	ASSERT_OK(iommufd_async_wait_cqe(a, &cqe));
	ASSERT_EQ(cqe.user_data, 1);
	ASSERT_EQ(cqe.res, 0);
	ASSERT_OK(iommufd_async_wait_cqe(a, &cqe));
	ASSERT_EQ(cqe.user_data, 2);
	ASSERT_EQ(cqe.res, 0);
	ASSERT_OK(iommufd_async_wait_cqe(a, &cqe));
	ASSERT_EQ(cqe.user_data, 3);
	ASSERT_EQ(cqe.res, -ENOENT);
	ASSERT_ERR(ENOENT, iommufd_async_wait_cqe(a, &cqe));
	ASSERT_ERR(EOPNOTSUPP, iommufd_async_watch_eventfd(a, 0, 1));
	ASSERT_EQ(iommufd_async_cancel(a, 1), -ENOENT);
	munmap(buf, 2 * PAGE);
}

TEST_F(async, sync_fallback_when_asked)
{
	IOMMUFD_OPTS(iommufd_async_opts, opts, .flags = IOMMUFD_ASYNC_SYNC);
	struct iommufd_async *a;

	ASSERT_OK(iommufd_async_new(NULL, &opts, &a));
	ASSERT_TRUE(strstr(iommufd_async_describe(a), "IOMMUFD_ASYNC_SYNC") != NULL);
	run_sync_requests(a, self->ioas);
	iommufd_async_free(a);
}

/* The opts size rules of every module, as the kernel's: EINVAL, E2BIG, older is fine. */
TEST_F(async, opts_sizes_as_the_kernels)
{
	IOMMUFD_OPTS(iommufd_async_opts, opts, .flags = IOMMUFD_ASYNC_SYNC);
	struct { struct iommufd_async_opts o; uint64_t tail; } big = { .o = opts, .tail = 1 };
	struct { struct ioas_dma_opts o; uint64_t tail; } big_dma = {
		.o = { .sz = sizeof(big_dma) }, .tail = 1 };
	struct ioas_dma_buf *buf = NULL;
	struct iommufd_async *a;
	uint64_t ud;

	big.o.sz = sizeof(big);
	ASSERT_ERR(E2BIG, iommufd_async_new(NULL, &big.o, &a));
	opts.sz = 4;
	ASSERT_ERR(EINVAL, iommufd_async_new(NULL, &opts, &a));

	ASSERT_OK(iommufd_async_new(&self->ring, NULL, &a));
	iommufd_async_prep_dma_alloc(sqe_with(a, 1), self->ioas, PAGE, &big_dma.o, &buf);
	ASSERT_EQ(iommufd_async_submit(a), 1);
	ASSERT_EQ(next_cqe(&self->ring, &ud, NULL), -E2BIG);
	ASSERT_EQ(buf, NULL);
	iommufd_async_free(a);
}

static int write_sysctl(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");
	int r;

	if (!f)
		return -errno;
	r = fputs(val, f) < 0 ? -EIO : 0;
	if (fclose(f))
		r = -errno;
	return r;
}

/* kernel.io_uring_disabled = 2: the same program runs, synchronously, and says why. */
TEST_F(async, sync_fallback_when_io_uring_is_disabled)
{
	const char *knob = "/proc/sys/kernel/io_uring_disabled";
	struct iommufd_async *a;
	int r;

	if (access(knob, W_OK))
		SKIP(return, "no %s", knob);
	ASSERT_OK(write_sysctl(knob, "2"));
	r = iommufd_async_new(NULL, NULL, &a);
	ASSERT_OK(write_sysctl(knob, "0"));
	ASSERT_OK(r);
	TH_LOG("%s", iommufd_async_describe(a));
	ASSERT_TRUE(strstr(iommufd_async_describe(a), "io_uring_disabled = 2") != NULL);
	run_sync_requests(a, self->ioas);
	iommufd_async_free(a);
}

struct submitter {
	struct iommufd_async *a;
	struct ioas *ioas;
	uint8_t *mem;
	int id, n;
};

static void *submit_pairs(void *arg)
{
	struct submitter *s = arg;
	uint64_t iova;

	for (int i = 0; i < s->n; i++) {
		struct iommufd_async_sqe *m, *u;
		uint8_t *p = s->mem + (uint64_t)i * PAGE;

		/* Both slots or neither: a half-taken pair would hold a slot forever. */
		while (!(m = iommufd_async_get_sqe(s->a)))
			sched_yield();
		while (!(u = iommufd_async_get_sqe(s->a)))
			sched_yield();
		iommufd_async_prep_map(m, s->ioas, p, PAGE, IOMMUFD_MAP_RW, &iova);
		iommufd_async_sqe_set_data(m, ((uint64_t)s->id << 32) | (2 * i));
		iommufd_async_prep_unmap_vaddr(u, s->ioas, p);
		iommufd_async_sqe_set_data(u, ((uint64_t)s->id << 32) | (2 * i + 1));
		iommufd_async_submit(s->a);
	}
	return NULL;
}

/* Four threads submit map+unmap pairs at once; one thread reaps them all. */
TEST_F(async, many_threads_submitting)
{
	IOMMUFD_OPTS(iommufd_async_opts, opts, .queue_depth = 512);
	enum { T = 4, N = 200 };
	struct submitter sub[T];
	pthread_t tid[T];
	struct iommufd_async *a;
	struct ioas_tracker_stats st;
	int failed = 0;
	uint64_t ud;

	ASSERT_OK(iommufd_async_new(&self->ring, &opts, &a));
	for (int t = 0; t < T; t++) {
		sub[t] = (struct submitter){ .a = a, .ioas = self->ioas, .mem = anon(N * PAGE),
					     .id = t, .n = N };
		ASSERT_NE(sub[t].mem, NULL);
		ASSERT_EQ(pthread_create(&tid[t], NULL, submit_pairs, &sub[t]), 0);
	}
	for (int i = 0; i < T * N * 2; i++)
		failed += next_cqe(&self->ring, &ud, NULL) != 0;
	for (int t = 0; t < T; t++)
		pthread_join(tid[t], NULL);
	ASSERT_EQ(failed, 0);
	ASSERT_OK(ioas_tracker_stats(ioas_get_tracker(self->ioas), &st));
	ASSERT_EQ(st.mappings, 0);
	ASSERT_EQ(kernel_unmap_all(self->ctx, ioas_id(self->ioas)), 0);
	iommufd_async_free(a);
	for (int t = 0; t < T; t++)
		munmap(sub[t].mem, N * PAGE);
}

/* The standalone parallel map: one kernel view of N chunks, or nothing. */
TEST_F(async, map_parallel_without_the_queue)
{
	enum { LEN = 32 * MiB };
	uint8_t *mem = anon(LEN);
	uint32_t id;
	uint64_t base = 0x4000000;

	ASSERT_NE(mem, NULL);
	ASSERT_OK(iommufd_ioas_alloc(self->ctx, &id));
	ASSERT_OK(iommufd_map_parallel(self->ctx, id, mem, LEN, base, IOMMUFD_MAP_RW, 3, 2 * MiB));
	/* 16 chunks side by side: a map over any of them collides. */
	ASSERT_ERR(EEXIST, iommufd_map_parallel(self->ctx, id, mem, 4 * MiB, base + 10 * MiB,
						IOMMUFD_MAP_RW, 2, 2 * MiB));
	ASSERT_EQ(kernel_unmap_all(self->ctx, id), LEN);
	ASSERT_ERR(EINVAL, iommufd_map_parallel(self->ctx, id, mem, LEN, base, IOMMUFD_MAP_RW, 2,
						3 * MiB));
	ASSERT_EXPLAINS("multiple of 2 MiB");
	ASSERT_OK(iommufd_destroy(self->ctx, id));
	munmap(mem, LEN);
}

/*
 * The core's iommufd_ioas_map_parallel() with a lender of one thread: it is
 * offered the map, helps, and withdraw waits for it; the opts size rules.
 */
struct one_lender {
	pthread_t thread;
	struct iommufd_parallel_map *m;
	int offers, withdrawals;
};

static void *lent_thread(void *arg)
{
	struct one_lender *l = arg;

	while (iommufd_parallel_map_wanted(l->m))
		iommufd_parallel_map_help(l->m);
	return NULL;
}

static void one_offer(void *data, struct iommufd_parallel_map *m)
{
	struct one_lender *l = data;

	l->m = m;
	l->offers++;
	pthread_create(&l->thread, NULL, lent_thread, l);
}

static void one_withdraw(void *data, struct iommufd_parallel_map *m)
{
	struct one_lender *l = data;

	pthread_join(l->thread, NULL);
	l->withdrawals += l->m == m;
}

TEST_F(async, core_map_parallel_with_a_lender)
{
	enum { LEN = 32 * MiB };
	struct one_lender lent = { 0 };
	struct iommufd_map_lender lender = { one_offer, one_withdraw, &lent };
	IOMMUFD_OPTS(iommufd_parallel_opts, opts, .threads = 2, .chunk = 2 * MiB,
		     .lender = &lender);
	struct { struct iommufd_parallel_opts o; uint64_t tail; } big = { .o = opts, .tail = 1 };
	uint8_t *mem = anon(LEN);
	uint32_t id;

	ASSERT_NE(mem, NULL);
	ASSERT_OK(iommufd_ioas_alloc(self->ctx, &id));
	ASSERT_OK(iommufd_ioas_map_parallel(self->ctx, id, mem, LEN, 0x4000000, IOMMUFD_MAP_RW,
					    &opts));
	ASSERT_EQ(lent.offers, 1);
	ASSERT_EQ(lent.withdrawals, 1);
	ASSERT_EQ(kernel_unmap_all(self->ctx, id), LEN);
	/* A bigger struct than this library knows, with a non-zero tail. */
	big.o.sz = sizeof(big);
	ASSERT_ERR(E2BIG, iommufd_ioas_map_parallel(self->ctx, id, mem, LEN, 0x4000000,
						    IOMMUFD_MAP_RW, &big.o));
	opts.sz = 4;
	ASSERT_ERR(EINVAL, iommufd_ioas_map_parallel(self->ctx, id, mem, LEN, 0x4000000,
						     IOMMUFD_MAP_RW, &opts));
	/* An older caller's struct ends before the lender: its own threads map. */
	opts.sz = offsetof(struct iommufd_parallel_opts, lender);
	ASSERT_OK(iommufd_ioas_map_parallel(self->ctx, id, mem, LEN, 0x4000000, IOMMUFD_MAP_RW,
					    &opts));
	ASSERT_EQ(lent.offers, 1);
	ASSERT_EQ(kernel_unmap_all(self->ctx, id), LEN);
	ASSERT_OK(iommufd_destroy(self->ctx, id));
	munmap(mem, LEN);
}

TEST_HARNESS_MAIN
