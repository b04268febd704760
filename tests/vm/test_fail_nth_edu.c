// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The device calls, each with its kernel and userspace failure points made
 * to fail in turn (fail_nth.h), on the edu device behind the emulated VT-d:
 * open and bind, attach, replace, detach, the QEMU-style attach, HWPTs of a
 * real IOMMU driver, IOAS maps into its page tables, interrupts, resets,
 * regions, and the ioas module's device opening. Besides what every sweep
 * checks (objects, fds, heap, explanations), the state here is what the
 * kernel shows of the device: its IOAS's usable ranges (an attach takes the
 * MSI window out), its page table in the library, whether MSI is on.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

#include <iommufd/ioas.h>

#include "edu.h"
#include "fail_nth.h"
#include "harness.h"

#define PAGE 4096ULL
#define LEN (64 * PAGE)
#define X 0x100000ULL

struct edu {
	struct iommufd_ctx *ctx;
	struct iommufd_device *dev;
	char bdf[32];
	uint32_t ioas, ioas2;		/* two IOASes to attach to */
	uint32_t hwpt;			/* a HWPT made for a case */
	uint32_t out;
	bool done;
	int efd, fd;
	void *buf, *bar;
	struct ioas *io;
	uint8_t cfg[64];
	ssize_t n;
	struct iommufd_handoff *h;	/* what a launcher handed over */
	int hfd[2];			/* its iommufd and device fds, until adopted */
};

static void ranges(struct fn_state *st, struct iommufd_ctx *ctx, uint32_t ioas)
{
	struct iommufd_iova_range *r = NULL;
	size_t nr = 0;

	if (iommufd_ioas_iova_ranges(ctx, ioas, &r, &nr, NULL) < 0)
		fn_printf(st, "IOAS %u: %s\n", ioas, iommufd_last_error());
	for (size_t i = 0; i < nr; i++)
		fn_printf(st, "IOAS %u range 0x%llx-0x%llx\n", ioas, (unsigned long long)r[i].start,
			  (unsigned long long)r[i].last);
	free(r);
}

/* Is MSI on? The enable bit of the MSI capability's control word. */
static int msi_enabled(struct iommufd_device *dev)
{
	uint8_t cap = 0, id = 0;
	uint16_t ctl = 0;

	if (iommufd_device_config_read(dev, 0x34, &cap, 1) != 1)
		return -1;
	for (int hops = 0; cap && hops < 48; hops++) {
		if (iommufd_device_config_read(dev, cap, &id, 1) != 1)
			return -1;
		if (id == 0x05)
			return iommufd_device_config_read(dev, cap + 2, &ctl, 2) == 2 ? ctl & 1 : -1;
		if (iommufd_device_config_read(dev, cap + 1, &cap, 1) != 1)
			return -1;
	}
	return -1;
}

static void st_edu(void *p, struct fn_state *st)
{
	struct edu *e = p;

	fn_state_process(st);
	fn_state_ids(st, e->ctx);
	ranges(st, e->ctx, e->ioas);
	ranges(st, e->ctx, e->ioas2);
	if (e->dev) {
		uint16_t cmd = 0;

		fn_printf(st, "device %u on %u\n", iommufd_device_id(e->dev),
			  iommufd_device_pt_id(e->dev));
		iommufd_device_config_read(e->dev, 4, &cmd, 2);
		fn_printf(st, "PCI command 0x%x, MSI %d\n", cmd, msi_enabled(e->dev));
	}
}

static int env_open(struct edu *e)
{
	int r;

	memset(e, 0, sizeof(*e));
	e->efd = e->fd = -1;
	e->buf = MAP_FAILED;
	if (edu_find(e->bdf, sizeof(e->bdf)) < 0)
		return -ENODEV;
	if (!getenv("LIBIOMMUFD_VM_IOMMU") || !strcmp(getenv("LIBIOMMUFD_VM_IOMMU"), "0"))
		return -ENXIO;
	e->buf = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (e->buf == MAP_FAILED)
		return -errno;
	memset(e->buf, 0x5a, LEN);
	r = iommufd_ctx_open(NULL, &e->ctx);
	if (!r)
		r = iommufd_ioas_alloc(e->ctx, &e->ioas);
	if (!r)
		r = iommufd_ioas_alloc(e->ctx, &e->ioas2);
	return r;
}

