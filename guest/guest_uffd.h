/*
 * guest_uffd.h - the guest's half of the dirty log.
 *
 * A guest does one thing for dirty tracking: it creates a userfaultfd and
 * keeps it open at COLO_GUEST_UFFD_FD. The replicator takes it with
 * pidfd_getfd() and registers and write-protects the guest's memory from
 * outside; the guest never touches it again.
 */
#ifndef COLO_GUEST_UFFD_H
#define COLO_GUEST_UFFD_H

#include "guest_abi.h"

/* Create the userfaultfd at COLO_GUEST_UFFD_FD. 0 or a negative errno. */
int colo_guest_uffd_create(void);

#endif /* COLO_GUEST_UFFD_H */
