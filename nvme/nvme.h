/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A userspace NVMe driver on libiommufd's public API: the model of a
 * queue-based driver on the toolkit (Documentation/nvme.md).
 *
 *   struct nvme_ctrl *c;
 *   nvme_open("0000:00:04.0", NULL, &c);        // reset, admin queue, Identify
 *   nvme_queue_create(c, 64, NVME_QUEUE_IRQ, &q); // an I/O SQ/CQ pair, MSI-X vector
 *   ioas_dma_alloc(nvme_ioas(c), 4096, NULL, &buf);
 *   nvme_submit_io(q, NVME_CMD_READ, lba, 1, buf->vaddr, 42);
 *   // ... the queue's eventfd fires (watch it on an io_uring), then:
 *   nvme_queue_reap(q, done, arg);              // done(arg, 42, status, result)
 *
 * Everything the device reads or writes lives in memory mapped through the
 * controller's struct ioas: the queues and PRP lists come from
 * ioas_dma_alloc(), and data buffers may be any memory mapped through it
 * (ioas_dma_alloc(), ioas_map(), or an async map request): the driver
 * finds each page's IOVA in the ioas's tracker. A queue belongs to one
 * thread. Calls return 0 or -errno, with nvme_last_error() explaining;
 * a command the controller failed is -errno with its status decoded.
 */
#ifndef NVME_NVME_H
#define NVME_NVME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iommufd/ioas.h>
#include <iommufd/iommufd.h>

