// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Every IOMMUFD_COMPAT_* setting, read once, on first need (which may come
 * before the shim's constructor, from another library's). Reads go through
 * raw system calls: the shim's own open() asks for this configuration.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "compat.h"

static struct compat_config config;
static int config_state;	/* 0: not read; 1: being written; 2: read */

/* A small text file, through raw system calls; its length or -1. */
static ssize_t read_small(const char *path, char *buf, size_t len)
{
	long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = syscall(SYS_read, fd, buf, len - 1);
	syscall(SYS_close, fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/*
 * type1's dma_entry_limit as the administrator set it: the module parameter
 * where type1 exists, else vfio_iommu_type1.dma_entry_limit= on the kernel
 * command line, which the kernel keeps even with no such module.
 */
static uint32_t admin_dma_limit(void)
{
	static const char key[] = "vfio_iommu_type1.dma_entry_limit=";
	char buf[4096], *p, *end;
	unsigned long v;

	if (read_small("/sys/module/vfio_iommu_type1/parameters/dma_entry_limit", buf,
		       sizeof(buf)) > 0) {
		v = strtoul(buf, &end, 0);
		if (end != buf && v <= UINT32_MAX)
			return (uint32_t)v;
	}
	if (read_small("/proc/cmdline", buf, sizeof(buf)) > 0) {
		/* The last one wins, as the kernel's parameter parsing has it. */
		v = COMPAT_DMA_LIMIT;
		for (p = buf; (p = strstr(p, key)); p += sizeof(key) - 1) {
			if (p != buf && p[-1] != ' ')
				continue;
			errno = 0;
			unsigned long n = strtoul(p + sizeof(key) - 1, &end, 0);

			if (!errno && end != p + sizeof(key) - 1 && n <= UINT32_MAX &&
			    (*end == ' ' || *end == '\n' || !*end))
				v = n;
		}
		return (uint32_t)v;
	}
	return COMPAT_DMA_LIMIT;
}

static bool kernel_has_container(void)
{
	return syscall(SYS_faccessat, AT_FDCWD, "/dev/vfio/vfio", F_OK) == 0 || errno != ENOENT;
}

const struct compat_config *compat_config(void)
{
	static __thread struct compat_config mine;
	struct compat_config c;
	const char *env;
	int expect = 0;

	if (__atomic_load_n(&config_state, __ATOMIC_ACQUIRE) == 2)
		return &config;
	env = getenv("IOMMUFD_COMPAT");
	if (env && !strcmp(env, "off"))
		c.emulate = false;
	else if (env && (!strcmp(env, "force") || !strcmp(env, "on")))
		c.emulate = true;
	else	/* auto: only when the kernel has no container of its own */
		c.emulate = !kernel_has_container();
	env = getenv("IOMMUFD_COMPAT_DMA_LIMIT");
	c.dma_limit = env && *env ? (uint32_t)strtoul(env, NULL, 0) : admin_dma_limit();
	env = getenv("IOMMUFD_COMPAT_PARALLEL");
	c.parallel = !(env && !strcmp(env, "0"));
	/*
	 * One thread publishes; one that races with it keeps its own copy of
	 * the same answer rather than wait (it could be a child forked while
	 * another thread was writing).
	 */
	if (!__atomic_compare_exchange_n(&config_state, &expect, 1, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		mine = c;
		return &mine;
	}
	config = c;
	__atomic_store_n(&config_state, 2, __ATOMIC_RELEASE);
	return &config;
}
