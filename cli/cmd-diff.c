/* airlock diff [RUN]: a run's workspace changes as a git patch. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "runner/run.h"
#include "snapshot/changeset.h"
#include "snapshot/patch.h"

static const char usage[] =
	"usage: airlock diff [RUN] [--stat | --name-status [--json]] [--color=auto|always|never]\n"
	"                    [--all] [--safe] [--no-pager]\n\n"
	"Shows what RUN (default: last) changed in its workspace as a git patch that\n"
	"'git apply' accepts. On a terminal the output goes through $PAGER (less -R)\n"
	"and control characters from the agent's names and contents are shown\n"
	"escaped, never sent raw.\n\n"
	"  --stat            a diffstat; risky changes are marked [!git] [!exec] ...\n"
	"  --name-status     status letter and path per change (--json: one document)\n"
	"  --color=WHEN      auto (default), always or never\n"
	"  --all             include files ignored by the workspace's .gitignore\n"
	"  --safe            escape control characters even when not on a terminal\n"
	"  --no-pager        do not page\n";

/* Starts $PAGER (default less -R) reading a pipe; returns the write end. */
static int start_pager(pid_t *ret_pid)
{
	const char *pager = getenv("PAGER");
	if (!pager || !*pager)
		pager = "less";
	if (!strcmp(pager, "cat"))
		return -1;
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fds[0], 0);
		/* No shell: $PAGER is split on spaces into an argv. */
		char *copy = strdup(pager), *argv[16], *save = NULL;
		int n = 0;
		for (char *w = strtok_r(copy, " \t", &save); w && n < 15; w = strtok_r(NULL, " \t", &save))
			argv[n++] = w;
		argv[n] = NULL;
		if (!getenv("LESS"))
			setenv("LESS", "FRX", 1);
		if (!strcmp(argv[0], "less") && n == 1)
			argv[n++] = (char *)"-R", argv[n] = NULL;
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[0]);
	*ret_pid = pid;
	return fds[1];
}

int cmd_diff(struct cli *cli, int argc, char **argv)
{
	enum { O_STAT = 256, O_NAME_STATUS, O_JSON, O_COLOR, O_ALL, O_SAFE, O_NO_PAGER };
	static const struct option opts[] = {
		{"stat", no_argument, NULL, O_STAT},
		{"name-status", no_argument, NULL, O_NAME_STATUS},
		{"json", no_argument, NULL, O_JSON},
		{"color", required_argument, NULL, O_COLOR},
		{"all", no_argument, NULL, O_ALL},
		{"safe", no_argument, NULL, O_SAFE},
		{"no-pager", no_argument, NULL, O_NO_PAGER},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	enum patch_format fmt = PATCH_FORMAT_PATCH;
	bool json = false, safe = false, no_pager = false;
	const char *color = "auto";
	struct changeset_opts copts = {0};
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_STAT: fmt = PATCH_FORMAT_STAT; break;
		case O_NAME_STATUS: fmt = PATCH_FORMAT_NAME_STATUS; break;
		case O_JSON: json = true; break;
		case O_COLOR: color = optarg; break;
		case O_ALL: copts.include_ignored = true; break;
		case O_SAFE: safe = true; break;
		case O_NO_PAGER: no_pager = true; break;
		default: return cli_usage(usage, c == 'h');
		}
	}
	if (argc - optind > 1)
		return cli_usage(usage, false);
	if (json) {
		if (fmt != PATCH_FORMAT_NAME_STATUS && fmt != PATCH_FORMAT_PATCH) {
			cli_errorf(cli, "--json goes with --name-status");
			return EXIT_USAGE;
		}
		fmt = PATCH_FORMAT_NAME_STATUS_JSON;
	}
	const char *ref = optind < argc ? argv[optind] : "last";
	_cleanup_(store_freep) struct store *s = cli_open_store(cli);
	if (!s)
		return EXIT_AIRLOCK;
	struct err err = {0};
	struct changeset *cs = NULL;
	char id[RUN_ID_MAX];
	if (run_changeset(s, ref, &copts, id, &cs, &err) < 0) {
		cli_error(cli, &err);
		return EXIT_FAIL;
	}
	struct patch_opts po = {.format = fmt};
	if (patch_opts_for_fd(&po, color, safe, STDOUT_FILENO, &err) < 0) {
		changeset_free(cs);
		cli_error(cli, &err);
		return EXIT_USAGE;
	}
	pid_t pager = -1;
	int out = STDOUT_FILENO;
	if (!no_pager && fmt == PATCH_FORMAT_PATCH && isatty(STDOUT_FILENO)) {
		int p = start_pager(&pager);
		if (p >= 0)
			out = p;
	}
	signal(SIGPIPE, SIG_IGN);
	int r = patch_render(s, cs, &po, out, &err);
	changeset_free(cs);
	if (out != STDOUT_FILENO) {
		close(out);
		waitpid(pager, NULL, 0);
	}
	if (r < 0 && r != -EPIPE) {
		cli_error(cli, &err);
		return EXIT_AIRLOCK;
	}
	return EXIT_OK;
}
