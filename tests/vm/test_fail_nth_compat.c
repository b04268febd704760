// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The compat shim's legacy calls, each with its kernel and userspace
 * failure points made to fail in turn (fail_nth.h): opening the container
 * and the group, VFIO_GROUP_SET_CONTAINER, VFIO_SET_IOMMU, getting the
 * device fd, VFIO_IOMMU_MAP_DMA and VFIO_IOMMU_UNMAP_DMA, driven in this
 * process through libiommufd-compat.so (the program runs itself again with
 * it preloaded and IOMMUFD_COMPAT=force). A failed legacy call must return
 * -1 with an errno, leave the shim's tables, the kernel's mappings and pins
 * and the process's fds as they were, and the next call must work.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/vfio.h>

#include "edu.h"
#include "fail_nth.h"
#include "harness.h"

#define PAGE 4096ULL
#define LEN (64 * PAGE)
#define X 0x100000ULL
#define RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

struct legacy {
	char bdf[32], gpath[64];
	int container, group, device;
	uint8_t *buf;
	bool mapped;
	int err;			/* errno of the last failed call */
	char why[64];
};

/* A legacy call's result as the sweep wants it: -errno, kept for the explanation. */
static int legacy_ret(struct legacy *l, int r)
{
	if (r >= 0)
		return r;
	l->err = errno;
	return errno ? -errno : -EPROTO;	/* -1 with no errno: misreported */
}

/* The legacy API's explanation is its errno: there must be one. */
static const char *explain(void *p)
{
	struct legacy *l = p;

	if (!l->err)
		return "";
	snprintf(l->why, sizeof(l->why), "errno %s", strerrorname_np(l->err));
	return l->why;
}

static int map(struct legacy *l, uint64_t iova, void *va, uint64_t len)
{
	struct vfio_iommu_type1_dma_map m = { .argsz = sizeof(m), .flags = RW,
					      .vaddr = (uintptr_t)va, .iova = iova, .size = len };

	return ioctl(l->container, VFIO_IOMMU_MAP_DMA, &m);
}

static int unmap(struct legacy *l, uint64_t iova, uint64_t len, uint32_t flags, uint64_t *done)
{
	struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .flags = flags, .iova = iova,
						.size = len };
	int r = ioctl(l->container, VFIO_IOMMU_UNMAP_DMA, &u);

	if (done)
		*done = u.size;
	return r;
}

/* What the shim and the kernel show: group status, the container's info, X mapped or not. */
static void st_legacy(void *p, struct fn_state *st)
{
	struct legacy *l = p;
	struct vfio_group_status gs = { .argsz = sizeof(gs) };

	fn_state_process(st);
	fn_printf(st, "container %s, group %s, device %s\n", l->container >= 0 ? "open" : "-",
		  l->group >= 0 ? "open" : "-", l->device >= 0 ? "open" : "-");
	if (l->group >= 0 && !ioctl(l->group, VFIO_GROUP_GET_STATUS, &gs))
		fn_printf(st, "group flags 0x%x\n", gs.flags);
	if (l->container >= 0) {
		struct {
			struct vfio_iommu_type1_info info;
			uint8_t caps[1024];
		} in = { .info.argsz = sizeof(in) };
		int r = ioctl(l->container, VFIO_IOMMU_GET_INFO, &in);

		fn_printf(st, "iommu info: %s", r ? strerrorname_np(errno) : "");
		for (uint32_t off = r ? 0 : in.info.cap_offset; off && off < sizeof(in);) {
			struct vfio_info_cap_header *h = (void *)((uint8_t *)&in + off);

			if (h->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL)
				fn_printf(st, " dma avail %u",
					  ((struct vfio_iommu_type1_info_dma_avail *)h)->avail);
			off = h->next;
		}
		fn_printf(st, "\n");
		/* X mapped? A map of one page there says, and is undone. */
		if (!r) {
			int m = map(l, X, l->buf + LEN, PAGE);

			fn_printf(st, "0x%llx: %s\n", X, m ? strerrorname_np(errno) : "free");
			if (!m)
				unmap(l, X, PAGE, 0, NULL);
		}
	}
}

