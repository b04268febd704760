// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * PCI addresses: iommufd_parse_bdf() (libiommufd/device_sysfs.c), the one
 * parser behind iommufd_device_open(), iommufd_device_cdev_path(), the
 * hand-off's IOMMUFD_DEVICES keys and iommufd_handoff_device().
 *
 * Checked against a reference written from the documented grammar,
 * "DDDD:BB:DD.F" or "BB:DD.F" in hex with device <= 0x1f and function <= 7,
 * nothing else: what it accepts it returns in the canonical lower-case
 * form, which parses to itself; a buffer too short is -ERANGE with a
 * terminated prefix and not a byte written past it.
 *
 * Input: the string (to its first NUL), then one byte for a buffer length.
 */
#include <errno.h>
#include <stdlib.h>

#include "../libiommufd/device_internal.h"
#include "fuzz.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The grammar, character by character: the canonical form, or false. */
static bool reference(const char *in, char *out)
{
	size_t n = strlen(in), at = 0;
	char dom[5] = "0000";

	if (n == 12) {
		if (in[4] != ':')
			return false;
		for (int i = 0; i < 4; i++)
			if (hexval(in[i]) < 0)
				return false;
		memcpy(dom, in, 4);
		at = 5;
	} else if (n != 7) {
		return false;
	}
	in += at;
	if (hexval(in[0]) < 0 || hexval(in[1]) < 0 || in[2] != ':' || hexval(in[3]) < 0 ||
	    hexval(in[4]) < 0 || in[5] != '.' || in[6] < '0' || in[6] > '7')
		return false;
	if (hexval(in[3]) * 16 + hexval(in[4]) > 0x1f)
		return false;
	snprintf(out, 16, "%s:%.2s:%.2s.%c", dom, in, in + 3, in[6]);
	for (char *p = out; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
	return true;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = strnlen((const char *)data, size);
	char *in = malloc(n + 1), out[16], expect[16], again[16];
	size_t len = n + 1 < size ? data[n + 1] % 18 : sizeof(out);
	char *small;
	bool ok;
	int r;

	memcpy(in, data, n);
	in[n] = '\0';
	ok = reference(in, expect);
	r = iommufd_parse_bdf(in, out, sizeof(out));
	fuzz_assert(r == (ok ? 0 : -EINVAL), "\"%s\": %d, the grammar says %s", in, r,
		    ok ? "valid" : "invalid");
	if (ok) {
		fuzz_assert(!strcmp(out, expect), "\"%s\" gave \"%s\", not \"%s\"", in, out, expect);
		fuzz_assert(!iommufd_parse_bdf(out, again, sizeof(again)) && !strcmp(again, out),
			    "\"%s\" does not parse to itself", out);
	}
	/* A buffer of exactly @len bytes: ASan sees any write past it. */
	small = malloc(len ? len : 1);
	r = iommufd_parse_bdf(in, small, len);
	if (ok && len > strlen(expect))
		fuzz_assert(r == 0 && !strcmp(small, expect), "\"%s\" into %zu bytes: %d", in, len, r);
	else if (ok)
		fuzz_assert(r == -ERANGE && (!len || strlen(small) < len),
			    "\"%s\" into %zu bytes: %d", in, len, r);
	else
		fuzz_assert(r == -EINVAL, "\"%s\" into %zu bytes: %d", in, len, r);
	free(small);
	free(in);
	return 0;
}
