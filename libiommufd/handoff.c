// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Adopting what a launcher handed over through the environment: a privileged
 * launcher (iommufd-ctl exec) opens the iommufd, makes IOASes, binds and
 * attaches devices and maps memory, then starts an unprivileged program that
 * inherits the fds. The variables (iommufd-ctl(8)):
 *
 *   IOMMUFD_FD=3                        the iommufd
 *   IOMMUFD_IOAS=default=2,b=5          every IOAS by name (since 0.2)
 *   IOMMUFD_IOAS_ID=5                   the current IOAS (0: none)
 *   IOMMUFD_DEVICES=0000:00:02.0=4      each device's cdev fd
 *   IOMMUFD_DEVICE_IDS=0000:00:02.0=1   the ID it was bound with (since 0.2)
 *   IOMMUFD_DEVICE_IOAS=0000:00:02.0=5  what it is attached to (since 0.2)
 *
 * A cdev that is bound already cannot be bound again, and its ID cannot be
 * asked for: without IOMMUFD_DEVICE_IDS the devices cannot be adopted.
 *
 * Everything is checked before anything is adopted, so that a bad
 * environment changes nothing (the fds stay as they were, open and
 * inheritable) and the error names the variable and the entry.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "device_internal.h"

#define IOAS_NAME_MAX 31
#define ENTRY_MAX 128

struct handoff_ioas {
	char name[IOAS_NAME_MAX + 1];
	uint32_t id;
};

struct handoff_dev {
	char bdf[16];
	int fd;
	uint32_t id;		/* 0 until IOMMUFD_DEVICE_IDS names it */
	uint32_t pt_id;		/* 0 when IOMMUFD_DEVICE_IOAS does not */
	struct iommufd_device *dev;
};

struct iommufd_handoff {
	struct iommufd_ctx *ctx;
	uint32_t current;
	struct handoff_ioas *ioas;
	size_t nr_ioas;
	struct handoff_dev *devs;
	size_t nr_devs;
};

