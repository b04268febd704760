// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The userspace NVMe driver (nvme/) on QEMU's NVMe controller behind the
 * emulated VT-d: bring-up and Identify against what the disk image is,
 * reads and writes on polled and interrupt-driven queues, completions on an
 * io_uring, several queues with a vector each, MSI-X masking, decoded
 * errors, user buffers mapped by async requests, the IOMMU stopping DMA to
 * an unmapped buffer, and the kernel's nvme driver reading back what the
 * userspace driver wrote (and the reverse) after handing the controller over.
 */
#include <dirent.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>

#include "harness.h"
#include "../../nvme/nvme.h"

#include <iommufd/async.h>

#define PAGE 4096u

/* The driver's explanation of its last failure must contain @text. */
#define NVME_EXPLAINS(text)                                                               \
	do {                                                                              \
		if (!strstr(nvme_last_error(), (text)))                                   \
			th_fail(true, __FILE__, __LINE__,                                 \
				"explanation \"%s\" lacks \"%s\"", nvme_last_error(),     \
				(text));                                                  \
	} while (0)

/* An nvme_* call that must succeed; shows the driver's explanation. */
#define NVME_OK(expr)                                                                     \
	do {                                                                              \
		long long th_r = (expr);                                                  \
		if (th_r < 0)                                                             \
			th_fail(true, __FILE__, __LINE__, "%s = %lld (%s): %s", #expr,    \
				th_r, strerror((int)-th_r), nvme_last_error());           \
	} while (0)
#define NVME_IMG "/tmp/vmio/nvme.img"	/* the image, as the guest sees the vmio share */

/* The first NVMe controller (class 0x010802), bound to vfio-pci or not. */
static int nvme_find(char *bdf, size_t len)
{
	char path[512], buf[64];
	struct dirent *de;
	int r = -ENODEV;
	DIR *d;
	FILE *f;

	d = opendir("/sys/bus/pci/devices");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/class", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && !strncmp(buf, "0x010802", 8)) {
			snprintf(bdf, len, "%s", de->d_name);
			r = 0;
		}
		fclose(f);
		if (!r)
			break;
	}
	closedir(d);
	return r;
}

/* Hand @bdf to @driver ("nvme" or "vfio-pci"), as the guest's init does. */
static int rebind(const char *bdf, const char *driver)
{
	char path[512];
	int r;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind", bdf);
	if (!access(path, F_OK) && (r = th_write_file(path, bdf)) < 0)
		return r;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", bdf);
	if ((r = th_write_file(path, driver)) < 0)
		return r;
	return th_write_file("/sys/bus/pci/drivers_probe", bdf);
}

/* The kernel's block device of namespace 1 of @bdf, once it appeared (the probe is async). */
static int kernel_blockdev(const char *bdf, char *dev, size_t len)
{
	char path[512];
	struct dirent *de;
	DIR *d;

	for (int i = 0; i < 200; i++) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/nvme", bdf);
		d = opendir(path);
		if (d) {
			while ((de = readdir(d))) {
				if (strncmp(de->d_name, "nvme", 4))
					continue;
				snprintf(dev, len, "/dev/%sn1", de->d_name);
				if (!access(dev, F_OK)) {
					closedir(d);
					return 0;
				}
			}
			closedir(d);
		}
		usleep(50000);
	}
	return -ETIMEDOUT;
}

/* Whether the kernel log holds a line with @needle (read from its start). */
static bool kmsg_has(const char *needle)
{
	char rec[2048];
	bool found = false;
	ssize_t n;
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return false;
	while (!found && ((n = read(fd, rec, sizeof(rec) - 1)) > 0 || (n < 0 && errno == EPIPE))) {
		if (n <= 0)
			continue;	/* EPIPE: records were overwritten; go on */
		rec[n] = 0;
		found = strstr(rec, needle);
	}
	close(fd);
	return found;
}

