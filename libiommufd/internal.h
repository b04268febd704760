/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to libiommufd/: the context's layout and what only the core's own
 * files call. Other modules include "shared.h" (the helper kit) instead.
 */
#ifndef LIBIOMMUFD_INTERNAL_H
#define LIBIOMMUFD_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "shared.h"

__attribute__((format(printf, 3, 4)))
void iommufd_log(const struct iommufd_ctx *ctx, enum iommufd_log_level level, const char *fmt,
		 ...);

/* Copy a string, truncating to fit; returns -ERANGE if it had to. */
static inline int copy_str(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (!len)
		return -ERANGE;
	if (n >= len) {
		memcpy(dst, src, len - 1);
		dst[len - 1] = '\0';
		return -ERANGE;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

/*
 * Output structs that carry their size (the first field, set by the caller):
 * check_out() answers -EINVAL for one smaller than the first version, whose
 * last field is FIRST_LAST; copy_out() copies the library's filled @full to
 * @out, no more than the caller's size.
 */
#define check_out(ctx, out, TYPE, FIRST_LAST)                                             \
	((out)->sz < offsetofend(struct TYPE, FIRST_LAST)                                 \
		 ? iommufd_fail(ctx, -EINVAL, "%s: size %zu is smaller than any version", \
				#TYPE, (out)->sz)                                         \
		 : 0)
#define copy_out(out, full)                                                              \
	do {                                                                             \
		(full)->sz = (out)->sz;                                                  \
		memcpy(out, full, (out)->sz < sizeof(*(full)) ? (out)->sz : sizeof(*(full))); \
	} while (0)

/* HWPTs this context allocated, for iommufd_device_attach_auto(). */
struct iommufd_auto_hwpt {
	uint32_t hwpt_id;
	uint32_t ioas_id;
	uint32_t flags;
};

struct iommufd_ctx {
	atomic_int refcount;
	int fd;
	bool own_fd;
	pid_t pid;			/* creator: a forked child gets -ECHILD */
	uint64_t features;		/* bit per enum iommufd_feature */
	iommufd_log_fn log_fn;
	void *log_data;
	pthread_mutex_t lock;		/* guards auto_hwpts and records */
	struct iommufd_auto_hwpt *auto_hwpts;
	size_t nr_auto_hwpts;
	struct ioas_record *records;	/* mapping_record.c */
	size_t nr_records;
	bool no_record;			/* the caller keeps its own (compat/) */
};

/* Explain a failed IOAS map in kernel-independent words (error_explain.c). */
int iommufd_explain_map(struct iommufd_ctx *ctx, int err, uint32_t ioas_id, uint64_t vaddr,
			uint64_t length, uint64_t iova, unsigned int flags, const char *what);

/* IOVA ranges of an IOAS with no error recorded (ioas.c). */
int iommufd_ioas_ranges_raw(struct iommufd_ctx *ctx, uint32_t ioas_id,
			    struct iommufd_iova_range **ranges, size_t *nr, uint64_t *alignment);
bool iommufd_ioas_exists(struct iommufd_ctx *ctx, uint32_t ioas_id);

/*
 * The reserved gap between the sorted usable @ranges that [iova, last] hits,
 * if any (error_explain.c).
 */
bool iommufd_find_reserved_gap(const struct iommufd_iova_range *ranges, size_t nr, uint64_t iova,
			       uint64_t last, uint64_t *gap_start, uint64_t *gap_last);

/*
 * The mappings made through this context, per IOAS (mapping_record.c), so
 * that EEXIST can name the one a map hit. Best effort: a mapping made with a
 * raw ioctl on the fd is not known.
 */
/*
 * A map takes its entry before it enters the kernel, so that no mapping is
 * ever made that the record lacks: -ENOMEM, and the map must not be made.
 * Then iommufd_record_add() (the map succeeded) or iommufd_record_cancel().
 * *entry is NULL when nothing is recorded; both take NULL.
 */
struct iommufd_record_entry;
int iommufd_record_prepare(struct iommufd_ctx *ctx, uint32_t ioas_id,
			   struct iommufd_record_entry **entry);
void iommufd_record_add(struct iommufd_ctx *ctx, uint32_t ioas_id,
			struct iommufd_record_entry *entry, uint64_t iova, uint64_t length,
			uint64_t vaddr);
void iommufd_record_cancel(struct iommufd_ctx *ctx, uint32_t ioas_id,
			   struct iommufd_record_entry *entry);
/* Forget the mappings inside [iova, last], which the kernel unmapped. */
void iommufd_record_remove(struct iommufd_ctx *ctx, uint32_t ioas_id, uint64_t iova,
			   uint64_t last);
/* Forget all of an IOAS's mappings (unmapped all, or destroyed); its owners stay. */
void iommufd_record_drop(struct iommufd_ctx *ctx, uint32_t ioas_id);
void iommufd_record_free(struct iommufd_ctx *ctx);
/* The lowest recorded mapping overlapping [iova, last], whoever holds it. */
bool iommufd_record_find(struct iommufd_ctx *ctx, uint32_t ioas_id, uint64_t iova,
			 uint64_t last, uint64_t *found_iova, uint64_t *found_last,
			 uint64_t *found_vaddr);

/* Remember an auto-domain HWPT (hwpt.c). */
int iommufd_ctx_add_auto_hwpt(struct iommufd_ctx *ctx, uint32_t hwpt_id, uint32_t ioas_id,
			      uint32_t flags);
/*
 * Forget one (destroyed, or gone): iommufd reuses IDs, and a stale entry
 * would have iommufd_device_attach_auto() attach to whatever has the ID now.
 */
void iommufd_ctx_forget_auto_hwpt(struct iommufd_ctx *ctx, uint32_t hwpt_id);

#endif
