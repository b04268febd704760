// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * iommufd-ctl exec hands a session to a libiommufd program: handoff_child
 * adopts it with iommufd_handoff_from_env() and has the edu device DMA
 * through the inherited IOAS. Checked here: the DMA's data, that what the
 * child adopted is what the launcher made (device ID, fd, IOAS, names), the
 * launcher's mapping seen from the child, and the refusals of an environment
 * without a hand-off or from a launcher that passes no device IDs.
 *
 * IOMMUFD_CTL names another launcher to test (default: the iommufd-ctl
 * built next to this program).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "edu.h"
#include "harness.h"

#define OUT_MAX 16384

struct run {
	char out[OUT_MAX];
	int status;		/* exit status, or 128 + signal */
};

/* This program's directory, $O/tests/vm: the child is here, iommufd-ctl in $O/bin. */
static void paths(char *child, char *ctl, size_t len)
{
	char exe[1024];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	ASSERT_GT(n, 0);
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	snprintf(child, len, "%s/handoff_child", exe);
	if (getenv("IOMMUFD_CTL"))
		snprintf(ctl, len, "%s", getenv("IOMMUFD_CTL"));
	else
		snprintf(ctl, len, "%s/../../bin/iommufd-ctl", exe);
}

/* Run a shell command line ("%C" the child, "%L" the launcher, "%E" the edu BDF). */
static void run(struct run *r, const char *fmt)
{
	char child[PATH_MAX], ctl[PATH_MAX], bdf[32], cmd[4 * PATH_MAX];
	size_t n, off = 0;
	FILE *p;
	int st;

	paths(child, ctl, sizeof(child));
	ASSERT_OK(edu_find(bdf, sizeof(bdf)));
	for (; *fmt; fmt++) {
		if (fmt[0] == '%' && strchr("CLE", fmt[1])) {
			fmt++;
			off += snprintf(cmd + off, sizeof(cmd) - off, "%s",
					*fmt == 'C' ? child : *fmt == 'L' ? ctl : bdf);
		} else {
			cmd[off++] = *fmt;
		}
		ASSERT_LT(off, sizeof(cmd) - 8);
	}
	snprintf(cmd + off, sizeof(cmd) - off, " 2>&1");
	TH_LOG("%s", cmd);
	fflush(stdout);
	p = popen(cmd, "r");
	ASSERT_TRUE(p != NULL);
	n = fread(r->out, 1, sizeof(r->out) - 1, p);
	r->out[n] = '\0';
	st = pclose(p);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	for (const char *l = r->out; *l;) {
		int len = (int)strcspn(l, "\n");

		TH_LOG("| %.*s", len, l);
		l += len + (l[len] == '\n');
	}
}

/* The number after @prefix on the line that starts with it, or -1. */
static long long after(const char *out, const char *prefix)
{
	for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, prefix, strlen(prefix)))
			return strtoll(l + strlen(prefix), NULL, 0);
	return -1;
}

static bool has(const char *out, const char *text)
{
	return strstr(out, text) != NULL;
}

static void need_iommu(void)
{
	char bdf[32];

	if (edu_find(bdf, sizeof(bdf)) < 0)
		SKIP(return, "no edu device");
	if (!getenv("LIBIOMMUFD_VM_IOMMU") || !strcmp(getenv("LIBIOMMUFD_VM_IOMMU"), "0"))
		SKIP(return, "guest booted without an IOMMU");
}

/* The plain case: one IOAS, the launcher maps, the child maps its own memory and DMAs. */
TEST(edu_dma_through_inherited_ioas)
{
	static struct run r;
	char line[128], bdf[32];
	long long dev_id, fd, ioas;

	need_iommu();
	if (th_res->skipped)
		return;
	ASSERT_OK(edu_find(bdf, sizeof(bdf)));
	run(&r, "%L exec attach %E map 2M at 0x4000000 -- %C --launcher-map 0x4000000");
	ASSERT_EQ(r.status, 0);
	ASSERT_TRUE(has(r.out, "launcher mapping at 0x4000000: present\n"));
	ASSERT_TRUE(has(r.out, "bytes to the device and back through IOVA 0x"));
	ASSERT_TRUE(has(r.out, ": intact\n"));
	/* What the launcher said it made: "attach BDF: device N in IOAS default (M), fd F". */
	snprintf(line, sizeof(line), "attach %s: device ", bdf);
	ASSERT_TRUE(has(r.out, line));
	ASSERT_EQ(sscanf(strstr(r.out, line) + strlen(line), "%lld in IOAS default (%lld), fd %lld",
			 &dev_id, &ioas, &fd), 3);
	ASSERT_EQ(after(r.out, "ioas default "), ioas);
	snprintf(line, sizeof(line), "device %s id %lld fd %lld ioas %lld cloexec yes\n", bdf,
		 dev_id, fd, ioas);
	ASSERT_TRUE(has(r.out, line));
	snprintf(line, sizeof(line), "current %lld\n", ioas);
	ASSERT_TRUE(has(r.out, line));
	ASSERT_TRUE(has(r.out, "iommufd fd ") && has(r.out, " cloexec yes\n"));
}

