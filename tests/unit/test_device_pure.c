// SPDX-License-Identifier: LGPL-2.1-or-later
/* Device helpers that need no device: BDFs, sysfs lookup, capability chains, hw info. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../libiommufd/device_internal.h"

static void bdf_forms(void **state)
{
	char out[16];

	assert_int_equal(iommufd_parse_bdf("0000:01:00.0", out, sizeof(out)), 0);
	assert_string_equal(out, "0000:01:00.0");
	assert_int_equal(iommufd_parse_bdf("01:00.0", out, sizeof(out)), 0);
	assert_string_equal(out, "0000:01:00.0");
	assert_int_equal(iommufd_parse_bdf("00AB:1f:1f.7", out, sizeof(out)), 0);
	assert_string_equal(out, "00ab:1f:1f.7");
	assert_int_equal(iommufd_parse_bdf("0000:01:00.8", out, sizeof(out)), -EINVAL);
	assert_int_equal(iommufd_parse_bdf("0000:01:20.0", out, sizeof(out)), -EINVAL);
	assert_int_equal(iommufd_parse_bdf("0000:01:00.0x", out, sizeof(out)), -EINVAL);
	assert_int_equal(iommufd_parse_bdf("1:0.0", out, sizeof(out)), -EINVAL);
	assert_int_equal(iommufd_parse_bdf("", out, sizeof(out)), -EINVAL);
	assert_int_equal(iommufd_parse_bdf(NULL, out, sizeof(out)), -EINVAL);
	assert_int_equal(iommufd_parse_bdf("0000:01:00.0", out, 5), -ERANGE);
}

/* A fake /sys and /dev in a temporary directory. */
struct tree {
	char root[64], sys[96], dev[96];
};

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int tree_setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));
	char p[512];

	strcpy(t->root, "/tmp/libiommufd-sysfs.XXXXXX");
	assert_non_null(mkdtemp(t->root));
	snprintf(t->sys, sizeof(t->sys), "%s/sys", t->root);
	snprintf(t->dev, sizeof(t->dev), "%s/dev", t->root);
	/* 0000:01:00.0 on vfio-pci with cdev vfio3 (char 511:3); 0000:00:03.0 on e1000e. */
	snprintf(p, sizeof(p), "mkdir -p %s/bus/pci/devices/0000:01:00.0/vfio-dev/vfio3 "
		 "%s/bus/pci/devices/0000:00:03.0 %s/bus/pci/drivers/e1000e %s/vfio/devices",
		 t->sys, t->sys, t->sys, t->dev);
	assert_int_equal(system(p), 0);
	snprintf(p, sizeof(p), "%s/bus/pci/devices/0000:01:00.0/vfio-dev/vfio3/dev", t->sys);
	put(p, "511:3\n");
	snprintf(p, sizeof(p), "%s/bus/pci/devices/0000:00:03.0/driver", t->sys);
	assert_int_equal(symlink("../../drivers/e1000e", p), 0);
	*state = t;
	return 0;
}

static int tree_teardown(void **state)
{
	struct tree *t = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", t->root);
	assert_int_equal(system(cmd), 0);
	free(t);
	return 0;
}

