// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A multithreaded program that does, from every thread at once, the calls
 * the shim interposes on fds it does not own (open, openat, dup, dup2, dup3,
 * fcntl, ioctl, close, stat, access) for as long as one more thread keeps
 * forking: each child closes fds, opens and closes one more and exits. A
 * lock that another thread held at fork() shows up as a child that never
 * exits: its alarm ends it with SIGALRM, counted as hung. Prints what must be
 * the same with and without the shim.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define THREADS 4
#define FORKS 300

struct result {
	int ok;
	int wrong;
	int hung;
};

static int forking = 1;	/* the workers run while this is set */

static void *worker(void *arg)
{
	struct result *res = arg;
	struct termios t;
	struct stat st;

	while (__atomic_load_n(&forking, __ATOMIC_RELAXED)) {
		int fd, fd2, fd3, p[2], good = 1;

		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		fd2 = openat(AT_FDCWD, "/dev/zero", O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fd2 < 0 || pipe2(p, O_CLOEXEC)) {
			res->wrong++;
			continue;
		}
		good &= ioctl(fd, TCGETS, &t) < 0 && errno == ENOTTY;
		fd3 = dup(fd);
		good &= fd3 >= 0;
		good &= dup2(fd2, fd3) == fd3;
		good &= dup3(p[0], fd3, O_CLOEXEC) == fd3;
		good &= fcntl(fd3, F_GETFD) == FD_CLOEXEC;
		good &= fstat(fd, &st) == 0 && S_ISCHR(st.st_mode);
		good &= stat("/dev/null", &st) == 0;
		good &= access("/dev/null", R_OK) == 0;
		good &= close(fd3) == 0 && close(fd) == 0 && close(fd2) == 0;
		good &= close(p[0]) == 0 && close(p[1]) == 0;
		if (good)
			res->ok++;
		else
			res->wrong++;
	}
	return NULL;
}

static void *forker(void *arg)
{
	struct result *res = arg;

	for (int i = 0; i < FORKS; i++) {
		int st, fd;
		pid_t pid = fork();

		if (pid == 0) {
			alarm(3);
			for (int f = 3; f < 64; f++)
				close(f);
			fd = open("/dev/null", O_WRONLY);
			_exit(fd >= 0 && close(fd) == 0 ? 0 : 1);
		}
		if (pid < 0 || waitpid(pid, &st, 0) != pid) {
			res->wrong++;
			continue;
		}
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			res->ok++;
		else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
			res->hung++;
		else
			res->wrong++;
	}
	__atomic_store_n(&forking, 0, __ATOMIC_RELAXED);
	return NULL;
}

int main(void)
{
	struct result res[THREADS + 1] = { 0 };
	pthread_t tid[THREADS + 1];
	int ok = 0, wrong = 0;

	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&tid[i], NULL, worker, &res[i]))
			return 2;
	if (pthread_create(&tid[THREADS], NULL, forker, &res[THREADS]))
		return 2;
	for (int i = 0; i <= THREADS; i++)
		pthread_join(tid[i], NULL);
	for (int i = 0; i < THREADS; i++) {
		ok += res[i].ok;
		wrong += res[i].wrong;
	}
	printf("threads: %s rounds wrong\n", ok && !wrong ? "no" : "some");
	printf("forks: %d children exited cleanly, %d hung, %d failed\n", res[THREADS].ok,
	       res[THREADS].hung, res[THREADS].wrong);
	return wrong || res[THREADS].wrong || res[THREADS].hung;
}
