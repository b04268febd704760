// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The session language of iommufd-ctl run, exec and attach
 * (iommufd-ctl/session.c, and cmd_session.c's line and argument splitting,
 * both included whole): statements from the input, run against the real
 * library over the fake kernel (open("/dev/iommu") gives a fake iommufd;
 * the memory mapped is real, mmap()ed by the session).
 *
 * What must hold after every statement: the session's own list of
 * mappings is, IOAS by IOAS, exactly what the kernel has mapped (no
 * mapping lost, kept twice or left behind by a failed statement), every
 * IOAS the session names exists, a statement returns CTL_OK, CTL_FAILED
 * or CTL_USAGE, and map and copy put the mapping where "at" said. At the
 * end, what exec would hand its program (ctl_session_export()) is adopted
 * by iommufd_handoff_from_env() as the same IOASes by the same names.
 *
 * Attaching devices needs sysfs and a vfio-pci device, which the fake
 * world has not (and sysfs is hidden, so that no real device of the
 * machine is opened): attach and dma-test run only to their first failure.
 *
 * Input: the statements, one per line as `run` reads them, or (when the
 * first line is "#!args") whitespace-separated words as `exec` and
 * `attach` take their arguments; after the first NUL, one byte of options
 * (bit 0 --json, bit 1 --quiet), then the fake kernel's replies and faults
 * (fuzz.h), split at the next byte's value.
 */
#include <signal.h>
#include <stdlib.h>

#include "../iommufd-ctl/cmd_session.c"
#include "../iommufd-ctl/session.c"
#include "../libiommufd/internal.h"
#include "fuzz.h"

/* ---- what the harness stands in for (main.c) ------------------------------- */

struct ctl_opts ctl;

int ctl_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", iommufd_last_error());
	return CTL_FAILED;
}

void ctl_print_json(struct json_object *o)
{
	puts(json_object_to_json_string(o));
	json_object_put(o);
}

static int open_hook(const char *path, int flags)
{
	return strcmp(path, "/dev/iommu") ? -1 : fake_iommufd_open();
}

/* No PCI device: attach must not reach a real vfio-pci device of this machine. */
static int access_hook(const char *path)
{
	return strncmp(path, "/sys/", 5) ? -2 : -1;
}

/* ---- the invariant ------------------------------------------------------------ */

/* The session's mappings of IOAS @idx, merged as the fake reports them. */
static size_t session_ranges(struct ctl_session *s, int idx, struct fake_range *out, size_t max)
{
	struct range_node *node, *tmp;
	size_t n = 0, m = 0;

	range_index_for_each(&s->ioas[idx].maps, node, tmp) {
		const struct sess_map *sm = range_entry(node, struct sess_map, node);

		if (n == max)
			break;
		out[n++] = (struct fake_range){ sm->iova, sm->iova + sm->length - 1 };
	}
	for (size_t i = 0; i < n; i++) {
		if (m && out[m - 1].last + 1 == out[i].start && out[m - 1].last != UINT64_MAX)
			out[m - 1].last = out[i].last;
		else
			out[m++] = out[i];
	}
	return m;
}

/* Does a mapping of the session start at @iova, in any IOAS? */
static bool mapped_at(struct ctl_session *s, uint64_t iova)
{
	for (int i = 0; i < s->nr_ioas; i++)
		if (find_map(s, i, iova))
			return true;
	return false;
}

/*
 * A statement that succeeded did what it said: "map ... at X" and "copy
 * ... at X" made a mapping at X.
 */
static void check_statement(struct ctl_session *s, int argc, char **argv, int nr_maps,
			    const char *what)
{
	uint64_t at;

	if (argc < 2 || (strcmp(argv[0], "map") && strcmp(argv[0], "copy")))
		return;
	fuzz_assert(s->nr_maps == nr_maps + 1, "%s: %s succeeded with %d mappings, %d before",
		    what, argv[0], s->nr_maps, nr_maps);
	for (int i = 2; i + 1 < argc; i++) {
		if (strcmp(argv[i], "at"))
			continue;
		if (!ctl_parse_size(argv[i + 1], &at))
			fuzz_assert(mapped_at(s, at), "%s: %s at 0x%llx made no mapping there",
				    what, argv[0], (unsigned long long)at);
		break;
	}
}

static void check(struct ctl_session *s, int r, const char *what)
{
	struct fake_range mine[256], kernel[256];
	int fd;

	fuzz_assert(r == CTL_OK || r == CTL_FAILED || r == CTL_USAGE, "%s returned %d", what, r);
	if (!s->ctx)
		return;
	fd = iommufd_ctx_fd(s->ctx);
	for (int i = 0; i < s->nr_ioas; i++) {
		size_t n = session_ranges(s, i, mine, 256);
		size_t k = fake_ioas_ranges_mapped(fd, s->ioas[i].id, kernel, 256);

		fuzz_assert(fake_ioas_exists(fd, s->ioas[i].id), "%s: IOAS %s (%u) is gone", what,
			    s->ioas[i].name, s->ioas[i].id);
		fuzz_assert(n == k, "%s: IOAS %s: the session has %zu ranges, the kernel %zu", what,
			    s->ioas[i].name, n, k);
		for (size_t j = 0; j < n; j++)
			fuzz_assert(mine[j].start == kernel[j].start && mine[j].last == kernel[j].last,
				    "%s: IOAS %s: the session maps 0x%llx-0x%llx, the kernel "
				    "0x%llx-0x%llx", what, s->ioas[i].name,
				    (unsigned long long)mine[j].start,
				    (unsigned long long)mine[j].last,
				    (unsigned long long)kernel[j].start,
				    (unsigned long long)kernel[j].last);
	}
}

