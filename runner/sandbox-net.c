/* sandbox-net: the sandbox's network, which is loopback only. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/macros.h"
#include "runner/sandbox-int.h"

int sbx_loopback_up(pid_t pid, struct err *err)
{
	int fd;
	if (pid == 0) {
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	} else {
		char p[64];
		snprintf(p, sizeof p, "/proc/%d/ns/net", (int)pid);
		_cleanup_close_ int ns = open(p, O_RDONLY | O_CLOEXEC);
		_cleanup_close_ int own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		if (ns < 0 || own < 0)
			return err_errno(err, "open the network namespaces");
		/* A socket belongs to the namespace it was made in: make it
		 * there, come back, then configure through it. */
		if (setns(ns, CLONE_NEWNET) < 0)
			return err_errno(err, "enter the sandbox's network namespace");
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		int e = errno;
		if (setns(own, CLONE_NEWNET) < 0) {
			/* Never expected; the caller must fail the run (airlock
			 * then exits without using the network). */
			if (fd >= 0)
				close(fd);
			return err_code(err, -ENOTRECOVERABLE, "cannot return to our network namespace");
		}
		errno = e;
	}
	_cleanup_close_ int s = fd;
	if (s < 0)
		return err_errno(err, "socket");
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return err_errno(err, "get flags of lo");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return err_errno(err, "bring up lo");
	return 0;
}
