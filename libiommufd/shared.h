/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internal to the project, never installed: the helper kit every module
 * (libiommufd/, ioas/, async/, compat/, iommufd-ctl/) may include. It names
 * no struct layout: the context's stays in libiommufd/internal.h, which only
 * the core's own files include. What another module needs from the core
 * beyond the public API is declared here, so that every crossing is in one
 * place.
 *
 * ioas/, compat/ and iommufd-ctl/ are linked with the core's objects and may
 * call all of it. libiommufd-async links against libiommufd.so, which exports
 * only the functions marked LIBIOMMUFD_PRIVATE below (a version node of their
 * own in libiommufd.map: not ABI, for this project's libraries, which are
 * built and released together).
 */
#ifndef LIBIOMMUFD_SHARED_H
#define LIBIOMMUFD_SHARED_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/vfio.h>

#include <iommufd/iommufd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define offsetofend(TYPE, MEMBER) (offsetof(TYPE, MEMBER) + sizeof(((TYPE *)0)->MEMBER))

/*
 * Checks at the top of public functions, after systemd's assert_return():
 * a bad argument is the caller's bug, answered with -EINVAL and an explanation.
 */
#define check_arg(expr)                                                                  \
	do {                                                                             \
		if (!(expr))                                                             \
			return iommufd_fail(NULL, -EINVAL, "%s: invalid argument: %s",   \
					    __func__, #expr);                            \
	} while (0)

/*
 * The size rules of every opts struct, as the kernel has them for its own:
 * smaller than the first version is EINVAL, non-zero bytes past the fields
 * this library knows are E2BIG. @known is sizeof the struct compiled here,
 * @min the end of its first version. 0 when @opts is NULL. LIBIOMMUFD_PRIVATE.
 */
int iommufd_check_opts(const struct iommufd_ctx *ctx, const void *opts, size_t min, size_t known,
		       const char *name);
#define check_opts(ctx, opts, TYPE, FIRST_LAST)                                           \
	iommufd_check_opts(ctx, opts, offsetofend(struct TYPE, FIRST_LAST),             \
			   sizeof(struct TYPE), #TYPE)

/*
 * A field of a caller's opts struct, or @DEF when @OPTS is NULL or the
 * caller's struct (opts->sz, checked by check_opts()) ends before it: an
 * older caller's smaller struct is never read past its end (libbpf's
 * OPTS_GET()).
 */
#define opts_get(OPTS, TYPE, FIELD, DEF)                                                 \
	((OPTS) && (OPTS)->sz >= offsetofend(struct TYPE, FIELD) ? (OPTS)->FIELD : (DEF))

/* A context used in a forked child: its objects belong to the parent. */
int iommufd_ctx_check(const struct iommufd_ctx *ctx);
#define check_ctx(ctx)                                                                   \
	do {                                                                             \
		int __r;                                                                 \
		check_arg(ctx);                                                          \
		__r = iommufd_ctx_check(ctx);                                            \
		if (__r < 0)                                                             \
			return __r;                                                      \
	} while (0)

/*
 * Record why a call failed: sets this thread's iommufd_last_error() text,
 * passes it to the context's log function, and returns @err (a -errno) so
 * that callers can write `return iommufd_fail(ctx, -EINVAL, "...", ...);`.
 * @ctx may be NULL (no log function then).
 */
__attribute__((format(printf, 3, 4)))
int iommufd_fail(const struct iommufd_ctx *ctx, int err, const char *fmt, ...);
/* The same for a plain errno with no better words: "<what>: <strerror>". */
int iommufd_fail_errno(const struct iommufd_ctx *ctx, int err, const char *what);
/* Forget the last explanation (at the start of an operation that may set one). */
void iommufd_clear_error(void);
/*
 * iommufd_fail() without a context, for a library built on this one: the
 * async layer carries an explanation from a worker thread back to the
 * thread that asks with it. It does not log. LIBIOMMUFD_PRIVATE.
 */
__attribute__((format(printf, 2, 3)))
int iommufd_set_last_error(int err, const char *fmt, ...);

/* ioctl() that returns 0/positive or -errno, retrying EINTR. */
static inline int xioctl(int fd, unsigned long req, void *arg)
{
	int r;

	do
		r = ioctl(fd, req, arg);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

/*
 * munmap() that returns 0 or -errno and tries once more on ENOMEM: the
 * kernel needs memory to split a VMA (ours may have been merged with a
 * neighbour), a passing shortage, and giving up would leak the mapping.
 */
static inline int xmunmap(void *addr, size_t len)
{
	if (munmap(addr, len) < 0 && (errno != ENOMEM || munmap(addr, len) < 0))
		return -errno;
	return 0;
}

/*
 * Walk a VFIO capability chain in @buf (@len bytes) starting at @offset:
 * return the offset of the first capability with @id, 0 when there is none,
 * or -EINVAL for a chain that points outside the buffer, goes backwards
 * into the fixed header, loops, or is not 8-byte aligned as VFIO places
 * capabilities.
 */
long iommufd_find_cap(const void *buf, size_t len, size_t offset, size_t min_offset, uint16_t id);

/*
 * The UUID ("8-4-4-4-12" hex digits, either case) that @s starts with, into
 * @out: 0, or -EINVAL. What follows its 36 characters is the caller's.
 */
int iommufd_parse_uuid_prefix(const char *s, uint8_t out[16]);

/*
 * VFIO type1's MAP_DMA of [iova, iova + size) to @vaddr with @access
 * (IOMMUFD_MAP_READ/WRITE), and UNMAP_DMA of [iova, iova + *size), which
 * sets *size to the bytes unmapped: for ioas/'s type1 backend and the shim.
 * @ioctl_fn issues the call (xioctl(), or the shim's real ioctl()); its
 * result is returned. Inline: the shim makes one per legacy MAP_DMA, where
 * each call frame shows under emulation.
 */
typedef int (*iommufd_ioctl_fn)(int fd, unsigned long req, void *arg);

static inline int iommufd_type1_map_dma(iommufd_ioctl_fn ioctl_fn, int fd, uint64_t vaddr,
					uint64_t iova, uint64_t size, unsigned int access)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = (access & IOMMUFD_MAP_READ ? VFIO_DMA_MAP_FLAG_READ : 0) |
			 (access & IOMMUFD_MAP_WRITE ? VFIO_DMA_MAP_FLAG_WRITE : 0),
		.vaddr = vaddr,
		.iova = iova,
		.size = size,
	};

	return ioctl_fn(fd, VFIO_IOMMU_MAP_DMA, &m);
}

static inline int iommufd_type1_unmap_dma(iommufd_ioctl_fn ioctl_fn, int fd, uint64_t iova,
					  uint64_t *size)
{
	struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = iova, .size = *size };
	int r = ioctl_fn(fd, VFIO_IOMMU_UNMAP_DMA, &u);

	*size = u.size;
	return r;
}

