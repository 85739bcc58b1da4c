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
	/* channel (primary): the first PAGES record queued in the pause of
	 * checkpoint COLO_FAULT_AT or a later one (between the COLO_FAULT_AT-
	 * th VMSTATE_SEND this process sent and its VMSTATE_SIZE) finds no
	 * memory in the output buffer, as evbuffer_add failing would: the
	 * link is dropped, -ENOMEM */
	FI_CHANNEL_SEND_FAIL,
	/* channel (secondary): the first PAGES record received in the pause
	 * of checkpoint COLO_FAULT_AT or a later one (counted by the
	 * VMSTATE_SENDs received) is handed on one byte short, its payload's
	 * last byte lost as in a record cut in the middle */
	FI_CHANNEL_RECV_SHORT,
	/* ram_save (primary): the first process_vm_readv of the guest in the
	 * pause of checkpoint COLO_FAULT_AT (armed at its final pass) fails
	 * with EIO */
	FI_GUEST_READ_FAIL,
	/* RAM cache (secondary): the first page staged in the pause of
	 * checkpoint COLO_FAULT_AT (armed by its PAGES) finds no memory for
	 * its block's stage buffer, as map_buffer failing would (whether
	 * the buffer is mapped yet or not: a block new in that checkpoint is
	 * rare, and the page lost is the same) */
	FI_STAGE_ENOMEM,
	/* daemon_record_hash (either side): the [debug] record_hashes file
	 * is on a full disk from checkpoint COLO_FAULT_AT on (ENOSPC) */
	FI_HASH_FILE_ENOSPC,
	/* secondary: its guest is killed (SIGKILL) while stopped for
	 * checkpoint COLO_FAULT_AT, at the start of that checkpoint's load */
	FI_GUEST_DIES_STOPPED,
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

/*
 * A fault whose count (a checkpoint's id) is known in one place and whose
 * failure happens in another: the first arms it (if it is the active
 * one), the second asks fault_fire() there, which is true once after the
 * arming, logged.
 */
void fault_arm(enum colo_fault f);
bool fault_fire_armed(void);

/* Costs a compare where no fault is active (a page's path calls it). */
static inline bool fault_fire(enum colo_fault f)
{
	return fault_injected(f) && fault_fire_armed();
}

#endif /* COLO_FAULT_H */