static void env_close(struct edu *e)
{
	iommufd_device_close(e->dev);
	iommufd_ctx_unref(e->ctx);
	if (e->buf != MAP_FAILED)
		munmap(e->buf, LEN);
	if (e->efd >= 0)
		close(e->efd);
}

#define ENV_OPEN(e, with_dev)                                                            \
	do {                                                                             \
		int r_;                                                                  \
		alarm(900);                                                              \
		r_ = fn_kernel_setup();                                                  \
		if (r_ < 0)                                                              \
			SKIP(return, "%s", r_ == -EOPNOTSUPP ?                           \
			     "the sweeps need the plain build (AddressSanitizer)" :             \
			     "no kernel fault injection");    \
		r_ = env_open(e);                                                        \
		if (r_ == -ENODEV || r_ == -ENXIO) {                                     \
			env_close(e);                                                    \
			SKIP(return, "%s", r_ == -ENODEV ? "no edu device" : "no IOMMU"); \
		}                                                                        \
		ASSERT_OK(r_);                                                           \
		if (with_dev)                                                            \
			ASSERT_OK(iommufd_device_open((e)->ctx, (e)->bdf, &(e)->dev));   \
	} while (0)

/* Problems found and reported, not fixed yet (Documentation/testing.md). */
static const struct fn_known known_attach[] = {
	{ (const char *const[]){ " range 0x", NULL }, "range 0x0-0xffffffffffff",
	  "kernel: intel_iommu_get_resv_regions() returns without the MSI window when its "
	  "allocation fails, and the attach goes on: the IOAS then offers the MSI window "
	  "0xfee00000-0xfeefffff for DMA (drivers/iommu/intel/iommu.c)" },
	{ NULL },
};

static const struct fn_known known_owner[] = {
	{ (const char *const[]){ "heap blocks", NULL }, "heap blocks",
	  "by design: ioas_new() goes on when iommufd_record_add_owner() cannot allocate, and "
	  "the context records the ioas's maps itself (one block fewer)" },
	{ NULL },
};

#define SWEEP(...)                                                                       \
	do {                                                                             \
		struct fn_case c_ = { __VA_ARGS__ };                                     \
		struct fn_result res_;                                                   \
		ASSERT_OK(fn_sweep_both(&c_, &res_));                                    \
		EXPECT_EQ(res_.leaks, 0);                                                \
		EXPECT_EQ(res_.bad, 0);                                                  \
	} while (0)

static void td_none(void *p)
{
	(void)p;
}

/* ---- open and bind ---- */

static int call_open(void *p)
{
	struct edu *e = p;

	return iommufd_device_open(e->ctx, e->bdf, &e->dev);
}

static void td_close(void *p)
{
	struct edu *e = p;

	e->dev = iommufd_device_close(e->dev);
	if (e->fd >= 0)
		close(e->fd);
	e->fd = -1;
}

static int setup_cdev_fd(void *p)
{
	struct edu *e = p;
	char path[64];
	int r = iommufd_device_cdev_path(e->bdf, path, sizeof(path));

	if (r < 0)
		return r;
	e->fd = open(path, O_RDWR | O_CLOEXEC);
	return e->fd < 0 ? -errno : 0;
}

static int call_from_fd(void *p)
{
	struct edu *e = p;
	int r = iommufd_device_from_fd(e->ctx, e->fd, IOMMUFD_CTX_FD_OWN, 0, &e->dev);

	if (!r)
		e->fd = -1;	/* the device's now */
	return r;
}

TEST(open_and_bind)
{
	struct edu e;

	ENV_OPEN(&e, false);
	SWEEP(.name = "iommufd_device_open", .self = &e, .call = call_open, .teardown = td_close,
	      .state = st_edu);
	SWEEP(.name = "iommufd_device_from_fd", .self = &e, .setup = setup_cdev_fd,
	      .call = call_from_fd, .teardown = td_close, .state = st_edu);
	env_close(&e);
}

/* ---- attach, replace, detach ---- */

static int call_attach(void *p)
{
	struct edu *e = p;

	return iommufd_device_attach(e->dev, e->ioas);
}