/* Two IOASes: the device is in the one it was attached to, not the current one. */
TEST(two_ioas_by_name)
{
	static struct run r;
	char line[128], bdf[32];
	long long a, b;

	need_iommu();
	if (th_res->skipped)
		return;
	ASSERT_OK(edu_find(bdf, sizeof(bdf)));
	run(&r, "%L --quiet exec ioas a ioas b attach %E to a map 64K to b -- %C");
	ASSERT_EQ(r.status, 0);
	a = after(r.out, "ioas a ");
	b = after(r.out, "ioas b ");
	ASSERT_GT(a, 0);
	ASSERT_GT(b, 0);
	ASSERT_NE(a, b);
	snprintf(line, sizeof(line), "current %lld\n", b);
	ASSERT_TRUE(has(r.out, line));
	snprintf(line, sizeof(line), "device %s id ", bdf);
	ASSERT_TRUE(has(r.out, line));
	snprintf(line, sizeof(line), " ioas %lld cloexec yes\n", a);
	ASSERT_TRUE(has(r.out, line));
	ASSERT_TRUE(has(r.out, ": intact\n"));
}

/*
 * The launcher a VMM needs: set up as root, run the program as nobody with
 * no capability, no new privileges and only the session's fds (fd 9, open
 * in the launcher, stays behind); the program still adopts the hand-off and
 * DMAs, and cannot open /dev/iommu or the device's cdev by itself. The child
 * runs from /tmp: nobody may not reach the build tree.
 */
TEST(unprivileged_child)
{
	static struct run r;

	need_iommu();
	if (th_res->skipped)
		return;
	run(&r, "install -m 755 %C /tmp/handoff_child_nobody && "
		"%L --quiet exec --user nobody attach %E map 2M at 0x4000000 -- "
		"/tmp/handoff_child_nobody --launcher-map 0x4000000 --unprivileged 9</dev/null");
	ASSERT_EQ(r.status, 0);
	ASSERT_TRUE(has(r.out, "uid 65534 euid 65534\n"));
	ASSERT_TRUE(has(r.out, "CapPrm:\t0000000000000000\n"));
	ASSERT_TRUE(has(r.out, "CapEff:\t0000000000000000\n"));
	ASSERT_TRUE(has(r.out, "CapBnd:\t0000000000000000\n"));
	ASSERT_TRUE(has(r.out, "CapAmb:\t0000000000000000\n"));
	ASSERT_TRUE(has(r.out, "NoNewPrivs:\t1\n"));
	ASSERT_TRUE(has(r.out, "open /dev/iommu: Permission denied\n"));
	ASSERT_TRUE(has(r.out, "open /dev/vfio/devices/vfio"));
	ASSERT_FALSE(has(r.out, ": opened\n"));
	ASSERT_TRUE(has(r.out, "stray fds: none\n"));
	ASSERT_TRUE(has(r.out, "launcher mapping at 0x4000000: present\n"));
	ASSERT_TRUE(has(r.out, ": intact\n"));
}

/* Without root, or for a user that does not exist: refused before anything is set up. */
TEST(exec_user_refusals)
{
	static struct run r;

	need_iommu();
	if (th_res->skipped)
		return;
	run(&r, "%L exec --user no-such-user-here attach %E -- true");
	ASSERT_EQ(r.status, 1);
	ASSERT_TRUE(has(r.out, "--user no-such-user-here: no such user"));
	run(&r, "%L exec --group nogroup attach %E -- true");
	ASSERT_EQ(r.status, 2);
	ASSERT_TRUE(has(r.out, "--group needs --user"));
	run(&r, "install -m 755 %L /tmp/iommufd-ctl-nobody && setpriv --reuid=65534 --regid=65534 "
		"--clear-groups /tmp/iommufd-ctl-nobody exec --user nobody attach %E -- true");
	ASSERT_EQ(r.status, 1);
	ASSERT_TRUE(has(r.out, "only root can start a program as another user"));
}

/* Started by hand, nothing was handed over: refused, and said so. */
TEST(no_launcher)
{
	static struct run r;

	need_iommu();
	if (th_res->skipped)
		return;
	run(&r, "env -u IOMMUFD_FD %C");
	ASSERT_EQ(r.status, 1);
	ASSERT_TRUE(has(r.out, "handoff: No such file or directory: IOMMUFD_FD is not set"));
}

/* What a launcher that passes only fds (before 0.2) gives: refused, and said why. */
TEST(launcher_without_device_ids)
{
	static struct run r;

	need_iommu();
	if (th_res->skipped)
		return;
	run(&r, "%L --quiet exec attach %E -- env -u IOMMUFD_DEVICE_IDS %C");
	ASSERT_EQ(r.status, 1);
	ASSERT_TRUE(has(r.out, "handoff: Invalid argument: IOMMUFD_DEVICES names "));
	ASSERT_TRUE(has(r.out, "but IOMMUFD_DEVICE_IDS is not set"));
}

TEST_HARNESS_MAIN
