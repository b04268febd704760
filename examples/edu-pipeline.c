// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * edu-pipeline: one io_uring loop for file I/O, DMA set-up and device
 * interrupts, on QEMU's edu device.
 *
 * Blocks of a file are read with io_uring into DMA buffers that were
 * allocated and mapped through the async layer; the device copies each
 * block into its own memory and back out into a second buffer, raising an
 * MSI after each copy, which arrives as a completion on the same ring. The
 * data is verified, and the same pipeline is then run synchronously (pread,
 * a DMA, poll the eventfd, ...) for comparison.
 *
 *	edu-pipeline [FILE [BDF]]	(default: 12 blocks of generated data,
 *					 the first 1234:11e8 device)
 *
 * The edu device finishes a DMA about 100 ms after it is started, so both
 * pipelines run at the device's pace; what the ring buys is that reads,
 * mapping and the program's own work overlap the device instead of adding
 * to it.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <liburing.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <iommufd/async.h>
#include <iommufd/ioas.h>
#include <iommufd/iommufd.h>

#include "edu.h"

#define BLOCK		4000	/* under the 4095 bytes QEMU's edu takes per DMA */
#define SLOTS		4	/* blocks in flight */
#define DEFAULT_BLOCKS	12

/* user_data: what completed (top byte) and for which slot. */
enum { UD_ALLOC = 1, UD_READ, UD_IRQ, UD_FREE };
#define UD(kind, slot)	((uint64_t)(kind) << 56 | (slot))
#define UD_KIND(ud)	((int)((ud) >> 56))
#define UD_SLOT(ud)	((int)((ud) & 0xffff))

struct device {
	struct iommufd_ctx *ctx;
	struct iommufd_device *dev;
	struct ioas *ioas;
	int efd;		/* MSI vector 0 */
};

struct slot {
	struct ioas_dma_buf *in, *out;
	uint64_t off;
	uint32_t len;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "edu-pipeline: %s: %s\n  %s\n", what, strerror(-err), iommufd_last_error());
	return 1;
}

/* Order-independent digest of the blocks: blocks may finish in any order. */
static uint64_t block_digest(const uint8_t *p, uint32_t len, uint64_t off)
{
	uint64_t h = 1469598103934665603ULL ^ off;

	for (uint32_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

static int file_digest(int fd, uint64_t size, uint64_t *digest)
{
	uint8_t buf[BLOCK];

	*digest = 0;
	for (uint64_t off = 0; off < size; off += BLOCK) {
		uint32_t len = size - off < BLOCK ? size - off : BLOCK;

		if (pread(fd, buf, len, off) != (ssize_t)len)
			return -EIO;
		*digest ^= block_digest(buf, len, off);
	}
	return 0;
}

static int device_open(const char *bdf, struct device *d)
{
	IOAS_OPTS(ioas_opts, opts, .dma_limit = EDU_DMA_MASK);
	int r;

	d->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->efd < 0)
		return fail("eventfd", -errno);
	if ((r = iommufd_ctx_open(NULL, &d->ctx)))
		return fail("open /dev/iommu", r);
	if ((r = iommufd_device_open(d->ctx, bdf, &d->dev)))
		return fail("open the device", r);
	if ((r = ioas_new(d->ctx, &opts, &d->ioas)) ||
	    (r = iommufd_device_attach(d->dev, ioas_id(d->ioas))) ||
	    (r = ioas_refresh_ranges(d->ioas)))
		return fail("attach", r);
	if ((r = iommufd_device_irq_enable(d->dev, IOMMUFD_PCI_MSI, 0, 1, &d->efd)) ||
	    (r = iommufd_device_set_bus_master(d->dev, true)))
		return fail("enable MSI and bus mastering", r);
	return 0;
}

static void device_close(struct device *d)
{
	if (d->dev)
		iommufd_device_irq_disable(d->dev, IOMMUFD_PCI_MSI);
	iommufd_device_close(d->dev);
	ioas_free(d->ioas);
	iommufd_ctx_unref(d->ctx);
	if (d->efd >= 0)
		close(d->efd);
}

/* ------------------------------------------------------------------------ */
/* The pipeline on one ring                                                 */
/* ------------------------------------------------------------------------ */

struct ring_pipeline {
	struct device *d;
	struct io_uring ring;
	struct iommufd_async *async;
	int fd;
	uint64_t size, next_off, digest;
	struct slot slot[SLOTS];
	int fifo[SLOTS], fifo_head, fifo_len;	/* slots read, waiting for the device */
	int busy;		/* the slot on the device, -1 when idle */
	bool to_ram;		/* its second copy (device to RAM) is running */
	unsigned int blocks, irqs;
};

static int queue_read(struct ring_pipeline *p, int i)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&p->ring);
	struct slot *s = &p->slot[i];

	if (!sqe)
		return -EBUSY;
	s->off = p->next_off;
	s->len = p->size - s->off < BLOCK ? p->size - s->off : BLOCK;
	p->next_off += s->len;
	io_uring_prep_read(sqe, p->fd, s->in->vaddr, s->len, s->off);
	io_uring_sqe_set_data64(sqe, UD(UD_READ, i));
	return 0;
}