static void td_detach(void *p)
{
	struct edu *e = p;

	if (iommufd_device_pt_id(e->dev))
		iommufd_device_detach(e->dev);
	if (e->hwpt)
		iommufd_destroy(e->ctx, e->hwpt);
	e->hwpt = 0;
}

static int call_replace(void *p)
{
	struct edu *e = p;

	return iommufd_device_attach(e->dev, e->ioas2);
}

static int call_detach(void *p)
{
	struct edu *e = p;

	return iommufd_device_detach(e->dev);
}

static int setup_hwpt(void *p)
{
	struct edu *e = p;

	return iommufd_hwpt_alloc(e->ctx, iommufd_device_id(e->dev), e->ioas, NULL, &e->hwpt);
}

static int call_attach_hwpt(void *p)
{
	struct edu *e = p;

	return iommufd_device_attach(e->dev, e->hwpt);
}

static int call_hwpt_alloc(void *p)
{
	struct edu *e = p;

	return iommufd_hwpt_alloc(e->ctx, iommufd_device_id(e->dev), e->ioas, NULL, &e->hwpt);
}

static int call_attach_auto(void *p)
{
	struct edu *e = p;
	int r = iommufd_device_attach_auto(e->dev, e->ioas, 0, &e->out);

	if (!r)
		e->hwpt = e->out;
	return r;
}

static int call_hw_info(void *p)
{
	struct edu *e = p;
	struct iommufd_hw_info info = { .sz = sizeof(info) };

	return iommufd_get_hw_info(e->ctx, iommufd_device_id(e->dev), &info);
}

/* A map into the VT-d page table of the attached device. */
static int call_map(void *p)
{
	struct edu *e = p;
	uint64_t iova = X;
	int r = iommufd_ioas_map(e->ctx, e->ioas, e->buf, LEN, &iova,
				 IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA);

	e->done = !r;
	return r;
}

static void td_unmap(void *p)
{
	struct edu *e = p;

	if (e->done)
		iommufd_ioas_unmap(e->ctx, e->ioas, X, LEN, NULL);
	e->done = false;
}

static int setup_mapped(void *p)
{
	int r = call_attach(p);

	if (!r)
		r = call_map(p);
	return r;
}

static int call_unmap(void *p)
{
	struct edu *e = p;
	int r = iommufd_ioas_unmap(e->ctx, e->ioas, X, LEN, NULL);

	if (!r)
		e->done = false;
	return r;
}

static void td_unmap_detach(void *p)
{
	td_unmap(p);
	td_detach(p);
}

static void st_mapped(void *p, struct fn_state *st)
{
	struct edu *e = p;
	uint64_t at = X;
	int r;

	st_edu(p, st);
	/* Is X mapped? A map of one page there says (naming what the record has), and is undone. */
	r = iommufd_ioas_map(e->ctx, e->ioas, e->buf, PAGE, &at,
			     IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA);
	fn_printf(st, "0x%llx: %s\n", X,
		  r == -EEXIST ? strstr(iommufd_last_error(), "overlaps") ?: "mapped" :
		  r ? strerror(-r) : "free");
	if (!r)
		iommufd_ioas_unmap(e->ctx, e->ioas, X, PAGE, NULL);
}

TEST(attach_and_map)
{
	struct edu e;

	ENV_OPEN(&e, true);
	SWEEP(.name = "iommufd_device_attach (IOAS)", .self = &e, .call = call_attach,
	      .teardown = td_detach, .state = st_edu, .nested = true, .known = known_attach);
	SWEEP(.name = "iommufd_device_attach (replace)", .self = &e, .setup = call_attach,
	      .call = call_replace, .teardown = td_detach, .state = st_edu, .known = known_attach);
	SWEEP(.name = "iommufd_device_detach", .self = &e, .setup = call_attach,
	      .call = call_detach, .teardown = td_detach, .state = st_edu);
	SWEEP(.name = "iommufd_hwpt_alloc (VT-d)", .self = &e, .call = call_hwpt_alloc,
	      .teardown = td_detach, .state = st_edu);
	SWEEP(.name = "iommufd_device_attach (HWPT)", .self = &e, .setup = setup_hwpt,
	      .call = call_attach_hwpt, .teardown = td_detach, .state = st_edu,
	      .known = known_attach);
	SWEEP(.name = "iommufd_device_attach_auto", .self = &e, .call = call_attach_auto,
	      .teardown = td_detach, .state = st_edu, .nested = true, .known = known_attach);
	SWEEP(.name = "iommufd_get_hw_info", .self = &e, .call = call_hw_info,
	      .teardown = td_none, .state = st_edu);
	SWEEP(.name = "iommufd_ioas_map (VT-d)", .self = &e, .setup = call_attach,
	      .call = call_map, .teardown = td_unmap_detach, .state = st_mapped, .nested = true);
	SWEEP(.name = "iommufd_ioas_unmap (VT-d)", .self = &e, .setup = setup_mapped,
	      .call = call_unmap, .teardown = td_unmap_detach, .state = st_mapped);
	env_close(&e);
}

