// SPDX-License-Identifier: LGPL-2.1-or-later
/* The failure-injection sweep behind fail_nth.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fail_nth.h"

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		r = -errno;
	close(fd);
	return r;
}

/* Where this program's part of the kernel log begins: a file per harness run. */
static void kmsg_mark_path(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/fail_nth-kmsg.%d", (int)getppid());
}

/* Call @fn for each kernel log record from sequence number @from on. */
static int kmsg_walk(unsigned long long from, void (*fn)(const char *rec, void *data), void *data)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	unsigned long long seq;
	char rec[2048];
	ssize_t len;

	if (fd < 0)
		return -errno;
	/* One record per read; EPIPE where some were overwritten, EAGAIN at the end. */
	while ((len = read(fd, rec, sizeof(rec) - 1)) > 0 || (len < 0 && errno == EPIPE)) {
		if (len <= 0)
			continue;
		rec[len] = '\0';
		if (sscanf(rec, "%*u,%llu,", &seq) == 1 && seq >= from)
			fn(rec, data);
	}
	close(fd);
	return 0;
}

static void last_seq(const char *rec, void *data)
{
	sscanf(rec, "%*u,%llu,", (unsigned long long *)data);
}

/* The first time in this run of the program: remember where its log begins. */
static void kmsg_mark(void)
{
	unsigned long long seq = 0;
	char path[64];
	FILE *f;

	kmsg_mark_path(path, sizeof(path));
	if (!access(path, F_OK) || kmsg_walk(0, last_seq, &seq) < 0)
		return;
	f = fopen(path, "we");
	if (f) {
		fprintf(f, "%llu\n", seq + 1);
		fclose(f);
	}
}

/*
 * Kernel warnings the sweeps provoke outside iommufd and VFIO, reported and
 * not ours to fix: counted apart. Each names the code that warns.
 */
static const struct {
	const char *match, *why;
} known_splats[] = {
	{ "at fs/proc/generic.c:",
	  "request_irq() goes on when /proc/irq/N cannot be made (register_irq_proc(), "
	  "kernel/irq/proc.c), and free_irq() then warns that the entry is missing" },
};

struct splats {
	int n, known[sizeof(known_splats) / sizeof(known_splats[0])];
};

static void count_splat(const char *rec, void *data)
{
	static const char *const splats[] = { "BUG:", "Oops", "WARNING:", "general protection",
					      "stalls on CPUs", "blocked for more than" };
	struct splats *sp = data;

	for (size_t i = 0; i < sizeof(splats) / sizeof(splats[0]); i++) {
		if (!strstr(rec, splats[i]))
			continue;
		for (size_t k = 0; k < sizeof(known_splats) / sizeof(known_splats[0]); k++)
			if (strstr(rec, known_splats[k].match)) {
				sp->known[k]++;
				return;
			}
		if (sp->n++ < 5)
			printf("#   kernel: %s", strchr(rec, ';') ? strchr(rec, ';') + 1 : rec);
		return;
	}
}

int fn_kernel_splats(void)
{
	struct splats sp = { 0 };
	unsigned long long from = 0;
	char path[64];
	FILE *f;
	int r;

	kmsg_mark_path(path, sizeof(path));
	f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%llu", &from) != 1)
			from = 0;
		fclose(f);
	}
	r = kmsg_walk(from, count_splat, &sp);
	for (size_t k = 0; k < sizeof(known_splats) / sizeof(known_splats[0]); k++)
		if (sp.known[k])
			printf("#   kernel: %d warning(s) KNOWN (%s)\n", sp.known[k],
			       known_splats[k].why);
	return r < 0 ? r : sp.n;
}

int fn_kernel_setup(void)
{
#if defined(__SANITIZE_ADDRESS__)
	/* Its allocator aborts when the kernel fails one of its own mmap()s. */
	return -EOPNOTSUPP;
#endif
	static const char *const quiet[] = { "failslab", "fail_page_alloc", "fail_iommufd" };
	char path[128];
	int r;

	kmsg_mark();
	/* As iommufd_fail_nth.c: let GFP_KERNEL allocations fail too. */
	r = write_file("/sys/kernel/debug/failslab/ignore-gfp-wait", "N");
	if (r < 0)
		return r;
	write_file("/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N");
	write_file("/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem", "N");
	for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++) {
		snprintf(path, sizeof(path), "/sys/kernel/debug/%s/verbose", quiet[i]);
		write_file(path, "0");
	}
	return access("/proc/thread-self/fail-nth", W_OK) ? -errno : 0;
}

