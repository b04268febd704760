// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The NVMe driver's status decoding (nvme/): pure logic, no device. The
 * status field's bits, the specification's names, and the errno each kind
 * of failure becomes; the tags of its async map requests.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../nvme/nvme.h"

static void status_fields(void **state)
{
	/* A CQE's status field without the phase tag: DNR, SCT 1, SC 0x08. */
	uint16_t s = 1u << 14 | 1u << 8 | 0x08;

	assert_int_equal(NVME_SC(s), 0x08);
	assert_int_equal(NVME_SCT(s), 1);
	assert_int_equal(NVME_DNR(s), 1);
	assert_int_equal(NVME_STATUS(1, 0x08), NVME_SC_INVALID_VECTOR);
	/* DNR and the other flag bits do not change the decoding. */
	assert_string_equal(nvme_status_name(s), "Invalid Interrupt Vector");
	assert_int_equal(nvme_status_errno(s), -EINVAL);
}

static void names_and_errnos(void **state)
{
	static const struct {
		uint16_t status;
		int err;
		const char *name;
	} cases[] = {
		{ NVME_STATUS(0, 0x00), 0, "Successful Completion" },
		{ NVME_SC_INVALID_OPCODE, -EOPNOTSUPP, "Invalid Command Opcode" },
		{ NVME_SC_INVALID_FIELD, -EINVAL, "Invalid Field in Command" },
		{ NVME_SC_DATA_TRANSFER_ERROR, -EFAULT, "Data Transfer Error" },
		{ NVME_SC_INVALID_NS, -ENODEV, "Invalid Namespace or Format" },
		{ NVME_SC_LBA_RANGE, -ERANGE, "LBA Out of Range" },
		{ NVME_SC_NS_NOT_READY, -EAGAIN, "Namespace Not Ready" },
		{ NVME_SC_INVALID_QID, -EINVAL, "Invalid Queue Identifier" },
		{ NVME_SC_INVALID_QSIZE, -EINVAL, "Invalid Queue Size" },
		{ NVME_STATUS(2, 0x81), -EIO, "Unrecovered Read Error" },
		{ NVME_STATUS(2, 0x86), -EACCES, "Access Denied" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_string_equal(nvme_status_name(cases[i].status), cases[i].name);
		assert_int_equal(nvme_status_errno(cases[i].status), cases[i].err);
	}
	assert_true(strstr(nvme_status_hint(NVME_SC_LBA_RANGE), "last block"));
	assert_string_equal(nvme_status_hint(NVME_STATUS(0, 0x05)), "");
}

static void unknown_statuses(void **state)
{
	/* Not in the table: named by their type, and a failure all the same. */
	assert_string_equal(nvme_status_name(NVME_STATUS(0, 0x7f)), "unknown generic status");
	assert_string_equal(nvme_status_name(NVME_STATUS(1, 0x7f)),
			    "unknown command specific status");
	assert_string_equal(nvme_status_name(NVME_STATUS(2, 0x01)),
			    "unknown media or data integrity error");
	assert_string_equal(nvme_status_name(NVME_STATUS(3, 0x01)), "unknown path related status");
	assert_string_equal(nvme_status_name(NVME_STATUS(7, 0x42)),
			    "unknown vendor specific status");
	assert_int_equal(nvme_status_errno(NVME_STATUS(7, 0x42)), -EIO);
	assert_string_equal(nvme_status_hint(NVME_STATUS(7, 0x42)), "");
}

static void map_tags(void **state)
{
	uint64_t cmd = 0;

	assert_true(nvme_is_map_cqe(NVME_MAP_TAG << 48 | 0x1000));
	assert_false(nvme_is_map_cqe(42));
	assert_false(nvme_is_map_cqe(UINT64_MAX));
	/* Not one of the driver's: refused, nothing read through it. */
	assert_int_equal(nvme_map_done(42, 0, &cmd), -EINVAL);
	assert_true(strstr(nvme_last_error(), "not a map of nvme_submit_io_map()"));
	assert_int_equal(nvme_map_done(NVME_MAP_TAG << 48, 0, &cmd), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(status_fields),
		cmocka_unit_test(names_and_errnos),
		cmocka_unit_test(unknown_statuses),
		cmocka_unit_test(map_tags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