/*
 * iommufd_device_attach_auto() keeps the HWPTs it made, to share them; one
 * destroyed since must not be tried again when its ID names another object.
 */
TEST(attach_auto_after_destroy)
{
	struct edu e;
	uint32_t hwpt, other, got;

	ENV_OPEN(&e, true);
	ASSERT_OK(iommufd_device_attach_auto(e.dev, e.ioas, 0, &hwpt));
	ASSERT_OK(iommufd_device_detach(e.dev));
	ASSERT_OK(iommufd_destroy(e.ctx, hwpt));
	/* The lowest free ID again: the destroyed HWPT's. */
	ASSERT_OK(iommufd_ioas_alloc(e.ctx, &other));
	ASSERT_EQ(other, hwpt);
	ASSERT_OK(iommufd_device_attach_auto(e.dev, e.ioas, 0, &got));
	ASSERT_NE(got, other);
	/* Attached to a HWPT of IOAS ioas: mapping there, not in the other IOAS, is seen. */
	ASSERT_OK(iommufd_ioas_map(e.ctx, e.ioas, e.buf, PAGE, &(uint64_t){ X },
				   IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA));
	ASSERT_ERR(EBUSY, iommufd_destroy(e.ctx, got));
	ASSERT_OK(iommufd_device_detach(e.dev));
	ASSERT_OK(iommufd_destroy(e.ctx, got));
	ASSERT_OK(iommufd_destroy(e.ctx, other));
	env_close(&e);
}

/* ---- interrupts, resets, regions ---- */

static int setup_efd(void *p)
{
	struct edu *e = p;

	e->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return e->efd < 0 ? -errno : 0;
}

static int call_irq_enable(void *p)
{
	struct edu *e = p;

	return iommufd_device_irq_enable(e->dev, IOMMUFD_PCI_MSI, 0, 1, &e->efd);
}

static void td_irq(void *p)
{
	struct edu *e = p;

	iommufd_device_irq_disable(e->dev, IOMMUFD_PCI_MSI);
	iommufd_device_irq_disable(e->dev, IOMMUFD_PCI_INTX);
	if (e->efd >= 0)
		close(e->efd);
	e->efd = -1;
}

static int setup_irq(void *p)
{
	int r = setup_efd(p);

	if (!r)
		r = call_irq_enable(p);
	return r;
}

static int call_irq_disable(void *p)
{
	struct edu *e = p;

	return iommufd_device_irq_disable(e->dev, IOMMUFD_PCI_MSI);
}

static int setup_intx(void *p)
{
	struct edu *e = p;
	int r = setup_efd(p);

	if (!r)
		r = iommufd_device_irq_enable(e->dev, IOMMUFD_PCI_INTX, 0, 1, &e->efd);
	return r;
}

static int call_irq_unmask(void *p)
{
	struct edu *e = p;

	return iommufd_device_irq_unmask(e->dev, IOMMUFD_PCI_INTX, 0);
}

static int call_irq_info(void *p)
{
	struct edu *e = p;
	struct iommufd_irq_info ii;

	return iommufd_device_irq_info(e->dev, IOMMUFD_PCI_MSI, &ii);
}

static int call_reset(void *p)
{
	struct edu *e = p;
	int r = iommufd_device_reset(e->dev);

	/* edu has no function reset of its own: that answer is its success. */
	return r == -ENOTTY ? 0 : r;
}

static int call_hot_reset(void *p)
{
	struct edu *e = p;

	return iommufd_device_hot_reset(e->dev);
}

static int call_get_info(void *p)
{
	struct edu *e = p;
	struct iommufd_device_info info;

	return iommufd_device_get_info(e->dev, &info);
}

