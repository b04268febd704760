// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * 4 KiB random reads on an NVMe controller at queue depth 1 and 32:
 *
 *	bench_nvme user BDF [SECONDS]	the userspace driver (nvme/), polled
 *					and with its MSI-X vector on an io_uring
 *	bench_nvme kernel DEV [SECONDS]	the kernel's nvme driver through
 *					io_uring O_DIRECT on the block device
 *					(and IOPOLL when it has poll queues)
 *
 * Each mode runs SECONDS (default 3) after a short warm-up and prints
 * "R <mode>_qd<N>_{iops,p50_us,p99_us} VALUE" lines for bench/nvme.sh,
 * which runs both sides in one boot and prints the ratios. Latency is
 * from submission to the completion being seen by the program. The LBAs
 * come from one fixed pseudo-random sequence, the same on both sides.
 */
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/fs.h>

#include <iommufd/async.h>

#include "../nvme/nvme.h"

#define IO_SIZE		4096u
#define MAX_QD		32
#define WARMUP_S	0.5
#define MAX_SAMPLES	(1u << 21)

static double seconds = 3;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, int r, const char *why)
{
	fprintf(stderr, "bench_nvme: %s: %s%s%s\n", what, strerror(-r), why && *why ? ": " : "",
		why ? why : "");
	exit(1);
}

/* xorshift64: the same sequence of 4 KiB-aligned offsets on both sides. */
static uint64_t rng = 88172645463325252ULL;

static uint64_t next_block(uint64_t nblocks)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % nblocks;
}

struct stats {
	double *lat;	/* microseconds */
	unsigned int n;
	uint64_t ios;
	double t0, t1;
	bool measuring;
};

static void stats_start(struct stats *s)
{
	s->n = 0;
	s->ios = 0;
	s->measuring = false;
	s->t0 = now();
}

