// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The compat shim's emulated files from many threads at once, on the host,
 * under ThreadSanitizer: one container with a group and its device, over the
 * fuzz harnesses' fake kernel (fuzz/fake.c, fuzz/fake_kernel.c: there is no
 * /dev/iommu here). Each worker maps, queries and unmaps its own IOVA range,
 * dups and closes the container fd, asks for the group's status and for the
 * device fd; one thread starts and stops dirty tracking and reads bitmaps;
 * one forks children that close what they inherited. The calls go through
 * the files' ops as compat/intercept.c dispatches them.
 *
 * Checked besides TSan's reports: every call answers as type1 would when
 * nobody else is there (the workers' ranges do not overlap), and at the end
 * the shim and the kernel both have nothing mapped and every fd is closed.
 * Exit 0, or 1 with the first thing that was wrong.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "compat/compat.h"
#include "fuzz/fuzz.h"

#define WORKERS 4
#define ROUNDS 400

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return 0;	/* fuzz.h declares it; nothing fuzzes here */
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int compat_real_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg);
}

int compat_real_close(int fd)
{
	return close(fd);
}

static int container, group;
static int failures;

#define CHECK(cond, ...)                                                                 \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "compat_threads: %s: ", #cond);                  \
			fprintf(stderr, __VA_ARGS__);                                    \
			fputc('\n', stderr);                                             \
			__atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);              \
		}                                                                        \
	} while (0)

static int do_ioctl(int fd, unsigned long req, void *arg)
{
	struct compat_file *f;
	int err, r;

	f = compat_fd_lookup(fd, &err);
	if (!f)
		return err ? err : -ENOTTY;
	r = f->ops->ioctl(f, fd, req, arg);
	compat_file_put(f);
	return r;
}

static void do_close(int fd)
{
	compat_fd_forget(fd);
	close(fd);
}

static int opens(const char *path, int flags)
{
	if (!strcmp(path, "/dev/iommu"))
		return fake_iommufd_open();
	if (!strcmp(path, "/f/dev0"))
		return fake_vfio_cdev_open();
	return -1;
}

static const char *links(const char *path)
{
	if (!strcmp(path, "/sys/bus/pci/devices//f/dev0/driver"))
		return "../../../bus/pci/drivers/vfio-pci";
	return NULL;
}

static void *worker(void *arg)
{
	uint64_t base = (uint64_t)(uintptr_t)arg << 30;

	for (int i = 0; i < ROUNDS; i++) {
		struct vfio_iommu_type1_dma_map m = {
			.argsz = sizeof(m), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = 0x7f0000000000ULL + base, .iova = base + (i % 8) * 0x10000,
			.size = 0x4000,
		};
		struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = m.iova,
							.size = m.size };
		struct {
			struct vfio_iommu_type1_info info;
			uint8_t caps[256];
		} gi = { .info.argsz = sizeof(gi) };
		struct vfio_group_status st = { .argsz = sizeof(st) };
		int fd = fcntl(container, F_DUPFD_CLOEXEC, 0), dev, r;

		if (fd < 0 || compat_fd_copy(container, fd) < 0) {
			CHECK(0, "dup of the container: %s", strerror(errno));
			continue;
		}
		r = do_ioctl(fd, VFIO_IOMMU_MAP_DMA, &m);
		CHECK(r == 0, "map at 0x%llx: %d", (unsigned long long)m.iova, r);
		r = do_ioctl(i % 2 ? fd : container, VFIO_IOMMU_GET_INFO, &gi);
		CHECK(r == 0, "get info: %d", r);
		r = do_ioctl(group, VFIO_GROUP_GET_STATUS, &st);
		CHECK(r == 0 && (st.flags & VFIO_GROUP_FLAGS_CONTAINER_SET), "status: %d", r);
		if (i % 16 == 0) {
			dev = do_ioctl(group, VFIO_GROUP_GET_DEVICE_FD, "/f/dev0");
			CHECK(dev >= 0, "device fd: %d", dev);
			if (dev >= 0)
				do_close(dev);
		}
		r = do_ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &u);
		CHECK(r == 0 && u.size == 0x4000, "unmap at 0x%llx: %d, %llu bytes",
		      (unsigned long long)m.iova, r, (unsigned long long)u.size);
		do_close(fd);
	}
	return NULL;
}

