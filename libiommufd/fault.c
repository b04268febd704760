// SPDX-License-Identifier: LGPL-2.1-or-later
/* I/O page fault queues: allocate, read faults, respond. */
#include "internal.h"

IOMMUFD_API int iommufd_fault_queue_alloc(struct iommufd_ctx *ctx, uint32_t *fault_id,
					  int *fault_fd)
{
	struct iommu_fault_alloc cmd = {
		.size = (uint32_t)offsetofend(struct iommu_fault_alloc, out_fault_fd),
	};
	int r;

	check_ctx(ctx);
	check_arg(fault_id);
	check_arg(fault_fd);
	if (!iommufd_ctx_has(ctx, IOMMUFD_FEAT_FAULT_QUEUE_ALLOC))
		return iommufd_fail(ctx, -EOPNOTSUPP, "fault queues need Linux 6.11 or later");
	r = xioctl(ctx->fd, IOMMU_FAULT_QUEUE_ALLOC, &cmd);
	if (r < 0)
		return iommufd_fail_errno(ctx, r, "IOMMU_FAULT_QUEUE_ALLOC");
	*fault_id = cmd.out_fault_id;
	*fault_fd = cmd.out_fault_fd;
	return 0;
}

IOMMUFD_API int iommufd_fault_read(int fault_fd, struct iommufd_pgfault *faults, size_t max)
{
	struct iommu_hwpt_pgfault buf[16];
	size_t want;
	ssize_t n;

	check_arg(fault_fd >= 0);
	check_arg(faults || !max);
	want = max < ARRAY_SIZE(buf) ? max : ARRAY_SIZE(buf);
	if (!want)
		return 0;
	/* The kernel hands out whole fault groups: the read may return fewer. */
	do
		n = read(fault_fd, buf, want * sizeof(buf[0]));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN)
			return 0;
		return iommufd_fail(NULL, -errno, "reading fault queue fd %d: %s", fault_fd,
				    strerror(errno));
	}
	n /= sizeof(buf[0]);
	for (ssize_t i = 0; i < n; i++)
		faults[i] = (struct iommufd_pgfault){
			.flags = buf[i].flags, .dev_id = buf[i].dev_id, .pasid = buf[i].pasid,
			.grpid = buf[i].grpid, .perm = buf[i].perm, .addr = buf[i].addr,
			.length = buf[i].length, .cookie = buf[i].cookie,
		};
	return (int)n;
}

IOMMUFD_API int iommufd_fault_respond(int fault_fd, uint32_t cookie,
				      enum iommufd_fault_response code)
{
	struct iommu_hwpt_page_response resp = { .cookie = cookie, .code = code };
	ssize_t n;

	check_arg(fault_fd >= 0);
	check_arg(code == IOMMUFD_FAULT_RESP_SUCCESS || code == IOMMUFD_FAULT_RESP_INVALID);
	do
		n = write(fault_fd, &resp, sizeof(resp));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return iommufd_fail(NULL, -errno,
				    "responding to fault cookie %u: %s (no such pending group?)",
				    cookie, strerror(errno));
	return 0;
}
