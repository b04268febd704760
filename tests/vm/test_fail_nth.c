// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Every public call that enters the kernel, run with each of its failure
 * points made to fail in turn (fail_nth.h): kernel allocations through
 * /proc/thread-self/fail-nth, and userspace allocations, fds, mappings and
 * threads through the interposer. After each failure the call must have
 * said so, changed nothing, and work next time. Here on IOMMUFD_TEST mock
 * domains (the guest without VT-d), where the IOMMU page table and the pin
 * counts can be read back: the IOAS calls, HWPTs, dirty tracking, nesting,
 * fault queues, the ioas module and the async requests.
 * test_fail_nth_edu.c has the device calls and the compat shim.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <linux/iommufd.h>
#include "iommufd_test.h"

#include <iommufd/async.h>
#include <iommufd/ioas.h>

#include "fail_nth.h"
#include "harness.h"
#include "mock.h"

#define PAGE 4096ULL
#define LEN (64 * PAGE)			/* the buffer a call maps */
#define X MOCK_START			/* where it is mapped at a fixed IOVA */
#define K (MOCK_START + (1ULL << 20))	/* the sentinel mapping above it */
#define Y (MOCK_START + (4ULL << 20))	/* where copies go */

/* What every case works in: one context, IOASes with mock domains, buffers. */
struct env {
	struct iommufd_ctx *ctx;
	uint32_t a, b, d, e, f;		/* IOASes: a, b, f one domain each; d two; e none */
	struct mock_dev mda, mdb, mdd[2], mdf;
	uint8_t *buf;			/* LEN bytes, 2 MiB aligned */
	uint8_t *spare;			/* a page for the sentinels and probes */
	void *area;
};

static int test_cmd(struct iommufd_ctx *ctx, struct iommu_test_cmd *cmd)
{
	cmd->size = sizeof(*cmd);
	return ioctl(iommufd_ctx_fd(ctx), IOMMU_TEST_CMD, cmd) ? -errno : 0;
}

/* How many pins every page of [p, p+len) has: 0..3, or -1 if they differ. */
/* Set the 2 MiB huge page pool to @n pages: how many it then holds. */
static long set_hugepages(long n)
{
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "w+");
	long got = -1;

	if (!f)
		return -1;
	fprintf(f, "%ld\n", n);
	fflush(f);
	rewind(f);
	if (fscanf(f, "%ld", &got) != 1)
		got = -1;
	fclose(f);
	return got;
}

static int pins(struct iommufd_ctx *ctx, const void *p, uint64_t len)
{
	for (int refs = 0; refs < 4; refs++) {
		struct iommu_test_cmd cmd = {
			.op = IOMMU_TEST_OP_MD_CHECK_REFS,
			.check_refs = { .length = len, .uptr = (uintptr_t)p, .refs = refs },
		};

		if (!test_cmd(ctx, &cmd))
			return refs;
	}
	return -1;
}

/* Does the mock page table of @hwpt map [iova, +len) to @p: all, the first page only, none? */
static const char *md_map(struct iommufd_ctx *ctx, uint32_t hwpt, uint64_t iova,
			  const void *p, uint64_t len)
{
	if (!mock_check_map(ctx, hwpt, iova, len, p))
		return "mapped";
	if (!mock_check_map(ctx, hwpt, iova, MOCK_PGSIZE, p))
		return "PARTLY mapped";
	if (!mock_check_map(ctx, hwpt, iova + len - MOCK_PGSIZE, MOCK_PGSIZE,
			    (const char *)p + len - MOCK_PGSIZE))
		return "PARTLY mapped (at the end)";
	return "not mapped";
}

/*
 * The library's record of what is mapped in @ioas around @iova, asked the
 * public way: a map over [iova, sentinel end] is refused with EEXIST, and
 * the explanation names the lowest mapping the library knows there.
 */
static void record_probe(struct fn_state *st, struct env *e, uint32_t ioas, uint64_t iova,
			 uint64_t sentinel)
{
	uint64_t at = iova;
	int r = iommufd_ioas_map(e->ctx, ioas, e->spare, sentinel + PAGE - iova, &at,
				 IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA);
	const char *why = iommufd_last_error(), *hit = strstr(why, "overlaps");

	fn_printf(st, "record of IOAS %u at 0x%llx: %s\n", ioas, (unsigned long long)iova,
		  r == -EEXIST ? (hit ? hit : why) : strerror(-r));
	if (!r)
		iommufd_ioas_unmap(e->ctx, ioas, at, sentinel + PAGE - iova, NULL);
}

static void env_close(struct env *e)
{
	iommufd_ctx_unref(e->ctx);
	if (e->area && e->area != MAP_FAILED)
		munmap(e->area, LEN + (2ULL << 20) + PAGE);
}