static int call_region_info(void *p)
{
	struct edu *e = p;
	struct iommufd_region_info ri = { .sz = sizeof(ri) };

	return iommufd_device_region_info(e->dev, IOMMUFD_PCI_BAR0, &ri);
}

static int call_region_mmap(void *p)
{
	struct edu *e = p;

	return iommufd_device_region_mmap(e->dev, IOMMUFD_PCI_BAR0, 0, PAGE, PROT_READ, &e->bar);
}

static void td_bar(void *p)
{
	struct edu *e = p;

	if (e->bar)
		munmap(e->bar, PAGE);
	e->bar = NULL;
}

static int call_region_read(void *p)
{
	struct edu *e = p;
	uint32_t v;
	ssize_t n = iommufd_device_region_read(e->dev, IOMMUFD_PCI_BAR0, &v, 4, 0);

	return n == 4 ? 0 : n < 0 ? (int)n : -EIO;
}

static int call_config_read(void *p)
{
	struct edu *e = p;
	ssize_t n = iommufd_device_config_read(e->dev, 0, e->cfg, sizeof(e->cfg));

	return n == (ssize_t)sizeof(e->cfg) ? 0 : n < 0 ? (int)n : -EIO;
}

static int call_bus_master(void *p)
{
	struct edu *e = p;

	return iommufd_device_set_bus_master(e->dev, true);
}

static void td_bus_master(void *p)
{
	struct edu *e = p;

	iommufd_device_set_bus_master(e->dev, false);
}

static int call_hot_reset_info(void *p)
{
	struct edu *e = p;
	struct iommufd_reset_dep *deps = NULL;
	size_t nr = 0;
	int r = iommufd_device_hot_reset_info(e->dev, &deps, &nr);

	free(deps);
	return r < 0 ? r : nr == 1 ? 0 : -EIO;
}

static int call_hot_reset_set(void *p)
{
	struct edu *e = p;

	return iommufd_device_hot_reset_set(&e->dev, 1);
}

static int call_feature_probe(void *p)
{
	struct edu *e = p;
	uint32_t ops;

	return iommufd_device_feature_probe(e->dev, IOMMUFD_DEVICE_FEATURE_LOW_POWER_ENTRY, &ops);
}

static int call_low_power(void *p)
{
	struct edu *e = p;

	return iommufd_device_low_power_enter(e->dev, -1);
}

static void td_low_power(void *p)
{
	struct edu *e = p;

	iommufd_device_low_power_exit(e->dev);
}

TEST(device_calls)
{
	struct edu e;

	ENV_OPEN(&e, true);
	SWEEP(.name = "iommufd_device_irq_enable (MSI)", .self = &e, .setup = setup_efd,
	      .call = call_irq_enable, .teardown = td_irq, .state = st_edu);
	SWEEP(.name = "iommufd_device_irq_disable (MSI)", .self = &e, .setup = setup_irq,
	      .call = call_irq_disable, .teardown = td_irq, .state = st_edu);
	SWEEP(.name = "iommufd_device_irq_unmask (INTx)", .self = &e, .setup = setup_intx,
	      .call = call_irq_unmask, .teardown = td_irq, .state = st_edu);
	SWEEP(.name = "iommufd_device_irq_info", .self = &e, .call = call_irq_info,
	      .teardown = td_none, .state = st_edu);
	SWEEP(.name = "iommufd_device_reset", .self = &e, .call = call_reset,
	      .teardown = td_none, .state = st_edu);
	SWEEP(.name = "iommufd_device_hot_reset", .self = &e, .setup = call_attach,
	      .call = call_hot_reset, .teardown = td_detach, .state = st_edu);
	SWEEP(.name = "iommufd_device_hot_reset_info", .self = &e, .call = call_hot_reset_info,
	      .teardown = td_none, .state = st_edu);
	SWEEP(.name = "iommufd_device_hot_reset_set", .self = &e, .setup = call_attach,
	      .call = call_hot_reset_set, .teardown = td_detach, .state = st_edu);
	SWEEP(.name = "iommufd_device_feature_probe", .self = &e, .call = call_feature_probe,
	      .teardown = td_none, .state = st_edu);
	SWEEP(.name = "iommufd_device_low_power_enter", .self = &e, .call = call_low_power,
	      .teardown = td_low_power, .state = st_edu);
	SWEEP(.name = "iommufd_device_get_info", .self = &e, .call = call_get_info,
	      .teardown = td_none, .state = st_edu);
	SWEEP(.name = "iommufd_device_region_info", .self = &e, .call = call_region_info,
	      .teardown = td_none, .state = st_edu);
	SWEEP(.name = "iommufd_device_region_mmap", .self = &e, .call = call_region_mmap,
	      .teardown = td_bar, .state = st_edu);
	SWEEP(.name = "iommufd_device_region_read", .self = &e, .call = call_region_read,
	      .teardown = td_none, .state = st_edu);
	SWEEP(.name = "iommufd_device_config_read", .self = &e, .call = call_config_read,
	      .teardown = td_none, .state = st_edu);
	SWEEP(.name = "iommufd_device_set_bus_master", .self = &e, .call = call_bus_master,
	      .teardown = td_bus_master, .state = st_edu);
	env_close(&e);
}

