/*
 * guest_uffd.c - create the guest's userfaultfd for the replicator.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guest_uffd.h"

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

int colo_guest_uffd_create(void)
{
	int fd, ret;

	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	/* Unprivileged and vm.unprivileged_userfaultfd = 0: user-mode faults
	 * only, which async write-protect does not need anyway. */
	if (fd < 0 && errno == EPERM)
		fd = (int)syscall(SYS_userfaultfd,
				  O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd < 0)
		return -errno;
	if (fd == COLO_GUEST_UFFD_FD)
		return 0;
	ret = dup3(fd, COLO_GUEST_UFFD_FD, O_CLOEXEC);
	ret = ret < 0 ? -errno : 0;
	close(fd);
	return ret;
}
