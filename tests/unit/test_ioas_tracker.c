// SPDX-License-Identifier: LGPL-2.1-or-later
/* The mapping tracker: lookups both ways, overlap refusal, order, threads. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <iommufd/ioas.h>

static char buf[64 * 4096] __attribute__((aligned(4096)));

static struct ioas_mapping mapping(uint64_t iova, size_t off, uint64_t len)
{
	return (struct ioas_mapping){ .iova = iova, .length = len, .vaddr = buf + off,
				      .access = IOMMUFD_MAP_RW };
}

static void lookups_at_the_edges(void **state)
{
	struct ioas_tracker *t;
	struct ioas_mapping m1 = mapping(0x10000, 0, 0x4000), got;

	assert_int_equal(ioas_tracker_new(&t), 0);
	assert_int_equal(ioas_tracker_add(t, &m1), 0);
	/* First and last byte of the buffer and of the IOVA range; one past is a miss. */
	assert_int_equal(ioas_tracker_find_vaddr(t, buf, &got), 0);
	assert_int_equal(got.iova, 0x10000);
	assert_int_equal(ioas_tracker_find_vaddr(t, buf + 0x3fff, &got), 0);
	assert_int_equal(ioas_tracker_find_vaddr(t, buf + 0x4000, &got), -ENOENT);
	assert_non_null(strstr(iommufd_last_error(), "is in no mapped buffer"));
	assert_int_equal(ioas_tracker_find_iova(t, 0x13fff, &got), 0);
	assert_ptr_equal(got.vaddr, buf);
	assert_int_equal(got.refs, 1);
	assert_int_equal(ioas_tracker_find_iova(t, 0xffff, &got), -ENOENT);
	assert_int_equal(ioas_tracker_find_iova(t, 0x14000, &got), -ENOENT);
	ioas_tracker_free(t);
}

static void overlaps_refused(void **state)
{
	struct ioas_tracker *t;
	struct ioas_mapping a = mapping(0x10000, 0, 0x4000);
	struct ioas_mapping same_iova = mapping(0x13000, 0x8000, 0x2000);
	struct ioas_mapping same_buf = mapping(0x40000, 0x3000, 0x2000);
	struct ioas_mapping ok = mapping(0x14000, 0x4000, 0x1000);
	struct ioas_tracker_stats st;

	assert_int_equal(ioas_tracker_new(&t), 0);
	assert_int_equal(ioas_tracker_add(t, &a), 0);
	assert_int_equal(ioas_tracker_add(t, &same_iova), -EEXIST);
	assert_non_null(strstr(iommufd_last_error(), "overlaps the mapping of buffer"));
	assert_non_null(strstr(iommufd_last_error(), "at IOVA 0x10000-0x13fff"));
	assert_int_equal(ioas_tracker_add(t, &same_buf), -EEXIST);
	assert_int_equal(ioas_tracker_check(t, 0x40000, buf + 0x3fff, 1), -EEXIST);
	/* Touching is not overlapping. */
	assert_int_equal(ioas_tracker_add(t, &ok), 0);
	assert_int_equal(ioas_tracker_check(t, 0x15000, buf + 0x5000, 0x1000), 0);
	/* Bad ranges. */
	ok.length = 0;
	assert_int_equal(ioas_tracker_add(t, &ok), -EINVAL);
	ok = mapping(UINT64_MAX - 10, 0x9000, 0x1000);
	assert_int_equal(ioas_tracker_add(t, &ok), -EINVAL);
	assert_int_equal(ioas_tracker_stats(t, &st), 0);
	assert_int_equal(st.mappings, 2);
	assert_int_equal(st.bytes, 0x5000);
	/* Remove by start only. */
	assert_int_equal(ioas_tracker_remove(t, 0x11000, NULL), -ENOENT);
	assert_int_equal(ioas_tracker_remove(t, 0x10000, &a), 0);
	assert_int_equal(a.length, 0x4000);
	assert_int_equal(ioas_tracker_find_vaddr(t, buf, NULL), -ENOENT);
	assert_int_equal(ioas_tracker_stats(t, &st), 0);
	assert_int_equal(st.mappings, 1);
	ioas_tracker_free(t);
}

static int collect(const struct ioas_mapping *m, void *data)
{
	uint64_t **out = data;

	*(*out)++ = m->iova;
	return m->iova == 0x70000 ? 42 : 0;
}

static void foreach_in_iova_order(void **state)
{
	static const uint64_t iovas[] = { 0x50000, 0x10000, 0x90000, 0x30000, 0x70000 };
	uint64_t seen[8] = { 0 }, *p = seen;
	struct ioas_tracker *t;

	assert_int_equal(ioas_tracker_new(&t), 0);
	for (int i = 0; i < 5; i++) {
		struct ioas_mapping m = mapping(iovas[i], i * 0x2000, 0x1000);

		assert_int_equal(ioas_tracker_add(t, &m), 0);
	}
	/* Stops at the first non-zero return, and returns it. */
	assert_int_equal(ioas_tracker_foreach(t, collect, &p), 42);
	assert_int_equal(p - seen, 4);
	assert_int_equal(seen[0], 0x10000);
	assert_int_equal(seen[1], 0x30000);
	assert_int_equal(seen[2], 0x50000);
	assert_int_equal(seen[3], 0x70000);
	ioas_tracker_free(t);
}

struct reader {
	struct ioas_tracker *t;
	int bad;
};

static void *read_loop(void *p)
{
	struct reader *r = p;
	struct ioas_mapping m;

	for (int i = 0; i < 200000; i++)
		/* Mapping 0 never goes away: every lookup of it must hit. */
		if (ioas_tracker_find_vaddr(r->t, buf + (i % 0x1000), &m) || m.iova != 0x1000000)
			r->bad++;
	return NULL;
}

static void readers_and_a_writer(void **state)
{
	struct ioas_mapping keep = mapping(0x1000000, 0, 0x1000);
	struct reader r[2];
	pthread_t th[2];
	struct ioas_tracker *t;

	assert_int_equal(ioas_tracker_new(&t), 0);
	assert_int_equal(ioas_tracker_add(t, &keep), 0);
	for (int i = 0; i < 2; i++) {
		r[i] = (struct reader){ t, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, read_loop, &r[i]), 0);
	}
	for (int i = 0; i < 20000; i++) {
		struct ioas_mapping m = mapping(0x2000000 + (i % 32) * 0x1000,
						0x1000 + (i % 32) * 0x1000, 0x1000);

		assert_int_equal(ioas_tracker_add(t, &m), 0);
		assert_int_equal(ioas_tracker_remove(t, m.iova, NULL), 0);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(r[i].bad, 0);
	}
	ioas_tracker_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lookups_at_the_edges),
		cmocka_unit_test(overlaps_refused),
		cmocka_unit_test(foreach_in_iova_order),
		cmocka_unit_test(readers_and_a_writer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
