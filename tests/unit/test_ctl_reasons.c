// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * iommufd-ctl bind's list of reasons an interface is in use (netlink.c): it
 * stays inside its buffer whatever is added, names the first few addresses
 * and routes and counts the rest, and counts what did not fit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* The static helpers are the unit under test: include the file itself. */
#include "../../iommufd-ctl/netlink.c"

#define GUARD 32

/* A buffer of @len bytes followed by GUARD bytes that must stay untouched. */
struct guarded {
	char buf[2048 + GUARD];
	size_t len;
};

static void guarded_init(struct guarded *g, struct use *u, size_t len)
{
	assert_true(len + GUARD <= sizeof(g->buf));
	memset(g->buf, 0xa5, sizeof(g->buf));
	g->len = len;
	if (len)
		g->buf[0] = '\0';
	*u = (struct use){ .why = g->buf, .len = len };
}

static void guarded_check(const struct guarded *g, const struct use *u)
{
	for (size_t i = g->len; i < g->len + GUARD; i++)
		assert_int_equal((unsigned char)g->buf[i], 0xa5);
	if (g->len) {
		assert_true(u->off < g->len);
		assert_int_equal(strlen(g->buf), u->off);
	}
}

static int count(const char *s, const char *needle)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* 100 reasons into 128 bytes: a prefix of them, whole, then the count of the rest. */
static void many_reasons_stay_inside(void **state)
{
	struct guarded g;
	struct use u;
	char tail[64];
	int shown;

	guarded_init(&g, &u, 128);
	for (int i = 0; i < 100; i++)
		reason(&u, "route 10.2.%d.0/24 in table 100", i);
	finish(&u);
	guarded_check(&g, &u);
	assert_int_equal(u.reasons, 100);
	shown = count(g.buf, "route 10.2.");
	assert_int_equal(shown, 2);
	assert_int_equal(u.dropped, 100 - shown);
	snprintf(tail, sizeof(tail), "; ... and %d more reasons", 100 - shown);
	assert_string_equal(g.buf + strlen(g.buf) - strlen(tail), tail);
	assert_int_equal(strncmp(g.buf, "route 10.2.0.0/24 in table 100", 30), 0);
}

/* A reason longer than the buffer is not cut in half: it is counted. */
static void long_reason_is_counted_not_cut(void **state)
{
	struct guarded g;
	struct use u;
	char big[200];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	guarded_init(&g, &u, 64);
	reason(&u, "%s", big);
	finish(&u);
	guarded_check(&g, &u);
	assert_string_equal(g.buf, "... and 1 more reasons");
	assert_int_equal(u.reasons, 1);
}

/* Nothing fits at all: still terminated, nothing written past the end. */
static void tiny_buffers(void **state)
{
	struct guarded g;
	struct use u;

	for (size_t len = 1; len < 48; len++) {
		guarded_init(&g, &u, len);
		for (int i = 0; i < 10; i++)
			reason(&u, "link eth%d is up", i);
		finish(&u);
		guarded_check(&g, &u);
		assert_int_equal(u.reasons, 10);
	}
}

/* 60 routes: three named, 57 counted, as bind prints them. */
static void routes_beyond_three_are_counted(void **state)
{
	struct guarded g;
	struct use u;

	guarded_init(&g, &u, 1024);
	reason(&u, "link eth0 is up");
	for (int i = 0; i < 60; i++)
		if (!counted_only(&u, KIND_ROUTE))
			reason(&u, "route 10.2.%d.0/24 in table 100", i);
	summarise(&u, KIND_ROUTE, "route", "routes");
	reason(&u, "member of br0, which is in use (link br0 is up)");
	finish(&u);
	guarded_check(&g, &u);
	assert_string_equal(g.buf, "link eth0 is up; route 10.2.0.0/24 in table 100; "
				   "route 10.2.1.0/24 in table 100; route 10.2.2.0/24 in table 100; "
				   "... and 57 more routes; "
				   "member of br0, which is in use (link br0 is up)");
	assert_int_equal(u.reasons, 62);
	assert_int_equal(u.dropped, 0);
}

static void one_more_is_singular(void **state)
{
	struct guarded g;
	struct use u;

	guarded_init(&g, &u, 256);
	for (int i = 1; i <= 4; i++)
		if (!counted_only(&u, KIND_ADDRESS))
			reason(&u, "address 10.0.0.%d/24", i);
	summarise(&u, KIND_ADDRESS, "address", "addresses");
	finish(&u);
	guarded_check(&g, &u);
	assert_string_equal(g.buf, "address 10.0.0.1/24; address 10.0.0.2/24; "
				   "address 10.0.0.3/24; ... and 1 more address");
}

/* When the summary itself does not fit, what it counted joins the final count. */
static void summary_that_does_not_fit(void **state)
{
	struct guarded g;
	struct use u;

	guarded_init(&g, &u, 100);
	for (int i = 0; i < 60; i++)
		if (!counted_only(&u, KIND_ROUTE))
			reason(&u, "route 10.2.%d.0/24 in table 100", i);
	summarise(&u, KIND_ROUTE, "route", "routes");
	finish(&u);
	guarded_check(&g, &u);
	assert_string_equal(g.buf, "route 10.2.0.0/24 in table 100; ... and 59 more reasons");
	assert_int_equal(u.reasons, 60);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(many_reasons_stay_inside),
		cmocka_unit_test(long_reason_is_counted_not_cut),
		cmocka_unit_test(tiny_buffers),
		cmocka_unit_test(routes_beyond_three_are_counted),
		cmocka_unit_test(one_more_is_singular),
		cmocka_unit_test(summary_that_does_not_fit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
