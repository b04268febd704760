// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A progress bar for maps of many GiB. The map is one ioctl, so the bar
 * watches what the kernel reports as it pins: VmPin in /proc/self/status,
 * which iommufd raises batch by batch. Only on a terminal (or --progress),
 * never with --quiet.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

#define MIN_LENGTH (256ULL << 20)
#define WIDTH 40

static pthread_t thread;
static bool running;
static atomic_bool stop;
static uint64_t total_kb, base_kb;

uint64_t ctl_vmpin_kb(void)
{
	char line[128];
	uint64_t kb = 0;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %" SCNu64, &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static void draw(uint64_t kb)
{
	int pct = kb >= total_kb ? 100 : (int)(kb * 100 / total_kb);
	int fill = pct * WIDTH / 100;

	fprintf(stderr, "\rpinning [%.*s%*s] %3d%% %" PRIu64 "/%" PRIu64 " MiB", fill,
		"########################################", WIDTH - fill, "", pct, kb >> 10,
		total_kb >> 10);
	fflush(stderr);
}

static void *watch(void *arg)
{
	struct timespec tick = { .tv_nsec = 100 * 1000 * 1000 };

	while (!atomic_load(&stop)) {
		uint64_t now = ctl_vmpin_kb();

		draw(now > base_kb ? now - base_kb : 0);
		nanosleep(&tick, NULL);
	}
	return arg;
}

void ctl_progress_start(uint64_t length)
{
	if (ctl.quiet || length < MIN_LENGTH || !(ctl.progress || isatty(STDERR_FILENO)))
		return;
	total_kb = length >> 10;
	base_kb = ctl_vmpin_kb();
	atomic_store(&stop, false);
	running = pthread_create(&thread, NULL, watch, NULL) == 0;
}

void ctl_progress_stop(bool done)
{
	if (!running)
		return;
	atomic_store(&stop, true);
	pthread_join(thread, NULL);
	running = false;
	if (done)
		draw(total_kb);
	fputc('\n', stderr);
}
