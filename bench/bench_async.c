// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The async layer against the synchronous calls, in one run on one IOAS
 * with the edu device attached (so maps pin and load the IOMMU domain):
 *
 *  cold 1 GiB  one map of never-touched 4 KiB-page memory: ioas_map() in
 *              this thread vs. one async request, split over the pool.
 *  storm       4 KiB map+unmap pairs: the synchronous loop vs. the async
 *              layer at queue depth 64 (the layer must not tax small maps).
 *
 * Rounds alternate so that drift (TCG, host load) hits both sides alike.
 *
 *	bench_async [PAIRS]	storm size, default 100000
 */
#include <liburing.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <iommufd/async.h>
#include <iommufd/ioas.h>

#define GiB (1ULL << 30)
#define PAGE 4096ULL
#define QD 64

static struct ioas *ioas;
static struct io_uring ring;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, int r)
{
	fprintf(stderr, "bench_async: %s: %s (%s)\n", what, strerror(-r), iommufd_last_error());
	exit(1);
}

static void *cold(uint64_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || madvise(p, len, MADV_NOHUGEPAGE))
		die("mmap", -12);
	return p;
}

static int reap_one(uint64_t *ud)
{
	struct io_uring_cqe *cqe;
	int r = io_uring_wait_cqe(&ring, &cqe);

	if (r < 0)
		die("io_uring_wait_cqe", r);
	*ud = cqe->user_data;
	r = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	return r;
}

static double cold_sync(void)
{
	void *p = cold(GiB);
	uint64_t iova;
	double t = now();
	int r = ioas_map(ioas, p, GiB, IOMMUFD_MAP_RW, &iova);

	t = now() - t;
	if (r)
		die("ioas_map 1 GiB", r);
	ioas_unmap(ioas, iova);
	munmap(p, GiB);
	return t;
}

static double cold_async(struct iommufd_async *a)
{
	void *p = cold(GiB);
	uint64_t iova, ud;
	double t = now();
	int r;

	iommufd_async_prep_map(iommufd_async_get_sqe(a), ioas, p, GiB, IOMMUFD_MAP_RW, &iova);
	iommufd_async_submit(a);
	r = reap_one(&ud);
	t = now() - t;
	if (r)
		die("async map 1 GiB", r);
	ioas_unmap(ioas, iova);
	munmap(p, GiB);
	return t;
}

static double storm_sync(uint8_t *mem, long pairs)
{
	double t = now();
	uint64_t iova;
	int r;

	for (long i = 0; i < pairs; i++) {
		r = ioas_map(ioas, mem + (i % QD) * PAGE, PAGE, IOMMUFD_MAP_RW, &iova);
		if (r)
			die("ioas_map", r);
		r = ioas_unmap(ioas, iova);
		if (r)
			die("ioas_unmap", r);
	}
	return now() - t;
}

static void queue(struct iommufd_async *a, uint8_t *mem, uint64_t *iova, int b, bool unmap)
{
	struct iommufd_async_sqe *sqe = iommufd_async_get_sqe(a);

	if (!sqe)
		die("iommufd_async_get_sqe", -16);
	if (unmap)
		iommufd_async_prep_unmap(sqe, ioas, iova[b]);
	else
		iommufd_async_prep_map(sqe, ioas, mem + b * PAGE, PAGE, IOMMUFD_MAP_RW, &iova[b]);
	iommufd_async_sqe_set_data(sqe, (uint64_t)unmap << 32 | b);
}

/* The same work shape as the async run: QD buffers mapped, then all unmapped. */
static double storm_sync_batched(uint8_t *mem, long pairs)
{
	static uint64_t iova[QD];
	double t = now();
	int r;

	for (long done = 0; done < pairs; done += QD) {
		int n = pairs - done < QD ? pairs - done : QD;

		for (int b = 0; b < n; b++) {
			r = ioas_map(ioas, mem + b * PAGE, PAGE, IOMMUFD_MAP_RW, &iova[b]);
			if (r)
				die("ioas_map", r);
		}
		for (int b = 0; b < n; b++) {
			r = ioas_unmap(ioas, iova[b]);
			if (r)
				die("ioas_unmap", r);
		}
	}
	return now() - t;
}

