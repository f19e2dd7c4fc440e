/* Unit tests for runner/sandbox: real kernel, no mocks.
 *
 * The image root is built from the host: busybox-static and its applet
 * symlinks, plus this very binary as /bin/hostile (a multi-call helper that
 * attempts one attack and prints the errno). It is dynamically linked, so
 * the host /usr is bind-mounted read-only where it is needed.
 *
 * Each sandbox run happens in a forked child (optionally dropped to uid
 * 65534) whose stdout/stderr are memfds; the child sends back the return
 * value, the result and what the capture callback saw.
 *
 * Hostile tests assert that the attack FAILS. A test whose requirement is
 * missing (no user namespaces) skips; AIRLOCK_TEST_STRICT=1 turns skips
 * into failures (tests/run-all.sh).
 */
/* argv literals: the API takes char *const *, as execve does. */
#pragma GCC diagnostic ignored "-Wdiscarded-qualifiers"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "runner/sandbox-int.h"
#include "runner/sandbox.h"

/* ---- the hostile helper (runs inside the sandbox as /bin/hostile) ---- */

static int report(const char *what, long r)
{
	if (r < 0)
		printf("%s: %s\n", what, strerrorname_np(errno));
	else
		printf("%s: OK\n", what);
	return 0;
}

static int hostile_main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	const char *a = argv[1];
	if (!strcmp(a, "keyctl"))
		return report(a, syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
	if (!strcmp(a, "add_key"))
		return report(a, syscall(SYS_add_key, "user", "x", "y", 1, KEY_SPEC_SESSION_KEYRING));
	if (!strcmp(a, "bpf")) {
		union bpf_attr attr;
		memset(&attr, 0, sizeof attr);
		return report(a, syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr));
	}
	if (!strcmp(a, "io_uring")) {
		struct io_uring_params p;
		memset(&p, 0, sizeof p);
		return report(a, syscall(SYS_io_uring_setup, 4, &p));
	}
	if (!strcmp(a, "ptrace1"))
		return report(a, ptrace(PTRACE_ATTACH, 1, 0, 0));
	if (!strcmp(a, "proc1exe"))
		return report(a, open("/proc/1/exe", O_WRONLY));
	if (!strcmp(a, "proc1exe-read"))
		return report(a, open("/proc/1/exe", O_RDONLY));
	if (!strcmp(a, "unshare-user"))
		return report(a, unshare(CLONE_NEWUSER));
	if (!strcmp(a, "unshare-ns"))
		return report(a, unshare(CLONE_NEWNS));
	if (!strcmp(a, "clone-user"))
		return report(a, syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0));
	if (!strcmp(a, "clone3")) {
		struct clone_args ca;
		memset(&ca, 0, sizeof ca);
		ca.flags = CLONE_NEWUSER;
		ca.exit_signal = SIGCHLD;
		long r = syscall(SYS_clone3, &ca, sizeof ca);
		if (r == 0)
			_exit(0);
		return report(a, r);
	}
	if (!strcmp(a, "mount"))
		return report(a, mount("tmpfs", "/tmp", "tmpfs", 0, NULL));
	if (!strcmp(a, "tiocsti")) {
		char c = 'x';
		return report(a, ioctl(0, TIOCSTI, &c));
	}
	if (!strcmp(a, "connect") && argc > 2) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return report(a, connect(s, (struct sockaddr *)&sin, sizeof sin));
	}
	if (!strcmp(a, "mem") && argc > 2) {
		size_t n = (size_t)atol(argv[2]) << 20;
		char *p = malloc(n);
		if (!p)
			return report(a, -1);
		for (size_t i = 0; i < n; i += 4096)
			p[i] = 1;
		return report(a, 0);
	}
	if (!strcmp(a, "fds")) {
		DIR *d = opendir("/proc/self/fd");
		struct dirent *de;
		while (d && (de = readdir(d)))
			if (de->d_name[0] != '.' && atoi(de->d_name) != dirfd(d))
				printf("%s ", de->d_name);
		printf("\n");
		return 0;
	}
	if (!strcmp(a, "i386")) {
		long r;
		/* getpid through the i386 table: must be refused (EPERM). */
		__asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
		printf("i386: %ld\n", r);
		return 0;
	}
	return 2;
}

/* ---- fixtures ---- */

static char g_tmp[4096], g_root[4200], g_ws[4200], g_secret[4200];
static bool g_have_userns;

static void xsystem_mkdir(const char *p)
{
	mkdir(p, 0755);
	chmod(p, 0755);
}

static int copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (in < 0 || out < 0)
		return -1;
	char b[65536];
	ssize_t n;
	while ((n = read(in, b, sizeof b)) > 0)
		if (write(out, b, (size_t)n) != n)
			return -1;
	close(in);
	close(out);
	return 0;
}

