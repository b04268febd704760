// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * nvme-io: a userspace NVMe driver's data path on one io_uring.
 *
 * Brings up an NVMe controller bound to vfio-pci with the nvme/ module,
 * prints what Identify says, then copies COUNT blocks of 4 KiB from a file
 * (or generated data) to the disk at LBA offset 0 and reads them back into a
 * second buffer, QD blocks in flight:
 *
 *   - the buffers are plain memory of this program's, mapped for the device
 *     by an async map request (libiommufd-async) that completes on the ring;
 *   - the I/O queue's MSI-X vector is watched on the same ring, so each
 *     interrupt is a completion next to the maps, and reaps the NVMe CQ;
 *   - the buffers are unmapped by async requests at the end.
 *
 *	nvme-io [BDF [FILE]]	(default: the first NVMe controller, 64 blocks
 *				 of generated data)
 *
 * Exits 77 when there is no NVMe controller or no IOMMU (skipped in tests).
 */
#include <dirent.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <iommufd/async.h>

#include "../nvme/nvme.h"

#define BLOCK	4096u
#define COUNT	64u
#define QD	8u

enum { UD_MAP_OUT = 1, UD_MAP_IN, UD_IRQ, UD_UNMAP };

static int fail(const char *what, int err, const char *why)
{
	fprintf(stderr, "nvme-io: %s: %s\n  %s\n", what, strerror(-err), why);
	return 1;
}

static int find_nvme(char *bdf, size_t len)
{
	struct dirent *de;
	char path[300], cls[16] = "";
	DIR *d = opendir("/sys/bus/pci/devices");
	FILE *f;

	while (d && (de = readdir(d))) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%.40s/class", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(cls, sizeof(cls), f))
			cls[0] = 0;
		fclose(f);
		if (!strncmp(cls, "0x010802", 8)) {
			snprintf(bdf, len, "%.40s", de->d_name);
			closedir(d);
			return 0;
		}
	}
	if (d)
		closedir(d);
	return -ENODEV;
}

struct io_state {
	struct nvme_queue *q;
	uint8_t *out, *in;
	uint32_t per;		/* LBAs per block */
	unsigned int next, done, failed;
	bool reading;		/* second pass: read back into @in */
};

/* Keep QD commands in flight: the next block of this pass. */
static int submit_next(struct io_state *s)
{
	unsigned int i = s->next++;

	if (s->reading)
		return nvme_submit_io(s->q, NVME_CMD_READ, (uint64_t)i * s->per, s->per,
				      s->in + (size_t)i * BLOCK, i);
	return nvme_submit_io(s->q, NVME_CMD_WRITE, (uint64_t)i * s->per, s->per,
			      s->out + (size_t)i * BLOCK, i);
}

static void io_done(void *arg, uint64_t block, uint16_t status, uint32_t result)
{
	struct io_state *s = arg;

	if (status) {
		fprintf(stderr, "nvme-io: block %llu: %s (%s)\n", (unsigned long long)block,
			nvme_status_name(status), nvme_status_hint(status));
		s->failed++;
	}
	s->done++;
	if (s->next < COUNT && submit_next(s) < 0)
		s->failed++;
}

/* Wait for the next CQE on the ring: its user_data and result. */
static int ring_next(struct io_uring *ring, uint64_t *ud)
{
	struct io_uring_cqe *cqe;
	int r = io_uring_wait_cqe(ring, &cqe);

	if (r < 0)
		return r;
	*ud = cqe->user_data;
	r = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return r;
}

