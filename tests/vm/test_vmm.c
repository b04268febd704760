// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What a VMM needs from a passed-through device beyond the IOMMU: device
 * features, live migration through the state machine (on two instances of
 * the kernel's mtty sample, an mdev that implements VFIO migration), device
 * DMA logging, the VF token's refusal on a device that is no PF, and PCI hot
 * reset with the cdev's device IDs (on edu behind its root port).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <linux/vfio.h>

#include "edu.h"
#include "harness.h"

#define MTTY_TYPE "/sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2"

/* 16550 registers of an mtty port (its I/O BAR: BAR0 is port 0, BAR1 port 1). */
#define UART_TX 0	/* write: into the loop-back FIFO; read: RX, out of it */
#define UART_LCR 3
#define UART_LSR 5
#define UART_SCR 7
#define UART_LSR_DR 0x01

/* Create an mtty instance; its cdev path in @cdev. */
static int mtty_create(const char *uuid, char *cdev, size_t len)
{
	char path[256];
	struct dirent *de;
	DIR *d;
	int r;

	r = th_write_file(MTTY_TYPE "/create", uuid);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/vfio-dev", uuid);
	d = opendir(path);
	if (!d)
		return -errno;
	r = -ENOENT;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "vfio", 4)) {
			snprintf(cdev, len, "/dev/vfio/devices/%s", de->d_name);
			r = 0;
		}
	closedir(d);
	return r;
}

static void mtty_remove(const char *uuid)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/remove", uuid);
	th_write_file(path, "1");
}

static int reg_write(struct iommufd_device *dev, int port, unsigned int reg, uint8_t v)
{
	ssize_t n = iommufd_device_region_write(dev, port, &v, 1, reg);

	return n == 1 ? 0 : (int)(n < 0 ? n : -EIO);
}

static int reg_read(struct iommufd_device *dev, int port, unsigned int reg)
{
	uint8_t v;
	ssize_t n = iommufd_device_region_read(dev, port, &v, 1, reg);

	return n == 1 ? v : (int)(n < 0 ? n : -EIO);
}

/* Read a data fd to its end into @buf; the bytes, or -errno. */
static ssize_t drain(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;

	for (;;) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0)
			return -errno;
		if (!n)
			return (ssize_t)got;
		got += (size_t)n;
		if (got == len)
			return -ENOSPC;
	}
}

static int feed(int fd, const uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);

		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

FIXTURE(mig)
{
	bool created[2];
	char uuid[2][40];
	char cdev[2][300];
	struct iommufd_ctx *ctx;
	struct iommufd_device *dev[2];
	uint32_t ioas_id;
	int fd;
};

FIXTURE_SETUP(mig)
{
	self->fd = -1;
	if (access(MTTY_TYPE, F_OK))
		SKIP(return, "no mtty mdev parent (CONFIG_SAMPLE_VFIO_MDEV_MTTY)");
	for (int i = 0; i < 2; i++) {
		snprintf(self->uuid[i], sizeof(self->uuid[i]),
			 "83b8f4f2-509f-382f-3c1e-e6bfe0fa100%d", i);
		mtty_remove(self->uuid[i]);	/* a previous test's, if it was killed */
		ASSERT_OK(mtty_create(self->uuid[i], self->cdev[i], sizeof(self->cdev[i])));
		self->created[i] = true;
	}
	ASSERT_OK(iommufd_ctx_open(NULL, &self->ctx));
	ASSERT_OK(iommufd_ioas_alloc(self->ctx, &self->ioas_id));
	for (int i = 0; i < 2; i++) {
		/* An mdev has no BDF: it is opened by its cdev path, and named by its UUID. */
		ASSERT_OK(iommufd_device_open(self->ctx, self->cdev[i], &self->dev[i]));
		/* An emulated-IOMMU device binds and attaches like any other. */
		ASSERT_OK(iommufd_device_attach(self->dev[i], self->ioas_id));
	}
}

FIXTURE_TEARDOWN(mig)
{
	if (self->fd >= 0)
		close(self->fd);
	for (int i = 0; i < 2; i++)
		iommufd_device_close(self->dev[i]);
	iommufd_ctx_unref(self->ctx);
	for (int i = 0; i < 2; i++)
		if (self->created[i])
			mtty_remove(self->uuid[i]);
}

