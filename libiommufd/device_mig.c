// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * VFIO device migration: the flags, the state machine walked one arc at a
 * time, the data fd, the size estimate and pre-copy information.
 */
#include <stdio.h>

#include "device_feature.h"

enum { NSTATES = IOMMUFD_MIG_NR_STATES };

static const char *const state_names[NSTATES] = {
	[IOMMUFD_MIG_ERROR] = "ERROR",
	[IOMMUFD_MIG_STOP] = "STOP",
	[IOMMUFD_MIG_RUNNING] = "RUNNING",
	[IOMMUFD_MIG_STOP_COPY] = "STOP_COPY",
	[IOMMUFD_MIG_RESUMING] = "RESUMING",
	[IOMMUFD_MIG_RUNNING_P2P] = "RUNNING_P2P",
	[IOMMUFD_MIG_PRE_COPY] = "PRE_COPY",
	[IOMMUFD_MIG_PRE_COPY_P2P] = "PRE_COPY_P2P",
};

IOMMUFD_API const char *iommufd_mig_state_name(enum iommufd_mig_state state)
{
	return (unsigned int)state < NSTATES ? state_names[state] : "?";
}

/*
 * The kernel's table (drivers/vfio/vfio_main.c, vfio_mig_get_next_state()):
 * from [cur] towards [target], the next state. It encodes the arcs a driver
 * implements; walking it from state to state gives the combination
 * transitions. ERROR means the kernel refuses (STOP_COPY -> PRE_COPY*).
 */
#define S(x) IOMMUFD_MIG_##x
static const uint8_t next_table[NSTATES][NSTATES] = {
	[S(STOP)] = {
		[S(STOP)] = S(STOP), [S(RUNNING)] = S(RUNNING_P2P),
		[S(PRE_COPY)] = S(RUNNING_P2P), [S(PRE_COPY_P2P)] = S(RUNNING_P2P),
		[S(STOP_COPY)] = S(STOP_COPY), [S(RESUMING)] = S(RESUMING),
		[S(RUNNING_P2P)] = S(RUNNING_P2P), [S(ERROR)] = S(ERROR),
	},
	[S(RUNNING)] = {
		[S(STOP)] = S(RUNNING_P2P), [S(RUNNING)] = S(RUNNING),
		[S(PRE_COPY)] = S(PRE_COPY), [S(PRE_COPY_P2P)] = S(RUNNING_P2P),
		[S(STOP_COPY)] = S(RUNNING_P2P), [S(RESUMING)] = S(RUNNING_P2P),
		[S(RUNNING_P2P)] = S(RUNNING_P2P), [S(ERROR)] = S(ERROR),
	},
	[S(PRE_COPY)] = {
		[S(STOP)] = S(RUNNING), [S(RUNNING)] = S(RUNNING),
		[S(PRE_COPY)] = S(PRE_COPY), [S(PRE_COPY_P2P)] = S(PRE_COPY_P2P),
		[S(STOP_COPY)] = S(PRE_COPY_P2P), [S(RESUMING)] = S(RUNNING),
		[S(RUNNING_P2P)] = S(RUNNING), [S(ERROR)] = S(ERROR),
	},
	[S(PRE_COPY_P2P)] = {
		[S(STOP)] = S(RUNNING_P2P), [S(RUNNING)] = S(RUNNING_P2P),
		[S(PRE_COPY)] = S(PRE_COPY), [S(PRE_COPY_P2P)] = S(PRE_COPY_P2P),
		[S(STOP_COPY)] = S(STOP_COPY), [S(RESUMING)] = S(RUNNING_P2P),
		[S(RUNNING_P2P)] = S(RUNNING_P2P), [S(ERROR)] = S(ERROR),
	},
	[S(STOP_COPY)] = {
		[S(STOP)] = S(STOP), [S(RUNNING)] = S(STOP),
		[S(PRE_COPY)] = S(ERROR), [S(PRE_COPY_P2P)] = S(ERROR),
		[S(STOP_COPY)] = S(STOP_COPY), [S(RESUMING)] = S(STOP),
		[S(RUNNING_P2P)] = S(STOP), [S(ERROR)] = S(ERROR),
	},
	[S(RESUMING)] = {
		[S(STOP)] = S(STOP), [S(RUNNING)] = S(STOP),
		[S(PRE_COPY)] = S(STOP), [S(PRE_COPY_P2P)] = S(STOP),
		[S(STOP_COPY)] = S(STOP), [S(RESUMING)] = S(RESUMING),
		[S(RUNNING_P2P)] = S(STOP), [S(ERROR)] = S(ERROR),
	},
	[S(RUNNING_P2P)] = {
		[S(STOP)] = S(STOP), [S(RUNNING)] = S(RUNNING),
		[S(PRE_COPY)] = S(RUNNING), [S(PRE_COPY_P2P)] = S(PRE_COPY_P2P),
		[S(STOP_COPY)] = S(STOP), [S(RESUMING)] = S(STOP),
		[S(RUNNING_P2P)] = S(RUNNING_P2P), [S(ERROR)] = S(ERROR),
	},
	[S(ERROR)] = {
		[S(STOP)] = S(ERROR), [S(RUNNING)] = S(ERROR),
		[S(PRE_COPY)] = S(ERROR), [S(PRE_COPY_P2P)] = S(ERROR),
		[S(STOP_COPY)] = S(ERROR), [S(RESUMING)] = S(ERROR),
		[S(RUNNING_P2P)] = S(ERROR), [S(ERROR)] = S(ERROR),
	},
};

