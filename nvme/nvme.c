// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A userspace NVMe driver on libiommufd's public API (see nvme.h).
 *
 * The register layout, the queue entry formats and the status codes are
 * those of the NVMe base specification 1.4; no kernel header describes
 * them for userspace, so the few this driver needs are defined here.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <iommufd/async.h>

#include "nvme.h"

/* Controller registers (NVMe 1.4, section 3.1). */
#define REG_CAP		0x00	/* 64-bit */
#define REG_VS		0x08
#define REG_INTMS	0x0c
#define REG_CC		0x14
#define REG_CSTS	0x1c
#define REG_AQA		0x24
#define REG_ASQ		0x28	/* 64-bit */
#define REG_ACQ		0x30	/* 64-bit */
#define REG_DOORBELLS	0x1000

#define CAP_MQES(cap)	((uint32_t)((cap) & 0xffff))	/* 0's based */
#define CAP_TO(cap)	((uint32_t)(((cap) >> 24) & 0xff))	/* 500 ms units */
#define CAP_DSTRD(cap)	((uint32_t)(((cap) >> 32) & 0xf))
#define CAP_CSS_NVM(cap) (((cap) >> 37) & 1)
#define CAP_MPSMIN(cap)	((uint32_t)(((cap) >> 48) & 0xf))

#define CC_EN		(1u << 0)
#define CC_CSS_NVM	(0u << 4)
#define CC_MPS(shift)	((uint32_t)((shift) - 12) << 7)
#define CC_AMS_RR	(0u << 11)
#define CC_SHN_NORMAL	(1u << 14)
#define CC_IOSQES(n)	((uint32_t)(n) << 16)
#define CC_IOCQES(n)	((uint32_t)(n) << 20)

#define CSTS_RDY	(1u << 0)
#define CSTS_CFS	(1u << 1)
#define CSTS_SHST_MASK	(3u << 2)
#define CSTS_SHST_DONE	(2u << 2)

#define FEAT_NUM_QUEUES	0x07

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1u << PAGE_SHIFT)
#define PRPS_PER_PAGE	(PAGE_SIZE / 8)
#define ADMIN_DEPTH	32
#define MAX_VECTORS	33	/* the admin queue's and up to 32 I/O queues' */
#define ADMIN_TIMEOUT_MS 10000

_Static_assert(sizeof(struct nvme_sqe) == 64, "an SQE is 64 bytes");
_Static_assert(sizeof(struct nvme_cqe) == 16, "a CQE is 16 bytes");

struct slot {
	uint64_t user_data;
	bool busy;
};

struct nvme_queue {
	struct nvme_ctrl *c;
	uint16_t qid;
	uint16_t depth;
	unsigned int flags;
	struct ioas_dma_buf *sq_mem, *cq_mem, *prp_mem;
	struct nvme_sqe *sq;
	volatile struct nvme_cqe *cq;
	volatile uint32_t *sq_db, *cq_db;
	uint16_t sq_tail, sq_head, cq_head;
	uint8_t phase;
	/* Inside nvme_queue_reap(): submissions from completion callbacks
	 * ring the SQ doorbell once, after the batch (an MMIO write each is
	 * what a submission costs most). */
	bool in_reap, db_pending;
	unsigned int inflight;
	uint16_t *free_cids;
	unsigned int nr_free;
	struct slot *slots;
	int efd;
	/* The last command each slot held, for explanations. */
	struct nvme_sqe *cmds;
	/* Commands whose maps completed while the queue was full. */
	struct pending *backlog;
	/* Commands waiting for their maps (nvme_submit_io_map()). */
	unsigned int nr_pending;
};

/* A command waiting for the async maps of its pages. */
struct pending {
	struct nvme_queue *q;
	struct pending *next;	/* on the queue's backlog */
	void *buf;
	uint64_t slba, user_data;
	uint32_t nlb;
	uint8_t opcode;
	unsigned int maps_left;
	int err;		/* the first failed map's */
	char why[256];
	uint64_t iova[];	/* each map's IOVA, written by the async layer */
};

struct nvme_ctrl {
	struct iommufd_ctx *ctx;
	struct iommufd_device *dev;
	struct ioas *ioas;
	volatile uint8_t *bar;
	size_t bar_len;
	uint64_t cap;
	int efds[MAX_VECTORS];
	unsigned int nr_vectors;
	struct nvme_queue *admin;
	struct ioas_dma_buf *scratch;	/* a page for Identify */
	uint32_t qid_used;		/* bit n: I/O queue n exists */
	struct nvme_queue *queues[32];	/* freed by nvme_close() if still there */
	struct nvme_ctrl_info info;
};

/*
 * Explanations: the driver keeps its own, per thread, as libiommufd does;
 * a failed library call's explanation is carried over with lib().
 */
static __thread char last_error[512];

__attribute__((format(printf, 2, 3))) static int nvme_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return err;
}

static int lib(int r)
{
	if (r < 0)
		snprintf(last_error, sizeof(last_error), "%s", iommufd_last_error());
	return r;
}

const char *nvme_last_error(void)
{
	return last_error;
}

/* ------------------------------------------------------------------------ */
/* Registers                                                                */
/* ------------------------------------------------------------------------ */

static uint32_t rd32(struct nvme_ctrl *c, uint32_t off)
{
	return *(volatile uint32_t *)(c->bar + off);
}

static void wr32(struct nvme_ctrl *c, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(c->bar + off) = v;
}

/* 64-bit registers as two dword accesses, low first: every controller takes those. */
static uint64_t rd64(struct nvme_ctrl *c, uint32_t off)
{
	uint32_t lo = rd32(c, off), hi = rd32(c, off + 4);

	return (uint64_t)hi << 32 | lo;
}