static int env_open(struct env *e)
{
	uint64_t at;
	int r;

	memset(e, 0, sizeof(*e));
	e->area = mmap(NULL, LEN + (2ULL << 20) + PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (e->area == MAP_FAILED)
		return -errno;
	e->buf = (uint8_t *)(((uintptr_t)e->area + (2ULL << 20) - 1) & ~((2ULL << 20) - 1));
	e->spare = e->buf + LEN;
	memset(e->buf, 0x5a, LEN + PAGE);
	r = iommufd_ctx_open(NULL, &e->ctx);
	if (r < 0)
		return r;
	if (!iommufd_ctx_has(e->ctx, IOMMUFD_FEAT_TEST))
		return -EOPNOTSUPP;
	if ((r = iommufd_ioas_alloc(e->ctx, &e->a)) < 0 ||
	    (r = iommufd_ioas_alloc(e->ctx, &e->b)) < 0 ||
	    (r = iommufd_ioas_alloc(e->ctx, &e->d)) < 0 ||
	    (r = iommufd_ioas_alloc(e->ctx, &e->e)) < 0 ||
	    (r = iommufd_ioas_alloc(e->ctx, &e->f)) < 0 ||
	    (r = mock_domain(e->ctx, e->a, 0, &e->mda)) < 0 ||
	    (r = mock_domain(e->ctx, e->b, 0, &e->mdb)) < 0 ||
	    (r = mock_domain(e->ctx, e->d, 0, &e->mdd[0])) < 0 ||
	    (r = mock_domain(e->ctx, e->d, 0, &e->mdd[1])) < 0 ||
	    (r = mock_domain(e->ctx, e->f, 0, &e->mdf)) < 0)
		return r;
	/* The sentinels the record probes hit. */
	at = K;
	r = iommufd_ioas_map(e->ctx, e->a, e->spare, PAGE, &at,
			     IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA);
	if (!r) {
		at = K;
		r = iommufd_ioas_map(e->ctx, e->d, e->spare, PAGE, &at,
				     IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA);
	}
	if (!r) {
		at = Y + (1ULL << 20);
		r = iommufd_ioas_map(e->ctx, e->b, e->spare, PAGE, &at,
				     IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA);
	}
	return r;
}

/* A sweep runs a call hundreds of times: more than the harness's 60 s per test. */
#define ENV_OPEN(e)                                                                      \
	do {                                                                             \
		int r_;                                                                  \
		alarm(900);                                                              \
		r_ = fn_kernel_setup();                                                  \
		if (r_ < 0)                                                              \
			SKIP(return, "%s", r_ == -EOPNOTSUPP ?                           \
			     "the sweeps need the plain build (AddressSanitizer)" :             \
			     "no kernel fault injection");    \
		r_ = env_open(e);                                                        \
		if (r_ == -EOPNOTSUPP) {                                                 \
			env_close(e);                                                    \
			SKIP(return, "kernel without CONFIG_IOMMUFD_TEST");              \
		}                                                                        \
		ASSERT_OK(r_);                                                           \
	} while (0)

/* Sweep both kinds of failure points of a case; nothing may be left behind. */
#define SWEEP(...)                                                                       \
	do {                                                                             \
		struct fn_case c_ = { __VA_ARGS__ };                                     \
		struct fn_result res_;                                                   \
		ASSERT_OK(fn_sweep_both(&c_, &res_));                                    \
		EXPECT_EQ(res_.leaks, 0);                                                \
		EXPECT_EQ(res_.bad, 0);                                                  \
	} while (0)

/*
 * Problems found by these sweeps, reported and not fixed yet (see
 * Documentation/testing.md): each is matched narrowly, counted and shown.
 */
/* ---- the IOAS calls ---- */

struct core {
	struct env *e;
	uint32_t ioas, hwpt, hwpt2;	/* where the call maps, its domain(s) */
	uint64_t iova;
	bool done;			/* the call succeeded: teardown undoes it */
	bool copied;			/* a copy was made, at val in IOAS b */
	uint32_t id;
	struct iommufd_iova_range *ranges;
	size_t nr;
	uint64_t val;
};

static void st_core(void *p, struct fn_state *st)
{
	struct core *c = p;
	struct env *e = c->e;

	fn_state_process(st);
	fn_state_ids(st, e->ctx);
	fn_printf(st, "pins of the buffer: %d\n", pins(e->ctx, e->buf, LEN));
	fn_printf(st, "buffer at 0x%llx in domain %u: %s\n", (unsigned long long)X, c->hwpt,
		  md_map(e->ctx, c->hwpt, X, e->buf, LEN));
	if (c->hwpt2)
		fn_printf(st, "buffer at 0x%llx in domain %u: %s\n", (unsigned long long)X,
			  c->hwpt2, md_map(e->ctx, c->hwpt2, X, e->buf, LEN));
	fn_printf(st, "copy at 0x%llx in domain %u: %s\n", (unsigned long long)Y, e->mdb.hwpt_id,
		  md_map(e->ctx, e->mdb.hwpt_id, Y, e->buf, LEN));
	if (c->ioas == e->a || c->ioas == e->d)
		record_probe(st, e, c->ioas, X, K);
	record_probe(st, e, e->b, Y, Y + (1ULL << 20));
	/* Where the kernel chose: a map over the mapping itself names it, if recorded. */
	if (c->done && c->iova != X)
		record_probe(st, e, c->ioas, c->iova, c->iova + LEN - PAGE);
	if (c->copied && c->val != Y)
		record_probe(st, e, e->b, c->val, c->val + LEN - PAGE);
}

static void st_ids(void *p, struct fn_state *st)
{
	struct core *c = p;

	fn_state_process(st);
	fn_state_ids(st, c->e->ctx);
}

static int map_fixed(struct env *e, uint32_t ioas, void *buf, uint64_t len, uint64_t iova)
{
	return iommufd_ioas_map(e->ctx, ioas, buf, len, &iova,
				IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA);
}

static int call_alloc(void *p)
{
	struct core *c = p;
	int r = iommufd_ioas_alloc(c->e->ctx, &c->id);

	c->done = !r;
	return r;
}

static void td_destroy(void *p)
{
	struct core *c = p;

	if (c->done)
		iommufd_destroy(c->e->ctx, c->id);
	c->done = false;
}

static int call_map_fixed(void *p)
{
	struct core *c = p;
	int r = map_fixed(c->e, c->ioas, c->e->buf, LEN, X);

	c->done = !r;
	c->iova = X;
	return r;
}

static int call_map_any(void *p)
{
	struct core *c = p;
	int r = iommufd_ioas_map(c->e->ctx, c->ioas, c->e->buf, LEN, &c->iova, IOMMUFD_MAP_RW);

	c->done = !r;
	return r;
}

static void td_unmap(void *p)
{
	struct core *c = p;

	if (c->done)
		iommufd_ioas_unmap(c->e->ctx, c->ioas, c->iova, LEN, NULL);
	c->done = false;
}

static int setup_mapped(void *p)
{
	struct core *c = p;

	c->iova = X;
	c->done = true;
	return map_fixed(c->e, c->ioas, c->e->buf, LEN, X);
}

static int call_unmap(void *p)
{
	struct core *c = p;
	uint64_t done = 0;
	int r = iommufd_ioas_unmap(c->e->ctx, c->ioas, X, LEN, &done);

	if (!r) {
		c->done = false;
		if (done != LEN)
			return iommufd_set_last_error(-EIO, "unmapped 0x%llx, not 0x%llx",
						      (unsigned long long)done, LEN);
	}
	return r;
}

static int call_unmap_all(void *p)
{
	struct core *c = p;
	uint64_t done = 0;
	int r = iommufd_ioas_unmap_all(c->e->ctx, c->ioas, &done);

	if (!r)
		c->done = false;
	return r;
}

static int call_copy_fixed(void *p)
{
	struct core *c = p;
	uint64_t to = Y;
	int r = iommufd_ioas_copy(c->e->ctx, c->e->b, &to, c->ioas, X, LEN,
				  IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA);

	c->val = to;
	c->copied = !r;
	return r;
}

static int call_copy_any(void *p)
{
	struct core *c = p;
	uint64_t to = 0;
	int r = iommufd_ioas_copy(c->e->ctx, c->e->b, &to, c->ioas, X, LEN, IOMMUFD_MAP_RW);

	c->val = to;
	c->copied = !r;
	return r;
}

static void td_copy(void *p)
{
	struct core *c = p;

	if (c->copied)
		iommufd_ioas_unmap(c->e->ctx, c->e->b, c->val, LEN, NULL);
	c->copied = false;
	td_unmap(p);
}

TEST(ioas_calls)
{
	struct env e;
	struct core c = { .e = &e };

	ENV_OPEN(&e);
	c.ioas = e.a;
	c.hwpt = e.mda.hwpt_id;
	SWEEP(.name = "iommufd_ioas_alloc", .self = &c, .call = call_alloc,
	      .teardown = td_destroy, .state = st_ids);
	SWEEP(.name = "iommufd_ioas_map (fixed IOVA)", .self = &c, .call = call_map_fixed,
	      .teardown = td_unmap, .state = st_core, .nested = true);
	SWEEP(.name = "iommufd_ioas_map (kernel's IOVA)", .self = &c, .call = call_map_any,
	      .teardown = td_unmap, .state = st_core);
	SWEEP(.name = "iommufd_ioas_unmap", .self = &c, .setup = setup_mapped,
	      .call = call_unmap, .teardown = td_unmap, .state = st_core, .nested = true);
	SWEEP(.name = "iommufd_ioas_copy (fixed IOVA)", .self = &c, .setup = setup_mapped,
	      .call = call_copy_fixed, .teardown = td_copy, .state = st_core, .nested = true);
	SWEEP(.name = "iommufd_ioas_copy (kernel's IOVA)", .self = &c, .setup = setup_mapped,
	      .call = call_copy_any, .teardown = td_copy, .state = st_core);
	/* Two domains to fill and unwind. */
	c.ioas = e.d;
	c.hwpt = e.mdd[0].hwpt_id;
	c.hwpt2 = e.mdd[1].hwpt_id;
	SWEEP(.name = "iommufd_ioas_map (two domains)", .self = &c, .call = call_map_fixed,
	      .teardown = td_unmap, .state = st_core, .nested = true);
	SWEEP(.name = "iommufd_ioas_unmap (two domains)", .self = &c, .setup = setup_mapped,
	      .call = call_unmap, .teardown = td_unmap, .state = st_core);
	/* IOAS f: nothing else mapped there (unmap_all takes everything). */
	c.ioas = e.f;
	c.hwpt = e.mdf.hwpt_id;
	c.hwpt2 = 0;
	SWEEP(.name = "iommufd_ioas_unmap_all", .self = &c, .setup = setup_mapped,
	      .call = call_unmap_all, .teardown = td_unmap, .state = st_core);
	env_close(&e);
}

static void st_ranges(void *p, struct fn_state *st)
{
	struct core *c = p;
	struct iommufd_iova_range *r = NULL;
	uint64_t align = 0;
	size_t nr = 0;

	fn_state_process(st);
	fn_state_ids(st, c->e->ctx);
	if (iommufd_ioas_iova_ranges(c->e->ctx, c->ioas, &r, &nr, &align) < 0)
		fn_printf(st, "ranges: %s\n", iommufd_last_error());
	for (size_t i = 0; i < nr; i++)
		fn_printf(st, "range 0x%llx-0x%llx\n", (unsigned long long)r[i].start,
			  (unsigned long long)r[i].last);
	fn_printf(st, "alignment 0x%llx\n", (unsigned long long)align);
	free(r);
}

static int call_allow(void *p)
{
	struct core *c = p;
	struct iommufd_iova_range r[2] = { { MOCK_START, MOCK_START + (16ULL << 20) - 1 },
					   { MOCK_START + (64ULL << 20), MOCK_LAST } };
	int ret = iommufd_ioas_allow_iovas(c->e->ctx, c->ioas, r, 2);

	c->done = !ret;
	return ret;
}

static void td_allow(void *p)
{
	struct core *c = p;

	if (c->done)
		iommufd_ioas_allow_iovas(c->e->ctx, c->ioas, NULL, 0);
	c->done = false;
}

static int call_ranges(void *p)
{
	struct core *c = p;
	int r = iommufd_ioas_iova_ranges(c->e->ctx, c->ioas, &c->ranges, &c->nr, NULL);

	if (!r && c->nr != 1)
		return iommufd_set_last_error(-EIO, "%zu ranges", c->nr);
	return r;
}

static void td_ranges(void *p)
{
	struct core *c = p;

	free(c->ranges);
	c->ranges = NULL;
}

static void st_option(void *p, struct fn_state *st)
{
	struct core *c = p;
	uint64_t v = 99;

	st_ids(p, st);
	iommufd_option_get(c->e->ctx, IOMMUFD_OPTION_HUGE_PAGES, c->ioas, &v);
	fn_printf(st, "huge pages of IOAS %u: %llu\n", c->ioas, (unsigned long long)v);
}

static int call_option_set(void *p)
{
	struct core *c = p;
	int r = iommufd_option_set(c->e->ctx, IOMMUFD_OPTION_HUGE_PAGES, c->ioas, 0);

	c->done = !r;
	return r;
}

static void td_option(void *p)
{
	struct core *c = p;

	if (c->done)
		iommufd_option_set(c->e->ctx, IOMMUFD_OPTION_HUGE_PAGES, c->ioas, 1);
	c->done = false;
}

static int call_option_get(void *p)
{
	struct core *c = p;

	return iommufd_option_get(c->e->ctx, IOMMUFD_OPTION_HUGE_PAGES, c->ioas, &c->val);
}

static void td_none(void *p)
{
	(void)p;
}

static int setup_alloc(void *p)
{
	struct core *c = p;

	c->done = true;
	return iommufd_ioas_alloc(c->e->ctx, &c->id);
}

static int call_destroy(void *p)
{
	struct core *c = p;
	int r = iommufd_destroy(c->e->ctx, c->id);

	if (!r)
		c->done = false;
	return r;
}

static void st_vfio_ioas(void *p, struct fn_state *st)
{
	struct core *c = p;
	uint32_t id = 0;

	st_ids(p, st);
	fn_printf(st, "compat IOAS: %d %u\n", iommufd_vfio_ioas_get(c->e->ctx, &id), id);
}

static int call_vfio_ioas_set(void *p)
{
	struct core *c = p;
	int r = iommufd_vfio_ioas_set(c->e->ctx, c->ioas);

	c->done = !r;
	return r;
}

static void td_vfio_ioas(void *p)
{
	struct core *c = p;

	if (c->done)
		iommufd_vfio_ioas_clear(c->e->ctx);
	c->done = false;
}

static int setup_vfio_ioas(void *p)
{
	struct core *c = p;

	c->done = true;
	return iommufd_vfio_ioas_set(c->e->ctx, c->ioas);
}

static int call_vfio_ioas_get(void *p)
{
	struct core *c = p;

	return iommufd_vfio_ioas_get(c->e->ctx, &c->id);
}

static int call_vfio_ioas_clear(void *p)
{
	struct core *c = p;
	int r = iommufd_vfio_ioas_clear(c->e->ctx);

	if (!r)
		c->done = false;
	return r;
}

/* A context of its own: RLIMIT_MODE changes only before anything is pinned. */
static void st_ctx(void *p, struct fn_state *st)
{
	struct core *c = p;
	uint64_t v = 99;

	fn_state_process(st);
	if (c->e->ctx) {
		fn_state_ids(st, c->e->ctx);
		iommufd_option_get(c->e->ctx, IOMMUFD_OPTION_RLIMIT_MODE, 0, &v);
		fn_printf(st, "rlimit mode: %llu\n", (unsigned long long)v);
	}
}

static int call_ctx_open(void *p)
{
	struct core *c = p;

	return iommufd_ctx_open(NULL, &c->e->ctx);
}

static void td_ctx(void *p)
{
	struct core *c = p;

	c->e->ctx = iommufd_ctx_unref(c->e->ctx);
}

static int setup_ctx(void *p)
{
	return call_ctx_open(p);
}

static int call_rlimit_mode(void *p)
{
	struct core *c = p;

	return iommufd_option_set(c->e->ctx, IOMMUFD_OPTION_RLIMIT_MODE, 0, 1);
}

static int call_ctx_from_fd(void *p)
{
	struct core *c = p;
	int fd = open("/dev/iommu", O_RDWR | O_CLOEXEC), r;

	if (fd < 0)
		return iommufd_set_last_error(-errno, "open /dev/iommu: %s", strerror(errno));
	r = iommufd_ctx_from_fd(fd, IOMMUFD_CTX_FD_OWN, &c->e->ctx);
	if (r < 0)
		close(fd);
	return r;
}

TEST(ioas_more_calls)
{
	struct env e, e2 = { 0 };
	struct core c = { .e = &e }, c2 = { .e = &e2 };

	ENV_OPEN(&e);
	c.ioas = e.e;
	SWEEP(.name = "iommufd_ioas_allow_iovas", .self = &c, .call = call_allow,
	      .teardown = td_allow, .state = st_ranges);
	SWEEP(.name = "iommufd_ioas_iova_ranges", .self = &c, .call = call_ranges,
	      .teardown = td_ranges, .state = st_ids);
	SWEEP(.name = "iommufd_option_set (huge pages)", .self = &c, .call = call_option_set,
	      .teardown = td_option, .state = st_option);
	SWEEP(.name = "iommufd_option_get", .self = &c, .call = call_option_get,
	      .teardown = td_none, .state = st_option);
	SWEEP(.name = "iommufd_destroy", .self = &c, .setup = setup_alloc, .call = call_destroy,
	      .teardown = td_destroy, .state = st_ids);
	SWEEP(.name = "iommufd_vfio_ioas_set", .self = &c, .call = call_vfio_ioas_set,
	      .teardown = td_vfio_ioas, .state = st_vfio_ioas);
	SWEEP(.name = "iommufd_vfio_ioas_get", .self = &c, .setup = setup_vfio_ioas,
	      .call = call_vfio_ioas_get, .teardown = td_vfio_ioas, .state = st_vfio_ioas);
	SWEEP(.name = "iommufd_vfio_ioas_clear", .self = &c, .setup = setup_vfio_ioas,
	      .call = call_vfio_ioas_clear, .teardown = td_vfio_ioas, .state = st_vfio_ioas);
	SWEEP(.name = "iommufd_ctx_open", .self = &c2, .call = call_ctx_open, .teardown = td_ctx,
	      .state = st_ctx);
	SWEEP(.name = "iommufd_ctx_from_fd", .self = &c2, .call = call_ctx_from_fd,
	      .teardown = td_ctx, .state = st_ctx);
	SWEEP(.name = "iommufd_option_set (rlimit mode)", .self = &c2, .setup = setup_ctx,
	      .call = call_rlimit_mode, .teardown = td_ctx, .state = st_ctx);
	env_close(&e);
}

/* ---- HWPTs, dirty tracking, nesting, fault queues ---- */

struct hw {
	struct env *e;
	struct mock_dev md;		/* a device of its own, on IOAS a */
	uint32_t parent, hwpt, fault_id;
	int fault_fd;
	bool done;
	uint64_t bitmap[LEN / MOCK_PGSIZE / 64];
	struct iommu_hwpt_selftest data;
	uint32_t flags;
};

static void st_hw(void *p, struct fn_state *st)
{
	struct hw *h = p;

	fn_state_process(st);
	fn_state_ids(st, h->e->ctx);
}

static int call_hwpt_alloc(void *p)
{
	struct hw *h = p;
	IOMMUFD_OPTS(iommufd_hwpt_alloc_opts, o, .flags = h->flags);
	int r = iommufd_hwpt_alloc(h->e->ctx, h->md.idev_id, h->e->a, &o, &h->hwpt);

	h->done = !r;
	return r;
}

static void td_hwpt(void *p)
{
	struct hw *h = p;

	if (h->done)
		iommufd_destroy(h->e->ctx, h->hwpt);
	h->done = false;
	if (h->parent)
		iommufd_destroy(h->e->ctx, h->parent);
	h->parent = 0;
	/* The queue's fd holds the object: close it first. */
	if (h->fault_fd > 0) {
		close(h->fault_fd);
		iommufd_destroy(h->e->ctx, h->fault_id);
	}
	h->fault_fd = 0;
}

static int setup_parent(void *p)
{
	struct hw *h = p;
	IOMMUFD_OPTS(iommufd_hwpt_alloc_opts, o, .flags = IOMMUFD_HWPT_NEST_PARENT);

	return iommufd_hwpt_alloc(h->e->ctx, h->md.idev_id, h->e->a, &o, &h->parent);
}

static int call_nested_alloc(void *p)
{
	struct hw *h = p;
	IOMMUFD_OPTS(iommufd_hwpt_alloc_opts, o, .data_type = IOMMU_HWPT_DATA_SELFTEST,
		     .data_len = sizeof(h->data), .data = &h->data);
	int r;

	h->data.iotlb = IOMMU_TEST_IOTLB_DEFAULT;
	r = iommufd_hwpt_alloc(h->e->ctx, h->md.idev_id, h->parent, &o, &h->hwpt);
	h->done = !r;
	return r;
}

static int setup_nested(void *p)
{
	int r = setup_parent(p);

	if (!r)
		r = call_nested_alloc(p);
	return r;
}

static void st_iotlb(void *p, struct fn_state *st)
{
	struct hw *h = p;

	st_hw(p, st);
	for (uint32_t i = 0; i < MOCK_NESTED_DOMAIN_IOTLB_NUM; i++)
		fn_printf(st, "iotlb %u: %s\n", i,
			  !mock_check_iotlb(h->e->ctx, h->hwpt, i, IOMMU_TEST_IOTLB_DEFAULT) ?
			  "default" : !mock_check_iotlb(h->e->ctx, h->hwpt, i, 0) ? "0" : "?");
}

static int call_invalidate(void *p)
{
	struct hw *h = p;
	struct iommu_hwpt_invalidate_selftest inv[2] = { { .iotlb_id = 1 }, { .iotlb_id = 2 } };
	uint32_t n = 2;
	int r = iommufd_hwpt_invalidate(h->e->ctx, h->hwpt, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
					inv, sizeof(inv[0]), &n);

	if (!r && n != 2)
		return iommufd_set_last_error(-EIO, "%u entries handled", n);
	return r;
}

static int setup_fault_queue(void *p)
{
	struct hw *h = p;
	int r = iommufd_fault_queue_alloc(h->e->ctx, &h->fault_id, &h->fault_fd);

	if (!r)
		r = setup_parent(p);
	return r;
}

static int call_fault_queue(void *p)
{
	struct hw *h = p;

	return iommufd_fault_queue_alloc(h->e->ctx, &h->fault_id, &h->fault_fd);
}

static int call_iopf_alloc(void *p)
{
	struct hw *h = p;
	IOMMUFD_OPTS(iommufd_hwpt_alloc_opts, o, .flags = IOMMUFD_HWPT_FAULT_ID_VALID,
		     .fault_id = h->fault_id, .data_type = IOMMU_HWPT_DATA_SELFTEST,
		     .data_len = sizeof(h->data), .data = &h->data);
	int r;

	h->data.iotlb = IOMMU_TEST_IOTLB_DEFAULT;
	r = iommufd_hwpt_alloc(h->e->ctx, h->md.idev_id, h->parent, &o, &h->hwpt);
	h->done = !r;
	return r;
}

/* Dirty tracking on a HWPT of IOAS d... of its own IOAS with the buffer mapped. */
static void st_dirty(void *p, struct fn_state *st)
{
	struct hw *h = p;
	uint64_t bm[LEN / MOCK_PGSIZE / 64] = { 0 };
	int r;

	st_hw(p, st);
	r = iommufd_hwpt_get_dirty_bitmap(h->e->ctx, h->hwpt, X, LEN, MOCK_PGSIZE, bm,
					  IOMMUFD_DIRTY_NO_CLEAR);
	fn_printf(st, "dirty bitmap: %s", r ? strerror(-r) : "");
	for (size_t i = 0; !r && i < sizeof(bm) / sizeof(bm[0]); i++)
		fn_printf(st, " %016llx", (unsigned long long)bm[i]);
	fn_printf(st, "\n");
}

static int setup_dirty_hwpt(void *p)
{
	struct hw *h = p;
	IOMMUFD_OPTS(iommufd_hwpt_alloc_opts, o, .flags = IOMMUFD_HWPT_DIRTY_TRACKING);
	int r = iommufd_hwpt_alloc(h->e->ctx, h->md.idev_id, h->e->d, &o, &h->hwpt);

	h->done = !r;
	if (!r)
		r = map_fixed(h->e, h->e->d, h->e->buf, LEN, X);
	return r;
}

static void td_dirty(void *p)
{
	struct hw *h = p;

	iommufd_ioas_unmap(h->e->ctx, h->e->d, X, LEN, NULL);
	td_hwpt(p);
}

static int call_dirty_on(void *p)
{
	struct hw *h = p;

	return iommufd_hwpt_set_dirty_tracking(h->e->ctx, h->hwpt, true);
}

static int setup_dirty_on(void *p)
{
	int r = setup_dirty_hwpt(p);

	if (!r)
		r = call_dirty_on(p);
	return r;
}

static int call_dirty_off(void *p)
{
	struct hw *h = p;

	return iommufd_hwpt_set_dirty_tracking(h->e->ctx, h->hwpt, false);
}

static int setup_dirty_bits(void *p)
{
	struct hw *h = p;
	uint64_t nr;
	int r = setup_dirty_on(p);

	memset(h->bitmap, 0, sizeof(h->bitmap));
	for (uint64_t i = 0; i < LEN / MOCK_PGSIZE; i += 3)
		h->bitmap[i / 64] |= 1ULL << (i % 64);
	if (!r)
		r = mock_set_dirty(h->e->ctx, h->hwpt, X, LEN, MOCK_PGSIZE, h->bitmap, &nr);
	return r;
}

static int call_dirty_read(void *p)
{
	struct hw *h = p;

	memset(h->bitmap, 0, sizeof(h->bitmap));
	return iommufd_hwpt_get_dirty_bitmap(h->e->ctx, h->hwpt, X, LEN, MOCK_PGSIZE, h->bitmap,
					     h->flags);
}

TEST(hwpt_calls)
{
	struct env e;
	struct hw h = { .e = &e };

	ENV_OPEN(&e);
	/* The mock device of the HWPT cases attaches to a HWPT only through the test op. */
	ASSERT_OK(mock_domain(e.ctx, e.e, 0, &h.md));
	SWEEP(.name = "iommufd_hwpt_alloc (paging)", .self = &h, .call = call_hwpt_alloc,
	      .teardown = td_hwpt, .state = st_hw);
	h.flags = IOMMUFD_HWPT_NEST_PARENT;
	SWEEP(.name = "iommufd_hwpt_alloc (nest parent)", .self = &h, .call = call_hwpt_alloc,
	      .teardown = td_hwpt, .state = st_hw);
	h.flags = IOMMUFD_HWPT_DIRTY_TRACKING;
	SWEEP(.name = "iommufd_hwpt_alloc (dirty tracking)", .self = &h, .call = call_hwpt_alloc,
	      .teardown = td_hwpt, .state = st_hw);
	SWEEP(.name = "iommufd_hwpt_alloc (nested)", .self = &h, .setup = setup_parent,
	      .call = call_nested_alloc, .teardown = td_hwpt, .state = st_hw);
	SWEEP(.name = "iommufd_hwpt_invalidate", .self = &h, .setup = setup_nested,
	      .call = call_invalidate, .teardown = td_hwpt, .state = st_iotlb);
	SWEEP(.name = "iommufd_fault_queue_alloc", .self = &h, .call = call_fault_queue,
	      .teardown = td_hwpt, .state = st_hw);
	SWEEP(.name = "iommufd_hwpt_alloc (fault queue)", .self = &h, .setup = setup_fault_queue,
	      .call = call_iopf_alloc, .teardown = td_hwpt, .state = st_hw);
	SWEEP(.name = "iommufd_hwpt_set_dirty_tracking (on)", .self = &h,
	      .setup = setup_dirty_hwpt, .call = call_dirty_on, .teardown = td_dirty,
	      .state = st_dirty);
	SWEEP(.name = "iommufd_hwpt_set_dirty_tracking (off)", .self = &h,
	      .setup = setup_dirty_on, .call = call_dirty_off, .teardown = td_dirty,
	      .state = st_dirty);
	h.flags = IOMMUFD_DIRTY_NO_CLEAR;
	SWEEP(.name = "iommufd_hwpt_get_dirty_bitmap (no clear)", .self = &h,
	      .setup = setup_dirty_bits, .call = call_dirty_read, .teardown = td_dirty,
	      .state = st_dirty);
	h.flags = 0;
	SWEEP(.name = "iommufd_hwpt_get_dirty_bitmap", .self = &h, .setup = setup_dirty_bits,
	      .call = call_dirty_read, .teardown = td_dirty, .state = st_dirty);
	env_close(&e);
}

/* ---- the ioas module ---- */

struct mod {
	struct env *e;
	struct ioas *io;		/* on IOAS d (two mock domains), or e (none) */
	uint32_t hwpt[2];
	uint64_t iova;
	bool done;
	struct ioas *made;
	struct ioas_dma_buf *dma;
	unsigned int dma_flags;
	void *vaddr;
};

/* Unmap what the call mapped at @iova, with every reference it took. */
static void unmap_all_refs(struct ioas *io, uint64_t iova)
{
	while (!ioas_unmap(io, iova))
		;
}

static int tracker_line(const struct ioas_mapping *m, void *data)
{
	struct fn_state *st = data;

	fn_printf(st, "tracked: iova 0x%llx len 0x%llx vaddr %p access %u refs %u\n",
		  (unsigned long long)m->iova, (unsigned long long)m->length, m->vaddr, m->access,
		  m->refs);
	return 0;
}

struct check_arg {
	struct mod *m;
	struct fn_state *st;
};

/* Every tracked mapping must be in every domain, pinned. */
static int tracker_check(const struct ioas_mapping *m, void *data)
{
	struct check_arg *a = data;

	for (int i = 0; i < 2; i++)
		if (a->m->hwpt[i])
			fn_printf(a->st, "  0x%llx in domain %u: %s\n", (unsigned long long)m->iova,
				  a->m->hwpt[i],
				  md_map(a->m->e->ctx, a->m->hwpt[i], m->iova, m->vaddr,
					 m->length));
	fn_printf(a->st, "  0x%llx pins: %d\n", (unsigned long long)m->iova,
		  pins(a->m->e->ctx, m->vaddr, m->length));
	return 0;
}

static void st_mod(void *p, struct fn_state *st)
{
	struct mod *m = p;
	struct ioas_iova_stats s;
	struct ioas_tracker_stats ts;
	struct check_arg a = { m, st };

	fn_state_process(st);
	fn_state_ids(st, m->e->ctx);
	fn_printf(st, "pins of the buffer: %d\n", pins(m->e->ctx, m->e->buf, LEN));
	for (int i = 0; i < 2; i++)
		if (m->hwpt[i])
			fn_printf(st, "buffer at its IOVA 0x%llx in domain %u: %s\n",
				  (unsigned long long)m->iova, m->hwpt[i],
				  md_map(m->e->ctx, m->hwpt[i], m->iova, m->e->buf, LEN));
	ioas_tracker_foreach(ioas_get_tracker(m->io), tracker_line, st);
	ioas_tracker_foreach(ioas_get_tracker(m->io), tracker_check, &a);
	ioas_tracker_stats(ioas_get_tracker(m->io), &ts);
	fn_printf(st, "tracker: %llu mappings, %llu bytes\n", (unsigned long long)ts.mappings,
		  (unsigned long long)ts.bytes);
	ioas_iova_stats(ioas_get_allocator(m->io), &s);
	/* Freed ranges the fast path keeps count as live: what is in use is the rest. */
	fn_printf(st, "allocator: %llu in use, %llu cached, %llu reserved\n",
		  (unsigned long long)(s.live - s.cached), (unsigned long long)s.cached,
		  (unsigned long long)s.reserved);
}

static int call_ioas_map(void *p)
{
	struct mod *m = p;
	int r = ioas_map(m->io, m->e->buf, LEN, IOMMUFD_MAP_RW, &m->iova);

	m->done = !r;
	return r;
}

static void td_ioas_unmap(void *p)
{
	struct mod *m = p;

	if (m->done)
		unmap_all_refs(m->io, m->iova);
	m->done = false;
}

static int setup_ioas_mapped(void *p)
{
	return call_ioas_map(p);
}

static int call_ioas_unmap(void *p)
{
	struct mod *m = p;
	int r = ioas_unmap(m->io, m->iova);

	if (!r)
		m->done = false;
	return r;
}

static int call_ioas_unmap_vaddr(void *p)
{
	struct mod *m = p;
	int r = ioas_unmap_vaddr(m->io, m->e->buf);

	if (!r)
		m->done = false;
	return r;
}

/* The same buffer again: a reference, no kernel call. */
static int call_ioas_map_again(void *p)
{
	struct mod *m = p;
	uint64_t iova;
	int r = ioas_map(m->io, m->e->buf, LEN, IOMMUFD_MAP_RW, &iova);

	if (!r && iova != m->iova)
		return iommufd_set_last_error(-EIO, "mapped again at another IOVA");
	return r;
}

static int call_ioas_map_identity(void *p)
{
	struct mod *m = p;
	int r = ioas_map_identity(m->io, m->e->buf, LEN, IOMMUFD_MAP_RW);

	m->done = !r;
	m->iova = (uintptr_t)m->e->buf;
	return r;
}

static int call_dma_alloc(void *p)
{
	struct mod *m = p;
	IOAS_OPTS(ioas_dma_opts, o, .flags = m->dma_flags);

	return ioas_dma_alloc(m->io, 16 * PAGE, &o, &m->dma);
}

static void td_dma(void *p)
{
	struct mod *m = p;

	m->dma = ioas_dma_free(m->io, m->dma);
}

static int call_dma_free(void *p)
{
	struct mod *m = p;

	m->dma = ioas_dma_free(m->io, m->dma);
	return m->dma ? -errno : 0;
}

static int call_refresh(void *p)
{
	struct mod *m = p;

	return ioas_refresh_ranges(m->io);
}

static void st_ioas_new(void *p, struct fn_state *st)
{
	struct mod *m = p;

	fn_state_process(st);
	fn_state_ids(st, m->e->ctx);
	record_probe(st, m->e, m->e->a, X, K);
}

static int call_ioas_new(void *p)
{
	struct mod *m = p;

	return ioas_new(m->e->ctx, NULL, &m->made);
}

static int call_ioas_adopt(void *p)
{
	struct mod *m = p;
	IOAS_OPTS(ioas_opts, o, .ioas_id = m->e->a);

	return ioas_new(m->e->ctx, &o, &m->made);
}

static void td_ioas_new(void *p)
{
	struct mod *m = p;

	m->made = ioas_free(m->made);
}

static void st_free(void *p, struct fn_state *st)
{
	struct mod *m = p;

	fn_state_process(st);
	fn_state_ids(st, m->e->ctx);
	fn_printf(st, "pins of the buffer: %d\n", pins(m->e->ctx, m->e->buf, LEN));
}

static int setup_free(void *p)
{
	struct mod *m = p;
	int r = ioas_new(m->e->ctx, NULL, &m->made);

	if (!r)
		r = ioas_map(m->made, m->e->buf, LEN, IOMMUFD_MAP_RW, &m->iova);
	return r;
}

static int call_ioas_free(void *p)
{
	struct mod *m = p;

	m->made = ioas_free(m->made);
	return 0;
}

TEST(ioas_module)
{
	struct env e;
	struct mod m = { .e = &e };

	ENV_OPEN(&e);
	ASSERT_OK(ioas_new(e.ctx, &(struct ioas_opts){ .sz = sizeof(struct ioas_opts),
						       .ioas_id = e.d }, &m.io));
	m.hwpt[0] = e.mdd[0].hwpt_id;
	m.hwpt[1] = e.mdd[1].hwpt_id;
	SWEEP(.name = "ioas_map", .self = &m, .call = call_ioas_map, .teardown = td_ioas_unmap,
	      .state = st_mod, .nested = true);
	SWEEP(.name = "ioas_map (mapped already)", .self = &m, .setup = setup_ioas_mapped,
	      .call = call_ioas_map_again, .teardown = td_ioas_unmap, .state = st_mod);
	SWEEP(.name = "ioas_unmap", .self = &m, .setup = setup_ioas_mapped,
	      .call = call_ioas_unmap, .teardown = td_ioas_unmap, .state = st_mod,
	      .nested = true);
	SWEEP(.name = "ioas_unmap_vaddr", .self = &m, .setup = setup_ioas_mapped,
	      .call = call_ioas_unmap_vaddr, .teardown = td_ioas_unmap, .state = st_mod,
	      .nested = true);
	SWEEP(.name = "ioas_dma_alloc", .self = &m, .call = call_dma_alloc, .teardown = td_dma,
	      .state = st_mod, .nested = true);
	m.dma_flags = IOAS_DMA_MEMFD;
	SWEEP(.name = "ioas_dma_alloc (memfd)", .self = &m, .call = call_dma_alloc,
	      .teardown = td_dma, .state = st_mod);
	/*
	 * Each huge-page path on its own, with the pool set: with pages free and
	 * IOAS_DMA_FALLBACK, an injected failure would rightly end in small pages.
	 */
	set_hugepages(0);
	m.dma_flags = IOAS_DMA_HUGE_2M | IOAS_DMA_FALLBACK;
	SWEEP(.name = "ioas_dma_alloc (huge, fallback)", .self = &m, .call = call_dma_alloc,
	      .teardown = td_dma, .state = st_mod);
	if (set_hugepages(2) == 2) {
		m.dma_flags = IOAS_DMA_HUGE_2M;
		SWEEP(.name = "ioas_dma_alloc (huge)", .self = &m, .call = call_dma_alloc,
		      .teardown = td_dma, .state = st_mod);
	} else {
		printf("# no 2 MiB huge pages to reserve: ioas_dma_alloc (huge) not swept\n");
	}
	set_hugepages(0);
	m.dma_flags = 0;
	SWEEP(.name = "ioas_dma_free", .self = &m, .setup = call_dma_alloc, .call = call_dma_free,
	      .teardown = td_dma, .state = st_mod, .nested = true);
	SWEEP(.name = "ioas_refresh_ranges", .self = &m, .call = call_refresh,
	      .teardown = td_none, .state = st_mod);
	SWEEP(.name = "ioas_new", .self = &m, .call = call_ioas_new, .teardown = td_ioas_new,
	      .state = st_ioas_new, .nested = true);
	SWEEP(.name = "ioas_new (adopting an IOAS)", .self = &m, .call = call_ioas_adopt,
	      .teardown = td_ioas_new, .state = st_ioas_new);
	SWEEP(.name = "ioas_free", .self = &m, .setup = setup_free, .call = call_ioas_free,
	      .teardown = td_ioas_new, .state = st_free);
	m.io = ioas_free(m.io);

	/* Identity maps need the whole address space: the IOAS with no domain. */
	ASSERT_OK(ioas_new(e.ctx, &(struct ioas_opts){ .sz = sizeof(struct ioas_opts),
						       .ioas_id = e.e }, &m.io));
	m.hwpt[0] = m.hwpt[1] = 0;
	SWEEP(.name = "ioas_map_identity", .self = &m, .call = call_ioas_map_identity,
	      .teardown = td_ioas_unmap, .state = st_mod);
	m.io = ioas_free(m.io);
	env_close(&e);
}

/* ---- the async requests ---- */

struct as {
	struct mod m;
	struct iommufd_async *a;
	struct iommufd_async_opts opts;
	pid_t worker;
	uint64_t ud;
	uint64_t iova;
	struct ioas_dma_buf *dma;
	bool mapped;
};

static const char *as_explain(void *p)
{
	static char buf[512];
	struct as *s = p;

	return iommufd_async_explain(s->a, s->ud, buf, sizeof(buf));
}

/* Submit the request prepared by @prep and wait for its completion. */
static int as_run(struct as *s, void (*prep)(struct as *s, struct iommufd_async_sqe *sqe))
{
	struct iommufd_async_sqe *sqe = iommufd_async_get_sqe(s->a);
	struct iommufd_async_cqe cqe;
	int r;

	if (!sqe)
		return iommufd_set_last_error(-errno, "no request slot: %s", strerror(errno));
	prep(s, sqe);
	iommufd_async_sqe_set_data(sqe, ++s->ud);
	r = iommufd_async_submit(s->a);
	if (r != 1)
		return iommufd_set_last_error(r < 0 ? r : -EIO, "submit: %d", r);
	r = iommufd_async_wait_cqe(s->a, &cqe);
	if (r < 0)
		return r;
	if (cqe.user_data != s->ud)
		return iommufd_set_last_error(-EIO, "completion of 0x%llx, not 0x%llx",
					      (unsigned long long)cqe.user_data,
					      (unsigned long long)s->ud);
	/* Exactly one completion per request. */
	if (iommufd_async_peek_cqe(s->a, &cqe) != -EAGAIN)
		return iommufd_set_last_error(-EIO, "a second completion");
	return cqe.res;
}

static void st_as(void *p, struct fn_state *st)
{
	struct as *s = p;
	struct iommufd_async_sqe *sqe[4];
	struct iommufd_async_cqe cqe;
	int n = 0, got = 0;

	st_mod(&s->m, st);
	/* Every request slot is free again: take them all, complete them unprepared. */
	while (n < 4 && (sqe[n] = iommufd_async_get_sqe(s->a)))
		iommufd_async_sqe_set_data(sqe[n++], 0);
	if (n)
		iommufd_async_submit(s->a);
	while (got < n && !iommufd_async_wait_cqe(s->a, &cqe))
		got++;
	fn_printf(st, "request slots free: %d (completed %d)\n", n, got);
}

static void prep_map(struct as *s, struct iommufd_async_sqe *sqe)
{
	iommufd_async_prep_map(sqe, s->m.io, s->m.e->buf, LEN, IOMMUFD_MAP_RW, &s->iova);
}

static int call_as_map(void *p)
{
	struct as *s = p;
	int r = as_run(s, prep_map);

	s->mapped = !r;
	s->m.iova = s->iova;
	return r;
}

static void td_as(void *p)
{
	struct as *s = p;

	if (s->mapped)
		unmap_all_refs(s->m.io, s->iova);
	s->mapped = false;
	s->dma = ioas_dma_free(s->m.io, s->dma);
}

static int setup_as_mapped(void *p)
{
	struct as *s = p;
	int r = ioas_map(s->m.io, s->m.e->buf, LEN, IOMMUFD_MAP_RW, &s->iova);

	s->mapped = !r;
	s->m.iova = s->iova;
	return r;
}

static void prep_unmap(struct as *s, struct iommufd_async_sqe *sqe)
{
	iommufd_async_prep_unmap(sqe, s->m.io, s->iova);
}

static int call_as_unmap(void *p)
{
	struct as *s = p;
	int r = as_run(s, prep_unmap);

	if (!r)
		s->mapped = false;
	return r;
}

static void prep_unmap_vaddr(struct as *s, struct iommufd_async_sqe *sqe)
{
	iommufd_async_prep_unmap_vaddr(sqe, s->m.io, s->m.e->buf);
}

static int call_as_unmap_vaddr(void *p)
{
	struct as *s = p;
	int r = as_run(s, prep_unmap_vaddr);

	if (!r)
		s->mapped = false;
	return r;
}

static void prep_copy(struct as *s, struct iommufd_async_sqe *sqe)
{
	s->m.vaddr = (void *)(uintptr_t)Y;
	iommufd_async_prep_copy(sqe, s->m.e->ctx, s->m.e->b, (uint64_t *)&s->m.vaddr,
				ioas_id(s->m.io), s->iova, LEN,
				IOMMUFD_MAP_RW | IOMMUFD_MAP_FIXED_IOVA);
}

static int call_as_copy(void *p)
{
	struct as *s = p;
	int r = as_run(s, prep_copy);

	s->m.done = !r;
	return r;
}

static void st_as_copy(void *p, struct fn_state *st)
{
	struct as *s = p;

	st_as(p, st);
	fn_printf(st, "copy at 0x%llx in domain %u: %s\n", (unsigned long long)Y,
		  s->m.e->mdb.hwpt_id, md_map(s->m.e->ctx, s->m.e->mdb.hwpt_id, Y, s->m.e->buf, LEN));
	record_probe(st, s->m.e, s->m.e->b, Y, Y + (1ULL << 20));
}

static void td_as_copy(void *p)
{
	struct as *s = p;

	if (s->m.done)
		iommufd_ioas_unmap(s->m.e->ctx, s->m.e->b, Y, LEN, NULL);
	s->m.done = false;
	td_as(p);
}

static void prep_dma_alloc(struct as *s, struct iommufd_async_sqe *sqe)
{
	iommufd_async_prep_dma_alloc(sqe, s->m.io, 16 * PAGE, NULL, &s->dma);
}

static int call_as_dma_alloc(void *p)
{
	struct as *s = p;

	return as_run(s, prep_dma_alloc);
}

static int setup_as_dma(void *p)
{
	struct as *s = p;

	return ioas_dma_alloc(s->m.io, 16 * PAGE, NULL, &s->dma);
}

static void prep_dma_free(struct as *s, struct iommufd_async_sqe *sqe)
{
	iommufd_async_prep_dma_free(sqe, s->m.io, s->dma);
}

static int call_as_dma_free(void *p)
{
	struct as *s = p;
	int r;

	r = as_run(s, prep_dma_free);

	if (!r)
		s->dma = NULL;
	return r;
}

static pid_t as_thread(void *p)
{
	struct as *s = p;

	return s->worker;
}

/* The worker thread the pool started: the one task not there before. */
static pid_t new_task(const int *before, int n)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/task");
	pid_t found = 0;

	while (d && (de = readdir(d))) {
		int t = atoi(de->d_name), i;

		for (i = 0; i < n && before[i] != t; i++)
			;
		if (t && i == n)
			found = t;
	}
	if (d)
		closedir(d);
	return found;
}