static int group_setup(void **state)
{
	(void)state;
	const char *base = getenv("AIRLOCK_TEST_TMP");
	snprintf(g_tmp, sizeof g_tmp, "%s/sandbox.XXXXXX", base ? base : "/tmp");
	if (!mkdtemp(g_tmp))
		return -1;
	chmod(g_tmp, 0755);
	snprintf(g_root, sizeof g_root, "%s/root", g_tmp);
	snprintf(g_ws, sizeof g_ws, "%s/ws", g_tmp);
	snprintf(g_secret, sizeof g_secret, "%s/secret", g_tmp);
	xsystem_mkdir(g_root);
	xsystem_mkdir(g_ws);
	char p[4400];
	static const char *const dirs[] = {"bin", "etc", "usr", "usr/lib", "usr/lib64", "home"};
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
		snprintf(p, sizeof p, "%s/%s", g_root, dirs[i]);
		xsystem_mkdir(p);
	}
	snprintf(p, sizeof p, "%s/bin/busybox", g_root);
	if (copy_file("/bin/busybox", p) < 0)
		return -1;
	snprintf(p, sizeof p, "%s/bin/hostile", g_root);
	if (copy_file("/proc/self/exe", p) < 0)
		return -1;
	FILE *l = popen("/bin/busybox --list", "r");
	char name[256];
	while (l && fgets(name, sizeof name, l)) {
		name[strcspn(name, "\n")] = '\0';
		snprintf(p, sizeof p, "%s/bin/%s", g_root, name);
		if (strcmp(name, "busybox"))
			(void)!symlink("busybox", p);
	}
	if (l)
		pclose(l);
	snprintf(p, sizeof p, "%s/lib", g_root);
	(void)!symlink("usr/lib", p);
	snprintf(p, sizeof p, "%s/lib64", g_root);
	(void)!symlink("usr/lib64", p);
	snprintf(p, sizeof p, "%s/etc/passwd", g_root);
	FILE *f = fopen(p, "w");
	fputs("root:x:0:0::/root:/bin/sh\nuser:x:1000:1000::/home:/bin/sh\n", f);
	fclose(f);
	snprintf(p, sizeof p, "%s/etc/noexec", g_root);
	f = fopen(p, "w");
	fputs("not a program\n", f);
	fclose(f);
	chmod(p, 0644);
	snprintf(p, sizeof p, "%s/hello.txt", g_ws);
	f = fopen(p, "w");
	fputs("hello\n", f);
	fclose(f);
	chmod(p, 0666);
	f = fopen(g_secret, "w");
	fputs("TOP SECRET\n", f);
	fclose(f);
	chmod(g_secret, 0644);
	/* As root the workspace must belong to the agent's host uid to be
	 * writable by it (see the id mapping in sandbox.h). */
	if (geteuid() == 0) {
		(void)!chown(g_ws, sandbox_host_uid(1000), sandbox_host_uid(1000));
		snprintf(p, sizeof p, "%s/hello.txt", g_ws);
		(void)!chown(p, sandbox_host_uid(1000), sandbox_host_uid(1000));
	}
	pid_t pid = fork();
	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER) == 0 ? 0 : 1);
	int st = 0;
	waitpid(pid, &st, 0);
	g_have_userns = WIFEXITED(st) && WEXITSTATUS(st) == 0;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[4400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
	return system(cmd) == 0 ? 0 : -1;
}

#define NEED_USERNS()                                             \
	do {                                                      \
		if (!g_have_userns)                               \
			skip();                                   \
	} while (0)

/* These tests run this very binary inside the sandbox as /bin/hostile.
 * Built with ASan, its runtime needs calls the allowlist denies and maps
 * shadow memory that trips fd and memory checks, so they prove nothing
 * there: `make check` runs them on the plain build. */
#ifdef __SANITIZE_ADDRESS__
#define NEED_PLAIN_HELPER()                                                           \
	do {                                                                          \
		print_message("skipped under ASan: the in-sandbox helper is this binary\n"); \
		skip();                                                               \
	} while (0)
#else
#define NEED_PLAIN_HELPER() ((void)0)
#endif

struct outcome {
	int r;
	struct sandbox_result res;
	struct err err;
	char captured[2048];
	char out[16384];
	char errout[4096];
};

static char g_capture[2048];

static void list_dir(int dfd, const char *prefix, size_t depth)
{
	int fd = dup(dfd);
	DIR *d = fdopendir(fd);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		struct stat st;
		fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW);
		char line[600];
		const char *kind = S_ISCHR(st.st_mode) && st.st_rdev == 0 ? "whiteout" : "";
		snprintf(line, sizeof line, "%s%s%s%s ", prefix, de->d_name, *kind ? ":" : "", kind);
		strncat(g_capture, line, sizeof g_capture - strlen(g_capture) - 1);
		if (S_ISDIR(st.st_mode) && depth < 3) {
			int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			char np[600];
			snprintf(np, sizeof np, "%s%s/", prefix, de->d_name);
			if (sub >= 0) {
				list_dir(sub, np, depth + 1);
				close(sub);
			}
		}
	}
	if (d)
		closedir(d);
}

static int capture_cb(int root_dfd, int ws_dfd, void *userdata, struct err *err)
{
	(void)userdata;
	(void)err;
	g_capture[0] = '\0';
	list_dir(root_dfd, "R:", 0);
	if (ws_dfd >= 0)
		list_dir(ws_dfd, "W:", 0);
	return 0;
}

static void read_memfd(int fd, char *out, size_t n)
{
	ssize_t k = pread(fd, out, n - 1, 0);
	out[k > 0 ? k : 0] = '\0';
}

/* Runs cfg in a forked child, as uid `as` (0: as we are). */
static void run_cfg(struct sandbox_config *cfg, uid_t as, struct outcome *o)
{
	memset(o, 0, sizeof *o);
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	int mo = memfd_create("out", MFD_CLOEXEC), me = memfd_create("err", MFD_CLOEXEC);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		if (as && (setgroups(0, NULL) < 0 || setresgid(as, as, as) < 0 || setresuid(as, as, as) < 0))
			_exit(3);
		/* setresuid made us non-dumpable, so /proc/<child>/uid_map
		 * would be root's; a real user's process (after execve) is
		 * dumpable. */
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		dup2(mo, 1);
		dup2(me, 2);
		struct outcome *c = calloc(1, sizeof *c);
		c->r = sandbox_run(cfg, capture_cb, NULL, &c->res, &c->err);
		memcpy(c->captured, g_capture, sizeof c->captured);
		(void)!write(pfd[1], c, sizeof *c);
		_exit(0);
	}
	close(pfd[1]);
	size_t got = 0;
	while (got < sizeof *o) {
		ssize_t k = read(pfd[0], (char *)o + got, sizeof *o - got);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(pfd[0]);
	waitpid(pid, NULL, 0);
	assert_int_equal(got, sizeof *o);
	read_memfd(mo, o->out, sizeof o->out);
	read_memfd(me, o->errout, sizeof o->errout);
	close(mo);
	close(me);
}

