// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Why a map failed. The kernel answers EINVAL for half a dozen causes; once a
 * map has failed we ask it (IOVA ranges, alignment) and look at the process
 * (rlimits, /proc/self/maps) to name the one that applies. This runs only on
 * the failure path, so it may be slow.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "internal.h"

#define X86_MSI_START 0xfee00000ULL
#define X86_MSI_LAST 0xfeefffffULL

static long page_size(void)
{
	return sysconf(_SC_PAGESIZE);
}

/* Print "0x0-0xfedfffff, 0xfef00000-0xffffffffffff" into buf. */
static void format_ranges(char *buf, size_t len, const struct iommufd_iova_range *r, size_t nr)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < nr && off < len; i++)
		off += snprintf(buf + off, len - off, "%s0x%" PRIx64 "-0x%" PRIx64, i ? ", " : "",
				r[i].start, r[i].last);
	if (!nr)
		snprintf(buf, len, "none");
}

/*
 * The reserved gap between the sorted usable ranges that [iova, last] hits,
 * if any.
 */
bool iommufd_find_reserved_gap(const struct iommufd_iova_range *r, size_t nr, uint64_t iova,
			      uint64_t last, uint64_t *gap_start, uint64_t *gap_last)
{
	uint64_t next = 0;	/* the first IOVA not covered so far */

	for (size_t i = 0; i < nr; i++) {
		if (r[i].start > next && iova < r[i].start && last >= next) {
			*gap_start = next;
			*gap_last = r[i].start - 1;
			return true;
		}
		if (r[i].last == UINT64_MAX)
			return false;
		next = r[i].last + 1;
	}
	if (last < next)
		return false;
	*gap_start = next;
	*gap_last = UINT64_MAX;
	return true;
}

static int explain_einval(struct iommufd_ctx *ctx, int err, uint32_t ioas_id, uint64_t vaddr,
			  uint64_t length, uint64_t iova, unsigned int flags, const char *what)
{
	struct iommufd_iova_range *ranges = NULL;
	uint64_t align = 0, gs, gl, last;
	char list[256];
	size_t nr = 0;
	int r;

	if (!(flags & IOMMUFD_MAP_RW))
		return iommufd_fail(ctx, err,
				    "IOAS %u: %s asks for neither read nor write access: pass "
				    "IOMMUFD_MAP_READ and/or IOMMUFD_MAP_WRITE", ioas_id, what);
	if (!length)
		return iommufd_fail(ctx, err, "IOAS %u: %s of length 0", ioas_id, what);

	r = iommufd_ioas_ranges_raw(ctx, ioas_id, &ranges, &nr, &align);
	if (r < 0)
		return iommufd_fail(ctx, err, "IOAS %u: %s refused with EINVAL (the IOAS cannot be "
				    "queried: %s)", ioas_id, what, strerror(-r));
	format_ranges(list, sizeof(list), ranges, nr);
	last = iova + length - 1;

	if (align > 1 && (length & (align - 1))) {
		r = iommufd_fail(ctx, err,
				 "IOAS %u: %s length 0x%" PRIx64 " is not a multiple of the IOAS's "
				 "required alignment 0x%" PRIx64, ioas_id, what, length, align);
	} else if (align > 1 && vaddr && ((vaddr % page_size()) & (align - 1))) {
		r = iommufd_fail(ctx, err,
				 "IOAS %u: %s address 0x%" PRIx64 " is not aligned to the IOAS's "
				 "required alignment 0x%" PRIx64 " within its page", ioas_id, what,
				 vaddr, align);
	} else if ((flags & IOMMUFD_MAP_FIXED_IOVA) && align > 1 && (iova & (align - 1))) {
		r = iommufd_fail(ctx, err,
				 "IOAS %u: %s IOVA 0x%" PRIx64 " is not aligned to the IOAS's "
				 "required alignment 0x%" PRIx64, ioas_id, what, iova, align);
	} else if ((flags & IOMMUFD_MAP_FIXED_IOVA) &&
		   iommufd_find_reserved_gap(ranges, nr, iova, last, &gs, &gl)) {
		bool msi = gs <= X86_MSI_LAST && gl >= X86_MSI_START;

		r = iommufd_fail(ctx, err,
				 "IOAS %u: %s IOVA 0x%" PRIx64 "-0x%" PRIx64 " is outside the usable "
				 "IOVA ranges: it hits the reserved window 0x%" PRIx64 "-0x%" PRIx64
				 "%s (usable: %s)", ioas_id, what, iova, last, gs, gl,
				 msi ? " (the x86 MSI window)" : "", list);
	} else {
		r = iommufd_fail(ctx, err,
				 "IOAS %u: %s of 0x%" PRIx64 " bytes at IOVA 0x%" PRIx64 " refused "
				 "with EINVAL (usable ranges: %s, alignment 0x%" PRIx64 ")", ioas_id,
				 what, length, iova, list, align);
	}
	free(ranges);
	return r;
}

