// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Dirty page tracking for the emulated container. Native type1 has no IOMMU
 * dirty tracking: while tracking is on, it reports every pinned page dirty
 * (update_user_bitmap() in drivers/vfio/vfio_iommu_type1.c). iommufd can do
 * better where the IOMMU has dirty bits: at VFIO_IOMMU_DIRTY_PAGES_FLAG_START
 * the shim allocates a dirty-tracking HWPT on the container's IOAS, moves
 * every device onto it (attaching again replaces the domain atomically) and
 * reports what the IOMMU saw written. Where the IOMMU has no dirty bits, or a
 * device cannot join such a HWPT, the answer is type1's: every page dirty.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

#include "compat.h"

/*
 * The user's bitmap is read and written as the kernel's copy_{from,to}_user()
 * would: a bad pointer is EFAULT, not a crash of the program.
 */
static int user_copy(void *to, const void *from, size_t len, bool to_user)
{
	struct iovec mine = { .iov_base = to_user ? (void *)from : to, .iov_len = len };
	struct iovec theirs = { .iov_base = to_user ? to : (void *)from, .iov_len = len };
	ssize_t n = to_user ? process_vm_writev(getpid(), &mine, 1, &theirs, 1, 0)
			    : process_vm_readv(getpid(), &mine, 1, &theirs, 1, 0);

	return n == (ssize_t)len ? 0 : -EFAULT;
}

/* Attach @dev where the container's devices live: its dirty HWPT or its IOAS. */
int compat_dirty_attach(struct compat_container *c, struct iommufd_device *dev)
{
	c->dirty_hw_refused = false;	/* a new device: the answer may differ */
	if (c->dirty_hwpt_id) {
		if (!iommufd_device_attach(dev, c->dirty_hwpt_id))
			return 0;
		/* As type1 with a device that cannot report: everything dirty. */
		compat_trace("  device %u cannot join dirty-tracking HWPT %u: %s",
			     iommufd_device_id(dev), c->dirty_hwpt_id, iommufd_last_error());
		c->dirty_partial = true;
	}
	return iommufd_device_attach(dev, c->ioas_id);
}

/* Move every device of the container to @pt_id; on failure, back to @undo. */
static int move_devices(struct compat_container *c, uint32_t pt_id, uint32_t undo)
{
	for (int g = 0; g < c->nr_groups; g++) {
		struct compat_group *grp = c->groups[g];

		for (int i = 0; i < grp->nr_devices; i++) {
			int r;

			if (!grp->devs[i])
				continue;
			r = iommufd_device_attach(grp->devs[i], pt_id);
			if (!r)
				continue;
			/* Put back the ones already moved; the failing one did not move. */
			for (int h = 0; h <= g; h++)
				for (int j = 0; j < (h < g ? c->groups[h]->nr_devices : i); j++)
					if (c->groups[h]->devs[j])
						iommufd_device_attach(c->groups[h]->devs[j], undo);
			return r;
		}
	}
	return 0;
}

static struct iommufd_device *first_device(struct compat_container *c)
{
	for (int g = 0; g < c->nr_groups; g++)
		for (int i = 0; i < c->groups[g]->nr_devices; i++)
			if (c->groups[g]->devs[i])
				return c->groups[g]->devs[i];
	return NULL;
}

/* A dirty-tracking HWPT for every device, or 0 with the reason traced. */
static uint32_t setup_hwpt(struct compat_container *c)
{
	struct iommufd_hwpt_alloc_opts opts = {
		.sz = sizeof(opts), .flags = IOMMUFD_HWPT_DIRTY_TRACKING,
	};
	struct iommufd_device *dev = first_device(c);
	uint32_t hwpt;
	int r;

	if (!dev || c->dirty_hw_refused)
		return 0;
	r = iommufd_hwpt_alloc(c->ctx, iommufd_device_id(dev), c->ioas_id, &opts, &hwpt);
	if (!r) {
		r = move_devices(c, hwpt, c->ioas_id);
		if (r < 0)
			iommufd_destroy(c->ctx, hwpt);
	}
	if (r < 0) {
		compat_trace("  no IOMMU dirty tracking (%s): every mapped page reported dirty, "
			     "as type1 does", iommufd_last_error());
		c->dirty_hw_refused = true;
		return 0;
	}
	compat_trace("  -> IOMMU_HWPT_ALLOC(DIRTY_TRACKING) = HWPT %u, devices moved onto it",
		     hwpt);
	return hwpt;
}

