// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * PCI devices from libpci: enumeration, names (pci.ids), the driver and the
 * IOMMU group; the VFIO cdev from libiommufd, the network interface from
 * sysfs (libpci knows neither).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pci/pci.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

/* What libpci fills in for each device (3.8 and later for the driver). */
#define FILL (PCI_FILL_IDENT | PCI_FILL_CLASS | PCI_FILL_DRIVER | PCI_FILL_IOMMU_GROUP)

/*
 * Names come from pci.ids only: libpci's udev hwdb path leaks its udev
 * context (LeakSanitizer reports it) and the guest has no hwdb anyway.
 */
#define NAMES_FROM PCI_LOOKUP_NO_HWDB

/* A string libpci filled in, or "" when it has none. */
static void copy_property(struct pci_dev *p, u32 prop, char *buf, size_t len)
{
	const char *v = pci_get_string_property(p, prop);

	/* A name cut short would be another name: none rather. */
	if (!v || snprintf(buf, len, "%s", v) >= (int)len)
		buf[0] = '\0';
}

/* The network interface of a NIC, from sysfs. */
static void fill_ifname(struct ctl_pci *d)
{
	char net[PATH_MAX];
	struct dirent *de;
	DIR *dd;

	snprintf(net, sizeof(net), "/sys/bus/pci/devices/%s/net", d->bdf);
	d->ifname[0] = '\0';
	dd = opendir(net);
	while (dd && (de = readdir(dd)))
		if (de->d_name[0] != '.')
			snprintf(d->ifname, sizeof(d->ifname), "%.31s", de->d_name);
	if (dd)
		closedir(dd);
}

static void fill(struct pci_access *pacc, struct pci_dev *p, struct ctl_pci *d)
{
	char group[32];

	pci_fill_info(p, FILL);
	snprintf(d->bdf, sizeof(d->bdf), "%04x:%02x:%02x.%d", p->domain, p->bus, p->dev,
		 p->func);
	d->vendor = p->vendor_id;
	d->device = p->device_id;
	d->class = p->device_class;
	pci_lookup_name(pacc, d->vendor_name, sizeof(d->vendor_name),
			PCI_LOOKUP_VENDOR | NAMES_FROM, p->vendor_id);
	pci_lookup_name(pacc, d->device_name, sizeof(d->device_name),
			PCI_LOOKUP_DEVICE | NAMES_FROM, p->vendor_id, p->device_id);
	pci_lookup_name(pacc, d->class_name, sizeof(d->class_name),
			PCI_LOOKUP_CLASS | NAMES_FROM, p->device_class);
	copy_property(p, PCI_FILL_DRIVER, d->driver, sizeof(d->driver));
	copy_property(p, PCI_FILL_IOMMU_GROUP, group, sizeof(group));
	d->group = group[0] ? atoi(group) : -1;
	if (iommufd_device_cdev_path(d->bdf, d->cdev, sizeof(d->cdev)) < 0)
		d->cdev[0] = '\0';
	fill_ifname(d);
}

static int cmp_bdf(const void *a, const void *b)
{
	return strcmp(((const struct ctl_pci *)a)->bdf, ((const struct ctl_pci *)b)->bdf);
}

int ctl_pci_scan(struct ctl_pci **devs, int *nr)
{
	struct pci_access *pacc = pci_alloc();
	struct ctl_pci *out = NULL, *tmp;
	int n = 0;

	if (!pacc)
		return -ENOMEM;
	pci_init(pacc);
	pci_scan_bus(pacc);
	for (struct pci_dev *p = pacc->devices; p; p = p->next) {
		tmp = realloc(out, (n + 1) * sizeof(*out));
		if (!tmp) {
			free(out);
			pci_cleanup(pacc);
			return -ENOMEM;
		}
		out = tmp;
		memset(&out[n], 0, sizeof(out[n]));
		fill(pacc, p, &out[n++]);
	}
	pci_cleanup(pacc);
	qsort(out, n, sizeof(*out), cmp_bdf);
	*devs = out;
	*nr = n;
	return 0;
}

int ctl_pci_get(const char *bdf, struct ctl_pci *dev)
{
	unsigned int domain, bus, slot, func;
	char want[16], dir[64];
	struct pci_access *pacc;
	struct pci_dev *p;
	int end = 0;

	/* Accept the short form too: 01:00.0 is 0000:01:00.0. */
	snprintf(want, sizeof(want), "%s%s", strlen(bdf) == 7 ? "0000:" : "", bdf);
	if (strlen(want) != 12 || want[strspn(want, "0123456789abcdefABCDEF:.")] ||
	    sscanf(want, "%4x:%2x:%2x.%1u%n", &domain, &bus, &slot, &func, &end) != 4 ||
	    want[end] || slot > 0x1f || func > 7)
		return -ENODEV;
	/* libpci ends the program when asked about a device that is not there. */
	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%04x:%02x:%02x.%u", domain, bus, slot,
		 func);
	if (access(dir, F_OK) < 0)
		return -ENODEV;
	pacc = pci_alloc();
	if (!pacc)
		return -ENOMEM;
	pci_init(pacc);
	p = pci_get_dev(pacc, (int)domain, (int)bus, (int)slot, (int)func);
	if (!p) {
		pci_cleanup(pacc);
		return -ENOMEM;
	}
	memset(dev, 0, sizeof(*dev));
	fill(pacc, p, dev);
	pci_free_dev(p);
	pci_cleanup(pacc);
	return 0;
}

struct json_object *ctl_group_members(const struct ctl_pci *dev)
{
	struct json_object *arr = json_object_new_array();
	char dir[64];
	struct dirent *de;
	DIR *d;

	if (dev->group < 0)
		return arr;
	snprintf(dir, sizeof(dir), "/sys/kernel/iommu_groups/%d/devices", dev->group);
	d = opendir(dir);
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.' && strcmp(de->d_name, dev->bdf))
			json_object_array_add(arr, json_object_new_string(de->d_name));
	if (d)
		closedir(d);
	return arr;
}
