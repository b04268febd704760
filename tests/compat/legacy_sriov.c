// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A legacy VFIO program that opens an SR-IOV VF beside its PF, both on
 * vfio-pci, with VF tokens: the names vfio-pci takes ("BDF vf_token=UUID"),
 * a token set on the PF by name and by VFIO_DEVICE_FEATURE_PCI_VF_TOKEN,
 * and the PF's refusal once a VF is in use. Its "T " transcript must be the
 * same natively (the group path, where vfio-pci checks the tokens) and
 * through the compat shim (tests/compat/differential.sh; the guest is booted
 * with tests/vm/run --sriov: QEMU's NVMe controller with two VFs).
 */
#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>

#include "legacy.h"

#define TOKEN_A "0b3c6f4e-6a2a-4a4b-9d0e-3f1b2c4d5e6f"
#define TOKEN_B "7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"

static char pf[32], vf[32];

static int sysfs_read(const char *bdf, const char *attr, char *buf, size_t len)
{
	char path[512];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", bdf, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int sysfs_write(const char *bdf, const char *attr, const char *val)
{
	char path[512];
	int fd, r;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", bdf, attr);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = write(fd, val, strlen(val)) < 0 ? -1 : 0;
	close(fd);
	return r;
}

/* The basename of the link @attr of @bdf into @buf, or -1. */
static int sysfs_link(const char *bdf, const char *attr, char *buf, size_t len)
{
	char path[512], target[256];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", bdf, attr);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -1;
	target[n] = '\0';
	snprintf(buf, len, "%.*s", (int)len - 1, strrchr(target, '/') + 1);
	return 0;
}

/* The first device with VFs to give, bound to vfio-pci. */
static int find_pf(void)
{
	char val[32], drv[32];
	struct dirent *de;
	DIR *d = opendir("/sys/bus/pci/devices");

	while (d && (de = readdir(d))) {
		if (sysfs_read(de->d_name, "sriov_totalvfs", val, sizeof(val)) < 0 || !atoi(val))
			continue;
		if (sysfs_link(de->d_name, "driver", drv, sizeof(drv)) < 0 || strcmp(drv, "vfio-pci"))
			continue;
		snprintf(pf, sizeof(pf), "%.31s", de->d_name);
		closedir(d);
		return 0;
	}
	if (d)
		closedir(d);
	return -1;
}

/* One VF, bound to vfio-pci (which claims its PF's VFs by itself). */
static int enable_vf(void)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	char drv[32];

	if (sysfs_write(pf, "sriov_numvfs", "1") < 0) {
		fprintf(stderr, "sriov_numvfs on %s: %s\n", pf, strerror(errno));
		return -1;
	}
	for (int i = 0; i < 100; i++) {
		if (!sysfs_link(pf, "virtfn0", vf, sizeof(vf)) &&
		    !sysfs_link(vf, "driver", drv, sizeof(drv)) && !strcmp(drv, "vfio-pci"))
			return 0;
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "the VF of %s did not come up on vfio-pci\n", pf);
	return -1;
}

static int open_group(const char *bdf)
{
	char grp[16], path[64];

	if (sysfs_link(bdf, "iommu_group", grp, sizeof(grp)) < 0)
		return -1;
	snprintf(path, sizeof(path), "/dev/vfio/%s", grp);
	return open(path, O_RDWR | O_CLOEXEC);
}

/* GET_DEVICE_FD of "@bdf@suffix": its result in the transcript, the fd or -1. */
static int get_device(int grp, const char *what, const char *bdf, const char *suffix)
{
	char name[128];
	int fd;

	snprintf(name, sizeof(name), "%s%s", bdf, suffix);
	fd = ioctl(grp, VFIO_GROUP_GET_DEVICE_FD, name);
	T("%s: %s", what, res(fd < 0 ? -1 : 0));
	return fd;
}

/* VFIO_DEVICE_FEATURE_PCI_VF_TOKEN with @flags, the UUID's 16 bytes in @uuid. */
static int vf_token_feature(int fd, uint32_t flags, const char *text)
{
	struct {
		struct vfio_device_feature f;
		uint8_t uuid[16];
	} arg = { .f = { .argsz = sizeof(arg), .flags = flags | VFIO_DEVICE_FEATURE_PCI_VF_TOKEN } };

	for (int i = 0, j = 0; text[i] && j < 32; i++) {
		if (text[i] == '-')
			continue;
		unsigned int c = text[i] <= '9' ? text[i] - '0' : text[i] - 'a' + 10;

		arg.uuid[j / 2] |= j % 2 ? c : c << 4;
		j++;
	}
	return ioctl(fd, VFIO_DEVICE_FEATURE, &arg);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int main(void)
{
	int pf_grp, vf_grp, pf_dev = -1, vf_dev = -1;
	char pf_name[16], vf_name[16];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (find_pf() < 0) {
		fprintf(stderr, "no SR-IOV PF bound to vfio-pci (boot with tests/vm/run --sriov)\n");
		return 1;
	}
	if (enable_vf() < 0)
		return 1;
	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (sysfs_link(pf, "iommu_group", pf_name, sizeof(pf_name)) < 0 ||
	    sysfs_link(vf, "iommu_group", vf_name, sizeof(vf_name)) < 0) {
		T("setup failed: no IOMMU group");
		return 1;
	}
	pf_grp = open_group(pf);
	vf_grp = strcmp(pf_name, vf_name) ? open_group(vf) : pf_grp;
	if (container < 0 || pf_grp < 0 || vf_grp < 0) {
		T("setup failed: %s", strerror(errno));
		return 1;
	}
	T("setup: PF and VF in %s groups", pf_grp == vf_grp ? "the same" : "separate");
	T("pf group set container: %s", res(ioctl(pf_grp, VFIO_GROUP_SET_CONTAINER, &container)));
	if (vf_grp != pf_grp)
		T("vf group set container: %s",
		  res(ioctl(vf_grp, VFIO_GROUP_SET_CONTAINER, &container)));
	T("set iommu: %s", res(ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)));

	/* A VF of a vfio-pci PF: only with the PF's token. */
	close_fd((vf_dev = get_device(vf_grp, "vf, no token", vf, ""), &vf_dev));
	close_fd((vf_dev = get_device(vf_grp, "vf, malformed token", vf, " vf_token=0b3c6f4e"),
		  &vf_dev));

	/* The PF sets the token by name (no VF in use yet). */
	pf_dev = get_device(pf_grp, "pf, token A", pf, " vf_token=" TOKEN_A);
	close_fd((vf_dev = get_device(vf_grp, "vf, token B", vf, " vf_token=" TOKEN_B), &vf_dev));
	vf_dev = get_device(vf_grp, "vf, token A", vf, " vf_token=" TOKEN_A);
	T("vf token feature on the vf (probe): %s",
	  res(vf_token_feature(vf_dev, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET,
			       TOKEN_A)));
	T("vf token feature on the pf (probe): %s",
	  res(vf_token_feature(pf_dev, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET,
			       TOKEN_A)));
	T("vf token feature on the pf (get): %s",
	  res(vf_token_feature(pf_dev, VFIO_DEVICE_FEATURE_GET, TOKEN_A)));

	/* A VF is in use: whoever opens the PF must know the token. */
	close_fd(&pf_dev);
	close_fd((pf_dev = get_device(pf_grp, "pf with a vf in use, no token", pf, ""), &pf_dev));
	close_fd((pf_dev = get_device(pf_grp, "pf with a vf in use, token B", pf,
				      " vf_token=" TOKEN_B), &pf_dev));
	pf_dev = get_device(pf_grp, "pf with a vf in use, token A", pf, " vf_token=" TOKEN_A);

	/* The PF's driver changes the token: the VFs opened from now on need the new one. */
	T("pf sets token B by feature: %s",
	  res(vf_token_feature(pf_dev, VFIO_DEVICE_FEATURE_SET, TOKEN_B)));
	close_fd(&vf_dev);
	close_fd((vf_dev = get_device(vf_grp, "vf, old token A", vf, " vf_token=" TOKEN_A),
		  &vf_dev));
	vf_dev = get_device(vf_grp, "vf, new token B", vf, " vf_token=" TOKEN_B);

	/* A second process (forked) opens the VF by the same name. */
	fflush(stdout);
	if (!fork()) {
		close_fd((vf_dev = get_device(vf_grp, "forked child: vf, token B", vf,
					      " vf_token=" TOKEN_B), &vf_dev));
		_exit(0);
	}
	wait(NULL);

	close_fd(&vf_dev);
	close_fd(&pf_dev);
	/* Without a VF in use, the PF opens with no token again. */
	close_fd((pf_dev = get_device(pf_grp, "pf, no vf in use, no token", pf, ""), &pf_dev));
	if (vf_grp != pf_grp)
		close(vf_grp);
	close(pf_grp);
	close(container);
	T("vfs disabled: %s", res(sysfs_write(pf, "sriov_numvfs", "0")));
	return 0;
}
