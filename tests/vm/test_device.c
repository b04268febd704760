// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The VFIO cdev device API against the real edu device behind the emulated
 * VT-d: lookup, bind, attach/replace/detach with DMA proving where it lands,
 * regions, BAR mmap, config space, interrupts, resets, hardware info and
 * the explanations of each refusal.
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <linux/vfio.h>

#include "edu.h"
#include "harness.h"

#define PAGE 4096ULL

FIXTURE(dev)
{
	char bdf[32];
	struct iommufd_ctx *ctx;
	struct iommufd_device *dev;
	uint32_t ioas_id;
	uint8_t *buf;
};

FIXTURE_SETUP(dev)
{
	self->buf = MAP_FAILED;
	if (edu_find(self->bdf, sizeof(self->bdf)) < 0)
		SKIP(return, "no edu device");
	if (access("/sys/class/iommu", F_OK) || !getenv("LIBIOMMUFD_VM_IOMMU") ||
	    !strcmp(getenv("LIBIOMMUFD_VM_IOMMU"), "0"))
		SKIP(return, "guest booted without an IOMMU");
	ASSERT_OK(iommufd_ctx_open(NULL, &self->ctx));
	ASSERT_OK(iommufd_device_open(self->ctx, self->bdf, &self->dev));
	ASSERT_OK(iommufd_ioas_alloc(self->ctx, &self->ioas_id));
	self->buf = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	ASSERT_NE(self->buf, MAP_FAILED);
}

FIXTURE_TEARDOWN(dev)
{
	if (self->buf != MAP_FAILED)
		munmap(self->buf, 4 * PAGE);
	iommufd_device_close(self->dev);
	iommufd_ctx_unref(self->ctx);
}

TEST_F(dev, cdev_lookup)
{
	char path[256], want[512];
	struct stat st;
	unsigned int maj, min;
	FILE *f;

	ASSERT_OK(iommufd_device_cdev_path(self->bdf, path, sizeof(path)));
	ASSERT_EQ(strncmp(path, "/dev/vfio/devices/vfio", 22), 0);
	/* It is the node sysfs names. */
	snprintf(want, sizeof(want), "/sys/bus/pci/devices/%s/vfio-dev/%s/dev", self->bdf,
		 path + 18);
	f = fopen(want, "r");
	ASSERT_TRUE(f != NULL);
	ASSERT_EQ(fscanf(f, "%u:%u", &maj, &min), 2);
	fclose(f);
	ASSERT_SYS(stat(path, &st));
	ASSERT_EQ(major(st.st_rdev), maj);
	ASSERT_EQ(minor(st.st_rdev), min);
	/* Short form, and a device on a host driver. */
	ASSERT_OK(iommufd_device_cdev_path(self->bdf + 5, path, sizeof(path)));
	ASSERT_ERR(ENODEV, iommufd_device_cdev_path("0000:00:03.0", path, sizeof(path)));
	ASSERT_EXPLAINS("bound to e1000e, not vfio-pci");
	EXPECT_EQ(strcmp(iommufd_device_name(self->dev), self->bdf), 0);
	EXPECT_TRUE(iommufd_device_id(self->dev) > 0);
}

TEST_F(dev, open_twice_and_by_path)
{
	struct iommufd_device *again = NULL;
	char path[256];

	/* The cdev takes one open per bind. */
	ASSERT_OK(iommufd_device_cdev_path(self->bdf, path, sizeof(path)));
	ASSERT_TRUE(iommufd_device_open(self->ctx, path, &again) < 0);
	iommufd_device_close(self->dev);
	self->dev = NULL;
	ASSERT_OK(iommufd_device_open(self->ctx, path, &self->dev));
	EXPECT_EQ(strcmp(iommufd_device_name(self->dev), self->bdf), 0);
}

