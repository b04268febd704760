// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A legacy VFIO type1 program that leans on type1's process and fd
 * semantics: forked children that close what they inherited, threads that
 * close an fd while another thread is inside an ioctl on it, fds closed by
 * other means than close(), failed dup2()s, VFIO_DMA_UNMAP_FLAG_VADDR that
 * fails part-way, device names with a VF token, and the administrator's
 * DMA-entry limit. Like legacy_type1 it prints a "T " transcript that must be
 * the same natively and through the compat shim (tests/compat/differential.sh
 * boots both kernels with vfio_iommu_type1.dma_entry_limit=LIMIT).
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "legacy.h"

#define LIMIT 300	/* what differential.sh puts on the kernel command line */

static char bdf[256], gpath[64];

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Container, group, type1v2, device, bus mastering: quiet unless it fails. */
static int setup(void)
{
	uint16_t cmd;
	struct vfio_region_info ri = { .argsz = sizeof(ri) };

	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	group = open(gpath, O_RDWR | O_CLOEXEC);
	if (container < 0 || group < 0 ||
	    ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) < 0 ||
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0) {
		T("setup failed: %s", strerror(errno));
		return -1;
	}
	device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (device < 0) {
		T("get_device_fd failed: %s", strerror(errno));
		return -1;
	}
	ri.index = VFIO_PCI_BAR0_REGION_INDEX;
	ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &ri);
	bar0_off = ri.offset;
	ri = (struct vfio_region_info){ .argsz = sizeof(ri), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &ri);
	config_off = ri.offset;
	pread(device, &cmd, 2, config_off + 4);
	cmd |= 4;
	pwrite(device, &cmd, 2, config_off + 4);
	return 0;
}

static void *map_anon(size_t len)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

/* Memory both sides of a fork() see: private pages a device pins are copied. */
static void *map_shared(size_t len)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
}

