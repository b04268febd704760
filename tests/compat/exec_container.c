// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A legacy program that opens the container, then exec()s itself with the
 * fd kept open. Natively the new image can use it; through the shim the
 * container's state stayed in the old image, so the shim must refuse it
 * loudly (a message naming the fd, EBADFD), never answer as if it were fine.
 * tests/ctl/test_ctl.sh runs it with IOMMUFD_COMPAT=force.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vfio.h>

int main(int argc, char **argv)
{
	char num[16];
	int fd, r;

	if (argc > 1) {
		r = ioctl(atoi(argv[1]), VFIO_GET_API_VERSION);
		printf("after exec: %d %s\n", r, r < 0 ? strerrorname_np(errno) : "");
		return 0;
	}
	fd = open("/dev/vfio/vfio", O_RDWR);
	if (fd < 0) {
		perror("/dev/vfio/vfio");
		return 1;
	}
	printf("before exec: %d\n", ioctl(fd, VFIO_GET_API_VERSION));
	snprintf(num, sizeof(num), "%d", fd);
	fflush(stdout);
	execl("/proc/self/exe", argv[0], num, (char *)NULL);
	perror("exec");
	return 1;
}
