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
	bool progress;		/* --progress: a progress bar even when not on a terminal */
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
 * 1 with the reasons in @why, 0, or -errno. @why (@len > 0) is always
 * terminated: the first three addresses and routes are named and the rest
 * counted ("... and 57 more routes"), and reasons that do not fit whole are
 * counted at the end ("... and 4 more reasons").
 */
int ctl_link_in_use(const char *ifname, char *why, size_t len);

/* Print an error with the library's explanation; returns CTL_FAILED. */
__attribute__((format(printf, 1, 2))) int ctl_fail(const char *fmt, ...);
/* Print a JSON object (the --json output of a command) and free it. */
void ctl_print_json(struct json_object *o);

/* QEMU's edu device (edu.c): one DMA into the device and back out of it. */
#define CTL_EDU_DMA_LEN 1024
bool ctl_is_edu(const struct ctl_pci *dev);
/*
 * Fill @buf's first CTL_EDU_DMA_LEN bytes, DMA them to the device from
 * @iova and back to @iova + CTL_EDU_DMA_LEN; *@landed: the copy matches.
 */
int ctl_edu_roundtrip(struct iommufd_device *dev, uint8_t *buf, uint64_t iova, bool *landed);
/* One DMA from the device's buffer to @iova: 0 once the device says it is done. */
int ctl_edu_dma_to_ram(struct iommufd_device *dev, uint64_t iova);

/* Sessions: a small command language over one iommufd (session.c). */
struct ctl_session;
struct ctl_session *ctl_session_new(void);
void ctl_session_free(struct ctl_session *s);
/* Run one statement; @where ("line 3") prefixes its errors. CTL_* result. */
int ctl_session_exec(struct ctl_session *s, int argc, char **argv, const char *where);
bool ctl_session_is_keyword(const char *word);
/*
 * For exec, in the child: let the iommufd and the device fds survive exec()
 * and name them in the environment (IOMMUFD_FD, IOMMUFD_IOAS_ID, IOMMUFD_IOAS,
 * IOMMUFD_DEVICES, IOMMUFD_DEVICE_IDS, IOMMUFD_DEVICE_IOAS: iommufd-ctl(8)),
 * all that iommufd_handoff_from_env() needs. 0 or -errno.
 */
int ctl_session_export(struct ctl_session *s);
int ctl_session_foreach_map(struct ctl_session *s,
			    int (*fn)(const char *ioas, uint32_t id, uint64_t iova, uint64_t length,
				      void *vaddr, bool writable, void *arg),
			    void *arg);
/* SIZE or IOVA with an optional K, M or G suffix. */
int ctl_parse_size(const char *str, uint64_t *out);
/* The show statement: each mapping with its physical pages (show.c). */
int ctl_show_mappings(struct ctl_session *s);

/* A progress bar for long maps, from the pinned page count (progress.c). */
void ctl_progress_start(uint64_t length);
void ctl_progress_stop(bool done);
/* VmPin of this process, in kB: memory the kernel holds pinned for DMA. */
uint64_t ctl_vmpin_kb(void);

int cmd_list(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_device(int argc, char **argv);
int cmd_dma_test(int argc, char **argv);
int cmd_bind(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_compat(int argc, char **argv);

#endif
