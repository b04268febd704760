// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The migration state machine walked without a device (iommufd_mig_path()):
 * the combination transitions of the kernel's vfio_mig_get_next_state(),
 * for each set of migration flags, and the refusals with the arcs they name;
 * also the UUID parser of the VF token.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../libiommufd/device_feature.h"

#define ALL (IOMMUFD_MIG_FLAG_STOP_COPY | IOMMUFD_MIG_FLAG_P2P | IOMMUFD_MIG_FLAG_PRE_COPY)
#define S(x) IOMMUFD_MIG_##x

static void expect_path(uint32_t flags, enum iommufd_mig_state from, enum iommufd_mig_state to,
			int n, const enum iommufd_mig_state *want)
{
	enum iommufd_mig_state path[8];

	assert_int_equal(iommufd_mig_path(flags, from, to, path, 8), n);
	for (int i = 0; i < n; i++)
		assert_int_equal(path[i], want[i]);
}

static void walks(void **state)
{
	(void)state;
	/* With every optional state, as the kernel's comment lists them. */
	expect_path(ALL, S(RUNNING), S(STOP_COPY), 3,
		    (enum iommufd_mig_state[]){ S(RUNNING_P2P), S(STOP), S(STOP_COPY) });
	expect_path(ALL, S(PRE_COPY), S(STOP_COPY), 2,
		    (enum iommufd_mig_state[]){ S(PRE_COPY_P2P), S(STOP_COPY) });
	expect_path(ALL, S(RESUMING), S(PRE_COPY), 4,
		    (enum iommufd_mig_state[]){ S(STOP), S(RUNNING_P2P), S(RUNNING),
						S(PRE_COPY) });
	expect_path(ALL, S(PRE_COPY), S(RESUMING), 4,
		    (enum iommufd_mig_state[]){ S(RUNNING), S(RUNNING_P2P), S(STOP),
						S(RESUMING) });
	expect_path(ALL, S(STOP), S(STOP), 0, NULL);
	/* Without P2P and PRE_COPY the P2P states are skipped over. */
	expect_path(IOMMUFD_MIG_FLAG_STOP_COPY, S(RUNNING), S(STOP_COPY),
		    2, (enum iommufd_mig_state[]){ S(STOP), S(STOP_COPY) });
	expect_path(IOMMUFD_MIG_FLAG_STOP_COPY, S(STOP_COPY), S(RUNNING), 2,
		    (enum iommufd_mig_state[]){ S(STOP), S(RUNNING) });
	/* PRE_COPY without P2P: PRE_COPY -> STOP_COPY is one arc. */
	expect_path(IOMMUFD_MIG_FLAG_STOP_COPY | IOMMUFD_MIG_FLAG_PRE_COPY, S(PRE_COPY),
		    S(STOP_COPY), 1, (enum iommufd_mig_state[]){ S(STOP_COPY) });
	/* Too little room: the count, and the room filled. */
	{
		enum iommufd_mig_state one[1];

		assert_int_equal(iommufd_mig_path(ALL, S(RUNNING), S(RESUMING), one, 1), 3);
		assert_int_equal(one[0], S(RUNNING_P2P));
		assert_int_equal(iommufd_mig_path(ALL, S(RUNNING), S(RESUMING), NULL, 0), 3);
	}
}

static void refusals(void **state)
{
	enum iommufd_mig_state path[8];

	(void)state;
	assert_int_equal(iommufd_mig_path(ALL, S(STOP_COPY), S(PRE_COPY), path, 8), -EINVAL);
	assert_non_null(strstr(iommufd_last_error(),
			       "no arc leads from STOP_COPY to PRE_COPY; the arcs from STOP_COPY "
			       "are: STOP_COPY -> STOP"));
	assert_int_equal(iommufd_mig_path(ALL, S(STOP_COPY), S(PRE_COPY_P2P), path, 8), -EINVAL);
	/* The arcs named are those the device's flags allow. */
	assert_int_equal(iommufd_mig_path(ALL, S(RUNNING), S(ERROR), path, 8), -EINVAL);
	assert_non_null(strstr(iommufd_last_error(), "ERROR cannot be asked for"));
	assert_int_equal(iommufd_mig_path(IOMMUFD_MIG_FLAG_STOP_COPY, S(RUNNING), S(PRE_COPY),
					  path, 8), -EINVAL);
	assert_non_null(strstr(iommufd_last_error(), "has no PRE_COPY state (its migration "
			       "flags: STOP_COPY)"));
	assert_int_equal(iommufd_mig_path(ALL, S(ERROR), S(RUNNING), path, 8), -EINVAL);
	assert_non_null(strstr(iommufd_last_error(), "only a device reset leaves it"));
	assert_int_equal(iommufd_mig_path(IOMMUFD_MIG_FLAG_P2P, S(RUNNING), S(STOP), path, 8),
			 -EINVAL);
	assert_int_equal(iommufd_mig_path(ALL, S(RUNNING), 8, path, 8), -EINVAL);
	assert_int_equal(iommufd_mig_path(ALL, S(RUNNING), S(STOP), NULL, 8), -EINVAL);
	assert_string_equal(iommufd_mig_state_name(S(PRE_COPY_P2P)), "PRE_COPY_P2P");
	assert_string_equal(iommufd_mig_state_name(99), "?");
	assert_string_equal(iommufd_device_feature_name(IOMMUFD_DEVICE_FEATURE_MIG_DATA_SIZE),
			    "MIG_DATA_SIZE");
	assert_null(iommufd_device_feature_name(IOMMUFD_DEVICE_FEATURE_NR));
}

static void uuids(void **state)
{
	uint8_t u[16];

	(void)state;
	assert_int_equal(iommufd_parse_uuid("2ab74924-c335-45f4-9B16-8569e5b08258", u), 0);
	assert_int_equal(u[0], 0x2a);
	assert_int_equal(u[8], 0x9b);
	assert_int_equal(u[15], 0x58);
	assert_int_equal(iommufd_parse_uuid("2ab74924-c335-45f4-9b16-8569e5b0825", u), -EINVAL);
	assert_int_equal(iommufd_parse_uuid("2ab74924-c335-45f4-9b16-8569e5b082588", u), -EINVAL);
	assert_int_equal(iommufd_parse_uuid("2ab74924xc335-45f4-9b16-8569e5b08258", u), -EINVAL);
	assert_int_equal(iommufd_parse_uuid("2ab74924-c335-45f4-9b16-8569e5b0825g", u), -EINVAL);
	assert_int_equal(iommufd_parse_uuid("", u), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(walks),
		cmocka_unit_test(refusals),
		cmocka_unit_test(uuids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
