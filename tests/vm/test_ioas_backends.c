// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * One ioas API, three backends: iommufd and a legacy VFIO type1 container in
 * a guest with VT-d, VFIO's no-IOMMU mode in a guest without an IOMMU. Each
 * opens the edu device through ioas_open_device(), gets DMA memory, and has
 * the device DMA through the IOVA the backend gave.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/vfio.h>

#include "edu.h"
#include "harness.h"

#include <iommufd/ioas.h>

#define PAGE 4096ULL

FIXTURE(backend)
{
	struct ioas *ioas;
	int fd;
	uint64_t bar0;
};

FIXTURE_VARIANT(backend)
{
	enum ioas_backend_kind kind;
	const char *name;
	bool needs_iommu;
};

FIXTURE_VARIANT_ADD(backend, iommufd) { IOAS_BACKEND_IOMMUFD, "iommufd", true };
FIXTURE_VARIANT_ADD(backend, type1) { IOAS_BACKEND_TYPE1, "type1", true };
FIXTURE_VARIANT_ADD(backend, noiommu) { IOAS_BACKEND_NOIOMMU, "noiommu", false };

static void set_hugepages(const char *n)
{
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "w");

	if (f) {
		fputs(n, f);
		fclose(f);
	}
}

FIXTURE_SETUP(backend)
{
	IOAS_OPTS(ioas_open_opts, o, .backend = variant->kind,
		  .dma_limit = variant->needs_iommu ? 0xfffffff : 0);
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	const char *iommu = getenv("LIBIOMMUFD_VM_IOMMU");
	bool have_iommu = iommu && strcmp(iommu, "0");
	char bdf[32];
	uint16_t cmd;

	if (edu_find(bdf, sizeof(bdf)) < 0)
		SKIP(return, "no edu device");
	if (variant->needs_iommu != have_iommu)
		SKIP(return, "the %s backend needs a guest %s an IOMMU", variant->name,
		     variant->needs_iommu ? "with" : "without");
	ASSERT_OK(ioas_open_device(bdf, &o, &self->ioas, &self->fd));
	ASSERT_EQ(strcmp(ioas_backend_name(self->ioas), variant->name), 0);
	/* Bus mastering and BAR0's offset, through the plain VFIO device fd. */
	ASSERT_SYS(ioctl(self->fd, VFIO_DEVICE_GET_REGION_INFO, &ri));
	ASSERT_EQ(pread(self->fd, &cmd, 2, ri.offset + 4), 2);
	cmd |= 4;
	ASSERT_EQ(pwrite(self->fd, &cmd, 2, ri.offset + 4), 2);
	ri = (struct vfio_region_info){ .argsz = sizeof(ri), .index = VFIO_PCI_BAR0_REGION_INDEX };
	ASSERT_SYS(ioctl(self->fd, VFIO_DEVICE_GET_REGION_INFO, &ri));
	self->bar0 = ri.offset;
	set_hugepages("8");
}

FIXTURE_TEARDOWN(backend)
{
	ioas_free(self->ioas);
}

static void reg(int fd, uint64_t bar0, uint64_t off, uint64_t v)
{
	if (pwrite(fd, &v, 8, bar0 + off) != 8)
		perror("edu register");
}

/* A round trip through @iova with edu, polled: does the data come back? */
static bool roundtrip(int fd, uint64_t bar0, uint8_t *p, uint64_t iova, uint8_t pat)
{
	uint32_t st;

	for (int dir = 0; dir < 2; dir++) {
		if (dir)
			memset(p, 0, 256);
		else
			memset(p, pat, 256);
		reg(fd, bar0, EDU_REG_DMA_SRC, dir ? EDU_BUF_ADDR : iova);
		reg(fd, bar0, EDU_REG_DMA_DST, dir ? iova : EDU_BUF_ADDR);
		reg(fd, bar0, EDU_REG_DMA_COUNT, 256);
		reg(fd, bar0, EDU_REG_DMA_CMD, EDU_DMA_START | (dir ? EDU_DMA_TO_RAM : 0));
		for (int i = 0; i < 300; i++) {
			if (pread(fd, &st, 4, bar0 + EDU_REG_DMA_CMD) != 4 || !(st & 1))
				break;
			usleep(10000);
		}
	}
	for (int i = 0; i < 256; i++)
		if (p[i] != pat)
			return false;
	return true;
}

TEST_F(backend, dma_through_a_dma_buffer)
{
	/* Without an IOMMU, only hugetlb memory is contiguous past a page. */
	IOAS_OPTS(ioas_dma_opts, o, .flags = variant->kind == IOAS_BACKEND_NOIOMMU ?
						     IOAS_DMA_HUGE_2M : 0);
	struct ioas_dma_buf *b = NULL;
	uint64_t iova;

	ASSERT_OK(ioas_dma_alloc(self->ioas, 64 << 10, &o, &b));
	if (variant->needs_iommu)
		ASSERT_LE(b->iova + b->mapped - 1, 0xfffffff);
	ASSERT_OK(ioas_vaddr_to_iova(self->ioas, (char *)b->vaddr + 12288, &iova));
	ASSERT_EQ(iova, b->iova + 12288);
	ASSERT_TRUE(roundtrip(self->fd, self->bar0, (uint8_t *)b->vaddr + 12288, iova, 0x6b));
	ioas_dma_free(self->ioas, b);
}

