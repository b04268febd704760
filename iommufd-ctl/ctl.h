/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Private to iommufd-ctl: commands, output helpers, what they share. */
#ifndef IOMMUFD_CTL_H
#define IOMMUFD_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include <iommufd/iommufd.h>

/* Exit codes (iommufd-ctl(8)). */
enum { CTL_OK = 0, CTL_FAILED = 1, CTL_USAGE = 2 };

struct ctl_opts {
	bool json;
	bool quiet;
};

extern struct ctl_opts ctl;

/* A PCI device as sysfs, pci.ids and netlink describe it (pci.c). */
struct ctl_pci {
	char bdf[16];
	uint16_t vendor, device;
	uint32_t class;
	char vendor_name[128], device_name[128], class_name[64];
	char driver[64];	/* "" when none */
	int group;		/* -1 when the device has no IOMMU group */
	char cdev[64];		/* /dev/vfio/devices/vfioN, or "" */
	char ifname[32];	/* network interface, or "" */
};

int ctl_pci_scan(struct ctl_pci **devs, int *nr);
int ctl_pci_get(const char *bdf, struct ctl_pci *dev);
/* The other devices in @dev's IOMMU group, as a JSON array of BDFs. */
struct json_object *ctl_group_members(const struct ctl_pci *dev);

/* Link state of a network interface through libnl-route-3 (netlink.c). */
struct ctl_link {
	bool up;
	int addresses;		/* not counting link-local */
	char master[32];	/* bond or bridge, or "" */
};

int ctl_link_state(const char *ifname, struct ctl_link *st);
/*
 * Is the interface in use: link up, an address (not link-local), a route
 * through it in any table and family, or a bond/bridge master in use?
 * 1 with the reasons in @why, 0, or -errno.
 */
int ctl_link_in_use(const char *ifname, char *why, size_t len);

/* Print an error with the library's explanation; returns CTL_FAILED. */
__attribute__((format(printf, 1, 2))) int ctl_fail(const char *fmt, ...);
/* Print a JSON object (the --json output of a command) and free it. */
void ctl_print_json(struct json_object *o);

int cmd_list(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_device(int argc, char **argv);
int cmd_dma_test(int argc, char **argv);
int cmd_bind(int argc, char **argv);
int cmd_restore(int argc, char **argv);

#endif