static uint64_t fnv(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

/* A block's pattern: its LBA and a seed, so a misplaced block is told apart. */
static void fill(void *buf, size_t len, uint64_t lba, uint32_t bs, uint64_t seed)
{
	uint64_t *w = buf;

	for (size_t i = 0; i < len / 8; i++) {
		uint64_t x = (lba + i * 8 / bs) * 0x9e3779b97f4a7c15ULL ^ seed ^ (i * 0x2545f491);

		w[i] = x ^ (x >> 29);
	}
}

FIXTURE(nvme)
{
	char bdf[300];
	struct nvme_ctrl *c;
	const struct nvme_ctrl_info *info;
	struct ioas_dma_buf *buf, *buf2;
};

FIXTURE_SETUP(nvme)
{
	if (nvme_find(self->bdf, sizeof(self->bdf)) < 0)
		SKIP(return, "no NVMe controller");
	if (!getenv("LIBIOMMUFD_VM_IOMMU") || !strcmp(getenv("LIBIOMMUFD_VM_IOMMU"), "0") ||
	    access("/dev/iommu", F_OK))
		SKIP(return, "guest booted without an IOMMU");
	NVME_OK(nvme_open(self->bdf, NULL, &self->c));
	self->info = nvme_info(self->c);
	ASSERT_OK(ioas_dma_alloc(nvme_ioas(self->c), 256 * 1024, NULL, &self->buf));
	ASSERT_OK(ioas_dma_alloc(nvme_ioas(self->c), 256 * 1024, NULL, &self->buf2));
}

FIXTURE_TEARDOWN(nvme)
{
	if (self->c) {
		ioas_dma_free(nvme_ioas(self->c), self->buf);
		ioas_dma_free(nvme_ioas(self->c), self->buf2);
	}
	nvme_close(self->c);
}

/* Identify against what QEMU was given: the image's size and the serial. */
TEST_F(nvme, identify)
{
	struct stat st;

	ASSERT_SYS(stat(NVME_IMG, &st));
	TH_LOG("%s: %s, serial %s, fw %s, NVMe %u.%u, %u namespace(s), %" PRIu64
	       " blocks of %u, %u I/O queues, %u MSI-X vectors, max %" PRIu64 " bytes/cmd",
	       self->bdf, self->info->model, self->info->serial, self->info->firmware,
	       self->info->version >> 16, (self->info->version >> 8) & 0xff, self->info->nn,
	       self->info->blocks, self->info->block_size, self->info->io_queues,
	       self->info->irq_vectors, self->info->max_transfer);
	ASSERT_EQ(strcmp(self->info->serial, "libiommufd0"), 0);
	ASSERT_EQ(self->info->blocks * self->info->block_size, (uint64_t)st.st_size);
	ASSERT_GE(self->info->nn, 1u);
	ASSERT_GE(self->info->io_queues, 4u);
	ASSERT_GE(self->info->max_transfer, 64u * 1024);
	/* Namespace 2 is not active; a namespace beyond NN does not exist. */
	struct nvme_ctrl *c2;
	struct nvme_opts o = { .nsid = 2 };
	uint32_t nn = self->info->nn;
	char want[96];

	ioas_dma_free(nvme_ioas(self->c), self->buf);
	ioas_dma_free(nvme_ioas(self->c), self->buf2);
	nvme_close(self->c);
	self->c = NULL;
	ASSERT_ERR(ENODEV, nvme_open(self->bdf, &o, &c2));
	NVME_EXPLAINS("namespace 2 is not active");
	o.nsid = nn + 1;
	ASSERT_ERR(ENODEV, nvme_open(self->bdf, &o, &c2));
	snprintf(want, sizeof(want), "namespace %u asked for; the controller has %u", o.nsid,
		 nn);
	NVME_EXPLAINS(want);
	/* The controller still comes up after those. */
	NVME_OK(nvme_open(self->bdf, NULL, &c2));
	nvme_close(c2);
}

/* Write a pattern, read it back through a second buffer, on one queue. */
static void write_read(struct nvme_queue *q, struct ioas_dma_buf *w, struct ioas_dma_buf *r,
		       uint32_t bs, uint64_t lba, uint32_t nlb, uint64_t seed)
{
	size_t len = (size_t)nlb * bs;

	fill(w->vaddr, len, lba, bs, seed);
	memset(r->vaddr, 0xa5, len);
	NVME_OK(nvme_io(q, NVME_CMD_WRITE, lba, nlb, w->vaddr, NULL));
	NVME_OK(nvme_io(q, NVME_CMD_READ, lba, nlb, r->vaddr, NULL));
	ASSERT_EQ(memcmp(w->vaddr, r->vaddr, len), 0);
}

/* Sizes that need no PRP2, PRP2 as a page, and PRP lists; an unaligned start. */
TEST_F(nvme, rw_polled)
{
	struct nvme_queue *q;
	uint32_t bs = self->info->block_size;

	NVME_OK(nvme_queue_create(self->c, 16, 0, &q));
	ASSERT_EQ(nvme_queue_eventfd(q), -1);
	write_read(q, self->buf, self->buf2, bs, 0, 1, 1);
	write_read(q, self->buf, self->buf2, bs, 100, PAGE / bs, 2);
	write_read(q, self->buf, self->buf2, bs, 200, 2 * PAGE / bs, 3);
	write_read(q, self->buf, self->buf2, bs, 1000, 256 * 1024 / bs, 4);
	write_read(q, self->buf, self->buf2, bs, self->info->blocks - 3, 3, 5);
	/* A buffer that starts inside a page: PRP1 with an offset, the rest listed. */
	fill((char *)self->buf->vaddr + 512, 3 * PAGE, 7, bs, 6);
	NVME_OK(nvme_io(q, NVME_CMD_WRITE, 7, 3 * PAGE / bs, (char *)self->buf->vaddr + 512,
			  NULL));
	NVME_OK(nvme_io(q, NVME_CMD_READ, 7, 3 * PAGE / bs, (char *)self->buf2->vaddr + 1024,
			  NULL));
	ASSERT_EQ(memcmp((char *)self->buf->vaddr + 512, (char *)self->buf2->vaddr + 1024,
			 3 * PAGE), 0);
	NVME_OK(nvme_queue_delete(q));
}

struct tally {
	unsigned int done, failed;
	uint16_t status;	/* the last failure's */
	uint64_t seen;	/* bit per user_data */
};

static void tally_fn(void *arg, uint64_t user_data, uint16_t status, uint32_t result)
{
	struct tally *t = arg;

	t->done++;
	t->failed += status != 0;
	if (status)
		t->status = status & 0x7ff;
	t->seen |= 1ULL << (user_data & 63);
}

/* An interrupt-driven queue: its vector's eventfd fires, and only its own. */
TEST_F(nvme, rw_irq)
{
	struct nvme_queue *q;
	struct tally t = { 0 };
	struct pollfd pfd;
	eventfd_t v;

	NVME_OK(nvme_queue_create(self->c, 16, NVME_QUEUE_IRQ, &q));
	pfd = (struct pollfd){ .fd = nvme_queue_eventfd(q), .events = POLLIN };
	ASSERT_GE(pfd.fd, 0);
	ASSERT_EQ(pfd.fd, nvme_vector_eventfd(self->c, nvme_queue_id(q)));
	fill(self->buf->vaddr, PAGE, 10, self->info->block_size, 11);
	NVME_OK(nvme_submit_io(q, NVME_CMD_WRITE, 10, PAGE / self->info->block_size,
				 self->buf->vaddr, 3));
	ASSERT_EQ(poll(&pfd, 1, 10000), 1);
	ASSERT_SYS(eventfd_read(pfd.fd, &v));
	ASSERT_GE(v, 1u);
	ASSERT_EQ(nvme_queue_reap(q, tally_fn, &t), 1);
	ASSERT_EQ(t.failed, 0u);
	ASSERT_EQ(t.seen, 1ULL << 3);
	/* A synchronous read on the same queue, through the eventfd too. */
	NVME_OK(nvme_io(q, NVME_CMD_READ, 10, PAGE / self->info->block_size,
			  self->buf2->vaddr, NULL));
	ASSERT_EQ(memcmp(self->buf->vaddr, self->buf2->vaddr, PAGE), 0);
	NVME_OK(nvme_queue_delete(q));
}

/* Past the end of the namespace: LBA Out of Range, decoded, and nothing else broken. */
TEST_F(nvme, lba_out_of_range)
{
	struct nvme_queue *q;
	uint16_t status;
	uint64_t end = self->info->blocks;
	char want[128];

	NVME_OK(nvme_queue_create(self->c, 8, 0, &q));
	ASSERT_ERR(ERANGE, nvme_io(q, NVME_CMD_READ, end, 1, self->buf->vaddr, &status));
	ASSERT_EQ(status & 0x7ff, NVME_SC_LBA_RANGE);
	NVME_EXPLAINS("LBA Out of Range (SCT 0, SC 0x80");
	snprintf(want, sizeof(want), "Read of LBAs %" PRIu64 "-%" PRIu64 " (namespace 1 of %"
		 PRIu64 " blocks)", end, end, end);
	NVME_EXPLAINS(want);
	TH_LOG("%s", nvme_last_error());
	/* Straddling the end is refused as a whole. */
	ASSERT_ERR(ERANGE, nvme_io(q, NVME_CMD_WRITE, end - 1, 2, self->buf->vaddr, NULL));
	/* A namespace that does not exist, and an opcode that does not. */
	struct nvme_sqe cmd = { .opcode = NVME_CMD_READ, .nsid = 5, .cdw12 = 0 };
	struct tally t = { 0 };

	NVME_OK(nvme_submit(q, &cmd, self->buf->vaddr, self->info->block_size, 1));
	ASSERT_EQ(nvme_queue_wait(q, 10000, tally_fn, &t), 1);
	ASSERT_EQ(t.failed, 1u);
	ASSERT_EQ(nvme_status_errno(NVME_SC_INVALID_NS), -ENODEV);
	cmd = (struct nvme_sqe){ .opcode = 0x7e, .nsid = 1 };
	NVME_OK(nvme_submit(q, &cmd, NULL, 0, 2));
	ASSERT_EQ(nvme_queue_wait(q, 10000, tally_fn, &t), 1);
	ASSERT_EQ(t.failed, 2u);
	/* The queue still works. */
	write_read(q, self->buf, self->buf2, self->info->block_size, end - 1, 1, 9);
	/* The table's words for a few more. */
	ASSERT_EQ(strcmp(nvme_status_name(NVME_SC_NS_NOT_READY), "Namespace Not Ready"), 0);
	ASSERT_EQ(nvme_status_errno(NVME_SC_NS_NOT_READY), -EAGAIN);
	ASSERT_EQ(strcmp(nvme_status_name(NVME_SC_INVALID_FIELD), "Invalid Field in Command"), 0);
	ASSERT_EQ(nvme_status_errno(NVME_STATUS(7, 0x42)), -EIO);
	ASSERT_EQ(strcmp(nvme_status_name(NVME_STATUS(7, 0x42)),
			 "unknown vendor specific status"), 0);
	NVME_OK(nvme_queue_delete(q));
}

/* Bad queue set-up is refused by the controller, decoded. */
TEST_F(nvme, admin_errors)
{
	struct nvme_sqe cmd;

	/* An SQ on a CQ that does not exist. */
	cmd = (struct nvme_sqe){ .opcode = NVME_ADMIN_CREATE_SQ, .prp1 = self->buf->iova,
				 .cdw10 = 7u << 16 | 1, .cdw11 = 9u << 16 | 1 };
	ASSERT_ERR(EINVAL, nvme_admin(self->c, &cmd, NULL, 0, NULL));
	NVME_EXPLAINS("Create I/O SQ");
	NVME_EXPLAINS("Completion Queue Invalid");
	/* A CQ with a vector beyond the MSI-X table. */
	cmd = (struct nvme_sqe){ .opcode = NVME_ADMIN_CREATE_CQ, .prp1 = self->buf->iova,
				 .cdw10 = 7u << 16 | 1, .cdw11 = 4000u << 16 | 3 };
	ASSERT_ERR(EINVAL, nvme_admin(self->c, &cmd, NULL, 0, NULL));
	NVME_EXPLAINS("Invalid Interrupt Vector");
	/* A queue too deep for CAP.MQES: refused before the controller sees it. */
	struct nvme_queue *q;

	ASSERT_ERR(EINVAL, nvme_queue_create(self->c, self->info->max_entries + 1, 0, &q));
	NVME_EXPLAINS("the controller takes 2 to");
}

/* Several queues at once, each with its own vector, commands interleaved. */
TEST_F(nvme, several_queues)
{
	enum { NQ = 4, PER = 6 };
	struct nvme_queue *q[NQ];
	uint32_t bs = self->info->block_size;
	char *w = self->buf->vaddr, *r = self->buf2->vaddr;
	struct tally t[NQ] = { 0 };

	for (int i = 0; i < NQ; i++) {
		NVME_OK(nvme_queue_create(self->c, 8, i % 2 ? NVME_QUEUE_IRQ : 0, &q[i]));
		for (int j = 0; j < i; j++)
			ASSERT_NE(nvme_queue_id(q[i]), nvme_queue_id(q[j]));
	}
	/* Writes: queue i writes blocks i*PER.., one page each, all in flight. */
	for (int i = 0; i < NQ; i++)
		for (int j = 0; j < PER; j++) {
			uint64_t lba = 5000 + (uint64_t)(i * PER + j) * (PAGE / bs);
			char *p = w + (size_t)(i * PER + j) * PAGE;

			fill(p, PAGE, lba, bs, 77);
			NVME_OK(nvme_submit_io(q[i], NVME_CMD_WRITE, lba, PAGE / bs, p, j));
		}
	for (int i = 0; i < NQ; i++) {
		while (t[i].done < PER)
			ASSERT_GT(nvme_queue_wait(q[i], 10000, tally_fn, &t[i]), 0);
		ASSERT_EQ(t[i].failed, 0u);
		ASSERT_EQ(t[i].seen, (1ULL << PER) - 1);
	}
	/* Read back crosswise: queue i reads what queue NQ-1-i wrote. */
	memset(r, 0, (size_t)NQ * PER * PAGE);
	for (int i = 0; i < NQ; i++) {
		int k = NQ - 1 - i;

		for (int j = 0; j < PER; j++) {
			uint64_t lba = 5000 + (uint64_t)(k * PER + j) * (PAGE / bs);

			NVME_OK(nvme_submit_io(q[i], NVME_CMD_READ, lba, PAGE / bs,
						 r + (size_t)(k * PER + j) * PAGE, 100 + j));
		}
	}
	for (int i = 0; i < NQ; i++) {
		t[i] = (struct tally){ 0 };
		while (t[i].done < PER)
			ASSERT_GT(nvme_queue_wait(q[i], 10000, tally_fn, &t[i]), 0);
		ASSERT_EQ(t[i].failed, 0u);
	}
	ASSERT_EQ(memcmp(w, r, (size_t)NQ * PER * PAGE), 0);
	for (int i = NQ - 1; i >= 0; i--)
		NVME_OK(nvme_queue_delete(q[i]));
}

/*
 * MSI-X on a 64-bit BAR with the table inside it: the capability read from
 * config space, the BAR mappable over the table, and one vector masked:
 * the completion is posted but its interrupt held as pending, then sent
 * when the vector is unmasked. The other queues' vectors keep working.
 */
TEST_F(nvme, msix_mask)
{
	struct iommufd_device *dev = nvme_device(self->c);
	struct iommufd_region_info ri = { .sz = sizeof(ri) };
	struct iommufd_msix_info mi = { .sz = sizeof(mi) }, small = { .sz = 8 };
	struct nvme_queue *q, *q2;
	struct tally t = { 0 };
	uint32_t bs = self->info->block_size, v;
	struct pollfd pfd;
	eventfd_t cnt;

	ASSERT_ERR(EINVAL, iommufd_device_msix_info(dev, &small));
	ASSERT_OK(iommufd_device_msix_info(dev, &mi));
	TH_LOG("MSI-X: %u vectors, table BAR%u+0x%" PRIx64 ", PBA BAR%u+0x%" PRIx64
	       ", cap at 0x%x, %s, BAR mappable over the table: %s", mi.vectors, mi.table_bar,
	       mi.table_offset, mi.pba_bar, mi.pba_offset, mi.cap_offset,
	       mi.enabled ? "enabled" : "disabled", mi.table_mappable ? "yes" : "no");
	ASSERT_TRUE(mi.enabled);
	ASSERT_FALSE(mi.function_masked);
	ASSERT_GE(mi.vectors, self->info->irq_vectors);
	ASSERT_TRUE(mi.table_mappable);
	ASSERT_OK(iommufd_device_region_info(dev, mi.table_bar, &ri));
	ASSERT_TRUE(ri.flags & IOMMUFD_REGION_MSIX_MAPPABLE);
	ASSERT_TRUE(ri.flags & IOMMUFD_REGION_MMAP);
	ASSERT_EQ(ri.nr_sparse, 0u);
	ASSERT_LE(mi.table_offset + mi.vectors * 16ULL, ri.size);
	ASSERT_ERR(EINVAL, iommufd_device_msix_mask(dev, mi.vectors, true));
	ASSERT_EXPLAINS("the table has");

	NVME_OK(nvme_queue_create(self->c, 8, NVME_QUEUE_IRQ, &q));
	NVME_OK(nvme_queue_create(self->c, 8, NVME_QUEUE_IRQ, &q2));
	v = nvme_queue_id(q);
	pfd = (struct pollfd){ .fd = nvme_queue_eventfd(q), .events = POLLIN };
	ASSERT_OK(iommufd_device_msix_mask(dev, v, true));
	ASSERT_EQ(iommufd_device_msix_pending(dev, v), 0);
	NVME_OK(nvme_submit_io(q, NVME_CMD_READ, 0, PAGE / bs, self->buf->vaddr, 1));
	for (int i = 0; i < 5000 && !t.done; i++) {
		nvme_queue_reap(q, tally_fn, &t);
		usleep(1000);
	}
	ASSERT_EQ(t.done, 1u);
	/* Completed, but the interrupt is held: pending, and no eventfd signal. */
	ASSERT_EQ(poll(&pfd, 1, 200), 0);
	ASSERT_EQ(iommufd_device_msix_pending(dev, v), 1);
	/* Another queue's vector is not affected. */
	NVME_OK(nvme_io(q2, NVME_CMD_READ, 0, PAGE / bs, self->buf2->vaddr, NULL));
	ASSERT_EQ(poll(&pfd, 1, 0), 0);
	/* Unmasked: the held message is sent. */
	ASSERT_OK(iommufd_device_msix_mask(dev, v, false));
	ASSERT_EQ(poll(&pfd, 1, 5000), 1);
	ASSERT_SYS(eventfd_read(pfd.fd, &cnt));
	ASSERT_EQ(iommufd_device_msix_pending(dev, v), 0);
	/* And the vector works as before. */
	NVME_OK(nvme_io(q, NVME_CMD_READ, 0, PAGE / bs, self->buf->vaddr, NULL));
	ASSERT_EQ(memcmp(self->buf->vaddr, self->buf2->vaddr, PAGE), 0);
	NVME_OK(nvme_queue_delete(q2));
	NVME_OK(nvme_queue_delete(q));
}

/* Reap @q's one outstanding command by polling its CQ; its tally. */
static void reap_one(struct nvme_queue *q, struct tally *t)
{
	for (int i = 0; i < 5000 && !t->done; i++) {
		nvme_queue_reap(q, tally_fn, t);
		usleep(1000);
	}
}

/*
 * MSI-X vectors taken away and given back while the others stay live, as a
 * VMM does when the guest changes its table: a queue whose vector has no
 * eventfd completes silently (its CQ still fills, the message is held
 * pending), its neighbour's vector keeps signalling, and a new eventfd on the
 * vector gets the held message, then signals from then on.
 */
TEST_F(nvme, msix_vectors_come_and_go)
{
	struct iommufd_device *dev = nvme_device(self->c);
	struct nvme_queue *q, *q2;
	struct tally t = { 0 };
	uint32_t bs = self->info->block_size, v;
	struct pollfd pfd, pfd2;
	eventfd_t cnt;
	int none = -1, efd;

	NVME_OK(nvme_queue_create(self->c, 8, NVME_QUEUE_IRQ, &q));
	NVME_OK(nvme_queue_create(self->c, 8, NVME_QUEUE_IRQ, &q2));
	v = nvme_queue_id(q);
	pfd = (struct pollfd){ .fd = nvme_queue_eventfd(q), .events = POLLIN };
	pfd2 = (struct pollfd){ .fd = nvme_queue_eventfd(q2), .events = POLLIN };

	/* Vector v disconnected: q completes, nothing signals; q2's vector still does. */
	ASSERT_OK(iommufd_device_irq_enable(dev, IOMMUFD_PCI_MSIX, v, 1, &none));
	NVME_OK(nvme_submit_io(q, NVME_CMD_READ, 0, PAGE / bs, self->buf->vaddr, 1));
	NVME_OK(nvme_submit_io(q2, NVME_CMD_READ, 0, PAGE / bs, self->buf2->vaddr, 2));
	ASSERT_EQ(poll(&pfd2, 1, 10000), 1);
	ASSERT_SYS(eventfd_read(pfd2.fd, &cnt));
	reap_one(q, &t);
	ASSERT_EQ(t.done, 1u);
	ASSERT_EQ(t.failed, 0u);
	EXPECT_EQ(poll(&pfd, 1, 200), 0);
	/* The kernel masked the vector it took away: the message is held, not lost. */
	EXPECT_EQ(iommufd_device_msix_pending(dev, v), 1);
	t = (struct tally){ 0 };
	reap_one(q2, &t);
	ASSERT_EQ(t.done, 1u);

	/* A new eventfd on vector v: signals for the next completion, q2's untouched. */
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_SYS(efd);
	ASSERT_OK(iommufd_device_irq_enable(dev, IOMMUFD_PCI_MSIX, v, 1, &efd));
	/* The held message arrives as soon as the vector has an eventfd again. */
	pfd.fd = efd;
	ASSERT_EQ(poll(&pfd, 1, 5000), 1);
	ASSERT_SYS(eventfd_read(efd, &cnt));
	EXPECT_EQ(iommufd_device_msix_pending(dev, v), 0);
	NVME_OK(nvme_submit_io(q, NVME_CMD_READ, 0, PAGE / bs, self->buf->vaddr, 3));
	ASSERT_EQ(poll(&pfd, 1, 10000), 1);
	ASSERT_SYS(eventfd_read(efd, &cnt));
	t = (struct tally){ 0 };
	reap_one(q, &t);
	ASSERT_EQ(t.seen, 1ULL << 3);
	NVME_OK(nvme_io(q2, NVME_CMD_READ, 0, PAGE / bs, self->buf2->vaddr, NULL));
	EXPECT_EQ(poll(&pfd, 1, 0), 0);

	/* The queue's own eventfd back, for the driver that owns it. */
	ASSERT_OK(iommufd_device_irq_enable(dev, IOMMUFD_PCI_MSIX, v, 1,
					    (int[]){ nvme_queue_eventfd(q) }));
	NVME_OK(nvme_io(q, NVME_CMD_READ, 0, PAGE / bs, self->buf->vaddr, NULL));
	close(efd);
	NVME_OK(nvme_queue_delete(q2));
	NVME_OK(nvme_queue_delete(q));
}

/*
 * Closing with I/O queues still there: the controller is disabled first,
 * then their memory goes with the rest (memcheck sees no leak); it comes
 * up again for the next owner with the data in place.
 */
TEST_F(nvme, close_with_queues)
{
	struct nvme_queue *q1, *q2;
	uint32_t bs = self->info->block_size;
	static uint8_t want[PAGE];

	NVME_OK(nvme_queue_create(self->c, 8, 0, &q1));
	NVME_OK(nvme_queue_create(self->c, 8, NVME_QUEUE_IRQ, &q2));
	fill(self->buf->vaddr, PAGE, 700, bs, 0x1234);
	NVME_OK(nvme_io(q1, NVME_CMD_WRITE, 700, PAGE / bs, self->buf->vaddr, NULL));
	NVME_OK(nvme_submit_io(q2, NVME_CMD_READ, 700, PAGE / bs, self->buf2->vaddr, 1));
	memcpy(want, self->buf->vaddr, PAGE);
	ioas_dma_free(nvme_ioas(self->c), self->buf);
	ioas_dma_free(nvme_ioas(self->c), self->buf2);
	self->buf = self->buf2 = NULL;
	nvme_close(self->c);	/* q2's read may still be in flight */

	NVME_OK(nvme_open(self->bdf, NULL, &self->c));
	self->info = nvme_info(self->c);
	ASSERT_OK(ioas_dma_alloc(nvme_ioas(self->c), PAGE, NULL, &self->buf2));
	NVME_OK(nvme_queue_create(self->c, 8, 0, &q1));
	ASSERT_EQ(nvme_queue_id(q1), 1);
	NVME_OK(nvme_io(q1, NVME_CMD_READ, 700, PAGE / bs, self->buf2->vaddr, NULL));
	ASSERT_EQ(memcmp(want, self->buf2->vaddr, PAGE), 0);
	NVME_OK(nvme_queue_delete(q1));
}

/* Wait for one CQE on @ring. */
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

/*
 * The data path on one io_uring: a user buffer (plain memory, not from the
 * allocator) mapped by an async request, the queue's MSI-X vector watched
 * on the ring, a write and a read-back issued as the completions arrive,
 * then unmapped by an async request.
 */
TEST_F(nvme, ring_user_buffer)
{
	enum { UD_MAP = 1, UD_IRQ, UD_UNMAP };
	struct iommufd_async *a;
	struct iommufd_async_sqe *sqe;
	struct io_uring ring;
	struct nvme_queue *q;
	struct tally t = { 0 };
	uint32_t bs = self->info->block_size;
	size_t len = 16 * PAGE;
	uint64_t iova = 0, ud, want;
	unsigned int irqs = 0;
	uint8_t *user;
	eventfd_t v;

	user = mmap(NULL, 2 * len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(user, MAP_FAILED);
	ASSERT_OK(io_uring_queue_init(64, &ring, 0));
	ASSERT_OK(iommufd_async_new(&ring, NULL, &a));
	NVME_OK(nvme_queue_create(self->c, 16, NVME_QUEUE_IRQ, &q));
	ASSERT_OK(iommufd_async_watch_eventfd(a, nvme_queue_eventfd(q), UD_IRQ));

	/* Not mapped yet: the driver refuses, naming the address. */
	ASSERT_ERR(ENOENT, nvme_submit_io(q, NVME_CMD_WRITE, 300, len / bs, user, 0));
	sqe = iommufd_async_get_sqe(a);
	ASSERT_TRUE(sqe);
	iommufd_async_prep_map(sqe, nvme_ioas(self->c), user, 2 * len, IOMMUFD_MAP_RW, &iova);
	iommufd_async_sqe_set_data(sqe, UD_MAP);
	ASSERT_EQ(iommufd_async_submit(a), 1);
	ASSERT_EQ(next_cqe(&ring, &ud, NULL), 0);
	ASSERT_EQ(ud, (uint64_t)UD_MAP);
	ASSERT_NE(iova, 0u);

	fill(user, len, 300, bs, 0x5eed);
	NVME_OK(nvme_submit_io(q, NVME_CMD_WRITE, 300, len / bs, user, 1));
	want = 1;
	while (t.done < 2) {
		int res = next_cqe(&ring, &ud, NULL);

		ASSERT_EQ(ud, (uint64_t)UD_IRQ);
		ASSERT_GT(res, 0);
		irqs++;
		eventfd_read(nvme_queue_eventfd(q), &v);
		nvme_queue_reap(q, tally_fn, &t);
		if (t.done == 1 && want == 1) {
			/* The write is on the disk: read it into the second half. */
			NVME_OK(nvme_submit_io(q, NVME_CMD_READ, 300, len / bs, user + len, 2));
			want = 2;
		}
	}
	ASSERT_EQ(t.failed, 0u);
	ASSERT_EQ(t.seen, 0x6ULL);
	ASSERT_EQ(memcmp(user, user + len, len), 0);
	TH_LOG("2 commands, %u interrupt completions on the ring", irqs);

	sqe = iommufd_async_get_sqe(a);
	iommufd_async_prep_unmap(sqe, nvme_ioas(self->c), iova);
	iommufd_async_sqe_set_data(sqe, UD_UNMAP);
	ASSERT_EQ(iommufd_async_submit(a), 1);
	for (;;) {
		int res = next_cqe(&ring, &ud, NULL);

		if (ud == UD_UNMAP) {
			ASSERT_EQ(res, 0);
			break;
		}
	}
	ASSERT_ERR(ENOENT, nvme_submit_io(q, NVME_CMD_READ, 300, 1, user, 0));
	ASSERT_OK(iommufd_async_unwatch_eventfd(a, UD_IRQ));
	NVME_OK(nvme_queue_delete(q));
	iommufd_async_free(a);
	io_uring_queue_exit(&ring);
	munmap(user, 2 * len);
}

/* Wait on @ring until @want commands completed: maps to nvme_map_done(), interrupts reap. */
static void drive_ring(struct io_uring *ring, struct nvme_queue *q, struct tally *t,
		       unsigned int want, unsigned int *maps)
{
	uint64_t ud, cmd;
	eventfd_t v;

	while (t->done < want) {
		int res = next_cqe(ring, &ud, NULL);

		if (nvme_is_map_cqe(ud)) {
			(*maps)++;
			NVME_OK(nvme_map_done(ud, res, &cmd));
			continue;
		}
		if (nvme_queue_eventfd(q) >= 0)
			eventfd_read(nvme_queue_eventfd(q), &v);
		nvme_queue_reap(q, tally_fn, t);
	}
}

/*
 * Memory mapped on demand: commands on plain memory, whose pages the driver
 * maps by async requests and submits when the maps complete; a second
 * buffer sharing a page maps only the rest; the cached mappings make the
 * next command go at once; a full queue holds a command whose maps are
 * done until completions free a slot.
 */
TEST_F(nvme, map_on_demand)
{
	enum { UD_IRQ = 1 };
	struct ioas *ioas = nvme_ioas(self->c);
	uint32_t bs = self->info->block_size;
	struct iommufd_async *a;
	struct io_uring ring;
	struct nvme_queue *q;
	struct tally t = { 0 };
	unsigned int maps = 0;
	size_t len = 8 * PAGE;
	uint8_t *mem, *w, *r;
	uint64_t iova, cmd;

	mem = mmap(NULL, 32 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(mem, MAP_FAILED);
	ASSERT_OK(io_uring_queue_init(64, &ring, 0));
	ASSERT_OK(iommufd_async_new(&ring, NULL, &a));
	NVME_OK(nvme_queue_create(self->c, 16, NVME_QUEUE_IRQ, &q));
	ASSERT_OK(iommufd_async_watch_eventfd(a, nvme_queue_eventfd(q), UD_IRQ));

	/* A write from an unaligned start: 9 pages to map, one run. */
	w = mem + 512;
	fill(w, len, 600, bs, 0xd00d);
	ASSERT_EQ(nvme_submit_io_map(q, a, NVME_CMD_WRITE, 600, len / bs, w, 1), 1);
	ASSERT_EQ(nvme_queue_inflight(q), 0u);
	drive_ring(&ring, q, &t, 1, &maps);
	ASSERT_EQ(maps, 1u);
	ASSERT_OK(ioas_vaddr_to_iova(ioas, mem, &iova));
	ASSERT_OK(ioas_vaddr_to_iova(ioas, mem + 8 * PAGE, &iova));
	ASSERT_ERR(ENOENT, ioas_vaddr_to_iova(ioas, mem + 9 * PAGE, &iova));

	/* A read into memory whose first page is mapped already: the rest is one run. */
	r = mem + 8 * PAGE + 1024;
	ASSERT_EQ(nvme_submit_io_map(q, a, NVME_CMD_READ, 600, len / bs, r, 2), 1);
	drive_ring(&ring, q, &t, 2, &maps);
	ASSERT_EQ(maps, 2u);
	ASSERT_EQ(t.failed, 0u);
	ASSERT_EQ(memcmp(w, r, len), 0);

	/* Cached: the same memory again goes to the controller at once. */
	memset(r, 0, len);
	ASSERT_EQ(nvme_submit_io_map(q, a, NVME_CMD_READ, 600, len / bs, r, 3), 0);
	drive_ring(&ring, q, &t, 3, &maps);
	ASSERT_EQ(maps, 2u);
	ASSERT_EQ(memcmp(w, r, len), 0);
	ASSERT_OK(iommufd_async_unwatch_eventfd(a, UD_IRQ));
	NVME_OK(nvme_queue_delete(q));

	/*
	 * A queue of 2 entries takes one command: three on separate unmapped
	 * pages, the second and third wait in the backlog until the first
	 * completes (a polled queue: the ring carries only the maps).
	 */
	NVME_OK(nvme_queue_create(self->c, 2, 0, &q));
	t = (struct tally){ 0 };
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(nvme_submit_io_map(q, a, NVME_CMD_READ, 600 + i, 1,
					     mem + (20 + 2 * i) * PAGE, 10 + i), 1);
	for (int i = 0; i < 3; i++) {
		uint64_t ud;
		int res = next_cqe(&ring, &ud, NULL);

		if (ud == UD_IRQ) {	/* the removed watch's last completion */
			ASSERT_EQ(res, -ECANCELED);
			i--;
			continue;
		}
		ASSERT_TRUE(nvme_is_map_cqe(ud));
		ASSERT_EQ(nvme_map_done(ud, res, &cmd), 1);
		ASSERT_EQ(cmd, 10u + i);
	}
	ASSERT_EQ(nvme_queue_inflight(q), 1u);
	while (t.done < 3)
		ASSERT_GT(nvme_queue_wait(q, 10000, tally_fn, &t), 0);
	ASSERT_EQ(t.failed, 0u);
	ASSERT_EQ(t.seen, 7ULL << 10);
	ASSERT_EQ(memcmp(mem + 20 * PAGE, w + 0 * bs, bs), 0);
	ASSERT_EQ(memcmp(mem + 24 * PAGE, w + 2 * bs, bs), 0);

	/* A completion that is not one of the driver's maps is refused. */
	ASSERT_ERR(EINVAL, nvme_map_done(12345, 0, &cmd));
	NVME_OK(nvme_queue_delete(q));
	iommufd_async_free(a);
	io_uring_queue_exit(&ring);
	munmap(mem, 32 * PAGE);
}

/*
 * A buffer unmapped while a command still names its IOVA: the driver
 * refuses the buffer once unmapped, and the controller, given the stale
 * IOVA anyway, cannot reach the memory: the IOMMU blocks the DMA.
 */
TEST_F(nvme, unmapped_buffer)
{
	struct ioas *ioas = nvme_ioas(self->c);
	uint32_t bs = self->info->block_size;
	struct nvme_queue *q;
	uint8_t *user;
	uint64_t iova;
	char fault[160];
	struct tally t = { 0 };

	NVME_OK(nvme_queue_create(self->c, 8, 0, &q));
	fill(self->buf->vaddr, PAGE, 400, bs, 0xfeed);
	NVME_OK(nvme_io(q, NVME_CMD_WRITE, 400, PAGE / bs, self->buf->vaddr, NULL));

	user = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(user, MAP_FAILED);
	memset(user, 0x11, 4 * PAGE);
	ASSERT_OK(ioas_map(ioas, user, 4 * PAGE, IOMMUFD_MAP_RW, &iova));
	ASSERT_OK(ioas_unmap(ioas, iova));
	/* The driver knows: the pages have no IOVA any more. */
	ASSERT_ERR(ENOENT, nvme_submit_io(q, NVME_CMD_READ, 400, PAGE / bs, user, 0));

	/* The stale IOVA sent as it is: a read the device must write to memory. */
	struct nvme_sqe cmd = { .opcode = NVME_CMD_READ, .nsid = 1, .cdw10 = 400,
				.cdw12 = PAGE / bs - 1, .prp1 = iova };

	NVME_OK(nvme_submit(q, &cmd, NULL, PAGE, 7));
	ASSERT_EQ(nvme_queue_wait(q, 10000, tally_fn, &t), 1);
	/* Nothing reached the memory behind the old IOVA. */
	for (unsigned int i = 0; i < 4 * PAGE; i++)
		ASSERT_EQ(user[i], 0x11);
	TH_LOG("read to an unmapped IOVA: %s", t.failed ? "failed by the controller" :
	       "completed, data dropped by the IOMMU");
	/* The IOMMU saw the controller's write to that IOVA and blocked it. */
	snprintf(fault, sizeof(fault), "[DMA Write NO_PASID] Request device [%s] fault addr 0x%"
		 PRIx64, self->bdf + 5, iova);
	for (int i = 0; i < 100 && !kmsg_has(fault); i++)
		usleep(20000);
	if (!kmsg_has(fault))
		th_fail(true, __FILE__, __LINE__, "no \"%s\" in the kernel log", fault);
	/* A write whose PRP list is at an unmapped IOVA: the controller cannot even read it. */
	cmd = (struct nvme_sqe){ .opcode = NVME_CMD_WRITE, .nsid = 1, .cdw10 = 400,
				 .cdw12 = 3 * PAGE / bs - 1, .prp1 = self->buf->iova,
				 .prp2 = iova };
	t = (struct tally){ 0 };
	NVME_OK(nvme_submit(q, &cmd, NULL, 3 * PAGE, 8));
	ASSERT_EQ(nvme_queue_wait(q, 10000, tally_fn, &t), 1);
	ASSERT_EQ(t.failed, 1u);
	ASSERT_EQ(t.status, NVME_SC_DATA_TRANSFER_ERROR);
	TH_LOG("write with its PRP list at an unmapped IOVA: %s (%s)",
	       nvme_status_name(t.status), nvme_status_hint(t.status));
	/* The block on the disk is still what was written before. */
	NVME_OK(nvme_io(q, NVME_CMD_READ, 400, PAGE / bs, self->buf2->vaddr, NULL));
	ASSERT_EQ(memcmp(self->buf->vaddr, self->buf2->vaddr, PAGE), 0);
	munmap(user, 4 * PAGE);
	NVME_OK(nvme_queue_delete(q));
}

/*
 * The kernel's nvme driver reads what the userspace driver wrote, and the
 * reverse: blocks with checksums, across two hand-overs of the controller
 * (vfio-pci -> nvme -> vfio-pci), the block device read with O_DIRECT.
 */
TEST(kernel_crosscheck)
{
	enum { BLOCKS = 24, SPAN = 8192 };	/* 4 KiB blocks scattered over the disk */
	char bdf[300], blk[300];
	struct nvme_ctrl *c = NULL;
	struct nvme_queue *q;
	struct ioas_dma_buf *buf;
	uint64_t lba[BLOCKS], sum_user[BLOCKS], sum_kernel[BLOCKS];
	uint32_t bs, per;
	void *kbuf = NULL;
	int fd;

	if (nvme_find(bdf, sizeof(bdf)) < 0)
		SKIP(return, "no NVMe controller");
	if (access("/dev/iommu", F_OK))
		SKIP(return, "guest booted without an IOMMU");
	ASSERT_EQ(posix_memalign(&kbuf, PAGE, PAGE), 0);

	/* 1. The userspace driver writes, remembering each block's checksum. */
	NVME_OK(nvme_open(bdf, NULL, &c));
	bs = nvme_info(c)->block_size;
	per = PAGE / bs;
	srand(12345);
	for (int i = 0; i < BLOCKS; i++)
		lba[i] = (uint64_t)(rand() % (nvme_info(c)->blocks / per / SPAN * SPAN)) * per;
	NVME_OK(nvme_queue_create(c, 32, NVME_QUEUE_IRQ, &q));
	ASSERT_OK(ioas_dma_alloc(nvme_ioas(c), PAGE, NULL, &buf));
	for (int i = 0; i < BLOCKS; i++) {
		fill(buf->vaddr, PAGE, lba[i], bs, 0xc0ffee);
		sum_user[i] = fnv(buf->vaddr, PAGE);
		NVME_OK(nvme_io(q, NVME_CMD_WRITE, lba[i], per, buf->vaddr, NULL));
	}
	NVME_OK(nvme_queue_delete(q));
	ioas_dma_free(nvme_ioas(c), buf);
	nvme_close(c);
	c = NULL;

	/* 2. The kernel's driver reads them back, then writes its own. */
	ASSERT_OK(rebind(bdf, "nvme"));
	ASSERT_OK(kernel_blockdev(bdf, blk, sizeof(blk)));
	fd = open(blk, O_RDWR | O_DIRECT | O_CLOEXEC);
	ASSERT_SYS(fd);
	for (int i = 0; i < BLOCKS; i++) {
		ASSERT_EQ(pread(fd, kbuf, PAGE, (off_t)(lba[i] * bs)), (ssize_t)PAGE);
		ASSERT_EQ(fnv(kbuf, PAGE), sum_user[i]);
	}
	for (int i = 0; i < BLOCKS; i++) {
		fill(kbuf, PAGE, lba[i], bs, 0xbadcafe);
		sum_kernel[i] = fnv(kbuf, PAGE);
		ASSERT_NE(sum_kernel[i], sum_user[i]);
		ASSERT_EQ(pwrite(fd, kbuf, PAGE, (off_t)(lba[i] * bs)), (ssize_t)PAGE);
	}
	ASSERT_SYS(fsync(fd));
	close(fd);
	TH_LOG("%d blocks written by the userspace driver read back by the kernel (%s)",
	       BLOCKS, blk);

	/* 3. Back to vfio-pci: the userspace driver reads the kernel's blocks. */
	ASSERT_OK(rebind(bdf, "vfio-pci"));
	NVME_OK(nvme_open(bdf, NULL, &c));
	NVME_OK(nvme_queue_create(c, 32, 0, &q));
	ASSERT_OK(ioas_dma_alloc(nvme_ioas(c), PAGE, NULL, &buf));
	for (int i = 0; i < BLOCKS; i++) {
		NVME_OK(nvme_io(q, NVME_CMD_READ, lba[i], per, buf->vaddr, NULL));
		ASSERT_EQ(fnv(buf->vaddr, PAGE), sum_kernel[i]);
	}
	NVME_OK(nvme_queue_delete(q));
	ioas_dma_free(nvme_ioas(c), buf);
	nvme_close(c);
	free(kbuf);
}

TEST_HARNESS_MAIN
