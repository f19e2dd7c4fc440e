/* proc: fork/execve a helper with captured output (see proc.h).
 *
 * Why not popen(3) or system(3): both go through /bin/sh, so a package
 * name from a recipe or lock file would be shell syntax. Here every string
 * is one argv element. Between fork and execve the child only calls
 * async-signal-safe functions (dup2, fchdir, execve, write, _exit); argv[0]
 * is resolved and the environment built before forking. An exec failure
 * is reported to the parent as an errno over a close-on-exec pipe (as crun
 * does), so "apt-get not installed" is a clear error, not exit status 127.
 */
#include "builder/proc.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/macros.h"
#include "lib/xalloc.h"

extern char **environ;

static uint64_t run_count;

uint64_t proc_run_count(void)
{
	return run_count;
}

/* Finds name in $PATH; returns a malloc'ed path or NULL. */
static char *find_in_path(const char *name)
{
	if (strchr(name, '/'))
		return xstrdup(name);
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (const char *p = path;;) {
		const char *colon = strchr(p, ':');
		size_t n = colon ? (size_t)(colon - p) : strlen(p);
		if (n > 0) {
			_cleanup_free_ char *cand = xasprintf("%.*s/%s", (int)n, p, name);
			struct stat st;
			if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
				return TAKE_PTR(cand);
		}
		if (!colon)
			return NULL;
		p = colon + 1;
	}
}

/* environ without locale variables, plus LC_ALL=C: apt's messages are
 * parsed, so they must be the untranslated ones. The strings are
 * borrowed from environ; only the array is malloc'ed. */
static char **build_env(void)
{
	size_t n = 0;
	for (char **e = environ; e && *e; e++)
		n++;
	char **env = xcalloc(n + 2, sizeof *env);
	size_t k = 0;
	for (char **e = environ; e && *e; e++) {
		if (!strncmp(*e, "LC_", 3) || !strncmp(*e, "LANG=", 5) ||
		    !strncmp(*e, "LANGUAGE=", 9))
			continue;
		env[k++] = *e;
	}
	env[k++] = (char *)"LC_ALL=C";
	env[k] = NULL;
	return env;
}

/* In the child: makes fd become target, close-on-exec cleared. */
static int child_dup(int fd, int target)
{
	if (fd == target)
		return fcntl(fd, F_SETFD, 0);
	return dup2(fd, target) < 0 ? -1 : 0;
}

static _Noreturn void child_fail(int status_fd)
{
	int e = errno;
	(void)!write(status_fd, &e, sizeof e);
	_exit(127);
}

static int drain(struct pollfd *pfd, struct buf *b, const char *what, const char *prog,
		 struct err *err)
{
	char chunk[65536];
	ssize_t n = read(pfd->fd, chunk, sizeof chunk);
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		return err_errno(err, "read %s of %s", what, prog);
	}
	if (n == 0) {
		pfd->fd = -1; /* poll ignores negative fds */
		return 0;
	}
	if (b) {
		if (b->len + (size_t)n > PROC_OUTPUT_MAX)
			return err_set(err, -EFBIG, "%s of %s is larger than %u bytes", what,
				       prog, PROC_OUTPUT_MAX);
		buf_append(b, chunk, (size_t)n);
	}
	return 0;
}

int proc_run_capture(char *const *argv, const struct proc_opts *opts, struct buf *out,
		     struct err *err)
{
	if (!argv || !argv[0])
		return err_set(err, -EINVAL, "proc: empty argv");
	int cwd_dfd = opts ? opts->cwd_dfd : -1;
	struct buf *out_err = opts ? opts->out_err : NULL;

	_cleanup_free_ char *prog = find_in_path(argv[0]);
	if (!prog)
		return err_set(err, -ENOENT, "'%s' not found in PATH", argv[0]);
	_cleanup_free_ char **env = build_env();

	_cleanup_close_ int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0)
		return err_errno(err, "open /dev/null");
	int po[2] = {-1, -1}, pe[2] = {-1, -1}, ps[2] = {-1, -1};
	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0 || pipe2(ps, O_CLOEXEC) < 0) {
		int r = err_errno(err, "pipe");
		for (int i = 0; i < 2; i++) {
			closep(&po[i]);
			closep(&pe[i]);
			closep(&ps[i]);
		}
		return r;
	}
	_cleanup_close_ int out_rd = po[0], err_rd = pe[0], st_rd = ps[0];

	pid_t pid = fork();
	if (pid < 0) {
		int r = err_errno(err, "fork for %s", argv[0]);
		close(po[1]);
		close(pe[1]);
		close(ps[1]);
		return r;
	}
	if (pid == 0) {
		/* Child: async-signal-safe calls only. */
		signal(SIGPIPE, SIG_DFL);
		if (child_dup(devnull, 0) < 0 || child_dup(po[1], 1) < 0 ||
		    child_dup(pe[1], 2) < 0)
			child_fail(ps[1]);
		if (cwd_dfd >= 0 && fchdir(cwd_dfd) < 0)
			child_fail(ps[1]);
		execve(prog, argv, env);
		child_fail(ps[1]);
	}
	run_count++;
	close(po[1]);
	close(pe[1]);
	close(ps[1]);

	int r = 0;
	/* Blocks until execve succeeded (EOF: the pipe was close-on-exec) or
	 * the child reported why it failed. Nothing is written to the output
	 * pipes before exec, so they cannot fill up meanwhile. */
	int child_errno = 0;
	ssize_t n;
	do
		n = read(st_rd, &child_errno, sizeof child_errno);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof child_errno)
		r = err_code(err, -child_errno, "exec %s", prog);

	struct pollfd pfds[2] = {{.fd = out_rd, .events = POLLIN},
				 {.fd = err_rd, .events = POLLIN}};
	while (r == 0 && (pfds[0].fd >= 0 || pfds[1].fd >= 0)) {
		if (poll(pfds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = err_errno(err, "poll output of %s", argv[0]);
			break;
		}
		if (pfds[0].fd >= 0 && pfds[0].revents)
			r = drain(&pfds[0], out, "output", argv[0], err);
		if (r == 0 && pfds[1].fd >= 0 && pfds[1].revents)
			r = drain(&pfds[1], out_err, "error output", argv[0], err);
	}
	if (r < 0)
		kill(pid, SIGKILL);

	int status = 0;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return r < 0 ? r : err_errno(err, "waitpid %s", argv[0]);
	}
	if (r < 0)
		return r;
	if (WIFSIGNALED(status))
		return err_set(err, -EINTR, "%s killed by signal %d", argv[0], WTERMSIG(status));
	return WEXITSTATUS(status);
}