/*
 * QD buffers, each cycling map -> unmap -> map: QD requests always in
 * flight. Every completion ready is handled before one submit for all.
 */
static double storm_async(struct iommufd_async *a, uint8_t *mem, long pairs)
{
	static uint64_t iova[QD];
	long maps = 0, unmapped = 0;
	double t = now();
	struct io_uring_cqe *cqe;

	for (int b = 0; b < QD && maps < pairs; b++, maps++)
		queue(a, mem, iova, b, false);
	iommufd_async_submit(a);
	while (unmapped < pairs) {
		int r = io_uring_wait_cqe(&ring, &cqe);

		if (r < 0)
			die("io_uring_wait_cqe", r);
		do {
			uint64_t ud = cqe->user_data;
			int b = (int)(ud & 0xffffffff);

			if (cqe->res)
				die("async map/unmap", cqe->res);
			io_uring_cqe_seen(&ring, cqe);
			if (!(ud >> 32)) {
				queue(a, mem, iova, b, true);
			} else if (unmapped++, maps < pairs) {
				queue(a, mem, iova, b, false);
				maps++;
			}
		} while (io_uring_peek_cqe(&ring, &cqe) == 0);
		iommufd_async_submit(a);
	}
	return now() - t;
}

int main(int argc, char **argv)
{
	long pairs = argc > 1 ? atol(argv[1]) : 100000;
	struct iommufd_async *a;
	struct iommufd_ctx *ctx;
	uint8_t *mem;
	int devfd, r;
	double s = 0, x = 0;

	r = io_uring_queue_init(256, &ring, 0);
	if (r)
		die("io_uring_queue_init", r);
	r = ioas_open_device(getenv("BENCH_BDF") ? getenv("BENCH_BDF") : "0000:01:00.0", NULL,
			     &ioas, &devfd);
	if (r)
		die("ioas_open_device (edu)", r);
	ctx = ioas_get_ctx(ioas);
	if (!ctx) {
		fprintf(stderr, "bench_async: needs the iommufd backend\n");
		return 1;
	}
	r = iommufd_async_new(&ring, NULL, &a);
	if (r)
		die("iommufd_async_new", r);
	printf("# %s\n", iommufd_async_describe(a));

	/* The host backs guest RAM on first touch: warm up before timing. */
	cold_sync();
	for (int i = 0; i < 2; i++) {
		s += cold_sync();
		x += cold_async(a);
	}
	printf("R cold_1g_sync_ms %.1f\nR cold_1g_async_ms %.1f\n", s / 2 * 1e3, x / 2 * 1e3);
	printf("cold 1 GiB map: sync %.0f ms, async %.0f ms: %.2fx (target 1.7x)\n", s / 2 * 1e3,
	       x / 2 * 1e3, s / x);

	mem = cold(QD * PAGE);
	memset(mem, 1, QD * PAGE);
	storm_sync(mem, 2000);
	s = x = 0;
	double sb = 0;
	for (int i = 0; i < 2; i++) {
		s += storm_sync(mem, pairs / 2);
		x += storm_async(a, mem, pairs / 2);
		sb += storm_sync_batched(mem, pairs / 2);
	}
	printf("R storm_sync_us_per_pair %.2f\nR storm_sync_batched_us_per_pair %.2f\n"
	       "R storm_async_us_per_pair %.2f\n", s / pairs * 1e6, sb / pairs * 1e6,
	       x / pairs * 1e6);
	printf("storm of %ld 4 KiB map+unmap pairs, us/pair: sync one at a time %.2f, sync %d "
	       "live %.2f, async QD%d %.2f: async/sync %.2fx and %.2fx (target at most 1.2x)\n",
	       pairs, s / pairs * 1e6, QD, sb / pairs * 1e6, QD, x / pairs * 1e6, x / s, x / sb);
	iommufd_async_free(a);
	ioas_free(ioas);
	io_uring_queue_exit(&ring);
	return 0;
}
