/* probe: a multi-call break-out helper for tests/e2e/sandbox.bats.
 *
 * Built static on the host (cc -static) and bind-mounted read-only into a
 * busybox sandbox as /probe, because the image has no keyctl, bpf or
 * allocator tools. Each action attempts one thing the sandbox must refuse,
 * prints "ACTION: ERRNO-NAME" (or "ACTION: OK") and exits
 *   0  the attempt FAILED, as it should;
 *   1  the attempt SUCCEEDED (a break-out);
 *   2  usage error.
 *
 *   probe keyctl | add_key | bpf | io_uring | unshare-user | unshare-ns |
 *         clone-user | mount | ptrace1 | write-proc1-exe | write-proc1-mem |
 *         setuid0 | chroot | tiocsti | tiocsti-hi | userfaultfd | perf | kexec |
 *         open-by-handle
 *   probe connect HOST PORT   TCP connect (ECONNREFUSED/ENETUNREACH: fine)
 *   probe connect-unix PATH   AF_UNIX connect; @NAME is an abstract name
 *   probe fds                 prints the open fds (not its own dir fd), exit 0
 *   probe alloc MB            malloc and touch MB MiB
 *   probe fork N              fork N children that wait; fails if all N ran
 *   probe write PATH MB       write MB MiB of zeros to PATH
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* r < 0: the attempt failed (good). */
static int report(const char *what, long r)
{
	if (r < 0) {
		printf("%s: %s\n", what, strerrorname_np(errno));
		return 0;
	}
	printf("%s: OK\n", what);
	return 1;
}

static int do_connect(const char *host, const char *port)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	uint16_t p = htons((uint16_t)atoi(port));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = p;
		len = sizeof *sin;
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = p;
		len = sizeof *sin6;
	} else {
		printf("connect: '%s' is not a numeric address\n", host);
		return 2;
	}
	int s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return report("connect", -1);
	return report("connect", connect(s, (struct sockaddr *)&ss, len));
}

static int do_connect_unix(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t n = strlen(path);
	if (n >= sizeof sun.sun_path)
		return 2;
	memcpy(sun.sun_path, path, n);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return report("connect-unix", -1);
	return report("connect-unix",
		      connect(s, (struct sockaddr *)&sun, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)));
}

static int do_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d) {
		perror("opendir /proc/self/fd");
		return 2;
	}
	struct dirent *de;
	const char *sep = "";
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || atoi(de->d_name) == dirfd(d))
			continue;
		printf("%s%s", sep, de->d_name);
		sep = " ";
	}
	printf("\n");
	closedir(d);
	return 0;
}

static int do_alloc(long mb)
{
	size_t n = (size_t)mb << 20;
	char *p = malloc(n);
	if (!p)
		return report("alloc", -1);
	for (size_t i = 0; i < n; i += 4096)
		p[i] = 1;
	return report("alloc", 0);
}

/* Forks n children that block on a pipe; the parent reports how many it
 * got and then releases them all. */
static int do_fork(long n)
{
	int pfd[2];
	if (pipe(pfd) < 0)
		return 2;
	long got = 0;
	int saved = 0;
	for (; got < n; got++) {
		pid_t pid = fork();
		if (pid < 0) {
			saved = errno;
			break;
		}
		if (pid == 0) {
			char c;
			close(pfd[1]);
			while (read(pfd[0], &c, 1) < 0 && errno == EINTR)
				;
			_exit(0);
		}
	}
	close(pfd[1]);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	printf("fork: %ld of %ld\n", got, n);
	if (got < n) {
		errno = saved;
		return report("fork", -1);
	}
	return report("fork", 0);
}