/* The migration flags a state needs (the kernel's state_flags_table). */
#define F(x) IOMMUFD_MIG_FLAG_##x
static const uint32_t state_needs[NSTATES] = {
	[S(STOP)] = F(STOP_COPY),
	[S(RUNNING)] = F(STOP_COPY),
	[S(PRE_COPY)] = F(STOP_COPY) | F(PRE_COPY),
	[S(PRE_COPY_P2P)] = F(STOP_COPY) | F(P2P) | F(PRE_COPY),
	[S(STOP_COPY)] = F(STOP_COPY),
	[S(RESUMING)] = F(STOP_COPY),
	[S(RUNNING_P2P)] = F(STOP_COPY) | F(P2P),
	[S(ERROR)] = ~0U,
};
#undef S
#undef F

static bool offered(uint32_t flags, unsigned int state)
{
	return state < NSTATES && (state_needs[state] & flags) == state_needs[state];
}

/* One step of vfio_mig_get_next_state(): states the flags leave out are skipped. */
static unsigned int next_state(uint32_t flags, unsigned int cur, unsigned int to)
{
	unsigned int next = next_table[cur][to];

	while (next != IOMMUFD_MIG_ERROR && !offered(flags, next))
		next = next_table[next][to];
	return next;
}

/* "STOP -> RUNNING_P2P, STOP -> STOP_COPY, ...": the single arcs that leave @from. */
static void arcs_from(uint32_t flags, unsigned int from, char *buf, size_t len)
{
	bool seen[NSTATES] = { false };
	size_t used = 0;
	unsigned int to;

	buf[0] = '\0';
	for (to = 0; to < NSTATES; to++) {
		unsigned int next;

		if (to == from || !offered(flags, to))
			continue;
		next = next_state(flags, from, to);
		if (next == IOMMUFD_MIG_ERROR || seen[next])
			continue;
		seen[next] = true;
		used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s -> %s",
					 used ? ", " : "", state_names[from], state_names[next]);
		if (used >= len)
			return;
	}
	if (!used)
		snprintf(buf, len, "none");
}

/* "STOP_COPY, P2P" */
static void flag_names(uint32_t flags, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s", flags & IOMMUFD_MIG_FLAG_STOP_COPY ? "STOP_COPY" : "",
		 flags & IOMMUFD_MIG_FLAG_P2P ? ", P2P" : "",
		 flags & IOMMUFD_MIG_FLAG_PRE_COPY ? ", PRE_COPY" : "",
		 flags & IOMMUFD_MIG_FLAG_STOP_COPY ? "" : "none");
}

/* The path, or -EINVAL explained against @ctx (may be NULL). */
static int mig_path(const struct iommufd_ctx *ctx, const char *who, uint32_t flags,
		    unsigned int from, unsigned int to, enum iommufd_mig_state *path,
		    size_t max)
{
	char arcs[256], fl[64];
	unsigned int cur = from;
	int n = 0;

	if (from >= NSTATES || to >= NSTATES)
		return iommufd_fail(ctx, -EINVAL, "%s: %u is not a migration state", who,
				    from >= NSTATES ? from : to);
	if (!(flags & IOMMUFD_MIG_FLAG_STOP_COPY))
		return iommufd_fail(ctx, -EINVAL,
				    "%s: migration flags 0x%x lack STOP_COPY, which every "
				    "migratable device has", who, flags);
	if (from == IOMMUFD_MIG_ERROR)
		return iommufd_fail(ctx, -EINVAL,
				    "%s is in the ERROR state: only a device reset leaves it "
				    "(back to RUNNING)", who);
	if (!offered(flags, from) || !offered(flags, to)) {
		flag_names(flags, fl, sizeof(fl));
		if (to == IOMMUFD_MIG_ERROR)
			return iommufd_fail(ctx, -EINVAL,
					    "%s: ERROR cannot be asked for: a device enters it "
					    "only when an arc fails", who);
		return iommufd_fail(ctx, -EINVAL, "%s has no %s state (its migration flags: %s)",
				    who, state_names[offered(flags, from) ? to : from], fl);
	}
	while (cur != to) {
		unsigned int next = next_state(flags, cur, to);

		if (next == IOMMUFD_MIG_ERROR) {
			arcs_from(flags, cur, arcs, sizeof(arcs));
			if (cur == from)
				return iommufd_fail(ctx, -EINVAL,
						    "%s: no arc leads from %s to %s; the arcs "
						    "from %s are: %s", who, state_names[from],
						    state_names[to], state_names[from], arcs);
			return iommufd_fail(ctx, -EINVAL,
					    "%s: no arc leads from %s to %s (stuck in %s on "
					    "the way; the arcs from %s are: %s)", who,
					    state_names[from], state_names[to],
					    state_names[cur], state_names[cur], arcs);
		}
		if ((size_t)n < max)
			path[n] = (enum iommufd_mig_state)next;
		n++;
		cur = next;
	}
	return n;
}

