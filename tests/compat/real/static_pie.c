// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Built with -static-pie: the dynamic loader never runs, so LD_PRELOAD is
 * ignored and the shim must not change anything. It prints what the kernel
 * answers for the calls the shim would otherwise interpose, /dev/vfio/vfio
 * included: through the shim the answers must be the native ones.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

static void show(const char *what, int r)
{
	printf("%s: %s\n", what, r < 0 ? strerrorname_np(errno) : "ok");
}

int main(void)
{
	struct termios t;
	struct stat st;
	int fd, fd2;

	fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	show("open /dev/vfio/vfio", fd);
	if (fd >= 0)
		close(fd);
	show("stat /dev/vfio/vfio", stat("/dev/vfio/vfio", &st));
	show("access /dev/vfio/vfio", access("/dev/vfio/vfio", F_OK));
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	show("open /dev/null", fd);
	show("ioctl TCGETS /dev/null", ioctl(fd, TCGETS, &t));
	fd2 = dup(fd);
	show("dup", fd2);
	show("fcntl F_DUPFD_CLOEXEC", fcntl(fd, F_DUPFD_CLOEXEC, 100));
	show("close", close(fd2));
	show("close again", close(fd2));
	show("close", close(fd));
	return 0;
}