/* The device is idle: give it the next block that was read. */
static int feed_device(struct ring_pipeline *p)
{
	struct slot *s;

	if (p->busy >= 0 || !p->fifo_len)
		return 0;
	p->busy = p->fifo[p->fifo_head];
	p->fifo_head = (p->fifo_head + 1) % SLOTS;
	p->fifo_len--;
	p->to_ram = false;
	s = &p->slot[p->busy];
	return edu_start_dma(p->d->dev, s->in->iova, DEV_BUF, s->len, 0);
}

/* An interrupt: the device finished one of the two copies of the busy slot. */
static int device_done(struct ring_pipeline *p)
{
	struct slot *s = &p->slot[p->busy];
	int r = edu_irq_ack(p->d->dev);

	p->irqs++;
	if (r)
		return r;
	if (!p->to_ram) {
		p->to_ram = true;
		return edu_start_dma(p->d->dev, DEV_BUF, s->out->iova, s->len, DMA_TO_RAM);
	}
	if (memcmp(s->in->vaddr, s->out->vaddr, s->len)) {
		fprintf(stderr, "edu-pipeline: block at %" PRIu64 " came back different\n", s->off);
		return -EIO;
	}
	p->digest ^= block_digest(s->out->vaddr, s->len, s->off);
	p->blocks++;
	r = p->next_off < p->size ? queue_read(p, p->busy) : 0;
	p->busy = -1;
	return r;
}

static int handle(struct ring_pipeline *p, uint64_t ud, int res)
{
	int i = UD_SLOT(ud);

	switch (UD_KIND(ud)) {
	case UD_READ:
		if (res != (int)p->slot[i].len)
			return res < 0 ? res : -EIO;
		p->fifo[(p->fifo_head + p->fifo_len++) % SLOTS] = i;
		return 0;
	case UD_IRQ:
		if (res < 0)
			return res;
		/* Clear the eventfd so the next MSI is a new event. */
		eventfd_read(p->d->efd, &(eventfd_t){ 0 });
		return p->busy >= 0 ? device_done(p) : 0;
	default:
		return -EPROTO;
	}
}

