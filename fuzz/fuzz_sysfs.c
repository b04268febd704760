// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The sysfs and /proc text the toolkit reads, each from the input:
 *
 *   0  iommufd_cdev_path_at() (libiommufd/device_sysfs.c) on a made-up
 *      sysfs and /dev in a temporary directory: the device's vfio-dev
 *      entries, their "dev" files, its driver link, the node in /dev
 *      (a char device of any numbers, a plain file, or nothing).
 *   1  nothing: it was iommufd-ctl's reading of a device's driver and
 *      iommu_group links, which libpci does now (PCI_FILL_DRIVER,
 *      PCI_FILL_IOMMU_GROUP).
 *   2  /proc/self/pagemap as the show statement reads it (read_pages() in
 *      iommufd-ctl/show.c), the entries from the input.
 *   3  /proc/self/status for VmPin (ctl_vmpin_kb(), iommufd-ctl/progress.c).
 *   4  Why a map failed (libiommufd/error_explain.c): the usable IOVA ranges
 *      and alignment from the fake kernel, /proc/self/maps and
 *      /proc/self/status from the input, for EINVAL, EFAULT and ENOMEM.
 *
 * What must hold beyond the sanitizers: answers that say what they found
 * (a cdev path is the char device sysfs names; page counts add up; an
 * explanation is one line of text).
 *
 * Input: byte 0 picks the part; the rest is read as each part says.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../iommufd-ctl/pci.c"
#include "../iommufd-ctl/progress.c"
#include "../iommufd-ctl/show.c"
#include "../libiommufd/device_internal.h"
#include "fuzz.h"

/* ---- what the harness stands in for (main.c, session.c) ----------------- */

int ctl_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	return CTL_FAILED;
}

void ctl_print_json(struct json_object *o)
{
	json_object_put(o);
}

int ctl_session_foreach_map(struct ctl_session *s,
			    int (*fn)(const char *ioas, uint32_t id, uint64_t iova, uint64_t length,
				      void *vaddr, bool writable, void *arg),
			    void *arg)
{
	return 0;
}

struct ctl_opts ctl;

/* ---- helpers ------------------------------------------------------------- */

static char root[64];

/* A string of at most @max bytes from the input, stopping at a NUL. */
static char *take_str(struct fz *in, size_t max)
{
	size_t n = 0;
	char *s;

	while (n < max && n < in->n && in->p[n])
		n++;
	s = malloc(n + 1);
	memcpy(s, in->p, n);
	s[n] = '\0';
	in->p += n < in->n ? n + 1 : n;
	in->n -= n < in->n ? n + 1 : n;
	return s;
}

/* A file name from the input: no '/', not empty, not "." or "..". */
static char *take_name(struct fz *in, size_t max)
{
	char *s = take_str(in, max);

	for (char *p = s; *p; p++)
		if (*p == '/')
			*p = '_';
	if (!*s || !strcmp(s, ".") || !strcmp(s, "..")) {
		free(s);
		s = strdup("vfio0");
	}
	return s;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void put_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return;
	if (write(fd, data, len) < 0)
		;
	close(fd);
}

/* ---- 0: from a PCI address to its cdev ----------------------------------- */