TEST_F(dev, attach_replace_detach)
{
	uint64_t iova = 0x300000, iova2 = 0x500000;
	uint32_t ioas2;

	ASSERT_EQ(iommufd_device_pt_id(self->dev), 0);
	ASSERT_OK(iommufd_device_attach(self->dev, self->ioas_id));
	ASSERT_EQ(iommufd_device_pt_id(self->dev), self->ioas_id);
	ASSERT_OK(iommufd_device_set_bus_master(self->dev, true));
	ASSERT_OK(iommufd_ioas_map(self->ctx, self->ioas_id, self->buf, PAGE, &iova,
				   IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA));
	ASSERT_TRUE(edu_roundtrip(self->dev, self->buf, iova, 64, 0x11));

	/* Replace: the second IOAS maps the buffer elsewhere; only that IOVA works now. */
	ASSERT_OK(iommufd_ioas_alloc(self->ctx, &ioas2));
	ASSERT_OK(iommufd_ioas_map(self->ctx, ioas2, self->buf, PAGE, &iova2,
				   IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA));
	ASSERT_OK(iommufd_device_attach(self->dev, ioas2));
	ASSERT_EQ(iommufd_device_pt_id(self->dev), ioas2);
	ASSERT_TRUE(edu_roundtrip(self->dev, self->buf, iova2, 64, 0x22));
	ASSERT_FALSE(edu_roundtrip(self->dev, self->buf, iova, 64, 0x33));
	/* The first IOAS is free to go now, the second is not. */
	ASSERT_ERR(EBUSY, iommufd_destroy(self->ctx, ioas2));

	ASSERT_OK(iommufd_device_detach(self->dev));
	ASSERT_EQ(iommufd_device_pt_id(self->dev), 0);
	ASSERT_FALSE(edu_roundtrip(self->dev, self->buf, iova2, 64, 0x44));
	ASSERT_OK(iommufd_destroy(self->ctx, ioas2));

	ASSERT_ERR(ENOENT, iommufd_device_attach(self->dev, 9999));
	ASSERT_EXPLAINS("no IOAS or HWPT with ID 9999");
}

TEST_F(dev, attach_auto_shares_hwpt)
{
	uint32_t hwpt = 0, hwpt2 = 0;
	uint64_t iova = 0x100000;

	ASSERT_OK(iommufd_device_attach_auto(self->dev, self->ioas_id, 0, &hwpt));
	ASSERT_TRUE(hwpt != 0 && hwpt != self->ioas_id);
	ASSERT_EQ(iommufd_device_pt_id(self->dev), hwpt);
	/* Again on the same IOAS: the existing HWPT is reused. */
	ASSERT_OK(iommufd_device_attach_auto(self->dev, self->ioas_id, 0, &hwpt2));
	ASSERT_EQ(hwpt2, hwpt);
	ASSERT_OK(iommufd_device_set_bus_master(self->dev, true));
	ASSERT_OK(iommufd_ioas_map(self->ctx, self->ioas_id, self->buf, PAGE, &iova,
				   IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA));
	ASSERT_TRUE(edu_roundtrip(self->dev, self->buf, iova, 64, 0x55));
	/* VT-d under QEMU 7.2 has no dirty tracking: a clear refusal. */
	ASSERT_ERR(EOPNOTSUPP, iommufd_device_attach_auto(self->dev, self->ioas_id,
							  IOMMUFD_HWPT_DIRTY_TRACKING, NULL));
	ASSERT_EQ(iommufd_device_pt_id(self->dev), hwpt);
}

TEST_F(dev, msi_window_explained)
{
	uint64_t iova = 0xfee00000;
	struct iommufd_iova_range *r;
	size_t nr;

	ASSERT_OK(iommufd_device_attach(self->dev, self->ioas_id));
	ASSERT_OK(iommufd_ioas_iova_ranges(self->ctx, self->ioas_id, &r, &nr, NULL));
	ASSERT_EQ(nr, 2);
	EXPECT_EQ(r[0].start, 0);
	EXPECT_EQ(r[0].last, 0xfedfffff);
	EXPECT_EQ(r[1].start, 0xfef00000);
	EXPECT_EQ(r[1].last, 0xffffffffffff);
	free(r);
	ASSERT_ERR(EINVAL, iommufd_ioas_map(self->ctx, self->ioas_id, self->buf, PAGE, &iova,
					    IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA));
	ASSERT_EXPLAINS("reserved window 0xfee00000-0xfeefffff (the x86 MSI window)");
	ASSERT_EXPLAINS("usable: 0x0-0xfedfffff, 0xfef00000-0xffffffffffff");
	iova = 1ULL << 48;
	ASSERT_ERR(EINVAL, iommufd_ioas_map(self->ctx, self->ioas_id, self->buf, PAGE, &iova,
					    IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA));
	ASSERT_EXPLAINS("reserved window 0x1000000000000-0xffffffffffffffff");
}

