// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * iommufd-ctl: iommufd passthrough from the shell. The command table and
 * the global options; each command lives in its own file.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

struct ctl_opts ctl;

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *args;
	const char *help;
} commands[] = {
	{ "list", cmd_list, "[--class HEX] [--driver NAME] [--group N]",
	  "PCI devices: names, IOMMU groups, drivers, VFIO cdevs, network links" },
	{ "info", cmd_info, "[BDF]",
	  "the kernel's iommufd features; with BDF, its IOMMU, IOVA ranges and capabilities" },
	{ "device", cmd_device, "BDF|CDEV", "a VFIO device's regions, IRQs, resets, features, migration" },
	{ "dma-test", cmd_dma_test, "BDF",
	  "DMA through the IOMMU and back (QEMU edu), then show it blocked after unmap" },
	{ "bind", cmd_bind, "[--force] [--timeout S] BDF...",
	  "hand devices to vfio-pci; a network device in use is refused" },
	{ "restore", cmd_restore, "BDF...", "give devices back to the driver they had" },
	{ "unbind", cmd_restore, "BDF...", "the same as restore" },
	{ "attach", cmd_attach, "BDF... [map SIZE [at IOVA]]... [--hold]",
	  "attach and map in one session, report (and hold until a signal)" },
	{ "run", cmd_run, "[FILE]", "run a session's statements from FILE or stdin" },
	{ "exec", cmd_exec, "[--user U [--group G]] STATEMENTS... -- PROGRAM [ARGS]",
	  "set up a session, then run PROGRAM (as U) with only its fds" },
	{ "compat", cmd_compat, "[--trace[=FILE]] [--force] -- PROGRAM [ARGS]",
	  "run a legacy VFIO type1 program on iommufd through the LD_PRELOAD shim" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: iommufd-ctl [--json] [--quiet] [--progress] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-9s %s\n            %s\n", commands[i].name, commands[i].args,
			commands[i].help);
	fprintf(f, "\nexit status: 0 done, 1 the operation failed, 2 usage error\n");
}

int ctl_fail(const char *fmt, ...)
{
	const char *why = iommufd_last_error();
	va_list ap;

	fprintf(stderr, "iommufd-ctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (why[0])
		fprintf(stderr, ": %s", why);
	fputc('\n', stderr);
	return CTL_FAILED;
}

void ctl_print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "progress", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	/* Options up to the command; the command parses its own. */
	while ((c = getopt_long(argc, argv, "+jqph", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			ctl.json = true;
			break;
		case 'q':
			ctl.quiet = true;
			break;
		case 'p':
			ctl.progress = true;
			break;
		case 'h':
			usage(stdout);
			return CTL_OK;
		default:
			usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_USAGE;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(argv[optind], commands[i].name)) {
			argv += optind;
			argc -= optind;
			optind = 1;	/* commands use getopt again from their own argv */
			return commands[i].fn(argc, argv);
		}
	}
	fprintf(stderr, "iommufd-ctl: unknown command '%s'\n", argv[optind]);
	usage(stderr);
	return CTL_USAGE;
}