/* Dirty tracking on and off, and bitmaps of a mapping of its own. */
static void *dirty(void *arg)
{
	uint64_t bits[4];
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = 0x7e0000000000ULL, .iova = 0x100000000000ULL, .size = 0x40000,
	};
	int r = do_ioctl(container, VFIO_IOMMU_MAP_DMA, &m);

	CHECK(r == 0, "dirty map: %d", r);
	for (int i = 0; i < ROUNDS; i++) {
		struct {
			struct vfio_iommu_type1_dirty_bitmap db;
			struct vfio_iommu_type1_dirty_bitmap_get get;
		} d = { .db = { .argsz = sizeof(d), .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START } };

		r = do_ioctl(container, VFIO_IOMMU_DIRTY_PAGES, &d);
		CHECK(r == 0, "dirty start: %d", r);
		d.db.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
		d.get = (struct vfio_iommu_type1_dirty_bitmap_get){
			.iova = m.iova, .size = m.size,
			.bitmap = { .pgsize = 4096, .size = sizeof(bits), .data = (__u64 *)bits },
		};
		r = do_ioctl(container, VFIO_IOMMU_DIRTY_PAGES, &d);
		CHECK(r == 0, "dirty bitmap: %d", r);
		d.db.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP;
		r = do_ioctl(container, VFIO_IOMMU_DIRTY_PAGES, &d);
		CHECK(r == 0, "dirty stop: %d", r);
	}
	{
		struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = m.iova,
							.size = m.size };

		r = do_ioctl(container, VFIO_IOMMU_UNMAP_DMA, &u);
		CHECK(r == 0, "dirty unmap: %d", r);
	}
	return arg;
}

/* fork() while the others run: the shim's fork handlers take every file's lock. */
static void *forker(void *arg)
{
	for (int i = 0; i < 40; i++) {
		pid_t pid = fork();
		int st;

		if (pid == 0) {
			do_close(container);
			do_close(group);
			_exit(0);
		}
		CHECK(pid > 0, "fork: %s", strerror(errno));
		if (pid > 0)
			CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && !WEXITSTATUS(st),
			      "child %d", (int)pid);
	}
	return arg;
}

int main(void)
{
	struct fake_kernel_opts ko = { .dirty_capable = true };
	pthread_t t[WORKERS + 2];
	struct compat_group *g;
	int r;

	setenv("IOMMUFD_COMPAT", "force", 1);
	setenv("IOMMUFD_COMPAT_PARALLEL", "0", 1);
	fake_reset();
	fake_kernel_reset(&ko);
	fake_hooks.open = opens;
	fake_hooks.readlink = links;

	container = compat_open_container(O_RDWR | O_CLOEXEC);
	if (container < 0) {
		fprintf(stderr, "compat_threads: no container: %d\n", container);
		return 1;
	}
	/* A group as compat_open_group() makes one, with the one device. */
	g = calloc(1, sizeof(*g));
	compat_file_init(&g->file, &compat_group_ops);
	g->group_id = 1;
	g->names = calloc(1, sizeof(*g->names));
	g->devs = calloc(1, sizeof(*g->devs));
	snprintf(g->names[0], sizeof(g->names[0]), "/f/dev0");
	g->nr_devices = 1;
	group = compat_file_memfd(&g->file, O_CLOEXEC, "group 1");
	compat_fd_install(group, &g->file);
	r = do_ioctl(group, VFIO_GROUP_SET_CONTAINER, &container);
	CHECK(r == 0, "set container: %d", r);
	r = do_ioctl(container, VFIO_SET_IOMMU, (void *)VFIO_TYPE1v2_IOMMU);
	CHECK(r == 0, "set iommu: %d", r);

	for (int i = 0; i < WORKERS; i++)
		pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1));
	pthread_create(&t[WORKERS], NULL, dirty, NULL);
	pthread_create(&t[WORKERS + 1], NULL, forker, NULL);
	for (int i = 0; i < WORKERS + 2; i++)
		pthread_join(t[i], NULL);

	{
		struct compat_container *c = (struct compat_container *)compat_fd_get(container);
		struct fake_range k[4];

		CHECK(c && range_index_count(&c->dmas) == 0, "the shim still records %zu mappings",
		      c ? range_index_count(&c->dmas) : 0);
		CHECK(c && !fake_ioas_ranges_mapped(iommufd_ctx_fd(c->ctx), c->ioas_id, k, 4),
		      "the kernel still maps");
		compat_file_put(c ? &c->file : NULL);
	}
	do_close(group);
	do_close(container);
	CHECK(fake_fd_count() == 0, "%zu fake fds left open", fake_fd_count());
	printf("compat_threads: %d workers x %d rounds, dirty tracking and 40 forks: %s\n",
	       WORKERS, ROUNDS, failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}
