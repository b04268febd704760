// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Sessions: iommufd objects live only as long as the fd that made them, so
 * "run", "exec" and "attach ... map ..." execute a little command language
 * against one iommufd, statement by statement:
 *
 *   ioas NAME                          a new IOAS (the current one from now on)
 *   attach BDF [to NAME]               open, bind and attach a vfio-pci device
 *   map SIZE [at IOVA] [to NAME] [ro]  map fresh anonymous memory
 *   unmap IOVA [from NAME]             unmap the mapping that starts there
 *   copy IOVA [from NAME] to NAME [at IOVA]   map the same pages into another IOAS
 *   ranges [NAME]                      the usable IOVA ranges
 *   dma-test BDF                       an edu DMA round trip through a mapping
 *   show                               every mapping, with its physical pages
 *   hold                               wait for SIGINT or SIGTERM
 *
 * SIZE and IOVA take K, M and G suffixes. Each error names where it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../libiommufd/range_index.h"
#include "ctl.h"

struct sess_ioas {
	char name[32];
	uint32_t id;
	struct range_index maps;	/* struct sess_map, by IOVA */
};

struct sess_dev {
	char bdf[16];
	struct iommufd_device *dev;
	int ioas;		/* index */
};

struct sess_map {
	struct range_node node;	/* its IOVAs, in its IOAS's maps */
	int ioas;		/* index */
	uint64_t iova, length;
	uint8_t *vaddr;
	bool writable;
	bool owned;		/* our memory (a copy shares another's) */
};

struct ctl_session {
	struct iommufd_ctx *ctx;
	struct sess_ioas *ioas;
	int nr_ioas, current;
	struct sess_dev *devs;
	int nr_devs;
	int nr_maps;		/* in all the IOASes' maps */
	const char *where;	/* "line 3", "argument 5": for messages */
};

static int fail_at(struct ctl_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail_at(struct ctl_session *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ctl_fail("%s: %s", s->where, msg);
}

static int usage_at(struct ctl_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int usage_at(struct ctl_session *s, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "iommufd-ctl: %s: ", s->where);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CTL_USAGE;
}

struct ctl_session *ctl_session_new(void)
{
	return calloc(1, sizeof(struct ctl_session));
}

static void free_map(struct range_node *n, void *data)
{
	struct sess_map *m = range_entry(n, struct sess_map, node);

	if (m->owned)
		munmap(m->vaddr, m->length);
	free(m);
}

void ctl_session_free(struct ctl_session *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->nr_devs; i++)
		iommufd_device_close(s->devs[i].dev);
	/* Closing the iommufd unmaps everything; then the memory can go. */
	iommufd_ctx_unref(s->ctx);
	for (int i = 0; i < s->nr_ioas; i++)
		range_index_clear(&s->ioas[i].maps, free_map, NULL);
	free(s->ioas);
	free(s->devs);
	free(s);
}

