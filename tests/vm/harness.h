/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small test harness in the style of the kernel's kselftest harness, for
 * programs that run inside the test guest.
 *
 *	FIXTURE(ioas) { int fd; uint32_t ioas_id; };
 *	FIXTURE_VARIANT(ioas) { bool hugepages; };	(optional)
 *	FIXTURE_VARIANT_ADD(ioas, huge) { .hugepages = true };
 *	FIXTURE_SETUP(ioas) { self->fd = open(...); ASSERT_LE(0, self->fd); }
 *	FIXTURE_TEARDOWN(ioas) { close(self->fd); }
 *	TEST_F(ioas, map_fixed_overlap) { ASSERT_ERR(EEXIST, map(...)); }
 *	TEST(standalone) { ... }
 *	TEST_HARNESS_MAIN
 *
 * Each test (times each variant) runs in its own forked child under a timeout
 * (TEST_TIMEOUT seconds, default 60), so a crash or a hang fails that test
 * alone. Output is TAP; the exit status is 0 only when nothing failed.
 * An ASSERT_* failure ends the test (teardown still runs); EXPECT_* records
 * the failure and goes on. SKIP() ends the test as skipped with a reason.
 * Running the program with test names as arguments runs only those
 * ("fixture.test" or "fixture.test.variant", a prefix matches).
 */
#ifndef TESTS_VM_HARNESS_H
#define TESTS_VM_HARNESS_H

#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iommufd/iommufd.h>

#ifndef TEST_TIMEOUT
#define TEST_TIMEOUT 60
#endif

struct th_variant {
	const char *name;
	const void *data;
	struct th_variant *next;
};

struct th_fixture {
	const char *name;
	struct th_variant *variants;
	struct th_variant **variants_tail;
};

struct th_result {
	int failed;
	int skipped;
	char reason[256];
};

struct th_test {
	const char *name;
	struct th_fixture *fixture;
	void (*run)(struct th_result *res, const void *variant);
	struct th_test *next;
};

/* Shared state of the running child. */
extern struct th_result *th_res;
extern sigjmp_buf th_abort;
extern bool th_in_teardown;
void th_register(struct th_test *t);

#define TH_CAT2(a, b) a##b
#define TH_CAT(a, b) TH_CAT2(a, b)

/* The fixture with no fixture: plain TEST()s hang off it. */
extern struct th_fixture th_global;

#define FIXTURE(fx)                                                                       \
	struct th_variant_##fx;                                                           \
	static struct th_fixture th_fixture_##fx = { .name = #fx };                        \
	struct th_data_##fx

#define FIXTURE_VARIANT(fx) struct th_variant_##fx

#define FIXTURE_VARIANT_ADD(fx, vname)                                                    \
	static const struct th_variant_##fx th_vdata_##fx##_##vname;                      \
	static struct th_variant th_variant_obj_##fx##_##vname = {                        \
		.name = #vname, .data = &th_vdata_##fx##_##vname };                       \
	__attribute__((constructor)) static void th_vreg_##fx##_##vname(void)             \
	{                                                                                 \
		struct th_fixture *f = &th_fixture_##fx;                                  \
		if (!f->variants_tail)                                                    \
			f->variants_tail = &f->variants;                                  \
		*f->variants_tail = &th_variant_obj_##fx##_##vname;                       \
		f->variants_tail = &th_variant_obj_##fx##_##vname.next;                   \
	}                                                                                 \
	static const struct th_variant_##fx th_vdata_##fx##_##vname =

#define FIXTURE_SETUP(fx)                                                                 \
	static void th_setup_##fx(struct th_data_##fx *self,                              \
				  const struct th_variant_##fx *variant)

#define FIXTURE_TEARDOWN(fx)                                                              \
	static void th_teardown_##fx(struct th_data_##fx *self,                           \
				     const struct th_variant_##fx *variant)

