/* airlock doctor: which protections this machine provides, and why not. */
#include <stdio.h>

#include "cli/cli.h"
#include "runner/sandbox.h"

static const char usage[] = "usage: airlock doctor\n\n"
			    "Probes user, mount, pid, net, ipc, uts and cgroup namespaces, overlayfs\n"
			    "in a user namespace, seccomp and cgroup controllers, and says what is\n"
			    "missing and why. Exit 1 if a protection 'airlock run' needs is missing.\n";

int cmd_doctor(struct cli *cli, int argc, char **argv)
{
	if (argc > 1)
		return cli_usage(usage, cli_is_help(argv[1]));
	struct err err = {0};
	struct buf report = BUF_INIT;
	unsigned prot = 0;
	int r = sandbox_doctor(&report, &prot, &err);
	if (report.data)
		fputs(report.data, stdout);
	buf_release(&report);
	if (r < 0) {
		cli_error(cli, &err);
		return EXIT_AIRLOCK;
	}
	const unsigned required = SANDBOX_P_USERNS | SANDBOX_P_MNTNS | SANDBOX_P_PIDNS | SANDBOX_P_NETNS |
				  SANDBOX_P_IPCNS | SANDBOX_P_UTSNS | SANDBOX_P_SECCOMP | SANDBOX_P_OVERLAY;
	return (prot & required) == required ? EXIT_OK : EXIT_FAIL;
}