int ctl_parse_size(const char *str, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	/*
	 * A digit first: strtoull() also takes a sign and leading blanks, so
	 * " -4096" (one shell word) was 2^64 - 4096, not an error.
	 */
	if (*str < '0' || *str > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(str, &end, 0);
	if (errno || end == str)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

static int open_ctx(struct ctl_session *s)
{
	int r;

	if (s->ctx)
		return 0;
	r = iommufd_ctx_open(NULL, &s->ctx);
	return r < 0 ? fail_at(s, "open /dev/iommu") : 0;
}

static int find_ioas(struct ctl_session *s, const char *name)
{
	for (int i = 0; i < s->nr_ioas; i++)
		if (!strcmp(s->ioas[i].name, name))
			return i;
	return -1;
}

static int add_ioas(struct ctl_session *s, const char *name)
{
	struct sess_ioas *n;
	uint32_t id;

	if (strlen(name) >= sizeof(n->name))
		return usage_at(s, "IOAS name '%s' is longer than %zu characters", name,
				sizeof(n->name) - 1);
	/* exec hands the names over as NAME=ID,... (IOMMUFD_IOAS) */
	if (name[strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")])
		return usage_at(s, "IOAS name '%s' may have only letters, digits, '_', '-' and '.'",
				name);
	if (find_ioas(s, name) >= 0)
		return usage_at(s, "there is already an IOAS named '%s'", name);
	if (open_ctx(s))
		return CTL_FAILED;
	if (iommufd_ioas_alloc(s->ctx, &id) < 0)
		return fail_at(s, "ioas %s", name);
	n = realloc(s->ioas, (s->nr_ioas + 1) * sizeof(*n));
	if (!n) {
		iommufd_destroy(s->ctx, id);
		return fail_at(s, "out of memory");
	}
	s->ioas = n;
	snprintf(n[s->nr_ioas].name, sizeof(n->name), "%s", name);
	n[s->nr_ioas].id = id;
	range_index_init(&n[s->nr_ioas].maps);
	s->current = s->nr_ioas++;
	return CTL_OK;
}

/* The IOAS named, or the current one (made on first need). */
static int pick_ioas(struct ctl_session *s, const char *name, int *idx)
{
	int r;

	if (name) {
		*idx = find_ioas(s, name);
		return *idx < 0 ? usage_at(s, "no IOAS named '%s' (make it with: ioas %s)", name,
					   name) : CTL_OK;
	}
	if (!s->nr_ioas && (r = add_ioas(s, "default")))
		return r;
	*idx = s->current;
	return CTL_OK;
}

/*
 * Keyword arguments after the positional ones: "at X", "to NAME", "from
 * NAME", and flags, each at most once. Returns CTL_USAGE on anything else.
 */
struct stmt_args {
	const char *at, *to, *from;
	bool ro;
};

static int keywords(struct ctl_session *s, int argc, char **argv, int first, const char *allowed,
		    struct stmt_args *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = first; i < argc; i++) {
		const char **slot = !strcmp(argv[i], "at") ? &a->at : !strcmp(argv[i], "to") ? &a->to :
				    !strcmp(argv[i], "from") ? &a->from : NULL;

		if (!strcmp(argv[i], "ro") && strstr(allowed, "ro")) {
			if (a->ro)
				return usage_at(s, "%s: 'ro' twice", argv[0]);
			a->ro = true;
			continue;
		}
		if (!slot || !strstr(allowed, argv[i]))
			return usage_at(s, "%s: unexpected '%s'", argv[0], argv[i]);
		if (i + 1 >= argc)
			return usage_at(s, "%s: '%s' needs a value", argv[0], argv[i]);
		/* "map 4096 at A at B" was silently at B: say which. */
		if (*slot)
			return usage_at(s, "%s: '%s' twice", argv[0], argv[i]);
		*slot = argv[++i];
	}
	return CTL_OK;
}

static int stmt_ioas(struct ctl_session *s, int argc, char **argv)
{
	int r;

	if (argc != 2)
		return usage_at(s, "usage: ioas NAME");
	r = add_ioas(s, argv[1]);
	if (!r && !ctl.quiet)
		printf("ioas %s: IOAS %u\n", argv[1], s->ioas[s->current].id);
	return r;
}

static int stmt_attach(struct ctl_session *s, int argc, char **argv)
{
	struct stmt_args a;
	struct sess_dev *n;
	struct iommufd_device *dev;
	int r, idx;

	if (argc < 2)
		return usage_at(s, "usage: attach BDF [to NAME]");
	if ((r = keywords(s, argc, argv, 2, "to", &a)) || (r = pick_ioas(s, a.to, &idx)))
		return r;
	for (int i = 0; i < s->nr_devs; i++)
		if (!strcmp(s->devs[i].bdf, argv[1]))
			return usage_at(s, "%s is already attached in this session", argv[1]);
	if (strlen(argv[1]) >= sizeof(n->bdf))
		return usage_at(s, "'%s' is not a PCI address", argv[1]);
	if (open_ctx(s))
		return CTL_FAILED;
	if (iommufd_device_open(s->ctx, argv[1], &dev) < 0)
		return fail_at(s, "attach %s", argv[1]);
	if (iommufd_device_attach(dev, s->ioas[idx].id) < 0 ||
	    iommufd_device_set_bus_master(dev, true) < 0) {
		r = fail_at(s, "attach %s to IOAS %u", argv[1], s->ioas[idx].id);
		iommufd_device_close(dev);
		return r;
	}
	n = realloc(s->devs, (s->nr_devs + 1) * sizeof(*n));
	if (!n) {
		iommufd_device_close(dev);
		return fail_at(s, "out of memory");
	}
	s->devs = n;
	n[s->nr_devs] = (struct sess_dev){ .dev = dev, .ioas = idx };
	snprintf(n[s->nr_devs].bdf, sizeof(n->bdf), "%s", argv[1]);
	s->nr_devs++;
	if (!ctl.quiet && !ctl.json)
		printf("attach %s: device %u in IOAS %s (%u), fd %d\n", argv[1],
		       iommufd_device_id(dev), s->ioas[idx].name, s->ioas[idx].id,
		       iommufd_device_fd(dev));
	return CTL_OK;
}

/* Record a copy of @m, which the kernel has mapped: 0 or -ENOMEM. */
static int add_map(struct ctl_session *s, const struct sess_map *m)
{
	struct sess_map *n = malloc(sizeof(*n));

	if (!n)
		return -ENOMEM;
	*n = *m;
	n->node.start = m->iova;
	n->node.last = m->iova + m->length - 1;
	/* The kernel refuses overlapping maps, so the index cannot. */
	if (range_index_insert(&s->ioas[m->ioas].maps, &n->node, NULL)) {
		free(n);
		return -EEXIST;
	}
	s->nr_maps++;
	return 0;
}

static void del_map(struct ctl_session *s, struct sess_map *m)
{
	range_index_remove(&s->ioas[m->ioas].maps, &m->node);
	s->nr_maps--;
	free(m);
}

static int stmt_map(struct ctl_session *s, int argc, char **argv)
{
	struct sess_map m = { .owned = true };
	unsigned int flags;
	struct stmt_args a;
	int r, idx;

	if (argc < 2)
		return usage_at(s, "usage: map SIZE [at IOVA] [to NAME] [ro]");
	if ((r = keywords(s, argc, argv, 2, "at to ro", &a)))
		return r;
	if (ctl_parse_size(argv[1], &m.length) || !m.length)
		return usage_at(s, "map: '%s' is not a size (e.g. 4096, 2M, 1G)", argv[1]);
	if (m.length % sysconf(_SC_PAGESIZE))
		return usage_at(s, "map: %s is not a multiple of the page size %ld", argv[1],
				sysconf(_SC_PAGESIZE));
	if (a.at && ctl_parse_size(a.at, &m.iova))
		return usage_at(s, "map: '%s' is not an IOVA", a.at);
	if ((r = pick_ioas(s, a.to, &idx)))
		return r;
	m.ioas = idx;
	m.writable = !a.ro;
	m.vaddr = mmap(NULL, m.length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m.vaddr == MAP_FAILED)
		return fail_at(s, "map: %" PRIu64 " bytes of memory: %s", m.length, strerror(errno));
	flags = IOMMUFD_MAP_READ | (a.ro ? 0 : IOMMUFD_MAP_WRITE) | (a.at ? IOMMUFD_MAP_FIXED_IOVA : 0);
	ctl_progress_start(m.length);
	r = iommufd_ioas_map(s->ctx, s->ioas[idx].id, m.vaddr, m.length, &m.iova, flags);
	ctl_progress_stop(r == 0);
	if (r < 0) {
		r = fail_at(s, "map %s", argv[1]);
		munmap(m.vaddr, m.length);
		return r;
	}
	if (add_map(s, &m)) {
		iommufd_ioas_unmap(s->ctx, s->ioas[idx].id, m.iova, m.length, NULL);
		munmap(m.vaddr, m.length);
		return fail_at(s, "out of memory");
	}
	if (!ctl.quiet && !ctl.json)
		printf("map: 0x%" PRIx64 " bytes at IOVA 0x%" PRIx64 " in IOAS %s (%u), %s, "
		       "memory %p\n", m.length, m.iova, s->ioas[idx].name, s->ioas[idx].id,
		       a.ro ? "read-only" : "read-write", (void *)m.vaddr);
	return CTL_OK;
}

/* The mapping that starts at @iova in IOAS @ioas, or NULL. */
static struct sess_map *find_map(struct ctl_session *s, int ioas, uint64_t iova)
{
	struct range_node *n = range_index_find(&s->ioas[ioas].maps, iova);

	return n && n->start == iova ? range_entry(n, struct sess_map, node) : NULL;
}

/* Another mapping of @m's memory (a copy, or the one it was copied from), or NULL. */
static struct sess_map *memory_shared(struct ctl_session *s, const struct sess_map *m)
{
	struct range_node *n, *tmp;

	for (int i = 0; i < s->nr_ioas; i++) {
		range_index_for_each(&s->ioas[i].maps, n, tmp) {
			struct sess_map *o = range_entry(n, struct sess_map, node);

			if (o != m && o->vaddr == m->vaddr)
				return o;
		}
	}
	return NULL;
}

static int stmt_unmap(struct ctl_session *s, int argc, char **argv)
{
	struct stmt_args a;
	struct sess_map *m, *other;
	uint64_t iova;
	int r, idx;

	if (argc < 2)
		return usage_at(s, "usage: unmap IOVA [from NAME]");
	if ((r = keywords(s, argc, argv, 2, "from", &a)))
		return r;
	if (ctl_parse_size(argv[1], &iova))
		return usage_at(s, "unmap: '%s' is not an IOVA", argv[1]);
	if ((r = pick_ioas(s, a.from, &idx)))
		return r;
	m = find_map(s, idx, iova);
	if (!m)
		return fail_at(s, "unmap: no mapping of this session starts at IOVA 0x%" PRIx64
			       " in IOAS %s", iova, s->ioas[idx].name);
	if (iommufd_ioas_unmap(s->ctx, s->ioas[idx].id, iova, m->length, NULL) < 0)
		return fail_at(s, "unmap 0x%" PRIx64, iova);
	if (m->owned) {
		other = memory_shared(s, m);
		if (other)	/* a copy still maps these pages: hand it the memory */
			other->owned = true;
		else
			munmap(m->vaddr, m->length);
	}
	del_map(s, m);
	if (!ctl.quiet && !ctl.json)
		printf("unmap: IOVA 0x%" PRIx64 " in IOAS %s\n", iova, s->ioas[idx].name);
	return CTL_OK;
}

static int stmt_copy(struct ctl_session *s, int argc, char **argv)
{
	struct stmt_args a;
	struct sess_map m, *src_map;
	uint64_t src, dst = 0;
	int r, from, to;

	if (argc < 2)
		return usage_at(s, "usage: copy IOVA [from NAME] to NAME [at IOVA]");
	if ((r = keywords(s, argc, argv, 2, "from to at", &a)))
		return r;
	if (!a.to)
		return usage_at(s, "copy: say where to (copy IOVA to NAME)");
	if (ctl_parse_size(argv[1], &src))
		return usage_at(s, "copy: '%s' is not an IOVA", argv[1]);
	if (a.at && ctl_parse_size(a.at, &dst))
		return usage_at(s, "copy: '%s' is not an IOVA", a.at);
	if ((r = pick_ioas(s, a.from, &from)) || (r = pick_ioas(s, a.to, &to)))
		return r;
	src_map = find_map(s, from, src);
	if (!src_map)
		return fail_at(s, "copy: no mapping of this session starts at IOVA 0x%" PRIx64
			       " in IOAS %s", src, s->ioas[from].name);
	/* The source mapping's length and memory, at the IOVA asked for (or any). */
	m = *src_map;
	m.ioas = to;
	m.owned = false;
	m.iova = dst;
	if (iommufd_ioas_copy(s->ctx, s->ioas[to].id, &m.iova, s->ioas[from].id, src, m.length,
			      IOMMUFD_MAP_READ | (m.writable ? IOMMUFD_MAP_WRITE : 0) |
			      (a.at ? IOMMUFD_MAP_FIXED_IOVA : 0)) < 0)
		return fail_at(s, "copy 0x%" PRIx64 " to %s", src, a.to);
	if (add_map(s, &m)) {
		iommufd_ioas_unmap(s->ctx, s->ioas[to].id, m.iova, m.length, NULL);
		return fail_at(s, "out of memory");
	}
	if (!ctl.quiet && !ctl.json)
		printf("copy: IOVA 0x%" PRIx64 " of %s is IOVA 0x%" PRIx64 " of %s (0x%" PRIx64
		       " bytes, pages not pinned again)\n", src, s->ioas[from].name, m.iova,
		       s->ioas[to].name, m.length);
	return CTL_OK;
}

static int stmt_ranges(struct ctl_session *s, int argc, char **argv)
{
	struct iommufd_iova_range *ranges;
	uint64_t align;
	size_t nr;
	int r, idx;

	if (argc > 2)
		return usage_at(s, "usage: ranges [NAME]");
	if ((r = pick_ioas(s, argc == 2 ? argv[1] : NULL, &idx)))
		return r;
	if (iommufd_ioas_iova_ranges(s->ctx, s->ioas[idx].id, &ranges, &nr, &align) < 0)
		return fail_at(s, "ranges of %s", s->ioas[idx].name);
	printf("ranges of %s (IOAS %u), alignment 0x%" PRIx64 ":\n", s->ioas[idx].name,
	       s->ioas[idx].id, align);
	for (size_t i = 0; i < nr; i++) {
		printf("  0x%016" PRIx64 "-0x%016" PRIx64 "\n", ranges[i].start, ranges[i].last);
		if (i + 1 < nr)
			printf("  (reserved 0x%" PRIx64 "-0x%" PRIx64 ")\n", ranges[i].last + 1,
			       ranges[i + 1].start - 1);
	}
	free(ranges);
	return CTL_OK;
}

static int stmt_dma_test(struct ctl_session *s, int argc, char **argv)
{
	struct sess_dev *d = NULL;
	struct range_node *n, *tmp;
	bool landed;

	if (argc != 2)
		return usage_at(s, "usage: dma-test BDF");
	for (int i = 0; i < s->nr_devs; i++)
		if (!strcmp(s->devs[i].bdf, argv[1]))
			d = &s->devs[i];
	if (!d)
		return usage_at(s, "dma-test: %s is not attached in this session", argv[1]);
	range_index_for_each(&s->ioas[d->ioas].maps, n, tmp) {
		struct sess_map *m = range_entry(n, struct sess_map, node);

		if (!m->writable || m->length < 2 * CTL_EDU_DMA_LEN)
			continue;
		if (ctl_edu_roundtrip(d->dev, m->vaddr, m->iova, &landed) < 0)
			return fail_at(s, "dma-test %s: the device did not finish its DMA", d->bdf);
		printf("dma-test %s: %d bytes to and from IOVA 0x%" PRIx64 ": %s\n", d->bdf,
		       CTL_EDU_DMA_LEN, m->iova, landed ? "data came back intact" : "DATA DIFFERS");
		return landed ? CTL_OK : CTL_FAILED;
	}
	return fail_at(s, "dma-test %s: no writable mapping of at least %d bytes in IOAS %s",
		       d->bdf, 2 * CTL_EDU_DMA_LEN, s->ioas[d->ioas].name);
}

static int stmt_show(struct ctl_session *s, int argc, char **argv)
{
	if (argc != 1)
		return usage_at(s, "usage: show");
	return ctl_show_mappings(s) ? CTL_FAILED : CTL_OK;
}

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static int stmt_hold(struct ctl_session *s, int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };

	if (argc != 1)
		return usage_at(s, "usage: hold");
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!ctl.quiet && !ctl.json) {
		printf("holding the session (pid %d) until SIGINT or SIGTERM\n", getpid());
		fflush(stdout);
	}
	while (!got_signal)
		pause();
	return CTL_OK;
}

static const struct {
	const char *name;
	int (*fn)(struct ctl_session *s, int argc, char **argv);
} statements[] = {
	{ "ioas", stmt_ioas },		{ "attach", stmt_attach },   { "map", stmt_map },
	{ "unmap", stmt_unmap },	{ "copy", stmt_copy },	     { "ranges", stmt_ranges },
	{ "dma-test", stmt_dma_test },	{ "show", stmt_show },	     { "hold", stmt_hold },
};

bool ctl_session_is_keyword(const char *word)
{
	for (size_t i = 0; i < sizeof(statements) / sizeof(statements[0]); i++)
		if (!strcmp(word, statements[i].name))
			return true;
	return false;
}

int ctl_session_exec(struct ctl_session *s, int argc, char **argv, const char *where)
{
	s->where = where;
	if (!argc)
		return CTL_OK;
	for (size_t i = 0; i < sizeof(statements) / sizeof(statements[0]); i++)
		if (!strcmp(argv[0], statements[i].name))
			return statements[i].fn(s, argc, argv);
	return usage_at(s, "unknown command '%s' (ioas, attach, map, unmap, copy, ranges, "
			"dma-test, show, hold)", argv[0]);
}

static int inherit(int fd)
{
	int flags = fcntl(fd, F_GETFD);

	return flags < 0 || fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0 ? -errno : 0;
}

/* A device's PCI address as the library resolved it, else as it was given. */
static const char *dev_bdf(const struct sess_dev *d)
{
	const char *name = iommufd_device_name(d->dev);

	return name[0] ? name : d->bdf;
}

/*
 * Set @var to what @fn writes (a list of entries), with open_memstream:
 * no limit on the number of devices or IOASes, nothing truncated.
 */
static int setenv_list(const char *var, struct ctl_session *s,
		       void (*fn)(struct ctl_session *s, FILE *f))
{
	char *val = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&val, &len);
	int r = 0;

	if (!f)
		return -errno;
	fn(s, f);
	if (fclose(f) || setenv(var, val, 1) < 0)
		r = -errno;
	free(val);
	return r;
}