/* For in-tree users that track mappings themselves: skip the record's cost. */
void iommufd_ctx_disable_record(struct iommufd_ctx *ctx);

/* A mapping as an owner reports it: [iova, last], of memory at vaddr (0: none). */
struct iommufd_record_hit {
	uint64_t iova;
	uint64_t last;
	uint64_t vaddr;
};

/*
 * A module that keeps its own record of what it maps in an IOAS (ioas/'s
 * struct ioas, in its tracker) registers as an owner of that IOAS, so that
 * the mapping is recorded once: it must record a mapping before it maps it,
 * and iommufd_record_add() then leaves out a map that lies inside a mapping
 * an owner holds (however many pieces it is mapped in, on any thread), while
 * iommufd_record_find() asks the owners as well as its own record. An IOAS
 * may have several owners; each removes itself before it goes, and before it
 * destroys the IOAS. @find is called with the context's lock held and must
 * not call back into the context.
 */
struct iommufd_record_owner {
	/* The lowest mapping the owner holds that overlaps [iova, last]. */
	bool (*find)(struct iommufd_record_owner *owner, uint64_t iova, uint64_t last,
		     struct iommufd_record_hit *hit);
	struct iommufd_record_owner *next;	/* the context's, while registered */
};

/* 0, or -ENOMEM: the context then goes on recording the owner's maps itself. */
int iommufd_record_add_owner(struct iommufd_ctx *ctx, uint32_t ioas_id,
			     struct iommufd_record_owner *owner);
/* Takes an owner that was never added. */
void iommufd_record_remove_owner(struct iommufd_ctx *ctx, uint32_t ioas_id,
				 struct iommufd_record_owner *owner);

#endif /* LIBIOMMUFD_SHARED_H */