/* One completion of an I/O submitted at @t_submit; false when the run is over. */
static bool stats_add(struct stats *s, double t_submit)
{
	double t = now();

	if (!s->measuring) {
		if (t - s->t0 < WARMUP_S)
			return true;
		s->measuring = true;
		s->t0 = t;
		return true;
	}
	s->ios++;
	if (s->n < MAX_SAMPLES)
		s->lat[s->n++] = (t - t_submit) * 1e6;
	s->t1 = t;
	return t - s->t0 < seconds;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void stats_print(struct stats *s, const char *mode, unsigned int qd)
{
	double iops = s->ios / (s->t1 - s->t0);

	qsort(s->lat, s->n, sizeof(double), cmp_double);
	printf("R %s_qd%u_iops %.0f\n", mode, qd, iops);
	printf("R %s_qd%u_p50_us %.1f\n", mode, qd, s->n ? s->lat[s->n / 2] : 0);
	printf("R %s_qd%u_p99_us %.1f\n", mode, qd, s->n ? s->lat[(size_t)(s->n * 0.99)] : 0);
	fflush(stdout);
}

/* ------------------------------------------------------------------------ */
/* The userspace driver                                                     */
/* ------------------------------------------------------------------------ */

struct user_run {
	struct nvme_queue *q;
	struct ioas_dma_buf *buf;
	struct stats *st;
	uint64_t nblocks;	/* of IO_SIZE */
	uint32_t per;		/* LBAs per IO_SIZE */
	double submitted[MAX_QD];
	bool go_on;
	unsigned int failed;
};

static void user_submit(struct user_run *u, unsigned int slot)
{
	int r;

	u->submitted[slot] = now();
	r = nvme_submit_io(u->q, NVME_CMD_READ, next_block(u->nblocks) * u->per, u->per,
			   (char *)u->buf->vaddr + (size_t)slot * IO_SIZE, slot);
	if (r < 0)
		die("submit", r, nvme_last_error());
}

static void user_done(void *arg, uint64_t slot, uint16_t status, uint32_t result)
{
	struct user_run *u = arg;

	u->failed += status != 0;
	if (!stats_add(u->st, u->submitted[slot]))
		u->go_on = false;
	if (u->go_on)
		user_submit(u, (unsigned int)slot);
}

static void run_user(struct nvme_ctrl *c, struct stats *st, unsigned int qd, bool irq)
{
	const struct nvme_ctrl_info *info = nvme_info(c);
	struct user_run u = { .st = st, .go_on = true };
	struct iommufd_async *a = NULL;
	struct io_uring ring;
	unsigned int stalls = 0;
	int r;

	u.per = IO_SIZE / info->block_size;
	u.nblocks = info->blocks / u.per;
	r = nvme_queue_create(c, MAX_QD * 2, irq ? NVME_QUEUE_IRQ : 0, &u.q);
	if (r < 0)
		die("create a queue", r, nvme_last_error());
	r = ioas_dma_alloc(nvme_ioas(c), (uint64_t)MAX_QD * IO_SIZE, NULL, &u.buf);
	if (r < 0)
		die("DMA buffer", r, iommufd_last_error());
	if (irq) {
		/* The queue's MSI-X vector completes on the ring. */
		if ((r = io_uring_queue_init(64, &ring, 0)) < 0)
			die("io_uring", r, NULL);
		if ((r = iommufd_async_new(&ring, NULL, &a)) < 0 ||
		    (r = iommufd_async_watch_eventfd(a, nvme_queue_eventfd(u.q), 1)) < 0)
			die("watch the vector's eventfd", r, iommufd_last_error());
	}
	stats_start(st);
	for (unsigned int i = 0; i < qd; i++)
		user_submit(&u, i);
	while (nvme_queue_inflight(u.q)) {
		struct io_uring_cqe *cqe;
		eventfd_t v;

		if (irq && u.go_on) {
			struct __kernel_timespec ts = { .tv_sec = 5 };
			unsigned int head, seen = 0;
			bool rearm = false;

			r = io_uring_wait_cqe_timeout(&ring, &cqe, &ts);
			if (r < 0)
				die("no interrupt within 5 s", r, NULL);
			/*
			 * Take every interrupt's completion at once: one reap
			 * serves them all, and completions left behind would
			 * pile up until the ring overflowed and io_uring ended
			 * the multishot watch.
			 */
			io_uring_for_each_cqe(&ring, head, cqe) {
				seen++;
				rearm |= !(cqe->flags & IORING_CQE_F_MORE);
			}
			io_uring_cq_advance(&ring, seen);
			eventfd_read(nvme_queue_eventfd(u.q), &v);
			if (rearm) {	/* the watch ended after all: arm it again */
				stalls++;
				r = iommufd_async_watch_eventfd(a, nvme_queue_eventfd(u.q), 1);
				if (r < 0)
					die("re-arm the watch", r, iommufd_last_error());
			}
		}
		nvme_queue_reap(u.q, user_done, &u);
	}
	if (u.failed)
		die("reads failed", -EIO, NULL);
	stats_print(st, irq ? "user_irq" : "user_polled", qd);
	if (stalls)
		printf("# user_irq_qd%u: the watch ended %u times and was armed again\n", qd, stalls);
	if (irq) {
		iommufd_async_unwatch_eventfd(a, 1);
		iommufd_async_free(a);
		io_uring_queue_exit(&ring);
	}
	ioas_dma_free(nvme_ioas(c), u.buf);
	r = nvme_queue_delete(u.q);
	if (r < 0)
		die("delete the queue", r, nvme_last_error());
}

static int bench_user(const char *bdf, struct stats *st)
{
	struct nvme_ctrl *c;
	int r = nvme_open(bdf, NULL, &c);

	if (r < 0)
		die(bdf, r, nvme_last_error());
	for (unsigned int qd = 1; qd <= MAX_QD; qd *= 32) {
		run_user(c, st, qd, false);
		run_user(c, st, qd, true);
	}
	nvme_close(c);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The kernel's driver through io_uring                                     */
/* ------------------------------------------------------------------------ */

static int run_kernel(const char *dev, struct stats *st, unsigned int qd, bool iopoll)
{
	double submitted[MAX_QD];
	unsigned int free_slots[MAX_QD], nr_free = 0, inflight = 0;
	struct io_uring ring;
	uint64_t size, nblocks;
	bool go_on = true;
	void *buf;
	int fd, r;

	fd = open(dev, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		die(dev, -errno, NULL);
	if (ioctl(fd, BLKGETSIZE64, &size) < 0)
		die("BLKGETSIZE64", -errno, NULL);
	nblocks = size / IO_SIZE;
	if (posix_memalign(&buf, IO_SIZE, (size_t)MAX_QD * IO_SIZE))
		die("memory", -ENOMEM, NULL);
	r = io_uring_queue_init(64, &ring, iopoll ? IORING_SETUP_IOPOLL : 0);
	if (r < 0)
		die("io_uring", r, NULL);
	for (unsigned int i = 0; i < qd; i++)
		free_slots[nr_free++] = i;
	stats_start(st);
	for (;;) {
		struct io_uring_cqe *cqe;

		while (go_on && nr_free) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
			unsigned int slot = free_slots[--nr_free];

			io_uring_prep_read(sqe, fd, (char *)buf + (size_t)slot * IO_SIZE, IO_SIZE,
					   next_block(nblocks) * IO_SIZE);
			io_uring_sqe_set_data64(sqe, slot);
			submitted[slot] = now();
			inflight++;
		}
		if (!inflight)
			break;
		r = io_uring_submit_and_wait(&ring, 1);
		if (r < 0)
			die("io_uring_submit_and_wait", r, NULL);
		while (io_uring_peek_cqe(&ring, &cqe) == 0) {
			unsigned int slot = (unsigned int)io_uring_cqe_get_data64(cqe);
			int res = cqe->res;

			io_uring_cqe_seen(&ring, cqe);
			inflight--;
			free_slots[nr_free++] = slot;
			if (res == -EOPNOTSUPP && iopoll) {
				go_on = false;	/* drain, then report it */
				r = -EOPNOTSUPP;
				continue;
			}
			if (res != (int)IO_SIZE)
				die("read", res < 0 ? res : -EIO, NULL);
			if (!stats_add(st, submitted[slot]))
				go_on = false;
		}
	}
	if (r != -EOPNOTSUPP)
		stats_print(st, iopoll ? "kernel_iopoll" : "kernel_irq", qd);
	io_uring_queue_exit(&ring);
	free(buf);
	close(fd);
	return r == -EOPNOTSUPP ? r : 0;
}

static int bench_kernel(const char *dev, struct stats *st)
{
	for (unsigned int qd = 1; qd <= MAX_QD; qd *= 32) {
		run_kernel(dev, st, qd, false);
		if (run_kernel(dev, st, qd, true) == -EOPNOTSUPP)
			printf("# no kernel IOPOLL: the nvme driver has no poll queues "
			       "(nvme.poll_queues=N)\n");
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct stats st = { 0 };

	if (argc < 3 || (strcmp(argv[1], "user") && strcmp(argv[1], "kernel"))) {
		fprintf(stderr, "usage: bench_nvme user BDF [SECONDS] | kernel DEV [SECONDS]\n");
		return 2;
	}
	if (argc > 3)
		seconds = atof(argv[3]);
	st.lat = malloc(MAX_SAMPLES * sizeof(double));
	if (!st.lat)
		die("memory", -ENOMEM, NULL);
	if (!strcmp(argv[1], "user"))
		bench_user(argv[2], &st);
	else
		bench_kernel(argv[2], &st);
	free(st.lat);
	return 0;
}
