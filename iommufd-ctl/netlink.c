// SPDX-License-Identifier: LGPL-2.1-or-later
/* Network interface state through libnl-route-3's link and address caches. */
#include <errno.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

struct addr_count {
	int ifindex;
	int n;
};

static void count_addr(struct nl_object *obj, void *arg)
{
	struct rtnl_addr *a = (struct rtnl_addr *)obj;
	struct addr_count *c = arg;

	/* Link-local addresses (fe80::/10, 169.254/16) do not mean "in use". */
	if (rtnl_addr_get_ifindex(a) == c->ifindex && rtnl_addr_get_scope(a) != RT_SCOPE_LINK)
		c->n++;
}

int ctl_link_state(const char *ifname, struct ctl_link *st)
{
	struct nl_cache *links = NULL, *addrs = NULL;
	struct nl_sock *sk = nl_socket_alloc();
	struct rtnl_link *link;
	struct addr_count c = { 0 };
	int r = -ENODEV, master;

	memset(st, 0, sizeof(*st));
	if (!sk)
		return -ENOMEM;
	if (nl_connect(sk, NETLINK_ROUTE) < 0 ||
	    rtnl_link_alloc_cache(sk, AF_UNSPEC, &links) < 0 ||
	    rtnl_addr_alloc_cache(sk, &addrs) < 0) {
		r = -EIO;
		goto out;
	}
	link = rtnl_link_get_by_name(links, ifname);
	if (link) {
		st->up = rtnl_link_get_flags(link) & IFF_UP;
		master = rtnl_link_get_master(link);
		if (master)
			rtnl_link_i2name(links, master, st->master, sizeof(st->master));
		c.ifindex = rtnl_link_get_ifindex(link);
		nl_cache_foreach(addrs, count_addr, &c);
		st->addresses = c.n;
		rtnl_link_put(link);
		r = 0;
	}
out:
	if (addrs)
		nl_cache_free(addrs);
	if (links)
		nl_cache_free(links);
	nl_socket_free(sk);
	return r;
}

/* ---- is an interface in use? ---------------------------------------------- */

/*
 * Addresses and routes can be many (a router's NIC has hundreds of routes):
 * the first few of each kind are named, the rest counted.
 */
#define SHOWN_PER_KIND 3
/* Room kept at the end of the buffer for "; ... and N more reasons". */
#define TAIL_ROOM 40

enum use_kind { KIND_ADDRESS, KIND_ROUTE, NR_KINDS };

struct use {
	struct nl_cache *links;
	int ifindex;
	char *why;		/* the reasons, "; "-separated, always terminated */
	size_t len, off;	/* off: strlen(why), never past len - 1 */
	int reasons;		/* every reason found, shown or not */
	int dropped;		/* reasons that did not fit in why */
	int shown[NR_KINDS], more[NR_KINDS];
};

/*
 * Append one item to u->why, after "; " unless it is the first. An item that
 * does not fit whole is not written at all (half a route says nothing), and
 * nothing is written after it, so that what is shown is a prefix of the list
 * and the count at the end covers the rest. Returns whether it was written.
 */
static bool vput(struct use *u, const char *fmt, va_list ap)
{
	size_t limit = u->len > TAIL_ROOM ? u->len - TAIL_ROOM : 0;
	size_t at = u->off ? u->off + 2 : 0;
	int n;

	if (u->dropped || at >= limit)
		return false;
	n = vsnprintf(u->why + at, limit - at, fmt, ap);
	if (n < 0 || (size_t)n >= limit - at) {
		u->why[u->off] = '\0';
		return false;
	}
	if (u->off)
		memcpy(u->why + u->off, "; ", 2);
	u->off = at + n;
	return true;
}