static int tasks(int *out, int max)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/task");
	int n = 0;

	while (d && (de = readdir(d)))
		if (atoi(de->d_name) && n < max)
			out[n++] = atoi(de->d_name);
	if (d)
		closedir(d);
	return n;
}

static void sweep_requests(struct as *s, const char *mode)
{
	char name[7][96];
	int i = 0;

#define NAME(what) (snprintf(name[i], sizeof(name[i]), "async %s (%s)", what, mode), name[i++])
	SWEEP(.name = NAME("map"), .self = s, .call = call_as_map, .teardown = td_as,
	      .state = st_as, .explain = as_explain, .thread = as_thread, .nested = true);
	SWEEP(.name = NAME("unmap"), .self = s, .setup = setup_as_mapped, .call = call_as_unmap,
	      .teardown = td_as, .state = st_as, .explain = as_explain, .thread = as_thread,
	      .nested = true);
	SWEEP(.name = NAME("unmap_vaddr"), .self = s, .setup = setup_as_mapped,
	      .call = call_as_unmap_vaddr, .teardown = td_as, .state = st_as,
	      .explain = as_explain, .thread = as_thread);
	SWEEP(.name = NAME("copy"), .self = s, .setup = setup_as_mapped, .call = call_as_copy,
	      .teardown = td_as_copy, .state = st_as_copy, .explain = as_explain,
	      .thread = as_thread);
	SWEEP(.name = NAME("dma_alloc"), .self = s, .call = call_as_dma_alloc, .teardown = td_as,
	      .state = st_as, .explain = as_explain, .thread = as_thread);
	SWEEP(.name = NAME("dma_free"), .self = s, .setup = setup_as_dma,
	      .call = call_as_dma_free, .teardown = td_as, .state = st_as, .explain = as_explain,
	      .thread = as_thread, .nested = true);
#undef NAME
}

