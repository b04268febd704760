// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The environment hand-off: iommufd_handoff_from_env() (libiommufd/
 * handoff.c) with opts->envp from the input, against a fake world in which
 * what a launcher would have made is there at fixed fd numbers:
 *
 *   fd 100  an iommufd with IOASes 1 and 2 (1 the current one)
 *   fd 101  the cdev of 0000:00:02.0, bound as device 3, attached to IOAS 1
 *   fd 102  the cdev of 0000:00:03.0, bound as device 4, attached to IOAS 2
 *   fd 103  /dev/null
 *   fd 104  closed
 *   fd 105  the cdev of 0000:00:04.0, not bound
 *
 * What must hold: a refusal is -errno with an explanation and changes
 * nothing (every fd open as it was, inheritable, the kernel's objects as
 * they were); an adoption answers every IOAS by its name and every device
 * by its PCI address as the environment said, makes the fds close-on-exec,
 * and iommufd_handoff_free() closes them.
 *
 * Input: the environment, one "NAME=value" per line (or NUL).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <iommufd/iommufd.h>

#include "fuzz.h"

#define FIRST_FD 100
#define NR_FDS 6

static const char *sys_links(const char *path)
{
	static const char *const links[][2] = {
		{ "/sys/class/vfio-dev/vfio0/device", "../../../0000:00:02.0" },
		{ "/sys/class/vfio-dev/vfio1/device", "../../../0000:00:03.0" },
		{ "/sys/class/vfio-dev/vfio2/device", "../../../0000:00:04.0" },
	};

	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (!strcmp(path, links[i][0]))
			return links[i][1];
	return NULL;
}

static void bind_attach(int cdev, int iommufd, uint32_t ioas)
{
	struct vfio_device_bind_iommufd b = { .argsz = sizeof(b), .iommufd = iommufd };
	struct vfio_device_attach_iommufd_pt a = { .argsz = sizeof(a), .pt_id = ioas };

	fuzz_assert(!ioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, &b), "bind");
	fuzz_assert(!ioctl(cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &a), "attach");
}

/* The launcher's side, at the fixed numbers. */
static void world(void)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct fake_kernel_opts ko = { 0 };
	int fd;

	fake_reset();
	fake_kernel_reset(&ko);
	fake_hooks.readlink = sys_links;
	fake_fd_move(fake_iommufd_open(), FIRST_FD);
	fake_fd_move(fake_vfio_cdev_open(), FIRST_FD + 1);
	fake_fd_move(fake_vfio_cdev_open(), FIRST_FD + 2);
	fd = open("/dev/null", O_RDONLY);
	dup2(fd, FIRST_FD + 3);
	close(fd);
	close(FIRST_FD + 4);
	fake_fd_move(fake_vfio_cdev_open(), FIRST_FD + 5);
	for (int i = 0; i < 2; i++)
		fuzz_assert(!ioctl(FIRST_FD, IOMMU_IOAS_ALLOC, &alloc), "IOAS");
	bind_attach(FIRST_FD + 1, FIRST_FD, 1);
	bind_attach(FIRST_FD + 2, FIRST_FD, 2);
	for (int i = 0; i < NR_FDS; i++)
		if (i != 4)
			fcntl(FIRST_FD + i, F_SETFD, 0);
}

/* The value of @name in @envp, as the library reads it (the first one). */
static const char *env(char **envp, const char *name)
{
	size_t n = strlen(name);

	for (; *envp; envp++)
		if (!strncmp(*envp, name, n) && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/* Each NAME=ID entry of a list variable is answered as the list says. */
static void check_adopted(struct iommufd_handoff *h, char **envp)
{
	const char *ioas = env(envp, "IOMMUFD_IOAS"), *devs = env(envp, "IOMMUFD_DEVICES");
	char entry[160];

	fuzz_assert(iommufd_handoff_ctx(h), "no context");
	for (const char *p = ioas; p && *p;) {
		size_t len = strcspn(p, ",");
		char *eq;

		snprintf(entry, sizeof(entry), "%.*s", (int)len, p);
		eq = strchr(entry, '=');
		fuzz_assert(eq, "IOAS entry \"%s\" adopted", entry);
		*eq = '\0';
		fuzz_assert(iommufd_handoff_ioas(h, entry) == strtoul(eq + 1, NULL, 10),
			    "IOAS %s: %u, not %s", entry, iommufd_handoff_ioas(h, entry), eq + 1);
		p += len + (p[len] == ',');
	}
	for (const char *p = devs; p && *p;) {
		size_t len = strcspn(p, ",");
		struct iommufd_device *d;
		char *eq;

		snprintf(entry, sizeof(entry), "%.*s", (int)len, p);
		eq = strchr(entry, '=');
		fuzz_assert(eq, "device entry \"%s\" adopted", entry);
		*eq = '\0';
		d = iommufd_handoff_device(h, entry);
		fuzz_assert(d && iommufd_device_fd(d) == atoi(eq + 1), "device %s", entry);
		fuzz_assert(fcntl(iommufd_device_fd(d), F_GETFD) == FD_CLOEXEC,
			    "device fd %d inheritable after adoption", iommufd_device_fd(d));
		p += len + (p[len] == ',');
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *envp[33];
	struct iommufd_handoff *h = NULL;
	int n = 0, flags[NR_FDS], r;
	size_t objs;

	memcpy(text, data, size);
	text[size] = '\0';
	for (char *p = text; p < text + size && n < 32; p += strcspn(p, "\n") + 1) {
		p[strcspn(p, "\n")] = '\0';
		envp[n++] = p;
	}
	envp[n] = NULL;
	world();
	objs = fake_objects(FIRST_FD);
	for (int i = 0; i < NR_FDS; i++)
		flags[i] = fcntl(FIRST_FD + i, F_GETFD);

	IOMMUFD_OPTS(iommufd_handoff_opts, opts, .envp = envp);
	r = iommufd_handoff_from_env(&opts, &h);
	fprintf(stderr, "iommufd_handoff_from_env: %d %s\n", r, r < 0 ? iommufd_last_error() : "");
	if (r < 0) {
		fuzz_assert(!h || h == NULL, "a refusal returned a hand-off");
		fuzz_assert(iommufd_last_error()[0], "refused (%d) with no explanation", r);
		for (int i = 0; i < NR_FDS; i++)
			fuzz_assert(fcntl(FIRST_FD + i, F_GETFD) == flags[i],
				    "refused (%d), but fd %d changed: %s", r, FIRST_FD + i,
				    iommufd_last_error());
		fuzz_assert(fake_objects(FIRST_FD) == objs, "refused, but the objects changed");
	} else {
		fuzz_assert(h, "adopted, but no hand-off");
		check_adopted(h, envp);
		iommufd_handoff_free(h);
		/* Adopted fds are the hand-off's: freed, they are closed. */
		fuzz_assert(fcntl(FIRST_FD, F_GETFD) < 0, "the iommufd is still open");
	}
	fake_reset();
	for (int i = 0; i < NR_FDS; i++)
		close(FIRST_FD + i);
	free(text);
	return 0;
}
