// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Netlink replies as iommufd-ctl reads them (iommufd-ctl/netlink.c,
 * included whole for its static functions): rtnetlink link, address and
 * route messages from the input, parsed by libnl-route-3's own parsers
 * into the caches ctl_link_state() and ctl_link_in_use() fill from a
 * socket, then interpreted by the same functions they use: count_addr()
 * for a link's addresses, link_use() and finish() for the reasons an
 * interface is in use (a bond or bridge member through its master).
 *
 * What must hold (the review's bind overflow was here): the reasons stay
 * inside a buffer of any length, terminated, with nothing written past it,
 * and the offset kept equals the text's length.
 *
 * Input: a buffer length (2 bytes), which link to ask about (1 byte), then
 * messages: kind (link, address, route), nlmsg_flags, payload length
 * (2 bytes), payload (the struct ifinfomsg/ifaddrmsg/rtmsg and attributes,
 * the attributes kept as a kernel could send them: see sanitize()).
 */
#include <stdlib.h>

#include <netlink/cache.h>
#include <netlink/msg.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "../iommufd-ctl/netlink.c"
#include "fuzz.h"

#define GUARD 32

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

/*
 * The attributes iommufd-ctl reads, with the sizes a kernel sends them in:
 * 4 a u32, STR a terminated string, KIND a nested IFLA_INFO_KIND, NEXTHOPS
 * bare struct rtnexthops, ADDR an address of its family's size or shorter
 * (netlink.c must not trust the family for the length, as nl_addr2str()
 * does).
 * Anything else is dropped: libnl-route-3.7's own parsers trust the kernel
 * for the rest (rtnl_route_parse() copies a negative length from an
 * RTA_VIA shorter than 2 bytes), and that is not what is tested here.
 */
enum { ADDR = -1, STR = -2, KIND = -3, NEXTHOPS = -4 };

static int attr_size(int kind, unsigned int type)
{
	static const struct {
		int kind;
		unsigned short type;
		int size;
	} known[] = {
		{ 0, IFLA_IFNAME, STR },   { 0, IFLA_MTU, 4 },	       { 0, IFLA_MASTER, 4 },
		{ 0, IFLA_LINK, 4 },	   { 0, IFLA_LINKINFO, KIND }, { 1, IFA_ADDRESS, ADDR },
		{ 1, IFA_LOCAL, ADDR },	   { 1, IFA_BROADCAST, ADDR }, { 1, IFA_LABEL, STR },
		{ 1, IFA_FLAGS, 4 },	   { 2, RTA_DST, ADDR },       { 2, RTA_SRC, ADDR },
		{ 2, RTA_GATEWAY, ADDR },  { 2, RTA_PREFSRC, ADDR },   { 2, RTA_OIF, 4 },
		{ 2, RTA_IIF, 4 },	   { 2, RTA_TABLE, 4 },	       { 2, RTA_PRIORITY, 4 },
		{ 2, RTA_MULTIPATH, NEXTHOPS },
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (known[i].kind == kind && known[i].type == type)
			return known[i].size;
	return 0;
}

/* Keep the attributes a kernel could send, made the size it would send. */
static size_t sanitize(int kind, uint8_t *p, size_t len)
{
	static const size_t fixed[] = { sizeof(struct ifinfomsg), sizeof(struct ifaddrmsg),
					sizeof(struct rtmsg) };
	size_t in = fixed[kind], out = fixed[kind];
	int family = len ? p[0] : 0;
	int alen = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;

	if (len < fixed[kind])
		return 0;
	while (in + sizeof(struct rtattr) <= len) {
		struct rtattr *a = (void *)(p + in), *o = (void *)(p + out);
		size_t n = a->rta_len < sizeof(*a) ? sizeof(*a) : a->rta_len;
		size_t body = n - sizeof(*a), keep = 0;
		int size = attr_size(kind, a->rta_type);

		if (in + n > len)
			n = len - in, body = n - sizeof(*a);
		if (size > 0 && body >= (size_t)size)
			keep = (size_t)size;
		else if (size == ADDR && alen && body)
			keep = body < (size_t)alen ? body : (size_t)alen;
		else if ((size == STR || size == KIND) && body >= 1)
			keep = body;
		else if (size == NEXTHOPS)
			keep = body - body % sizeof(struct rtnexthop);
		if (keep) {
			unsigned short type = a->rta_type;

			memmove(RTA_DATA(o), RTA_DATA(a), keep);
			o->rta_type = type;
			o->rta_len = (unsigned short)(sizeof(*a) + keep);
			if (size == STR)
				((char *)RTA_DATA(o))[keep - 1] = '\0';
			if (size == KIND) {
				/* One IFLA_INFO_KIND string, nothing else. */
				struct rtattr *k = RTA_DATA(o);

				if (keep < sizeof(*k) + 1) {
					in += RTA_ALIGN(n);
					continue;
				}
				k->rta_type = IFLA_INFO_KIND;
				k->rta_len = (unsigned short)keep;
				((char *)RTA_DATA(o))[keep - 1] = '\0';
			}
			if (size == NEXTHOPS)
				for (size_t h = 0; h < keep; h += sizeof(struct rtnexthop))
					((struct rtnexthop *)((uint8_t *)RTA_DATA(o) + h))->rtnh_len =
						sizeof(struct rtnexthop);
			out += RTA_ALIGN(o->rta_len);
		}
		in += RTA_ALIGN(n);
	}
	return out < len ? out : len;
}

static void add_message(struct nl_cache **caches, struct fz *in)
{
	static const int types[] = { RTM_NEWLINK, RTM_NEWADDR, RTM_NEWROUTE };
	unsigned int kind = fz_u8(in) % 3;
	uint16_t flags = fz_u8(in), len = fz_u16(in) % 1024;
	struct nlmsghdr *h = calloc(1, NLMSG_HDRLEN + len + 4);
	struct nl_msg *msg;

	fz_fill(in, (uint8_t *)h + NLMSG_HDRLEN, len);
	len = (uint16_t)sanitize(kind, (uint8_t *)h + NLMSG_HDRLEN, len);
	h->nlmsg_len = NLMSG_HDRLEN + len;
	h->nlmsg_type = types[kind];
	h->nlmsg_flags = flags;
	msg = len ? nlmsg_convert(h) : NULL;
	if (msg) {
		nl_cache_parse_and_add(caches[kind], msg);
		nlmsg_free(msg);
	}
	free(h);
}

struct pick {
	int want, n;
	struct rtnl_link *link;
};

static void pick_link(struct nl_object *obj, void *arg)
{
	struct pick *p = arg;

	if (p->n++ == p->want)
		p->link = (struct rtnl_link *)obj;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "route/link", "route/addr", "route/route" };
	struct fz in = { data, size };
	size_t len = fz_u16(&in) % 1200;
	struct pick p = { .want = fz_u8(&in) % 8 };
	struct nl_cache *caches[3] = { 0 };
	char *buf;
	struct use u;

	for (int i = 0; i < 3; i++)
		if (nl_cache_alloc_name(names[i], &caches[i]) < 0)
			goto out;
	for (int i = 0; i < 128 && in.n; i++)
		add_message(caches, &in);
	nl_cache_foreach(caches[0], pick_link, &p);
	if (!p.link)
		goto out;

	/* ctl_link_state()'s count of the link's addresses. */
	{
		struct addr_count c = { .ifindex = rtnl_link_get_ifindex(p.link) };
		char master[32];

		nl_cache_foreach(caches[1], count_addr, &c);
		if (rtnl_link_get_master(p.link))
			rtnl_link_i2name(caches[0], rtnl_link_get_master(p.link), master,
					 sizeof(master));
	}

	/* ctl_link_in_use()'s reasons, into exactly @len bytes and a guard. */
	buf = malloc(len + GUARD);
	memset(buf, 0xa5, len + GUARD);
	if (len)
		buf[0] = '\0';
	u = (struct use){ .links = caches[0], .why = buf, .len = len };
	if (len) {
		link_use(caches[0], caches[1], caches[2], p.link, &u, 0);
		finish(&u);
		fprintf(stderr, "%s: %d reasons: %s\n", rtnl_link_get_name(p.link), u.reasons, buf);
		fuzz_assert(u.off < len && strlen(buf) == u.off,
			    "offset %zu, text %zu bytes, buffer %zu", u.off, strlen(buf), len);
	}
	for (size_t i = len; i < len + GUARD; i++)
		fuzz_assert((unsigned char)buf[i] == 0xa5, "byte %zu past a %zu-byte buffer written",
			    i - len, len);
	free(buf);
out:
	for (int i = 0; i < 3; i++)
		if (caches[i])
			nl_cache_free(caches[i]);
	return 0;
}
