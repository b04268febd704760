// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * iommufd_handoff_from_env() on environments that are wrong: each refused
 * with the right errno, an explanation naming the variable and the entry,
 * and nothing changed (the fds stay open and inheritable). There is no
 * /dev/iommu here: a well-formed environment gets as far as finding that
 * IOMMUFD_FD is not an iommufd (-ENOTTY).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <iommufd/iommufd.h>

/* Two open fds that are neither an iommufd nor a VFIO cdev, and one closed. */
static int null_a, null_b, closed_fd;

static int fds_setup(void **state)
{
	null_a = open("/dev/null", O_RDONLY);
	null_b = open("/dev/null", O_RDONLY);
	closed_fd = open("/dev/null", O_RDONLY);
	assert_true(null_a >= 0 && null_b >= 0 && closed_fd >= 0);
	close(closed_fd);
	return 0;
}

static int fds_teardown(void **state)
{
	close(null_a);
	close(null_b);
	return 0;
}

/*
 * Adopt from the variables given ("NAME=value" each, up to NULL; "%A" and
 * "%B" stand for the two open fds, "%C" for the closed one) and expect @err
 * with @words in the explanation.
 */
static void refused(int err, const char *words, ...)
{
	char *env[16], bufs[16][256];
	struct iommufd_handoff *h = (struct iommufd_handoff *)0x1;
	const char *v;
	va_list ap;
	int n = 0, r;

	va_start(ap, words);
	while ((v = va_arg(ap, const char *))) {
		char *o = bufs[n];

		assert_true(n < 15);
		for (; *v; v++) {
			if (v[0] == '%' && strchr("ABC", v[1])) {
				o += sprintf(o, "%d", v[1] == 'A' ? null_a : v[1] == 'B' ? null_b :
									  closed_fd);
				v++;
			} else {
				*o++ = *v;
			}
		}
		*o = '\0';
		env[n] = bufs[n];
		n++;
	}
	va_end(ap);
	env[n] = NULL;

	IOMMUFD_OPTS(iommufd_handoff_opts, opts, .envp = env);
	r = iommufd_handoff_from_env(&opts, &h);
	if (r != err || !strstr(iommufd_last_error(), words))
		fail_msg("expected %d \"%s\", got %d \"%s\"", err, words, r,
			 iommufd_last_error());
	/* Nothing changed: *ret untouched, the fds open and still inheritable. */
	assert_ptr_equal(h, (struct iommufd_handoff *)0x1);
	assert_int_equal(fcntl(null_a, F_GETFD), 0);
	assert_int_equal(fcntl(null_b, F_GETFD), 0);
}

static void no_handoff(void **state)
{
	refused(-ENOENT, "IOMMUFD_FD is not set", NULL);
	refused(-ENOENT, "IOMMUFD_FD is not set", "IOMMUFD_DEVICES=0000:00:02.0=%A", NULL);
}

static void well_formed_gets_to_the_kernel(void **state)
{
	/* The fds are open and the text is right: only the fd kinds are wrong. */
	refused(-ENOTTY, "IOMMUFD_FD=", "IOMMUFD_FD=%A", NULL);
	refused(-ENOTTY, "is not an iommufd", "IOMMUFD_FD=%A", "IOMMUFD_IOAS=default=2,b-1.x=5",
	       "IOMMUFD_IOAS_ID=5", "IOMMUFD_DEVICES=", "IOMMUFD_DEVICE_IDS=", NULL);
	refused(-ENOTTY, "is /dev/null, not a VFIO device cdev", "IOMMUFD_FD=%A",
	       "IOMMUFD_DEVICES=00:02.0=%B", "IOMMUFD_DEVICE_IDS=0000:00:02.0=1",
	       "IOMMUFD_DEVICE_IOAS=0000:00:02.0=2", NULL);
}

static void bad_fd(void **state)
{
	static const char *const bad[] = { "", "abc", "-1", "+3", " 3", "3 ", "3x", "0x3",
					    "2147483648", "99999999999999999999999" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char var[64];

		snprintf(var, sizeof(var), "IOMMUFD_FD=%s", bad[i]);
		refused(-EINVAL, "is not a file descriptor number", var, NULL);
		snprintf(var, sizeof(var), "IOMMUFD_DEVICES=0000:00:02.0=%s", bad[i]);
		refused(-EINVAL, "is not a file descriptor number", "IOMMUFD_FD=%A", var, NULL);
	}
	refused(-EBADF, "IOMMUFD_FD: fd", "IOMMUFD_FD=%C", NULL);
	refused(-EBADF, "IOMMUFD_DEVICES: 0000:00:02.0=", "IOMMUFD_FD=%A",
	       "IOMMUFD_DEVICES=0000:00:02.0=%C", "IOMMUFD_DEVICE_IDS=0000:00:02.0=1", NULL);
	refused(-EINVAL, "is IOMMUFD_FD", "IOMMUFD_FD=%A", "IOMMUFD_DEVICES=0000:00:02.0=%A",
	       "IOMMUFD_DEVICE_IDS=0000:00:02.0=1", NULL);
}