static char *g_env[] = {"PATH=/bin:/usr/bin", "HOME=/home", "FOO=bar", NULL};
static const struct sandbox_mount g_usr_mount[] = {{"/usr", "/usr", false}};

static void base_cfg(struct sandbox_config *cfg, char **argv)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->root_lower = g_root;
	cfg->workspace_lower = g_ws;
	cfg->argv = argv;
	cfg->envp = g_env;
	cfg->uid = 1000;
	cfg->gid = 1000;
	cfg->stdout_capture_fd = -1;
	cfg->stderr_capture_fd = -1;
	cfg->limits.timeout_ms = 20000;
}

static void run_sh(const char *script, struct outcome *o)
{
	char *argv[] = {"sh", "-c", (char *)script, NULL};
	struct sandbox_config cfg;
	base_cfg(&cfg, argv);
	run_cfg(&cfg, 0, o);
}

/* Runs /bin/hostile ACTION [ARG] with the host /usr mounted. */
static void run_hostile(const char *action, const char *arg, struct outcome *o)
{
	char *argv[] = {"/bin/hostile", (char *)action, (char *)arg, NULL};
	struct sandbox_config cfg;
	base_cfg(&cfg, argv);
	cfg.mounts = g_usr_mount;
	cfg.nmounts = 1;
	run_cfg(&cfg, 0, o);
}

#define ASSERT_RAN(o)                                                                 \
	do {                                                                          \
		if ((o)->r != 0)                                                      \
			fail_msg("sandbox_run: %d %s", (o)->r, (o)->err.msg);         \
	} while (0)

/* ---- tests ---- */

static void test_basic(void **state)
{
	(void)state;
	NEED_USERNS();
	struct outcome o;
	run_sh("echo hi; id -u; id -g; hostname; pwd; cat /workspace/hello.txt", &o);
	ASSERT_RAN(&o);
	assert_int_equal(o.res.exit_code, 0);
	assert_string_equal(o.out, "hi\n1000\n1000\nairlock\n/workspace\nhello\n");
	assert_true(o.res.protections & SANDBOX_P_SECCOMP);
	assert_true(o.res.protections & SANDBOX_P_CAPS_DROPPED);
	assert_non_null(strstr(o.res.enforced, "memory:"));
}

static void test_exit_codes(void **state)
{
	(void)state;
	NEED_USERNS();
	struct outcome o;
	run_sh("exit 3", &o);
	ASSERT_RAN(&o);
	assert_int_equal(o.res.exit_code, 3);
	run_sh("kill -9 $$", &o);
	ASSERT_RAN(&o);
	assert_int_equal(o.res.exit_code, 137);
	assert_int_equal(o.res.term_signal, 9);

	char *nf[] = {"no-such-command", NULL};
	struct sandbox_config cfg;
	base_cfg(&cfg, nf);
	run_cfg(&cfg, 0, &o);
	ASSERT_RAN(&o);
	assert_int_equal(o.res.exit_code, 127);
	assert_non_null(strstr(o.res.message, "no-such-command"));

	char *ne[] = {"/etc/noexec", NULL};
	base_cfg(&cfg, ne);
	run_cfg(&cfg, 0, &o);
	ASSERT_RAN(&o);
	assert_int_equal(o.res.exit_code, 126);
}

static void test_setup_error_names_step(void **state)
{
	(void)state;
	NEED_USERNS();
	char *argv[] = {"true", NULL};
	struct sandbox_config cfg;
	base_cfg(&cfg, argv);
	/* A missing working directory is created (as WORKDIR does in
	 * Docker); one that cannot be (below a file) is a setup error. */
	cfg.workdir = "/no/such/dir";
	struct outcome o;
	run_cfg(&cfg, 0, &o);
	ASSERT_RAN(&o);
	assert_int_equal(o.res.exit_code, 0);
	cfg.workdir = "/workspace/hello.txt/sub";
	run_cfg(&cfg, 0, &o);
	assert_true(o.r < 0);
	if (!strstr(o.err.msg, "working directory '/workspace/hello.txt"))
		fail_msg("unexpected error: %s", o.err.msg);

	cfg.workdir = NULL;
	cfg.root_lower = "/no/such/root";
	run_cfg(&cfg, 0, &o);
	assert_true(o.r < 0);
	assert_non_null(strstr(o.err.msg, "/no/such/root"));
}

/* The parent may move to its other CPUs while the child sets up
 * (step_aside in sandbox.c): the caller's CPU mask is what it was after a
 * run, a failed one too, and a one-CPU mask works. */
static void test_cpu_mask_kept(void **state)
{
	(void)state;
	NEED_USERNS();
	cpu_set_t orig;
	assert_int_equal(sched_getaffinity(0, sizeof orig, &orig), 0);
	int first = -1;
	for (int i = 0; i < CPU_SETSIZE && first < 0; i++)
		if (CPU_ISSET(i, &orig))
			first = i;
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(first, &one);
	const cpu_set_t *masks[] = {&orig, &one};
	for (size_t m = 0; m < sizeof masks / sizeof *masks; m++) {
		assert_int_equal(sched_setaffinity(0, sizeof *masks[m], masks[m]), 0);
		for (int bad = 0; bad <= 1; bad++) {
			char *argv[] = {"sh", "-c", "echo ran", NULL};
			struct sandbox_config cfg;
			base_cfg(&cfg, argv);
			if (bad)
				cfg.workdir = "/workspace/hello.txt/sub";
			int mo = memfd_create("out", MFD_CLOEXEC);
			int saved = dup(1);
			dup2(mo, 1);
			struct sandbox_result res;
			struct err err = {0};
			int r = sandbox_run(&cfg, NULL, NULL, &res, &err);
			dup2(saved, 1);
			close(saved);
			close(mo);
			if (bad)
				assert_true(r < 0);
			else
				assert_int_equal(r, 0);
			cpu_set_t now;
			assert_int_equal(sched_getaffinity(0, sizeof now, &now), 0);
			assert_true(CPU_EQUAL(&now, masks[m]));
		}
	}
	assert_int_equal(sched_setaffinity(0, sizeof orig, &orig), 0);
}

