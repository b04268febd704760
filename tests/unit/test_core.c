// SPDX-License-Identifier: LGPL-2.1-or-later
/* Core library logic that needs no /dev/iommu: opts checks, adoption, errors. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../libiommufd/internal.h"

static void open_missing_node_explains(void **state)
{
	IOMMUFD_OPTS(iommufd_open_opts, opts, .path = "/nonexistent/iommu");
	struct iommufd_ctx *ctx = (void *)1;

	assert_int_equal(iommufd_ctx_open(&opts, &ctx), -ENOENT);
	assert_ptr_equal(ctx, (void *)1);	/* untouched on failure */
	assert_non_null(strstr(iommufd_last_error(), "CONFIG_IOMMUFD"));
}

static void open_opts_size_rules(void **state)
{
	struct {
		struct iommufd_open_opts o;
		uint64_t future;
	} big = { .o = { .sz = sizeof(big), .path = "/nonexistent" }, .future = 1 };
	struct iommufd_open_opts small = { .sz = 4 };
	struct iommufd_ctx *ctx = NULL;

	/* Like the kernel's ioctls: too small is EINVAL, unknown non-zero tail E2BIG. */
	assert_int_equal(iommufd_ctx_open(&small, &ctx), -EINVAL);
	assert_int_equal(iommufd_ctx_open(&big.o, &ctx), -E2BIG);
	assert_non_null(strstr(iommufd_last_error(), "unknown non-zero field"));
	/* A zero tail is fine: the open then fails only for the path. */
	big.future = 0;
	assert_int_equal(iommufd_ctx_open(&big.o, &ctx), -ENOENT);
	assert_int_equal(iommufd_ctx_open(NULL, NULL), -EINVAL);
}

static void adopt_non_iommufd_keeps_fd(void **state)
{
	struct iommufd_ctx *ctx = NULL;
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(iommufd_ctx_from_fd(fd, IOMMUFD_CTX_FD_OWN, &ctx), -ENOTTY);
	assert_null(ctx);
	/* The caller still owns the fd after a failed adoption. */
	assert_int_equal(fcntl(fd, F_GETFD) >= 0, 1);
	close(fd);
	assert_int_equal(iommufd_ctx_from_fd(fd, 0, &ctx), -EBADF);
	assert_int_equal(iommufd_ctx_from_fd(0, 0x80, &ctx), -EINVAL);
}

static void unref_takes_null(void **state)
{
	assert_null(iommufd_ctx_unref(NULL));
	assert_null(iommufd_ctx_ref(NULL));
	assert_false(iommufd_ctx_has(NULL, IOMMUFD_FEAT_IOAS_MAP));
	assert_int_equal(iommufd_ctx_fd(NULL), -EINVAL);
}

static void calls_check_their_arguments(void **state)
{
	uint32_t id;

	assert_int_equal(iommufd_ioas_alloc(NULL, &id), -EINVAL);
	assert_non_null(strstr(iommufd_last_error(), "iommufd_ioas_alloc"));
	assert_int_equal(iommufd_destroy(NULL, 1), -EINVAL);
}

static void feature_names(void **state)
{
	assert_string_equal(iommufd_feature_name(IOMMUFD_FEAT_IOAS_MAP), "IOAS_MAP");
	assert_string_equal(iommufd_feature_name(IOMMUFD_FEAT_TEST), "TEST");
	for (int i = 0; i < IOMMUFD_FEAT_COUNT; i++)
		assert_non_null(iommufd_feature_name(i));
	assert_null(iommufd_feature_name(IOMMUFD_FEAT_COUNT));
}

static void strerror_in_iommufd_terms(void **state)
{
	char buf[256], tiny[8];

	assert_int_equal(iommufd_strerror(-EEXIST, buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "overlaps an existing mapping"));
	assert_int_equal(iommufd_strerror(EBUSY, buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "still in use"));
	assert_int_equal(iommufd_strerror(-EADDRINUSE, buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "reserved region"));
	assert_int_equal(iommufd_strerror(-ENOEXEC, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "Exec format error");
	assert_int_equal(iommufd_strerror(-EEXIST, tiny, sizeof(tiny)), -ERANGE);
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
}

/* The usable ranges QEMU's VT-d gives with aw-bits=48, around the MSI window. */
static const struct iommufd_iova_range vtd[] = {
	{ 0, 0xfedfffff },
	{ 0xfef00000, 0xffffffffffff },
};

static void reserved_gap_msi_window(void **state)
{
	uint64_t s, l;

	assert_true(iommufd_find_reserved_gap(vtd, 2, 0xfee00000, 0xfee00fff, &s, &l));
	assert_int_equal(s, 0xfee00000);
	assert_int_equal(l, 0xfeefffff);
	/* A range straddling into the window from below hits it too. */
	assert_true(iommufd_find_reserved_gap(vtd, 2, 0xfedff000, 0xfee00fff, &s, &l));
	assert_int_equal(s, 0xfee00000);
	/* Above the top of the address width. */
	assert_true(iommufd_find_reserved_gap(vtd, 2, 0x1000000000000, 0x1000000000fff, &s, &l));
	assert_int_equal(s, 0x1000000000000);
	assert_int_equal(l, UINT64_MAX);
	/* Inside a usable range: no gap. */
	assert_false(iommufd_find_reserved_gap(vtd, 2, 0x1000, 0x1fff, &s, &l));
	assert_false(iommufd_find_reserved_gap(vtd, 2, 0xfef00000, 0xffffffffffff, &s, &l));
}

static void reserved_gap_edges(void **state)
{
	const struct iommufd_iova_range high[] = { { 0x10000, UINT64_MAX } };
	const struct iommufd_iova_range all[] = { { 0, UINT64_MAX } };
	uint64_t s, l;

	assert_true(iommufd_find_reserved_gap(high, 1, 0, 0xfff, &s, &l));
	assert_int_equal(s, 0);
	assert_int_equal(l, 0xffff);
	assert_false(iommufd_find_reserved_gap(high, 1, 0x10000, UINT64_MAX, &s, &l));
	assert_false(iommufd_find_reserved_gap(all, 1, 0, UINT64_MAX, &s, &l));
	/* No usable range at all: everything is reserved. */
	assert_true(iommufd_find_reserved_gap(NULL, 0, 5, 6, &s, &l));
	assert_int_equal(s, 0);
	assert_int_equal(l, UINT64_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(open_missing_node_explains),
		cmocka_unit_test(open_opts_size_rules),
		cmocka_unit_test(adopt_non_iommufd_keeps_fd),
		cmocka_unit_test(unref_takes_null),
		cmocka_unit_test(calls_check_their_arguments),
		cmocka_unit_test(feature_names),
		cmocka_unit_test(strerror_in_iommufd_terms),
		cmocka_unit_test(reserved_gap_msi_window),
		cmocka_unit_test(reserved_gap_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
