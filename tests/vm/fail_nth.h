/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Failure injection for the VM tests, after the kernel's own
 * tools/testing/selftests/iommu/iommufd_fail_nth.c: run one call with its
 * 1st, 2nd, 3rd... failure point made to fail, until a run reaches no more
 * points, and after each failure check that it said so (-errno and an
 * explanation), changed nothing (kernel objects, pins, page tables, fds,
 * heap blocks, the library's own records), and that the call then works.
 *
 * Two kinds of failure points:
 *  - kernel (FN_KERNEL): every fault-injection site the calling thread
 *    passes in the kernel (failslab, fail_page_alloc, iommufd's own
 *    fail_iommufd), through /proc/self/task/TID/fail-nth;
 *  - user (FN_USER): every malloc/calloc/realloc, open/fopen/opendir,
 *    mmap, eventfd, memfd_create, dup, socket, pipe and pthread_create made
 *    during the call (fail_nth_interpose.c).
 */
#ifndef TESTS_VM_FAIL_NTH_H
#define TESTS_VM_FAIL_NTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <iommufd/iommufd.h>

#include "../../libiommufd/shared.h"	/* iommufd_set_last_error() */

/* ---- the userspace interposer (fail_nth_interpose.c) ---- */

/* False when not compiled in (AddressSanitizer builds). */
bool fi_user_available(void);
/* Fail the @n-th interposed call from now in thread @tid (0: any thread). */
void fi_user_arm(unsigned int n, pid_t tid);
/* Disarm; true if the armed call was reached and failed. */
bool fi_user_disarm(void);
/* What was failed last ("malloc from 0x..."). */
const char *fi_user_last(void);
/* Heap blocks allocated and not yet freed, process wide. */
long fi_heap_live(void);

/* ---- the kernel's fail-nth ---- */

/*
 * Let every allocation be failed (failslab and fail_page_alloc ignore
 * GFP_KERNEL ones by default) and quiet the reports; the first call also
 * marks where this program's part of the kernel log begins. 0, or -errno
 * when the kernel has no fault injection, and -EOPNOTSUPP in an
 * AddressSanitizer build, whose allocator aborts when the kernel fails one of
 * its own mmap()s: the sweeps need the plain build.
 */
int fn_kernel_setup(void);

/*
 * Kernel splats (Oops, BUG, WARNING, RCU stalls) logged since this program's
 * first fn_kernel_setup(), shown; or -errno. Known ones outside iommufd and
 * VFIO are shown and counted apart.
 */
int fn_kernel_splats(void);

/* ---- state, as text to compare ---- */

struct fn_state {
	char buf[16384];
	size_t len;
};

__attribute__((format(printf, 2, 3)))
void fn_printf(struct fn_state *st, const char *fmt, ...);
/* Open fds of this process. */
int fn_count_fds(void);
/*
 * The kernel objects of @ctx, as the ID the next one would get and any
 * object found past it: iommufd hands out the lowest free ID, so an object
 * a failed call left behind shows here.
 */
void fn_state_ids(struct fn_state *st, struct iommufd_ctx *ctx);
/* fds and heap blocks. */
void fn_state_process(struct fn_state *st);

/* ---- the sweep ---- */

enum fn_mode {
	FN_KERNEL,	/* each kernel failure point */
	FN_USER,	/* each userspace one */
	FN_NESTED,	/* each userspace one in the error path of each kernel failure */
};

/*
 * A problem already reported and not fixed yet: counted apart, shown once,
 * not failing the test; what it may have left behind becomes the state the
 * following runs start from. It matches when each line of the state that
 * differs (or the message, for a misreported failure) contains one of
 * @match (NULL-terminated), and one of them contains @needs.
 */
struct fn_known {
	const char *const *match;
	/* Optional: a differing line must contain this, or it is not this problem. */
	const char *needs;
	const char *why;
};

struct fn_case {
	const char *name;
	void *self;
	/* Before each run (nothing injected): bring up what the call needs. 0 or -errno. */
	int (*setup)(void *self);
	/* The call under test: >= 0 on success, -errno on failure. */
	int (*call)(void *self);
	/* After each run, successful or not: undo setup and the call. */
	void (*teardown)(void *self);
	/* Describe everything the call may change (kernel, library, process). */
	void (*state)(void *self, struct fn_state *st);
	/* Optional: the failed call's explanation (default iommufd_last_error()). */
	const char *(*explain)(void *self);
	/* Optional: the thread the call's work runs in (an async worker); 0: this one. */
	pid_t (*thread)(void *self);
	/* Give up past this many points (default 2000). */
	unsigned int max;
	/* Problems known and reported (ends with an entry whose match is NULL). */
	const struct fn_known *known;
	/*
	 * Also sweep FN_NESTED: the calls whose error paths do more than return
	 * (undo steps, explanations that read /proc). FAIL_NTH_NESTED=1 in the
	 * environment sweeps it for every call.
	 */
	bool nested;
};

struct fn_result {
	unsigned int points;	/* failure points reached */
	unsigned int absorbed;	/* of those, failures the call survived and succeeded */
	unsigned int leaks;	/* failures after which the state was not what it was */
	unsigned int bad;	/* failures not reported properly, or a call that then failed */
	unsigned int known;	/* problems the case lists as known */
};

/*
 * Sweep @c's failure points of @mode, print one line with the counts
 * ("# fail-nth NAME [kernel]: N points, ...") and a diff for each failure
 * that changed the state, add the counts to the program's totals and
 * return them. Returns -errno if the call cannot even run uninjected.
 * Besides the failed call, every absorbed failure (the call succeeded all
 * the same) must leave what a call without one leaves.
 */
int fn_sweep(const struct fn_case *c, enum fn_mode mode, struct fn_result *res);

/*
 * FN_KERNEL, FN_USER and, if asked (@c->nested), FN_NESTED; the user ones are
 * skipped (said so) where the interposer is not built.
 */
int fn_sweep_both(const struct fn_case *c, struct fn_result *res);

/* The totals per mode of every sweep of this program so far (all its tests). */
void fn_totals(struct fn_result res[3], unsigned int *cases);
/* Print them: "# fail-nth total: ...". */
void fn_print_totals(const char *what);

#endif
