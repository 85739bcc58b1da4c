/*
 * dirty_log_int.h - the table every dirty-log backend fills in.
 *
 * Private to checkpoint/dirty_log*.c. A backend records writes; the rules
 * about when to clear and what (clear_bmap, bmap runs) live in dirty_log.c
 * and ram_save.c, so every backend obeys them the same way.
 */
#ifndef COLO_DIRTY_LOG_INT_H
#define COLO_DIRTY_LOG_INT_H

#include "dirty_log.h"

struct dirty_log_ops {
	const char *name;
	enum dirty_log_kind kind;
	/* 0 when usable on this kernel; else -errno and *missing names the
	 * missing feature. Logs nothing: the caller decides the level. */
	int (*probe)(const char **missing);
	/* Take hold of the guest (its userfaultfd, its pagemap). */
	int (*attach)(struct dirty_log *dl, int guest_uffd);
	void (*detach)(struct dirty_log *dl);
	/* Start recording writes to a new block. -ENOMEM when its range is
	 * no longer mapped (the guest changed its layout meanwhile). */
	int (*track)(struct dirty_log *dl, struct ram_block *rb);
	/* Just tracked: mark what a copy must take of it (all of it, or for a
	 * file mapping the pages that are no longer the file's). */
	int (*mark_new)(struct dirty_log *dl, struct ram_block *rb, bool lazy);
	/* Mark pages written since their last clear with
	 * ram_block_mark_dirty(); re-arm nothing. -EPERM when part of the
	 * block is no longer tracked (replaced by a new mapping). */
	int (*sync)(struct dirty_log *dl, struct ram_block *rb, bool lazy);
	/* Get-and-clear: mark and re-arm the whole block in one go. */
	int (*sync_clear)(struct dirty_log *dl, struct ram_block *rb);
	/* Re-arm pages [first, first + npages) of rb: all of them. */
	int (*clear)(struct dirty_log *dl, struct ram_block *rb, size_t first,
		     size_t npages);
	/* Re-arm the written pages among [first, first + npages) and mark
	 * them in bmap (not clear_bmap), in one atomic walk. */
	int (*clear_scan)(struct dirty_log *dl, struct ram_block *rb,
			  size_t first, size_t npages);
};

extern const struct dirty_log_ops dirty_log_uffd_ops;
extern const struct dirty_log_ops dirty_log_full_ops;

#endif /* COLO_DIRTY_LOG_INT_H */
