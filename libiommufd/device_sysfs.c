// SPDX-License-Identifier: LGPL-2.1-or-later
/* From a PCI address to its VFIO cdev node, through sysfs. */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "device_internal.h"

/*
 * Exactly @n hex digits at @s. Not sscanf()'s %x, which also takes a sign,
 * a 0x prefix and leading spaces ("00ab:-f:1f.7" was bus 0xfffffff1).
 */
static bool hex_digits(const char *s, int n, unsigned int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		char c = s[i];
		unsigned int d;

		if (c >= '0' && c <= '9')
			d = (unsigned int)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			d = (unsigned int)((c | 0x20) - 'a' + 10);
		else
			return false;
		*v = *v << 4 | d;
	}
	return true;
}

int iommufd_parse_bdf(const char *in, char *out, size_t len)
{
	unsigned int dom = 0, bus, dev, fn;
	size_t n;

	if (!in)
		return -EINVAL;
	n = strlen(in);
	if (n == 12 && hex_digits(in, 4, &dom) && in[4] == ':')
		in += 5;
	else if (n != 7)
		return -EINVAL;
	if (!hex_digits(in, 2, &bus) || in[2] != ':' || !hex_digits(in + 3, 2, &dev) ||
	    in[5] != '.' || in[6] < '0' || in[6] > '7')
		return -EINVAL;
	fn = (unsigned int)(in[6] - '0');
	if (dev > 0x1f)
		return -EINVAL;
	if (snprintf(out, len, "%04x:%02x:%02x.%u", dom, bus, dev, fn) >= (int)len)
		return -ERANGE;
	return 0;
}

/* The name of the driver bound to @dev_dir, or "no driver". */
static void driver_name(const char *dev_dir, char *buf, size_t len)
{
	char link[PATH_MAX + 8], target[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "%s/driver", dev_dir);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0) {
		snprintf(buf, len, "no driver");
		return;
	}
	target[n] = '\0';
	copy_str(buf, len, strrchr(target, '/') ? strrchr(target, '/') + 1 : target);
}

int iommufd_cdev_path_at(const char *sysfs_root, const char *dev_root, const char *bdf,
			 char *buf, size_t len)
{
	char norm[16], dir[PATH_MAX], path[PATH_MAX + 300], drv[64], node[64] = "";
	unsigned int maj, min;
	struct dirent *de;
	struct stat st;
	FILE *f;
	DIR *d;
	int r;

	if (iommufd_parse_bdf(bdf, norm, sizeof(norm)) < 0)
		return iommufd_fail(NULL, -EINVAL,
				    "\"%s\" is not a PCI address (DDDD:BB:DD.F or BB:DD.F)",
				    bdf ? bdf : "(null)");
	snprintf(dir, sizeof(dir), "%s/bus/pci/devices/%s", sysfs_root, norm);
	if (access(dir, F_OK) < 0)
		return iommufd_fail(NULL, -ENOENT, "no PCI device %s", norm);

	snprintf(path, sizeof(path), "%s/vfio-dev", dir);
	d = opendir(path);
	if (!d) {
		driver_name(dir, drv, sizeof(drv));
		return iommufd_fail(NULL, -ENODEV,
				    "%s has no VFIO cdev: it is bound to %s, not vfio-pci (or the "
				    "kernel lacks CONFIG_VFIO_DEVICE_CDEV)", norm, drv);
	}
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "vfio", 4) && isdigit((unsigned char)de->d_name[4]))
			copy_str(node, sizeof(node), de->d_name);
	closedir(d);
	if (!node[0])
		return iommufd_fail(NULL, -ENODEV, "%s: %s lists no vfioN node", norm, path);

	snprintf(path, sizeof(path), "%s/vfio-dev/%s/dev", dir, node);
	f = fopen(path, "re");
	if (!f)
		return iommufd_fail(NULL, -errno, "%s: cannot read %s", norm, path);
	r = fscanf(f, "%u:%u", &maj, &min);
	fclose(f);
	if (r != 2)
		return iommufd_fail(NULL, -EINVAL, "%s: %s is not MAJOR:MINOR", norm, path);

	/* The node must be the char device sysfs names, not a stale or foreign file. */
	snprintf(path, sizeof(path), "%s/vfio/devices/%s", dev_root, node);
	if (stat(path, &st) < 0)
		return iommufd_fail(NULL, -ENOENT, "%s: %s does not exist (is devtmpfs mounted?)",
				    norm, path);
	if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != maj || minor(st.st_rdev) != min)
		return iommufd_fail(NULL, -ENODEV,
				    "%s: %s is not the char device %u:%u that sysfs names", norm,
				    path, maj, min);
	if (copy_str(buf, len, path) < 0)
		return iommufd_fail(NULL, -ERANGE, "%s: path buffer too small", norm);
	return 0;
}

IOMMUFD_API int iommufd_device_cdev_path(const char *bdf, char *buf, size_t len)
{
	check_arg(bdf);
	check_arg(buf && len);
	return iommufd_cdev_path_at("/sys", "/dev", bdf, buf, len);
}