/* ---- migration, on an mtty mdev (the kernel's sample driver that migrates) ---- */

#define MTTY_TYPE "/sys/class/mdev_bus/mtty/mdev_supported_types/mtty-1"
#define MTTY_UUID "83b8f4f2-509f-382f-3c1e-e6bfe0fa1fa1"

struct mig {
	struct iommufd_ctx *ctx;
	struct iommufd_device *dev;
	int fd;
};

static void st_mig(void *p, struct fn_state *st)
{
	struct mig *m = p;
	enum iommufd_mig_state s = IOMMUFD_MIG_NR_STATES;

	fn_state_process(st);
	iommufd_device_mig_get_state(m->dev, &s);
	fn_printf(st, "migration state %s\n", iommufd_mig_state_name(s));
}

static int call_stop_copy(void *p)
{
	struct mig *m = p;

	return iommufd_device_mig_set_state(m->dev, IOMMUFD_MIG_STOP_COPY, &m->fd);
}

static int call_resuming(void *p)
{
	struct mig *m = p;

	return iommufd_device_mig_set_state(m->dev, IOMMUFD_MIG_RESUMING, &m->fd);
}

static int call_pre_copy(void *p)
{
	struct mig *m = p;

	return iommufd_device_mig_set_state(m->dev, IOMMUFD_MIG_PRE_COPY, &m->fd);
}

static void td_mig(void *p)
{
	struct mig *m = p;

	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	/* RESUMING with no data cannot be left but by a reset. */
	iommufd_device_reset(m->dev);
}

TEST(migration_calls)
{
	char cdev[64] = "";
	struct mig m = { .fd = -1 };
	struct dirent *de;
	DIR *d;
	int r;

	alarm(900);
	r = fn_kernel_setup();
	if (r < 0)
		SKIP(return, "%s", r == -EOPNOTSUPP ?
		     "the sweeps need the plain build (AddressSanitizer)" :
		     "no kernel fault injection");
	if (access(MTTY_TYPE, F_OK))
		SKIP(return, "no mtty mdev parent");
	th_write_file("/sys/bus/mdev/devices/" MTTY_UUID "/remove", "1");
	ASSERT_OK(th_write_file(MTTY_TYPE "/create", MTTY_UUID));
	d = opendir("/sys/bus/mdev/devices/" MTTY_UUID "/vfio-dev");
	ASSERT_TRUE(d != NULL);
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "vfio", 4) && strlen(de->d_name) < 32)
			snprintf(cdev, sizeof(cdev), "/dev/vfio/devices/%.31s", de->d_name);
	closedir(d);
	ASSERT_OK(iommufd_ctx_open(NULL, &m.ctx));
	ASSERT_OK(iommufd_device_open(m.ctx, cdev, &m.dev));
	/* A failed arc walks a device that started RUNNING back to RUNNING: no state left. */
	SWEEP(.name = "iommufd_device_mig_set_state (STOP_COPY)", .self = &m,
	      .call = call_stop_copy, .teardown = td_mig, .state = st_mig);
	SWEEP(.name = "iommufd_device_mig_set_state (RESUMING)", .self = &m,
	      .call = call_resuming, .teardown = td_mig, .state = st_mig);
	SWEEP(.name = "iommufd_device_mig_set_state (PRE_COPY)", .self = &m,
	      .call = call_pre_copy, .teardown = td_mig, .state = st_mig);
	iommufd_device_close(m.dev);
	iommufd_ctx_unref(m.ctx);
	th_write_file("/sys/bus/mdev/devices/" MTTY_UUID "/remove", "1");
}