#define TEST_F(fx, tname)                                                                 \
	static void th_body_##fx##_##tname(struct th_data_##fx *self,                     \
					   const struct th_variant_##fx *variant);        \
	static void th_run_##fx##_##tname(struct th_result *res, const void *v)           \
	{                                                                                 \
		struct th_data_##fx self_data;                                            \
		(void)res;                                                                \
		memset(&self_data, 0, sizeof(self_data));                                 \
		if (!sigsetjmp(th_abort, 1)) {                                            \
			th_setup_##fx(&self_data, (const struct th_variant_##fx *)v);     \
			if (!th_res->failed && !th_res->skipped)                          \
				th_body_##fx##_##tname(&self_data,                        \
						       (const struct th_variant_##fx *)v); \
		}                                                                         \
		th_in_teardown = true;                                                    \
		if (!sigsetjmp(th_abort, 1))                                              \
			th_teardown_##fx(&self_data, (const struct th_variant_##fx *)v);  \
	}                                                                                 \
	static struct th_test th_test_##fx##_##tname = {                                  \
		.name = #tname, .fixture = &th_fixture_##fx, .run = th_run_##fx##_##tname }; \
	__attribute__((constructor)) static void th_reg_##fx##_##tname(void)              \
	{                                                                                 \
		th_register(&th_test_##fx##_##tname);                                     \
	}                                                                                 \
	static void th_body_##fx##_##tname(struct th_data_##fx *self,                     \
					   const struct th_variant_##fx *variant)

#define TEST(tname)                                                                       \
	static void th_body_##tname(void);                                                \
	static void th_run_##tname(struct th_result *res, const void *v)                  \
	{                                                                                 \
		(void)res;                                                                \
		(void)v;                                                                  \
		if (!sigsetjmp(th_abort, 1))                                              \
			th_body_##tname();                                                \
	}                                                                                 \
	static struct th_test th_test_##tname = {                                         \
		.name = #tname, .fixture = &th_global, .run = th_run_##tname };           \
	__attribute__((constructor)) static void th_reg_##tname(void)                     \
	{                                                                                 \
		th_register(&th_test_##tname);                                            \
	}                                                                                 \
	static void th_body_##tname(void)

/* Report a failure at file:line; "fatal" ends the test. */
__attribute__((format(printf, 4, 5)))
void th_fail(bool fatal, const char *file, int line, const char *fmt, ...);

#define TH_CMP(fatal, a, op, b)                                                           \
	do {                                                                              \
		__typeof__(a) th_a = (a);                                                 \
		__typeof__(b) th_b = (b);                                                 \
		_Pragma("GCC diagnostic push")                                            \
		_Pragma("GCC diagnostic ignored \"-Wsign-compare\"")                     \
		bool th_ok = th_a op th_b;                                                \
		_Pragma("GCC diagnostic pop")                                             \
		if (!th_ok)                                                               \
			th_fail(fatal, __FILE__, __LINE__,                                \
				"%s %s %s: %lld vs %lld (0x%llx vs 0x%llx)", #a, #op, #b, \
				(long long)th_a, (long long)th_b,                         \
				(unsigned long long)th_a, (unsigned long long)th_b);      \
	} while (0)

#define ASSERT_EQ(a, b) TH_CMP(true, a, ==, b)
#define ASSERT_NE(a, b) TH_CMP(true, a, !=, b)
#define ASSERT_LT(a, b) TH_CMP(true, a, <, b)
#define ASSERT_LE(a, b) TH_CMP(true, a, <=, b)
#define ASSERT_GT(a, b) TH_CMP(true, a, >, b)
#define ASSERT_GE(a, b) TH_CMP(true, a, >=, b)
#define ASSERT_TRUE(a) TH_CMP(true, !!(a), ==, 1)
#define ASSERT_FALSE(a) TH_CMP(true, !!(a), ==, 0)
#define EXPECT_EQ(a, b) TH_CMP(false, a, ==, b)
#define EXPECT_NE(a, b) TH_CMP(false, a, !=, b)
#define EXPECT_TRUE(a) TH_CMP(false, !!(a), ==, 1)
#define EXPECT_FALSE(a) TH_CMP(false, !!(a), ==, 0)

/* A libiommufd call that must succeed; on failure shows the library's explanation. */
#define ASSERT_OK(expr)                                                                   \
	do {                                                                              \
		long long th_r = (expr);                                                  \
		if (th_r < 0)                                                             \
			th_fail(true, __FILE__, __LINE__, "%s = %lld (%s): %s", #expr,    \
				th_r, strerror((int)-th_r), iommufd_last_error());        \
	} while (0)

/* A call that must fail with -ERR (a libiommufd call or a -errno helper). */
#define ASSERT_ERR(err, expr)                                                             \
	do {                                                                              \
		long long th_r = (expr);                                                  \
		if (th_r != -(long long)(err))                                            \
			th_fail(true, __FILE__, __LINE__, "%s = %lld, expected -%s (%d)",  \
				#expr, th_r, #err, -(err));                               \
	} while (0)

/* The explanation of the last failure must contain @text. */
#define ASSERT_EXPLAINS(text)                                                             \
	do {                                                                              \
		if (!strstr(iommufd_last_error(), (text)))                                \
			th_fail(true, __FILE__, __LINE__,                                 \
				"explanation \"%s\" lacks \"%s\"", iommufd_last_error(),  \
				(text));                                                  \
	} while (0)

/* A raw syscall that must succeed (returns >= 0), shows errno otherwise. */
#define ASSERT_SYS(expr)                                                                  \
	do {                                                                              \
		long long th_r = (long long)(expr);                                       \
		if (th_r < 0)                                                             \
			th_fail(true, __FILE__, __LINE__, "%s failed: %s", #expr,         \
				strerror(errno));                                         \
	} while (0)

#define SKIP(statement, fmt, ...)                                                         \
	do {                                                                              \
		th_res->skipped = 1;                                                      \
		snprintf(th_res->reason, sizeof(th_res->reason), fmt, ##__VA_ARGS__);     \
		statement;                                                                \
	} while (0)

/* Informational output inside a test: a TAP comment. */
#define TH_LOG(fmt, ...) printf("#   " fmt "\n", ##__VA_ARGS__)

/*
 * Drop CAP_IPC_LOCK from this process, so that iommufd accounts pins against
 * RLIMIT_MEMLOCK as it does for an unprivileged user. 0 or -errno.
 */
int th_drop_ipc_lock(void);

/* Write @text to the file at @path (a sysfs or proc knob) in one write(): 0 or -errno. */
int th_write_file(const char *path, const char *text);

int th_main(int argc, char **argv);
#define TEST_HARNESS_MAIN                                                                 \
	int main(int argc, char **argv)                                                   \
	{                                                                                 \
		return th_main(argc, argv);                                               \
	}

#endif
