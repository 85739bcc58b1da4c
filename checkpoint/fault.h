/*
 * fault.h - fault-injection points (CRIU's FI_* idea).
 *
 * A fault makes one named code path do the wrong thing on purpose, so a
 * test can show that it detects exactly that mistake. Faults are chosen by
 * tests with fault_inject(), or for a whole daemon with the environment
 * variable COLO_FAULT=<name>. Production never sets one.
 */
#ifndef COLO_FAULT_H
#define COLO_FAULT_H

#include <stdbool.h>

enum colo_fault {
	FI_NONE = 0,
	/* ram_save: read a page, then clear its chunk (the order QEMU forbids) */
	FI_CLEAR_AFTER_READ,
	/* dirty log: a chunk clear re-protects the whole chunk, including
	 * pages written since the sync that no bitmap recorded */
	FI_CLEAR_UNRECORDED,
	/* dirty_log_probe: act as if the kernel lacked uffd-wp */
	FI_NO_UFFD_WP,
	/* local checkpoint: do not copy the pages B itself dirtied */
	FI_LOCAL_NO_FOLD,
	/* primary: die (SIGKILL) in checkpoint COLO_FAULT_AT, before its
	 * VMSTATE_SIZE, with its pages on their way */
	FI_PRIMARY_DIE_IN_CHECKPOINT,
	/* primary: die (SIGKILL) in checkpoint COLO_FAULT_AT right after its
	 * VMSTATE_SIZE went out, before VMSTATE_LOADED comes back */
	FI_PRIMARY_DIE_AFTER_SIZE,
	/* secondary: reading its guest's /proc maps fails with EIO once, in
	 * the load of checkpoint COLO_FAULT_AT */
	FI_LOAD_MAPS_EIO,
	/* guest writer: the COLO_FAULT_AT-th flush fails with EIO after
	 * writing half of its batch */
	FI_GUEST_WRITER_EIO,
	/* RAM cache: the commit of checkpoint COLO_FAULT_AT finds no memory */
	FI_CACHE_COMMIT_ENOMEM,
	/* guest channel: the COLO_FAULT_AT-th CONTINUE gets its reply only
	 * after the daemon's command timeout */
	FI_GUEST_LATE_REPLY,
	FI_MAX,
};

/* The process has one active fault at most. */
extern enum colo_fault fault_active;

static inline bool fault_injected(enum colo_fault f)
{
	return fault_active == f;
}

void fault_inject(enum colo_fault f);
const char *fault_name(enum colo_fault f);
/* Read COLO_FAULT from the environment; -EINVAL (logged) if unknown. */
int fault_init_from_env(void);

/* Where a counted fault strikes: COLO_FAULT_AT, default 3. */
unsigned long fault_at(void);

#endif /* COLO_FAULT_H */
