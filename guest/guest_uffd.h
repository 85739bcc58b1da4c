/*
 * guest_uffd.h - the guest's half of the dirty log.
 *
 * A guest does one thing for dirty tracking: it creates a userfaultfd and
 * keeps it open at a fixed descriptor number. The replicator takes it with
 * pidfd_getfd() and registers and write-protects the guest's memory from
 * outside; the guest never touches it again.
 */
#ifndef COLO_GUEST_UFFD_H
#define COLO_GUEST_UFFD_H

/* Where the guest keeps its userfaultfd; the replicator looks there. */
#define COLO_GUEST_UFFD_FD	1000

/* Create the userfaultfd at COLO_GUEST_UFFD_FD. 0 or a negative errno. */
int colo_guest_uffd_create(void);

#endif /* COLO_GUEST_UFFD_H */