/* A child that closes the container, group and device it inherited undoes nothing. */
static void child_closes(void)
{
	uint8_t *buf = map_shared(PAGE);
	int status;
	pid_t pid;

	T("fork: map 0x100000: %s", res(map(0x100000, buf, PAGE, RW, 0)));
	fflush(stdout);
	pid = fork();
	if (!pid) {
		close(device);
		close(group);
		close(container);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	T("fork: child closed its fds and exited: %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	T("fork: the parent's dma still lands: %d", roundtrip(buf, 0x100000, 0x42));
	T_UNMAP("fork: the parent unmaps it", 0x100000, PAGE, 0);
	munmap(buf, PAGE);
}

/* The reverse: the parent closes everything, the child it forked carries on. */
static void parent_closes(void)
{
	uint8_t *buf = map_shared(PAGE), *mine;
	int go[2], status;
	char c;
	pid_t pid;

	T("reverse: map 0x100000: %s", res(map(0x100000, buf, PAGE, RW, 0)));
	pipe(go);
	fflush(stdout);
	pid = fork();
	if (!pid) {
		close(go[1]);
		read(go[0], &c, 1);	/* the parent has closed every fd */
		mine = map_anon(PAGE);
		T("reverse: child's dma through the parent's mapping lands: %d",
		  roundtrip(buf, 0x100000, 0x24));
		T("reverse: child maps 0x200000: %s", res(map(0x200000, mine, PAGE, RW, 0)));
		T("reverse: child's own dma lands: %d", roundtrip(mine, 0x200000, 0x81));
		T_UNMAP("reverse: child unmaps both", 0x100000, 0x101000, 0);
		fflush(stdout);
		_exit(0);
	}
	close(go[0]);
	T("reverse: parent closes device, group, container: %s %s %s", res(close(device)),
	  res(close(group)), res(close(container)));
	fflush(stdout);
	write(go[1], "x", 1);
	close(go[1]);
	waitpid(pid, &status, 0);
	T("reverse: child exited: %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	munmap(buf, PAGE);
}

/* One long map in a thread while the main thread closes every fd. */
#define BIG (256UL << 20)
static volatile int started;

static void *big_map(void *mem)
{
	started = 1;
	return (void *)(intptr_t)map(0x40000000, mem, BIG, RW, 0);
}

static void close_during_map(void)
{
	void *mem = map_anon(BIG), *ret;
	pthread_t th;

	pthread_create(&th, NULL, big_map, mem);
	while (!started)
		sleep_ms(1);
	sleep_ms(20);	/* well inside the map: it pins 65 536 pages */
	T("threads: close device, group, container during a map: %s %s %s", res(close(device)),
	  res(close(group)), res(close(container)));
	pthread_join(th, &ret);
	T("threads: the map that was running: %s", res((int)(intptr_t)ret));
	munmap(mem, BIG);
}

/* Group status from a thread while the main thread closes the group. */
static volatile int stop;
static int status_errors;

static void *status_loop(void *arg)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	int fd = (int)(intptr_t)arg;

	while (!stop)
		if (ioctl(fd, VFIO_GROUP_GET_STATUS, &st) < 0 && errno != EBADF)
			status_errors++;
	return NULL;
}

static void close_during_status(void)
{
	int g = open(gpath, O_RDWR);
	pthread_t th;

	stop = 0;
	pthread_create(&th, NULL, status_loop, (void *)(intptr_t)g);
	sleep_ms(20);
	T("threads: close the group during GET_STATUS: %s", res(close(g)));
	sleep_ms(20);
	stop = 1;
	pthread_join(th, NULL);
	T("threads: errors other than EBADF: %d", status_errors);
	g = open(gpath, O_RDWR);
	T("threads: the group opens again: %s", res(g < 0 ? -1 : 0));
	close(g);
}

/* fork() while another thread opens and closes fds: every child's close returns. */
static void *closer(void *arg)
{
	while (!stop) {
		int fd = dup(1);

		close(fd);
	}
	return NULL;
}

static void fork_while_closing(void)
{
	int exited = 0, status;
	pthread_t th;

	stop = 0;
	pthread_create(&th, NULL, closer, NULL);
	for (int i = 0; i < 100; i++) {
		pid_t pid;

		fflush(stdout);
		pid = fork();
		if (!pid) {
			alarm(10);	/* a child that hangs dies, and is counted */
			close(dup(2));
			_exit(0);
		}
		waitpid(pid, &status, 0);
		exited += WIFEXITED(status) && !WEXITSTATUS(status);
	}
	stop = 1;
	pthread_join(th, NULL);
	T("fork while another thread closes: %d of 100 children exited", exited);
}

/* An fd closed other than by close(): its number, reused, is a new file. */
static void closed_elsewhere(const char *how)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	int g = open(gpath, O_RDWR), n;
	FILE *f;

	if (!strcmp(how, "fclose")) {
		f = fdopen(g, "r");
		fclose(f);
	} else if (!strcmp(how, "close_range")) {
		close_range(g, g, 0);
	} else {
		syscall(SYS_close, g);
	}
	n = open("/dev/null", O_RDWR);
	T("%s: the number comes back: %d", how, n == g);
	T("%s: ioctl on the new file: %s", how, res(ioctl(n, VFIO_GROUP_GET_STATUS, &st)));
	close(n);
	g = open(gpath, O_RDWR);
	T("%s: the group opens again: %s", how, res(g < 0 ? -1 : 0));
	close(g);
}

static void failed_dups(void)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	int closed = dup(0), r;

	close(closed);
	T("dup2 from a closed fd onto the group: %s", res(dup2(closed, group)));
	T("dup3 with bad flags onto the container: %s", res(dup3(group, container, 0x1234)));
	r = ioctl(group, VFIO_GROUP_GET_STATUS, &st);
	T("group status after: %s flags=0x%x", res(r), st.flags);
	T("container after: api %d", ioctl(container, VFIO_GET_API_VERSION));
	T("dup2 onto itself: %s", res(dup2(group, group) == group ? 0 : -1));
	T("group status after: %s", res(ioctl(group, VFIO_GROUP_GET_STATUS, &st)));
}