TEST_F(dev, bar_mmap_and_registers)
{
	struct iommufd_region_info ri = { .sz = sizeof(ri) };
	struct iommufd_device_info di;
	volatile uint32_t *bar;
	void *p;
	uint32_t v;

	ASSERT_OK(iommufd_device_get_info(self->dev, &di));
	EXPECT_TRUE(di.flags & VFIO_DEVICE_FLAGS_PCI);
	EXPECT_TRUE(di.num_regions >= 9);
	EXPECT_TRUE(di.num_irqs >= 5);

	ASSERT_OK(iommufd_device_region_info(self->dev, IOMMUFD_PCI_BAR0, &ri));
	ASSERT_EQ(ri.size, 1 << 20);
	ASSERT_TRUE(ri.flags & IOMMUFD_REGION_MMAP);
	ASSERT_OK(iommufd_device_region_mmap(self->dev, IOMMUFD_PCI_BAR0, 0, PAGE,
					     PROT_READ | PROT_WRITE, &p));
	bar = p;
	/* edu's ID register, and liveness answers with the inverse. */
	EXPECT_EQ(bar[EDU_REG_ID / 4], 0x010000ed);
	bar[EDU_REG_LIVENESS / 4] = 0x12345678;
	EXPECT_EQ(bar[EDU_REG_LIVENESS / 4], ~0x12345678u);
	/* The same through pread. */
	ASSERT_OK(edu_read32(self->dev, EDU_REG_ID, &v));
	EXPECT_EQ(v, 0x010000ed);
	munmap(p, PAGE);

	/* Outside the BAR, misaligned, and a region that cannot be mapped. */
	ASSERT_ERR(EINVAL, iommufd_device_region_mmap(self->dev, IOMMUFD_PCI_BAR0, 1 << 20, PAGE,
						      PROT_READ, &p));
	ASSERT_EXPLAINS("beyond its size 0x100000");
	ASSERT_ERR(EINVAL, iommufd_device_region_mmap(self->dev, IOMMUFD_PCI_BAR0, 100, PAGE,
						      PROT_READ, &p));
	ASSERT_EXPLAINS("not page aligned");
	ASSERT_ERR(EINVAL, iommufd_device_region_mmap(self->dev, IOMMUFD_PCI_CONFIG, 0, PAGE,
						      PROT_READ, &p));
	ASSERT_EXPLAINS("cannot be mmap()ed");
	ASSERT_ERR(EINVAL, iommufd_device_region_read(self->dev, IOMMUFD_PCI_BAR0, &v, 4,
						      1 << 20));

	/* A BAR mapping is device memory (PFNMAP): iommufd cannot pin it. */
	ASSERT_OK(iommufd_device_attach(self->dev, self->ioas_id));
	ASSERT_OK(iommufd_device_region_mmap(self->dev, IOMMUFD_PCI_BAR0, 0, PAGE, PROT_READ, &p));
	ASSERT_ERR(EFAULT, iommufd_ioas_map(self->ctx, self->ioas_id, p, PAGE,
					    &(uint64_t){ 0x100000 },
					    IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA));
	ASSERT_EXPLAINS("cannot be pinned");
	ASSERT_EXPLAINS("/dev/vfio/devices/vfio");
	munmap(p, PAGE);
	ASSERT_ERR(EINVAL, iommufd_device_region_info(self->dev, 42, &ri));
	/* An output struct carries its size: smaller than the first version is EINVAL. */
	ri.sz = sizeof(ri.sz);
	ASSERT_ERR(EINVAL, iommufd_device_region_info(self->dev, IOMMUFD_PCI_BAR0, &ri));
}