static void cdev_tree(struct fz *in)
{
	static const char *const bdfs[] = { "0000:00:02.0", "00:02.0", "0000:00:03.0" };
	char sys[128], dev[128], p[1024], *buf;
	size_t len = fz_u16(in) % 300;
	uint8_t what = fz_u8(in);
	const char *bdf = bdfs[fz_u8(in) % 3];
	int r;

	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	snprintf(sys, sizeof(sys), "%s/sys", root);
	snprintf(dev, sizeof(dev), "%s/dev", root);
	snprintf(p, sizeof(p), "%s/bus/pci/devices/0000:00:02.0/vfio-dev", sys);
	mkdir(root, 0700);
	for (char *s = strchr(p + strlen(root) + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	if (what & 1)
		mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/vfio", dev);
	mkdir(dev, 0755);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/vfio/devices", dev);
	mkdir(p, 0755);
	if (what & 2) {
		char *target = take_str(in, 80);

		snprintf(p, sizeof(p), "%s/bus/pci/devices/0000:00:02.0/driver", sys);
		if (*target && symlink(target, p))
			;
		free(target);
	}
	/* Up to three vfio-dev entries, each with a dev file and a node in /dev. */
	for (int i = 0; i < (what >> 2) % 4 && (what & 1); i++) {
		char *name = take_name(in, 70), *text = take_str(in, 24);
		uint8_t node = fz_u8(in);

		snprintf(p, sizeof(p), "%s/bus/pci/devices/0000:00:02.0/vfio-dev/%s", sys, name);
		mkdir(p, 0755);
		if (node & 1) {
			snprintf(p, sizeof(p), "%s/bus/pci/devices/0000:00:02.0/vfio-dev/%s/dev", sys,
				 name);
			put_file(p, text, strlen(text));
		}
		snprintf(p, sizeof(p), "%s/vfio/devices/%s", dev, name);
		if (node & 2)
			mknod(p, S_IFCHR | 0600, makedev(fz_u16(in) % 1024, fz_u16(in) % 1024));
		else if (node & 4)
			put_file(p, "", 0);
		free(name);
		free(text);
	}
	buf = malloc(len ? len : 1);
	r = iommufd_cdev_path_at(sys, dev, bdf, buf, len);
	if (r < 0) {
		fuzz_assert(iommufd_last_error()[0], "cdev path: %d, no explanation", r);
	} else {
		struct stat st;

		fuzz_assert(strlen(buf) < len && !strncmp(buf, dev, strlen(dev)) &&
			    !stat(buf, &st) && S_ISCHR(st.st_mode), "cdev path \"%s\"", buf);
	}
	free(buf);
}

/* ---- 2: pagemap ------------------------------------------------------------- */

static void pagemap(struct fz *in)
{
	long psz = sysconf(_SC_PAGESIZE);
	uint64_t pages = fz_u16(in) % 2048, at = fz_u8(in);
	struct page_stats st;
	int fd = memfd_create("pagemap", MFD_CLOEXEC), r;

	if (fd < 0)
		return;
	/* The entries from the input at page @at on: the rest reads as nothing. */
	if (pwrite(fd, in->p, in->n, (off_t)(at * 8)) < 0)
		;
	r = read_pages(fd, (void *)(uintptr_t)(at * psz), pages * psz, &st);
	if (!r) {
		fuzz_assert(st.pages == pages && st.present <= st.pages && st.runs <= st.present &&
			    (st.present == 0) == (st.runs == 0),
			    "%llu pages, %llu present, %llu runs", (unsigned long long)st.pages,
			    (unsigned long long)st.present, (unsigned long long)st.runs);
	} else {
		fuzz_assert(r == -EIO, "read_pages: %d", r);
	}
	close(fd);
}

/* ---- 3 and 4: /proc text, and the explanations ---------------------------- */

static struct fz status, maps;

static bool proc_files(const char *path, const void **data, size_t *len)
{
	const struct fz *f = !strcmp(path, "/proc/self/status") ? &status :
			     !strcmp(path, "/proc/self/maps") ? &maps : NULL;

	if (!f)
		return false;
	*data = f->p;
	*len = f->n;
	return true;
}

static void vmpin(struct fz *in)
{
	status = *in;
	fake_hooks.fopen = proc_files;
	ctl_vmpin_kb();
	fake_hooks.fopen = NULL;
}

static void explain(struct fz *in)
{
	static const int errs[] = { -EINVAL, -EEXIST, -ENOENT, -ENOSPC, -ENOMEM, -EFAULT,
				    -EOVERFLOW, -EPERM };
	struct fake_kernel_opts ko = { .replies = fz_split(in, fz_u8(in) * 4) };
	uint64_t vaddr = fz_u64(in), length = fz_u64(in), iova = fz_u64(in);
	unsigned int flags = fz_u8(in) & 7;	/* IOMMUFD_MAP_READ, _WRITE, _FIXED_IOVA */
	int err = errs[fz_u8(in) % 8], fd, r;
	struct iommufd_ctx *ctx;

	status = fz_split(in, fz_u16(in) % 2048);
	maps = *in;
	fake_kernel_reset(&ko);
	fd = fake_iommufd_open();
	if (fd < 0 || iommufd_ctx_from_fd(fd, IOMMUFD_CTX_FD_OWN, &ctx) < 0) {
		close(fd);
		return;
	}
	fake_hooks.fopen = proc_files;
	/* IOAS 1 exists (made here), 2 does not. */
	if (!iommufd_ioas_alloc(ctx, &(uint32_t){ 0 })) {
		r = iommufd_explain_map(ctx, err, 1 + (length & 1), vaddr, length, iova, flags,
					"map");
		fuzz_assert(r == err, "explained %d as %d", err, r);
		fuzz_assert(iommufd_last_error()[0] && !strchr(iommufd_last_error(), '\n'),
			    "explanation \"%s\"", iommufd_last_error());
	}
	fake_hooks.fopen = NULL;
	iommufd_ctx_unref(ctx);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	/* tmpfs: a tree made and removed per input costs little there. */
	snprintf(root, sizeof(root), "%s/fuzz-sysfs.%d",
		 access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm", (int)getpid());
	return 0;
}

static void cleanup(void)
{
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool registered;
	struct fz in = { data, size };

	if (!registered) {
		atexit(cleanup);
		registered = true;
	}
	fake_reset();
	switch (fz_u8(&in) % 5) {
	case 0:
		cdev_tree(&in);
		break;
	case 1:
		/* Was iommufd-ctl's reading of the driver and iommu_group links: libpci's now. */
		break;
	case 2:
		pagemap(&in);
		break;
	case 3:
		vmpin(&in);
		break;
	case 4:
		explain(&in);
		break;
	}
	fake_reset();
	return 0;
}