static const char *env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	if (!envp)
		return getenv(name);
	for (; *envp; envp++)
		if (!strncmp(*envp, name, n) && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/* A decimal number from 0 to @max and nothing else: no sign, space or hex. */
static int parse_num(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (max - (uint64_t)(*s - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

static int parse_fd(const char *s, int *fd)
{
	uint64_t v;

	if (parse_num(s, INT_MAX, &v) < 0)
		return -EINVAL;
	*fd = (int)v;
	return 0;
}

static int parse_id(const char *s, uint32_t *id)
{
	uint64_t v;

	if (parse_num(s, UINT32_MAX, &v) < 0 || !v)
		return -EINVAL;
	*id = (uint32_t)v;
	return 0;
}

static struct handoff_dev *find_dev(const struct iommufd_handoff *h, const char *bdf)
{
	for (size_t i = 0; i < h->nr_devs; i++)
		if (!strcmp(h->devs[i].bdf, bdf))
			return &h->devs[i];
	return NULL;
}

static const struct handoff_ioas *find_ioas_id(const struct iommufd_handoff *h, uint32_t id)
{
	for (size_t i = 0; i < h->nr_ioas; i++)
		if (h->ioas[i].id == id)
			return &h->ioas[i];
	return NULL;
}

static bool ioas_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > IOAS_NAME_MAX)
		return false;
	for (; *name; name++)
		if (!((*name >= 'a' && *name <= 'z') || (*name >= 'A' && *name <= 'Z') ||
		      (*name >= '0' && *name <= '9') || strchr("_-.", *name)))
			return false;
	return true;
}

/* Each entry of a list variable is handed to one of these, as KEY and VALUE. */
typedef int (*entry_fn)(struct iommufd_handoff *h, const char *var, const char *key,
			const char *val);

static int add_ioas(struct iommufd_handoff *h, const char *var, const char *key, const char *val)
{
	struct handoff_ioas *n;
	uint32_t id;

	if (!ioas_name_ok(key))
		return iommufd_fail(NULL, -EINVAL,
				    "%s: \"%s=%s\": \"%s\" is not an IOAS name (1 to %d letters, "
				    "digits, '_', '-' or '.')", var, key, val, key, IOAS_NAME_MAX);
	if (parse_id(val, &id) < 0)
		return iommufd_fail(NULL, -EINVAL,
				    "%s: \"%s=%s\": \"%s\" is not an IOAS ID (1 to 4294967295)", var,
				    key, val, val);
	for (size_t i = 0; i < h->nr_ioas; i++)
		if (!strcmp(h->ioas[i].name, key) || h->ioas[i].id == id)
			return iommufd_fail(NULL, -EINVAL, "%s: \"%s=%s\": %s appears twice", var,
					    key, val, h->ioas[i].id == id ? "the ID" : "the name");
	n = realloc(h->ioas, (h->nr_ioas + 1) * sizeof(*n));
	if (!n)
		return iommufd_fail(NULL, -ENOMEM, "out of memory");
	h->ioas = n;
	copy_str(n[h->nr_ioas].name, sizeof(n->name), key);
	n[h->nr_ioas++].id = id;
	return 0;
}

/* An entry's key as a BDF, normalised ("00:02.0" is "0000:00:02.0"). */
static int entry_bdf(const char *var, const char *key, const char *val, char *bdf, size_t len)
{
	if (iommufd_parse_bdf(key, bdf, len) < 0)
		return iommufd_fail(NULL, -EINVAL,
				    "%s: \"%s=%s\": \"%s\" is not a PCI address (DDDD:BB:DD.F)", var,
				    key, val, key);
	return 0;
}

static int add_device(struct iommufd_handoff *h, const char *var, const char *key,
		      const char *val)
{
	struct handoff_dev *n;
	char bdf[16];
	int fd, r;

	r = entry_bdf(var, key, val, bdf, sizeof(bdf));
	if (r < 0)
		return r;
	if (parse_fd(val, &fd) < 0)
		return iommufd_fail(NULL, -EINVAL,
				    "%s: \"%s=%s\": \"%s\" is not a file descriptor number", var, key,
				    val, val);
	if (find_dev(h, bdf))
		return iommufd_fail(NULL, -EINVAL, "%s: %s appears twice", var, bdf);
	n = realloc(h->devs, (h->nr_devs + 1) * sizeof(*n));
	if (!n)
		return iommufd_fail(NULL, -ENOMEM, "out of memory");
	h->devs = n;
	n[h->nr_devs++] = (struct handoff_dev){ .fd = fd };
	copy_str(n[h->nr_devs - 1].bdf, sizeof(n->bdf), bdf);
	return 0;
}

/* IOMMUFD_DEVICE_IDS and IOMMUFD_DEVICE_IOAS: one more fact about a device. */
static int add_device_fact(struct iommufd_handoff *h, const char *var, const char *key,
			   const char *val)
{
	bool ids = !strcmp(var, "IOMMUFD_DEVICE_IDS");
	struct handoff_dev *d;
	char bdf[16];
	uint32_t id;
	int r;

	r = entry_bdf(var, key, val, bdf, sizeof(bdf));
	if (r < 0)
		return r;
	d = find_dev(h, bdf);
	if (!d)
		return iommufd_fail(NULL, -EINVAL,
				    "%s: \"%s=%s\": %s is not one of IOMMUFD_DEVICES (no fd for it)",
				    var, key, val, bdf);
	if (parse_id(val, &id) < 0)
		return iommufd_fail(NULL, -EINVAL,
				    "%s: \"%s=%s\": \"%s\" is not %s ID (1 to 4294967295)", var, key,
				    val, val, ids ? "a device" : "an IOAS");
	if (ids ? d->id : d->pt_id)
		return iommufd_fail(NULL, -EINVAL, "%s: %s appears twice", var, bdf);
	if (ids)
		d->id = id;
	else
		d->pt_id = id;
	return 0;
}

/* A list variable: KEY=NUMBER entries separated by commas; empty is none. */
static int parse_list(struct iommufd_handoff *h, const char *var, const char *list, entry_fn add)
{
	const char *p = list;

	for (unsigned int n = 1; *list; n++) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char entry[ENTRY_MAX], *eq;
		int r;

		if (!len)
			return iommufd_fail(NULL, -EINVAL, "%s: entry %u of \"%s\" is empty", var, n,
					    list);
		if (len >= sizeof(entry))
			return iommufd_fail(NULL, -EINVAL, "%s: entry %u is longer than %d characters",
					    var, n, ENTRY_MAX - 1);
		memcpy(entry, p, len);
		entry[len] = '\0';
		eq = strchr(entry, '=');
		if (!eq)
			return iommufd_fail(NULL, -EINVAL, "%s: entry %u, \"%s\", is not NAME=NUMBER",
					    var, n, entry);
		*eq = '\0';
		r = add(h, var, entry, eq + 1);
		if (r < 0)
			return r;
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}

static int check_open(const char *what, int fd)
{
	if (fcntl(fd, F_GETFD) < 0)
		return iommufd_fail(NULL, -EBADF, "%s: fd %d is not open in this process", what, fd);
	return 0;
}

/* Parse and cross-check every variable; nothing is adopted yet. */
static int parse_env(struct iommufd_handoff *h, char *const *envp, int *iommufd)
{
	static const struct {
		const char *var;
		entry_fn add;
	} lists[] = {
		{ "IOMMUFD_IOAS", add_ioas },
		{ "IOMMUFD_DEVICES", add_device },
		{ "IOMMUFD_DEVICE_IDS", add_device_fact },
		{ "IOMMUFD_DEVICE_IOAS", add_device_fact },
	};
	const char *fd = env_get(envp, "IOMMUFD_FD"), *cur = env_get(envp, "IOMMUFD_IOAS_ID");
	bool have_ioas = env_get(envp, "IOMMUFD_IOAS") != NULL;
	char what[64];
	int r;

	if (!fd)
		return iommufd_fail(NULL, -ENOENT,
				    "IOMMUFD_FD is not set: no iommufd was handed over (start the "
				    "program with iommufd-ctl exec)");
	if (parse_fd(fd, iommufd) < 0)
		return iommufd_fail(NULL, -EINVAL, "IOMMUFD_FD=\"%s\" is not a file descriptor number",
				    fd);
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		const char *v = env_get(envp, lists[i].var);

		if (v && (r = parse_list(h, lists[i].var, v, lists[i].add)) < 0)
			return r;
	}
	if (cur) {
		uint64_t v;

		if (parse_num(cur, UINT32_MAX, &v) < 0)
			return iommufd_fail(NULL, -EINVAL,
					    "IOMMUFD_IOAS_ID=\"%s\" is not an IOAS ID (0 for none)",
					    cur);
		h->current = (uint32_t)v;
		if (h->current && have_ioas && !find_ioas_id(h, h->current))
			return iommufd_fail(NULL, -EINVAL,
					    "IOMMUFD_IOAS_ID=%u is not one of IOMMUFD_IOAS", h->current);
	}

	r = check_open("IOMMUFD_FD", *iommufd);
	if (r < 0)
		return r;
	for (size_t i = 0; i < h->nr_devs; i++) {
		struct handoff_dev *d = &h->devs[i];

		if (!d->id && !env_get(envp, "IOMMUFD_DEVICE_IDS"))
			return iommufd_fail(NULL, -EINVAL,
					    "IOMMUFD_DEVICES names %s but IOMMUFD_DEVICE_IDS is not "
					    "set: a bound device cannot be adopted without its ID (a "
					    "launcher older than libiommufd 0.2?)", d->bdf);
		if (!d->id)
			return iommufd_fail(NULL, -EINVAL, "IOMMUFD_DEVICE_IDS has no ID for %s",
					    d->bdf);
		if (d->pt_id && have_ioas && !find_ioas_id(h, d->pt_id))
			return iommufd_fail(NULL, -EINVAL,
					    "IOMMUFD_DEVICE_IOAS: %s=%u: IOAS %u is not one of "
					    "IOMMUFD_IOAS", d->bdf, d->pt_id, d->pt_id);
		snprintf(what, sizeof(what), "IOMMUFD_DEVICES: %s=%d", d->bdf, d->fd);
		if (d->fd == *iommufd)
			return iommufd_fail(NULL, -EINVAL, "%s: fd %d is IOMMUFD_FD", what, d->fd);
		for (size_t j = 0; j < i; j++)
			if (h->devs[j].fd == d->fd)
				return iommufd_fail(NULL, -EINVAL, "%s: fd %d is %s's too", what,
						    d->fd, h->devs[j].bdf);
		r = check_open(what, d->fd);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < h->nr_devs; i++) {
		char path[64], target[PATH_MAX];
		struct handoff_dev *d = &h->devs[i];
		ssize_t n;

		/* Best effort: without /proc the kernel's answers must do. */
		snprintf(path, sizeof(path), "/proc/self/fd/%d", d->fd);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strncmp(target, "/dev/vfio/devices/", 18))
			return iommufd_fail(NULL, -ENOTTY,
					    "IOMMUFD_DEVICES: %s=%d: fd %d is %s, not a VFIO device "
					    "cdev (/dev/vfio/devices/vfioN)", d->bdf, d->fd, d->fd,
					    target);
	}
	return 0;
}

