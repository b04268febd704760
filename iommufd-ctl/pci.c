// SPDX-License-Identifier: LGPL-2.1-or-later
/* PCI devices: enumeration and names from libpci (pci.ids), the rest from sysfs. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pci/pci.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

static void read_link_name(const char *dir, const char *attr, char *buf, size_t len)
{
	char link[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "%s/%s", dir, attr);
	n = readlink(link, target, sizeof(target) - 1);
	buf[0] = '\0';
	if (n > 0) {
		/* The last component; sysfs links have a '/', but a bare name is a name. */
		const char *slash;

		target[n] = '\0';
		slash = strrchr(target, '/');
		/* A name cut short would be another name: none rather. */
		if (snprintf(buf, len, "%s", slash ? slash + 1 : target) >= (int)len)
			buf[0] = '\0';
	}
}

/* Driver, group, cdev and network interface from sysfs. */
static void fill_sysfs(struct ctl_pci *d)
{
	char dir[PATH_MAX], grp[32], net[PATH_MAX + 8];
	struct dirent *de;
	DIR *dd;

	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s", d->bdf);
	read_link_name(dir, "driver", d->driver, sizeof(d->driver));
	read_link_name(dir, "iommu_group", grp, sizeof(grp));
	d->group = grp[0] ? atoi(grp) : -1;
	if (iommufd_device_cdev_path(d->bdf, d->cdev, sizeof(d->cdev)) < 0)
		d->cdev[0] = '\0';
	snprintf(net, sizeof(net), "%s/net", dir);
	d->ifname[0] = '\0';
	dd = opendir(net);
	while (dd && (de = readdir(dd)))
		if (de->d_name[0] != '.')
			snprintf(d->ifname, sizeof(d->ifname), "%.31s", de->d_name);
	if (dd)
		closedir(dd);
}

/*
 * Names come from pci.ids only: libpci's udev hwdb path leaks its udev
 * context (LeakSanitizer reports it) and the guest has no hwdb anyway.
 */
#define NAMES_FROM PCI_LOOKUP_NO_HWDB

static void fill(struct pci_access *pacc, struct pci_dev *p, struct ctl_pci *d)
{
	pci_fill_info(p, PCI_FILL_IDENT | PCI_FILL_CLASS);
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
	fill_sysfs(d);
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
	struct ctl_pci *all;
	int n, r = -ENODEV;
	char want[16];

	/* Accept the short form too: 01:00.0 is 0000:01:00.0. */
	snprintf(want, sizeof(want), "%s%s", strlen(bdf) == 7 ? "0000:" : "", bdf);
	if (ctl_pci_scan(&all, &n) < 0)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		if (!strcasecmp(all[i].bdf, want)) {
			*dev = all[i];
			r = 0;
		}
	}
	free(all);
	return r;
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