static void cdev_lookup(void **state)
{
	struct tree *t = *state;
	char buf[256], node[160];

	/* The node is missing: say so. */
	assert_int_equal(iommufd_cdev_path_at(t->sys, t->dev, "01:00.0", buf, sizeof(buf)),
			 -ENOENT);
	assert_non_null(strstr(iommufd_last_error(), "does not exist"));

	/* A regular file where the char device should be is refused. */
	snprintf(node, sizeof(node), "%s/vfio/devices/vfio3", t->dev);
	put(node, "");
	assert_int_equal(iommufd_cdev_path_at(t->sys, t->dev, "01:00.0", buf, sizeof(buf)),
			 -ENODEV);
	assert_non_null(strstr(iommufd_last_error(), "not the char device 511:3"));
	unlink(node);

	/* The real thing (root can make a char node; others skip that part). */
	if (mknod(node, S_IFCHR | 0600, makedev(511, 3)) == 0) {
		assert_int_equal(iommufd_cdev_path_at(t->sys, t->dev, "01:00.0", buf,
						      sizeof(buf)), 0);
		assert_string_equal(buf, node);
		/* Too small a buffer is an error, not a truncated path. */
		assert_int_equal(iommufd_cdev_path_at(t->sys, t->dev, "01:00.0", buf, 8),
				 -ERANGE);
		unlink(node);
		/* Wrong minor. */
		assert_int_equal(mknod(node, S_IFCHR | 0600, makedev(511, 4)), 0);
		assert_int_equal(iommufd_cdev_path_at(t->sys, t->dev, "01:00.0", buf,
						      sizeof(buf)), -ENODEV);
		unlink(node);
	}

	/* A device on a host driver is named with its driver. */
	assert_int_equal(iommufd_cdev_path_at(t->sys, t->dev, "0000:00:03.0", buf, sizeof(buf)),
			 -ENODEV);
	assert_non_null(strstr(iommufd_last_error(), "bound to e1000e, not vfio-pci"));
	assert_int_equal(iommufd_cdev_path_at(t->sys, t->dev, "0000:00:09.0", buf, sizeof(buf)),
			 -ENOENT);
	assert_non_null(strstr(iommufd_last_error(), "no PCI device 0000:00:09.0"));
	assert_int_equal(iommufd_cdev_path_at(t->sys, t->dev, "eth0", buf, sizeof(buf)),
			 -EINVAL);
	assert_non_null(strstr(iommufd_last_error(), "not a PCI address"));
}

/* A capability header as VFIO lays it out. */
static void cap_at(uint8_t *buf, size_t off, uint16_t id, uint32_t next)
{
	memcpy(buf + off, &id, 2);
	memset(buf + off + 2, 0, 2);
	memcpy(buf + off + 4, &next, 4);
}

static void capability_chains(void **state)
{
	uint8_t buf[256] = { 0 };

	cap_at(buf, 32, 7, 64);
	cap_at(buf, 64, 1, 96);
	cap_at(buf, 96, 3, 0);
	assert_int_equal(iommufd_find_cap(buf, sizeof(buf), 32, 32, 1), 64);
	assert_int_equal(iommufd_find_cap(buf, sizeof(buf), 32, 32, 3), 96);
	assert_int_equal(iommufd_find_cap(buf, sizeof(buf), 32, 32, 9), 0);
	assert_int_equal(iommufd_find_cap(buf, sizeof(buf), 0, 32, 1), 0);	/* no chain */

	/* A loop, a step backwards, into the fixed header, outside the buffer. */
	cap_at(buf, 96, 3, 64);
	assert_int_equal(iommufd_find_cap(buf, sizeof(buf), 32, 32, 9), -EINVAL);
	cap_at(buf, 96, 3, 96);
	assert_int_equal(iommufd_find_cap(buf, sizeof(buf), 32, 32, 9), -EINVAL);
	assert_int_equal(iommufd_find_cap(buf, sizeof(buf), 16, 32, 9), -EINVAL);
	cap_at(buf, 96, 3, 250);
	assert_int_equal(iommufd_find_cap(buf, sizeof(buf), 32, 32, 9), -EINVAL);
	cap_at(buf, 96, 3, 4096);
	assert_int_equal(iommufd_find_cap(buf, sizeof(buf), 32, 32, 9), -EINVAL);
	/* Misaligned. */
	cap_at(buf, 96, 3, 130);
	assert_int_equal(iommufd_find_cap(buf, sizeof(buf), 32, 32, 9), -EINVAL);
}

