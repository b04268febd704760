// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The compat shim's decoding of legacy VFIO ioctls (compat/container.c,
 * group.c, dirty.c, fdtable.c, config.c, trace.c) against the fake kernel:
 * a program of legacy calls from the input (open containers and groups,
 * container, group and device ioctls with argsz, flags and capability and
 * bitmap buffers from the input, dup and close), each through the file ops
 * as compat/intercept.c dispatches them (which this harness stands in for:
 * its libc interposers are the fake world's place).
 *
 * What must hold after every call beyond the sanitizers: the shim answers
 * >= 0 or -errno; it writes nothing past the argsz (or bitmap size) the
 * program gave (checked against a copy for the structs, and guard bytes
 * for the bitmaps, which the shim writes through process_vm_writev());
 * the mappings it records
 * for each container are exactly those the kernel has in the container's
 * IOAS; VFIO_IOMMU_GET_INFO's capability chain walks (iommufd_find_cap())
 * to an IOVA-range capability inside argsz. When every fd is closed, every
 * fake fd the shim opened is closed too (no iommufd or cdev leaked).
 *
 * Groups are made as compat_open_group() makes them but from the input, not
 * from /sys/kernel/iommu_groups: devices "/f/devN" (a path, which
 * iommufd_device_open() opens as one), their drivers and SR-IOV roles from
 * the input through the readlink() and access() hooks.
 *
 * Input: the fake kernel's replies (split at byte 0's value * 8), faults
 * (next byte's value % 16), then operations (see run()).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "../compat/compat.h"
#include "../libiommufd/device_internal.h"
#include "fuzz.h"

/* ---- what compat/intercept.c would give ---------------------------------- */

int compat_real_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg);
}

int compat_real_close(int fd)
{
	return close(fd);
}

/* ---- the fake devices ------------------------------------------------------ */

#define MAX_DEVS 8
#define MAX_FDS 32

static const char *const drivers[] = { "vfio-pci", "vfio-pci", "pcieport", "e1000e", "" };

static struct {
	const char *driver;
	bool vf, pf;
	const char *pf_driver;
} devs[MAX_DEVS];
static int nr_devs;

static const char *links(const char *path)
{
	static char target[96];
	int n, len = 0;

	if (sscanf(path, "/sys/bus/pci/devices//f/dev%d/%n", &n, &len) == 1 && len &&
	    n >= 0 && n < nr_devs) {
		const char *rest = path + len, *drv = NULL;

		if (!strcmp(rest, "driver"))
			drv = devs[n].driver;
		else if (!strcmp(rest, "physfn/driver"))
			drv = devs[n].pf_driver;
		if (!drv)
			return NULL;
		if (!*drv)
			return "";
		snprintf(target, sizeof(target), "../../../bus/pci/drivers/%s", drv);
		return target;
	}
	/* Hot-reset dependencies name their groups by PCI address. */
	if (!strncmp(path, "/sys/bus/pci/devices/", 21) && strstr(path, "/iommu_group")) {
		snprintf(target, sizeof(target), "../../../kernel/iommu_groups/%u",
			 (unsigned int)strlen(path) % 7);
		return target;
	}
	return NULL;
}

static int exists(const char *path)
{
	int n, len = 0;

	if (sscanf(path, "/sys/bus/pci/devices//f/dev%d/%n", &n, &len) == 1 && len &&
	    n >= 0 && n < nr_devs) {
		if (!strcmp(path + len, "physfn"))
			return devs[n].vf ? 0 : -1;
		if (!strcmp(path + len, "sriov_totalvfs"))
			return devs[n].pf ? 0 : -1;
	}
	return -2;
}

static int opens(const char *path, int flags)
{
	int n;

	if (!strcmp(path, "/dev/iommu"))
		return fake_iommufd_open();
	if (sscanf(path, "/f/dev%d", &n) == 1 && n >= 0 && n < nr_devs)
		return fake_vfio_cdev_open();
	return -1;
}

/* ---- the program's fds ----------------------------------------------------- */

static int fds[MAX_FDS], nr_fds;

static void add_fd(int fd)
{
	if (fd < 0)
		return;
	if (nr_fds < MAX_FDS) {
		fds[nr_fds++] = fd;
		return;
	}
	compat_fd_forget(fd);
	close(fd);
}

/*
 * One of the program's fds, or any small fd number (a program may ioctl
 * every fd, the shim's own among them: corpus/compat/regress-internal-fd-
 * adopted), or a closed one.
 */