/* The CPU pid last ran on, or is queued on (field 39 of its stat). */
static int cpu_of(pid_t pid)
{
	char p[64], buf[1024];
	snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	ssize_t k = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (fd >= 0)
		close(fd);
	buf[k > 0 ? k : 0] = '\0';
	char *q = strrchr(buf, ')');
	for (int field = 2; q && *q; q++)
		if (*q == ' ' && ++field == 39)
			return atoi(q + 1);
	return -1;
}

/* Stepping aside, forced: a child last on our CPU makes us move to our
 * other CPUs, and stepping back restores our mask exactly; a child
 * elsewhere, or a one-CPU mask, moves nothing. */
static void test_step_aside(void **state)
{
	(void)state;
	cpu_set_t orig;
	assert_int_equal(sched_getaffinity(0, sizeof orig, &orig), 0);
	if (CPU_COUNT(&orig) < 2) {
		print_message("skipped: one CPU\n");
		skip();
	}
	int a = -1, b = -1;
	for (int i = 0; i < CPU_SETSIZE && b < 0; i++)
		if (CPU_ISSET(i, &orig))
			*(a < 0 ? &a : &b) = i;
	cpu_set_t two, only_a, only_b;
	CPU_ZERO(&two);
	CPU_SET(a, &two);
	CPU_SET(b, &two);
	CPU_ZERO(&only_a);
	CPU_SET(a, &only_a);
	CPU_ZERO(&only_b);
	CPU_SET(b, &only_b);
	int go[2];
	assert_int_equal(pipe(go), 0);
	/* The child runs on a, sleeps; told to, moves itself to b. */
	assert_int_equal(sched_setaffinity(0, sizeof only_a, &only_a), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		char c;
		if (read(go[0], &c, 1) == 1)
			sched_setaffinity(0, sizeof only_b, &only_b);
		pause();
		_exit(0);
	}
	/* On a, allowed a and b: a running task stays where it is allowed. */
	assert_int_equal(sched_setaffinity(0, sizeof only_a, &only_a), 0);
	assert_int_equal(sched_setaffinity(0, sizeof two, &two), 0);
	assert_int_equal(cpu_of(child), a);
	struct sbx_aside aside = {0};
	sbx_step_aside(&aside, child);
	bool moved = aside.saved;
	cpu_set_t during, after;
	assert_int_equal(sched_getaffinity(0, sizeof during, &during), 0);
	sbx_step_back(&aside);
	assert_int_equal(sched_getaffinity(0, sizeof after, &after), 0);

	assert_int_equal(write(go[1], "x", 1), 1);
	for (int i = 0; i < 2000 && cpu_of(child) != b; i++)
		usleep(500);
	assert_int_equal(sched_setaffinity(0, sizeof only_a, &only_a), 0);
	assert_int_equal(sched_setaffinity(0, sizeof two, &two), 0);
	struct sbx_aside aside2 = {0};
	sbx_step_aside(&aside2, child);
	bool moved2 = aside2.saved;
	sbx_step_back(&aside2);

	/* One CPU allowed: nowhere to go. */
	assert_int_equal(sched_setaffinity(0, sizeof only_a, &only_a), 0);
	struct sbx_aside aside3 = {0};
	sbx_step_aside(&aside3, child);
	bool moved3 = aside3.saved;

	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	close(go[0]);
	close(go[1]);
	assert_int_equal(sched_setaffinity(0, sizeof orig, &orig), 0);
	assert_true(moved);
	assert_true(CPU_EQUAL(&during, &only_b));
	assert_false(aside.saved);
	assert_true(CPU_EQUAL(&after, &two));
	assert_false(moved2);
	assert_false(moved3);
}

/* The message channel: fds arrive in order, unused slots read -1 (the
 * receivers rely on it), more fds than a message may carry are refused,
 * and fds of a message received without room for them are closed. */