TEST_F(dev, config_space_and_bus_master)
{
	uint16_t ids[2], cmd;

	ASSERT_EQ(iommufd_device_config_read(self->dev, 0, ids, 4), 4);
	EXPECT_EQ(ids[0], 0x1234);
	EXPECT_EQ(ids[1], 0x11e8);
	ASSERT_OK(iommufd_device_set_bus_master(self->dev, true));
	ASSERT_EQ(iommufd_device_config_read(self->dev, 4, &cmd, 2), 2);
	EXPECT_TRUE(cmd & 0x4);
	ASSERT_OK(iommufd_device_set_bus_master(self->dev, false));
	ASSERT_EQ(iommufd_device_config_read(self->dev, 4, &cmd, 2), 2);
	EXPECT_FALSE(cmd & 0x4);
}

TEST_F(dev, msi_to_eventfd)
{
	struct iommufd_irq_info ii;
	struct pollfd pfd;
	uint64_t count;
	uint32_t status;
	int efd;

	ASSERT_OK(iommufd_device_irq_info(self->dev, IOMMUFD_PCI_INTX, &ii));
	EXPECT_EQ(ii.count, 1);
	ASSERT_OK(iommufd_device_irq_info(self->dev, IOMMUFD_PCI_MSI, &ii));
	EXPECT_EQ(ii.count, 1);
	ASSERT_OK(iommufd_device_irq_info(self->dev, IOMMUFD_PCI_MSIX, &ii));
	EXPECT_EQ(ii.count, 0);	/* edu has no MSI-X */

	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_SYS(efd);
	ASSERT_ERR(EINVAL, iommufd_device_irq_enable(self->dev, IOMMUFD_PCI_MSI, 0, 2,
						     (int[]){ efd, efd }));
	ASSERT_EXPLAINS("vectors 0-1 requested, the device has 1");
	ASSERT_OK(iommufd_device_irq_enable(self->dev, IOMMUFD_PCI_MSI, 0, 1, &efd));
	/* An MSI is a memory write by the device: it needs bus mastering. */
	ASSERT_OK(iommufd_device_attach(self->dev, self->ioas_id));
	ASSERT_OK(iommufd_device_set_bus_master(self->dev, true));
	/* edu raises its interrupt when asked to through register 0x60. */
	ASSERT_OK(edu_write32(self->dev, EDU_REG_IRQ_RAISE, 0x42));
	pfd = (struct pollfd){ .fd = efd, .events = POLLIN };
	ASSERT_EQ(poll(&pfd, 1, 2000), 1);
	ASSERT_EQ(read(efd, &count, 8), 8);
	EXPECT_EQ(count, 1);
	ASSERT_OK(edu_read32(self->dev, EDU_REG_IRQ_STATUS, &status));
	EXPECT_EQ(status, 0x42);
	ASSERT_OK(edu_write32(self->dev, EDU_REG_IRQ_ACK, status));
	ASSERT_OK(iommufd_device_irq_disable(self->dev, IOMMUFD_PCI_MSI));
	/* Disabled: raising it again signals nothing. */
	ASSERT_OK(edu_write32(self->dev, EDU_REG_IRQ_RAISE, 0x1));
	EXPECT_EQ(poll(&pfd, 1, 300), 0);
	ASSERT_OK(edu_write32(self->dev, EDU_REG_IRQ_ACK, 0x1));
	close(efd);
}

/*
 * INTx unmasked by an eventfd, as a VMM wires it to KVM's resample fd: VFIO
 * masks the line when it fires; a second interrupt waits until the unmask
 * eventfd is signalled, then arrives with no unmask call.
 */
