// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The session commands (the language is in session.c):
 *
 *   iommufd-ctl run [FILE]                    statements from FILE or stdin
 *   iommufd-ctl attach BDF... [map ...]... [--hold]   one command: set up, report
 *   iommufd-ctl exec STATEMENTS... -- PROGRAM [ARGS]  set up, then run PROGRAM
 *                                             with the fds inherited
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"

#define MAX_WORDS 32

/* Split a line into words, dropping a # comment. */
static int split_words(char *line, char **words)
{
	int n = 0;

	line[strcspn(line, "#\n")] = '\0';
	for (char *tok = strtok(line, " \t\r"); tok; tok = strtok(NULL, " \t\r")) {
		if (n == MAX_WORDS)
			return -1;
		words[n++] = tok;
	}
	return n;
}

int cmd_run(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "-";
	FILE *f = strcmp(name, "-") ? fopen(name, "re") : stdin;
	struct ctl_session *s;
	char *line = NULL, where[64], *words[MAX_WORDS];
	size_t cap = 0;
	int r = CTL_OK, lineno = 0;

	if (argc > 2) {
		fprintf(stderr, "usage: iommufd-ctl run [FILE]\n");
		return CTL_USAGE;
	}
	if (!f) {
		fprintf(stderr, "iommufd-ctl: run: %s: %s\n", name, strerror(errno));
		return CTL_FAILED;
	}
	s = ctl_session_new();
	if (!s)
		return ctl_fail("out of memory");
	while (r == CTL_OK && getline(&line, &cap, f) >= 0) {
		int n = split_words(line, words);

		lineno++;
		snprintf(where, sizeof(where), "%s line %d", strcmp(name, "-") ? name : "stdin",
			 lineno);
		if (n < 0) {
			fprintf(stderr, "iommufd-ctl: %s: more than %d words\n", where, MAX_WORDS);
			r = CTL_USAGE;
		} else {
			r = ctl_session_exec(s, n, words, where);
		}
		fflush(stdout);
	}
	free(line);
	if (f != stdin)
		fclose(f);
	ctl_session_free(s);
	return r;
}

/* Run argv[first..end) as statements, each starting at a keyword. */
static int run_args(struct ctl_session *s, int first, int end, char **argv)
{
	char where[64];

	for (int i = first; i < end;) {
		int j = i + 1, r;

		if (!ctl_session_is_keyword(argv[i])) {
			fprintf(stderr, "iommufd-ctl: argument %d: '%s' is not a statement (ioas, attach, "
				"map, unmap, copy, ranges, dma-test, show, hold)\n", i, argv[i]);
			return CTL_USAGE;
		}
		while (j < end && !ctl_session_is_keyword(argv[j]))
			j++;
		snprintf(where, sizeof(where), "argument %d", i);
		if (!strcmp(argv[i], "attach") && j - i > 2 && strcmp(argv[i + 2], "to")) {
			/* attach A B C: one statement per device. */
			for (int k = i + 1; k < j; k++) {
				char *one[] = { argv[i], argv[k] };

				if ((r = ctl_session_exec(s, 2, one, where)))
					return r;
			}
		} else if ((r = ctl_session_exec(s, j - i, argv + i, where))) {
			return r;
		}
		i = j;
	}
	return CTL_OK;
}

int cmd_attach(int argc, char **argv)
{
	struct ctl_session *s;
	bool hold = false;
	int r, n = 0;

	/* --hold may come anywhere; the rest are statements, starting with this attach. */
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--hold"))
			hold = true;
		else
			argv[n++] = argv[i];
	}
	if (n < 2) {
		fprintf(stderr, "usage: iommufd-ctl attach BDF... [map SIZE [at IOVA]]... [--hold]\n");
		return CTL_USAGE;
	}
	s = ctl_session_new();
	if (!s)
		return ctl_fail("out of memory");
	r = run_args(s, 0, n, argv);
	if (!r) {
		char *show[] = { "show" }, *wait[] = { "hold" };

		r = ctl_session_exec(s, 1, show, "report");
		if (!r && hold)
			r = ctl_session_exec(s, 1, wait, "hold");
	}
	ctl_session_free(s);
	return r;
}

/* In the child: the session's fds survive exec, and the environment names them. */
static void launch(struct ctl_session *s, char **prog)
{
	int r = ctl_session_export(s);

	if (r < 0) {
		fprintf(stderr, "iommufd-ctl: exec %s: cannot hand the session over: %s\n", prog[0],
			strerror(-r));
		_exit(127);
	}
	execvp(prog[0], prog);
	fprintf(stderr, "iommufd-ctl: exec %s: %s\n", prog[0], strerror(errno));
	_exit(127);
}

int cmd_exec(int argc, char **argv)
{
	struct ctl_session *s;
	int dash = -1, r, status;
	pid_t pid;

	for (int i = 1; i < argc && dash < 0; i++)
		if (!strcmp(argv[i], "--"))
			dash = i;
	if (dash < 0 || dash + 1 >= argc) {
		fprintf(stderr, "usage: iommufd-ctl exec STATEMENTS... -- PROGRAM [ARGS]\n");
		return CTL_USAGE;
	}
	s = ctl_session_new();
	if (!s)
		return ctl_fail("out of memory");
	r = run_args(s, 1, dash, argv);
	if (r) {
		ctl_session_free(s);
		return r;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		launch(s, argv + dash + 1);
	if (pid < 0) {
		r = ctl_fail("fork: %s", strerror(errno));
	} else {
		/* The mappings live as long as this process holds the iommufd. */
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		r = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	ctl_session_free(s);
	return r;
}