static void wr64(struct nvme_ctrl *c, uint32_t off, uint64_t v)
{
	wr32(c, off, (uint32_t)v);
	wr32(c, off + 4, (uint32_t)(v >> 32));
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for CSTS.RDY to become @want, at most CAP.TO. */
static int wait_ready(struct nvme_ctrl *c, bool want)
{
	uint64_t deadline = now_ms() + c->info.timeout_ms;
	uint32_t csts;

	for (;;) {
		csts = rd32(c, REG_CSTS);
		if (csts == 0xffffffff)
			return nvme_fail(-ENODEV, "NVMe: CSTS reads all ones: the "
						      "controller is gone or its BAR is not mapped");
		if (want && (csts & CSTS_CFS))
			return nvme_fail(-EIO, "NVMe: the controller reports a "
						      "fatal status (CSTS.CFS) while enabling");
		if (!!(csts & CSTS_RDY) == want)
			return 0;
		if (now_ms() > deadline)
			return nvme_fail(-ETIMEDOUT, "NVMe: CSTS.RDY did not become "
						      "%d within CAP.TO (%u ms)", want,
						      c->info.timeout_ms);
		usleep(1000);
	}
}

static int ctrl_disable(struct nvme_ctrl *c)
{
	uint32_t cc = rd32(c, REG_CC);

	if (cc & CC_EN)
		wr32(c, REG_CC, cc & ~CC_EN);
	return wait_ready(c, false);
}

/* ------------------------------------------------------------------------ */
/* Status codes                                                             */
/* ------------------------------------------------------------------------ */

struct status_desc {
	uint16_t status;
	int err;
	const char *name;
	const char *hint;
};

static const struct status_desc statuses[] = {
	/* Generic command status (SCT 0). */
	{ NVME_STATUS(0, 0x00), 0, "Successful Completion", "" },
	{ NVME_STATUS(0, 0x01), -EOPNOTSUPP, "Invalid Command Opcode",
	  "the controller does not implement this opcode" },
	{ NVME_STATUS(0, 0x02), -EINVAL, "Invalid Field in Command",
	  "a field of the command holds a value the controller does not support" },
	{ NVME_STATUS(0, 0x03), -EBUSY, "Command ID Conflict",
	  "a command with this ID is already outstanding on the queue" },
	{ NVME_STATUS(0, 0x04), -EFAULT, "Data Transfer Error",
	  "the controller could not move the data: a DMA to or from the host failed "
	  "(an IOVA the IOMMU does not map, or a PRP the controller could not read)" },
	{ NVME_STATUS(0, 0x05), -EIO, "Commands Aborted due to Power Loss Notification", "" },
	{ NVME_STATUS(0, 0x06), -EIO, "Internal Error", "the controller failed internally" },
	{ NVME_STATUS(0, 0x07), -ECANCELED, "Command Abort Requested", "" },
	{ NVME_STATUS(0, 0x08), -ECANCELED, "Command Aborted due to SQ Deletion", "" },
	{ NVME_STATUS(0, 0x0b), -ENODEV, "Invalid Namespace or Format",
	  "the namespace ID is not an active namespace of this controller" },
	{ NVME_STATUS(0, 0x0c), -EPROTO, "Command Sequence Error", "" },
	{ NVME_STATUS(0, 0x13), -EINVAL, "PRP Offset Invalid",
	  "a PRP entry after the first must be page aligned" },
	{ NVME_STATUS(0, 0x15), -EPERM, "Operation Denied", "" },
	{ NVME_STATUS(0, 0x20), -EROFS, "Namespace is Write Protected", "" },
	{ NVME_STATUS(0, 0x80), -ERANGE, "LBA Out of Range",
	  "the command reaches beyond the namespace's last block" },
	{ NVME_STATUS(0, 0x81), -ENOSPC, "Capacity Exceeded", "" },
	{ NVME_STATUS(0, 0x82), -EAGAIN, "Namespace Not Ready",
	  "the namespace cannot take I/O yet; retry later unless DNR is set" },
	{ NVME_STATUS(0, 0x83), -EBUSY, "Reservation Conflict", "" },
	{ NVME_STATUS(0, 0x84), -EAGAIN, "Format In Progress", "" },
	/* Command specific status (SCT 1). */
	{ NVME_STATUS(1, 0x00), -EINVAL, "Completion Queue Invalid",
	  "the CQ named by Create I/O SQ does not exist" },
	{ NVME_STATUS(1, 0x01), -EINVAL, "Invalid Queue Identifier",
	  "the queue ID is 0, in use, or beyond the queues granted" },
	{ NVME_STATUS(1, 0x02), -EINVAL, "Invalid Queue Size",
	  "0, 1 or more entries than CAP.MQES allows" },
	{ NVME_STATUS(1, 0x03), -EBUSY, "Abort Command Limit Exceeded", "" },
	{ NVME_STATUS(1, 0x05), -EBUSY, "Asynchronous Event Request Limit Exceeded", "" },
	{ NVME_STATUS(1, 0x08), -EINVAL, "Invalid Interrupt Vector",
	  "the vector is beyond the controller's MSI-X table" },
	{ NVME_STATUS(1, 0x09), -EINVAL, "Invalid Log Page", "" },
	{ NVME_STATUS(1, 0x0c), -EBUSY, "Invalid Queue Deletion",
	  "a CQ still has SQs, or the queue is the admin queue" },
	{ NVME_STATUS(1, 0x0d), -EINVAL, "Feature Identifier Not Saveable", "" },
	{ NVME_STATUS(1, 0x0e), -EINVAL, "Feature Not Changeable", "" },
	{ NVME_STATUS(1, 0x80), -EINVAL, "Conflicting Attributes", "" },
	{ NVME_STATUS(1, 0x81), -EINVAL, "Invalid Protection Information", "" },
	{ NVME_STATUS(1, 0x82), -EROFS, "Attempted Write to Read Only Range", "" },
	/* Media and data integrity errors (SCT 2). */
	{ NVME_STATUS(2, 0x80), -EIO, "Write Fault", "" },
	{ NVME_STATUS(2, 0x81), -EIO, "Unrecovered Read Error", "" },
	{ NVME_STATUS(2, 0x82), -EILSEQ, "End-to-end Guard Check Error", "" },
	{ NVME_STATUS(2, 0x83), -EILSEQ, "End-to-end Application Tag Check Error", "" },
	{ NVME_STATUS(2, 0x84), -EILSEQ, "End-to-end Reference Tag Check Error", "" },
	{ NVME_STATUS(2, 0x85), -EILSEQ, "Compare Failure", "" },
	{ NVME_STATUS(2, 0x86), -EACCES, "Access Denied", "" },
	{ NVME_STATUS(2, 0x87), -ENODATA, "Deallocated or Unwritten Logical Block", "" },
};

static const struct status_desc *status_find(uint16_t status)
{
	uint16_t key = status & 0x7ff;	/* SCT and SC */

	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (statuses[i].status == key)
			return &statuses[i];
	return NULL;
}

int nvme_status_errno(uint16_t status)
{
	const struct status_desc *d = status_find(status);

	if (!(status & 0x7ff))
		return 0;
	return d ? d->err : -EIO;
}

const char *nvme_status_name(uint16_t status)
{
	static const char *const types[] = { "generic status", "command specific status",
					     "media or data integrity error", "path related status" };
	static __thread char buf[64];
	const struct status_desc *d = status_find(status);

	if (d)
		return d->name;
	snprintf(buf, sizeof(buf), "unknown %s", NVME_SCT(status) < 4 ?
		 types[NVME_SCT(status)] : "vendor specific status");
	return buf;
}

const char *nvme_status_hint(uint16_t status)
{
	const struct status_desc *d = status_find(status);

	return d ? d->hint : "";
}

static const char *opcode_name(uint16_t qid, uint8_t opcode)
{
	if (qid) {
		switch (opcode) {
		case NVME_CMD_FLUSH: return "Flush";
		case NVME_CMD_WRITE: return "Write";
		case NVME_CMD_READ: return "Read";
		}
		return "I/O command";
	}
	switch (opcode) {
	case NVME_ADMIN_DELETE_SQ: return "Delete I/O SQ";
	case NVME_ADMIN_CREATE_SQ: return "Create I/O SQ";
	case NVME_ADMIN_GET_LOG_PAGE: return "Get Log Page";
	case NVME_ADMIN_DELETE_CQ: return "Delete I/O CQ";
	case NVME_ADMIN_CREATE_CQ: return "Create I/O CQ";
	case NVME_ADMIN_IDENTIFY: return "Identify";
	case NVME_ADMIN_SET_FEATURES: return "Set Features";
	case NVME_ADMIN_GET_FEATURES: return "Get Features";
	}
	return "admin command";
}

/* Turn a failed command's status into -errno and an explanation naming the command. */
static int status_fail(struct nvme_ctrl *c, uint16_t qid, const struct nvme_sqe *cmd,
		       uint16_t status)
{
	const char *hint = nvme_status_hint(status);
	char what[160];
	int err = nvme_status_errno(status);

	if (qid && (cmd->opcode == NVME_CMD_READ || cmd->opcode == NVME_CMD_WRITE)) {
		uint64_t slba = (uint64_t)cmd->cdw11 << 32 | cmd->cdw10;
		uint32_t nlb = (cmd->cdw12 & 0xffff) + 1;

		snprintf(what, sizeof(what), "%s of LBAs %" PRIu64 "-%" PRIu64
			 " (namespace %u of %" PRIu64 " blocks)", opcode_name(qid, cmd->opcode),
			 slba, slba + nlb - 1, cmd->nsid, c->info.blocks);
	} else {
		snprintf(what, sizeof(what), "%s (opcode 0x%02x) on queue %u",
			 opcode_name(qid, cmd->opcode), cmd->opcode, qid);
	}
	return nvme_fail(err, "NVMe %s: %s (SCT %u, SC 0x%02x%s)%s%s", what,
				      nvme_status_name(status), NVME_SCT(status),
				      NVME_SC(status), NVME_DNR(status) ? ", do not retry" : "",
				      *hint ? ": " : "", hint);
}

/* ------------------------------------------------------------------------ */
/* Queues                                                                   */
/* ------------------------------------------------------------------------ */

static void queue_free_mem(struct nvme_queue *q)
{
	struct ioas *ioas = q->c->ioas;

	q->sq_mem = ioas_dma_free(ioas, q->sq_mem);
	q->cq_mem = ioas_dma_free(ioas, q->cq_mem);
	q->prp_mem = ioas_dma_free(ioas, q->prp_mem);
	free(q->free_cids);
	free(q->slots);
	free(q->cmds);
	free(q);
}

static int queue_alloc(struct nvme_ctrl *c, uint16_t qid, unsigned int depth,
		       struct nvme_queue **ret)
{
	uint32_t stride = c->info.doorbell_stride;
	struct nvme_queue *q;
	int r;

	q = calloc(1, sizeof(*q));
	if (!q)
		return nvme_fail(-ENOMEM, "out of memory");
	q->c = c;
	q->qid = qid;
	q->depth = depth;
	q->phase = 1;
	q->efd = -1;
	q->free_cids = calloc(depth, sizeof(*q->free_cids));
	q->slots = calloc(depth, sizeof(*q->slots));
	q->cmds = calloc(depth, sizeof(*q->cmds));
	if (!q->free_cids || !q->slots || !q->cmds) {
		r = nvme_fail(-ENOMEM, "out of memory");
		goto out_free;
	}
	/* The queues and one PRP list page per command, where the device can reach them. */
	r = lib(ioas_dma_alloc(c->ioas, (uint64_t)depth * sizeof(struct nvme_sqe), NULL, &q->sq_mem));
	if (r < 0)
		goto out_free;
	r = lib(ioas_dma_alloc(c->ioas, (uint64_t)depth * sizeof(struct nvme_cqe), NULL, &q->cq_mem));
	if (r < 0)
		goto out_free;
	r = lib(ioas_dma_alloc(c->ioas, (uint64_t)depth * PAGE_SIZE, NULL, &q->prp_mem));
	if (r < 0)
		goto out_free;
	q->sq = q->sq_mem->vaddr;
	q->cq = q->cq_mem->vaddr;
	q->sq_db = (volatile uint32_t *)(c->bar + REG_DOORBELLS + (2 * qid) * stride);
	q->cq_db = (volatile uint32_t *)(c->bar + REG_DOORBELLS + (2 * qid + 1) * stride);
	/* One entry stays free: a full SQ would look empty to the controller. */
	for (unsigned int i = 0; i < depth - 1u; i++)
		q->free_cids[q->nr_free++] = depth - 2 - i;
	*ret = q;
	return 0;

out_free:
	queue_free_mem(q);
	return r;
}

/* The IOVA of every page of [buf, +len): the PRP entries. */
static int build_prps(struct nvme_queue *q, uint16_t cid, void *buf, size_t len,
		      struct nvme_sqe *cmd)
{
	struct nvme_ctrl *c = q->c;
	uintptr_t p = (uintptr_t)buf, end = p + len, page;
	uint64_t iova, *list;
	unsigned int n = 0;
	int r;

	if (!buf)
		return 0;	/* no data, or PRPs the caller set itself */
	if (len > c->info.max_transfer)
		return nvme_fail(-EINVAL, "NVMe: %zu bytes in one command; the "
					      "controller takes at most %" PRIu64, len,
					      c->info.max_transfer);
	if (p & 3)
		return nvme_fail(-EINVAL, "NVMe: data buffer %p is not dword "
					      "aligned, as PRP entries must be", buf);
	r = lib(ioas_vaddr_to_iova(c->ioas, buf, &iova));
	if (r < 0)
		return r;
	cmd->prp1 = iova;
	page = (p & ~(uintptr_t)(PAGE_SIZE - 1)) + PAGE_SIZE;
	if (page >= end) {
		cmd->prp2 = 0;
		return 0;
	}
	list = (uint64_t *)((char *)q->prp_mem->vaddr + (size_t)cid * PAGE_SIZE);
	for (; page < end; page += PAGE_SIZE) {
		/* Each page again: a buffer may span mappings that are not IOVA-contiguous. */
		r = lib(ioas_vaddr_to_iova(c->ioas, (void *)page, &iova));
		if (r < 0)
			return r;
		list[n++] = iova;
	}
	/* Two pages need no list: PRP2 is the second page itself. */
	cmd->prp2 = n == 1 ? list[0] : q->prp_mem->iova + (uint64_t)cid * PAGE_SIZE;
	return 0;
}

int nvme_submit(struct nvme_queue *q, struct nvme_sqe *cmd, void *buf, size_t len,
		uint64_t user_data)
{
	uint16_t cid;
	int r;

	if (!q || !cmd)
		return nvme_fail(-EINVAL, "NVMe: no queue or no command");
	if (!q->nr_free)
		return nvme_fail(-EBUSY, "NVMe: queue %u is full (%u commands in "
					      "flight): reap completions first", q->qid,
					      q->inflight);
	cid = q->free_cids[q->nr_free - 1];
	r = build_prps(q, cid, buf, len, cmd);
	if (r < 0)
		return r;
	q->nr_free--;
	cmd->cid = cid;
	cmd->flags = 0;
	q->slots[cid].user_data = user_data;
	q->slots[cid].busy = true;
	q->cmds[cid] = *cmd;
	q->sq[q->sq_tail] = *cmd;
	if (++q->sq_tail == q->depth)
		q->sq_tail = 0;
	q->inflight++;
	if (q->in_reap) {
		q->db_pending = true;
		return 0;
	}
	/* The entry must be in memory before the controller hears of it. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	*q->sq_db = q->sq_tail;
	return 0;
}

int nvme_submit_io(struct nvme_queue *q, uint8_t opcode, uint64_t slba, uint32_t nlb,
		   void *buf, uint64_t user_data)
{
	struct nvme_sqe cmd = { .opcode = opcode };
	const struct nvme_ctrl_info *info;

	if (!q || !nlb || nlb > 0x10000)
		return nvme_fail(-EINVAL, "NVMe: %u blocks in one command (1 to "
					      "65536)", nlb);
	info = &q->c->info;
	cmd.nsid = info->nsid;
	cmd.cdw10 = (uint32_t)slba;
	cmd.cdw11 = (uint32_t)(slba >> 32);
	cmd.cdw12 = nlb - 1;
	return nvme_submit(q, &cmd, buf, (size_t)nlb * info->block_size, user_data);
}

/* Submit a command whose maps are done; on failure it completes with the errno. */
static int submit_pending(struct pending *p)
{
	struct nvme_queue *q = p->q;
	int r;

	r = nvme_submit_io(q, p->opcode, p->slba, p->nlb, p->buf, p->user_data);
	if (r == -EBUSY) {	/* full: after the next completions */
		struct pending **tail = &q->backlog;

		while (*tail)
			tail = &(*tail)->next;
		p->next = NULL;
		*tail = p;
		return 1;
	}
	q->nr_pending--;
	free(p);
	return r < 0 ? r : 1;
}

int nvme_submit_io_map(struct nvme_queue *q, struct iommufd_async *a, uint8_t opcode,
		       uint64_t slba, uint32_t nlb, void *buf, uint64_t user_data)
{
	uintptr_t start, end, page, run = 0;
	struct iommufd_async_sqe *sqe;
	unsigned int runs = 0, i = 0;
	struct pending *p;
	uint64_t iova;
	size_t len;

	if (!q || !a || !buf || !nlb || nlb > 0x10000)
		return nvme_fail(-EINVAL, "NVMe: bad arguments to submit with maps");
	len = (size_t)nlb * q->c->info.block_size;
	start = (uintptr_t)buf & ~(uintptr_t)(PAGE_SIZE - 1);
	end = ((uintptr_t)buf + len + PAGE_SIZE - 1) & ~(uintptr_t)(PAGE_SIZE - 1);
	/* The runs of pages without an IOVA. */
	for (page = start; page < end; page += PAGE_SIZE) {
		bool mapped = !ioas_vaddr_to_iova(q->c->ioas, (void *)page, &iova);

		if (!mapped && (page == start || run != page))
			runs++;
		if (!mapped)
			run = page + PAGE_SIZE;
	}
	if (!runs)
		return nvme_submit_io(q, opcode, slba, nlb, buf, user_data);

	p = calloc(1, sizeof(*p) + runs * sizeof(p->iova[0]));
	if (!p)
		return nvme_fail(-ENOMEM, "out of memory");
	*p = (struct pending){ .q = q, .buf = buf, .slba = slba, .user_data = user_data,
			       .nlb = nlb, .opcode = opcode, .maps_left = runs };
	/* The tag and the record: user-space pointers fit in 48 bits. */
	if ((uintptr_t)p >> 48) {
		free(p);
		return nvme_fail(-EOVERFLOW, "NVMe: a heap address above 2^48");
	}
	for (page = start; page < end;) {
		uintptr_t from;

		if (!ioas_vaddr_to_iova(q->c->ioas, (void *)page, &iova)) {
			page += PAGE_SIZE;
			continue;
		}
		for (from = page; page < end &&
		     ioas_vaddr_to_iova(q->c->ioas, (void *)page, &iova); page += PAGE_SIZE)
			;
		sqe = iommufd_async_get_sqe(a);
		if (!sqe) {
			/* Maps already queued will still complete: let them find the record. */
			p->err = nvme_fail(-EBUSY, "NVMe: the async layer's queue is full");
			p->maps_left -= runs - i;
			if (!i) {
				free(p);
				return -EBUSY;
			}
			break;
		}
		iommufd_async_prep_map(sqe, q->c->ioas, (void *)from, page - from,
				       IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE, &p->iova[i++]);
		iommufd_async_sqe_set_data(sqe, NVME_MAP_TAG << 48 | (uintptr_t)p);
	}
	q->nr_pending++;
	iommufd_async_submit(a);
	return p->err ? p->err : 1;
}

int nvme_map_done(uint64_t map_user_data, int res, uint64_t *user_data)
{
	struct pending *p = (struct pending *)(uintptr_t)(map_user_data & ((1ULL << 48) - 1));

	if (!nvme_is_map_cqe(map_user_data) || !p || !user_data)
		return nvme_fail(-EINVAL, "NVMe: not a map of nvme_submit_io_map()");
	*user_data = p->user_data;
	/*
	 * EEXIST: a run overlapping one another command mapped first; the
	 * pages may be mapped now, which the submission checks.
	 */
	if (res < 0 && res != -EEXIST && !p->err) {
		p->err = res;
		snprintf(p->why, sizeof(p->why), "%s", strerror(-res));
	}
	if (--p->maps_left)
		return 0;
	if (p->err) {
		int err = p->err;

		nvme_fail(err, "NVMe: mapping the buffer of command %llu failed: %s",
			  (unsigned long long)p->user_data, p->why);
		p->q->nr_pending--;
		free(p);
		return err;
	}
	return submit_pending(p);
}

int nvme_queue_reap(struct nvme_queue *q, nvme_done_fn fn, void *arg)
{
	volatile struct nvme_cqe *e;
	int n = 0;

	q->in_reap = true;
	for (;;) {
		uint16_t status, cid;

		e = &q->cq[q->cq_head];
		if ((e->status & 1) != q->phase)
			break;
		/* Read the entry only after its phase tag said it is new. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		status = e->status >> 1;
		cid = e->cid;
		q->sq_head = e->sqhd;
		if (++q->cq_head == q->depth) {
			q->cq_head = 0;
			q->phase ^= 1;
		}
		n++;
		if (cid >= q->depth || !q->slots[cid].busy)
			continue;	/* not ours: a controller bug; nothing to complete */
		q->slots[cid].busy = false;
		q->free_cids[q->nr_free++] = cid;
		q->inflight--;
		if (fn)
			fn(arg, q->slots[cid].user_data, status, e->result);
	}
	/* Slots freed: commands whose maps completed on a full queue go now. */
	while (q->backlog && q->nr_free) {
		struct pending *p = q->backlog;

		q->backlog = p->next;
		submit_pending(p);
	}
	q->in_reap = false;
	if (n)
		*q->cq_db = q->cq_head;
	if (q->db_pending) {
		q->db_pending = false;
		__atomic_thread_fence(__ATOMIC_RELEASE);
		*q->sq_db = q->sq_tail;
	}
	return n;
}

int nvme_queue_wait(struct nvme_queue *q, int timeout_ms, nvme_done_fn fn, void *arg)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	struct pollfd pfd;
	eventfd_t v;
	int n;

	for (;;) {
		n = nvme_queue_reap(q, fn, arg);
		if (n)
			return n;
		if (now_ms() >= deadline)
			return nvme_fail(-ETIMEDOUT, "NVMe: nothing completed on "
						      "queue %u within %d ms (%u in flight)",
						      q->qid, timeout_ms, q->inflight);
		if (q->efd < 0)
			continue;
		pfd = (struct pollfd){ .fd = q->efd, .events = POLLIN };
		if (poll(&pfd, 1, (int)(deadline - now_ms())) > 0)
			eventfd_read(q->efd, &v);
	}
}

struct sync_done {
	uint64_t want;
	bool done;
	uint16_t status;
	uint32_t result;
};

static void sync_done_fn(void *arg, uint64_t user_data, uint16_t status, uint32_t result)
{
	struct sync_done *d = arg;

	if (user_data == d->want) {
		d->done = true;
		d->status = status;
		d->result = result;
	}
}

/* Submit and wait; the queue must have nothing else in flight. */
static int run_sync(struct nvme_queue *q, struct nvme_sqe *cmd, void *buf, size_t len,
		    int timeout_ms, uint16_t *status, uint32_t *result)
{
	struct sync_done d = { .want = UINT64_MAX - 1 };
	int r;

	r = nvme_submit(q, cmd, buf, len, d.want);
	if (r < 0)
		return r;
	while (!d.done) {
		r = nvme_queue_wait(q, timeout_ms, sync_done_fn, &d);
		if (r < 0)
			return r;
	}
	if (status)
		*status = d.status;
	if (result)
		*result = d.result;
	if (d.status)
		return status_fail(q->c, q->qid, cmd, d.status);
	return 0;
}

int nvme_io(struct nvme_queue *q, uint8_t opcode, uint64_t slba, uint32_t nlb, void *buf,
	    uint16_t *status)
{
	struct nvme_sqe cmd = { .opcode = opcode };

	if (status)
		*status = 0;
	if (!q || !nlb || nlb > 0x10000)
		return nvme_fail(-EINVAL, "NVMe: %u blocks in one command (1 to "
					      "65536)", nlb);
	cmd.nsid = q->c->info.nsid;
	cmd.cdw10 = (uint32_t)slba;
	cmd.cdw11 = (uint32_t)(slba >> 32);
	cmd.cdw12 = nlb - 1;
	return run_sync(q, &cmd, buf, (size_t)nlb * q->c->info.block_size, ADMIN_TIMEOUT_MS,
			status, NULL);
}

int nvme_admin(struct nvme_ctrl *c, struct nvme_sqe *cmd, void *buf, size_t len,
	       uint32_t *result)
{
	if (!c || !cmd)
		return nvme_fail(-EINVAL, "NVMe: no controller or no command");
	return run_sync(c->admin, cmd, buf, len, ADMIN_TIMEOUT_MS, NULL, result);
}

int nvme_queue_create(struct nvme_ctrl *c, unsigned int depth, unsigned int flags,
		      struct nvme_queue **ret)
{
	struct nvme_sqe cmd;
	struct nvme_queue *q;
	uint16_t qid = 0;
	int r;

	if (!c || !ret || flags & ~NVME_QUEUE_IRQ)
		return nvme_fail(-EINVAL, "NVMe: bad arguments to create a queue");
	if (depth < 2 || depth > c->info.max_entries)
		return nvme_fail(-EINVAL, "NVMe: a queue of %u entries; the "
					      "controller takes 2 to %u", depth,
					      c->info.max_entries);
	for (uint16_t i = 1; i <= c->info.io_queues && i < 32; i++)
		if (!(c->qid_used & (1u << i))) {
			qid = i;
			break;
		}
	if (!qid)
		return nvme_fail(-ENOSPC, "NVMe: all %u I/O queues the controller "
					      "granted are in use", c->info.io_queues);
	if ((flags & NVME_QUEUE_IRQ) && qid >= c->nr_vectors)
		return nvme_fail(-ENOSPC, "NVMe: queue %u would need MSI-X vector "
					      "%u; %u are enabled", qid, qid, c->nr_vectors);
	r = queue_alloc(c, qid, depth, &q);
	if (r < 0)
		return r;
	q->flags = flags;
	if (flags & NVME_QUEUE_IRQ)
		q->efd = c->efds[qid];

	/* The CQ first: the SQ names it. Physically contiguous (PC), vector = qid. */
	cmd = (struct nvme_sqe){ .opcode = NVME_ADMIN_CREATE_CQ,
				 .prp1 = q->cq_mem->iova,
				 .cdw10 = (uint32_t)(depth - 1) << 16 | qid,
				 .cdw11 = (uint32_t)qid << 16 |
					  (flags & NVME_QUEUE_IRQ ? 1u << 1 : 0) | 1u };
	r = run_sync(c->admin, &cmd, NULL, 0, ADMIN_TIMEOUT_MS, NULL, NULL);
	if (r < 0)
		goto out_free;
	cmd = (struct nvme_sqe){ .opcode = NVME_ADMIN_CREATE_SQ,
				 .prp1 = q->sq_mem->iova,
				 .cdw10 = (uint32_t)(depth - 1) << 16 | qid,
				 .cdw11 = (uint32_t)qid << 16 | 1u };
	r = run_sync(c->admin, &cmd, NULL, 0, ADMIN_TIMEOUT_MS, NULL, NULL);
	if (r < 0)
		goto out_delete_cq;
	c->qid_used |= 1u << qid;
	c->queues[qid] = q;
	*ret = q;
	return 0;

out_delete_cq:
	cmd = (struct nvme_sqe){ .opcode = NVME_ADMIN_DELETE_CQ, .cdw10 = qid };
	run_sync(c->admin, &cmd, NULL, 0, ADMIN_TIMEOUT_MS, NULL, NULL);
out_free:
	queue_free_mem(q);
	return r;
}

int nvme_queue_delete(struct nvme_queue *q)
{
	struct nvme_ctrl *c;
	struct nvme_sqe cmd;
	int r, r2;

	if (!q)
		return 0;
	c = q->c;
	if (q->nr_pending)
		return nvme_fail(-EBUSY, "NVMe: queue %u has %u commands waiting for their "
				 "maps: hand their completions to nvme_map_done() first", q->qid,
				 q->nr_pending);
	/* Deleting the SQ aborts what it still holds; then the CQ may go. */
	cmd = (struct nvme_sqe){ .opcode = NVME_ADMIN_DELETE_SQ, .cdw10 = q->qid };
	r = run_sync(c->admin, &cmd, NULL, 0, ADMIN_TIMEOUT_MS, NULL, NULL);
	cmd = (struct nvme_sqe){ .opcode = NVME_ADMIN_DELETE_CQ, .cdw10 = q->qid };
	r2 = run_sync(c->admin, &cmd, NULL, 0, ADMIN_TIMEOUT_MS, NULL, NULL);
	if (r < 0 || r2 < 0) {
		/*
		 * The controller may still write to the queues: keep their
		 * memory mapped (leaked until nvme_close() disables it).
		 */
		return r < 0 ? r : r2;
	}
	c->qid_used &= ~(1u << q->qid);
	c->queues[q->qid] = NULL;
	if (q->efd >= 0) {	/* drop what the queue's vector left behind */
		eventfd_t v;
		struct pollfd pfd = { .fd = q->efd, .events = POLLIN };

		if (poll(&pfd, 1, 0) > 0)
			eventfd_read(q->efd, &v);
	}
	queue_free_mem(q);
	return 0;
}

uint16_t nvme_queue_id(const struct nvme_queue *q)
{
	return q ? q->qid : 0;
}

int nvme_queue_eventfd(const struct nvme_queue *q)
{
	return q ? q->efd : -1;
}

unsigned int nvme_queue_inflight(const struct nvme_queue *q)
{
	return q ? q->inflight : 0;
}

/* ------------------------------------------------------------------------ */
/* The controller                                                           */
/* ------------------------------------------------------------------------ */

static void copy_id_string(char *dst, const uint8_t *src, size_t len)
{
	memcpy(dst, src, len);
	dst[len] = 0;
	while (len && dst[len - 1] == ' ')
		dst[--len] = 0;
}

static int identify(struct nvme_ctrl *c, uint32_t nsid)
{
	const uint8_t *id = c->scratch->vaddr;
	struct nvme_ctrl_info *info = &c->info;
	struct nvme_sqe cmd;
	uint8_t mdts, flbas, lbads;
	uint32_t result;
	int r;

	cmd = (struct nvme_sqe){ .opcode = NVME_ADMIN_IDENTIFY, .cdw10 = 1 /* controller */ };
	r = nvme_admin(c, &cmd, c->scratch->vaddr, PAGE_SIZE, NULL);
	if (r < 0)
		return r;
	memcpy(&info->vid, id, 2);
	copy_id_string(info->serial, id + 4, 20);
	copy_id_string(info->model, id + 24, 40);
	copy_id_string(info->firmware, id + 64, 8);
	mdts = id[77];
	memcpy(&info->nn, id + 516, 4);
	/* One PRP list page covers 512 pages after the first one. */
	info->max_transfer = (uint64_t)PRPS_PER_PAGE * PAGE_SIZE;
	if (mdts && (PAGE_SIZE << CAP_MPSMIN(c->cap) << mdts) < info->max_transfer)
		info->max_transfer = (uint64_t)PAGE_SIZE << CAP_MPSMIN(c->cap) << mdts;
	if (nsid > info->nn)
		return nvme_fail(-ENODEV, "NVMe: namespace %u asked for; the "
					      "controller has %u", nsid, info->nn);

	cmd = (struct nvme_sqe){ .opcode = NVME_ADMIN_IDENTIFY, .nsid = nsid, .cdw10 = 0 };
	memset(c->scratch->vaddr, 0, PAGE_SIZE);
	r = nvme_admin(c, &cmd, c->scratch->vaddr, PAGE_SIZE, NULL);
	if (r < 0)
		return r;
	info->nsid = nsid;
	memcpy(&info->blocks, id, 8);
	flbas = id[26] & 0xf;
	lbads = id[128 + 4 * flbas + 2];
	if (!info->blocks)
		return nvme_fail(-ENODEV, "NVMe: namespace %u is not active (Identify Namespace "
				 "gives it no blocks)", nsid);
	if (lbads < 9 || lbads > PAGE_SHIFT)
		return nvme_fail(-ENODEV, "NVMe: namespace %u has blocks of 2^%u bytes; this "
				 "driver takes 512 B to 4 KiB", nsid, lbads);
	info->block_size = 1u << lbads;

	/* Number of Queues: 0's based counts of SQs and CQs; the result is what was granted. */
	cmd = (struct nvme_sqe){ .opcode = NVME_ADMIN_SET_FEATURES, .cdw10 = FEAT_NUM_QUEUES,
				 .cdw11 = (info->io_queues - 1) << 16 | (info->io_queues - 1) };
	r = nvme_admin(c, &cmd, NULL, 0, &result);
	if (r < 0)
		return r;
	if ((result & 0xffff) + 1 < info->io_queues)
		info->io_queues = (result & 0xffff) + 1;
	if ((result >> 16) + 1 < info->io_queues)
		info->io_queues = (result >> 16) + 1;
	return 0;
}

static int map_bar(struct nvme_ctrl *c)
{
	struct iommufd_region_info ri = { .sz = sizeof(ri) };
	void *p;
	int r;

	r = lib(iommufd_device_region_info(c->dev, IOMMUFD_PCI_BAR0, &ri));
	if (r < 0)
		return r;
	if (ri.size < REG_DOORBELLS + 2 * 4)
		return nvme_fail(-ENODEV, "NVMe: BAR0 is %" PRIu64 " bytes, too "
					      "small for the registers and doorbells", ri.size);
	/*
	 * The whole BAR, MSI-X table included: vfio-pci lets it be mapped
	 * (VFIO_REGION_INFO_CAP_MSIX_MAPPABLE) since the host's interrupt
	 * remapping keeps what is written there harmless.
	 */
	r = lib(iommufd_device_region_mmap(c->dev, IOMMUFD_PCI_BAR0, 0, ri.size,
				       PROT_READ | PROT_WRITE, &p));
	if (r < 0)
		return r;
	c->bar = p;
	c->bar_len = ri.size;
	return 0;
}

static int enable_vectors(struct nvme_ctrl *c, unsigned int want)
{
	struct iommufd_irq_info ii;
	int r;

	r = lib(iommufd_device_irq_info(c->dev, IOMMUFD_PCI_MSIX, &ii));
	if (r < 0)
		return r;
	if (!ii.count)
		return nvme_fail(-ENODEV, "NVMe: the controller has no MSI-X");
	c->nr_vectors = want < ii.count ? want : ii.count;
	for (unsigned int i = 0; i < c->nr_vectors; i++) {
		c->efds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (c->efds[i] < 0)
			return nvme_fail(-errno, "eventfd: %s", strerror(errno));
	}
	return lib(iommufd_device_irq_enable(c->dev, IOMMUFD_PCI_MSIX, 0, c->nr_vectors,
					       c->efds));
}

static int ctrl_enable(struct nvme_ctrl *c)
{
	struct nvme_queue *aq = c->admin;
	uint32_t cc;

	wr32(c, REG_AQA, (uint32_t)(aq->depth - 1) << 16 | (aq->depth - 1));
	wr64(c, REG_ASQ, aq->sq_mem->iova);
	wr64(c, REG_ACQ, aq->cq_mem->iova);
	cc = CC_CSS_NVM | CC_MPS(PAGE_SHIFT) | CC_AMS_RR | CC_IOSQES(6) | CC_IOCQES(4);
	wr32(c, REG_CC, cc);
	wr32(c, REG_CC, cc | CC_EN);
	return wait_ready(c, true);
}

int nvme_open(const char *bdf, const struct nvme_opts *opts, struct nvme_ctrl **ret)
{
	struct nvme_ctrl *c;
	uint32_t nsid = opts && opts->nsid ? opts->nsid : 1;
	unsigned int nq = opts && opts->io_queues ? opts->io_queues : 8;
	int r;

	if (!bdf || !ret)
		return nvme_fail(-EINVAL, "NVMe: no device named");
	if (nq >= MAX_VECTORS)
		nq = MAX_VECTORS - 1;
	c = calloc(1, sizeof(*c));
	if (!c)
		return nvme_fail(-ENOMEM, "out of memory");
	for (unsigned int i = 0; i < MAX_VECTORS; i++)
		c->efds[i] = -1;
	c->info.io_queues = nq;
	/* Until Identify says less: what one PRP list page covers. */
	c->info.max_transfer = (uint64_t)PRPS_PER_PAGE * PAGE_SIZE;

	if ((r = lib(iommufd_ctx_open(NULL, &c->ctx))) < 0 ||
	    (r = lib(iommufd_device_open(c->ctx, bdf, &c->dev))) < 0 ||
	    (r = lib(ioas_new(c->ctx, NULL, &c->ioas))) < 0 ||
	    (r = lib(iommufd_device_attach(c->dev, ioas_id(c->ioas)))) < 0 ||
	    (r = lib(ioas_refresh_ranges(c->ioas))) < 0 ||
	    (r = map_bar(c)) < 0)
		goto out_close;

	c->cap = rd64(c, REG_CAP);
	c->info.version = rd32(c, REG_VS);
	c->info.max_entries = CAP_MQES(c->cap) + 1;
	c->info.doorbell_stride = 4u << CAP_DSTRD(c->cap);
	c->info.timeout_ms = CAP_TO(c->cap) ? CAP_TO(c->cap) * 500 : 500;
	if (!CAP_CSS_NVM(c->cap) || CAP_MPSMIN(c->cap) > 0) {
		r = nvme_fail(-ENODEV, "NVMe: the controller lacks the NVM command "
					   "set or 4 KiB pages (CAP 0x%" PRIx64 ")", c->cap);
		goto out_close;
	}
	if (REG_DOORBELLS + (2 * (nq + 1)) * c->info.doorbell_stride > c->bar_len)
		nq = (c->bar_len - REG_DOORBELLS) / (2 * c->info.doorbell_stride) - 1;
	c->info.io_queues = nq;

	/* Disabled first: nothing the previous owner set up may DMA into our memory. */
	if ((r = ctrl_disable(c)) < 0 ||
	    (r = lib(iommufd_device_set_bus_master(c->dev, true))) < 0 ||
	    (r = enable_vectors(c, nq + 1)) < 0)
		goto out_close;
	c->info.irq_vectors = c->nr_vectors;
	r = queue_alloc(c, 0, ADMIN_DEPTH < c->info.max_entries ? ADMIN_DEPTH :
			c->info.max_entries, &c->admin);
	if (r < 0)
		goto out_close;
	r = lib(ioas_dma_alloc(c->ioas, PAGE_SIZE, NULL, &c->scratch));
	if (r < 0)
		goto out_close;
	/* Admin completions are polled; INTMS would mask vector 0, but with MSI-X it is unused. */
	if ((r = ctrl_enable(c)) < 0 || (r = identify(c, nsid)) < 0)
		goto out_close;
	*ret = c;
	return 0;

out_close:
	/* Keep the explanation of what failed, not of the clean-up. */
	{
		char why[sizeof(last_error)];

		memcpy(why, last_error, sizeof(why));
		nvme_close(c);
		memcpy(last_error, why, sizeof(why));
	}
	return r;
}

void nvme_close(struct nvme_ctrl *c)
{
	if (!c)
		return;
	if (c->bar) {
		/* A normal shutdown, then disable: the controller stops all DMA. */
		uint32_t cc = rd32(c, REG_CC);

		if (cc & CC_EN) {
			uint64_t deadline = now_ms() + c->info.timeout_ms;

			wr32(c, REG_CC, cc | CC_SHN_NORMAL);
			while ((rd32(c, REG_CSTS) & CSTS_SHST_MASK) != CSTS_SHST_DONE &&
			       now_ms() < deadline)
				usleep(1000);
		}
		ctrl_disable(c);
	}
	if (c->dev) {
		if (c->nr_vectors)
			iommufd_device_irq_disable(c->dev, IOMMUFD_PCI_MSIX);
		iommufd_device_set_bus_master(c->dev, false);
	}
	/* Queues the caller left: the controller is disabled, their memory may go. */
	for (unsigned int i = 1; i < 32; i++) {
		struct nvme_queue *q = c->queues[i];

		if (!q)
			continue;
		while (q->backlog) {
			struct pending *p = q->backlog;

			q->backlog = p->next;
			free(p);
		}
		queue_free_mem(q);
	}
	if (c->admin)
		queue_free_mem(c->admin);
	ioas_dma_free(c->ioas, c->scratch);
	if (c->bar)
		munmap((void *)c->bar, c->bar_len);
	for (unsigned int i = 0; i < MAX_VECTORS; i++)
		if (c->efds[i] >= 0)
			close(c->efds[i]);
	iommufd_device_close(c->dev);
	ioas_free(c->ioas);
	iommufd_ctx_unref(c->ctx);
	free(c);
}

const struct nvme_ctrl_info *nvme_info(const struct nvme_ctrl *c)
{
	return &c->info;
}

struct ioas *nvme_ioas(struct nvme_ctrl *c)
{
	return c->ioas;
}

struct iommufd_device *nvme_device(struct nvme_ctrl *c)
{
	return c->dev;
}

int nvme_vector_eventfd(const struct nvme_ctrl *c, unsigned int vector)
{
	return c && vector < c->nr_vectors ? c->efds[vector] : -1;
}
