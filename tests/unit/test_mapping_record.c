// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The context's mapping record (libiommufd/mapping_record.c), through its
 * internal interface on a context made by hand (no /dev/iommu here): what an
 * EEXIST explanation finds, what an unmap forgets, and record owners, which
 * keep their own mappings so that each mapping is recorded once.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "../../libiommufd/internal.h"

static struct iommufd_ctx *ctx_new(void)
{
	struct iommufd_ctx *ctx = calloc(1, sizeof(*ctx));

	assert_non_null(ctx);
	pthread_mutex_init(&ctx->lock, NULL);
	return ctx;
}

static void ctx_free(struct iommufd_ctx *ctx)
{
	iommufd_record_free(ctx);
	pthread_mutex_destroy(&ctx->lock);
	free(ctx);
}

/* Is [iova, last] of IOAS @id found as the mapping [want_iova, want_last] of @want_vaddr? */
static void found(struct iommufd_ctx *ctx, uint32_t id, uint64_t iova, uint64_t last,
		  uint64_t want_iova, uint64_t want_last, uint64_t want_vaddr)
{
	uint64_t fi, fl, fv;

	assert_true(iommufd_record_find(ctx, id, iova, last, &fi, &fl, &fv));
	assert_int_equal(fi, want_iova);
	assert_int_equal(fl, want_last);
	assert_int_equal(fv, want_vaddr);
}

static bool none(struct iommufd_ctx *ctx, uint32_t id, uint64_t iova, uint64_t last)
{
	uint64_t fi, fl, fv;

	return !iommufd_record_find(ctx, id, iova, last, &fi, &fl, &fv);
}

/* A map that succeeded, as libiommufd/ioas.c records it. */
static void record(struct iommufd_ctx *ctx, uint32_t id, uint64_t iova, uint64_t length,
		   uint64_t vaddr)
{
	struct iommufd_record_entry *e;

	assert_int_equal(iommufd_record_prepare(ctx, id, &e), 0);
	assert_non_null(e);
	iommufd_record_add(ctx, id, e, iova, length, vaddr);
}

/* A map the kernel refused: its prepared entry leaves nothing behind. */
static void prepare_and_cancel(void **state)
{
	struct iommufd_ctx *ctx = ctx_new();
	struct iommufd_record_entry *e;

	(void)state;
	assert_int_equal(iommufd_record_prepare(ctx, 3, &e), 0);
	assert_int_equal(ctx->nr_records, 1);
	iommufd_record_cancel(ctx, 3, e);
	assert_int_equal(ctx->nr_records, 0);
	/* An IOAS with mappings keeps them. */
	record(ctx, 3, 0x1000, 0x1000, 0);
	assert_int_equal(iommufd_record_prepare(ctx, 3, &e), 0);
	iommufd_record_cancel(ctx, 3, e);
	found(ctx, 3, 0x1000, 0x1000, 0x1000, 0x1fff, 0);
	/* A context that records nothing prepares nothing. */
	iommufd_ctx_disable_record(ctx);
	assert_int_equal(iommufd_record_prepare(ctx, 4, &e), 0);
	assert_null(e);
	iommufd_record_add(ctx, 4, e, 0x1000, 0x1000, 0);
	iommufd_record_cancel(ctx, 4, e);
	assert_true(none(ctx, 4, 0, UINT64_MAX));
	ctx_free(ctx);
}

static void record_and_forget(void **state)
{
	struct iommufd_ctx *ctx = ctx_new();

	record(ctx, 1, 0x10000, 0x2000, 0x7000000);
	record(ctx, 1, 0x20000, 0x1000, 0);
	record(ctx, 1, 0x30000, 0x1000, 0x7100000);
	record(ctx, 2, 0x10000, 0x1000, 0x7200000);
	/* Any overlap finds the lowest mapping hit; IOASes are apart. */
	found(ctx, 1, 0x11fff, 0x30000, 0x10000, 0x11fff, 0x7000000);
	found(ctx, 1, 0x12000, 0x30000, 0x20000, 0x20fff, 0);
	found(ctx, 2, 0, UINT64_MAX, 0x10000, 0x10fff, 0x7200000);
	assert_true(none(ctx, 1, 0x12000, 0x1ffff));
	assert_true(none(ctx, 3, 0, UINT64_MAX));
	/* A second add over a recorded one (made by someone else) changes nothing. */
	record(ctx, 1, 0x11000, 0x2000, 0x7300000);
	assert_true(none(ctx, 1, 0x12000, 0x12fff));
	found(ctx, 1, 0x11000, 0x11000, 0x10000, 0x11fff, 0x7000000);
	/* An unmap forgets every mapping it overlaps, whole, and nothing else. */
	iommufd_record_remove(ctx, 1, 0x11000, 0x20000);
	assert_true(none(ctx, 1, 0, 0x2ffff));
	found(ctx, 1, 0, UINT64_MAX, 0x30000, 0x30fff, 0x7100000);
	/* Dropping an IOAS forgets it all; the top of the space is fine. */
	record(ctx, 1, UINT64_MAX - 0xfff, 0x1000, 0);
	found(ctx, 1, UINT64_MAX, UINT64_MAX, UINT64_MAX - 0xfff, UINT64_MAX, 0);
	iommufd_record_drop(ctx, 1);
	assert_true(none(ctx, 1, 0, UINT64_MAX));
	found(ctx, 2, 0x10000, 0x10000, 0x10000, 0x10fff, 0x7200000);
	ctx_free(ctx);
}

