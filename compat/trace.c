// SPDX-License-Identifier: LGPL-2.1-or-later
/* IOMMUFD_COMPAT_TRACE=1 (stderr) or =FILE: each legacy call and what it became. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"

static FILE *out;
static pthread_once_t once = PTHREAD_ONCE_INIT;
int compat_trace_state;

static void setup(void)
{
	const char *t = getenv("IOMMUFD_COMPAT_TRACE");

	if (t && *t && strcmp(t, "0"))
		out = !strcmp(t, "1") ? stderr : fopen(t, "ae");
	__atomic_store_n(&compat_trace_state, out ? 2 : 1, __ATOMIC_RELEASE);
}

/* The first question: read the environment (once, whatever the threads). */
bool compat_trace_setup(void)
{
	pthread_once(&once, setup);
	return __atomic_load_n(&compat_trace_state, __ATOMIC_ACQUIRE) == 2;
}

void compat_trace_line(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "iommufd-compat[%d]: ", (int)getpid());
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* One write(): a line other threads' output cannot split. */
	if (write(fileno(out), line, n) < 0)
		return;
}