static int pick_fd(struct fz *in)
{
	uint8_t b = fz_u8(in);

	if (nr_fds && b < 0xf8)
		return fds[b % nr_fds];
	return (b & 8) ? 1000 : b & 7;
}

/* close() as the shim's: forget the emulated file, then close the fd. */
static void do_close(int i)
{
	compat_fd_forget(fds[i]);
	close(fds[i]);
	fds[i] = fds[--nr_fds];
}

/* An ioctl as intercept.c dispatches one; -ENOTTY-like for a plain fd. */
static int do_ioctl(int fd, unsigned long req, void *arg)
{
	struct compat_file *f;
	int err = 0, r;

	f = compat_fd_lookup(fd, &err);
	if (!f)
		return err ? err : -ENOTTY;
	r = f->ops->ioctl(f, fd, req, arg);
	compat_file_put(f);
	return r;
}

/* ---- invariants --------------------------------------------------------------- */

static void check_result(int r, const char *what)
{
	fprintf(stderr, "fuzz_compat: %s: %d\n", what, r);	/* FUZZ_VERBOSE=1 shows these */
	fuzz_assert(r >= -4095, "%s returned %d", what, r);
}

/* The shim's type1 mappings of @c are the kernel's mappings of its IOAS. */
static void check_container(struct compat_container *c)
{
	struct fake_range kernel[512], mine[512];
	struct range_node *n;
	size_t k, m = 0;

	pthread_mutex_lock(&c->lock);
	for (n = range_index_min(&c->dmas); n && m < 512; n = range_index_next(n)) {
		if (m && mine[m - 1].last + 1 == n->start && mine[m - 1].last != UINT64_MAX)
			mine[m - 1].last = n->last;
		else
			mine[m++] = (struct fake_range){ n->start, n->last };
	}
	k = fake_ioas_ranges_mapped(iommufd_ctx_fd(c->ctx), c->ioas_id, kernel, 512);
	pthread_mutex_unlock(&c->lock);
	fuzz_assert(k == m, "container: the shim records %zu ranges, IOAS %u has %zu", m,
		    c->ioas_id, k);
	for (size_t i = 0; i < m; i++)
		fuzz_assert(mine[i].start == kernel[i].start && mine[i].last == kernel[i].last,
			    "container: the shim records 0x%llx-0x%llx, the kernel maps "
			    "0x%llx-0x%llx", (unsigned long long)mine[i].start,
			    (unsigned long long)mine[i].last, (unsigned long long)kernel[i].start,
			    (unsigned long long)kernel[i].last);
}

static void check_all(void)
{
	for (int i = 0; i < nr_fds; i++) {
		struct compat_file *f = compat_fd_get(fds[i]);

		if (compat_file_is(f, &compat_container_ops))
			check_container((struct compat_container *)f);
		compat_file_put(f);
	}
}