static void close_all(struct legacy *l)
{
	if (l->device >= 0)
		close(l->device);
	if (l->group >= 0)
		close(l->group);
	if (l->container >= 0)
		close(l->container);
	l->device = l->group = l->container = -1;
	l->mapped = false;
}

static int call_open_container(void *p)
{
	struct legacy *l = p;

	l->err = 0;
	l->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	return legacy_ret(l, l->container);
}

static int call_open_group(void *p)
{
	struct legacy *l = p;

	l->err = 0;
	l->group = open(l->gpath, O_RDWR | O_CLOEXEC);
	return legacy_ret(l, l->group);
}

static void td_close(void *p)
{
	close_all(p);
}

static int setup_both(void *p)
{
	struct legacy *l = p;

	if (call_open_container(p) < 0 || call_open_group(p) < 0)
		return -l->err;
	return 0;
}

static int call_set_container(void *p)
{
	struct legacy *l = p;

	l->err = 0;
	return legacy_ret(l, ioctl(l->group, VFIO_GROUP_SET_CONTAINER, &l->container));
}

static int setup_set(void *p)
{
	int r = setup_both(p);

	return r ? r : call_set_container(p);
}

static int call_set_iommu(void *p)
{
	struct legacy *l = p;

	l->err = 0;
	return legacy_ret(l, ioctl(l->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
}

static int setup_iommu(void *p)
{
	int r = setup_set(p);

	return r ? r : call_set_iommu(p);
}

static int call_get_device(void *p)
{
	struct legacy *l = p;

	l->err = 0;
	l->device = ioctl(l->group, VFIO_GROUP_GET_DEVICE_FD, l->bdf);
	return legacy_ret(l, l->device);
}

static int call_map(void *p)
{
	struct legacy *l = p;
	int r;

	l->err = 0;
	r = legacy_ret(l, map(l, X, l->buf, LEN));
	l->mapped = !r;
	return r;
}

static void td_unmap(void *p)
{
	struct legacy *l = p;

	if (l->mapped)
		unmap(l, X, LEN, 0, NULL);
	l->mapped = false;
}

static int setup_mapped(void *p)
{
	return call_map(p);
}

static int call_unmap(void *p)
{
	struct legacy *l = p;
	uint64_t done = 0;
	int r;

	l->err = 0;
	r = legacy_ret(l, unmap(l, X, LEN, 0, &done));
	if (!r && done != LEN)
		return -EIO;
	if (!r)
		l->mapped = false;
	return r;
}

static int call_unmap_all(void *p)
{
	struct legacy *l = p;
	uint64_t done = 0;
	int r;

	l->err = 0;
	r = legacy_ret(l, unmap(l, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &done));
	if (!r && done != LEN)
		return -EIO;
	if (!r)
		l->mapped = false;
	return r;
}

static int call_get_info(void *p)
{
	struct legacy *l = p;
	struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };

	l->err = 0;
	return legacy_ret(l, ioctl(l->container, VFIO_IOMMU_GET_INFO, &info));
}

static int env_open(struct legacy *l)
{
	char link[PATH_MAX], path[128];
	ssize_t n;

	memset(l, 0, sizeof(*l));
	l->container = l->group = l->device = -1;
	if (edu_find(l->bdf, sizeof(l->bdf)) < 0)
		return -ENODEV;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", l->bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return -ENXIO;
	link[n] = '\0';
	snprintf(l->gpath, sizeof(l->gpath), "/dev/vfio/%s", basename(link));
	l->buf = mmap(NULL, LEN + PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (l->buf == MAP_FAILED)
		return -errno;
	memset(l->buf, 0x5a, LEN + PAGE);
	return 0;
}

static void env_close(struct legacy *l)
{
	close_all(l);
	if (l->buf && l->buf != MAP_FAILED)
		munmap(l->buf, LEN + PAGE);
}

/* Problems found and reported to the shim's owner, not fixed yet (Documentation/testing.md). */
#define ENV_OPEN(l)                                                                      \
	do {                                                                             \
		int r_;                                                                  \
		alarm(900);                                                              \
		if (!getenv("IOMMUFD_COMPAT"))                                           \
			SKIP(return, "the shim is not preloaded (AddressSanitizer build)"); \
		r_ = fn_kernel_setup();                                                  \
		if (r_ < 0)                                                              \
			SKIP(return, "%s", r_ == -EOPNOTSUPP ?                           \
			     "the sweeps need the plain build (AddressSanitizer)" :             \
			     "no kernel fault injection");    \
		r_ = env_open(l);                                                        \
		if (r_ == -ENODEV || r_ == -ENXIO) {                                     \
			env_close(l);                                                    \
			SKIP(return, "no edu device behind an IOMMU");                   \
		}                                                                        \
		ASSERT_OK(r_);                                                           \
	} while (0)

#define SWEEP(...)                                                                       \
	do {                                                                             \
		struct fn_case c_ = { .explain = explain, __VA_ARGS__ };                 \
		struct fn_result res_;                                                   \
		ASSERT_OK(fn_sweep_both(&c_, &res_));                                    \
		EXPECT_EQ(res_.leaks, 0);                                                \
		EXPECT_EQ(res_.bad, 0);                                                  \
	} while (0)

TEST(container_and_group)
{
	struct legacy l;

	ENV_OPEN(&l);
	SWEEP(.name = "shim open(/dev/vfio/vfio)", .self = &l, .call = call_open_container,
	      .teardown = td_close, .state = st_legacy);
	SWEEP(.name = "shim open(/dev/vfio/GROUP)", .self = &l, .call = call_open_group,
	      .teardown = td_close, .state = st_legacy);
	SWEEP(.name = "shim VFIO_GROUP_SET_CONTAINER", .self = &l, .setup = setup_both,
	      .call = call_set_container, .teardown = td_close, .state = st_legacy);
	SWEEP(.name = "shim VFIO_SET_IOMMU", .self = &l, .setup = setup_set,
	      .call = call_set_iommu, .teardown = td_close, .state = st_legacy);
	SWEEP(.name = "shim VFIO_GROUP_GET_DEVICE_FD", .self = &l, .setup = setup_iommu,
	      .call = call_get_device, .teardown = td_close, .state = st_legacy);
	env_close(&l);
}

TEST(dma)
{
	struct legacy l;

	ENV_OPEN(&l);
	ASSERT_OK(setup_iommu(&l));
	SWEEP(.name = "shim VFIO_IOMMU_MAP_DMA", .self = &l, .call = call_map,
	      .teardown = td_unmap, .state = st_legacy, .nested = true);
	SWEEP(.name = "shim VFIO_IOMMU_UNMAP_DMA", .self = &l, .setup = setup_mapped,
	      .call = call_unmap, .teardown = td_unmap, .state = st_legacy, .nested = true);
	SWEEP(.name = "shim VFIO_IOMMU_UNMAP_DMA (all)", .self = &l, .setup = setup_mapped,
	      .call = call_unmap_all, .teardown = td_unmap, .state = st_legacy);
	SWEEP(.name = "shim VFIO_IOMMU_GET_INFO", .self = &l, .call = call_get_info,
	      .teardown = td_unmap, .state = st_legacy);
	env_close(&l);
}

/* Last: the program's totals, and nothing the kernel complained about. */
TEST(totals)
{
	if (fn_kernel_setup() == -EOPNOTSUPP)
		SKIP(return, "the sweeps need the plain build (AddressSanitizer)");
	fn_print_totals("compat shim");
	/* Whatever was failed, the kernel must not have complained. */
	EXPECT_EQ(fn_kernel_splats(), 0);
}

/* Run again with the shim preloaded, forced to emulate next to the kernel's own container. */
int main(int argc, char **argv)
{
#if !defined(__SANITIZE_ADDRESS__)
	char exe[PATH_MAX], shim[PATH_MAX + 32];
	ssize_t n;

	if (!getenv("IOMMUFD_COMPAT")) {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n > 0) {
			exe[n] = '\0';
			/* $(O)/tests/vm/PROGRAM -> $(O)/libiommufd-compat.so */
			snprintf(shim, sizeof(shim), "%s/../../libiommufd-compat.so", dirname(exe));
			setenv("LD_PRELOAD", shim, 1);
			setenv("IOMMUFD_COMPAT", "force", 1);
			execv("/proc/self/exe", argv);
			perror("execv");
			return 1;
		}
	}
#endif
	return th_main(argc, argv);
}