static void missing_device_id(void **state)
{
	refused(-EINVAL, "IOMMUFD_DEVICES names 0000:00:02.0 but IOMMUFD_DEVICE_IDS is not set",
	       "IOMMUFD_FD=%A", "IOMMUFD_DEVICES=0000:00:02.0=%B", NULL);
	refused(-EINVAL, "IOMMUFD_DEVICE_IDS has no ID for 0000:00:03.0", "IOMMUFD_FD=%A",
	       "IOMMUFD_DEVICES=0000:00:02.0=%B,0000:00:03.0=%C",
	       "IOMMUFD_DEVICE_IDS=0000:00:02.0=1", NULL);
	refused(-EINVAL, "0000:00:04.0 is not one of IOMMUFD_DEVICES", "IOMMUFD_FD=%A",
	       "IOMMUFD_DEVICES=0000:00:02.0=%B", "IOMMUFD_DEVICE_IDS=0000:00:04.0=1", NULL);
	refused(-EINVAL, "\"0\" is not a device ID", "IOMMUFD_FD=%A",
	       "IOMMUFD_DEVICES=0000:00:02.0=%B", "IOMMUFD_DEVICE_IDS=0000:00:02.0=0", NULL);
	refused(-EINVAL, "\"4294967296\" is not a device ID", "IOMMUFD_FD=%A",
	       "IOMMUFD_DEVICES=0000:00:02.0=%B", "IOMMUFD_DEVICE_IDS=0000:00:02.0=4294967296",
	       NULL);
}

static void garbage(void **state)
{
	refused(-EINVAL, "IOMMUFD_DEVICES: entry 1, \"junk\", is not NAME=NUMBER", "IOMMUFD_FD=%A",
	       "IOMMUFD_DEVICES=junk", NULL);
	refused(-EINVAL, "IOMMUFD_DEVICES: entry 2 of", "IOMMUFD_FD=%A",
	       "IOMMUFD_DEVICES=0000:00:02.0=%B,", NULL);
	refused(-EINVAL, "IOMMUFD_DEVICES: entry 1 of \",\" is empty", "IOMMUFD_FD=%A",
	       "IOMMUFD_DEVICES=,", NULL);
	refused(-EINVAL, "\"zz:00.0\" is not a PCI address", "IOMMUFD_FD=%A",
	       "IOMMUFD_DEVICES=zz:00.0=%B", NULL);
	refused(-EINVAL, "\"=5\" is not a file descriptor number", "IOMMUFD_FD=%A",
	       "IOMMUFD_DEVICES=0000:00:02.0==5", NULL);
	refused(-EINVAL, "entry 1 is longer than", "IOMMUFD_FD=%A",
	       "IOMMUFD_IOAS=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1", NULL);
	refused(-EINVAL, "\"a b\" is not an IOAS name", "IOMMUFD_FD=%A", "IOMMUFD_IOAS=a b=2",
	       NULL);
	refused(-EINVAL, "\"\" is not an IOAS name", "IOMMUFD_FD=%A", "IOMMUFD_IOAS==2", NULL);
	refused(-EINVAL, "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" is not an IOAS name", "IOMMUFD_FD=%A",
	       "IOMMUFD_IOAS=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=2", NULL);
	refused(-EINVAL, "\"two\" is not an IOAS ID", "IOMMUFD_FD=%A", "IOMMUFD_IOAS=a=two", NULL);
	refused(-EINVAL, "IOMMUFD_IOAS_ID=\"2a\" is not an IOAS ID", "IOMMUFD_FD=%A",
	       "IOMMUFD_IOAS_ID=2a", NULL);
	refused(-EINVAL, "IOMMUFD_IOAS_ID=7 is not one of IOMMUFD_IOAS", "IOMMUFD_FD=%A",
	       "IOMMUFD_IOAS=a=2", "IOMMUFD_IOAS_ID=7", NULL);
	refused(-EINVAL, "IOMMUFD_DEVICE_IOAS: 0000:00:02.0=7: IOAS 7 is not one of IOMMUFD_IOAS",
	       "IOMMUFD_FD=%A", "IOMMUFD_IOAS=a=2", "IOMMUFD_DEVICES=0000:00:02.0=%B",
	       "IOMMUFD_DEVICE_IDS=0000:00:02.0=1", "IOMMUFD_DEVICE_IOAS=0000:00:02.0=7", NULL);
	refused(-EINVAL, "\"x\" is not an IOAS ID", "IOMMUFD_FD=%A",
	       "IOMMUFD_DEVICES=0000:00:02.0=%B", "IOMMUFD_DEVICE_IOAS=0000:00:02.0=x", NULL);
}