/* An owner holding a fixed list of mappings, counting how often it is asked. */
struct owner {
	struct iommufd_record_owner o;
	struct iommufd_record_hit m[4];
	int nr, asked;
};

static bool owner_find(struct iommufd_record_owner *o, uint64_t iova, uint64_t last,
		       struct iommufd_record_hit *hit)
{
	struct owner *w = (struct owner *)((char *)o - offsetof(struct owner, o));

	w->asked++;
	for (int i = 0; i < w->nr; i++) {
		if (w->m[i].iova <= last && w->m[i].last >= iova) {
			*hit = w->m[i];
			return true;
		}
	}
	return false;
}

static void owners_keep_their_own(void **state)
{
	struct owner a = { .o.find = owner_find, .nr = 1, .m = { { 0x100000, 0x1fffff, 0x9000000 } } };
	struct owner b = { .o.find = owner_find, .nr = 1, .m = { { 0x400000, 0x400fff, 0x9800000 } } };
	struct iommufd_ctx *ctx = ctx_new();

	assert_int_equal(iommufd_record_add_owner(ctx, 5, &a.o), 0);
	assert_int_equal(iommufd_record_add_owner(ctx, 5, &b.o), 0);
	/* The owner's map, in two chunks: not recorded by the context. */
	record(ctx, 5, 0x100000, 0x80000, 0x9000000);
	record(ctx, 5, 0x180000, 0x80000, 0x9080000);
	/* Anyone else's, beside it: recorded. */
	record(ctx, 5, 0x300000, 0x1000, 0x9500000);
	/* Explanations find each, the lowest first, whoever holds it. */
	found(ctx, 5, 0x1ff000, 0x1fffff, 0x100000, 0x1fffff, 0x9000000);
	found(ctx, 5, 0x200000, UINT64_MAX, 0x300000, 0x300fff, 0x9500000);
	found(ctx, 5, 0x301000, UINT64_MAX, 0x400000, 0x400fff, 0x9800000);
	found(ctx, 5, 0, UINT64_MAX, 0x100000, 0x1fffff, 0x9000000);
	/* Without its owner, the owner's mapping is not in the context's record. */
	iommufd_record_remove_owner(ctx, 5, &a.o);
	assert_true(none(ctx, 5, 0, 0x2fffff));
	assert_int_equal(iommufd_record_add_owner(ctx, 5, &a.o), 0);
	/* An unmap of the owner's range leaves the others alone. */
	iommufd_record_remove(ctx, 5, 0x100000, 0x1fffff);
	found(ctx, 5, 0x200000, 0x3fffff, 0x300000, 0x300fff, 0x9500000);
	/* Without its owners, the context holds only what it recorded. */
	iommufd_record_remove_owner(ctx, 5, &a.o);
	iommufd_record_remove_owner(ctx, 5, &b.o);
	iommufd_record_remove_owner(ctx, 5, &b.o);	/* twice: a no-op */
	assert_true(none(ctx, 5, 0x301000, UINT64_MAX));
	found(ctx, 5, 0, UINT64_MAX, 0x300000, 0x300fff, 0x9500000);
	ctx_free(ctx);
}

static void owner_lifetimes(void **state)
{
	struct owner a = { .o.find = owner_find, .nr = 1, .m = { { 0x10000, 0x10fff, 0x1000 } } };
	struct owner never = { .o.find = owner_find };
	struct iommufd_ctx *ctx = ctx_new();
	struct iommufd_record_entry *e;
	int asked;

	/* Removing an owner that was never added, of an IOAS never seen: fine. */
	iommufd_record_remove_owner(ctx, 9, &never.o);
	assert_int_equal(iommufd_record_add_owner(ctx, 7, &a.o), 0);
	/* Unmap-all (or a destroy) forgets the context's mappings; owners stay. */
	record(ctx, 7, 0x20000, 0x1000, 0);
	iommufd_record_drop(ctx, 7);
	found(ctx, 7, 0, UINT64_MAX, 0x10000, 0x10fff, 0x1000);
	/* A map that only partly lies in the owner's mapping (a stale owner) is recorded. */
	record(ctx, 7, 0x10000, 0x2000, 0x2000);
	iommufd_record_remove_owner(ctx, 7, &a.o);
	found(ctx, 7, 0, UINT64_MAX, 0x10000, 0x11fff, 0x2000);
	/* With recording off (compat/), adds are not even checked with owners. */
	assert_int_equal(iommufd_record_add_owner(ctx, 7, &a.o), 0);
	iommufd_ctx_disable_record(ctx);
	asked = a.asked;
	assert_int_equal(iommufd_record_prepare(ctx, 7, &e), 0);
	assert_null(e);
	iommufd_record_add(ctx, 7, e, 0x50000, 0x1000, 0);
	assert_int_equal(a.asked, asked);
	assert_true(none(ctx, 7, 0x50000, 0x50000));
	iommufd_record_remove_owner(ctx, 7, &a.o);
	ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(prepare_and_cancel),
		cmocka_unit_test(record_and_forget),
		cmocka_unit_test(owners_keep_their_own),
		cmocka_unit_test(owner_lifetimes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
