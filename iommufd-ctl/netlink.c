// SPDX-License-Identifier: LGPL-2.1-or-later
/* Network interface state through libnl-route-3's link and address caches. */
#include <errno.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
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