static void list_ioas(struct ctl_session *s, FILE *f)
{
	for (int i = 0; i < s->nr_ioas; i++)
		fprintf(f, "%s%s=%u", i ? "," : "", s->ioas[i].name, s->ioas[i].id);
}

static void list_dev_fds(struct ctl_session *s, FILE *f)
{
	for (int i = 0; i < s->nr_devs; i++)
		fprintf(f, "%s%s=%d", i ? "," : "", dev_bdf(&s->devs[i]),
			iommufd_device_fd(s->devs[i].dev));
}

static void list_dev_ids(struct ctl_session *s, FILE *f)
{
	for (int i = 0; i < s->nr_devs; i++)
		fprintf(f, "%s%s=%u", i ? "," : "", dev_bdf(&s->devs[i]),
			iommufd_device_id(s->devs[i].dev));
}

static void list_dev_ioas(struct ctl_session *s, FILE *f)
{
	for (int i = 0; i < s->nr_devs; i++)
		fprintf(f, "%s%s=%u", i ? "," : "", dev_bdf(&s->devs[i]),
			s->ioas[s->devs[i].ioas].id);
}

int ctl_session_export(struct ctl_session *s)
{
	static const char *const all[] = { "IOMMUFD_FD", "IOMMUFD_IOAS_ID", "IOMMUFD_IOAS",
					   "IOMMUFD_DEVICE_IDS", "IOMMUFD_DEVICE_IOAS" };
	char num[16];
	int r;

	if (!s->ctx) {
		/* Nothing to hand over; and nothing from an outer launcher either. */
		for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
			unsetenv(all[i]);
		return setenv("IOMMUFD_DEVICES", "", 1) < 0 ? -errno : 0;
	}
	if ((r = inherit(iommufd_ctx_fd(s->ctx))) < 0)
		return r;
	for (int i = 0; i < s->nr_devs; i++)
		if ((r = inherit(iommufd_device_fd(s->devs[i].dev))) < 0)
			return r;
	snprintf(num, sizeof(num), "%d", iommufd_ctx_fd(s->ctx));
	if (setenv("IOMMUFD_FD", num, 1) < 0)
		return -errno;
	snprintf(num, sizeof(num), "%u", s->nr_ioas ? s->ioas[s->current].id : 0);
	if (setenv("IOMMUFD_IOAS_ID", num, 1) < 0)
		return -errno;
	if ((r = setenv_list("IOMMUFD_IOAS", s, list_ioas)) < 0 ||
	    (r = setenv_list("IOMMUFD_DEVICES", s, list_dev_fds)) < 0 ||
	    (r = setenv_list("IOMMUFD_DEVICE_IDS", s, list_dev_ids)) < 0 ||
	    (r = setenv_list("IOMMUFD_DEVICE_IOAS", s, list_dev_ioas)) < 0)
		return r;
	return 0;
}

int ctl_session_foreach_map(struct ctl_session *s,
			    int (*fn)(const char *ioas, uint32_t id, uint64_t iova, uint64_t length,
				      void *vaddr, bool writable, void *arg),
			    void *arg)
{
	struct range_node *n, *tmp;

	/* By IOAS, then by IOVA. */
	for (int i = 0; i < s->nr_ioas; i++) {
		range_index_for_each(&s->ioas[i].maps, n, tmp) {
			const struct sess_map *m = range_entry(n, struct sess_map, node);
			int r = fn(s->ioas[i].name, s->ioas[i].id, m->iova, m->length, m->vaddr,
				   m->writable, arg);

			if (r)
				return r;
		}
	}
	return 0;
}