TEST_F(backend, many_buffers_map_and_unmap)
{
	static uint8_t *bufs[64];
	static uint64_t iovas[64];

	if (!variant->needs_iommu)
		SKIP(return, "no-IOMMU buffers of one page only: see the next test");
	for (int i = 0; i < 64; i++) {
		bufs[i] = mmap(NULL, PAGE * (1 + i % 8), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(bufs[i], MAP_FAILED);
		ASSERT_OK(ioas_map(self->ioas, bufs[i], PAGE * (1 + i % 8), IOMMUFD_MAP_RW,
				   &iovas[i]));
	}
	ASSERT_TRUE(roundtrip(self->fd, self->bar0, bufs[33], iovas[33], 0x21));
	for (int i = 0; i < 64; i++) {
		ASSERT_OK(ioas_unmap(self->ioas, iovas[i]));
		munmap(bufs[i], PAGE * (1 + i % 8));
	}
}

/* Is [p, p + n pages) physically contiguous? Read from pagemap here, independently. */
static int contiguous(const void *p, int pages)
{
	uint64_t e, first = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	for (int i = 0; i < pages; i++) {
		if (pread(fd, &e, 8, ((uintptr_t)p / PAGE + i) * 8) != 8)
			return -1;
		e &= (1ULL << 55) - 1;
		if (!i)
			first = e;
		else if (e != first + i)
			break;
		if (i == pages - 1) {
			close(fd);
			return 1;
		}
	}
	close(fd);
	return 0;
}

TEST_F(backend, noiommu_physical_addresses)
{
	uint8_t *p;
	uint64_t iova;
	int c, r;

	if (variant->kind != IOAS_BACKEND_NOIOMMU)
		SKIP(return, "no-IOMMU only");
	/* One page: its physical address is the IOVA, and edu reaches it there. */
	p = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
		 -1, 0);
	ASSERT_NE(p, MAP_FAILED);
	ASSERT_OK(ioas_map(self->ioas, p, PAGE, IOMMUFD_MAP_RW, &iova));
	ASSERT_TRUE(roundtrip(self->fd, self->bar0, p, iova, 0x4d));
	ASSERT_OK(ioas_unmap(self->ioas, iova));
	/* Sixteen pages are accepted exactly when they are physically contiguous. */
	c = contiguous(p, 16);
	ASSERT_GE(c, 0);
	r = ioas_map(self->ioas, p, 16 * PAGE, IOMMUFD_MAP_RW, &iova);
	if (c) {
		ASSERT_OK(r);
		ASSERT_OK(ioas_unmap(self->ioas, iova));
	} else {
		ASSERT_EQ(r, -EINVAL);
		ASSERT_EXPLAINS("not physically contiguous");
	}
	/* Identity maps mean nothing without an IOMMU. */
	ASSERT_ERR(EOPNOTSUPP, ioas_map_identity(self->ioas, p, PAGE, IOMMUFD_MAP_RW));
	munmap(p, 16 * PAGE);
}

/*
 * IOAS_BACKEND chooses only when the program leaves the choice open: a
 * backend the program names stands.
 */
TEST(environment_only_for_the_automatic_choice)
{
	IOAS_OPTS(ioas_open_opts, o, .backend = IOAS_BACKEND_IOMMUFD);
	const char *iommu = getenv("LIBIOMMUFD_VM_IOMMU");
	struct ioas *ioas;
	char bdf[32];
	int fd;

	if (edu_find(bdf, sizeof(bdf)) < 0 || !iommu || !strcmp(iommu, "0"))
		SKIP(return, "needs edu behind an IOMMU");
	setenv("IOAS_BACKEND", "type1", 1);
	ASSERT_OK(ioas_open_device(bdf, &o, &ioas, &fd));
	EXPECT_EQ(strcmp(ioas_backend_name(ioas), "iommufd"), 0);
	ioas_free(ioas);
	o.backend = IOAS_BACKEND_AUTO;
	ASSERT_OK(ioas_open_device(bdf, &o, &ioas, &fd));
	EXPECT_EQ(strcmp(ioas_backend_name(ioas), "type1"), 0);
	ioas_free(ioas);
	unsetenv("IOAS_BACKEND");
	/* And without it, automatic: /dev/iommu exists, so iommufd. */
	ASSERT_OK(ioas_open_device(bdf, &o, &ioas, &fd));
	EXPECT_EQ(strcmp(ioas_backend_name(ioas), "iommufd"), 0);
	ioas_free(ioas);
	ASSERT_ERR(ENODEV, ioas_open_device("0000:00:03.0", &o, &ioas, &fd));
}

/*
 * Without an IOMMU the automatic choice is the no-IOMMU backend, although
 * /dev/iommu exists (for IOMMUFD_TEST); asked for type1, the device is
 * refused, never handed over unprotected.
 */
TEST(no_iommu_only_when_left_open)
{
	IOAS_OPTS(ioas_open_opts, o, .backend = IOAS_BACKEND_AUTO);
	const char *iommu = getenv("LIBIOMMUFD_VM_IOMMU");
	struct ioas *ioas;
	char bdf[32];
	int fd;

	if (edu_find(bdf, sizeof(bdf)) < 0 || !iommu || strcmp(iommu, "0"))
		SKIP(return, "needs edu without an IOMMU");
	unsetenv("IOAS_BACKEND");
	ASSERT_OK(ioas_open_device(bdf, &o, &ioas, &fd));
	EXPECT_EQ(strcmp(ioas_backend_name(ioas), "noiommu"), 0);
	ioas_free(ioas);
	o.backend = IOAS_BACKEND_TYPE1;
	ASSERT_ERR(ENODEV, ioas_open_device(bdf, &o, &ioas, &fd));
	ASSERT_EXPLAINS("the type1 backend needs an IOMMU");
}

TEST_HARNESS_MAIN