/* RLIMIT_MEMLOCK against what this process has locked and pinned. */
static int explain_enomem(struct iommufd_ctx *ctx, int err, uint32_t ioas_id, uint64_t length,
			  const char *what)
{
	unsigned long long vmlck = 0, vmpin = 0;
	struct rlimit rl;
	char line[128];
	FILE *f;

	f = fopen("/proc/self/status", "re");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			sscanf(line, "VmLck: %llu kB", &vmlck);
			sscanf(line, "VmPin: %llu kB", &vmpin);
		}
		fclose(f);
	}
	if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return iommufd_fail(ctx, err,
				    "IOAS %u: %s of 0x%" PRIx64 " bytes: out of memory "
				    "(RLIMIT_MEMLOCK is unlimited; %llu KiB locked, %llu KiB pinned)",
				    ioas_id, what, length, vmlck, vmpin);
	return iommufd_fail(ctx, err,
			    "IOAS %u: %s of 0x%" PRIx64 " bytes would exceed RLIMIT_MEMLOCK (%llu "
			    "KiB; %llu KiB locked, %llu KiB pinned by this process; iommufd counts "
			    "pins per user by default), unless memory really ran out", ioas_id,
			    what, length, (unsigned long long)rl.rlim_cur / 1024, vmlck, vmpin);
}

/* The /proc/self/maps line of the mapping that holds @vaddr, if any. */
static bool find_vma(uint64_t vaddr, char *desc, size_t len)
{
	unsigned long long start, end;
	char line[512], perms[8];
	bool found = false;
	FILE *f;
	int n;

	f = fopen("/proc/self/maps", "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		n = 0;
		if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %n", &start, &end, perms, &n) < 3)
			continue;
		if (vaddr < start || vaddr >= end)
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(desc, len, "%llx-%llx %s %s", start, end, perms,
			 n && line[n] ? line + n : "[anonymous]");
		found = true;
	}
	fclose(f);
	return found;
}

static int explain_efault(struct iommufd_ctx *ctx, int err, uint32_t ioas_id, uint64_t vaddr,
			  uint64_t length, const char *what)
{
	char vma[400];

	if (!vaddr || !find_vma(vaddr, vma, sizeof(vma)))
		return iommufd_fail(ctx, err,
				    "IOAS %u: %s: 0x%" PRIx64 "-0x%" PRIx64 " is not mapped in this "
				    "process", ioas_id, what, vaddr, vaddr + length - 1);
	return iommufd_fail(ctx, err,
			    "IOAS %u: %s: memory 0x%" PRIx64 "-0x%" PRIx64 " cannot be pinned: it "
			    "is partly unmapped, or device memory (a PFNMAP/IO mapping such as a "
			    "VFIO BAR, which iommufd cannot pin); it starts in %s", ioas_id, what,
			    vaddr, vaddr + length - 1, vma);
}

static int explain_eexist(struct iommufd_ctx *ctx, int err, uint32_t ioas_id, uint64_t iova,
			  uint64_t length, const char *what)
{
	uint64_t fi, fl, fv;

	if (!iommufd_record_find(ctx, ioas_id, iova, iova + length - 1, &fi, &fl, &fv))
		return iommufd_fail(ctx, err,
				    "IOAS %u: %s at IOVA 0x%" PRIx64 "-0x%" PRIx64 " overlaps an "
				    "existing mapping (not made through this context)", ioas_id,
				    what, iova, iova + length - 1);
	if (fv)
		return iommufd_fail(ctx, err,
				    "IOAS %u: %s at IOVA 0x%" PRIx64 "-0x%" PRIx64 " overlaps the "
				    "existing mapping 0x%" PRIx64 "-0x%" PRIx64 " (of memory at 0x%"
				    PRIx64 ")", ioas_id, what, iova, iova + length - 1, fi, fl, fv);
	return iommufd_fail(ctx, err,
			    "IOAS %u: %s at IOVA 0x%" PRIx64 "-0x%" PRIx64 " overlaps the existing "
			    "mapping 0x%" PRIx64 "-0x%" PRIx64, ioas_id, what, iova,
			    iova + length - 1, fi, fl);
}

int iommufd_explain_map(struct iommufd_ctx *ctx, int err, uint32_t ioas_id, uint64_t vaddr,
			uint64_t length, uint64_t iova, unsigned int flags, const char *what)
{
	switch (err) {
	case -EINVAL:
		return explain_einval(ctx, err, ioas_id, vaddr, length, iova, flags, what);
	case -EEXIST:
		return explain_eexist(ctx, err, ioas_id, iova, length, what);
	case -ENOENT:
		return iommufd_fail(ctx, err, "no IOAS with ID %u", ioas_id);
	case -ENOSPC:
		return iommufd_fail(ctx, err,
				    "IOAS %u: %s: no free IOVA range of 0x%" PRIx64 " bytes is left "
				    "in the allowed ranges", ioas_id, what, length);
	case -ENOMEM:
		return explain_enomem(ctx, err, ioas_id, length, what);
	case -EFAULT:
		return explain_efault(ctx, err, ioas_id, vaddr, length, what);
	case -EOVERFLOW:
		return iommufd_fail(ctx, err,
				    "IOAS %u: %s: IOVA 0x%" PRIx64 " + length 0x%" PRIx64
				    " overflows", ioas_id, what, iova, length);
	default: {
		char msg[64];

		snprintf(msg, sizeof(msg), "IOAS %u: %s", ioas_id, what);
		return iommufd_fail_errno(ctx, err, msg);
	}
	}
}
