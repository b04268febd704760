// SPDX-License-Identifier: LGPL-2.1-or-later
/* iommufd-ctl list: every PCI device, what owns it, and whether VFIO has it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static struct json_object *to_json(const struct ctl_pci *d, const struct ctl_link *ln)
{
	struct json_object *o = json_object_new_object();
	char ids[16], cls[8];

	snprintf(ids, sizeof(ids), "%04x:%04x", d->vendor, d->device);
	snprintf(cls, sizeof(cls), "%04x", d->class);
	json_object_object_add(o, "bdf", json_object_new_string(d->bdf));
	json_object_object_add(o, "ids", json_object_new_string(ids));
	json_object_object_add(o, "vendor", json_object_new_string(d->vendor_name));
	json_object_object_add(o, "device", json_object_new_string(d->device_name));
	json_object_object_add(o, "class", json_object_new_string(cls));
	json_object_object_add(o, "class_name", json_object_new_string(d->class_name));
	json_object_object_add(o, "driver", d->driver[0] ? json_object_new_string(d->driver) : NULL);
	json_object_object_add(o, "iommu_group", d->group >= 0 ? json_object_new_int(d->group) : NULL);
	json_object_object_add(o, "group_members", ctl_group_members(d));
	json_object_object_add(o, "vfio_cdev", d->cdev[0] ? json_object_new_string(d->cdev) : NULL);
	if (d->ifname[0]) {
		struct json_object *net = json_object_new_object();

		json_object_object_add(net, "ifname", json_object_new_string(d->ifname));
		json_object_object_add(net, "up", json_object_new_boolean(ln->up));
		json_object_object_add(net, "addresses", json_object_new_int(ln->addresses));
		json_object_object_add(net, "master",
				       ln->master[0] ? json_object_new_string(ln->master) : NULL);
		json_object_object_add(o, "net", net);
	}
	return o;
}

int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "class", required_argument, NULL, 'c' },
		{ "driver", required_argument, NULL, 'd' },
		{ "group", required_argument, NULL, 'g' },
		{ 0 },
	};
	const char *want_driver = NULL;
	long want_class = -1, want_group = -1;
	bool base_class = false;	/* 2 hex digits: the base class only */
	struct json_object *arr = NULL;
	struct ctl_pci *devs;
	char *end;
	int n, c;

	while ((c = getopt_long(argc, argv, "c:d:g:", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			want_class = strtol(optarg, &end, 16);
			base_class = strlen(optarg) <= 2;
			if (!*optarg || *end || strlen(optarg) > 6 || want_class < 0) {
				fprintf(stderr, "iommufd-ctl list: --class takes a class code in hex "
					"(02, 0200 or 020000), not '%s'\n", optarg);
				return CTL_USAGE;
			}
			break;
		case 'd':
			want_driver = optarg;
			break;
		case 'g':
			want_group = strtol(optarg, &end, 10);
			if (!*optarg || *end || want_group < 0) {
				fprintf(stderr, "iommufd-ctl list: --group takes an IOMMU group "
					"number, not '%s'\n", optarg);
				return CTL_USAGE;
			}
			break;
		default:
			fprintf(stderr, "usage: iommufd-ctl list [--class HEX] [--driver NAME] [--group N]\n");
			return CTL_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "iommufd-ctl list: unexpected argument '%s'\n", argv[optind]);
		return CTL_USAGE;
	}
	if (ctl_pci_scan(&devs, &n) < 0)
		return ctl_fail("cannot read the PCI devices");
	if (ctl.json)
		arr = json_object_new_array();
	else
		printf("%-13s %-10s %-6s %-10s %-26s %s\n", "BDF", "IDS", "GROUP", "DRIVER",
		       "VFIO", "DEVICE");
	for (int i = 0; i < n; i++) {
		const struct ctl_pci *d = &devs[i];
		struct ctl_link ln = { 0 };
		char grp[16] = "-", vfio[80];

		/* A class filter of 2 digits matches the base class, 4 the subclass too. */
		if (want_class >= 0 && want_class != (base_class ? d->class >> 8 : d->class))
			continue;
		if (want_driver && strcmp(want_driver, d->driver))
			continue;
		if (want_group >= 0 && want_group != d->group)
			continue;
		if (d->ifname[0])
			ctl_link_state(d->ifname, &ln);
		if (arr) {
			json_object_array_add(arr, to_json(d, &ln));
			continue;
		}
		if (d->group >= 0)
			snprintf(grp, sizeof(grp), "%d", d->group);
		snprintf(vfio, sizeof(vfio), "%s", d->cdev[0] ? d->cdev : "-");
		printf("%-13s %04x:%04x  %-6s %-10s %-26s %s %s", d->bdf, d->vendor, d->device, grp,
		       d->driver[0] ? d->driver : "-", vfio, d->vendor_name, d->device_name);
		if (d->ifname[0])
			printf(" [%s %s%s%s, %d address%s]", d->ifname, ln.up ? "up" : "down",
			       ln.master[0] ? " in " : "", ln.master, ln.addresses,
			       ln.addresses == 1 ? "" : "es");
		putchar('\n');
	}
	free(devs);
	if (arr)
		ctl_print_json(arr);
	return CTL_OK;
}
