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

struct use {
	struct nl_cache *links;
	int ifindex;
	char *why;
	size_t len, off;
	int reasons;
};

static void reason(struct use *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reason(struct use *u, const char *fmt, ...)
{
	va_list ap;

	if (u->off >= u->len)
		return;
	if (u->reasons++)
		u->off += snprintf(u->why + u->off, u->len - u->off, "; ");
	va_start(ap, fmt);
	if (u->off < u->len)
		u->off += vsnprintf(u->why + u->off, u->len - u->off, fmt, ap);
	va_end(ap);
}

static void addr_use(struct nl_object *obj, void *arg)
{
	struct rtnl_addr *a = (struct rtnl_addr *)obj;
	struct use *u = arg;
	char buf[64];

	if (rtnl_addr_get_ifindex(a) != u->ifindex || rtnl_addr_get_scope(a) == RT_SCOPE_LINK)
		return;
	reason(u, "address %s", nl_addr2str(rtnl_addr_get_local(a), buf, sizeof(buf)));
}

/* Destinations that come with any link and say nothing about use. */
static bool incidental(struct nl_addr *dst)
{
	const uint8_t *b = dst ? nl_addr_get_binary_addr(dst) : NULL;
	unsigned int plen = dst ? nl_addr_get_prefixlen(dst) : 0;

	if (!b || !plen)
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

	if (rtnl_route_nh_get_ifindex(nh) != rc->u->ifindex)
		return;
	nl_addr2str(rtnl_route_get_dst(rc->route), buf, sizeof(buf));
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
	nl_cache_foreach(routes, route_use, u);
	/* A bond or bridge member is in use when its master is. */
	if (master && depth == 0) {
		struct rtnl_link *m = rtnl_link_get(links, master);

		if (m) {
			struct use mu = { .why = u->why + u->off, .len = u->len - u->off };
			char name[IFNAMSIZ];

			snprintf(name, sizeof(name), "%s", rtnl_link_get_name(m));
			link_use(links, addrs, routes, m, &mu, 1);
			if (mu.reasons) {
				/* Re-word: "member of bond0, which is in use: ..." */
				char sub[512];

				snprintf(sub, sizeof(sub), "%s", u->why + u->off);
				u->why[u->off] = '\0';
				reason(u, "member of %s, which is in use (%s)", name, sub);
			}
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
