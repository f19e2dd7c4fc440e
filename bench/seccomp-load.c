/* seccomp-load: what loading the sandbox's seccomp program costs a run.
 *
 * Compares the program built into airlock (tools/seccomp-gen.c) with the
 * one libseccomp compiles from the same profile, and with a one-instruction
 * program, the floor. Each load happens in a freshly forked child, as in a
 * run: prctl(PR_SET_NO_NEW_PRIVS) then seccomp(SECCOMP_SET_MODE_FILTER),
 * timed with CLOCK_MONOTONIC around the two calls. The programs take
 * turns, so drift in the machine's speed hits them alike.
 *
 * Not in `make all` (benchmarks stay out of `make check`):
 *
 *   make build/bench-seccomp-load
 *   build/bench-seccomp-load [N]        # N loads of each program, default 2000
 */
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "lib/macros.h"
#include "lib/xalloc.h"
#include "runner/sandbox-filter.h"
#include "runner/sandbox-int.h"

struct subject {
	const char *name;
	const struct sock_filter *insns;
	size_t n;
	double *ns; /* one sample per load */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Loads s's program in a child; returns the nanoseconds it took, or -1. */
static double load_once(const struct subject *s)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct sock_fprog prog = {.len = (unsigned short)s->n,
					  .filter = (struct sock_filter *)s->insns};
		/* Fault the program in first: only the kernel's work is timed. */
		volatile uint32_t sum = 0;
		for (size_t i = 0; i < s->n; i++)
			sum += s->insns[i].k;
		uint64_t t0 = now_ns();
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
			_exit(1);
		uint64_t dt = now_ns() - t0;
		_exit(write(pfd[1], &dt, sizeof dt) == sizeof dt ? 0 : 1);
	}
	close(pfd[1]);
	uint64_t dt = 0;
	ssize_t r = read(pfd[0], &dt, sizeof dt);
	close(pfd[0]);
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
	    r != sizeof dt)
		return -1;
	return (double)dt;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double mean(const double *v, size_t n)
{
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	return sum / (double)n;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000;
	if (n == 0) {
		fprintf(stderr, "usage: seccomp-load [N]\n");
		return 2;
	}
	struct err err = {0};
	_cleanup_buf_ struct buf lib_agent = BUF_INIT;
	_cleanup_buf_ struct buf lib_build = BUF_INIT;
	if (sbx_filter_bpf(false, &lib_agent, &err) < 0 || sbx_filter_bpf(true, &lib_build, &err) < 0) {
		fprintf(stderr, "seccomp-load: %s\n", err.msg);
		return 1;
	}
	static const struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
	struct subject s[] = {
		{"libseccomp, agent", (const void *)lib_agent.data,
		 lib_agent.len / sizeof(struct sock_filter), NULL},
		{"seccomp-gen, agent", NULL, 0, NULL},
		{"libseccomp, build", (const void *)lib_build.data,
		 lib_build.len / sizeof(struct sock_filter), NULL},
		{"seccomp-gen, build", NULL, 0, NULL},
		{"ret ALLOW (floor)", allow, 1, NULL},
	};
	sbx_filter_program(false, &s[1].insns, &s[1].n);
	sbx_filter_program(true, &s[3].insns, &s[3].n);
	for (size_t j = 0; j < ARRAY_SIZE(s); j++)
		s[j].ns = xcalloc(n, sizeof *s[j].ns);

	/* A few loads first to warm the caches and the allocator. */
	for (size_t j = 0; j < ARRAY_SIZE(s); j++)
		for (int w = 0; w < 20; w++)
			load_once(&s[j]);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < ARRAY_SIZE(s); j++) {
			/* Rotate the order each round. */
			struct subject *t = &s[(i + j) % ARRAY_SIZE(s)];
			if ((t->ns[i] = load_once(t)) < 0) {
				fprintf(stderr, "seccomp-load: %s: load failed\n", t->name);
				return 1;
			}
		}

	printf("%zu loads each (prctl(NO_NEW_PRIVS) + seccomp(SET_MODE_FILTER) in a fresh child)\n",
	       n);
	printf("%-20s %6s %10s %10s %10s %10s\n", "program", "insns", "mean ms", "median ms",
	       "p10 ms", "p90 ms");
	double means[ARRAY_SIZE(s)];
	for (size_t j = 0; j < ARRAY_SIZE(s); j++) {
		means[j] = mean(s[j].ns, n);
		qsort(s[j].ns, n, sizeof *s[j].ns, cmp_double);
		printf("%-20s %6zu %10.4f %10.4f %10.4f %10.4f\n", s[j].name, s[j].n, means[j] / 1e6,
		       s[j].ns[n / 2] / 1e6, s[j].ns[n / 10] / 1e6, s[j].ns[n * 9 / 10] / 1e6);
	}
	printf("mean ratio libseccomp / seccomp-gen: agent %.2fx, build %.2fx\n",
	       means[0] / means[1], means[2] / means[3]);
	printf("mean above the floor: agent %.4f -> %.4f ms, build %.4f -> %.4f ms\n",
	       (means[0] - means[4]) / 1e6, (means[1] - means[4]) / 1e6,
	       (means[2] - means[4]) / 1e6, (means[3] - means[4]) / 1e6);
	for (size_t j = 0; j < ARRAY_SIZE(s); j++)
		free(s[j].ns);
	return 0;
}