static void duplicates(void **state)
{
	refused(-EINVAL, "IOMMUFD_DEVICES: 0000:00:02.0 appears twice", "IOMMUFD_FD=%A",
	       "IOMMUFD_DEVICES=0000:00:02.0=%A,00:02.0=%B", NULL);
	refused(-EINVAL, "IOMMUFD_DEVICE_IDS: 0000:00:02.0 appears twice", "IOMMUFD_FD=%A",
	       "IOMMUFD_DEVICES=0000:00:02.0=%B", "IOMMUFD_DEVICE_IDS=0000:00:02.0=1,00:02.0=1",
	       NULL);
	refused(-EINVAL, "IOMMUFD_DEVICE_IOAS: 0000:00:02.0 appears twice", "IOMMUFD_FD=%A",
	       "IOMMUFD_DEVICES=0000:00:02.0=%B", "IOMMUFD_DEVICE_IOAS=0000:00:02.0=2,00:02.0=3",
	       NULL);
	refused(-EINVAL, "the name appears twice", "IOMMUFD_FD=%A", "IOMMUFD_IOAS=a=2,a=3", NULL);
	refused(-EINVAL, "the ID appears twice", "IOMMUFD_FD=%A", "IOMMUFD_IOAS=a=2,b=2", NULL);
	refused(-EINVAL, "is 0000:00:02.0's too", "IOMMUFD_FD=%A",
	       "IOMMUFD_DEVICES=0000:00:02.0=%B,0000:00:03.0=%B",
	       "IOMMUFD_DEVICE_IDS=0000:00:02.0=1,0000:00:03.0=2", NULL);
}

/* Without opts the process environment is read. */
static void from_environ(void **state)
{
	struct iommufd_handoff *h = NULL;
	char fd[16];

	unsetenv("IOMMUFD_FD");
	assert_int_equal(iommufd_handoff_from_env(NULL, &h), -ENOENT);
	snprintf(fd, sizeof(fd), "%d", null_a);
	setenv("IOMMUFD_FD", fd, 1);
	setenv("IOMMUFD_DEVICES", "0000:00:02.0=x", 1);
	assert_int_equal(iommufd_handoff_from_env(NULL, &h), -EINVAL);
	assert_non_null(strstr(iommufd_last_error(), "IOMMUFD_DEVICES: \"0000:00:02.0=x\""));
	unsetenv("IOMMUFD_DEVICES");
	assert_int_equal(iommufd_handoff_from_env(NULL, &h), -ENOTTY);
	unsetenv("IOMMUFD_FD");
	assert_null(h);
}

/* The opts size rules of every opts struct. */
static void opts_sizes(void **state)
{
	struct {
		struct iommufd_handoff_opts o;
		uint64_t newer;
	} big = { .o = { .sz = sizeof(big) }, .newer = 1 };
	struct iommufd_handoff_opts small = { .sz = sizeof(size_t) };
	struct iommufd_handoff *h = NULL;

	assert_int_equal(iommufd_handoff_from_env(&small, &h), -EINVAL);
	assert_int_equal(iommufd_handoff_from_env(&big.o, &h), -E2BIG);
	assert_int_equal(iommufd_handoff_from_env(NULL, NULL), -EINVAL);
	assert_null(h);
	/* Accessors take NULL. */
	assert_null(iommufd_handoff_free(NULL));
	assert_null(iommufd_handoff_ctx(NULL));
	assert_int_equal(iommufd_handoff_ioas(NULL, NULL), 0);
	assert_null(iommufd_handoff_ioas_name(NULL, 0));
	assert_null(iommufd_handoff_device(NULL, "0000:00:02.0"));
	assert_null(iommufd_handoff_device_at(NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(no_handoff),
		cmocka_unit_test(well_formed_gets_to_the_kernel),
		cmocka_unit_test(bad_fd),
		cmocka_unit_test(missing_device_id),
		cmocka_unit_test(garbage),
		cmocka_unit_test(duplicates),
		cmocka_unit_test(from_environ),
		cmocka_unit_test(opts_sizes),
	};

	return cmocka_run_group_tests(tests, fds_setup, fds_teardown);
}