static void test_msg_fds(void **state)
{
	(void)state;
	int sp[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(devnull >= 0);
	struct sbx_msg m = {.type = SBX_MSG_READY, .nfds = 1}, got;
	assert_int_equal(sbx_send_msg(sp[0], &m, &devnull, 1), 0);
	int fds[SBX_MAX_FDS];
	for (int i = 0; i < SBX_MAX_FDS; i++)
		fds[i] = 99;
	assert_int_equal(sbx_recv_msg(sp[1], &got, fds), (ssize_t)sizeof got);
	assert_int_equal(got.type, SBX_MSG_READY);
	struct stat a, b;
	assert_int_equal(fstat(fds[0], &a), 0);
	assert_int_equal(fstat(devnull, &b), 0);
	assert_true(a.st_rdev == b.st_rdev && fds[0] != devnull);
	for (int i = 1; i < SBX_MAX_FDS; i++)
		assert_int_equal(fds[i], -1);
	close(fds[0]);

	int many[SBX_MAX_FDS + 1];
	for (int i = 0; i <= SBX_MAX_FDS; i++)
		many[i] = devnull;
	assert_int_equal(sbx_send_msg(sp[0], &m, many, SBX_MAX_FDS + 1), -EINVAL);

	/* Received with fds NULL: ours closed, none left open. */
	assert_int_equal(sbx_send_msg(sp[0], &m, &devnull, 1), 0);
	int probe = dup(devnull);
	close(probe);
	assert_int_equal(sbx_recv_msg(sp[1], &got, NULL), (ssize_t)sizeof got);
	int next = dup(devnull);
	assert_int_equal(next, probe); /* the received fd took no slot */
	close(next);
	close(devnull);
	close(sp[0]);
	close(sp[1]);
}

static void test_env_is_exactly_envp(void **state)
{
	(void)state;
	NEED_USERNS();
	setenv("AIRLOCK_HOST_SECRET", "leak", 1);
	struct outcome o;
	run_sh("env | sort", &o);
	unsetenv("AIRLOCK_HOST_SECRET");
	ASSERT_RAN(&o);
	assert_null(strstr(o.out, "AIRLOCK_HOST_SECRET"));
	assert_non_null(strstr(o.out, "FOO=bar"));
}

static void test_no_fd_leak(void **state)
{
	(void)state;
	NEED_USERNS();
	NEED_PLAIN_HELPER();
	int leak = open("/", O_RDONLY); /* deliberately not O_CLOEXEC */
	int leak2 = dup(leak);
	struct outcome o;
	run_hostile("fds", NULL, &o);
	close(leak);
	close(leak2);
	ASSERT_RAN(&o);
	assert_string_equal(o.out, "0 1 2 \n");
}

static void test_pidns_and_init(void **state)
{
	(void)state;
	NEED_USERNS();
	struct outcome o;
	run_sh("echo $$; ls /proc | grep -c '^[0-9]'", &o);
	ASSERT_RAN(&o);
	/* The agent is pid 2 (init is 1); no host process is visible. */
	int pid = 0, count = 0;
	assert_int_equal(sscanf(o.out, "%d %d", &pid, &count), 2);
	assert_int_equal(pid, 2);
	assert_true(count <= 4);
}

static void test_zombies_reaped_and_orphans_killed(void **state)
{
	(void)state;
	NEED_USERNS();
	struct outcome o;
	uint64_t t = (uint64_t)time(NULL);
	run_sh("sleep 30 & sleep 30 & echo started", &o);
	ASSERT_RAN(&o);
	assert_int_equal(o.res.exit_code, 0);
	/* Background children die with the agent: we did not wait 30 s. */
	assert_true((uint64_t)time(NULL) - t < 10);
}

static void test_host_files_invisible(void **state)
{
	(void)state;
	NEED_USERNS();
	char script[8192];
	snprintf(script, sizeof script, "cat '%s'; ls /etc; ls /dev", g_secret);
	struct outcome o;
	run_sh(script, &o);
	ASSERT_RAN(&o);
	assert_null(strstr(o.out, "TOP SECRET"));
	assert_null(strstr(o.out, "shadow"));
	/* /dev: only our nodes; no block devices. */
	assert_null(strstr(o.out, "sda"));
	assert_null(strstr(o.out, "vda"));
	assert_non_null(strstr(o.out, "null"));
}

static void test_writes_go_to_upper_only(void **state)
{
	(void)state;
	NEED_USERNS();
	struct outcome o;
	run_sh("echo new > /workspace/new.txt && echo changed > /workspace/hello.txt && "
	       "mkdir -p /tmp/x && rm /workspace/hello.txt && echo ok",
	       &o);
	ASSERT_RAN(&o);
	assert_string_equal(o.out, "ok\n");
	/* The host lower is untouched. */
	char p[4400], b[64] = "";
	snprintf(p, sizeof p, "%s/hello.txt", g_ws);
	FILE *f = fopen(p, "r");
	assert_non_null(f);
	assert_non_null(fgets(b, sizeof b, f));
	fclose(f);
	assert_string_equal(b, "hello\n");
	snprintf(p, sizeof p, "%s/new.txt", g_ws);
	assert_int_equal(access(p, F_OK), -1);
	/* The capture saw the new file and the whiteout. */
	assert_non_null(strstr(o.captured, "W:new.txt"));
	assert_non_null(strstr(o.captured, "W:hello.txt:whiteout"));
}

static void test_lower_root_not_writable_on_host(void **state)
{
	(void)state;
	NEED_USERNS();
	struct outcome o;
	/* As uid 1000, image files owned by host root are read-only. */
	run_sh("echo x > /bin/busybox; echo x > /etc/evil; echo done", &o);
	ASSERT_RAN(&o);
	char p[4400];
	snprintf(p, sizeof p, "%s/etc/evil", g_root);
	assert_int_equal(access(p, F_OK), -1);
	struct stat st;
	snprintf(p, sizeof p, "%s/bin/busybox", g_root);
	assert_int_equal(stat(p, &st), 0);
	assert_true(st.st_size > 1000);
}

static void expect_denied(const char *action, const char *arg, const char *want)
{
	struct outcome o;
	run_hostile(action, arg, &o);
	ASSERT_RAN(&o);
	char line[128];
	snprintf(line, sizeof line, "%s: %s\n", action, want);
	if (strcmp(o.out, line))
		fail_msg("%s: expected '%s', got '%s' (stderr '%s')", action, want, o.out, o.errout);
}

static void test_hostile_syscalls(void **state)
{
	(void)state;
	NEED_USERNS();
	NEED_PLAIN_HELPER();
	expect_denied("keyctl", NULL, "EPERM");
	expect_denied("add_key", NULL, "EPERM");
	expect_denied("bpf", NULL, "EPERM");
	expect_denied("io_uring", NULL, "EPERM");
	expect_denied("mount", NULL, "EPERM");
	expect_denied("unshare-user", NULL, "EPERM");
	expect_denied("unshare-ns", NULL, "EPERM");
	expect_denied("clone-user", NULL, "EPERM");
	expect_denied("clone3", NULL, "ENOSYS");
	expect_denied("ptrace1", NULL, "EPERM");
	expect_denied("tiocsti", NULL, "EPERM");
}

static void test_init_protected(void **state)
{
	(void)state;
	NEED_USERNS();
	struct outcome o;
	run_hostile("proc1exe", NULL, &o);
	ASSERT_RAN(&o);
	assert_null(strstr(o.out, "OK"));
	run_hostile("proc1exe-read", NULL, &o);
	ASSERT_RAN(&o);
	assert_null(strstr(o.out, "OK"));
}

static void test_i386_abi_refused(void **state)
{
	(void)state;
	NEED_USERNS();
	NEED_PLAIN_HELPER();
	struct outcome o;
	run_hostile("i386", NULL, &o);
	ASSERT_RAN(&o);
	assert_string_equal(o.out, "i386: -1\n"); /* -EPERM */
}

static void test_no_network(void **state)
{
	(void)state;
	NEED_USERNS();
	NEED_PLAIN_HELPER();
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(listen(s, 1), 0);
	socklen_t len = sizeof sin;
	getsockname(s, (struct sockaddr *)&sin, &len);
	char port[16];
	snprintf(port, sizeof port, "%d", ntohs(sin.sin_port));
	expect_denied("connect", port, "ECONNREFUSED");
	close(s);
	struct outcome o;
	run_sh("ip -o link 2>/dev/null | cut -d: -f2; cat /sys/class/net/*/operstate 2>/dev/null; "
	       "ls /proc/net >/dev/null && echo procnet",
	       &o);
	ASSERT_RAN(&o);
	assert_null(strstr(o.out, "eth"));
}

static void test_caps_nnp_seccomp_status(void **state)
{
	(void)state;
	NEED_USERNS();
	struct outcome o;
	run_sh("grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status",
	       &o);
	ASSERT_RAN(&o);
	assert_non_null(strstr(o.out, "CapEff:\t0000000000000000"));
	assert_non_null(strstr(o.out, "CapPrm:\t0000000000000000"));
	assert_non_null(strstr(o.out, "CapBnd:\t0000000000000000"));
	assert_non_null(strstr(o.out, "CapAmb:\t0000000000000000"));
	assert_non_null(strstr(o.out, "NoNewPrivs:\t1"));
	assert_non_null(strstr(o.out, "Seccomp:\t2"));
}

static void test_uid_unprivileged_on_host(void **state)
{
	(void)state;
	NEED_USERNS();
	struct outcome o;
	run_sh("cat /proc/self/uid_map; id -u", &o);
	ASSERT_RAN(&o);
	unsigned inside, outside, count, uid;
	assert_int_equal(sscanf(o.out, "%u %u %u %u", &inside, &outside, &count, &uid), 4);
	assert_int_equal(uid, 1000);
	/* uid 1000 maps to a host uid that is not 0. */
	assert_true(1000 >= inside && 1000 < inside + count);
	assert_int_not_equal(outside + (1000 - inside), 0);
	if (geteuid() == 0)
		assert_int_equal(outside + (1000 - inside), SANDBOX_HOST_ID_BASE + 1000);
}

static void test_agent_root_refused(void **state)
{
	(void)state;
	char *argv[] = {"true", NULL};
	struct sandbox_config cfg;
	base_cfg(&cfg, argv);
	cfg.uid = 0;
	struct sandbox_result res;
	struct err err = {0};
	assert_int_equal(sandbox_run(&cfg, NULL, NULL, &res, &err), -EPERM);
}

static void test_proc_masked(void **state)
{
	(void)state;
	NEED_USERNS();
	struct outcome o;
	run_sh("cat /proc/kcore | wc -c; cat /proc/keys | wc -c; echo 1 > /proc/sysrq-trigger && echo wrote;"
	       "echo x > /proc/sys/kernel/hostname && echo wrote2; cat /proc/timer_list | wc -c;"
	       /* Host root's alone, not masked: not even openable. */
	       "for f in kmsg slabinfo vmallocinfo pagetypeinfo kcore; do"
	       "  (: </proc/$f) 2>/dev/null && echo opened-$f; done",
	       &o);
	ASSERT_RAN(&o);
	assert_null(strstr(o.out, "wrote"));
	assert_null(strstr(o.out, "opened"));
	assert_string_equal(o.out, "0\n0\n0\n");
}

/* /proc/sys, /proc/bus, /proc/fs and /proc/irq are read-only mounts, also
 * for a RUN step, root of its user namespace with capabilities, for which
 * the uts namespace's hostname sysctl would otherwise be writable. */
static void test_proc_readonly(void **state)
{
	(void)state;
	NEED_USERNS();
	char *argv[] = {"sh", "-c",
			"echo x > /proc/sys/kernel/hostname 2>/dev/null && echo wrote;"
			"for d in sys bus fs irq; do"
			"  awk -v m=/proc/$d '$5 == m { split($6, o, \",\"); print m, o[1] }'"
			"  /proc/self/mountinfo; done",
			NULL};
	struct sandbox_config cfg;
	base_cfg(&cfg, argv);
	cfg.build_mode = true;
	cfg.uid = cfg.gid = 0;
	struct outcome o;
	run_cfg(&cfg, 0, &o);
	ASSERT_RAN(&o);
	assert_null(strstr(o.out, "wrote"));
	assert_non_null(strstr(o.out, "/proc/sys ro\n"));
	assert_non_null(strstr(o.out, "/proc/fs ro\n"));
	assert_non_null(strstr(o.out, "/proc/irq ro\n"));
	assert_null(strstr(o.out, " rw"));
}

static void test_pids_limit(void **state)
{
	(void)state;
	NEED_USERNS();
	char *argv[] = {"sh", "-c",
			"i=0; while [ $i -lt 200 ]; do sleep 5 & i=$((i+1)); done 2>/dev/null; "
			"echo survived",
			NULL};
	struct sandbox_config cfg;
	base_cfg(&cfg, argv);
	cfg.limits.pids = 32;
	struct outcome o;
	run_cfg(&cfg, 0, &o);
	ASSERT_RAN(&o);
	assert_null(strstr(o.out, "survived"));
	assert_int_not_equal(o.res.exit_code, 0);
}

static void test_memory_limit(void **state)
{
	(void)state;
	NEED_USERNS();
	char *argv[] = {"/bin/hostile", "mem", "512", NULL};
	struct sandbox_config cfg;
	base_cfg(&cfg, argv);
	cfg.mounts = g_usr_mount;
	cfg.nmounts = 1;
	cfg.limits.memory_bytes = 64ull << 20;
	struct outcome o;
	run_cfg(&cfg, 0, &o);
	ASSERT_RAN(&o);
	assert_null(strstr(o.out, "mem: OK"));
}

static void test_timeout(void **state)
{
	(void)state;
	NEED_USERNS();
	char *argv[] = {"sh", "-c", "trap '' TERM; sleep 60", NULL};
	struct sandbox_config cfg;
	base_cfg(&cfg, argv);
	cfg.limits.timeout_ms = 300;
	struct outcome o;
	run_cfg(&cfg, 0, &o);
	ASSERT_RAN(&o);
	assert_int_equal(o.res.exit_code, 124);
	assert_true(o.res.timed_out);
	assert_true(o.res.duration_ms < 300 + SANDBOX_KILL_GRACE_MS + 2000);
}

static void test_disk_limit(void **state)
{
	(void)state;
	NEED_USERNS();
	char *argv[] = {"sh", "-c", "dd if=/dev/zero of=/workspace/big bs=1M count=64 2>&1; echo rc=$?", NULL};
	struct sandbox_config cfg;
	base_cfg(&cfg, argv);
	cfg.limits.disk_bytes = 8ull << 20;
	struct outcome o;
	run_cfg(&cfg, 0, &o);
	ASSERT_RAN(&o);
	assert_non_null(strstr(o.out, "No space left"));
}

static void test_unprivileged_caller(void **state)
{
	(void)state;
	NEED_USERNS();
	/* As root: drop to 65534 first; otherwise we already are a user. */
	uid_t as = geteuid() == 0 ? 65534 : 0;
	unsigned want = geteuid() == 0 ? 65534 : (unsigned)geteuid();
	char *argv[] = {"sh", "-c", "id -u; cat /proc/self/uid_map; echo w > /tmp/f && cat /tmp/f", NULL};
	struct sandbox_config cfg;
	base_cfg(&cfg, argv);
	cfg.workspace_lower = NULL;
	struct outcome o;
	run_cfg(&cfg, as, &o);
	ASSERT_RAN(&o);
	unsigned uid, in, out, cnt;
	char w[8];
	assert_int_equal(sscanf(o.out, "%u %u %u %u %7s", &uid, &in, &out, &cnt, w), 5);
	assert_int_equal(uid, 1000);
	assert_int_equal(out, want);
	assert_int_equal(cnt, 1);
	assert_string_equal(w, "w");
}

static void test_everyday_tools(void **state)
{
	(void)state;
	NEED_USERNS();
	if (access("/usr/bin/python3", X_OK) != 0 || access("/usr/bin/git", X_OK) != 0)
		skip();
	char *argv[] = {"sh", "-c",
			"cd /tmp && /usr/bin/python3 -c 'import os,subprocess; print(\"py\", os.getuid())' && "
			"/usr/bin/git init -q r && cd r && echo a > a && /usr/bin/git add a && "
			"/usr/bin/git -c user.email=a@b -c user.name=n commit -qm m && echo git-ok && "
			"printf 'int main(){return 0;}' > t.c && (/usr/bin/gcc t.c -o t 2>&1 && ./t && echo cc-ok || echo no-cc)",
			NULL};
	struct sandbox_config cfg;
	base_cfg(&cfg, argv);
	cfg.mounts = g_usr_mount;
	cfg.nmounts = 1;
	struct outcome o;
	run_cfg(&cfg, 0, &o);
	ASSERT_RAN(&o);
	if (!strstr(o.out, "git-ok"))
		fail_msg("out '%s' err '%s'", o.out, o.errout);
	assert_non_null(strstr(o.out, "py 1000"));
}

static int count_procs_with_cmdline(const char *want, size_t len)
{
	int n = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char p[300], b[256];
		snprintf(p, sizeof p, "/proc/%s/cmdline", de->d_name);
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t k = read(fd, b, sizeof b);
		close(fd);
		if (k == (ssize_t)len && !memcmp(b, want, len))
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

/* airlock killed with SIGKILL: nothing of the sandbox survives. */
static void test_sandbox_dies_with_airlock(void **state)
{
	(void)state;
	NEED_USERNS();
	static const char want[] = "sleep\0" "313";
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *argv[] = {"sh", "-c", "sleep 313 & sleep 313", NULL};
		struct sandbox_config cfg;
		base_cfg(&cfg, argv);
		struct sandbox_result res;
		struct err err;
		sandbox_run(&cfg, NULL, NULL, &res, &err);
		_exit(0);
	}
	int seen = 0;
	for (int i = 0; i < 100 && seen < 2; i++) {
		nanosleep(&(struct timespec){0, 20000000}, NULL);
		seen = count_procs_with_cmdline(want, sizeof want);
	}
	assert_int_equal(seen, 2);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	int left = 2;
	for (int i = 0; i < 100 && left; i++) {
		nanosleep(&(struct timespec){0, 20000000}, NULL);
		left = count_procs_with_cmdline(want, sizeof want);
	}
	assert_int_equal(left, 0);
}

/* The cgroup v2 join as a run does it, on this machine's v2 hierarchy
 * (which may have no controllers: the move is what is tested): the parent
 * opens cgroup.procs, a child in a new user namespace (as a run's pid 1 is)
 * writes "0" and is in the cgroup. The v1 join has e2e tests (run.bats);
 * v2 limits cannot be tested on a host whose v2 has no memory or pids. */
static void test_cgroup_v2_self_join(void **state)
{
	(void)state;
	NEED_USERNS();
	char line[4096], mnt[1024] = "", own[1024] = "";
	FILE *f = fopen("/proc/self/mountinfo", "re");
	while (f && !mnt[0] && fgets(line, sizeof line, f)) {
		char mp[1024], fstype[64];
		char *dash = strstr(line, " - ");
		if (dash && sscanf(line, "%*s %*s %*s %*s %1023s", mp) == 1 &&
		    sscanf(dash + 3, "%63s", fstype) == 1 && !strcmp(fstype, "cgroup2"))
			snprintf(mnt, sizeof mnt, "%s", mp);
	}
	if (f)
		fclose(f);
	f = fopen("/proc/self/cgroup", "re");
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(own, sizeof own, "%s", strcmp(line + 3, "/") ? line + 3 : "");
		}
	if (f)
		fclose(f);
	if (!mnt[0] || geteuid() != 0) {
		print_message("skipped: no cgroup v2 hierarchy, or not root\n");
		skip();
	}
	char *dir = NULL;
	assert_true(asprintf(&dir, "%s%s/airlock-test-%d", mnt, own, (int)getpid()) > 0);
	if (mkdir(dir, 0755) < 0) {
		print_message("skipped: cannot create %s: %s\n", dir, strerror(errno));
		free(dir);
		skip();
	}
	struct sbx_cgroups cg = {.version = 2, .paths = {dir}};
	int join[2 * SBX_CGROUP_MAX], nj = 0, nl = 0;
	struct err err = {0};
	assert_int_equal(sbx_cgroups_join_fds(&cg, join, &nj, &nl, &err), 0);
	assert_int_equal(nj, 1);
	assert_int_equal(nl, 0); /* v2: no leaving by a parent's cgroup.procs */
	pid_t pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWUSER) < 0 || write(join[0], "0", 1) != 1)
			_exit(2);
		char want[2048], got[4096] = "";
		snprintf(want, sizeof want, "0::%s/airlock-test-%d\n", own, (int)getppid());
		FILE *c = fopen("/proc/self/cgroup", "re");
		while (c && fgets(got, sizeof got, c) && strncmp(got, "0::", 3))
			;
		_exit(c && !strcmp(got, want) ? 0 : 3);
	}
	close(join[0]);
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);

	/* And born in it, as a run's pid 1 is on v2: clone3 CLONE_INTO_CGROUP
	 * with the run's namespaces, no move (and no global lock) at all. */
	int cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(cgfd >= 0);
	bool into = false;
	long child = sbx_clone(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC |
				       CLONE_NEWUTS,
			       cgfd, &into);
	if (child == 0) {
		char want[2048], got[4096] = "";
		snprintf(want, sizeof want, "0::%s/airlock-test-", own);
		FILE *c = fopen("/proc/self/cgroup", "re");
		while (c && fgets(got, sizeof got, c) && strncmp(got, "0::", 3))
			;
		_exit(c && !strncmp(got, want, strlen(want)) ? 0 : 3);
	}
	assert_true(child > 0);
	close(cgfd);
	assert_true(into);
	assert_int_equal(waitpid((pid_t)child, &st, 0), child);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	for (int i = 0; i < 100 && rmdir(dir) < 0 && errno == EBUSY; i++)
		usleep(2000);
	free(dir);
}