IOMMUFD_API int iommufd_mig_path(uint32_t flags, enum iommufd_mig_state from,
				 enum iommufd_mig_state to, enum iommufd_mig_state *path,
				 size_t max)
{
	check_arg(path || !max);
	return mig_path(NULL, "migration", flags, (unsigned int)from, (unsigned int)to, path,
			max);
}

static int not_migratable(struct iommufd_device *dev)
{
	return iommufd_fail(dev->ctx, -ENOTTY,
			    "%s cannot migrate: its VFIO driver has no migration support "
			    "(VFIO_DEVICE_FEATURE_MIGRATION)", iommufd_dev_label(dev));
}

IOMMUFD_API int iommufd_device_mig_flags(struct iommufd_device *dev, uint32_t *flags)
{
	struct vfio_device_feature_migration mig = { 0 };
	int r;

	check_arg(dev);
	check_arg(flags);
	r = iommufd_feature_ioctl(dev, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION,
				  &mig, sizeof(mig));
	if (r == -ENOTTY)
		return not_migratable(dev);
	if (r < 0)
		return iommufd_fail_errno(dev->ctx, r, "VFIO_DEVICE_FEATURE_MIGRATION");
	*flags = (uint32_t)mig.flags;
	return 0;
}

static int get_state(struct iommufd_device *dev, unsigned int *state)
{
	struct vfio_device_feature_mig_state st = { 0 };
	int r;

	r = iommufd_feature_ioctl(dev, VFIO_DEVICE_FEATURE_GET |
				  VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &st, sizeof(st));
	if (r < 0)
		return r;
	*state = st.device_state;
	return 0;
}

IOMMUFD_API int iommufd_device_mig_get_state(struct iommufd_device *dev,
					     enum iommufd_mig_state *state)
{
	unsigned int s;
	int r;

	check_arg(dev);
	check_arg(state);
	r = get_state(dev, &s);
	if (r == -ENOTTY)
		return not_migratable(dev);
	if (r < 0)
		return iommufd_fail_errno(dev->ctx, r, "VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE");
	*state = (enum iommufd_mig_state)s;
	return 0;
}

/* One arc: SET the state; the kernel's fd (or -1) in *fd. */
static int set_arc(struct iommufd_device *dev, unsigned int state, int *fd)
{
	struct vfio_device_feature_mig_state st = { .device_state = state, .data_fd = -1 };
	int r;

	r = iommufd_feature_ioctl(dev, VFIO_DEVICE_FEATURE_SET |
				  VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &st, sizeof(st));
	*fd = r < 0 ? -1 : st.data_fd;
	return r < 0 ? r : 0;
}

IOMMUFD_API int iommufd_device_mig_set_state(struct iommufd_device *dev,
					     enum iommufd_mig_state state, int *data_fd)
{
	enum iommufd_mig_state path[NSTATES];
	unsigned int from, now;
	bool rolled;
	uint32_t flags;
	int r, n, i, fd = -1;

