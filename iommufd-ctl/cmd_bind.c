// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * iommufd-ctl bind BDF... and restore BDF...: hand devices to vfio-pci and
 * give them back. A network device in use is refused unless --force; the
 * previous driver is remembered in /run/iommufd-ctl so restore knows it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

#define STATE_DIR "/run/iommufd-ctl"

static int sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		r = -errno;
	close(fd);
	return r;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Other devices of the group still on a host driver make the group unusable. */
static void warn_group(const struct ctl_pci *d)
{
	struct json_object *members = ctl_group_members(d);

	for (size_t i = 0; i < json_object_array_length(members); i++) {
		const char *bdf = json_object_get_string(json_object_array_get_idx(members, i));
		struct ctl_pci m;

		if (!ctl_pci_get(bdf, &m) && m.driver[0] && strcmp(m.driver, "vfio-pci") &&
		    strcmp(m.driver, "pcieport"))
			fprintf(stderr, "iommufd-ctl: warning: %s shares IOMMU group %d with %s, "
				"which is still on %s: the group is not usable until it moves too\n",
				d->bdf, d->group, bdf, m.driver);
	}
	json_object_put(members);
}

static int bind_one(const char *name, bool force, double timeout)
{
	char path[128], why[1024], cdev[64];
	struct ctl_pci d;
	double t;
	int r;

	if (ctl_pci_get(name, &d) < 0) {
		fprintf(stderr, "iommufd-ctl: no PCI device %s\n", name);
		return CTL_FAILED;
	}
	if (!strcmp(d.driver, "vfio-pci")) {
		if (!ctl.quiet)
			printf("%s: already on vfio-pci (%s)\n", d.bdf, d.cdev[0] ? d.cdev : "no cdev");
		return CTL_OK;
	}
	if (d.ifname[0]) {
		r = ctl_link_in_use(d.ifname, why, sizeof(why));
		if (r < 0) {
			fprintf(stderr, "iommufd-ctl: %s: cannot read the state of %s: %s\n", d.bdf,
				d.ifname, strerror(-r));
			return CTL_FAILED;
		}
		if (r && !force) {
			fprintf(stderr, "iommufd-ctl: %s (%s) is in use: %s; not taking it "
				"(--force to take it anyway)\n", d.ifname, d.bdf, why);
			return CTL_FAILED;
		}
	}
	warn_group(&d);

	/* Remember who had it, for restore (without it, the kernel chooses). */
	mkdir(STATE_DIR, 0755);
	snprintf(path, sizeof(path), STATE_DIR "/%s", d.bdf);
	{
		FILE *f = fopen(path, "we");

		if (f) {
			fputs(d.driver, f);
			fclose(f);
		}
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", d.bdf);
	if ((r = sysfs_write(path, "vfio-pci")) < 0)
		return fprintf(stderr, "iommufd-ctl: %s: %s\n", path, strerror(-r)), CTL_FAILED;
	if (d.driver[0]) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind", d.bdf);
		if ((r = sysfs_write(path, d.bdf)) < 0)
			return fprintf(stderr, "iommufd-ctl: unbinding %s from %s: %s\n", d.bdf,
				       d.driver, strerror(-r)), CTL_FAILED;
	}
	sysfs_write("/sys/bus/pci/drivers_probe", d.bdf);
	/* The cdev node appears asynchronously (udev or devtmpfs): wait for it. */
	for (t = now(); now() - t < timeout; usleep(20000))
		if (!iommufd_device_cdev_path(d.bdf, cdev, sizeof(cdev)))
			break;
	if (iommufd_device_cdev_path(d.bdf, cdev, sizeof(cdev)) < 0)
		return ctl_fail("%s: no VFIO cdev after %.0f s", d.bdf, timeout);
	if (!ctl.quiet)
		printf("%s: bound to vfio-pci (was %s): %s\n", d.bdf, d.driver[0] ? d.driver : "none",
		       cdev);
	return CTL_OK;
}

static int restore_one(const char *name)
{
	char path[128], prev[64] = "";
	struct ctl_pci d;
	FILE *f;
	int r;

	if (ctl_pci_get(name, &d) < 0) {
		fprintf(stderr, "iommufd-ctl: no PCI device %s\n", name);
		return CTL_FAILED;
	}
	snprintf(path, sizeof(path), STATE_DIR "/%s", d.bdf);
	f = fopen(path, "re");
	if (f) {
		if (!fgets(prev, sizeof(prev), f))
			prev[0] = '\0';
		fclose(f);
	}
	if (!strcmp(d.driver, "vfio-pci")) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind", d.bdf);
		if ((r = sysfs_write(path, d.bdf)) < 0)
			return fprintf(stderr, "iommufd-ctl: unbinding %s: %s (is it open?)\n", d.bdf,
				       strerror(-r)), CTL_FAILED;
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", d.bdf);
	sysfs_write(path, "\n");
	/* Back to the driver it had, or whichever the kernel picks. */
	if (prev[0]) {
		snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/bind", prev);
		if (sysfs_write(path, d.bdf) < 0)
			sysfs_write("/sys/bus/pci/drivers_probe", d.bdf);
	} else {
		sysfs_write("/sys/bus/pci/drivers_probe", d.bdf);
	}
	snprintf(path, sizeof(path), STATE_DIR "/%s", d.bdf);
	unlink(path);
	if (ctl_pci_get(d.bdf, &d) < 0)
		return CTL_FAILED;
	if (!ctl.quiet)
		printf("%s: back on %s%s%s\n", d.bdf, d.driver[0] ? d.driver : "no driver",
		       d.ifname[0] ? ", interface " : "", d.ifname);
	return prev[0] && strcmp(prev, d.driver) ? CTL_FAILED : CTL_OK;
}

int cmd_bind(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "timeout", required_argument, NULL, 't' },
		{ 0 },
	};
	double timeout = 5;
	bool force = false;
	char *end;
	int c, r = CTL_OK;

	while ((c = getopt_long(argc, argv, "ft:", opts, NULL)) != -1) {
		if (c == 'f') {
			force = true;
		} else if (c == 't') {
			timeout = strtod(optarg, &end);
			if (!*optarg || *end || !(timeout > 0 && timeout <= 3600)) {
				fprintf(stderr, "iommufd-ctl bind: --timeout takes seconds, "
					"more than 0 and at most 3600, not '%s'\n", optarg);
				return CTL_USAGE;
			}
		} else
			return fprintf(stderr, "usage: iommufd-ctl bind [--force] [--timeout S] BDF...\n"),
			       CTL_USAGE;
	}
	if (optind >= argc)
		return fprintf(stderr, "usage: iommufd-ctl bind [--force] [--timeout S] BDF...\n"),
		       CTL_USAGE;
	for (int i = optind; i < argc; i++)
		if (bind_one(argv[i], force, timeout) != CTL_OK)
			r = CTL_FAILED;
	return r;
}

int cmd_restore(int argc, char **argv)
{
	int r = CTL_OK;

	if (argc < 2)
		return fprintf(stderr, "usage: iommufd-ctl restore BDF...\n"), CTL_USAGE;
	for (int i = 1; i < argc; i++)
		if (restore_one(argv[i]) != CTL_OK)
			r = CTL_FAILED;
	return r;
}
