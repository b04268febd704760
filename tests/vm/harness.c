// SPDX-License-Identifier: LGPL-2.1-or-later
/* The runner behind harness.h: fork per test, timeout, TAP output. */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <linux/capability.h>

#include "harness.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define LEAK_CHECK() __lsan_do_recoverable_leak_check()
#else
#define LEAK_CHECK() 0
#endif

struct th_result *th_res;
sigjmp_buf th_abort;
bool th_in_teardown;
struct th_fixture th_global = { .name = "global" };

static struct th_test *tests, **tests_tail = &tests;

void th_register(struct th_test *t)
{
	*tests_tail = t;
	tests_tail = &t->next;
}

void th_fail(bool fatal, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("#   %s:%d: %s", file, line, th_in_teardown ? "(teardown) " : "");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	th_res->failed = 1;
	if (fatal)
		siglongjmp(th_abort, 1);
}

static int count_fds(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int n = -1;	/* the directory's own fd */

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static bool selected(const char *full, int argc, char **argv)
{
	if (argc < 2)
		return true;
	for (int i = 1; i < argc; i++)
		if (!strncmp(full, argv[i], strlen(argv[i])))
			return true;
	return false;
}

/* Run one test in a child; the result comes back through shared memory. */
static int run_one(struct th_test *t, const struct th_variant *v, int num, const char *full)
{
	int status, sig = 0;
	pid_t pid;

	memset(th_res, 0, sizeof(*th_res));
	printf("# RUN %s\n", full);
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		printf("not ok %d %s # fork failed: %s\n", num, full, strerror(errno));
		return 1;
	}
	if (!pid) {
		int fds = count_fds(), leaked;

		alarm(TEST_TIMEOUT);
		t->run(th_res, v ? v->data : NULL);
		/* Teardown closes everything the test opened. */
		leaked = count_fds() - fds;
		if (!th_res->failed && !th_res->skipped && leaked > 0) {
			printf("#   %d file descriptor(s) leaked\n", leaked);
			th_res->failed = 1;
		}
		/* _exit() skips LeakSanitizer's exit check: run it per test. */
		if (!th_res->failed && !th_res->skipped && LEAK_CHECK()) {
			printf("#   memory leaked (see the LeakSanitizer report above)\n");
			th_res->failed = 1;
		}
		fflush(stdout);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status)) {
		sig = WTERMSIG(status);
		printf("#   %s\n", sig == SIGALRM ? "timed out" : strsignal(sig));
		th_res->failed = 1;
	} else if (WEXITSTATUS(status)) {
		printf("#   child exited with status %d\n", WEXITSTATUS(status));
		th_res->failed = 1;
	}
	if (th_res->failed) {
		printf("not ok %d %s\n", num, full);
		return 1;
	}
	if (th_res->skipped)
		printf("ok %d %s # SKIP %s\n", num, full, th_res->reason);
	else
		printf("ok %d %s\n", num, full);
	return 0;
}

int th_main(int argc, char **argv)
{
	int total = 0, num = 0, pass = 0, fail = 0, skip = 0;
	char full[256];

	setvbuf(stdout, NULL, _IOLBF, 0);
	th_res = mmap(NULL, sizeof(*th_res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		      -1, 0);
	if (th_res == MAP_FAILED) {
		perror("mmap");
		return 1;
	}

	/* Count first: TAP wants the plan before the results. */
	for (int pass_no = 0; pass_no < 2; pass_no++) {
		if (pass_no == 1)
			printf("TAP version 13\n1..%d\n", total);
		for (struct th_test *t = tests; t; t = t->next) {
			struct th_variant none = { 0 }, *v = t->fixture->variants;

			if (!v)
				v = &none;
			for (; v; v = v->next) {
				snprintf(full, sizeof(full), "%s.%s%s%s", t->fixture->name,
					 t->name, v->name ? "." : "", v->name ? v->name : "");
				if (!selected(full, argc, argv))
					continue;
				if (!pass_no) {
					total++;
					continue;
				}
				if (run_one(t, v == &none ? NULL : v, ++num, full))
					fail++;
				else if (th_res->skipped)
					skip++;
				else
					pass++;
			}
		}
	}
	printf("# Totals: pass:%d fail:%d skip:%d\n", pass, fail, skip);
	return fail ? 1 : 0;
}

int th_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	if (n < 0)
		return -errno;
	return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

int th_drop_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[CAP_IPC_LOCK / 32].effective &= ~(1U << (CAP_IPC_LOCK % 32));
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}