/* ---- running the input ------------------------------------------------------- */

/*
 * What exec hands its program (ctl_session_export()) is what a libiommufd
 * program adopts (iommufd_handoff_from_env()): every IOAS by its name and
 * ID, the current one, the same iommufd.
 */
static void check_handoff(struct ctl_session *s)
{
	static const char *const vars[] = { "IOMMUFD_FD", "IOMMUFD_IOAS_ID", "IOMMUFD_IOAS",
					    "IOMMUFD_DEVICES", "IOMMUFD_DEVICE_IDS",
					    "IOMMUFD_DEVICE_IOAS" };
	char *envp[7], buf[6][4096];
	struct iommufd_handoff *h;
	int n = 0, r;

	if (!s->ctx)
		return;
	fake_kernel_no_faults();	/* the launcher's work is done: no more kernel failures */
	r = ctl_session_export(s);
	fuzz_assert(r == 0, "export: %d", r);
	for (size_t i = 0; i < 6; i++) {
		const char *v = getenv(vars[i]);

		if (!v)
			continue;
		snprintf(buf[n], sizeof(buf[n]), "%s=%s", vars[i], v);
		envp[n] = buf[n];
		n++;
	}
	envp[n] = NULL;
	IOMMUFD_OPTS(iommufd_handoff_opts, opts, .envp = envp);
	r = iommufd_handoff_from_env(&opts, &h);
	fuzz_assert(r == 0, "exec's hand-off is refused: %s", iommufd_last_error());
	fuzz_assert(iommufd_ctx_fd(iommufd_handoff_ctx(h)) == iommufd_ctx_fd(s->ctx), "iommufd");
	fuzz_assert(iommufd_handoff_ioas(h, NULL) == (s->nr_ioas ? s->ioas[s->current].id : 0),
		    "current IOAS %u", iommufd_handoff_ioas(h, NULL));
	for (int i = 0; i < s->nr_ioas; i++)
		fuzz_assert(iommufd_handoff_ioas(h, s->ioas[i].name) == s->ioas[i].id,
			    "IOAS %s: %u, not %u", s->ioas[i].name,
			    iommufd_handoff_ioas(h, s->ioas[i].name), s->ioas[i].id);
	/* The fd stays the session's: the hand-off's context only borrows it here. */
	iommufd_handoff_ctx(h)->own_fd = false;
	iommufd_handoff_free(h);
}

static void run_lines(struct ctl_session *s, char *text)
{
	char *words[MAX_WORDS], where[32];
	int r = CTL_OK, lineno = 0;

	for (char *line = text, *next; line && r == CTL_OK; line = next) {
		int n, before;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		before = s->nr_maps;
		n = split_words(line, words);
		snprintf(where, sizeof(where), "line %d", ++lineno);
		r = n < 0 ? CTL_USAGE : ctl_session_exec(s, n, words, where);
		check(s, r, where);
		if (r == CTL_OK && n > 0)
			check_statement(s, n, words, before, where);
	}
}

static void run_words(struct ctl_session *s, char *text)
{
	char *argv[64];
	int argc = 0, r;

	for (char *w = strtok(text, " \t\n\r"); w && argc < 64; w = strtok(NULL, " \t\n\r"))
		argv[argc++] = w;
	r = run_args(s, 0, argc, argv);
	check(s, r, "arguments");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = strnlen((const char *)data, size);
	struct fz in = { data + n, size - n };
	struct fake_kernel_opts ko = { 0 };
	struct sigaction old_int, old_term;
	struct ctl_session *s;
	char *text = malloc(n + 1);
	uint8_t opts;

	memcpy(text, data, n);
	text[n] = '\0';
	fz_u8(&in);	/* the NUL */
	opts = fz_u8(&in);
	ko.replies = fz_split(&in, fz_u8(&in) * 4);
	ko.faults = in;
	fake_reset();
	fake_kernel_reset(&ko);
	fake_hooks.open = open_hook;
	fake_hooks.access = access_hook;
	ctl = (struct ctl_opts){ .json = opts & 1, .quiet = opts & 2 };
	/* hold returns at once; its handlers are put back after. */
	got_signal = SIGTERM;
	sigaction(SIGINT, NULL, &old_int);
	sigaction(SIGTERM, NULL, &old_term);

	s = ctl_session_new();
	if (!strncmp(text, "#!args", 6))
		run_words(s, text + 6);
	else
		run_lines(s, text);
	check_handoff(s);
	ctl_session_free(s);

	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	fake_reset();
	free(text);
	return 0;
}