static int do_write(const char *path, long mb)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return report("write", -1);
	static char block[1 << 20];
	for (long i = 0; i < mb; i++) {
		size_t off = 0;
		while (off < sizeof block) {
			ssize_t k = write(fd, block + off, sizeof block - off);
			if (k < 0)
				return report("write", -1);
			off += (size_t)k;
		}
	}
	if (fsync(fd) < 0 || close(fd) < 0)
		return report("write", -1);
	return report("write", 0);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		return 2;
	const char *a = argv[1];
	if (!strcmp(a, "keyctl"))
		return report(a, syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1));
	if (!strcmp(a, "add_key"))
		return report(a, syscall(SYS_add_key, "user", "x", "y", 1, KEY_SPEC_SESSION_KEYRING));
	if (!strcmp(a, "bpf")) {
		union bpf_attr attr;
		memset(&attr, 0, sizeof attr);
		attr.map_type = BPF_MAP_TYPE_ARRAY;
		attr.key_size = 4;
		attr.value_size = 4;
		attr.max_entries = 1;
		return report(a, syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr));
	}
	if (!strcmp(a, "io_uring")) {
		struct io_uring_params p;
		memset(&p, 0, sizeof p);
		return report(a, syscall(SYS_io_uring_setup, 4, &p));
	}
	if (!strcmp(a, "unshare-user"))
		return report(a, unshare(CLONE_NEWUSER));
	if (!strcmp(a, "unshare-ns"))
		return report(a, unshare(CLONE_NEWNS));
	if (!strcmp(a, "clone-user")) {
		long r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
		if (r == 0)
			_exit(0);
		if (r > 0)
			waitpid((pid_t)r, NULL, 0);
		return report(a, r);
	}
	if (!strcmp(a, "mount"))
		return report(a, mount("tmpfs", "/tmp", "tmpfs", 0, NULL));
	if (!strcmp(a, "ptrace1"))
		return report(a, ptrace(PTRACE_ATTACH, 1, 0, 0));
	if (!strcmp(a, "write-proc1-exe"))
		return report(a, open("/proc/1/exe", O_WRONLY | O_CLOEXEC));
	if (!strcmp(a, "write-proc1-mem"))
		return report(a, open("/proc/1/mem", O_RDWR | O_CLOEXEC));
	if (!strcmp(a, "setuid0"))
		return report(a, setuid(0));
	if (!strcmp(a, "chroot"))
		return report(a, chroot("/tmp"));
	if (!strcmp(a, "tiocsti")) {
		char c = 'x';
		return report(a, ioctl(0, TIOCSTI, &c));
	}
	if (!strcmp(a, "tiocsti-hi")) {
		/* The kernel reads the command as 32 bits: high bits set must
		 * not get it past the filter. */
		char c = 'x';
		return report(a, syscall(SYS_ioctl, 0, (1UL << 32) | TIOCSTI, &c));
	}
	if (!strcmp(a, "userfaultfd"))
		return report(a, syscall(SYS_userfaultfd, O_CLOEXEC));
	if (!strcmp(a, "perf")) {
		struct perf_event_attr pe;
		memset(&pe, 0, sizeof pe);
		pe.type = PERF_TYPE_SOFTWARE;
		pe.size = sizeof pe;
		pe.config = PERF_COUNT_SW_CPU_CLOCK;
		return report(a, syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0));
	}
	if (!strcmp(a, "kexec"))
		return report(a, syscall(SYS_kexec_load, 0, 0, NULL, 0));
	if (!strcmp(a, "open-by-handle")) {
		struct file_handle *h = calloc(1, sizeof *h + 8);
		h->handle_bytes = 8;
		h->handle_type = 1; /* FILEID_INO32_GEN: inode 2, the root of most file systems */
		((uint32_t *)h->f_handle)[0] = 2;
		return report(a, open_by_handle_at(AT_FDCWD, h, O_RDONLY));
	}
	if (!strcmp(a, "connect") && argc == 4)
		return do_connect(argv[2], argv[3]);
	if (!strcmp(a, "connect-unix") && argc == 3)
		return do_connect_unix(argv[2]);
	if (!strcmp(a, "fds"))
		return do_fds();
	if (!strcmp(a, "alloc") && argc == 3)
		return do_alloc(atol(argv[2]));
	if (!strcmp(a, "fork") && argc == 3)
		return do_fork(atol(argv[2]));
	if (!strcmp(a, "write") && argc == 4)
		return do_write(argv[2], atol(argv[3]));
	fprintf(stderr, "probe: unknown action '%s'\n", a);
	return 2;
}