/* GET_INFO's reply, when it fit: a chain to an IOVA-range capability inside argsz. */
static void check_info(const struct vfio_iommu_type1_info *info, uint32_t argsz)
{
	const struct vfio_iommu_type1_info_cap_iova_range *iova;
	long off;

	if (!(info->flags & VFIO_IOMMU_INFO_CAPS) || !info->cap_offset)
		return;
	fuzz_assert(info->argsz <= argsz, "caps written (argsz %u) into %u bytes", info->argsz,
		    argsz);
	off = iommufd_find_cap(info, info->argsz, info->cap_offset, sizeof(*info),
			       VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
	fuzz_assert(off > 0, "no IOVA-range capability in the chain: %ld", off);
	iova = (const void *)((const char *)info + off);
	fuzz_assert(off + sizeof(*iova) + iova->nr_iovas * sizeof(iova->iova_ranges[0]) <=
			    info->argsz, "%u IOVA ranges overrun the reply", iova->nr_iovas);
}

/* ---- the calls ------------------------------------------------------------------ */

/* Numbers a fuzzer would take long to find: pages, huge pages, the ends. */
static uint64_t pick_u64(struct fz *in)
{
	uint8_t b = fz_u8(in);

	switch (b >> 5) {
	case 0:
		return (uint64_t)(b & 31) << 12;
	case 1:
		return (uint64_t)(b & 31) << 21;
	case 2:
		return (uint64_t)fz_u16(in) << 12;
	case 3:
		return 0xfee00000ULL + ((uint64_t)(b & 31) << 12);
	case 4:
		return UINT64_MAX - ((uint64_t)(b & 31) << 12);
	default:
		return fz_u64(in);
	}
}

#define GUARD 64

/*
 * An ioctl argument as a program passes one: at least 64 bytes and @argsz
 * if more, zeroed, and then a tail. The kernel copies a struct's fixed
 * part in whatever argsz says (a buffer shorter than that is the program's
 * bug, answered with EFAULT only at the end of a mapping), so the shim may
 * read that far; but it must not write a byte past argsz, which
 * arg_done() checks against what was there before the call.
 */
struct arg {
	uint8_t *p, *was;
	size_t len, argsz;
};

static void *arg_new(struct arg *a, size_t size, uint32_t argsz)
{
	a->argsz = argsz;
	a->len = (argsz > size ? argsz : size) + 64;
	if (a->len < 128)
		a->len = 128;
	a->p = calloc(1, a->len);
	a->was = malloc(a->len);
	return a->p;
}

/* Remember the buffer as the program filled it in. */
static void arg_seal(struct arg *a)
{
	memcpy(a->was, a->p, a->len);
}

static void arg_done(struct arg *a, const char *what)
{
	for (size_t i = a->argsz; i < a->len; i++)
		fuzz_assert(a->p[i] == a->was[i], "%s: byte %zu written, past argsz %zu", what, i,
			    a->argsz);
	free(a->p);
	free(a->was);
}

/* A bitmap the shim may write @size bytes of, with guard bytes after it. */
static void *bitmap(uint64_t size, uint8_t **buf)
{
	*buf = NULL;
	if (!size || size > 65536)
		return NULL;	/* the shim must answer EFAULT or EINVAL, not write */
	*buf = malloc(size + GUARD);
	memset(*buf, 0, size);
	memset(*buf + size, 0xa5, GUARD);
	return *buf;
}

static void check_bitmap(uint8_t *buf, uint64_t size, const char *what)
{
	for (size_t i = 0; buf && i < GUARD; i++)
		fuzz_assert(buf[size + i] == 0xa5, "%s: byte %zu past a %llu-byte bitmap written",
			    what, i, (unsigned long long)size);
	free(buf);
}

static void container_call(struct fz *in)
{
	static const unsigned long reqs[] = {
		VFIO_GET_API_VERSION, VFIO_CHECK_EXTENSION, VFIO_SET_IOMMU, VFIO_IOMMU_GET_INFO,
		VFIO_IOMMU_MAP_DMA,   VFIO_IOMMU_MAP_DMA,   VFIO_IOMMU_UNMAP_DMA,
		VFIO_IOMMU_UNMAP_DMA, VFIO_IOMMU_DIRTY_PAGES, VFIO_DEVICE_GET_INFO,
	};
	int fd = pick_fd(in), r;
	unsigned long req = reqs[fz_u8(in) % (sizeof(reqs) / sizeof(reqs[0]))];
	struct arg a = { 0 };
	uint32_t argsz;
	uint8_t *bits = NULL;
	uint64_t bits_size = 0;

	switch (req) {
	case VFIO_GET_API_VERSION:
	case VFIO_DEVICE_GET_INFO:
		r = do_ioctl(fd, req, NULL);
		break;
	case VFIO_CHECK_EXTENSION:
	case VFIO_SET_IOMMU:
		r = do_ioctl(fd, req, (void *)(uintptr_t)(fz_u8(in) % 12));
		break;
	case VFIO_IOMMU_GET_INFO: {
		struct vfio_iommu_type1_info *info;

		argsz = fz_bool(in) ? fz_u16(in) % 512 : 256;
		info = arg_new(&a, sizeof(*info), argsz);
		fz_fill(in, info, 16);
		info->argsz = argsz;
		arg_seal(&a);
		r = do_ioctl(fd, req, info);
		if (!r)
			check_info(info, argsz);
		break;
	}
	case VFIO_IOMMU_MAP_DMA: {
		struct vfio_iommu_type1_dma_map *m;

		argsz = fz_u8(in) < 0xf0 ? sizeof(*m) : fz_u8(in);
		m = arg_new(&a, sizeof(*m), argsz);
		m->argsz = argsz;
		m->flags = fz_u8(in) % 8;
		m->vaddr = 0x7f0000000000ULL + pick_u64(in);
		m->iova = pick_u64(in);
		m->size = pick_u64(in);
		arg_seal(&a);
		r = do_ioctl(fd, req, m);
		break;
	}
	case VFIO_IOMMU_UNMAP_DMA: {
		struct vfio_iommu_type1_dma_unmap *u;
		struct vfio_bitmap *b;

		argsz = fz_u8(in) < 0xf0 ? sizeof(*u) + (fz_bool(in) ? sizeof(*b) : 0) : fz_u8(in);
		u = arg_new(&a, sizeof(*u) + sizeof(*b), argsz);
		b = (void *)u->data;
		u->argsz = argsz;
		u->flags = fz_u8(in) % 16;
		u->iova = pick_u64(in);
		u->size = pick_u64(in);
		b->pgsize = fz_bool(in) ? 4096 : pick_u64(in);
		b->size = fz_u16(in);
		b->data = bitmap(b->size, &bits);
		bits_size = b->size;
		arg_seal(&a);
		r = do_ioctl(fd, req, u);
		check_bitmap(bits, bits_size, "unmap");
		break;
	}
	case VFIO_IOMMU_DIRTY_PAGES:
	default: {
		struct vfio_iommu_type1_dirty_bitmap *d;
		struct vfio_iommu_type1_dirty_bitmap_get *g;

		argsz = fz_u8(in) < 0xf0 ? sizeof(*d) + sizeof(*g) : fz_u8(in);
		d = arg_new(&a, sizeof(*d) + sizeof(*g), argsz);
		g = (void *)d->data;
		d->argsz = argsz;
		d->flags = 1U << (fz_u8(in) % 4);
		g->iova = pick_u64(in);
		g->size = pick_u64(in);
		g->bitmap.pgsize = fz_bool(in) ? 4096 : pick_u64(in);
		g->bitmap.size = fz_u16(in);
		g->bitmap.data = bitmap(g->bitmap.size, &bits);
		bits_size = g->bitmap.size;
		arg_seal(&a);
		r = do_ioctl(fd, req, d);
		check_bitmap(bits, bits_size, "dirty pages");
		break;
	}
	}
	check_result(r, req == VFIO_IOMMU_MAP_DMA ? "MAP_DMA" : req == VFIO_IOMMU_UNMAP_DMA ?
			"UNMAP_DMA" : req == VFIO_IOMMU_DIRTY_PAGES ? "DIRTY_PAGES" :
			req == VFIO_IOMMU_GET_INFO ? "GET_INFO" : "container ioctl");
	if (a.p)
		arg_done(&a, "container ioctl");
}

static void group_call(struct fz *in)
{
	int fd = pick_fd(in), r = 0;

	switch (fz_u8(in) % 5) {
	case 0: {
		uint32_t argsz = fz_u8(in) % 16;
		struct arg a;
		struct vfio_group_status *st = arg_new(&a, sizeof(*st), argsz);

		st->argsz = argsz;
		arg_seal(&a);
		r = do_ioctl(fd, VFIO_GROUP_GET_STATUS, st);
		arg_done(&a, "group status");
		break;
	}
	case 1:
	case 2: {
		int cfd = pick_fd(in);

		r = do_ioctl(fd, VFIO_GROUP_SET_CONTAINER, &cfd);
		break;
	}
	case 3:
		r = do_ioctl(fd, VFIO_GROUP_UNSET_CONTAINER, NULL);
		break;
	case 4: {
		/* "NAME" or "NAME vf_token=UUID", from the input. */
		char name[96];
		size_t n = fz_u8(in) % 95;

		fz_fill(in, name, n);
		name[n] = '\0';
		r = do_ioctl(fd, VFIO_GROUP_GET_DEVICE_FD, name);
		if (r >= 0)
			add_fd(r);
		break;
	}
	}
	check_result(r, "group ioctl");
}

static void device_call(struct fz *in)
{
	int fd = pick_fd(in), r;
	struct arg a;

	if (fz_bool(in)) {
		struct vfio_pci_hot_reset_info *hi;
		uint32_t argsz = fz_u8(in);

		hi = arg_new(&a, sizeof(*hi), argsz);
		hi->argsz = argsz;
		arg_seal(&a);
		r = do_ioctl(fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, hi);
	} else {
		struct vfio_pci_hot_reset *hr;
		uint32_t count = fz_u8(in) % 9, argsz;

		argsz = fz_bool(in) ? (uint32_t)(sizeof(*hr) + count * 4) : fz_u8(in);
		/* The program's array holds the count it says. */
		hr = arg_new(&a, sizeof(*hr) + count * sizeof(hr->group_fds[0]), argsz);
		hr->argsz = argsz;
		hr->flags = fz_u8(in) < 0xf0 ? 0 : 1;
		hr->count = count;
		for (uint32_t i = 0; i < count; i++)
			hr->group_fds[i] = pick_fd(in);
		arg_seal(&a);
		r = do_ioctl(fd, VFIO_DEVICE_PCI_HOT_RESET, hr);
	}
	check_result(r, "device ioctl");
	arg_done(&a, "device ioctl");
}

/* A group as compat_open_group() makes one, its devices from the input. */
static void new_group(struct fz *in, int group_id)
{
	struct compat_group *g = calloc(1, sizeof(*g));
	int n = fz_u8(in) % 3, fd;

	compat_file_init(&g->file, &compat_group_ops);
	g->group_id = group_id;
	g->names = calloc(n ? n : 1, sizeof(*g->names));
	g->devs = calloc(n ? n : 1, sizeof(*g->devs));
	for (int i = 0; i < n && nr_devs < MAX_DEVS; i++) {
		uint8_t b = fz_u8(in);

		devs[nr_devs].driver = drivers[b % 5];
		devs[nr_devs].vf = b & 0x20;
		devs[nr_devs].pf = b & 0x40;
		devs[nr_devs].pf_driver = b & 0x80 ? "vfio-pci" : "igb";
		snprintf(g->names[i], sizeof(g->names[i]), "/f/dev%d", nr_devs++);
		g->nr_devices++;
	}
	fd = compat_file_memfd(&g->file, O_CLOEXEC, "group");
	if (fd < 0) {
		free(g->names);
		free(g->devs);
		free(g);
		return;
	}
	compat_fd_install(fd, &g->file);
	add_fd(fd);
}

/* The operations: one byte each, then their arguments. */
static void run(struct fz *in)
{
	int groups = 0;

	for (int steps = 0; in->n && steps < 64; steps++) {
		switch (fz_u8(in) % 8) {
		case 0:
			add_fd(compat_open_container(O_RDWR | O_CLOEXEC));
			break;
		case 1:
			if (groups < 8)
				new_group(in, ++groups);
			break;
		case 2:
		case 3:
			container_call(in);
			break;
		case 4:
			group_call(in);
			break;
		case 5:
			device_call(in);
			break;
		case 6:
			if (nr_fds) {
				int i = fz_u8(in) % nr_fds;

				fprintf(stderr, "fuzz_compat: close %d\n", fds[i]);
				do_close(i);
			}
			break;
		case 7:
			/* A dup the shim sees (dup()), or one it does not (an fd by socket). */
			if (nr_fds) {
				int from = fds[fz_u8(in) % nr_fds], to = fcntl(from, F_DUPFD_CLOEXEC, 0);

				if (to >= 0 && fz_bool(in))
					compat_fd_copy(from, to);
				add_fd(to);
			}
			break;
		}
		check_all();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	/* Read once, before the first container: emulate; a small type1 limit. */
	setenv("IOMMUFD_COMPAT", "force", 1);
	setenv("IOMMUFD_COMPAT_DMA_LIMIT", "16", 1);
	setenv("IOMMUFD_COMPAT_PARALLEL", "0", 1);
	if (!getenv("FUZZ_VERBOSE"))
		setenv("IOMMUFD_COMPAT_TRACE", "/dev/null", 1);
	else
		setenv("IOMMUFD_COMPAT_TRACE", "1", 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = { data, size };
	struct fake_kernel_opts ko;

	ko.replies = fz_split(&in, fz_u8(&in) * 8);
	ko.faults = fz_split(&in, fz_u8(&in) % 16);
	ko.dirty_capable = fz_bool(&in);
	fake_reset();
	fake_kernel_reset(&ko);
	fake_hooks.open = opens;
	fake_hooks.readlink = links;
	fake_hooks.access = exists;
	nr_devs = 0;
	nr_fds = 0;
	run(&in);
	while (nr_fds)
		do_close(nr_fds - 1);
	if (fake_fd_count()) {
		char open_fds[512];

		fake_fd_describe(open_fds, sizeof(open_fds));
		fuzz_assert(0, "every fd closed, but the shim keeps %s open", open_fds);
	}
	fake_reset();
	return 0;
}
