// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A libiommufd program as iommufd-ctl exec starts it: one call adopts the
 * hand-off (the iommufd, the IOASes, the bound and attached edu device), and
 * the device DMAs through the inherited IOAS. test_handoff runs it; it
 * prints what it adopted, a fact per line:
 *
 *   ioas NAME ID
 *   current ID
 *   device BDF id ID fd FD ioas ID cloexec yes|no
 *   launcher mapping at IOVA: present        (--launcher-map IOVA)
 *   dma: 2048 bytes to the device and back through IOVA 0x...: intact
 *
 * and exits 0, or 1 with the library's explanation. With --unprivileged
 * (started by `exec --user`), first what it may not do by itself:
 *
 *   uid U euid U
 *   CapPrm: ... CapEff: ... CapBnd: ... CapAmb: ... NoNewPrivs: ...   (from /proc)
 *   open /dev/iommu: STRERROR
 *   open /dev/vfio/devices/vfioN: STRERROR
 *   stray fds: none | N...              (fds beyond stdio and the hand-off's)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "edu.h"

#define LEN 2048

static int fail(const char *what, int r)
{
	printf("%s: %s: %s\n", what, strerror(-r), iommufd_last_error());
	return 1;
}

static const char *cloexec(int fd)
{
	int flags = fcntl(fd, F_GETFD);

	return flags >= 0 && (flags & FD_CLOEXEC) ? "yes" : "no";
}

static void try_open(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	printf("open %s: %s\n", path, fd < 0 ? strerror(errno) : "opened");
	if (fd >= 0)
		close(fd);
}

/* What a process started unprivileged has, and what it cannot open by itself. */
static void unprivileged(struct iommufd_handoff *h, const char *bdf)
{
	char path[512], line[256];
	struct iommufd_device *d;
	struct dirent *e;
	bool stray = false;
	FILE *f;
	DIR *dir;

	printf("uid %u euid %u\n", (unsigned int)getuid(), (unsigned int)geteuid());
	f = fopen("/proc/self/status", "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "Cap", 3) || !strncmp(line, "NoNewPrivs", 10))
			fputs(line, stdout);
	if (f)
		fclose(f);
	try_open("/dev/iommu");
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	dir = opendir(path);
	while (dir && (e = readdir(dir)))
		if (!strncmp(e->d_name, "vfio", 4)) {
			snprintf(path, sizeof(path), "/dev/vfio/devices/%s", e->d_name);
			try_open(path);
		}
	if (dir)
		closedir(dir);

	printf("stray fds:");
	dir = opendir("/proc/self/fd");
	while (dir && (e = readdir(dir))) {
		int fd = atoi(e->d_name);
		bool known = e->d_name[0] == '.' || fd <= 2 || fd == dirfd(dir) ||
			     fd == iommufd_ctx_fd(iommufd_handoff_ctx(h));

		for (size_t i = 0; !known && (d = iommufd_handoff_device_at(h, i)); i++)
			known = fd == iommufd_device_fd(d);
		if (!known) {
			printf(" %d", fd);
			stray = true;
		}
	}
	if (dir)
		closedir(dir);
	printf("%s\n", stray ? "" : " none");
}

int main(int argc, char **argv)
{
	struct iommufd_handoff *h;
	struct iommufd_device *dev, *d;
	struct iommufd_ctx *ctx;
	uint64_t iova = 0, launcher_iova = 0;
	uint32_t ioas;
	uint8_t *buf;
	char bdf[32];
	const char *name;
	bool unpriv = false;
	int r, ret = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--launcher-map") && i + 1 < argc)
			launcher_iova = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--unprivileged"))
			unpriv = true;
	}
	r = iommufd_handoff_from_env(NULL, &h);
	if (r < 0)
		return fail("handoff", r);
	ctx = iommufd_handoff_ctx(h);

	for (size_t i = 0; (name = iommufd_handoff_ioas_name(h, i)); i++)
		printf("ioas %s %u\n", name, iommufd_handoff_ioas(h, name));
	printf("current %u\n", iommufd_handoff_ioas(h, NULL));
	printf("iommufd fd %d cloexec %s\n", iommufd_ctx_fd(ctx), cloexec(iommufd_ctx_fd(ctx)));
	for (size_t i = 0; (d = iommufd_handoff_device_at(h, i)); i++)
		printf("device %s id %u fd %d ioas %u cloexec %s\n", iommufd_device_name(d),
		       iommufd_device_id(d), iommufd_device_fd(d), iommufd_device_pt_id(d),
		       cloexec(iommufd_device_fd(d)));

	if (edu_find(bdf, sizeof(bdf)) < 0 || !(dev = iommufd_handoff_device(h, bdf))) {
		printf("the edu device was not handed over\n");
		goto out_free;
	}
	ioas = iommufd_device_pt_id(dev);
	if (unpriv)
		unprivileged(h, bdf);

	buf = mmap(NULL, 2 * LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		printf("mmap: %s\n", strerror(errno));
		goto out_free;
	}

	/* The launcher's mapping is in this IOAS: the same IOVA is taken. */
	if (launcher_iova) {
		uint64_t at = launcher_iova;

		r = iommufd_ioas_map(ctx, ioas, buf, 4096, &at,
				     IOMMUFD_MAP_READ | IOMMUFD_MAP_FIXED_IOVA);
		if (r != -EEXIST) {
			printf("a map at the launcher's IOVA 0x%" PRIx64 " gave %d, not -EEXIST\n",
			       launcher_iova, r);
			goto out_unmap_mem;
		}
		printf("launcher mapping at 0x%" PRIx64 ": present\n", launcher_iova);
	}

	/* Our own memory, in beside it: to the device and back, through the IOMMU. */
	for (int i = 0; i < LEN; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	memset(buf + LEN, 0, LEN);
	r = iommufd_ioas_map(ctx, ioas, buf, 4096, &iova, IOMMUFD_MAP_RW);
	if (r < 0) {
		ret = fail("map", r);
		goto out_unmap_mem;
	}
	r = edu_dma(dev, iova, 0, LEN, false, false);
	if (!r)
		r = edu_dma(dev, iova + LEN, 0, LEN, true, false);
	if (r < 0) {
		ret = fail("dma", r);
		goto out_unmap_iova;
	}
	printf("dma: %d bytes to the device and back through IOVA 0x%" PRIx64 ": %s\n", LEN,
	       iova, memcmp(buf, buf + LEN, LEN) ? "DIFFERENT" : "intact");
	ret = memcmp(buf, buf + LEN, LEN) ? 1 : 0;

out_unmap_iova:
	iommufd_ioas_unmap(ctx, ioas, iova, 4096, NULL);
out_unmap_mem:
	munmap(buf, 2 * LEN);
out_free:
	iommufd_handoff_free(h);
	return ret;
}
