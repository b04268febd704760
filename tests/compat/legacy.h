/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the legacy test programs share: the transcript format and the plain
 * type1 calls, written as programs in the wild write them (<linux/vfio.h>
 * only, no project headers). Each program includes it once.
 */
#ifndef TESTS_COMPAT_LEGACY_H
#define TESTS_COMPAT_LEGACY_H

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/vfio.h>

#define PAGE 4096
#define T(fmt, ...) printf("T " fmt "\n", ##__VA_ARGS__)
/* Call first, then print: arguments are evaluated in no fixed order. */
#define T_UNMAP(what, ...)                                                              \
	do {                                                                            \
		uint64_t done_ = 0;                                                     \
		const char *r_ = res(unmap(__VA_ARGS__, &done_));                       \
		T("%s: %s size=0x%llx", what, r_, (unsigned long long)done_);           \
	} while (0)

static __attribute__((unused)) int container, group, device;
static __attribute__((unused)) uint64_t bar0_off, config_off;

/* ret and errno of a call, as "ret=-1 EINVAL" or "ret=0". */
static inline const char *res(int r)
{
	static char buf[64];

	if (r < 0)
		snprintf(buf, sizeof(buf), "ret=-1 %s", strerrorname_np(errno));
	else
		snprintf(buf, sizeof(buf), "ret=%d", r);
	return buf;
}

static inline int map(uint64_t iova, void *vaddr, uint64_t size, uint32_t flags, uint32_t argsz)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = argsz ? argsz : sizeof(m), .flags = flags, .vaddr = (uintptr_t)vaddr,
		.iova = iova, .size = size,
	};

	return ioctl(container, VFIO_IOMMU_MAP_DMA, &m);
}

static inline int unmap(uint64_t iova, uint64_t size, uint32_t flags, uint64_t *done)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .flags = flags, .iova = iova, .size = size,
	};
	int r = ioctl(container, VFIO_IOMMU_UNMAP_DMA, &u);

	*done = u.size;
	return r;
}

#define RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

static inline void reg_write(uint64_t reg, uint64_t v)
{
	if (pwrite(device, &v, 8, bar0_off + reg) != 8)
		T("bar0 write 0x%llx failed: %s", (unsigned long long)reg, strerror(errno));
}

static inline uint32_t reg_read(uint64_t reg)
{
	uint32_t v = 0;

	if (pread(device, &v, 4, bar0_off + reg) != 4)
		T("bar0 read 0x%llx failed: %s", (unsigned long long)reg, strerror(errno));
	return v;
}

/* One edu DMA, polled to completion. */
static inline void edu_dma(uint64_t src, uint64_t dst, uint64_t count, uint64_t cmd)
{
	reg_write(0x80, src);
	reg_write(0x88, dst);
	reg_write(0x90, count);
	reg_write(0x98, cmd | 1);
	for (int i = 0; i < 500 && (reg_read(0x98) & 1); i++)
		usleep(10000);
}

/* Does a RAM -> device -> RAM round trip through @iova land in @buf? */
static inline bool roundtrip(uint8_t *buf, uint64_t iova, uint8_t pat)
{
	memset(buf, pat, 256);
	edu_dma(iova, 0x40000, 256, 0);
	memset(buf, 0, 256);
	edu_dma(0x40000, iova, 256, 2);
	for (int i = 0; i < 256; i++)
		if (buf[i] != pat)
			return false;
	return true;
}

static inline void print_info(void)
{
	struct vfio_iommu_type1_info small = { .argsz = sizeof(small) }, *info;
	struct vfio_info_cap_header *h;
	int r;

	r = ioctl(container, VFIO_IOMMU_GET_INFO, &small);
	T("get_info(argsz=%zu): %s flags=0x%x argsz_needed=%s pgsizes=0x%llx", sizeof(small),
	  res(r), small.flags, small.argsz > sizeof(small) ? "more" : "same",
	  (unsigned long long)small.iova_pgsizes);
	info = calloc(1, small.argsz);
	info->argsz = small.argsz;
	r = ioctl(container, VFIO_IOMMU_GET_INFO, info);
	T("get_info(full): %s flags=0x%x cap_offset=%u argsz=%u", res(r), info->flags,
	  info->cap_offset, info->argsz);
	for (uint32_t off = info->cap_offset; off; off = h->next) {
		h = (void *)((char *)info + off);
		T("  cap id=%u version=%u at offset %u", h->id, h->version, off);
		if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
			struct vfio_iommu_type1_info_cap_iova_range *c = (void *)h;

			for (uint32_t i = 0; i < c->nr_iovas; i++)
				T("    iova range 0x%llx-0x%llx",
				  (unsigned long long)c->iova_ranges[i].start,
				  (unsigned long long)c->iova_ranges[i].end);
		} else if (h->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
			T("    dma avail %u", ((struct vfio_iommu_type1_info_dma_avail *)h)->avail);
		} else if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION) {
			struct vfio_iommu_type1_info_cap_migration *c = (void *)h;

			T("    migration flags=0x%x pgsize=0x%llx max_bitmap=0x%llx", c->flags,
			  (unsigned long long)c->pgsize_bitmap,
			  (unsigned long long)c->max_dirty_bitmap_size);
		}
	}
	free(info);
}

static inline int find_edu(char *bdf, size_t len)
{
	char path[300], id[32];
	struct dirent *de;
	DIR *d = opendir("/sys/bus/pci/devices");
	FILE *f;

	while (d && (de = readdir(d))) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(id, sizeof(id), f) && !strncmp(id, "0x11e8", 6)) {
			snprintf(bdf, len, "%s", de->d_name);
			fclose(f);
			closedir(d);
			return 0;
		}
		fclose(f);
	}
	if (d)
		closedir(d);
	return -1;
}

/* The edu device's BDF into @bdf and its IOMMU group, or -1. */
static inline int find_edu_group(char *bdf, size_t len)
{
	char path[300], link[300];
	ssize_t n;

	if (find_edu(bdf, len) < 0)
		return -1;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -1;
	link[n] = '\0';
	return atoi(strrchr(link, '/') + 1);
}

/* fds over a unix socket, as multi-process frameworks hand them out. */
static inline int send_fds(int sock, const int *fds, int n)
{
	char data = 'f', ctl[CMSG_SPACE(4 * sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			      .msg_controllen = CMSG_SPACE(n * sizeof(int)) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static inline int recv_fds(int sock, int *fds, int n)
{
	char data, ctl[CMSG_SPACE(4 * sizeof(int))];
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			      .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm;

	if (recvmsg(sock, &msg, 0) != 1 || !(cm = CMSG_FIRSTHDR(&msg)) ||
	    cm->cmsg_len != CMSG_LEN(n * sizeof(int)))
		return -1;
	memcpy(fds, CMSG_DATA(cm), n * sizeof(int));
	return 0;
}

#endif