static void test_doctor(void **state)
{
	(void)state;
	struct buf report = BUF_INIT;
	unsigned prot = 0;
	struct err err = {0};
	assert_int_equal(sandbox_doctor(&report, &prot, &err), 0);
	assert_non_null(strstr(report.data, "user namespace:"));
	assert_non_null(strstr(report.data, "limits: memory:"));
	if (g_have_userns) {
		assert_true(prot & SANDBOX_P_USERNS);
		assert_true(prot & SANDBOX_P_OVERLAY);
		assert_true(prot & SANDBOX_P_SECCOMP);
	}
	buf_release(&report);
}

int main(int argc, char **argv)
{
	const char *slash = strrchr(argv[0], '/');
	if (!strcmp(slash ? slash + 1 : argv[0], "hostile"))
		return hostile_main(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proc_readonly),
		cmocka_unit_test(test_cgroup_v2_self_join),
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_setup_error_names_step),
		cmocka_unit_test(test_cpu_mask_kept),
		cmocka_unit_test(test_msg_fds),
		cmocka_unit_test(test_step_aside),
		cmocka_unit_test(test_env_is_exactly_envp),
		cmocka_unit_test(test_no_fd_leak),
		cmocka_unit_test(test_pidns_and_init),
		cmocka_unit_test(test_zombies_reaped_and_orphans_killed),
		cmocka_unit_test(test_host_files_invisible),
		cmocka_unit_test(test_writes_go_to_upper_only),
		cmocka_unit_test(test_lower_root_not_writable_on_host),
		cmocka_unit_test(test_hostile_syscalls),
		cmocka_unit_test(test_init_protected),
		cmocka_unit_test(test_i386_abi_refused),
		cmocka_unit_test(test_no_network),
		cmocka_unit_test(test_caps_nnp_seccomp_status),
		cmocka_unit_test(test_uid_unprivileged_on_host),
		cmocka_unit_test(test_agent_root_refused),
		cmocka_unit_test(test_proc_masked),
		cmocka_unit_test(test_pids_limit),
		cmocka_unit_test(test_memory_limit),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_disk_limit),
		cmocka_unit_test(test_unprivileged_caller),
		cmocka_unit_test(test_everyday_tools),
		cmocka_unit_test(test_doctor),
		cmocka_unit_test(test_sandbox_dies_with_airlock),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