int main(int argc, char **argv)
{
	struct io_state s = { 0 };
	struct iommufd_async *a = NULL;
	struct iommufd_async_sqe *sqe;
	struct nvme_ctrl *c = NULL;
	const struct nvme_ctrl_info *info;
	struct io_uring ring;
	uint64_t iova[2] = { 0, 0 }, ud;
	char bdf[64];
	eventfd_t v;
	int r, fd, rc = 1;

	if (argc > 1)
		snprintf(bdf, sizeof(bdf), "%s", argv[1]);
	else if (find_nvme(bdf, sizeof(bdf)) < 0) {
		fprintf(stderr, "nvme-io: no NVMe controller\n");
		return 77;
	}
	if (access("/dev/iommu", F_OK)) {
		fprintf(stderr, "nvme-io: no /dev/iommu\n");
		return 77;
	}
	r = nvme_open(bdf, NULL, &c);
	if (r < 0)
		return fail(bdf, r, nvme_last_error());
	info = nvme_info(c);
	printf("%s: %s (serial %s, firmware %s), namespace %u: %llu blocks of %u bytes, "
	       "%u I/O queues, %u MSI-X vectors\n", bdf, info->model, info->serial,
	       info->firmware, info->nsid, (unsigned long long)info->blocks, info->block_size,
	       info->io_queues, info->irq_vectors);
	s.per = BLOCK / info->block_size;

	/* The data: plain memory, not yet visible to the device. */
	s.out = mmap(NULL, 2 * (size_t)COUNT * BLOCK, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s.out == MAP_FAILED)
		return fail("mmap", -errno, "");
	s.in = s.out + (size_t)COUNT * BLOCK;
	fd = argc > 2 ? open(argv[2], O_RDONLY | O_CLOEXEC) : -1;
	for (unsigned int i = 0; i < COUNT * BLOCK; i++)
		s.out[i] = (uint8_t)(i * 7 + i / BLOCK);
	if (fd >= 0) {
		if (read(fd, s.out, (size_t)COUNT * BLOCK) < 0)
			return fail(argv[2], -errno, "");
		close(fd);
	}

	if ((r = io_uring_queue_init(32, &ring, 0)) < 0)
		return fail("io_uring", r, "");
	if ((r = iommufd_async_new(&ring, NULL, &a)) < 0) {
		fail("async", r, iommufd_last_error());
		goto out_ring;
	}
	r = nvme_queue_create(c, 2 * QD, NVME_QUEUE_IRQ, &s.q);
	if (r < 0) {
		fail("I/O queue", r, nvme_last_error());
		goto out_async;
	}
	/* The interrupts and the maps complete on the same ring. */
	r = iommufd_async_watch_eventfd(a, nvme_queue_eventfd(s.q), UD_IRQ);
	for (int i = 0; r >= 0 && i < 2; i++) {
		sqe = iommufd_async_get_sqe(a);
		iommufd_async_prep_map(sqe, nvme_ioas(c), i ? s.in : s.out,
				       (uint64_t)COUNT * BLOCK,
				       i ? IOMMUFD_MAP_WRITE : IOMMUFD_MAP_READ, &iova[i]);
		iommufd_async_sqe_set_data(sqe, i ? UD_MAP_IN : UD_MAP_OUT);
	}
	if (r < 0 || (r = iommufd_async_submit(a)) < 0) {
		fail("map", r, iommufd_last_error());
		goto out_queue;
	}

	/* One loop: maps complete, then each interrupt reaps and refills the queue. */
	for (int mapped = 0; s.done < 2 * COUNT && !s.failed;) {
		r = ring_next(&ring, &ud);
		if (ud == UD_MAP_OUT || ud == UD_MAP_IN) {
			if (r < 0) {
				fail("async map", r, iommufd_async_explain(a, ud, (char[256]){ 0 },
									    256));
				goto out_unmap;
			}
			if (++mapped < 2)
				continue;
			/* Both buffers mapped: start writing. */
			while (s.next < QD)
				if ((r = submit_next(&s)) < 0) {
					fail("submit", r, nvme_last_error());
					goto out_unmap;
				}
			continue;
		}
		if (ud != UD_IRQ)
			continue;
		eventfd_read(nvme_queue_eventfd(s.q), &v);
		nvme_queue_reap(s.q, io_done, &s);
		if (!s.reading && s.done == COUNT && !nvme_queue_inflight(s.q)) {
			/* All written: read them back. */
			s.reading = true;
			s.next = 0;
			while (s.next < QD)
				if ((r = submit_next(&s)) < 0) {
					fail("submit", r, nvme_last_error());
					goto out_unmap;
				}
		}
	}
	if (s.failed)
		fprintf(stderr, "nvme-io: %u commands failed\n", s.failed);
	else if (memcmp(s.out, s.in, (size_t)COUNT * BLOCK))
		fprintf(stderr, "nvme-io: the blocks read back differ from those written\n");
	else {
		printf("%u blocks of %u bytes written and read back at queue depth %u, "
		       "completions on the ring: verified\n", COUNT, BLOCK, QD);
		rc = 0;
	}

out_unmap:
	/* Nothing is in flight any more: the buffers may go. */
	for (int i = 0; i < 2; i++) {
		if (!iova[i])
			continue;
		sqe = iommufd_async_get_sqe(a);
		iommufd_async_prep_unmap(sqe, nvme_ioas(c), iova[i]);
		iommufd_async_sqe_set_data(sqe, UD_UNMAP);
		iommufd_async_submit(a);
		while (ring_next(&ring, &ud) >= 0 && ud != UD_UNMAP)
			;
	}
	iommufd_async_unwatch_eventfd(a, UD_IRQ);
out_queue:
	nvme_queue_delete(s.q);
out_async:
	iommufd_async_free(a);
out_ring:
	io_uring_queue_exit(&ring);
	munmap(s.out, 2 * (size_t)COUNT * BLOCK);
	nvme_close(c);
	return rc;
}
