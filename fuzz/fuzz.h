/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to the fuzz harnesses: reading a fuzz input as a stream of typed
 * values, and the fake world the harnesses run in (fake.c): fds whose
 * ioctl()s a harness answers, files and symlinks it makes up, and a fake
 * iommufd and VFIO cdev (fake_kernel.c) that keeps a model of what is mapped.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* ---- the input as a stream ------------------------------------------------ */

/* Consumed from the front; an exhausted stream reads as zeros. */
struct fz {
	const uint8_t *p;
	size_t n;
};

static inline uint64_t fz_bytes(struct fz *f, unsigned int bytes)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < bytes && f->n; i++, f->p++, f->n--)
		v |= (uint64_t)*f->p << (8 * i);
	return v;
}

static inline uint8_t fz_u8(struct fz *f) { return (uint8_t)fz_bytes(f, 1); }
static inline uint16_t fz_u16(struct fz *f) { return (uint16_t)fz_bytes(f, 2); }
static inline uint32_t fz_u32(struct fz *f) { return (uint32_t)fz_bytes(f, 4); }
static inline uint64_t fz_u64(struct fz *f) { return fz_bytes(f, 8); }
static inline bool fz_bool(struct fz *f) { return fz_u8(f) & 1; }

/* A value in [0, n), n > 0. */
static inline uint64_t fz_below(struct fz *f, uint64_t n)
{
	return n <= 256 ? fz_u8(f) % n : n <= 65536 ? fz_u16(f) % n : fz_u64(f) % n;
}

/* Up to @len bytes into @buf, the rest zero; how many came from the input. */
static inline size_t fz_fill(struct fz *f, void *buf, size_t len)
{
	size_t n = len < f->n ? len : f->n;

	memset((uint8_t *)buf + n, 0, len - n);
	if (!n)
		return 0;
	memcpy(buf, f->p, n);
	f->p += n;
	f->n -= n;
	return n;
}

/* The next @len bytes (fewer at the end) as a sub-stream. */
static inline struct fz fz_split(struct fz *f, size_t len)
{
	struct fz s = { f->p, len < f->n ? len : f->n };

	if (s.n) {
		f->p += s.n;
		f->n -= s.n;
	}
	return s;
}

/* ---- output --------------------------------------------------------------- */

/*
 * The code under test prints (iommufd-ctl, the shim's traces): to /dev/null
 * unless FUZZ_VERBOSE is set, so that a reproducer can be watched. libFuzzer
 * and the sanitizers write their reports to fd 2 themselves.
 */
void fuzz_quiet(void);

/* Fail loudly: a broken invariant is a crash, with a message. */
#define fuzz_assert(cond, ...)                                                           \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(fuzz_stderr, "fuzz: %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(fuzz_stderr, __VA_ARGS__);                               \
			fputc('\n', fuzz_stderr);                                        \
			fflush(fuzz_stderr);                                             \
			__builtin_trap();                                                \
		}                                                                        \
	} while (0)
extern FILE *fuzz_stderr;

/* ---- the fake world (fake.c) ---------------------------------------------- */

/*
 * An fd the harness answers ioctl()s on: a memfd underneath, so fcntl(),
 * fstat(), read() and close() work on it. @ioctl returns >= 0 or -errno.
 * @link is what readlink("/proc/self/fd/N") says (NULL: the memfd's name).
 * F_DUPFD of it makes another fd of the same fake; @release (optional)
 * runs when the last of them is closed.
 */
typedef int (*fake_ioctl_fn)(void *priv, int fd, unsigned long req, void *arg);
int fake_fd_new(fake_ioctl_fn ioctl, void (*release)(void *priv), void *priv, const char *link);
void *fake_fd_priv(int fd, fake_ioctl_fn ioctl);
/* Move a fake (or any) fd to the number @to, as dup3() and close(); @to or -1. */
int fake_fd_move(int fd, int to);
/* Close every fake fd still open (end of one input); how many are open. */
void fake_fd_close_all(void);
size_t fake_fd_count(void);
/* "FD (what it is), ..." of the fake fds open, for messages. */
void fake_fd_describe(char *buf, size_t len);

/*
 * Per-input hooks, all optional: a made-up readlink() target ("" for
 * ENOENT, NULL to fall through), fopen() contents, open() of a path (an
 * fd, or -1 to fall through to the real file system), access() (0, -1 for
 * ENOENT, or -2 to fall through). Reset by fake_reset().
 */
struct fake_hooks {
	const char *(*readlink)(const char *path);
	bool (*fopen)(const char *path, const void **data, size_t *len);
	int (*open)(const char *path, int flags);
	int (*access)(const char *path);
};
extern struct fake_hooks fake_hooks;
void fake_reset(void);

/* ---- the fake iommufd and VFIO cdevs (fake_kernel.c) ----------------------- */

/*
 * One fake kernel per input. Its answers are those of Linux 6.12's iommufd
 * and vfio-pci (argument sizes, ID lookups, EEXIST, ENOENT, EMSGSIZE...)
 * with a model of each IOAS's mappings; what a real kernel would read from
 * hardware (IOVA ranges, hw_info registers, region info and capability
 * chains, hot-reset dependencies) comes from the input's @replies, and
 * @faults makes any ioctl fail with an errno the kernel may give.
 */
struct fake_kernel_opts {
	struct fz replies;
	struct fz faults;
	bool dirty_capable;	/* the IOMMU has dirty tracking */
};
void fake_kernel_reset(const struct fake_kernel_opts *opts);
/* From now on no ioctl fails but as the model says (for a check after the run). */
void fake_kernel_no_faults(void);
/*
 * A new fake /dev/iommu fd (each open its own objects, as in the kernel),
 * and a fake VFIO cdev, not bound yet. -1 with errno when out of them.
 */
int fake_iommufd_open(void);
int fake_vfio_cdev_open(void);
bool fake_is_iommufd(int fd);
/*
 * The mappings of @ioas_id in the iommufd @iommufd, merged where contiguous,
 * into @out (at most @max): what a differential check compares a userspace
 * record with.
 */
struct fake_range {
	uint64_t start, last;
};
size_t fake_ioas_ranges_mapped(int iommufd, uint32_t ioas_id, struct fake_range *out,
			       size_t max);
bool fake_ioas_exists(int iommufd, uint32_t ioas_id);
/* The objects alive in @iommufd (for invariants about leaks). */
size_t fake_objects(int iommufd);

#endif