/* Allocate (or free) every slot's two buffers through the async layer. */
static int slot_buffers(struct ring_pipeline *p, bool alloc)
{
	struct io_uring_cqe *cqe;
	int r = 0;

	for (int i = 0; i < SLOTS; i++) {
		for (int k = 0; k < 2; k++) {
			struct ioas_dma_buf **b = k ? &p->slot[i].out : &p->slot[i].in;
			struct iommufd_async_sqe *sqe = iommufd_async_get_sqe(p->async);

			if (!sqe)
				return -EBUSY;
			if (alloc)
				iommufd_async_prep_dma_alloc(sqe, p->d->ioas, BLOCK, NULL, b);
			else
				iommufd_async_prep_dma_free(sqe, p->d->ioas, *b);
			iommufd_async_sqe_set_data(sqe, UD(alloc ? UD_ALLOC : UD_FREE, i));
		}
	}
	iommufd_async_submit(p->async);
	for (int n = 0; n < 2 * SLOTS; n++) {
		if ((r = io_uring_wait_cqe(&p->ring, &cqe)))
			return r;
		if (cqe->res < 0 && !r)
			r = cqe->res;
		io_uring_cqe_seen(&p->ring, cqe);
	}
	return r;
}

static int run_ring(struct device *d, int fd, uint64_t size, uint64_t *digest, double *secs)
{
	struct ring_pipeline p = { .d = d, .fd = fd, .size = size, .busy = -1 };
	struct io_uring_cqe *cqe;
	unsigned int nblocks = (size + BLOCK - 1) / BLOCK;
	double t;
	int r;

	if ((r = io_uring_queue_init(64, &p.ring, 0)))
		return fail("io_uring_queue_init", r);
	if ((r = iommufd_async_new(&p.ring, NULL, &p.async))) {
		io_uring_queue_exit(&p.ring);
		return fail("iommufd_async_new", r);
	}
	printf("  %s\n", iommufd_async_describe(p.async));
	t = now();
	if ((r = slot_buffers(&p, true))) {
		fail("DMA buffers through the async layer", r);
		goto out;
	}
	if ((r = iommufd_async_watch_eventfd(p.async, d->efd, UD(UD_IRQ, 0)))) {
		fail("watch the MSI eventfd", r);
		goto out;
	}
	for (int i = 0; i < SLOTS && p.next_off < size; i++)
		queue_read(&p, i);
	io_uring_submit(&p.ring);
	while (p.blocks < nblocks) {
		if ((r = io_uring_wait_cqe(&p.ring, &cqe)))
			break;
		r = handle(&p, cqe->user_data, cqe->res);
		io_uring_cqe_seen(&p.ring, cqe);
		if (!r)
			r = feed_device(&p);
		if (r)
			break;
		io_uring_submit(&p.ring);
	}
	*secs = now() - t;
	if (r) {
		fail("ring pipeline", r);
		goto out;
	}
	*digest = p.digest;
	printf("  %u blocks, %u interrupts taken on the ring\n", p.blocks, p.irqs);
	iommufd_async_unwatch_eventfd(p.async, UD(UD_IRQ, 0));
	/* The watch's last completion (-ECANCELED) before the buffers go. */
	while (!io_uring_wait_cqe(&p.ring, &cqe)) {
		bool last = UD_KIND(cqe->user_data) == UD_IRQ && !(cqe->flags & IORING_CQE_F_MORE);

		io_uring_cqe_seen(&p.ring, cqe);
		if (last)
			break;
	}
	r = slot_buffers(&p, false);
	if (r)
		fail("free the DMA buffers", r);
out:
	iommufd_async_free(p.async);
	io_uring_queue_exit(&p.ring);
	return r ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* The same pipeline, synchronously                                         */
/* ------------------------------------------------------------------------ */

static int dma_and_wait(struct device *d, uint64_t src, uint64_t dst, uint32_t len, uint64_t cmd)
{
	struct pollfd pfd = { .fd = d->efd, .events = POLLIN };
	int r = edu_start_dma(d->dev, src, dst, len, cmd);

	if (r)
		return r;
	r = poll(&pfd, 1, 5000);
	if (r <= 0)
		return r ? -errno : -ETIMEDOUT;
	iommufd_async_eventfd_ack(d->efd);
	return edu_irq_ack(d->dev);
}

static int run_sync(struct device *d, int fd, uint64_t size, uint64_t *digest, double *secs)
{
	struct ioas_dma_buf *in = NULL, *out = NULL;
	double t = now();
	int r;

	*digest = 0;
	if ((r = ioas_dma_alloc(d->ioas, BLOCK, NULL, &in)) ||
	    (r = ioas_dma_alloc(d->ioas, BLOCK, NULL, &out)))
		goto out;
	for (uint64_t off = 0; off < size; off += BLOCK) {
		uint32_t len = size - off < BLOCK ? size - off : BLOCK;

		if (pread(fd, in->vaddr, len, off) != (ssize_t)len) {
			r = -EIO;
			goto out;
		}
		if ((r = dma_and_wait(d, in->iova, DEV_BUF, len, 0)) ||
		    (r = dma_and_wait(d, DEV_BUF, out->iova, len, DMA_TO_RAM)))
			goto out;
		if (memcmp(in->vaddr, out->vaddr, len)) {
			r = -EIO;
			goto out;
		}
		*digest ^= block_digest(out->vaddr, len, off);
	}
	*secs = now() - t;
out:
	ioas_dma_free(d->ioas, in);
	ioas_dma_free(d->ioas, out);
	return r ? fail("synchronous pipeline", r) : 0;
}

/* No file given: DEFAULT_BLOCKS blocks of generated data in a memfd. */
static int make_input(void)
{
	uint8_t buf[BLOCK];
	uint64_t x = 88172645463325252ULL;
	int fd = memfd_create("edu-pipeline-input", MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	for (int b = 0; b < DEFAULT_BLOCKS; b++) {
		for (int i = 0; i < BLOCK; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			buf[i] = (uint8_t)x;
		}
		if (write(fd, buf, BLOCK) != BLOCK) {
			close(fd);
			return -EIO;
		}
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct device d = { .efd = -1 };
	uint64_t want, got_ring = 0, got_sync = 0;
	double t_ring = 0, t_sync = 0;
	char bdf[300];
	struct stat st;
	int fd, r = 1;

	fd = argc > 1 ? open(argv[1], O_RDONLY | O_CLOEXEC) : make_input();
	if (fd < 0 || fstat(fd, &st) || !st.st_size)
		return fail(argc > 1 ? argv[1] : "the generated input", fd < 0 ? fd : -EINVAL);
	if (argc > 2)
		snprintf(bdf, sizeof(bdf), "%s", argv[2]);
	else if (find_edu(bdf, sizeof(bdf)) < 0) {
		fprintf(stderr, "edu-pipeline: no edu device (PCI 1234:11e8) found\n");
		return 77;
	}
	if (file_digest(fd, st.st_size, &want) || device_open(bdf, &d))
		goto out;

	printf("%s: %lld bytes in blocks of %d, %d in flight\n", bdf, (long long)st.st_size,
	       BLOCK, SLOTS);
	printf("one ring (io_uring reads, async DMA buffers, MSI completions):\n");
	if (run_ring(&d, fd, st.st_size, &got_ring, &t_ring))
		goto out;
	printf("synchronous (pread, ioas_dma_alloc, poll on the eventfd):\n");
	if (run_sync(&d, fd, st.st_size, &got_sync, &t_sync))
		goto out;
	if (got_ring != want || got_sync != want) {
		fprintf(stderr, "edu-pipeline: digest mismatch: file %016" PRIx64 ", ring %016" PRIx64
			", sync %016" PRIx64 "\n", want, got_ring, got_sync);
		goto out;
	}
	printf("verified: both pipelines returned the file's data through the IOMMU\n");
	printf("throughput: ring %.1f KiB/s (%.2f s), synchronous %.1f KiB/s (%.2f s): %.2fx\n",
	       st.st_size / 1024.0 / t_ring, t_ring, st.st_size / 1024.0 / t_sync, t_sync,
	       t_sync / t_ring);
	r = 0;
out:
	device_close(&d);
	close(fd);
	return r;
}