static void st_as_new(void *p, struct fn_state *st)
{
	struct as *s = p;

	int n, same = 0, last = -1;

	fn_state_process(st);
	/* A joined thread leaves /proc a moment after pthread_join(): wait until it did. */
	for (int i = 0; i < 200 && same < 5; i++) {
		n = tasks((int[64]){ 0 }, 64);
		same = n == last ? same + 1 : 0;
		last = n;
		usleep(1000);
	}
	fn_printf(st, "threads: %d\n", last);
	if (s->a)
		fn_printf(st, "mode: %s\n", iommufd_async_is_sync(s->a) ? "synchronous" : "io_uring");
}

static int call_as_new(void *p)
{
	struct as *s = p;

	return iommufd_async_new(NULL, &s->opts, &s->a);
}

static const char *as_new_explain(void *p)
{
	(void)p;
	return iommufd_last_error();
}

static void td_as_new(void *p)
{
	struct as *s = p;

	s->a = iommufd_async_free(s->a);
}

TEST(async_requests)
{
	struct env e;
	struct as s = { .m.e = &e };
	int before[64], n;

	ENV_OPEN(&e);
	ASSERT_OK(ioas_new(e.ctx, &(struct ioas_opts){ .sz = sizeof(struct ioas_opts),
						       .ioas_id = e.a }, &s.m.io));
	s.m.hwpt[0] = e.mda.hwpt_id;
	s.opts = (struct iommufd_async_opts){ .sz = sizeof(s.opts), .queue_depth = 4,
					      .workers = 1 };
	SWEEP(.name = "iommufd_async_new", .self = &s, .call = call_as_new, .teardown = td_as_new,
	      .state = st_as_new, .explain = as_new_explain);

	/* Synchronous: every request runs in submit. */
	s.opts.flags = IOMMUFD_ASYNC_SYNC;
	ASSERT_OK(iommufd_async_new(NULL, &s.opts, &s.a));
	sweep_requests(&s, "synchronous");
	s.a = iommufd_async_free(s.a);

	/* On a ring: small requests run inline, in the submitting thread. */
	s.opts.flags = 0;
	s.opts.inline_max = 4 * LEN;
	ASSERT_OK(iommufd_async_new(NULL, &s.opts, &s.a));
	if (iommufd_async_is_sync(s.a))
		SKIP(goto out, "no io_uring: %s", iommufd_async_describe(s.a));
	sweep_requests(&s, "inline");
	s.a = iommufd_async_free(s.a);

	/* On the worker: its thread's failure points. */
	s.opts.flags = IOMMUFD_ASYNC_NO_INLINE;
	s.opts.inline_max = 0;
	n = tasks(before, 64);
	ASSERT_OK(iommufd_async_new(NULL, &s.opts, &s.a));
	s.worker = new_task(before, n);
	ASSERT_NE(s.worker, 0);
	sweep_requests(&s, "worker");
out:
	s.a = iommufd_async_free(s.a);
	s.m.io = ioas_free(s.m.io);
	env_close(&e);
}

/* Last: the program's totals, and nothing the kernel complained about. */
TEST(totals)
{
	if (fn_kernel_setup() == -EOPNOTSUPP)
		SKIP(return, "the sweeps need the plain build (AddressSanitizer)");
	fn_print_totals("mock domains");
	/* Whatever was failed, the kernel must not have complained. */
	EXPECT_EQ(fn_kernel_splats(), 0);
}

TEST_HARNESS_MAIN