static uint64_t cap_value(const struct iommufd_hw_cap *caps, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(caps[i].name, name))
			return caps[i].value;
	fail_msg("no field %s", name);
	return 0;
}

static void hw_decode(void **state)
{
	struct iommufd_hw_info vtd = { .sz = sizeof(vtd), .type = IOMMUFD_HW_INTEL_VTD };
	struct iommufd_hw_info smmu = { .sz = sizeof(smmu), .type = IOMMUFD_HW_ARM_SMMUV3 };
	struct iommufd_hw_cap caps[80];
	int n, need;

	/* SAGAW 48+39-bit, MGAW 48, NFR 1, FL1GP; ECAP QI, IR, EIM, PASID, PSS 19, NEST. */
	vtd.vtd.cap_reg = (0x6ULL << 8) | (47ULL << 16) | (0ULL << 40) | (1ULL << 56) | 0x2;
	vtd.vtd.ecap_reg = 0x2 | 0x8 | 0x10 | (1ULL << 40) | (19ULL << 35) | (1ULL << 26);
	n = iommufd_hw_info_decode(&vtd, caps, 80);
	assert_true(n > 40 && n <= 80);
	assert_int_equal(cap_value(caps, n, "SAGAW"), 0x6);
	assert_int_equal(cap_value(caps, n, "MGAW"), 48);
	assert_int_equal(cap_value(caps, n, "NFR"), 1);
	assert_int_equal(cap_value(caps, n, "ND"), 2);
	assert_int_equal(cap_value(caps, n, "FL1GP"), 1);
	assert_int_equal(cap_value(caps, n, "QI"), 1);
	assert_int_equal(cap_value(caps, n, "C"), 0);
	assert_int_equal(cap_value(caps, n, "PASID"), 1);
	assert_int_equal(cap_value(caps, n, "PSS"), 19);
	assert_int_equal(cap_value(caps, n, "NEST"), 1);

	/* Asking with little room says how much is needed and writes no more. */
	memset(caps, 0, sizeof(caps));
	need = iommufd_hw_info_decode(&vtd, caps, 2);
	assert_int_equal(need, n);
	assert_null(caps[2].name);

	smmu.smmuv3.idr[0] = (2u << 27) | (2u << 6) | (2u << 2) | 0x3 | (1u << 18);
	smmu.smmuv3.idr[1] = 16 | (20u << 6);
	smmu.smmuv3.idr[5] = 5 | (1u << 4) | (1u << 6);
	n = iommufd_hw_info_decode(&smmu, caps, 80);
	assert_int_equal(cap_value(caps, n, "ST_LVL"), 2);
	assert_int_equal(cap_value(caps, n, "HTTU"), 2);
	assert_int_equal(cap_value(caps, n, "TTF"), 2);
	assert_int_equal(cap_value(caps, n, "S1P"), 1);
	assert_int_equal(cap_value(caps, n, "VMID16"), 1);
	assert_int_equal(cap_value(caps, n, "SIDSIZE"), 16);
	assert_int_equal(cap_value(caps, n, "SSIDSIZE"), 20);
	assert_int_equal(cap_value(caps, n, "OAS"), 5);
	assert_int_equal(cap_value(caps, n, "GRAN16K"), 0);
	assert_int_equal(cap_value(caps, n, "GRAN64K"), 1);

	smmu.type = IOMMUFD_HW_NONE;
	assert_int_equal(iommufd_hw_info_decode(&smmu, caps, 80), 0);
	assert_int_equal(iommufd_hw_info_decode(NULL, caps, 80), -EINVAL);
	/* Its size unset: not something iommufd_get_hw_info() filled. */
	vtd.sz = 0;
	assert_int_equal(iommufd_hw_info_decode(&vtd, caps, 80), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bdf_forms),
		cmocka_unit_test_setup_teardown(cdev_lookup, tree_setup, tree_teardown),
		cmocka_unit_test(capability_chains),
		cmocka_unit_test(hw_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