/* ---- the ioas module's device opening ---- */

static void st_open_device(void *p, struct fn_state *st)
{
	struct edu *e = p;

	fn_state_process(st);
	fn_printf(st, "ioas: %s\n", e->io ? ioas_backend_name(e->io) : "none");
}

static int call_open_device(void *p)
{
	struct edu *e = p;
	IOAS_OPTS(ioas_open_opts, o, .backend = IOAS_BACKEND_IOMMUFD, .dma_limit = EDU_DMA_LIMIT);

	return ioas_open_device(e->bdf, &o, &e->io, &e->fd);
}

static void td_open_device(void *p)
{
	struct edu *e = p;

	e->io = ioas_free(e->io);
	e->fd = -1;	/* the ioas's */
}

TEST(ioas_open_device)
{
	struct edu e;

	ENV_OPEN(&e, false);
	SWEEP(.name = "ioas_open_device (iommufd)", .self = &e, .call = call_open_device,
	      .teardown = td_open_device, .state = st_open_device, .known = known_owner);
	env_close(&e);
}

/* ---- adopting a launcher's hand-off ---- */

static int set_env_num(const char *var, const char *fmt, ...)
{
	char val[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	return setenv(var, val, 1) < 0 ? -errno : 0;
}

/* The environment iommufd-ctl exec gives, with fds of our own bound device. */
static int setup_handoff(void *p)
{
	struct edu *e = p;
	uint32_t id = iommufd_device_id(e->dev);
	int r;

	e->hfd[0] = fcntl(iommufd_ctx_fd(e->ctx), F_DUPFD_CLOEXEC, 0);
	e->hfd[1] = fcntl(iommufd_device_fd(e->dev), F_DUPFD_CLOEXEC, 0);
	if (e->hfd[0] < 0 || e->hfd[1] < 0)
		return -errno;
	r = set_env_num("IOMMUFD_FD", "%d", e->hfd[0]);
	if (!r)
		r = set_env_num("IOMMUFD_IOAS", "default=%u,other=%u", e->ioas, e->ioas2);
	if (!r)
		r = set_env_num("IOMMUFD_IOAS_ID", "%u", e->ioas);
	if (!r)
		r = set_env_num("IOMMUFD_DEVICES", "%s=%d", e->bdf, e->hfd[1]);
	if (!r)
		r = set_env_num("IOMMUFD_DEVICE_IDS", "%s=%u", e->bdf, id);
	if (!r)
		r = set_env_num("IOMMUFD_DEVICE_IOAS", "%s=%u", e->bdf, e->ioas);
	return r;
}

static int call_handoff(void *p)
{
	struct edu *e = p;
	int r = iommufd_handoff_from_env(NULL, &e->h);

	if (!r)
		e->hfd[0] = e->hfd[1] = -1;	/* the hand-off's now */
	return r;
}

static void td_handoff(void *p)
{
	struct edu *e = p;

	e->h = iommufd_handoff_free(e->h);
	for (int i = 0; i < 2; i++) {
		if (e->hfd[i] >= 0)
			close(e->hfd[i]);
		e->hfd[i] = -1;
	}
}

TEST(handoff)
{
	struct edu e;

	ENV_OPEN(&e, true);
	e.hfd[0] = e.hfd[1] = -1;
	ASSERT_OK(iommufd_device_attach(e.dev, e.ioas));
	SWEEP(.name = "iommufd_handoff_from_env", .self = &e, .setup = setup_handoff,
	      .call = call_handoff, .teardown = td_handoff, .state = st_edu);
	env_close(&e);
}

/* Last: the program's totals, and nothing the kernel complained about. */
TEST(totals)
{
	if (fn_kernel_setup() == -EOPNOTSUPP)
		SKIP(return, "the sweeps need the plain build (AddressSanitizer)");
	fn_print_totals("edu device");
	/* Whatever was failed, the kernel must not have complained. */
	EXPECT_EQ(fn_kernel_splats(), 0);
}

TEST_HARNESS_MAIN