/* With the iommufd adopted: do the IDs name its objects? */
static int check_ids(struct iommufd_handoff *h)
{
	for (size_t i = 0; i < h->nr_ioas; i++)
		if (!iommufd_ioas_exists(h->ctx, h->ioas[i].id))
			return iommufd_fail(NULL, -ENOENT, "IOMMUFD_IOAS: %s=%u: the iommufd has no "
					    "IOAS %u", h->ioas[i].name, h->ioas[i].id,
					    h->ioas[i].id);
	if (h->current && !iommufd_ioas_exists(h->ctx, h->current))
		return iommufd_fail(NULL, -ENOENT, "IOMMUFD_IOAS_ID=%u: the iommufd has no IOAS %u",
				    h->current, h->current);
	for (size_t i = 0; i < h->nr_devs; i++) {
		struct iommu_hw_info cmd = {
			.size = (uint32_t)offsetofend(struct iommu_hw_info, out_capabilities),
			.dev_id = h->devs[i].id,
		};

		/* The one ioctl that takes a device ID and changes nothing. */
		if (xioctl(iommufd_ctx_fd(h->ctx), IOMMU_GET_HW_INFO, &cmd) == -ENOENT)
			return iommufd_fail(NULL, -ENOENT,
					    "IOMMUFD_DEVICE_IDS: %s=%u: the iommufd has no device %u",
					    h->devs[i].bdf, h->devs[i].id, h->devs[i].id);
	}
	return 0;
}

