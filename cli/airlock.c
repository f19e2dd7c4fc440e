/* airlock: global options and dispatch to cli/cmd-<name>.c. */
#include <locale.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/macros.h"

#define AIRLOCK_VERSION "0.1.0"

struct command {
	const char *name;
	const char *help;
	int (*fn)(struct cli *cli, int argc, char **argv);
};

#ifdef AIRLOCK_LIGHT
static int exec_full(struct cli *cli, int argc, char **argv);
#define CLI_FN(n, heavy) ((heavy) ? exec_full : cmd_##n)
#else
#define CLI_FN(n, heavy) cmd_##n
#endif
#define CLI_ENTRY(n, h, heavy) {#n, h, CLI_FN(n, heavy)},
static const struct command commands[] = {CLI_COMMANDS(CLI_ENTRY)};
#undef CLI_ENTRY

#ifdef AIRLOCK_LIGHT
static char **saved_argv;

/* Heavy commands live in airlock-full, beside this binary (build tree) or
 * in ../libexec/airlock/ (installed). Same argv, same environment. */
static int exec_full(struct cli *cli, int argc, char **argv)
{
	(void)argc, (void)argv;
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0) {
		cli_errorf(cli, "cannot find airlock-full: readlink /proc/self/exe failed");
		return EXIT_AIRLOCK;
	}
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	*slash = '\0';
	char path[4200];
	const char *candidates[] = {"/airlock-full", "/../libexec/airlock/airlock-full"};
	for (size_t i = 0; i < ARRAY_SIZE(candidates); i++) {
		snprintf(path, sizeof path, "%s%s", self, candidates[i]);
		execv(path, saved_argv);
	}
	cli_errorf(cli, "'%s' needs airlock-full, which is not installed beside %s", cli->cmd, self);
	return EXIT_AIRLOCK;
}
#endif

static void print_usage(FILE *f)
{
	fprintf(f, "usage: airlock [--store DIR] COMMAND [OPTIONS]\n\n"
		   "Runs AI coding agents in throwaway sandboxes; nothing leaves without review.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-8s  %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\nGlobal options:\n"
		   "  --store DIR   the store (default: $AIRLOCK_STORE, $XDG_DATA_HOME/airlock,\n"
		   "                ~/.local/share/airlock; /var/lib/airlock for root)\n"
		   "  --version     print the version\n"
		   "  -h, --help    this text; 'airlock COMMAND --help' for a command\n");
}

void cli_error(const struct cli *cli, const struct err *err)
{
	fprintf(stderr, "airlock: %s: %s\n", cli->cmd, err->msg[0] ? err->msg : "failed");
}

void cli_errorf(const struct cli *cli, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "airlock: %s: ", cli->cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_warnf(const struct cli *cli, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "airlock: %s: warning: ", cli->cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

struct store *cli_open_store(const struct cli *cli)
{
	struct err err = {0};
	_cleanup_free_ char *path = store_default_path(cli->store_path);
	struct store *s = NULL;
	if (!path) {
		cli_errorf(cli, "no store: HOME is not set and /etc/passwd has no home for uid %u "
				"(set HOME or AIRLOCK_STORE, or use --store)",
			   (unsigned)geteuid());
		return NULL;
	}
	if (store_open(path, STORE_CREATE, &s, &err) < 0) {
		cli_error(cli, &err);
		return NULL;
	}
	return s;
}

bool cli_is_help(const char *arg)
{
	return !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

int cli_json_args(const char *usage, int argc, char **argv, size_t max_args, bool *json,
		  const char **ret_arg)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	int c;
	*json = false;
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c != 'j')
			return cli_usage(usage, c == 'h');
		*json = true;
	}
	if ((size_t)(argc - optind) > max_args)
		return cli_usage(usage, false);
	*ret_arg = optind < argc ? argv[optind] : NULL;
	return -1;
}

int cli_remove_each(struct cli *cli, const char *usage, int argc, char **argv,
		    int (*fn)(struct store *s, const char *name, struct err *err))
{
	if (argc < 2)
		return cli_usage(usage, false);
	for (int i = 1; i < argc; i++)
		if (cli_is_help(argv[i]))
			return cli_usage(usage, true);
	_cleanup_(store_freep) struct store *s = cli_open_store(cli);
	if (!s)
		return EXIT_AIRLOCK;
	int status = EXIT_OK;
	for (int i = 1; i < argc; i++) {
		struct err err = {0};
		if (fn(s, argv[i], &err) < 0) {
			cli_error(cli, &err);
			status = EXIT_FAIL;
		} else {
			printf("removed %s\n", argv[i]);
		}
	}
	return status;
}

int cli_usage(const char *text, bool asked)
{
	fputs(text, asked ? stdout : stderr);
	return asked ? EXIT_OK : EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct cli cli = {.cmd = "airlock"};
	int i = 1;
#ifdef AIRLOCK_LIGHT
	saved_argv = argv;
#endif
	/* Files airlock creates are private unless a command says otherwise;
	 * tree perms are set explicitly, so this does not change digests. */
	umask(022);
#ifndef AIRLOCK_LIGHT
	/* libarchive converts names through the locale: make it UTF-8 so
	 * archive names in UTF-8 (Debian's, OCI's) pass unchanged. (The light
	 * binary has nothing locale-dependent, and loading it costs every run.) */
	setlocale(LC_CTYPE, "C.UTF-8");
#endif
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--store") && i + 1 < argc)
			cli.store_path = argv[++i];
		else if (!strncmp(argv[i], "--store=", 8))
			cli.store_path = argv[i] + 8;
		else if (cli_is_help(argv[i])) {
			print_usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--version")) {
			printf("airlock %s\n", AIRLOCK_VERSION);
			return EXIT_OK;
		} else {
			cli_errorf(&cli, "unknown option '%s' (see 'airlock --help')", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		print_usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[i], "help")) {
		print_usage(stdout);
		return EXIT_OK;
	}
	for (size_t c = 0; c < ARRAY_SIZE(commands); c++) {
		if (!strcmp(argv[i], commands[c].name)) {
			cli.cmd = commands[c].name;
			return commands[c].fn(&cli, argc - i, argv + i);
		}
	}
	cli_errorf(&cli, "unknown command '%s' (see 'airlock --help')", argv[i]);
	return EXIT_USAGE;
}