static bool put(struct use *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool put(struct use *u, const char *fmt, ...)
{
	va_list ap;
	bool done;

	va_start(ap, fmt);
	done = vput(u, fmt, ap);
	va_end(ap);
	return done;
}

static void reason(struct use *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reason(struct use *u, const char *fmt, ...)
{
	va_list ap;

	u->reasons++;
	va_start(ap, fmt);
	if (!vput(u, fmt, ap))
		u->dropped++;
	va_end(ap);
}

/* One more of @kind: true when it is only to be counted (enough are named). */
static bool counted_only(struct use *u, enum use_kind kind)
{
	if (u->shown[kind] < SHOWN_PER_KIND) {
		u->shown[kind]++;
		return false;
	}
	u->reasons++;
	u->more[kind]++;
	return true;
}

/* "... and 57 more routes", after the ones of @kind that were named. */
static void summarise(struct use *u, enum use_kind kind, const char *one, const char *many)
{
	if (u->more[kind] && !put(u, "... and %d more %s", u->more[kind],
				  u->more[kind] == 1 ? one : many))
		u->dropped += u->more[kind];
	u->more[kind] = 0;
}

/* The count of the reasons that did not fit, in the room kept for it. */
static void finish(struct use *u)
{
	if (u->dropped && u->off < u->len) {
		int n = snprintf(u->why + u->off, u->len - u->off, "%s... and %d more reasons",
				 u->off ? "; " : "", u->dropped);

		if (n > 0)
			u->off += (size_t)n < u->len - u->off ? (size_t)n : u->len - u->off - 1;
	}
}

/*
 * nl_addr2str() trusts the family: an AF_INET6 address from a 4-byte
 * attribute was read as 16 bytes. Only whole addresses are printed.
 */
static const char *addr_str(struct nl_addr *a, char *buf, size_t len)
{
	int family = a ? nl_addr_get_family(a) : AF_UNSPEC;
	unsigned int want = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;

	if (want && nl_addr_get_len(a) != want) {
		snprintf(buf, len, "(a malformed address)");
		return buf;
	}
	return nl_addr2str(a, buf, len);
}

static void addr_use(struct nl_object *obj, void *arg)
{
	struct rtnl_addr *a = (struct rtnl_addr *)obj;
	struct use *u = arg;
	char buf[64];

	if (rtnl_addr_get_ifindex(a) != u->ifindex || rtnl_addr_get_scope(a) == RT_SCOPE_LINK ||
	    counted_only(u, KIND_ADDRESS))
		return;
	reason(u, "address %s", addr_str(rtnl_addr_get_local(a), buf, sizeof(buf)));
}

/*
 * Destinations that come with any link and say nothing about use. The
 * address is as long as the RTA_DST attribute was, whatever the family
 * says: two bytes are looked at only where there are two.
 */
static bool incidental(struct nl_addr *dst)
{
	const uint8_t *b = dst ? nl_addr_get_binary_addr(dst) : NULL;
	unsigned int plen = dst ? nl_addr_get_prefixlen(dst) : 0;

	if (!b || !plen || nl_addr_get_len(dst) < 2)
		return false;
	if (nl_addr_get_family(dst) == AF_INET6)
		return (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || b[0] == 0xff;	/* fe80::/10, ff00::/8 */
	if (nl_addr_get_family(dst) == AF_INET)
		return b[0] == 169 && b[1] == 254;					/* 169.254/16 */
	return false;
}

struct route_ctx {
	struct use *u;
	struct rtnl_route *route;
};

static void nh_use(struct rtnl_nexthop *nh, void *arg)
{
	struct route_ctx *rc = arg;
	uint32_t table = rtnl_route_get_table(rc->route);
	char buf[96];

	if (rtnl_route_nh_get_ifindex(nh) != rc->u->ifindex || counted_only(rc->u, KIND_ROUTE))
		return;
	addr_str(rtnl_route_get_dst(rc->route), buf, sizeof(buf));
	if (table == RT_TABLE_MAIN)
		reason(rc->u, "route %s", buf);
	else
		reason(rc->u, "route %s in table %u", buf, table);
}

static void route_use(struct nl_object *obj, void *arg)
{
	struct rtnl_route *r = (struct rtnl_route *)obj;
	struct route_ctx rc = { arg, r };

	/* The local table holds the routes of the addresses themselves. */
	if (rtnl_route_get_table(r) == RT_TABLE_LOCAL || incidental(rtnl_route_get_dst(r)))
		return;
	rtnl_route_foreach_nexthop(r, nh_use, &rc);
}

static void link_use(struct nl_cache *links, struct nl_cache *addrs, struct nl_cache *routes,
		     struct rtnl_link *link, struct use *u, int depth)
{
	int master = rtnl_link_get_master(link);

	u->ifindex = rtnl_link_get_ifindex(link);
	if (rtnl_link_get_flags(link) & IFF_UP)
		reason(u, "link %s is up", rtnl_link_get_name(link));
	nl_cache_foreach(addrs, addr_use, u);
	summarise(u, KIND_ADDRESS, "address", "addresses");
	nl_cache_foreach(routes, route_use, u);
	summarise(u, KIND_ROUTE, "route", "routes");
	/* A bond or bridge member is in use when its master is. */
	if (master && depth == 0) {
		struct rtnl_link *m = rtnl_link_get(links, master);

		if (m) {
			/* The master's reasons in a buffer of their own, then as one of ours. */
			char sub[512];
			struct use mu = { .links = links, .why = sub, .len = sizeof(sub) };

			sub[0] = '\0';
			link_use(links, addrs, routes, m, &mu, 1);
			finish(&mu);
			if (mu.reasons)
				reason(u, "member of %s, which is in use (%s)", rtnl_link_get_name(m),
				       sub);
			rtnl_link_put(m);
		}
	}
}

int ctl_link_in_use(const char *ifname, char *why, size_t len)
{
	struct nl_cache *links = NULL, *addrs = NULL, *routes = NULL;
	struct nl_sock *sk = nl_socket_alloc();
	struct use u = { .why = why, .len = len };
	struct rtnl_link *link;
	int r = -EIO;

	why[0] = '\0';
	if (!sk)
		return -ENOMEM;
	/* Every table and family: the route dump is not filtered by table. */
	if (nl_connect(sk, NETLINK_ROUTE) < 0 ||
	    rtnl_link_alloc_cache(sk, AF_UNSPEC, &links) < 0 ||
	    rtnl_addr_alloc_cache(sk, &addrs) < 0 ||
	    rtnl_route_alloc_cache(sk, AF_UNSPEC, 0, &routes) < 0)
		goto out;
	link = rtnl_link_get_by_name(links, ifname);
	if (!link) {
		r = -ENODEV;
		goto out;
	}
	u.links = links;
	link_use(links, addrs, routes, link, &u, 0);
	finish(&u);
	rtnl_link_put(link);
	r = u.reasons > 0;
out:
	if (routes)
		nl_cache_free(routes);
	if (addrs)
		nl_cache_free(addrs);
	if (links)
		nl_cache_free(links);
	nl_socket_free(sk);
	return r;
}
