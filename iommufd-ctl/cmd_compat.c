// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * iommufd-ctl compat [--trace[=FILE]] [--force] -- PROGRAM [ARGS]: run a
 * legacy VFIO type1 program on iommufd through the LD_PRELOAD shim.
 *
 * The shim is found next to this program: ../lib/libiommufd-compat.so when
 * installed, ../libiommufd-compat.so in the build tree, or wherever
 * IOMMUFD_COMPAT_LIB says.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

static int find_shim(char *path, size_t len)
{
	static const char *const rel[] = { "../lib/libiommufd-compat.so",
					   "../libiommufd-compat.so" };
	const char *env = getenv("IOMMUFD_COMPAT_LIB");
	char exe[PATH_MAX], *dir;
	ssize_t n;

	if (env) {
		snprintf(path, len, "%s", env);
		return access(path, R_OK) ? -errno : 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -errno;
	exe[n] = '\0';
	dir = dirname(exe);
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		char cand[PATH_MAX + 64];

		snprintf(cand, sizeof(cand), "%s/%s", dir, rel[i]);
		if (realpath(cand, path) && !access(path, R_OK))
			return 0;
	}
	return -ENOENT;
}

int cmd_compat(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "trace", optional_argument, NULL, 't' },
		{ "force", no_argument, NULL, 'f' },
		{ 0 },
	};
	char shim[PATH_MAX], *preload;
	const char *old;
	int c;

	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			setenv("IOMMUFD_COMPAT_TRACE", optarg ? optarg : "1", 1);
			break;
		case 'f':
			setenv("IOMMUFD_COMPAT", "force", 1);
			break;
		default:
			return CTL_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: iommufd-ctl compat [--trace[=FILE]] [--force] -- PROGRAM "
			"[ARGS]\n");
		return CTL_USAGE;
	}
	if (find_shim(shim, sizeof(shim)) < 0) {
		fprintf(stderr, "iommufd-ctl: compat: libiommufd-compat.so is neither in ../lib nor "
			"next to this program; set IOMMUFD_COMPAT_LIB\n");
		return CTL_FAILED;
	}
	/*
	 * After what is preloaded already: a runtime that must come first (ASan's)
	 * stays first, and its interceptors pass the calls on to the shim.
	 */
	old = getenv("LD_PRELOAD");
	if (asprintf(&preload, "%s%s%s", old ? old : "", old && *old ? " " : "", shim) < 0)
		return ctl_fail("out of memory");
	setenv("LD_PRELOAD", preload, 1);
	free(preload);
	execvp(argv[optind], argv + optind);
	fprintf(stderr, "iommufd-ctl: compat: %s: %s\n", argv[optind], strerror(errno));
	return CTL_FAILED;
}