	check_arg(dev);
	if (data_fd)
		*data_fd = -1;
	r = iommufd_device_mig_flags(dev, &flags);
	if (r < 0)
		return r;
	r = get_state(dev, &from);
	if (r < 0)
		return iommufd_fail_errno(dev->ctx, r, "VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE");
	n = mig_path(dev->ctx, iommufd_dev_label(dev), flags, from, (unsigned int)state, path,
		     ARRAY_SIZE(path));
	if (n < 0)
		return n;
	/* A path never revisits a state, so it fits; the kernel's are at most 4 arcs. */
	if ((size_t)n > ARRAY_SIZE(path))
		return iommufd_fail(dev->ctx, -EINVAL, "%s: a migration path of %d arcs",
				    iommufd_dev_label(dev), n);
	for (i = 0; i < n; i++) {
		int step_fd;

		r = set_arc(dev, path[i], &step_fd);
		if (r < 0)
			goto out_failed;
		/* Only arcs that open a session return an fd; the last one is the caller's. */
		if (step_fd >= 0) {
			if (fd >= 0)
				close(fd);
			fd = step_fd;
		}
	}
	if (data_fd)
		*data_fd = fd;
	else if (fd >= 0)
		close(fd);
	return 0;

out_failed:
	if (fd >= 0)
		close(fd);
	if (get_state(dev, &now) < 0)
		now = IOMMUFD_MIG_NR_STATES;
	/*
	 * Leave the device as it was where that means something: back to a
	 * state without a data session (RUNNING, RUNNING_P2P, STOP), along
	 * the arcs. A session once left cannot be had back, and ERROR only
	 * a reset leaves: then the device stays where it is, and says so.
	 */
	rolled = false;
	if (now < NSTATES && now != from && now != IOMMUFD_MIG_ERROR &&
	    (from == IOMMUFD_MIG_RUNNING || from == IOMMUFD_MIG_RUNNING_P2P ||
	     from == IOMMUFD_MIG_STOP)) {
		enum iommufd_mig_state back[NSTATES];
		int nb = mig_path(NULL, "", flags, now, from, back, ARRAY_SIZE(back));

		for (int k = 0; k >= 0 && k < nb && (size_t)nb <= ARRAY_SIZE(back); k++) {
			int back_fd;

			if (set_arc(dev, back[k], &back_fd) < 0)
				break;
			if (back_fd >= 0)
				close(back_fd);
		}
		if (get_state(dev, &now) < 0)
			now = IOMMUFD_MIG_NR_STATES;
		rolled = true;
	}
	return iommufd_fail(dev->ctx, r,
			    "%s: migration arc %s -> %s (step %d of %d from %s to %s) failed: %s%s; "
			    "the device is %s %s", iommufd_dev_label(dev),
			    iommufd_mig_state_name(i ? path[i - 1] : (enum iommufd_mig_state)from),
			    iommufd_mig_state_name(path[i]), i + 1, n,
			    iommufd_mig_state_name((enum iommufd_mig_state)from),
			    iommufd_mig_state_name(state), strerror(-r),
			    (i ? path[i - 1] : from) == IOMMUFD_MIG_RESUMING &&
			    path[i] == IOMMUFD_MIG_STOP ?
			    " (the driver refused the state written to the data fd: incomplete "
			    "or not from a compatible device)" : "",
			    now != from ? "now in" : rolled ? "back in" : "still in",
			    now < NSTATES ? state_names[now] : "an unknown state");
}

IOMMUFD_API int iommufd_device_mig_data_size(struct iommufd_device *dev, uint64_t *bytes)
{
	struct vfio_device_feature_mig_data_size sz = { 0 };
	int r;

	check_arg(dev);
	check_arg(bytes);
	r = iommufd_feature_ioctl(dev, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DATA_SIZE,
				  &sz, sizeof(sz));
	if (r == -ENOTTY)
		return not_migratable(dev);
	if (r < 0)
		return iommufd_fail_errno(dev->ctx, r, "VFIO_DEVICE_FEATURE_MIG_DATA_SIZE");
	*bytes = sz.stop_copy_length;
	return 0;
}

IOMMUFD_API int iommufd_device_mig_precopy_info(struct iommufd_device *dev, int data_fd,
						uint64_t *initial_bytes, uint64_t *dirty_bytes)
{
	struct vfio_precopy_info info = { .argsz = sizeof(info) };
	int r;

	check_arg(dev);
	check_arg(data_fd >= 0);
	r = xioctl(data_fd, VFIO_MIG_GET_PRECOPY_INFO, &info);
	if (r == -ENOTTY)
		return iommufd_fail(dev->ctx, r,
				    "fd %d is not a pre-copy migration data fd of %s (one opened "
				    "by entering PRE_COPY or PRE_COPY_P2P)", data_fd,
				    iommufd_dev_label(dev));
	if (r == -EINVAL)
		return iommufd_fail(dev->ctx, r,
				    "%s: pre-copy information is only given in PRE_COPY or "
				    "PRE_COPY_P2P", iommufd_dev_label(dev));
	if (r < 0)
		return iommufd_fail_errno(dev->ctx, r, "VFIO_MIG_GET_PRECOPY_INFO");
	if (initial_bytes)
		*initial_bytes = info.initial_bytes;
	if (dirty_bytes)
		*dirty_bytes = info.dirty_bytes;
	return 0;
}