TEST_F(dev, intx_unmask_by_eventfd)
{
	struct pollfd pfd;
	uint64_t count, one = 1;
	int trig, unmask, notfd;

	trig = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	unmask = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_SYS(trig);
	ASSERT_SYS(unmask);
	notfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_SYS(notfd);
	ASSERT_OK(iommufd_device_irq_enable(self->dev, IOMMUFD_PCI_INTX, 0, 1, &trig));
	ASSERT_ERR(EINVAL, iommufd_device_irq_unmask_eventfd(self->dev, IOMMUFD_PCI_INTX, 0,
							     notfd));
	ASSERT_EXPLAINS("is not an eventfd");
	ASSERT_OK(iommufd_device_irq_unmask_eventfd(self->dev, IOMMUFD_PCI_INTX, 0, unmask));
	pfd = (struct pollfd){ .fd = trig, .events = POLLIN };

	ASSERT_OK(edu_write32(self->dev, EDU_REG_IRQ_RAISE, 0x1));
	ASSERT_EQ(poll(&pfd, 1, 2000), 1);
	ASSERT_EQ(read(trig, &count, 8), 8);
	ASSERT_OK(edu_write32(self->dev, EDU_REG_IRQ_ACK, 0x1));
	/* Masked since it fired: the next one is held back... */
	ASSERT_OK(edu_write32(self->dev, EDU_REG_IRQ_RAISE, 0x2));
	EXPECT_EQ(poll(&pfd, 1, 300), 0);
	/* ...until the unmask eventfd is signalled: the line is still up. */
	ASSERT_EQ(write(unmask, &one, 8), 8);
	ASSERT_EQ(poll(&pfd, 1, 2000), 1);
	ASSERT_EQ(read(trig, &count, 8), 8);
	ASSERT_OK(edu_write32(self->dev, EDU_REG_IRQ_ACK, 0x2));
	/* Handled: the guest's EOI, once more (the line is down now). */
	ASSERT_EQ(write(unmask, &one, 8), 8);

	/* Disconnected: signalling it unmasks nothing. */
	ASSERT_OK(iommufd_device_irq_unmask_eventfd(self->dev, IOMMUFD_PCI_INTX, 0, -1));
	ASSERT_OK(edu_write32(self->dev, EDU_REG_IRQ_RAISE, 0x4));
	ASSERT_EQ(poll(&pfd, 1, 2000), 1);
	ASSERT_EQ(read(trig, &count, 8), 8);
	ASSERT_OK(edu_write32(self->dev, EDU_REG_IRQ_ACK, 0x4));
	ASSERT_OK(edu_write32(self->dev, EDU_REG_IRQ_RAISE, 0x8));
	ASSERT_EQ(write(unmask, &one, 8), 8);
	EXPECT_EQ(poll(&pfd, 1, 300), 0);
	ASSERT_OK(iommufd_device_irq_unmask(self->dev, IOMMUFD_PCI_INTX, 0));
	ASSERT_EQ(poll(&pfd, 1, 2000), 1);
	ASSERT_OK(edu_write32(self->dev, EDU_REG_IRQ_ACK, 0x8));
	ASSERT_OK(iommufd_device_irq_disable(self->dev, IOMMUFD_PCI_INTX));
	close(notfd);
	close(unmask);
	close(trig);
}

TEST_F(dev, resets)
{
	uint32_t v;
	int r;

	/* edu has no FLR; behind a root port a bus reset works in its cdev form. */
	r = iommufd_device_reset(self->dev);
	EXPECT_TRUE(r == 0 || r == -ENOTTY);
	ASSERT_OK(iommufd_device_attach(self->dev, self->ioas_id));
	ASSERT_OK(iommufd_device_hot_reset(self->dev));
	/* The device still answers after the reset. */
	ASSERT_OK(edu_read32(self->dev, EDU_REG_ID, &v));
	EXPECT_EQ(v, 0x010000ed);
}

TEST_F(dev, hw_info_vtd)
{
	struct iommufd_hw_cap caps[80];
	struct iommufd_hw_info info = { .sz = sizeof(info) };
	uint64_t mgaw = 0;
	int n;

	ASSERT_OK(iommufd_get_hw_info(self->ctx, iommufd_device_id(self->dev), &info));
	ASSERT_EQ(info.type, IOMMUFD_HW_INTEL_VTD);
	EXPECT_EQ(info.capabilities & IOMMUFD_HW_CAP_DIRTY_TRACKING, 0);
	n = iommufd_hw_info_decode(&info, caps, 80);
	ASSERT_TRUE(n > 0 && n <= 80);
	for (int i = 0; i < n; i++)
		if (!strcmp(caps[i].name, "MGAW"))
			mgaw = caps[i].value;
	/* QEMU was started with aw-bits=48. */
	EXPECT_EQ(mgaw, 48);
}

TEST_HARNESS_MAIN
