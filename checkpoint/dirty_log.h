/*
 * dirty_log.h - which guest pages were written, with chunked lazy clearing.
 *
 * Shaped like KVM's dirty log in manual-protect mode, per RAM block:
 *
 *   sync   reads which pages were written since they were last cleared,
 *          ORs them into the block's bmap and sets the clear_bmap bit of
 *          every chunk that holds any of them. It re-arms nothing.
 *   clear  re-arms write tracking for the pages of one chunk that bmap
 *          holds (never for a page no bitmap recorded). This is the
 *          expensive call; ram_save makes it lazily, chunk by chunk, the
 *          first time a page of the chunk is about to be read for sending.
 *
 * Timeline of one page under the lazy rule (QEMU's "migration: Split
 * log_clear() into smaller chunks"):
 *
 *   guest:   write A            write B        write C
 *   tracker:          sync                clear      read     (next sync)
 *                     bmap+=p             chunk(p)   page p   bmap+=p (C)
 *
 *   B lands between sync and clear: the read after the clear sees it.
 *   C lands after the clear: the re-armed log records it for the next sync.
 *   A clear after the read would re-arm p after C and lose it.
 *
 * Backends (a table of operations, picked at open):
 *   uffd-wp  userfaultfd write-protect in async mode + PAGEMAP_SCAN
 *            (Linux 6.7+). The guest only creates the userfaultfd; the
 *            tracker takes it with pidfd_getfd() and does the rest.
 *   full     every page is always dirty (tests, last resort).
 *
 * Monolithic mode (benchmark baseline only) re-arms each whole block at
 * every sync with one get-and-clear, as KVM did before manual protect.
 */
#ifndef COLO_DIRTY_LOG_H
#define COLO_DIRTY_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ram_list.h"

enum dirty_log_kind {
	DIRTY_LOG_AUTO = 0,	/* uffd-wp where the kernel has it, else full */
	DIRTY_LOG_UFFD_WP,
	DIRTY_LOG_FULL,
};

enum dirty_log_clear_mode {
	DIRTY_LOG_LAZY = 0,	/* clear_bmap, chunk by chunk, before reads */
	DIRTY_LOG_MONOLITHIC,	/* get-and-clear whole blocks at every sync */
};

struct dirty_log_params {
	enum dirty_log_kind kind;
	enum dirty_log_clear_mode clear_mode;
	unsigned clear_bmap_shift;	/* clamped to [MIN, MAX] */
	int guest_uffd;			/* the guest's userfaultfd number in the
					 * guest's fd table; -1 for none */
	/* Take file mappings whole when first seen, not only the pages the
	 * guest wrote: for a copy end that has nothing of them yet (the
	 * secondary's RAM cache), unlike a guest of the same binary. */
	bool whole_file_blocks;
};

/* Counters since open; times are CLOCK_MONOTONIC nanoseconds. */
struct dirty_log_stats {
	uint64_t syncs;
	uint64_t sync_ns;		/* reading the log (and the layout) */
	uint64_t clear_ns;		/* re-arming: lazy chunks, or the
					 * monolithic get-and-clear */
	uint64_t chunks_cleared;	/* lazy chunk clears */
	uint64_t clear_calls;		/* kernel calls made by clears */
	uint64_t pages_synced;		/* pages reported written by syncs */
};

struct dirty_log_ops;

struct dirty_log {
	const struct dirty_log_ops *ops;
	pid_t pid;
	enum dirty_log_clear_mode clear_mode;
	bool whole_file_blocks;
	struct ram_list ram;		/* the tracked RAM blocks */
	void *priv;			/* backend state */
	struct dirty_log_stats stats;
};

/* Name of a kind as written in colo.conf ("auto", "uffd-wp", "full"). */
const char *dirty_log_kind_name(enum dirty_log_kind kind);
int dirty_log_kind_parse(const char *name, enum dirty_log_kind *kind);

/* Name of a clear mode as written in colo.conf ("lazy", "monolithic"). */
const char *dirty_log_clear_mode_name(enum dirty_log_clear_mode mode);
int dirty_log_clear_mode_parse(const char *name,
			       enum dirty_log_clear_mode *mode);

/*
 * Which backend would open for kind: resolves AUTO by probing the kernel
 * (and warns, naming the missing feature, when it falls back to full).
 * 0 or a negative errno when the asked-for backend cannot work here.
 */
int dirty_log_probe(enum dirty_log_kind kind, enum dirty_log_kind *chosen);

/* Start tracking process pid. Nothing is recorded until the first sync. */
int dirty_log_open(struct dirty_log **out, pid_t pid,
		   const struct dirty_log_params *params);
void dirty_log_close(struct dirty_log *dl);
const char *dirty_log_backend(const struct dirty_log *dl);

/*
 * Refresh the RAM blocks from the guest's mappings (new blocks are
 * registered and marked wholly dirty), then read the log of every block
 * into its bmap. Lazy mode sets clear_bmap bits and re-arms nothing;
 * monolithic mode re-arms every block here.
 */
int dirty_log_sync(struct dirty_log *dl);

/*
 * Re-arm write tracking for chunk c of rb: exactly the pages that rb->bmap
 * holds in that chunk. Call before any page of the chunk is read.
 */
int dirty_log_clear_chunk(struct dirty_log *dl, struct ram_block *rb,
			  size_t chunk);

/*
 * Re-arm every page the bmaps hold and forget them, without sending.
 * Only for a stopped process whose recorded pages were just overwritten
 * (the target of a local checkpoint): with it stopped, nothing it writes
 * can slip between the sync and this.
 */
int dirty_log_forget(struct dirty_log *dl);

/*
 * The same after writing into the stopped process the pages set in
 * written's bmaps (by address) since the last sync, without walking it
 * again: lazy, they are recorded as a sync would (bmap, their chunks to
 * re-arm) and forgotten with the rest; monolithic, the process is synced
 * (the walk re-arms each block) and forgotten. Nothing but those writes
 * may have touched it since the sync.
 */
int dirty_log_forget_written(struct dirty_log *dl,
			     const struct ram_list *written);

/*
 * Take every page of every block as written, as for a block seen the
 * first time: the next passes send all of the guest (to a new secondary,
 * whose RAM cache is empty). Nothing is re-armed here.
 */
void dirty_log_mark_all(struct dirty_log *dl);

/* Re-arm pages [first, first + npages) of rb (recorded pages only). */
int dirty_log_clear_pages(struct dirty_log *dl, struct ram_block *rb,
			  size_t first, size_t npages);

/*
 * Change the clear mode and chunk size of a running log. Chunks holding
 * pages still pending in bmap are marked for clearing under the new size,
 * since their clear state under the old one is not carried over (a spare
 * clear costs time, a missing one would lose writes).
 */
int dirty_log_set_clear(struct dirty_log *dl, enum dirty_log_clear_mode mode,
			unsigned clear_bmap_shift);

/* colo_now_ns() of clock.h under its former name, for callers not yet
 * moved to it (ram_save.c, vmm/local_checkpoint.c). */
uint64_t dirty_log_now_ns(void);

#endif /* COLO_DIRTY_LOG_H */