TEST_F(mig, features)
{
	enum iommufd_mig_state st;
	uint32_t ops, flags;
	uint64_t size;

	EXPECT_EQ(strcmp(iommufd_device_name(self->dev[0]), self->uuid[0]), 0);
	ASSERT_OK(iommufd_device_feature_probe(self->dev[0], IOMMUFD_DEVICE_FEATURE_MIGRATION,
					       &ops));
	EXPECT_EQ(ops, IOMMUFD_DEVICE_FEATURE_GET);
	ASSERT_OK(iommufd_device_feature_probe(self->dev[0],
					       IOMMUFD_DEVICE_FEATURE_MIG_DEVICE_STATE, &ops));
	EXPECT_EQ(ops, IOMMUFD_DEVICE_FEATURE_GET | IOMMUFD_DEVICE_FEATURE_SET);
	ASSERT_OK(iommufd_device_feature_probe(self->dev[0],
					       IOMMUFD_DEVICE_FEATURE_DMA_LOGGING_START, &ops));
	EXPECT_EQ(ops, IOMMUFD_DEVICE_FEATURE_SET);
	/* mtty is no PCI function of vfio-pci: no VF token, no low power. */
	ASSERT_ERR(ENOTTY, iommufd_device_feature_probe(self->dev[0],
							IOMMUFD_DEVICE_FEATURE_PCI_VF_TOKEN,
							&ops));
	ASSERT_EXPLAINS("does not offer the VFIO device feature PCI_VF_TOKEN");
	ASSERT_ERR(ENOTTY, iommufd_device_low_power_enter(self->dev[0], -1));
	ASSERT_ERR(ENOTTY, iommufd_device_set_vf_token(self->dev[0],
						       "2ab74924-c335-45f4-9b16-8569e5b08258"));
	ASSERT_EXPLAINS("not an SR-IOV physical function");

	ASSERT_OK(iommufd_device_mig_flags(self->dev[0], &flags));
	EXPECT_EQ(flags, IOMMUFD_MIG_FLAG_STOP_COPY | IOMMUFD_MIG_FLAG_P2P |
			 IOMMUFD_MIG_FLAG_PRE_COPY);
	ASSERT_OK(iommufd_device_mig_get_state(self->dev[0], &st));
	EXPECT_EQ(st, IOMMUFD_MIG_RUNNING);
	ASSERT_OK(iommufd_device_mig_data_size(self->dev[0], &size));
	/* A header (magic, versions, ports, flags) and two ports' registers and FIFOs. */
	EXPECT_TRUE(size > 24 && size < 4096);
	/* The raw call: GET of MIG_DEVICE_STATE gives the same state. */
	{
		struct { uint32_t state; int32_t fd; } raw = { 0, 0 };

		ASSERT_OK(iommufd_device_feature(self->dev[0],
						 IOMMUFD_DEVICE_FEATURE_MIG_DEVICE_STATE,
						 IOMMUFD_DEVICE_FEATURE_GET, &raw, sizeof(raw)));
		EXPECT_EQ(raw.state, IOMMUFD_MIG_RUNNING);
		EXPECT_EQ(raw.fd, -1);
	}
	/* MIGRATION can be read, not set. */
	{
		uint64_t raw_flags = 0;

		ASSERT_OK(iommufd_device_feature(self->dev[0], IOMMUFD_DEVICE_FEATURE_MIGRATION,
						 IOMMUFD_DEVICE_FEATURE_GET, &raw_flags,
						 sizeof(raw_flags)));
		EXPECT_EQ(raw_flags, flags);
		ASSERT_ERR(EINVAL, iommufd_device_feature(self->dev[0],
							  IOMMUFD_DEVICE_FEATURE_MIGRATION,
							  IOMMUFD_DEVICE_FEATURE_SET, &raw_flags,
							  sizeof(raw_flags)));
	}
}

/* The state that travels: port 0's scratch and line control, bytes in its FIFO, port 1's scratch. */
static void load_state(struct iommufd_device *dev)
{
	ASSERT_OK(reg_write(dev, 0, UART_SCR, 0x5a));
	ASSERT_OK(reg_write(dev, 0, UART_LCR, 0x03));
	ASSERT_OK(reg_write(dev, 0, UART_TX, 'h'));
	ASSERT_OK(reg_write(dev, 0, UART_TX, 'i'));
	ASSERT_OK(reg_write(dev, 1, UART_SCR, 0xa5));
}