void fn_printf(struct fn_state *st, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (st->len >= sizeof(st->buf) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(st->buf + st->len, sizeof(st->buf) - st->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		st->len += (size_t)n;
	if (st->len >= sizeof(st->buf))
		st->len = sizeof(st->buf) - 1;
}

int fn_count_fds(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int n = -1;	/* the directory's own */

	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/*
 * KiB of address space mapped outside the heap and the stack: a buffer a
 * failed call forgot to munmap() shows here.
 */
static unsigned long mapped_kib(void)
{
	unsigned long start, end, kib = 0;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &start, &end) == 2 && !strstr(line, "[heap]") &&
		    !strstr(line, "[stack]"))
			kib += (end - start) >> 10;
	if (f)
		fclose(f);
	return kib;
}

void fn_state_process(struct fn_state *st)
{
	long heap = fi_heap_live();
	char line[128];
	FILE *f;

	fn_printf(st, "fds: %d\n", fn_count_fds());
	fn_printf(st, "mapped outside the heap: %lu KiB\n", mapped_kib());
	if (fi_user_available())
		fn_printf(st, "heap blocks: %ld\n", heap);
	/* Pages pinned for this process: iommufd counts its pins here too. */
	f = fopen("/proc/self/status", "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmPin:", 6))
			fn_printf(st, "%s", line);
	if (f)
		fclose(f);
}

void fn_state_ids(struct fn_state *st, struct iommufd_ctx *ctx)
{
	uint32_t id[3] = { 0 };
	int r[3];

	/* Lowest free IDs first: a leaked object moves them. */
	for (int i = 0; i < 3; i++)
		r[i] = iommufd_ioas_alloc(ctx, &id[i]);
	fn_printf(st, "next free IDs: %u %u %u", id[0], id[1], id[2]);
	for (int i = 0; i < 3; i++) {
		if (r[i] < 0)
			fn_printf(st, " (probe %d: %s)", i, strerror(-r[i]));
		else
			iommufd_destroy(ctx, id[i]);
	}
	fn_printf(st, "\n");
}

/* ---- the kernel's fail-nth file of one thread ---- */

static int nth_open(pid_t tid)
{
	char path[64];

	if (tid)
		snprintf(path, sizeof(path), "/proc/self/task/%d/fail-nth", (int)tid);
	else
		snprintf(path, sizeof(path), "/proc/thread-self/fail-nth");
	return open(path, O_RDWR | O_CLOEXEC);
}

static int nth_arm(int fd, unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	return pwrite(fd, buf, len, 0) == len ? 0 : -errno;
}

/* Disarm; true if the armed point was reached (the count ran down to 0). */
static bool nth_hit(int fd)
{
	char buf[16] = "";
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	/* As the kernel's test: reading can fail when the point was a user copy. */
	if (n < 0 && errno == EFAULT)
		strcpy(buf, "1\n");
	if (pwrite(fd, "0", 1, 0) < 0 && errno == EFAULT)
		pwrite(fd, "0", 1, 0);
	return n > 0 && buf[0] == '0';
}

static const char *mode_name(enum fn_mode mode)
{
	return mode == FN_KERNEL ? "kernel" : mode == FN_USER ? "user" : "kernel+user";
}

/* ---- totals of this program, kept in a file: each test runs in its own child ---- */

static void totals_path(char *buf, size_t len)
{
	/* The harness's main process: the parent of every test's child. */
	snprintf(buf, len, "/tmp/fail_nth-totals.%d", (int)getppid());
}

static void totals_add(const char *name, enum fn_mode mode, const struct fn_result *r)
{
	char path[64];
	FILE *f;

	totals_path(path, sizeof(path));
	f = fopen(path, "ae");
	if (!f)
		return;
	fprintf(f, "%u %u %u %u %u %u %s\n", mode, r->points, r->absorbed, r->leaks, r->bad,
		r->known, name);
	fclose(f);
}