#ifdef __cplusplus
extern "C" {
#endif

/* NVM command set opcodes (NVMe 1.4, figure 346). */
enum nvme_io_opcode {
	NVME_CMD_FLUSH = 0x00,
	NVME_CMD_WRITE = 0x01,
	NVME_CMD_READ = 0x02,
};

/* Admin opcodes (NVMe 1.4, figure 139). */
enum nvme_admin_opcode {
	NVME_ADMIN_DELETE_SQ = 0x00,
	NVME_ADMIN_CREATE_SQ = 0x01,
	NVME_ADMIN_GET_LOG_PAGE = 0x02,
	NVME_ADMIN_DELETE_CQ = 0x04,
	NVME_ADMIN_CREATE_CQ = 0x05,
	NVME_ADMIN_IDENTIFY = 0x06,
	NVME_ADMIN_SET_FEATURES = 0x09,
	NVME_ADMIN_GET_FEATURES = 0x0a,
};

/* A submission queue entry (64 bytes). */
struct nvme_sqe {
	uint8_t opcode;
	uint8_t flags;		/* FUSE, PSDT: 0 (PRPs, not fused) */
	uint16_t cid;		/* set by the driver */
	uint32_t nsid;
	uint32_t cdw2, cdw3;
	uint64_t mptr;
	uint64_t prp1, prp2;	/* set by the driver from the data buffer */
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

/* A completion queue entry (16 bytes). */
struct nvme_cqe {
	uint32_t result;	/* command specific (DW0) */
	uint32_t rsvd;
	uint16_t sqhd;		/* how far the controller consumed the SQ */
	uint16_t sqid;
	uint16_t cid;
	uint16_t status;	/* bit 0 the phase tag, then SC, SCT, CRD, M, DNR */
};

/*
 * A command's status as the driver reports it: the CQE's status field
 * without the phase tag. 0 is success.
 */
#define NVME_SC(s)	((s) & 0xff)		/* status code */
#define NVME_SCT(s)	(((s) >> 8) & 0x7)	/* status code type */
#define NVME_DNR(s)	(((s) >> 14) & 0x1)	/* do not retry */
#define NVME_STATUS(sct, sc) ((uint16_t)((sct) << 8 | (sc)))

/* A few statuses the tests and callers name (NVMe 1.4, figures 126-129). */
#define NVME_SC_INVALID_OPCODE		NVME_STATUS(0, 0x01)
#define NVME_SC_INVALID_FIELD		NVME_STATUS(0, 0x02)
#define NVME_SC_DATA_TRANSFER_ERROR	NVME_STATUS(0, 0x04)
#define NVME_SC_INVALID_NS		NVME_STATUS(0, 0x0b)
#define NVME_SC_LBA_RANGE		NVME_STATUS(0, 0x80)
#define NVME_SC_NS_NOT_READY		NVME_STATUS(0, 0x82)
#define NVME_SC_INVALID_QID		NVME_STATUS(1, 0x01)
#define NVME_SC_INVALID_QSIZE		NVME_STATUS(1, 0x02)
#define NVME_SC_INVALID_VECTOR		NVME_STATUS(1, 0x08)

struct nvme_ctrl;
struct nvme_queue;

struct nvme_ctrl_info {
	char serial[21], model[41], firmware[9];
	uint16_t vid;
	uint32_t version;	/* VS: major << 16 | minor << 8 | tertiary */
	uint32_t nn;		/* namespaces */
	uint64_t max_transfer;	/* bytes per command: MDTS, at most what one PRP list covers */
	uint32_t max_entries;	/* per queue (CAP.MQES + 1) */
	uint32_t doorbell_stride; /* bytes */
	uint32_t timeout_ms;	/* CAP.TO: what enabling or resetting may take */
	uint32_t io_queues;	/* I/O queue pairs granted (Set Features) */
	uint32_t irq_vectors;	/* MSI-X vectors the driver enabled */
	/* The namespace the I/O calls use. */
	uint32_t nsid;
	uint64_t blocks;	/* NSZE */
	uint32_t block_size;	/* bytes */
};

struct nvme_opts {
	uint32_t nsid;		/* 0: 1 */
	unsigned int io_queues;	/* pairs to ask for; 0: 8 */
};

/**
 * nvme_open() - take a controller bound to vfio-pci and bring it up.
 * @bdf: the PCI address.
 * @opts: may be NULL.
 * @ret: the controller.
 *
 * Opens /dev/iommu and the device's cdev, attaches it to an IOAS of its own
 * (struct ioas, so IOVAs come from the allocator), maps BAR0, enables MSI-X
 * with one eventfd per vector, resets the controller (CC.EN = 0, waiting up
 * to CAP.TO), sets up the admin queue, enables it and waits for CSTS.RDY,
 * then identifies the controller and the namespace and asks for the I/O
 * queues. Everything is undone on failure.
 */
int nvme_open(const char *bdf, const struct nvme_opts *opts, struct nvme_ctrl **ret);
/*
 * Disable the controller (it stops DMA), then release everything, I/O
 * queues not deleted included. Takes NULL.
 */
void nvme_close(struct nvme_ctrl *c);

const struct nvme_ctrl_info *nvme_info(const struct nvme_ctrl *c);
struct ioas *nvme_ioas(struct nvme_ctrl *c);
struct iommufd_device *nvme_device(struct nvme_ctrl *c);
/* The eventfd MSI-X vector @vector signals; -1 when not enabled. */
int nvme_vector_eventfd(const struct nvme_ctrl *c, unsigned int vector);

/*
 * An admin command, polled to completion. @buf (NULL or @len bytes inside
 * memory mapped through the ioas) becomes its PRPs; @result gets DW0.
 */
int nvme_admin(struct nvme_ctrl *c, struct nvme_sqe *cmd, void *buf, size_t len,
	       uint32_t *result);

enum nvme_queue_flags {
	/* Completions raise the queue's MSI-X vector (vector = queue ID),
	 * signalled on nvme_queue_eventfd(); without it the CQ is polled. */
	NVME_QUEUE_IRQ = 1 << 0,
};

/*
 * Create an I/O CQ and SQ of @depth entries (at most max_entries; one stays
 * free, so depth - 1 commands may be in flight) at IOVAs from the allocator.
 */
int nvme_queue_create(struct nvme_ctrl *c, unsigned int depth, unsigned int flags,
		      struct nvme_queue **ret);
/* Delete the SQ, then the CQ, then free their memory. Takes NULL. */
int nvme_queue_delete(struct nvme_queue *q);
uint16_t nvme_queue_id(const struct nvme_queue *q);
/* The eventfd of the queue's vector, -1 for a polled queue. */
int nvme_queue_eventfd(const struct nvme_queue *q);
/* Commands submitted and not yet reaped. */
unsigned int nvme_queue_inflight(const struct nvme_queue *q);

/*
 * Queue a command with @buf (@len bytes in memory mapped through the ioas)
 * as its data, and ring the doorbell. With @buf NULL the command's PRP
 * fields are sent as the caller set them (0 for a command without data). -EBUSY when the queue is
 * full; -ENOENT (explained) when a page of @buf is not mapped; -EINVAL when
 * @len exceeds max_transfer or @buf is not 4-byte aligned.
 */
int nvme_submit(struct nvme_queue *q, struct nvme_sqe *cmd, void *buf, size_t len,
		uint64_t user_data);
/* A read or write of @nlb blocks at @slba of the namespace into/from @buf. */
int nvme_submit_io(struct nvme_queue *q, uint8_t opcode, uint64_t slba, uint32_t nlb,
		   void *buf, uint64_t user_data);

struct iommufd_async;

/* The async map requests nvme_submit_io_map() makes complete with this tag. */
#define NVME_MAP_TAG		0x4e4dULL	/* "NM" */
static inline bool nvme_is_map_cqe(uint64_t user_data)
{
	return user_data >> 48 == NVME_MAP_TAG;
}

/**
 * nvme_submit_io_map() - nvme_submit_io() on memory that need not be mapped yet.
 * @q: the queue.
 * @a: the async layer on the caller's ring.
 * @opcode: NVME_CMD_READ or NVME_CMD_WRITE.
 * @slba: the first block.
 * @nlb: how many blocks.
 * @buf: the data, any memory of the process.
 * @user_data: the command's, as for nvme_submit_io().
 *
 * The pages of @buf that have no IOVA yet are mapped, each run of them by
 * one async map request through @a (read and write, whole pages), and the
 * command is submitted once those maps completed: their completions arrive
 * on the caller's ring with a user_data for which nvme_is_map_cqe() is
 * true, to be handed to nvme_map_done(). The mappings stay, a cache: later
 * commands on the same memory go straight to the controller. They go with
 * ioas_unmap_vaddr() or when the controller is closed.
 *
 * Return: 0 when submitted at once (everything was mapped), 1 when it waits
 * for maps, or -errno. -EBUSY when the async layer's queue is full: if some
 * maps were already queued, the command then fails through nvme_map_done().
 */
int nvme_submit_io_map(struct nvme_queue *q, struct iommufd_async *a, uint8_t opcode,
		       uint64_t slba, uint32_t nlb, void *buf, uint64_t user_data);
/**
 * nvme_map_done() - a map that nvme_submit_io_map() asked for completed.
 * @map_user_data: the completion's user_data (nvme_is_map_cqe() true).
 * @res: the completion's res.
 * @user_data: out, the user_data of the command the map was for.
 *
 * Return: 1 when the command was submitted (or queued on a full queue, to
 * be submitted as completions free slots), 0 when it still waits for
 * other maps, or -errno when it cannot be submitted: a map failed (the
 * async layer's explanation in nvme_last_error()).
 */
int nvme_map_done(uint64_t map_user_data, int res, uint64_t *user_data);

/* What nvme_queue_reap() calls for each completion: status 0 is success. */
typedef void (*nvme_done_fn)(void *arg, uint64_t user_data, uint16_t status, uint32_t result);

/*
 * Take every completion posted so far, call @fn for each, and tell the
 * controller (CQ head doorbell). Commands @fn submits on this queue are
 * announced with one SQ doorbell write after the batch. Return: how many.
 */
int nvme_queue_reap(struct nvme_queue *q, nvme_done_fn fn, void *arg);

/*
 * Wait until at least one command completed and reap: spinning on the CQ
 * (polled queue), or blocking on the eventfd (IRQ queue). -ETIMEDOUT after
 * @timeout_ms with nothing completed.
 */
int nvme_queue_wait(struct nvme_queue *q, int timeout_ms, nvme_done_fn fn, void *arg);

/*
 * One read or write, submitted and waited for. A failed command is -errno
 * with its status decoded in nvme_last_error(); *@status (may be NULL)
 * gets the raw status.
 */
int nvme_io(struct nvme_queue *q, uint8_t opcode, uint64_t slba, uint32_t nlb, void *buf,
	    uint16_t *status);

/*
 * Why the last nvme_* call that failed in this thread failed: a decoded
 * status, or the library's explanation (iommufd_last_error()) of what it
 * refused. Valid until the next failure in this thread.
 */
const char *nvme_last_error(void);

/* The errno a status maps to (0 for success): -ERANGE for LBA out of range, ... */
int nvme_status_errno(uint16_t status);
/* The status's name from the specification ("LBA Out of Range"). */
const char *nvme_status_name(uint16_t status);
/* What it means and what to do, in a sentence; "" when nothing is to add. */
const char *nvme_status_hint(uint16_t status);

#ifdef __cplusplus
}
#endif

#endif /* NVME_NVME_H */
