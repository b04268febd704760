// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The session commands (the language is in session.c):
 *
 *   iommufd-ctl run [FILE]                    statements from FILE or stdin
 *   iommufd-ctl attach BDF... [map ...]... [--hold]   one command: set up, report
 *   iommufd-ctl exec [--user U [--group G]] STATEMENTS... -- PROGRAM [ARGS]
 *                                             set up, then run PROGRAM with only
 *                                             the session's fds, as U if given
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
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

/* Whom `exec --user/--group` runs the program as; uid -1 for the caller. */
struct identity {
	uid_t uid;
	gid_t gid;
};

__attribute__((format(printf, 2, 3)))
static int exec_error(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "iommufd-ctl: exec: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

/* A user or group given as a number: true and *@id. */
static bool numeric_id(const char *s, unsigned int *id)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (!*s || *end || errno || n >= (unsigned int)-1)
		return false;
	*id = (unsigned int)n;
	return true;
}

/* USER (a name or a number) and GROUP (the same; NULL: USER's own group). */
static int resolve_identity(const char *user, const char *group, struct identity *id)
{
	struct passwd *pw;
	struct group *gr;
	unsigned int n;

	id->uid = (uid_t)-1;
	id->gid = (gid_t)-1;
	if (!user && !group)
		return CTL_OK;
	if (geteuid())
		return exec_error(CTL_FAILED, "--user/--group: only root can start a program as "
				  "another user");
	if (!user)
		return exec_error(CTL_USAGE, "--group needs --user");
	pw = getpwnam(user);
	if (pw) {
		id->uid = pw->pw_uid;
		id->gid = pw->pw_gid;
	} else if (numeric_id(user, &n)) {
		id->uid = n;
	} else {
		return exec_error(CTL_FAILED, "--user %s: no such user", user);
	}
	if (group) {
		gr = getgrnam(group);
		if (gr)
			id->gid = gr->gr_gid;
		else if (numeric_id(group, &n))
			id->gid = n;
		else
			return exec_error(CTL_FAILED, "--group %s: no such group", group);
	} else if (!pw) {
		return exec_error(CTL_USAGE, "--user %s: a numeric user needs --group", user);
	}
	if (!id->uid)
		return exec_error(CTL_USAGE, "--user: root is who runs it already; give another user");
	return CTL_OK;
}

/* The highest capability this kernel knows. */
static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int n = 63;

	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = 63;
		fclose(f);
	}
	return n;
}

/*
 * Become @id the way libvirt starts QEMU: no supplementary groups, no
 * capability left in any set (the bounding set too, so that no setuid
 * program gives one back), and no new privileges through exec.
 */
static int drop_privileges(const struct identity *id)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	int top = last_cap();

	for (int cap = 0; cap <= top; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	if (setgroups(0, NULL) < 0 || setresgid(id->gid, id->gid, id->gid) < 0 ||
	    setresuid(id->uid, id->uid, id->uid) < 0)
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	/* Leaving root clears them (no SECBIT_KEEP_CAPS): make sure. */
	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	for (int i = 0; i < 2; i++)
		if (data[i].effective || data[i].permitted || data[i].inheritable)
			return -EPERM;
	return 0;
}

/*
 * In the child: only the session's fds (and stdin, stdout, stderr) survive
 * exec, the environment names them, and the program runs as @id.
 */
static void launch(struct ctl_session *s, const struct identity *id, char **prog)
{
	int r;

	/* Everything this process inherited or opened stays behind... */
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		for (int fd = 3; fd < sysconf(_SC_OPEN_MAX); fd++) {
			int flags = fcntl(fd, F_GETFD);

			if (flags >= 0)
				fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
		}
	}
	/* ...but what the session lists. */
	r = ctl_session_export(s);
	if (r < 0) {
		fprintf(stderr, "iommufd-ctl: exec %s: cannot hand the session over: %s\n", prog[0],
			strerror(-r));
		_exit(127);
	}
	if (id->uid != (uid_t)-1 && (r = drop_privileges(id)) < 0) {
		fprintf(stderr, "iommufd-ctl: exec %s: cannot become uid %u gid %u: %s\n", prog[0],
			(unsigned int)id->uid, (unsigned int)id->gid, strerror(-r));
		_exit(127);
	}
	execvp(prog[0], prog);
	fprintf(stderr, "iommufd-ctl: exec %s: %s\n", prog[0], strerror(errno));
	_exit(127);
}

int cmd_exec(int argc, char **argv)
{
	const char *user = NULL, *group = NULL;
	struct identity id;
	struct ctl_session *s;
	int first = 1, dash = -1, r, status;
	pid_t pid;

	/* exec [--user USER] [--group GROUP] STATEMENTS... -- PROGRAM [ARGS] */
	while (first + 1 < argc && (!strcmp(argv[first], "--user") ||
				    !strcmp(argv[first], "--group"))) {
		if (!strcmp(argv[first], "--user"))
			user = argv[first + 1];
		else
			group = argv[first + 1];
		first += 2;
	}
	for (int i = first; i < argc && dash < 0; i++)
		if (!strcmp(argv[i], "--"))
			dash = i;
	if (dash < 0 || dash + 1 >= argc) {
		fprintf(stderr, "usage: iommufd-ctl exec [--user USER [--group GROUP]] STATEMENTS... "
			"-- PROGRAM [ARGS]\n");
		return CTL_USAGE;
	}
	r = resolve_identity(user, group, &id);
	if (r)
		return r;
	s = ctl_session_new();
	if (!s)
		return ctl_fail("out of memory");
	r = run_args(s, first, dash, argv);
	if (r) {
		ctl_session_free(s);
		return r;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		launch(s, &id, argv + dash + 1);
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