void fn_totals(struct fn_result res[3], unsigned int *cases)
{
	char path[64], name[160];
	struct fn_result r;
	unsigned int mode;
	FILE *f;

	memset(res, 0, 3 * sizeof(*res));
	*cases = 0;
	totals_path(path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return;
	while (fscanf(f, "%u %u %u %u %u %u %159[^\n]", &mode, &r.points, &r.absorbed, &r.leaks,
		      &r.bad, &r.known, name) == 7) {
		if (mode > FN_NESTED)
			continue;
		res[mode].points += r.points;
		res[mode].absorbed += r.absorbed;
		res[mode].leaks += r.leaks;
		res[mode].bad += r.bad;
		res[mode].known += r.known;
		if (mode == FN_KERNEL)
			(*cases)++;
	}
	fclose(f);
}

void fn_print_totals(const char *what)
{
	struct fn_result t[3], all = { 0 };
	unsigned int cases;

	fn_totals(t, &cases);
	for (int m = 0; m < 3; m++) {
		printf("# fail-nth total (%s) [%s]: %u failure points, %u absorbed, %u left state "
		       "behind, %u misreported, %u known\n", what, mode_name(m), t[m].points,
		       t[m].absorbed, t[m].leaks, t[m].bad, t[m].known);
		all.points += t[m].points;
		all.leaks += t[m].leaks;
		all.bad += t[m].bad;
		all.known += t[m].known;
	}
	printf("# fail-nth total (%s): %u calls, %u failure points, %u left state behind, %u "
	       "misreported, %u known issues\n", what, cases, all.points, all.leaks, all.bad,
	       all.known);
}

/* ---- the sweep ---- */

/* Up to this many problems per sweep are shown in full. */
#define SHOW_MAX 4

struct sweep {
	const struct fn_case *c;
	enum fn_mode mode;
	struct fn_result *res;
	int fd;			/* the kernel's fail-nth of the call's thread */
	pid_t tid;
	unsigned int shown, known_shown;
	bool relearn;		/* a known problem may have left something: learn the states again */
	char where[160];	/* "point 3", "kernel point 2, malloc from ..." */
};

/* The states compared, static: the sweep itself must not allocate between them. */
static struct fn_state st_first, st_success, st_before, st_after;

static void take_state(const struct fn_case *c, struct fn_state *st)
{
	st->len = 0;
	st->buf[0] = '\0';
	c->state(c->self, st);
}

static bool same(const struct fn_state *a, const struct fn_state *b)
{
	return a->len == b->len && !memcmp(a->buf, b->buf, a->len);
}

/* Does @text match one of @k's patterns? */
static bool known_match(const struct fn_known *k, const char *text, size_t len)
{
	for (const char *const *m = k->match; *m; m++)
		if (memmem(text, len, *m, strlen(*m)))
			return true;
	return false;
}

/* Is line @l (of @len bytes) one of the lines of @st? */
static bool has_line(const struct fn_state *st, const char *l, size_t len)
{
	for (const char *p = st->buf; *p;) {
		size_t n = strcspn(p, "\n");

		if (n == len && !memcmp(p, l, len))
			return true;
		p += n + (p[n] == '\n');
	}
	return false;
}

/*
 * Call @fn for each line of @a that @b lacks (@sign '-') and each line of @b
 * that @a lacks ('+'): the states are sets of lines, and a line more in the
 * middle changes no other. Stops at, and returns, @fn's first non-zero.
 */
static int diff_lines(const struct fn_state *a, const struct fn_state *b,
		      int (*fn)(char sign, const char *l, size_t len, void *data), void *data)
{
	const struct fn_state *from[2] = { a, b }, *to[2] = { b, a };
	int r;

	for (int i = 0; i < 2; i++)
		for (const char *p = from[i]->buf; *p;) {
			size_t n = strcspn(p, "\n");

			if (n && !has_line(to[i], p, n) && (r = fn(i ? '+' : '-', p, n, data)))
				return r;
			p += n + (p[n] == '\n');
		}
	return 0;
}

struct known_walk {
	const struct fn_known *k;
	bool needed;
};

static int known_line(char sign, const char *l, size_t len, void *data)
{
	struct known_walk *w = data;

	(void)sign;
	if (w->k->needs && memmem(l, len, w->k->needs, strlen(w->k->needs)))
		w->needed = true;
	return !known_match(w->k, l, len);
}

/* Is every line that differs between @a and @b (or @msg) a known problem? Its reason, or NULL. */
static const char *known_problem(const struct fn_case *c, const struct fn_state *a,
				 const struct fn_state *b, const char *msg)
{
	for (const struct fn_known *k = c->known; k && k->match; k++) {
		struct known_walk w = { k, !k->needs };

		if (!a) {
			if (known_match(k, msg, strlen(msg)))
				return k->why;
			continue;
		}
		if (!diff_lines(a, b, known_line, &w) && w.needed)
			return k->why;
	}
	return NULL;
}

static int print_line(char sign, const char *l, size_t len, void *data)
{
	(void)data;
	printf("#       %c %.*s\n", sign, (int)len, l);
	return 0;
}

/* The lines of @a and @b that differ. */
static void print_diff(const struct fn_state *a, const struct fn_state *b)
{
	diff_lines(a, b, print_line, NULL);
}

/*
 * Report a problem: @leak (the state differs: @a before, @b after) or not
 * (misreported). One the case lists as known is counted apart and shown once.
 */
__attribute__((format(printf, 5, 6)))
static void problem(struct sweep *sw, bool leak, const struct fn_state *a,
		    const struct fn_state *b, const char *fmt, ...)
{
	const struct fn_case *c = sw->c;
	char msg[512];
	const char *why;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* What a run left for the next one is never excused: it spoils the sweep. */
	why = strncmp(msg, "the state before", 16) ? known_problem(c, a, b, msg) : NULL;
	if (why) {
		sw->res->known++;
		sw->relearn = true;
		if (sw->known_shown++ < 1)
			printf("#   fail-nth %s [%s] %s: KNOWN (%s): %s\n", c->name,
			       mode_name(sw->mode), sw->where, why, msg);
		return;
	}
	if (leak)
		sw->res->leaks++;
	else
		sw->res->bad++;
	if (sw->shown++ >= SHOW_MAX)
		return;
	printf("#   fail-nth %s [%s] %s: %s\n", c->name, mode_name(sw->mode), sw->where, msg);
	if (a)
		print_diff(a, b);
}

static const char *explanation(const struct fn_case *c)
{
	return c->explain ? c->explain(c->self) : iommufd_last_error();
}

/*
 * One run with kernel point @kn and user point @un armed (0: not): set up,
 * call, check, tear down. *khit, *uhit: whether each was reached. Returns
 * -1 when the sweep cannot go on (set-up failed, or an earlier run left
 * something), else 0.
 */
static int attempt(struct sweep *sw, unsigned int kn, unsigned int un, bool *khit, bool *uhit)
{
	const struct fn_case *c = sw->c;
	int r;

	*khit = *uhit = false;
	r = c->setup ? c->setup(c->self) : 0;
	if (r < 0) {
		problem(sw, false, NULL, NULL, "set-up failed: %s", strerror(-r));
		return -1;
	}
	take_state(c, &st_before);
	if (!same(&st_before, &st_first)) {
		problem(sw, true, &st_first, &st_before,
			"the state before this run differs from the first run's (something an "
			"earlier run left):");
		c->teardown(c->self);
		return -1;
	}
	iommufd_set_last_error(0, "%s", "");
	/* FAIL_NTH_VERBOSE=1: each run, before it runs (to find the one that hangs). */
	if (getenv("FAIL_NTH_VERBOSE")) {
		printf("#     %s [%s] kernel %u user %u\n", c->name, mode_name(sw->mode), kn, un);
		fflush(stdout);
	}
	if (un)
		fi_user_arm(un, sw->tid);
	if (kn)
		nth_arm(sw->fd, kn);
	r = c->call(c->self);
	if (kn)
		*khit = nth_hit(sw->fd);
	if (un) {
		*uhit = fi_user_disarm();
		if (kn)
			snprintf(sw->where, sizeof(sw->where), "kernel point %u, user point %u (%s)",
				 kn, un, *uhit ? fi_user_last() : "not reached");
		else
			snprintf(sw->where, sizeof(sw->where), "point %u (%s)", un,
				 *uhit ? fi_user_last() : "not reached");
	} else {
		snprintf(sw->where, sizeof(sw->where), "point %u", kn);
	}
	if (!(kn ? *khit : true) || !(un ? *uhit : true)) {
		/* Past the last point of this kind: the call ran its course. */
		if (!*khit && !*uhit && r < 0)
			problem(sw, false, NULL, NULL, "failed with nothing injected: %s: %s",
				strerror(-r), explanation(c));
		if (!*khit && !*uhit) {
			c->teardown(c->self);
			return 0;
		}
	}
	take_state(c, &st_after);
	if (r >= 0) {
		/* The call recovered (a retry, an optional step): it must be whole. */
		sw->res->absorbed++;
		if (!same(&st_after, &st_success))
			problem(sw, true, &st_success, &st_after,
				"succeeded after the failure, but not as it does without one:");
		c->teardown(c->self);
		return 0;
	}
	if (r < -4095)
		problem(sw, false, NULL, NULL, "returned %d, not a negative errno", r);
	else if (!explanation(c) || !explanation(c)[0])
		problem(sw, false, NULL, NULL, "failed with %s and no explanation", strerror(-r));
	if (!same(&st_before, &st_after))
		problem(sw, true, &st_before, &st_after, "failed with %s (%s), and left this behind:",
			strerror(-r), explanation(c));
	/* The next call works, and does what it always does. */
	r = c->call(c->self);
	if (r < 0) {
		problem(sw, false, NULL, NULL, "the next call failed: %s: %s", strerror(-r),
			explanation(c));
	} else {
		take_state(c, &st_after);
		if (!same(&st_after, &st_success))
			problem(sw, true, &st_success, &st_after,
				"the next call succeeded, but not as it does without an earlier "
				"failure:");
	}
	c->teardown(c->self);
	return 0;
}

/*
 * Run the call @passes times with nothing injected; the last run's states
 * are the ones every run is compared with. 0, or -1 (said why) when the call
 * does not even work so.
 */
static int learn(struct sweep *sw, int passes)
{
	const struct fn_case *c = sw->c;
	int r;

	sw->relearn = false;
	for (int pass = 0; pass < passes; pass++) {
		r = c->setup ? c->setup(c->self) : 0;
		if (r < 0) {
			printf("#   fail-nth %s [%s]: set-up failed: %s: %s\n", c->name,
			       mode_name(sw->mode), strerror(-r), iommufd_last_error());
			return -1;
		}
		take_state(c, &st_first);
		r = c->call(c->self);
		if (r < 0) {
			printf("#   fail-nth %s [%s]: the call fails with nothing injected: %s: %s\n",
			       c->name, mode_name(sw->mode), strerror(-r), explanation(c));
			c->teardown(c->self);
			return -1;
		}
		take_state(c, &st_success);
		c->teardown(c->self);
	}
	return 0;
}

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int fn_sweep(const struct fn_case *c, enum fn_mode mode, struct fn_result *res)
{
	double t0 = seconds();
	unsigned int max = c->max ? c->max : 2000, k, n;
	struct sweep sw = { .c = c, .mode = mode, .res = res, .fd = -1 };
	bool khit, uhit, stop = false;
	int r;

	memset(res, 0, sizeof(*res));
	sw.tid = c->thread ? c->thread(c->self) : 0;
	if (mode != FN_USER) {
		sw.fd = nth_open(sw.tid);
		if (sw.fd < 0) {
			printf("#   fail-nth %s [%s]: cannot open fail-nth: %s\n", c->name,
			       mode_name(mode), strerror(errno));
			return -errno;
		}
	}

	/* Once to warm up (first-use allocations, caches), once to learn the states. */
	if (learn(&sw, 2) < 0)
		goto out;

	switch (mode) {
	case FN_KERNEL:
	case FN_USER:
		for (n = 1; n <= max && !stop; n++) {
			if (attempt(&sw, mode == FN_KERNEL ? n : 0, mode == FN_USER ? n : 0, &khit,
				    &uhit) < 0 || (sw.relearn && learn(&sw, 1) < 0))
				break;
			if (!khit && !uhit)
				break;
			res->points++;
		}
		if (n > max)
			problem(&sw, false, NULL, NULL, "still failing after %u points", max);
		break;
	case FN_NESTED:
		/* The user points of each kernel failure's error path. */
		for (k = 1; k <= max && !stop; k++) {
			if (attempt(&sw, k, 0, &khit, &uhit) < 0 || !khit ||
			    (sw.relearn && learn(&sw, 1) < 0))
				break;
			for (n = 1; n <= max; n++) {
				if (attempt(&sw, k, n, &khit, &uhit) < 0 ||
				    (sw.relearn && learn(&sw, 1) < 0)) {
					stop = true;
					break;
				}
				if (!uhit)
					break;
				if (khit)
					res->points++;
			}
		}
		break;
	}
	printf("#   fail-nth %-38s [%s]: %3u points, %u absorbed, %u left state behind%s%s "
	       "(%.1f s)\n", c->name, mode_name(mode), res->points, res->absorbed, res->leaks,
	       res->bad ? ", MISREPORTED" : "", res->known ? ", known issues (above)" : "",
	       seconds() - t0);
	totals_add(c->name, mode, res);
	r = 0;
out:
	if (sw.fd >= 0)
		close(sw.fd);
	return r;
}

int fn_sweep_both(const struct fn_case *c, struct fn_result *res)
{
	struct fn_result u;
	int r;

	r = fn_sweep(c, FN_KERNEL, res);
	if (r < 0)
		return r;
	if (!fi_user_available()) {
		printf("#   fail-nth %-38s [user]: not built (AddressSanitizer)\n", c->name);
		return 0;
	}
	for (enum fn_mode m = FN_USER; m <= FN_NESTED; m++) {
		if (m == FN_NESTED && !c->nested && !getenv("FAIL_NTH_NESTED"))
			break;
		r = fn_sweep(c, m, &u);
		if (r < 0)
			return r;
		res->points += u.points;
		res->absorbed += u.absorbed;
		res->leaks += u.leaks;
		res->bad += u.bad;
		res->known += u.known;
	}
	return 0;
}
