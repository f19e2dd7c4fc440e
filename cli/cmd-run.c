/* airlock run: parse the options, call run_execute, exit with the
 * contract's status. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/xalloc.h"
#include "runner/run.h"

static const char usage[] =
	"usage: airlock run [--image IMAGE] [-w DIR] [-e K=V|-e K]... [--mount SRC:DST[:ro|:rw]]...\n"
	"                   [--timeout SEC] [--memory SIZE] [--pids N] [--cpus N] [--disk SIZE]\n"
	"                   [--network none] [-i] [-t] [--] [CMD [ARG...]]\n\n"
	"Runs CMD (default: the image's CMD) in a fresh sandbox: the image and a\n"
	"snapshot of the workspace are read-only lowers of overlays; nothing is\n"
	"written to the host. See the changes with 'airlock diff'.\n\n"
	"  --image IMAGE      image name or digest (default: default)\n"
	"  -w, --workspace DIR  the workspace, seen at /workspace (default: .)\n"
	"  -e K=V, -e K       set a variable; -e K copies it from the host (value\n"
	"                     not recorded). Nothing else comes from the host.\n"
	"  --mount SRC:DST[:ro|:rw]  bind mount; read-only unless :rw (an :rw mount\n"
	"                     bypasses review: airlock warns and records it)\n"
	"  --timeout SEC      SIGTERM then SIGKILL after SEC seconds; exit 124\n"
	"  --memory SIZE      memory limit (e.g. 512M, 2G; default 4G)\n"
	"  --pids N           process limit (default 4096)\n"
	"  --cpus N           CPU limit (e.g. 1.5)\n"
	"  --disk SIZE        what the run may write (default 4G); ENOSPC inside\n"
	"  --network none     loopback only (the default and only mode)\n"
	"  -i, --interactive  connect stdin\n"
	"  -t, --tty          a terminal (raw mode, window size forwarded)\n\n"
	"Exit status: the command's; 124 timeout; 125 airlock error; 126 not\n"
	"executable; 127 not found; 128+N killed by signal N. stderr shows\n"
	"'airlock: run <ID>' first.\n";

static int parse_size(const char *s, uint64_t *ret)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || v <= 0)
		return -EINVAL;
	uint64_t mult = 1;
	switch (*end) {
	case 'k': case 'K': mult = 1ull << 10; end++; break;
	case 'm': case 'M': mult = 1ull << 20; end++; break;
	case 'g': case 'G': mult = 1ull << 30; end++; break;
	case 't': case 'T': mult = 1ull << 40; end++; break;
	default: break;
	}
	if (*end == 'i' && mult > 1)
		end++;
	if ((*end == 'b' || *end == 'B') && mult >= 1)
		end++;
	if (*end)
		return -EINVAL;
	*ret = (uint64_t)(v * (double)mult);
	return 0;
}

static int parse_positive(const char *s, double scale, uint64_t *ret)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || v <= 0 || v > 1e12)
		return -EINVAL;
	*ret = (uint64_t)(v * scale);
	return *ret ? 0 : -EINVAL;
}

static void print_started(const char *id, void *ud)
{
	(void)ud;
	fprintf(stderr, "airlock: run %s\n", id);
	fflush(stderr);
}

int cmd_run(struct cli *cli, int argc, char **argv)
{
	enum { O_IMAGE = 256, O_MOUNT, O_TIMEOUT, O_MEMORY, O_PIDS, O_CPUS, O_DISK, O_NETWORK };
	static const struct option opts[] = {
		{"image", required_argument, NULL, O_IMAGE},
		{"workspace", required_argument, NULL, 'w'},
		{"env", required_argument, NULL, 'e'},
		{"mount", required_argument, NULL, O_MOUNT},
		{"timeout", required_argument, NULL, O_TIMEOUT},
		{"memory", required_argument, NULL, O_MEMORY},
		{"pids", required_argument, NULL, O_PIDS},
		{"cpus", required_argument, NULL, O_CPUS},
		{"disk", required_argument, NULL, O_DISK},
		{"network", required_argument, NULL, O_NETWORK},
		{"interactive", no_argument, NULL, 'i'},
		{"tty", no_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct run_request req = {.started = print_started};
	_cleanup_free_ char **env = xcalloc((size_t)argc + 1, sizeof *env);
	_cleanup_free_ struct sandbox_mount *mounts = xcalloc((size_t)argc + 1, sizeof *mounts);
	size_t nmounts = 0;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+w:e:ith", opts, NULL)) != -1) {
		switch (c) {
		case O_IMAGE:
			req.image = optarg;
			break;
		case 'w':
			req.workspace = optarg;
			break;
		case 'e':
			env[req.nenv++] = optarg;
			break;
		case O_MOUNT: {
			/* SRC:DST[:ro|:rw]; SRC and DST may not contain ':'. */
			char *spec = optarg, *dst = strchr(spec, ':');
			if (!dst || dst == spec || dst[1] != '/') {
				cli_errorf(cli, "--mount '%s': expected SRC:DST[:ro|:rw] with an absolute DST", spec);
				return EXIT_USAGE;
			}
			*dst++ = '\0';
			char *mode = strchr(dst, ':');
			bool rw = false;
			if (mode) {
				*mode++ = '\0';
				if (!strcmp(mode, "rw"))
					rw = true;
				else if (strcmp(mode, "ro")) {
					cli_errorf(cli, "--mount: mode '%s' is not ro or rw", mode);
					return EXIT_USAGE;
				}
			}
			if (rw)
				cli_warnf(cli, "--mount %s:%s:rw is writable: changes there bypass review", spec, dst);
			mounts[nmounts++] = (struct sandbox_mount){spec, dst, rw};
			break;
		}
		case O_TIMEOUT:
			if (parse_positive(optarg, 1000.0, &req.limits.timeout_ms) < 0) {
				cli_errorf(cli, "--timeout '%s': expected seconds > 0", optarg);
				return EXIT_USAGE;
			}
			break;
		case O_MEMORY:
		case O_DISK:
			if (parse_size(optarg, c == O_MEMORY ? &req.limits.memory_bytes : &req.limits.disk_bytes) < 0) {
				cli_errorf(cli, "--%s '%s': expected a size such as 512M or 2G",
					   c == O_MEMORY ? "memory" : "disk", optarg);
				return EXIT_USAGE;
			}
			break;
		case O_PIDS:
			if (parse_positive(optarg, 1.0, &req.limits.pids) < 0) {
				cli_errorf(cli, "--pids '%s': expected a number > 0", optarg);
				return EXIT_USAGE;
			}
			break;
		case O_CPUS:
			if (parse_positive(optarg, 1000.0, &req.limits.cpus_milli) < 0) {
				cli_errorf(cli, "--cpus '%s': expected a number > 0", optarg);
				return EXIT_USAGE;
			}
			break;
		case O_NETWORK:
			if (strcmp(optarg, "none")) {
				cli_errorf(cli, "--network '%s': only 'none' (loopback only) is supported", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'i':
			req.interactive = true;
			break;
		case 't':
			req.tty = true;
			break;
		default:
			return cli_usage(usage, c == 'h');
		}
	}
	req.argv = argv + optind;
	req.env = env;
	req.mounts = mounts;
	req.nmounts = nmounts;
	_cleanup_(store_freep) struct store *s = cli_open_store(cli);
	if (!s)
		return EXIT_AIRLOCK;
	struct err err = {0};
	struct run_outcome out;
	if (run_execute(s, &req, &out, &err) < 0) {
		cli_error(cli, &err);
		return EXIT_AIRLOCK;
	}
	if (out.message[0])
		cli_errorf(cli, "%s", out.message);
	return out.exit_code;
}
