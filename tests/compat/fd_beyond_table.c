// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The shim tracks emulated fds below 65536. A program that dup2()s its
 * container above that gets EMFILE from the shim, not an fd that would
 * silently stop being a container; the original keeps working.
 * tests/ctl/test_ctl.sh runs it with iommufd-ctl compat --force.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <linux/vfio.h>

int main(void)
{
	struct rlimit rl = { .rlim_cur = 100000, .rlim_max = 100000 };
	int fd = open("/dev/vfio/vfio", O_RDWR), r;

	if (fd < 0 || setrlimit(RLIMIT_NOFILE, &rl)) {
		perror("setup");
		return 1;
	}
	r = dup2(fd, 70000);
	printf("dup2 to 70000: %d %s\n", r, r < 0 ? strerrorname_np(errno) : "");
	r = dup2(fd, 1000);
	printf("dup2 to 1000: %d, api %d\n", r, ioctl(1000, VFIO_GET_API_VERSION));
	printf("original: api %d\n", ioctl(fd, VFIO_GET_API_VERSION));
	return 0;
}
