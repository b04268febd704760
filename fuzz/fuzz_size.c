// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Numbers and sizes on iommufd-ctl's command line: ctl_parse_size()
 * (iommufd-ctl/session.c: SIZE and IOVA with K, M and G in map, unmap and
 * copy), and the options of list (--class HEX, --group N) and bind
 * (--timeout S) through getopt as main() hands them over.
 *
 * ctl_parse_size() is checked against a reference from its documentation:
 * a number in C notation (decimal, 0x hex, 0 octal) starting with a digit,
 * an optional K, M or G, nothing else, no overflow past 64 bits.
 *
 * Input: byte 0 even: the rest (to a NUL) is one SIZE. Odd: the rest is
 * argv, NUL-separated, for list, bind or restore (byte 0 / 2 % 3). Device
 * lookups are fakes that find no device, so bind and restore never touch
 * sysfs: only their option parsing runs.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

#include "../iommufd-ctl/cmd_bind.c"
#include "../iommufd-ctl/cmd_list.c"
#include "fuzz.h"

/* ---- what the harness stands in for (main.c, pci.c, netlink.c) ----------- */

struct ctl_opts ctl;

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
	puts(json_object_to_json_string(o));
	json_object_put(o);
}

/* Three devices for list to filter: a NIC, edu, a bridge with no group. */
int ctl_pci_scan(struct ctl_pci **devs, int *nr)
{
	static const struct ctl_pci all[] = {
		{ .bdf = "0000:00:03.0", .vendor = 0x8086, .device = 0x10d3, .class = 0x0200,
		  .driver = "e1000e", .group = 3, .ifname = "eth0" },
		{ .bdf = "0000:00:02.0", .vendor = 0x1234, .device = 0x11e8, .class = 0x00ff,
		  .driver = "vfio-pci", .group = 2, .cdev = "/dev/vfio/devices/vfio0" },
		{ .bdf = "0000:00:00.0", .vendor = 0x8086, .device = 0x29c0, .class = 0x0600,
		  .group = -1 },
	};

	*devs = malloc(sizeof(all));
	if (!*devs)
		return -ENOMEM;
	memcpy(*devs, all, sizeof(all));
	*nr = 3;
	return 0;
}

int ctl_pci_get(const char *bdf, struct ctl_pci *dev)
{
	return -ENODEV;
}

struct json_object *ctl_group_members(const struct ctl_pci *dev)
{
	return json_object_new_array();
}

int ctl_link_state(const char *ifname, struct ctl_link *st)
{
	memset(st, 0, sizeof(*st));
	st->up = true;
	return 0;
}

int ctl_link_in_use(const char *ifname, char *why, size_t len)
{
	return 0;
}

/* ---- the reference ------------------------------------------------------- */

static bool reference(const char *s, uint64_t *out)
{
	unsigned int base = 10, shift = 0;
	uint64_t v = 0;
	bool digits = false;

	if (*s < '0' || *s > '9')
		return false;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	} else if (s[0] == '0') {
		base = 8;
	}
	for (;; s++) {
		unsigned int d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned int)(*s - '0');
		else if (base == 16 && (*s | 0x20) >= 'a' && (*s | 0x20) <= 'f')
			d = (unsigned int)((*s | 0x20) - 'a' + 10);
		else
			break;
		if (d >= base)
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
		digits = true;
	}
	/* "0x" alone is no number (strtoull reads its 0 and stops at the x). */
	if (!digits)
		return false;
	switch (*s) {
	case 'k': case 'K': shift = 10; s++; break;
	case 'm': case 'M': shift = 20; s++; break;
	case 'g': case 'G': shift = 30; s++; break;
	}
	if (*s || (shift && v > UINT64_MAX >> shift))
		return false;
	*out = v << shift;
	return true;
}

static void one_size(const char *s)
{
	uint64_t got = 0xdead, want = 0;
	bool ok = reference(s, &want);
	int r = ctl_parse_size(s, &got);

	fuzz_assert(r == (ok ? 0 : -EINVAL), "\"%s\": %d, the grammar says %s", s, r,
		    ok ? "valid" : "invalid");
	fuzz_assert(!ok || got == want, "\"%s\" is 0x%llx, not 0x%llx", s,
		    (unsigned long long)got, (unsigned long long)want);
	fuzz_assert(ok || got == 0xdead, "\"%s\" refused but written", s);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int (*const cmds[])(int, char **) = { cmd_list, cmd_bind, cmd_restore };
	static const char *const names[] = { "list", "bind", "restore" };
	char *copy, *argv[18];
	int argc = 1, r;

	if (!size)
		return 0;
	copy = malloc(size);
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = '\0';
	if (!(data[0] & 1)) {
		one_size(copy);
		free(copy);
		return 0;
	}
	argv[0] = (char *)names[data[0] / 2 % 3];
	for (char *p = copy; p < copy + size - 1 && argc < 17; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	ctl = (struct ctl_opts){ .json = data[0] & 0x40, .quiet = data[0] & 0x80 };
	optind = 0;	/* glibc: start getopt afresh */
	opterr = 0;
	r = cmds[data[0] / 2 % 3](argc, argv);
	fuzz_assert(r == CTL_OK || r == CTL_FAILED || r == CTL_USAGE, "%s returned %d", argv[0], r);
	free(copy);
	return 0;
}