static void handoff_free(struct iommufd_handoff *h)
{
	for (size_t i = 0; i < h->nr_devs; i++)
		iommufd_device_close(h->devs[i].dev);
	iommufd_ctx_unref(h->ctx);
	free(h->ioas);
	free(h->devs);
	free(h);
}

IOMMUFD_API int iommufd_handoff_from_env(const struct iommufd_handoff_opts *opts,
					 struct iommufd_handoff **ret)
{
	struct iommufd_handoff *h;
	int r, fd;

	check_arg(ret);
	r = check_opts(NULL, opts, iommufd_handoff_opts, envp);
	if (r < 0)
		return r;
	h = calloc(1, sizeof(*h));
	if (!h)
		return iommufd_fail(NULL, -ENOMEM, "out of memory");
	r = parse_env(h, opts_get(opts, iommufd_handoff_opts, envp, NULL), &fd);
	if (r < 0)
		goto out_free;
	/* Not ours until everything is adopted: on failure the fds stay as they were. */
	r = iommufd_ctx_from_fd(fd, 0, &h->ctx);
	if (r < 0) {
		if (r == -ENOTTY)
			iommufd_fail(NULL, r, "IOMMUFD_FD=%d: fd %d is not an iommufd (/dev/iommu)",
				     fd, fd);
		goto out_free;
	}
	r = check_ids(h);
	if (r < 0)
		goto out_free;
	for (size_t i = 0; i < h->nr_devs; i++) {
		struct handoff_dev *d = &h->devs[i];

		r = iommufd_device_from_fd(h->ctx, d->fd, 0, d->id, &d->dev);
		if (r < 0)
			goto out_free;
		if (d->dev->name[0] && strcmp(d->dev->name, d->bdf)) {
			r = iommufd_fail(NULL, -EINVAL,
					 "IOMMUFD_DEVICES: %s=%d: fd %d is the cdev of %s, not of %s",
					 d->bdf, d->fd, d->fd, d->dev->name, d->bdf);
			goto out_free;
		}
		copy_str(d->dev->name, sizeof(d->dev->name), d->bdf);
		d->dev->pt_id = d->pt_id;
	}

	/* Adopted: the fds are the hand-off's now, and not for this program's children. */
	h->ctx->own_fd = true;
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	for (size_t i = 0; i < h->nr_devs; i++) {
		h->devs[i].dev->own_fd = true;
		fcntl(h->devs[i].fd, F_SETFD, FD_CLOEXEC);
	}
	*ret = h;
	return 0;

out_free:
	handoff_free(h);
	return r;
}

IOMMUFD_API struct iommufd_handoff *iommufd_handoff_free(struct iommufd_handoff *h)
{
	if (h)
		handoff_free(h);
	return NULL;
}

IOMMUFD_API struct iommufd_ctx *iommufd_handoff_ctx(const struct iommufd_handoff *h)
{
	return h ? h->ctx : NULL;
}

IOMMUFD_API uint32_t iommufd_handoff_ioas(const struct iommufd_handoff *h, const char *name)
{
	if (!h)
		return 0;
	if (!name)
		return h->current;
	for (size_t i = 0; i < h->nr_ioas; i++)
		if (!strcmp(h->ioas[i].name, name))
			return h->ioas[i].id;
	return 0;
}

IOMMUFD_API const char *iommufd_handoff_ioas_name(const struct iommufd_handoff *h, size_t i)
{
	return h && i < h->nr_ioas ? h->ioas[i].name : NULL;
}

IOMMUFD_API struct iommufd_device *iommufd_handoff_device(const struct iommufd_handoff *h,
							  const char *bdf)
{
	char norm[16];
	struct handoff_dev *d;

	if (!h || !bdf || iommufd_parse_bdf(bdf, norm, sizeof(norm)) < 0)
		return NULL;
	d = find_dev(h, norm);
	return d ? d->dev : NULL;
}

IOMMUFD_API struct iommufd_device *iommufd_handoff_device_at(const struct iommufd_handoff *h,
							     size_t i)
{
	return h && i < h->nr_devs ? h->devs[i].dev : NULL;
}