static bool hw_dirty(const struct compat_container *c)
{
	return c->dirty_hwpt_id && !c->dirty_partial;
}

int compat_dirty_start(struct compat_container *c)
{
	int r;

	if (c->dirty_tracking)
		return 0;
	if (!c->dirty_hwpt_id)
		c->dirty_hwpt_id = setup_hwpt(c);
	if (hw_dirty(c)) {
		/* Enabling clears what the IOMMU saw before: dirty from now on. */
		r = iommufd_hwpt_set_dirty_tracking(c->ctx, c->dirty_hwpt_id, true);
		if (r < 0) {
			compat_trace("  IOMMU_HWPT_SET_DIRTY_TRACKING failed: %s",
				     iommufd_last_error());
			return r;
		}
		compat_trace("  -> IOMMU_HWPT_SET_DIRTY_TRACKING HWPT %u on", c->dirty_hwpt_id);
	}
	c->dirty_tracking = true;
	return 0;
}

void compat_dirty_stop(struct compat_container *c)
{
	if (!c->dirty_tracking)
		return;
	if (hw_dirty(c))
		iommufd_hwpt_set_dirty_tracking(c->ctx, c->dirty_hwpt_id, false);
	c->dirty_tracking = false;
}

/* The last device left: type1 drops its domain, and tracking with it. */
void compat_dirty_release(struct compat_container *c)
{
	c->dirty_tracking = false;
	c->dirty_hw_refused = false;
	if (c->dirty_hwpt_id)
		iommufd_destroy(c->ctx, c->dirty_hwpt_id);
	c->dirty_hwpt_id = 0;
	c->dirty_partial = false;
}

/*
 * type1's update_user_bitmap(): the pages of the mapping [iova, iova + size)
 * into @user, whose bit 0 is @base_iova. The words covering the mapping are
 * written whole; when the mapping starts inside a word, type1 ORs that whole
 * word of the user's bitmap in (a neighbour's bits, or whatever was there).
 * Unlike type1, no bits carry over from an earlier report: type1 leaves the
 * bits it shifted past a mapping in its own buffer and reports them again.
 */
int compat_dirty_report(struct compat_container *c, uint64_t iova, uint64_t size,
			uint64_t base_iova, uint64_t pgsize, uint64_t *user)
{
	uint64_t nbits = size / pgsize, bit = (iova - base_iova) / pgsize;
	uint64_t word = bit / 64, shift = bit % 64, nwords = (nbits + shift + 63) / 64;
	uint64_t *bits = calloc(nwords + 1, sizeof(*bits));
	int r = 0;

	if (!bits)
		return -ENOMEM;
	if (hw_dirty(c)) {
		/* Read and clear, so the next report has only newer writes. */
		r = iommufd_hwpt_get_dirty_bitmap(c->ctx, c->dirty_hwpt_id, iova, size, pgsize,
						  bits, 0);
		if (r < 0) {
			free(bits);
			return r;
		}
	} else {
		for (uint64_t i = 0; i < nbits; i++)
			bits[i / 64] |= 1ULL << (i % 64);
	}
	if (shift) {
		uint64_t leftover;

		for (uint64_t i = nwords; i-- > 0;)
			bits[i] = bits[i] << shift | (i ? bits[i - 1] >> (64 - shift) : 0);
		r = user_copy(&leftover, user + word, sizeof(leftover), false);
		bits[0] |= leftover;
	}
	if (!r)
		r = user_copy(user + word, bits, nwords * sizeof(*bits), true);
	free(bits);
	return r;
}