static void check_state(struct iommufd_device *dev)
{
	EXPECT_EQ(reg_read(dev, 0, UART_SCR), 0x5a);
	EXPECT_EQ(reg_read(dev, 0, UART_LCR), 0x03);
	EXPECT_EQ(reg_read(dev, 1, UART_SCR), 0xa5);
	EXPECT_EQ(reg_read(dev, 0, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	EXPECT_EQ(reg_read(dev, 0, UART_TX), 'h');
	EXPECT_EQ(reg_read(dev, 0, UART_TX), 'i');
	EXPECT_EQ(reg_read(dev, 0, UART_LSR) & UART_LSR_DR, 0);
}

/* Load the saved stream into dev[1] through RESUMING and run it. */
static void resume(struct iommufd_device *dev, const uint8_t *buf, size_t len)
{
	enum iommufd_mig_state st;
	int fd = -1;

	ASSERT_OK(iommufd_device_mig_set_state(dev, IOMMUFD_MIG_RESUMING, &fd));
	ASSERT_TRUE(fd >= 0);
	ASSERT_OK(iommufd_device_mig_get_state(dev, &st));
	EXPECT_EQ(st, IOMMUFD_MIG_RESUMING);
	ASSERT_OK(feed(fd, buf, len));
	close(fd);
	ASSERT_OK(iommufd_device_mig_set_state(dev, IOMMUFD_MIG_RUNNING, &fd));
	EXPECT_EQ(fd, -1);
	ASSERT_OK(iommufd_device_mig_get_state(dev, &st));
	EXPECT_EQ(st, IOMMUFD_MIG_RUNNING);
}

TEST_F(mig, stop_copy_into_file_and_back)
{
	char path[] = "/tmp/mtty-state-XXXXXX";
	uint8_t buf[4096], back[4096];
	enum iommufd_mig_state st;
	uint64_t size;
	ssize_t n;
	int file;

	load_state(self->dev[0]);
	/* The second device starts blank, so what it reads later came with the state. */
	ASSERT_EQ(reg_read(self->dev[1], 0, UART_SCR), 0);
	ASSERT_EQ(reg_read(self->dev[1], 1, UART_SCR), 0);
	ASSERT_OK(iommufd_device_mig_data_size(self->dev[0], &size));

	/* RUNNING -> RUNNING_P2P -> STOP -> STOP_COPY, walked by the library. */
	ASSERT_OK(iommufd_device_mig_set_state(self->dev[0], IOMMUFD_MIG_STOP_COPY, &self->fd));
	ASSERT_TRUE(self->fd >= 0);
	EXPECT_TRUE(fcntl(self->fd, F_GETFD) & FD_CLOEXEC);
	ASSERT_OK(iommufd_device_mig_get_state(self->dev[0], &st));
	EXPECT_EQ(st, IOMMUFD_MIG_STOP_COPY);
	n = drain(self->fd, buf, sizeof(buf));
	ASSERT_EQ(n, (ssize_t)size);
	close(self->fd);
	self->fd = -1;

	/* Into a file, and back out of it, as a VMM sends it to the destination. */
	file = mkstemp(path);
	ASSERT_SYS(file);
	unlink(path);
	ASSERT_OK(feed(file, buf, (size_t)n));
	ASSERT_EQ(pread(file, back, sizeof(back), 0), n);
	close(file);

	/* STOP_COPY -> STOP: the source stays stopped. */
	ASSERT_OK(iommufd_device_mig_set_state(self->dev[0], IOMMUFD_MIG_STOP, NULL));
	resume(self->dev[1], back, (size_t)n);
	check_state(self->dev[1]);
}

TEST_F(mig, pre_copy_then_stop_copy)
{
	uint8_t buf[4096];
	uint64_t initial = 0, dirty = 1;
	enum iommufd_mig_state st;
	ssize_t n, m;
	int fd2 = 0;

	load_state(self->dev[0]);
	ASSERT_OK(iommufd_device_mig_set_state(self->dev[0], IOMMUFD_MIG_PRE_COPY, &self->fd));
	ASSERT_TRUE(self->fd >= 0);
	ASSERT_OK(iommufd_device_mig_precopy_info(self->dev[0], self->fd, &initial, &dirty));
	EXPECT_TRUE(initial > 0);
	EXPECT_EQ(dirty, 0);
	/* The initial bytes can be read while the device runs. */
	n = read(self->fd, buf, sizeof(buf));
	ASSERT_EQ(n, (ssize_t)initial);
	ASSERT_OK(iommufd_device_mig_precopy_info(self->dev[0], self->fd, &initial, NULL));
	EXPECT_EQ(initial, 0);
	/* PRE_COPY -> PRE_COPY_P2P -> STOP_COPY: the same session, no new fd. */
	ASSERT_OK(iommufd_device_mig_set_state(self->dev[0], IOMMUFD_MIG_STOP_COPY, &fd2));
	EXPECT_EQ(fd2, -1);
	ASSERT_OK(iommufd_device_mig_get_state(self->dev[0], &st));
	EXPECT_EQ(st, IOMMUFD_MIG_STOP_COPY);
	ASSERT_ERR(EINVAL, iommufd_device_mig_precopy_info(self->dev[0], self->fd, NULL, NULL));
	ASSERT_EXPLAINS("only given in PRE_COPY");
	m = drain(self->fd, buf + n, sizeof(buf) - (size_t)n);
	ASSERT_TRUE(m > 0);
	resume(self->dev[1], buf, (size_t)(n + m));
	check_state(self->dev[1]);
}

TEST_F(mig, wrong_order_names_the_arcs)
{
	enum iommufd_mig_state st;
	int fd = 0;

	ASSERT_OK(iommufd_device_mig_set_state(self->dev[0], IOMMUFD_MIG_STOP_COPY, &self->fd));
	/* The kernel forbids STOP_COPY -> PRE_COPY; nothing is tried, nothing changes. */
	ASSERT_ERR(EINVAL, iommufd_device_mig_set_state(self->dev[0], IOMMUFD_MIG_PRE_COPY, &fd));
	EXPECT_EQ(fd, -1);
	ASSERT_EXPLAINS("no arc leads from STOP_COPY to PRE_COPY; the arcs from STOP_COPY are: "
			"STOP_COPY -> STOP");
	ASSERT_OK(iommufd_device_mig_get_state(self->dev[0], &st));
	EXPECT_EQ(st, IOMMUFD_MIG_STOP_COPY);
	ASSERT_ERR(EINVAL, iommufd_device_mig_set_state(self->dev[0], IOMMUFD_MIG_PRE_COPY_P2P,
							NULL));
	ASSERT_ERR(EINVAL, iommufd_device_mig_set_state(self->dev[0], IOMMUFD_MIG_ERROR, NULL));
	ASSERT_EXPLAINS("ERROR cannot be asked for");
	ASSERT_ERR(EINVAL, iommufd_device_mig_set_state(self->dev[0], 42, NULL));

	/* RESUMING -> STOP with no data: the driver refuses it, the device stays in RESUMING. */
	ASSERT_OK(iommufd_device_mig_set_state(self->dev[1], IOMMUFD_MIG_RESUMING, &fd));
	ASSERT_TRUE(fd >= 0);
	close(fd);
	ASSERT_ERR(EINVAL, iommufd_device_mig_set_state(self->dev[1], IOMMUFD_MIG_RUNNING, NULL));
	ASSERT_EXPLAINS("migration arc RESUMING -> STOP (step 1 of 3 from RESUMING to RUNNING)");
	ASSERT_EXPLAINS("the device is still in RESUMING");
	ASSERT_OK(iommufd_device_mig_get_state(self->dev[1], &st));
	EXPECT_EQ(st, IOMMUFD_MIG_RESUMING);
	/* A reset brings a device back to RUNNING. */
	ASSERT_OK(iommufd_device_reset(self->dev[1]));
	ASSERT_OK(iommufd_device_mig_get_state(self->dev[1], &st));
	EXPECT_EQ(st, IOMMUFD_MIG_RUNNING);
}

TEST_F(mig, dma_logging)
{
	struct iommufd_iova_range r[2] = { { 0x100000, 0x1fffff }, { 0x400000, 0x400fff } };
	uint64_t page = 4096, bitmap[4] = { ~0ULL, ~0ULL, ~0ULL, ~0ULL };

	ASSERT_ERR(EINVAL, iommufd_device_dma_log_start(self->dev[0], r, 2, &(uint64_t){ 4095 }));
	r[1].start = 0x400800;
	ASSERT_ERR(EINVAL, iommufd_device_dma_log_start(self->dev[0], r, 2, &page));
	ASSERT_EXPLAINS("range 1 (0x400800-0x400fff)");
	r[1].start = 0x400000;
	ASSERT_OK(iommufd_device_dma_log_start(self->dev[0], r, 2, &page));
	EXPECT_EQ(page, 4096);
	/* mtty does no DMA: nothing is dirty, and the bitmap says so. */
	ASSERT_OK(iommufd_device_dma_log_report(self->dev[0], 0x100000, 256 * 4096, 4096,
						bitmap));
	EXPECT_EQ(bitmap[0] | bitmap[1] | bitmap[2] | bitmap[3], 0);
	ASSERT_OK(iommufd_device_dma_log_stop(self->dev[0]));
}

TEST_F(mig, no_hot_reset_for_an_mdev)
{
	struct iommufd_reset_dep *deps = NULL;
	size_t nr = 0;

	ASSERT_ERR(ENOTTY, iommufd_device_hot_reset_info(self->dev[0], &deps, &nr));
	ASSERT_EXPLAINS("is not a PCI device");
	ASSERT_ERR(ENOTTY, iommufd_device_hot_reset_set(self->dev, 2));
}

/* How many PCI functions share @bdf's slot ("DDDD:BB:SS.F"): what a hot reset of it takes. */
static int functions_in_slot(const char *bdf)
{
	size_t len = strlen(bdf) - 1;	/* up to the function number */
	struct dirent *de;
	DIR *d = opendir("/sys/bus/pci/devices");
	int n = 0;

	while (d && (de = readdir(d)))
		if (!strncmp(de->d_name, bdf, len) && strlen(de->d_name) == len + 1)
			n++;
	if (d)
		closedir(d);
	return n;
}

FIXTURE(edu)
{
	char bdf[32];
	struct iommufd_ctx *ctx;
	struct iommufd_device *dev;
};

FIXTURE_SETUP(edu)
{
	if (edu_find(self->bdf, sizeof(self->bdf)) < 0)
		SKIP(return, "no edu device");
	if (!getenv("LIBIOMMUFD_VM_IOMMU") || !strcmp(getenv("LIBIOMMUFD_VM_IOMMU"), "0"))
		SKIP(return, "guest booted without an IOMMU");
	ASSERT_OK(iommufd_ctx_open(NULL, &self->ctx));
	ASSERT_OK(iommufd_device_open(self->ctx, self->bdf, &self->dev));
}

FIXTURE_TEARDOWN(edu)
{
	iommufd_device_close(self->dev);
	iommufd_ctx_unref(self->ctx);
}

TEST_F(edu, no_migration_no_dma_logging)
{
	enum iommufd_mig_state st;
	uint32_t flags;
	uint64_t page = 4096, bitmap = 0;
	struct iommufd_iova_range r = { 0, 0xfff };
	int fd = 0;

	ASSERT_ERR(ENOTTY, iommufd_device_feature_probe(self->dev,
							IOMMUFD_DEVICE_FEATURE_MIGRATION, NULL));
	ASSERT_ERR(ENOTTY, iommufd_device_mig_flags(self->dev, &flags));
	ASSERT_EXPLAINS("cannot migrate");
	ASSERT_ERR(ENOTTY, iommufd_device_mig_get_state(self->dev, &st));
	ASSERT_ERR(ENOTTY, iommufd_device_mig_set_state(self->dev, IOMMUFD_MIG_STOP, &fd));
	EXPECT_EQ(fd, -1);
	ASSERT_ERR(ENOTTY, iommufd_device_dma_log_start(self->dev, &r, 1, &page));
	ASSERT_EXPLAINS("has no device DMA logging");
	ASSERT_ERR(ENOTTY, iommufd_device_dma_log_report(self->dev, 0, 4096, 4096, &bitmap));
	ASSERT_ERR(ENOTTY, iommufd_device_dma_log_stop(self->dev));
}

TEST_F(edu, vf_token_refused_on_a_non_pf)
{
	uint32_t ops;

	/* edu has no SR-IOV capability: vfio-pci gives it no VF token. */
	ASSERT_ERR(ENOTTY, iommufd_device_feature_probe(self->dev,
							IOMMUFD_DEVICE_FEATURE_PCI_VF_TOKEN, &ops));
	ASSERT_ERR(ENOTTY, iommufd_device_set_vf_token(self->dev,
						       "2ab74924-c335-45f4-9b16-8569e5b08258"));
	ASSERT_EXPLAINS("not an SR-IOV physical function");
	/* A malformed token is refused before the kernel is asked. */
	ASSERT_ERR(EINVAL, iommufd_device_set_vf_token(self->dev,
						       "2ab74924-c335-45f4-9b16-8569e5b0825"));
	ASSERT_EXPLAINS("is not a UUID");
	ASSERT_ERR(EINVAL, iommufd_device_set_vf_token(self->dev,
						       "2ab74924xc335-45f4-9b16-8569e5b08258"));
	ASSERT_ERR(EINVAL, iommufd_device_set_vf_token(self->dev,
						       "2ab74924-c335-45f4-9b16-8569e5b082580"));
}

TEST_F(edu, hot_reset_scope)
{
	struct iommufd_reset_dep *deps = NULL;
	struct iommufd_device *set[1] = { self->dev };
	size_t nr = 0;

	/*
	 * edu sits behind its root port (with a second function under
	 * --edu-pair): the reset touches every function of its slot, itself by
	 * its ID here, the others unopened and so fair game.
	 */
	ASSERT_OK(iommufd_device_hot_reset_info(self->dev, &deps, &nr));
	ASSERT_EQ(nr, (size_t)functions_in_slot(self->bdf));
	for (size_t i = 0; i < nr; i++) {
		EXPECT_TRUE(deps[i].owned);
		if (!strcmp(deps[i].bdf, self->bdf))
			EXPECT_EQ(deps[i].dev_id, iommufd_device_id(self->dev));
		else
			EXPECT_EQ(deps[i].dev_id, 0);
	}
	free(deps);
	ASSERT_OK(iommufd_device_hot_reset_set(set, 1));
	/* The device still answers after the reset. */
	{
		uint32_t v = 0x12345678, back = 0;

		ASSERT_EQ(iommufd_device_region_write(self->dev, 0, &v, 4, EDU_REG_LIVENESS), 4);
		ASSERT_EQ(iommufd_device_region_read(self->dev, 0, &back, 4, EDU_REG_LIVENESS), 4);
		EXPECT_EQ(back, ~v);
	}
}

/*
 * Two functions one hot reset covers (tests/vm/run --edu-pair), both bound
 * to one iommufd: reset as a set, in one call; then the first alone, with
 * the second unopened. (A device another iommufd holds stops a reset:
 * sriov.hot_reset_refused_beside_a_vf.)
 */
TEST(edu_pair_reset_together)
{
	struct iommufd_reset_dep *deps = NULL;
	struct iommufd_device *set[2] = { NULL, NULL }, *elsewhere = NULL;
	struct iommufd_ctx *ctx = NULL, *other = NULL;
	char bdf[2][32];
	uint32_t ioas;
	size_t nr = 0;

	if (edu_find(bdf[0], sizeof(bdf[0])) < 0 || functions_in_slot(bdf[0]) != 2)
		SKIP(return, "edu is not a two-function device (tests/vm/run --edu-pair)");
	if (!getenv("LIBIOMMUFD_VM_IOMMU") || !strcmp(getenv("LIBIOMMUFD_VM_IOMMU"), "0"))
		SKIP(return, "guest booted without an IOMMU");
	/* Functions 0 and 1, whichever edu_find() met first. */
	bdf[0][strlen(bdf[0]) - 1] = '0';
	snprintf(bdf[1], sizeof(bdf[1]), "%.*s1", (int)strlen(bdf[0]) - 1, bdf[0]);
	ASSERT_OK(iommufd_ctx_open(NULL, &ctx));
	ASSERT_OK(iommufd_ioas_alloc(ctx, &ioas));
	for (int i = 0; i < 2; i++) {
		ASSERT_OK(iommufd_device_open(ctx, bdf[i], &set[i]));
		ASSERT_OK(iommufd_device_attach(set[i], ioas));
	}
	ASSERT_OK(iommufd_device_hot_reset_info(set[0], &deps, &nr));
	ASSERT_EQ(nr, 2);
	for (size_t i = 0; i < nr; i++) {
		int which = !strcmp(deps[i].bdf, bdf[1]);

		EXPECT_EQ(strcmp(deps[i].bdf, bdf[which]), 0);
		EXPECT_EQ(deps[i].dev_id, iommufd_device_id(set[which]));
		EXPECT_TRUE(deps[i].owned);
	}
	free(deps);
	ASSERT_OK(iommufd_device_hot_reset_set(set, 2));
	for (int i = 0; i < 2; i++) {
		uint32_t v = 0x0badf00d + i, back = 0;

		ASSERT_EQ(iommufd_device_region_write(set[i], 0, &v, 4, EDU_REG_LIVENESS), 4);
		ASSERT_EQ(iommufd_device_region_read(set[i], 0, &back, 4, EDU_REG_LIVENESS), 4);
		EXPECT_EQ(back, ~v);
	}

	/*
	 * Without ACS the two functions share an IOMMU group, so one iommufd
	 * has them both: another cannot take the second while the first is here.
	 */
	set[1] = iommufd_device_close(set[1]);
	ASSERT_OK(iommufd_ctx_open(NULL, &other));
	ASSERT_ERR(EPERM, iommufd_device_open(other, bdf[1], &elsewhere));
	iommufd_ctx_unref(other);
	/* The first alone: its reset still takes the second, unopened now. */
	ASSERT_OK(iommufd_device_hot_reset_set(set, 1));
	iommufd_device_close(set[0]);
	iommufd_ctx_unref(ctx);
}

TEST_F(edu, hot_reset_set_refusals)
{
	const char *uuid = "83b8f4f2-509f-382f-3c1e-e6bfe0fa1009";
	struct iommufd_device *set[2] = { self->dev, NULL };
	struct iommufd_ctx *other;
	char cdev[300];

	ASSERT_ERR(EINVAL, iommufd_device_hot_reset_set(set, 0));
	ASSERT_ERR(EINVAL, iommufd_device_hot_reset_set(set, 2));	/* a NULL device */
	if (access(MTTY_TYPE, F_OK))
		SKIP(return, "no mtty mdev parent for a second device");
	/* Devices of two iommufds: refused before anything is asked of the kernel. */
	mtty_remove(uuid);
	ASSERT_OK(mtty_create(uuid, cdev, sizeof(cdev)));
	ASSERT_OK(iommufd_ctx_open(NULL, &other));
	if (iommufd_device_open(other, cdev, &set[1]) == 0) {
		EXPECT_EQ(iommufd_device_hot_reset_set(set, 2), -EINVAL);
		EXPECT_TRUE(strstr(iommufd_last_error(), "bound to different iommufds") != NULL);
		iommufd_device_close(set[1]);
	} else {
		th_fail(false, __FILE__, __LINE__, "open %s: %s", cdev, iommufd_last_error());
	}
	iommufd_ctx_unref(other);
	mtty_remove(uuid);
}

TEST_F(edu, low_power)
{
	int efd, notefd;

	/* vfio-pci offers it on any PCI device (without CONFIG_PM it only keeps the flag). */
	ASSERT_OK(iommufd_device_feature_probe(self->dev, IOMMUFD_DEVICE_FEATURE_LOW_POWER_ENTRY,
					       NULL));
	ASSERT_OK(iommufd_device_low_power_enter(self->dev, -1));
	ASSERT_ERR(EINVAL, iommufd_device_low_power_enter(self->dev, -1));
	ASSERT_EXPLAINS("in low power already");
	ASSERT_OK(iommufd_device_low_power_exit(self->dev));
	ASSERT_OK(iommufd_device_low_power_exit(self->dev));	/* leaving twice is harmless */
	/* With a wakeup eventfd; an fd that is no eventfd is refused. */
	notefd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_SYS(notefd);
	ASSERT_ERR(EINVAL, iommufd_device_low_power_enter(self->dev, notefd));
	close(notefd);
	efd = eventfd(0, EFD_CLOEXEC);
	ASSERT_SYS(efd);
	ASSERT_OK(iommufd_device_low_power_enter(self->dev, efd));
	ASSERT_OK(iommufd_device_low_power_exit(self->dev));
	close(efd);
	ASSERT_ERR(EINVAL, iommufd_device_low_power_enter(self->dev, -2));
}

/*
 * SR-IOV: a PF on vfio-pci with VFs enabled (the guest booted with
 * tests/vm/run --sriov: QEMU's NVMe controller with two VFs behind a root
 * port of its own, vfio_pci.enable_sriov=1). Skipped in a guest without one.
 */
#define TOKEN_A "0b3c6f4e-6a2a-4a4b-9d0e-3f1b2c4d5e6f"
#define TOKEN_B "7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"

/* Copy a name, cut to fit (sysfs names here are short). */
static void copy_name(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int sysfs_get(const char *bdf, const char *attr, char *buf, size_t len)
{
	char path[512];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", bdf, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* The last component of a sysfs link of @bdf (its driver, a VF, its group), or -errno. */
static int sysfs_link_name(const char *bdf, const char *attr, char *buf, size_t len)
{
	char path[512], target[512];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", bdf, attr);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	copy_name(buf, len, strrchr(target, '/') ? strrchr(target, '/') + 1 : target);
	return 0;
}

FIXTURE(sriov)
{
	char pf_bdf[32];
	char vf_bdf[32];
	struct iommufd_ctx *ctx;
	struct iommufd_device *pf;
	bool vfs_on;
};

FIXTURE_SETUP(sriov)
{
	char drv[64], total[16];
	struct dirent *de;
	DIR *d = opendir("/sys/bus/pci/devices");

	ASSERT_TRUE(d != NULL);
	while ((de = readdir(d)))
		if (!sysfs_get(de->d_name, "sriov_totalvfs", total, sizeof(total)) &&
		    atoi(total) > 0 && !sysfs_link_name(de->d_name, "driver", drv, sizeof(drv)) &&
		    !strcmp(drv, "vfio-pci"))
			copy_name(self->pf_bdf, sizeof(self->pf_bdf), de->d_name);
	closedir(d);
	if (!self->pf_bdf[0])
		SKIP(return, "no SR-IOV PF on vfio-pci (boot with tests/vm/run --sriov)");
	ASSERT_OK(iommufd_ctx_open(NULL, &self->ctx));
	ASSERT_OK(iommufd_device_open(self->ctx, self->pf_bdf, &self->pf));
}

FIXTURE_TEARDOWN(sriov)
{
	char path[512];

	iommufd_device_close(self->pf);
	iommufd_ctx_unref(self->ctx);
	if (self->vfs_on) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/sriov_numvfs", self->pf_bdf);
		th_write_file(path, "0");
	}
}

/* Enable one VF and wait until vfio-pci has it (the PF's driver claims its VFs). */
static void enable_vf(struct th_data_sriov *self)
{
	char path[512], drv[64];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/sriov_numvfs", self->pf_bdf);
	ASSERT_OK(th_write_file(path, "1"));
	self->vfs_on = true;
	ASSERT_OK(sysfs_link_name(self->pf_bdf, "virtfn0", self->vf_bdf, sizeof(self->vf_bdf)));
	for (int i = 0; i < 100; i++) {
		if (!sysfs_link_name(self->vf_bdf, "driver", drv, sizeof(drv)) &&
		    !strcmp(drv, "vfio-pci") && !iommufd_device_cdev_path(self->vf_bdf, path,
									sizeof(path)))
			return;
		usleep(50000);
	}
	th_fail(true, __FILE__, __LINE__, "VF %s never bound to vfio-pci", self->vf_bdf);
}

TEST_F(sriov, vf_token_on_the_pf)
{
	uint32_t ops = 0;

	/* The token can be set, never read: it would give away the last user's. */
	ASSERT_OK(iommufd_device_feature_probe(self->pf, IOMMUFD_DEVICE_FEATURE_PCI_VF_TOKEN,
					       &ops));
	EXPECT_EQ(ops, IOMMUFD_DEVICE_FEATURE_SET);
	ASSERT_OK(iommufd_device_set_vf_token(self->pf, TOKEN_A));
	ASSERT_OK(iommufd_device_set_vf_token(self->pf, TOKEN_B));
	ASSERT_ERR(EINVAL, iommufd_device_set_vf_token(self->pf, "0b3c6f4e"));
	{
		uint8_t raw[16];

		ASSERT_ERR(EINVAL, iommufd_device_feature(self->pf,
							  IOMMUFD_DEVICE_FEATURE_PCI_VF_TOKEN,
							  IOMMUFD_DEVICE_FEATURE_GET, raw,
							  sizeof(raw)));
	}
}

/*
 * The token set through the library is the one vfio-pci checks when the VF
 * is opened through its group by "BDF vf_token=UUID"; 6.12's cdev bind
 * checks none.
 */
TEST_F(sriov, vf_opened_with_the_token)
{
	char group[64], name[128];
	struct iommufd_ctx *ctx2;
	struct iommufd_device *vf;
	int container, grp, fd;

	enable_vf(self);
	ASSERT_OK(iommufd_device_set_vf_token(self->pf, TOKEN_A));

	/* The cdev: bound with no token at all (Linux 6.17 adds one to the bind). */
	ASSERT_OK(iommufd_ctx_open(NULL, &ctx2));
	ASSERT_OK(iommufd_device_open(ctx2, self->vf_bdf, &vf));
	iommufd_device_close(vf);
	iommufd_ctx_unref(ctx2);

	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (container < 0)
		SKIP(return, "no VFIO container in this kernel: the group path is untestable");
	ASSERT_OK(sysfs_link_name(self->vf_bdf, "iommu_group", group, sizeof(group)));
	snprintf(name, sizeof(name), "/dev/vfio/%s", group);
	grp = open(name, O_RDWR | O_CLOEXEC);
	ASSERT_SYS(grp);
	ASSERT_SYS(ioctl(grp, VFIO_GROUP_SET_CONTAINER, &container));
	ASSERT_SYS(ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	/* No token, the wrong one: refused. The right one: the VF opens. */
	EXPECT_EQ(ioctl(grp, VFIO_GROUP_GET_DEVICE_FD, self->vf_bdf), -1);
	EXPECT_EQ(errno, EACCES);
	snprintf(name, sizeof(name), "%s vf_token=%s", self->vf_bdf, TOKEN_B);
	EXPECT_EQ(ioctl(grp, VFIO_GROUP_GET_DEVICE_FD, name), -1);
	EXPECT_EQ(errno, EACCES);
	snprintf(name, sizeof(name), "%s vf_token=%s", self->vf_bdf, TOKEN_A);
	fd = ioctl(grp, VFIO_GROUP_GET_DEVICE_FD, name);
	EXPECT_TRUE(fd >= 0);
	if (fd >= 0)
		close(fd);
	close(grp);
	close(container);
}

/* A VF sits on its PF's bus but in a reset set of its own: the PF's hot reset is refused. */
TEST_F(sriov, hot_reset_refused_beside_a_vf)
{
	struct iommufd_reset_dep *deps = NULL;
	struct iommufd_device *set[1] = { self->pf };
	size_t nr = 0;
	bool saw_vf = false;

	/*
	 * Without VFs, the PF behind its own root port would reset alone. (The
	 * reset itself fails in this guest: QEMU 7.2's root port never reports
	 * its link active again, and the kernel gives up with ENOTTY.)
	 */
	ASSERT_OK(iommufd_device_hot_reset_info(self->pf, &deps, &nr));
	ASSERT_EQ(nr, 1);
	EXPECT_EQ(deps[0].dev_id, iommufd_device_id(self->pf));
	EXPECT_TRUE(deps[0].owned);
	free(deps);

	enable_vf(self);
	ASSERT_OK(iommufd_device_hot_reset_info(self->pf, &deps, &nr));
	ASSERT_EQ(nr, 2);
	for (size_t i = 0; i < nr; i++) {
		if (!strcmp(deps[i].bdf, self->vf_bdf)) {
			saw_vf = true;
			EXPECT_FALSE(deps[i].owned);
			EXPECT_EQ(deps[i].dev_id, 0);
		} else {
			EXPECT_EQ(strcmp(deps[i].bdf, self->pf_bdf), 0);
			EXPECT_TRUE(deps[i].owned);
		}
	}
	free(deps);
	EXPECT_TRUE(saw_vf);
	/* Refused by the library's check, before the kernel is asked, with the VF named... */
	ASSERT_ERR(EPERM, iommufd_device_hot_reset_set(set, 1));
	ASSERT_EXPLAINS(self->vf_bdf);
	/* ...and by the kernel itself (EINVAL there), explained the same way. */
	ASSERT_ERR(EPERM, iommufd_device_hot_reset(self->pf));
	ASSERT_EXPLAINS(self->vf_bdf);
}

TEST_HARNESS_MAIN
