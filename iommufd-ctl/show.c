// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The session's show statement: each mapping with its IOVA, its memory and,
 * for root, the physical pages behind it from /proc/self/pagemap: that they
 * are present, where, and in how many contiguous runs. VmPin says how much
 * of this process's memory the kernel holds pinned for DMA.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

#define PM_PRESENT	(1ULL << 63)
#define PM_PFN_MASK	((1ULL << 55) - 1)

struct page_stats {
	uint64_t pages, present, first_pfn, last_pfn, runs;
};

static int read_pages(int fd, void *vaddr, uint64_t length, struct page_stats *st)
{
	long psz = sysconf(_SC_PAGESIZE);
	uint64_t entries[512], prev = 0;
	uint64_t first = (uintptr_t)vaddr / psz;

	memset(st, 0, sizeof(*st));
	st->pages = length / psz;
	for (uint64_t done = 0; done < st->pages;) {
		uint64_t n = st->pages - done < 512 ? st->pages - done : 512;
		ssize_t got = pread(fd, entries, n * 8, (first + done) * 8);

		if (got != (ssize_t)(n * 8))
			return got < 0 ? -errno : -EIO;
		for (uint64_t i = 0; i < n; i++) {
			uint64_t pfn = entries[i] & PM_PFN_MASK;

			if (!(entries[i] & PM_PRESENT))
				continue;
			if (!st->present++)
				st->first_pfn = pfn;
			if (!st->runs || pfn != prev + 1)
				st->runs++;
			st->last_pfn = prev = pfn;
		}
		done += n;
	}
	return 0;
}

struct show {
	int pagemap;
	bool pfns;		/* root: pagemap shows PFNs */
	struct json_object *list;
	int n;
};

static int show_one(const char *ioas, uint32_t id, uint64_t iova, uint64_t length, void *vaddr,
		    bool writable, void *arg)
{
	struct show *sh = arg;
	struct page_stats st;
	int r = read_pages(sh->pagemap, vaddr, length, &st);

	if (r < 0)
		return r;
	sh->n++;
	if (sh->list) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "ioas", json_object_new_string(ioas));
		json_object_object_add(o, "ioas_id", json_object_new_int(id));
		json_object_object_add(o, "iova", json_object_new_uint64(iova));
		json_object_object_add(o, "length", json_object_new_uint64(length));
		json_object_object_add(o, "vaddr", json_object_new_uint64((uintptr_t)vaddr));
		json_object_object_add(o, "writable", json_object_new_boolean(writable));
		json_object_object_add(o, "pages", json_object_new_uint64(st.pages));
		json_object_object_add(o, "present", json_object_new_uint64(st.present));
		if (sh->pfns) {
			json_object_object_add(o, "first_pfn", json_object_new_uint64(st.first_pfn));
			json_object_object_add(o, "last_pfn", json_object_new_uint64(st.last_pfn));
			json_object_object_add(o, "runs", json_object_new_uint64(st.runs));
		}
		json_object_array_add(sh->list, o);
		return 0;
	}
	printf("IOAS %s (%u)  IOVA 0x%" PRIx64 "-0x%" PRIx64 "  %s  memory %p\n", ioas, id, iova,
	       iova + length - 1, writable ? "rw" : "ro", vaddr);
	printf("    %" PRIu64 " of %" PRIu64 " pages present", st.present, st.pages);
	if (sh->pfns && st.present)
		printf(", PFN 0x%" PRIx64 "..0x%" PRIx64 " in %" PRIu64 " contiguous run%s",
		       st.first_pfn, st.last_pfn, st.runs, st.runs == 1 ? "" : "s");
	printf("\n");
	return 0;
}

int ctl_show_mappings(struct ctl_session *s)
{
	struct show sh = { .pfns = geteuid() == 0 };
	int r;

	sh.pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (sh.pagemap < 0)
		return ctl_fail("show: /proc/self/pagemap: %s", strerror(errno));
	if (ctl.json)
		sh.list = json_object_new_array();
	r = ctl_session_foreach_map(s, show_one, &sh);
	close(sh.pagemap);
	if (r < 0) {
		json_object_put(sh.list);
		return ctl_fail("show: reading /proc/self/pagemap: %s", strerror(-r));
	}
	if (sh.list) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "mappings", sh.list);
		json_object_object_add(o, "vmpin_kb", json_object_new_uint64(ctl_vmpin_kb()));
		ctl_print_json(o);
		return 0;
	}
	if (!sh.n)
		printf("no mappings\n");
	printf("VmPin: %" PRIu64 " kB pinned for DMA by this process%s\n", ctl_vmpin_kb(),
	       sh.pfns ? "" : " (physical pages need root)");
	return 0;
}