static void vaddr_rules(void)
{
	uint8_t *mem = map_anon(4 * PAGE);

	T("vaddr: map VADDR where nothing is mapped: %s",
	  res(map(0x400000, mem, PAGE, VFIO_DMA_MAP_FLAG_VADDR, 0)));
	T("vaddr: map A: %s", res(map(0x400000, mem, PAGE, RW, 0)));
	T("vaddr: map B: %s", res(map(0x401000, mem + PAGE, PAGE, RW, 0)));
	T_UNMAP("vaddr: invalidate B", 0x401000, PAGE, VFIO_DMA_UNMAP_FLAG_VADDR);
	/* A first, then B (already invalid): type1 rolls A back and fails. */
	T_UNMAP("vaddr: invalidate A and B", 0x400000, 2 * PAGE, VFIO_DMA_UNMAP_FLAG_VADDR);
	T("vaddr: A is still valid (a new vaddr is refused): %s",
	  res(map(0x400000, mem, PAGE, VFIO_DMA_MAP_FLAG_VADDR, 0)));
	T("vaddr: B takes its vaddr again: %s",
	  res(map(0x401000, mem + PAGE, PAGE, VFIO_DMA_MAP_FLAG_VADDR, 0)));
	T("vaddr: dma through A lands: %d", roundtrip(mem, 0x400000, 0x17));
	T_UNMAP("vaddr: unmap A and B", 0x400000, 2 * PAGE, 0);
	munmap(mem, 4 * PAGE);
}

static void unset_busy(void)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	uint8_t *buf = map_anon(PAGE);
	int r;

	T("unset: map 0x100000: %s", res(map(0x100000, buf, PAGE, RW, 0)));
	T("unset with the device open: %s", res(ioctl(group, VFIO_GROUP_UNSET_CONTAINER)));
	r = ioctl(group, VFIO_GROUP_GET_STATUS, &st);
	T("unset: group status: %s flags=0x%x", res(r), st.flags);
	T("unset: dma still lands: %d", roundtrip(buf, 0x100000, 0x99));
	T_UNMAP("unset: unmap", 0x100000, PAGE, 0);
	munmap(buf, PAGE);
}

static void device_names(void)
{
	static const char *const suffixes[] = {
		"", "  ", " vf_token=2ab74924-c335-45f4-9b16-8569e5b08258",
		" vf_token=2ab74924-c335-45f4-9b16-8569e5b0825",
		" vf_token=2ab74924xc335-45f4-9b16-8569e5b08258", " foo=1", "x", ":",
	};
	char name[512];

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		int fd;

		snprintf(name, sizeof(name), "%s%s", bdf, suffixes[i]);
		fd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, name);
		T("device name \"BDF%s\": %s", suffixes[i], res(fd < 0 ? -1 : 0));
		if (fd >= 0)
			close(fd);
	}
}

/* vfio_iommu_type1.dma_entry_limit=LIMIT on the kernel command line. */
static void dma_limit(void)
{
	uint8_t *mem = map_anon((LIMIT + 1) * PAGE);
	int ok = 0, r = 0;

	for (int i = 0; i <= LIMIT && r == 0; i++) {
		r = map(0x10000000 + i * 2 * PAGE, mem + i * PAGE, PAGE, RW, 0);
		ok += r == 0;
	}
	T("limit: %d maps succeeded, then: %s", ok, res(r));
	print_info();
	T_UNMAP("limit: unmap all", 0, 0, VFIO_DMA_UNMAP_FLAG_ALL);
	munmap(mem, (LIMIT + 1) * PAGE);
}

int main(void)
{
	int grp;

	setvbuf(stdout, NULL, _IOLBF, 0);
	grp = find_edu_group(bdf, sizeof(bdf));
	if (grp < 0) {
		printf("no edu device\n");
		return 77;
	}
	snprintf(gpath, sizeof(gpath), "/dev/vfio/%d", grp);

	if (setup() < 0)
		return 1;
	child_closes();
	failed_dups();
	vaddr_rules();
	unset_busy();
	device_names();
	dma_limit();
	close_during_map();

	close_during_status();
	fork_while_closing();
	closed_elsewhere("fclose");
	closed_elsewhere("close_range");
	closed_elsewhere("syscall(SYS_close)");

	if (setup() < 0)
		return 1;
	parent_closes();
	return 0;
}
