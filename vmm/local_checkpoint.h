/*
 * local_checkpoint.h - make guest B an exact copy of guest A, on one host.
 *
 * The secondary's checkpoint without the network in between, and the
 * proof that a running guest can be carried into another one: both
 * guests stopped at their pause points, B's layout mirrored from A's,
 * the pages dirty in A or in B copied from A into B (with A's dirty log
 * cleared lazily, chunk by chunk), B's log re-armed, then A continues
 * with its context and its clock, and B with A's context and A's clock.
 * The first checkpoint copies all of A; later ones the dirty pages only.
 */
#ifndef COLO_LOCAL_CHECKPOINT_H
#define COLO_LOCAL_CHECKPOINT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "guest_compare.h"
#include "dirty_log.h"
#include "guest.h"
#include "guest_writer.h"
#include "page_sink.h"
#include "ram_save.h"

struct local_checkpoint;

/* Called with both guests stopped, after the copy, before either resumes. */
typedef int (*local_checkpoint_hook)(struct local_checkpoint *lc,
				     void *opaque);

struct local_checkpoint_params {
	enum dirty_log_kind kind;
	enum dirty_log_clear_mode clear_mode;
	unsigned clear_bmap_shift;
	int stop_timeout_ms;		/* bound on reaching a pause point */
};

/* Figures of the last checkpoint (times in ns) and running totals. */
struct local_checkpoint_stats {
	uint64_t checkpoints;
	uint64_t pause_ns;		/* A asked to stop .. A resumed */
	uint64_t stop_ns;		/* both stopped */
	uint64_t mirror_ns;		/* B's layout made A's */
	uint64_t sync_ns;		/* both dirty logs read, B's folded in */
	uint64_t copy_ns;		/* A's pages into B (lazy clears included) */
	uint64_t resume_ns;		/* A continued */
	uint64_t rearm_ns;		/* B's log re-armed, B continued */
	uint64_t pages_dirty_a;		/* pages A wrote since the last one */
	uint64_t pages_dirty_b;		/* pages B wrote */
	uint64_t pages_copied;
	unsigned layout_commands;
};

/* Writes A's pages into B, a batch at a time. */
struct b_sink {
	struct page_sink sink;
	struct guest_writer w;
};

struct local_checkpoint {
	struct guest *a, *b;		/* the source and its replica */
	struct dirty_log *dla, *dlb;	/* their dirty logs */
	struct ram_save rs;		/* reads A */
	struct b_sink to_b;		/* writes B */
	bool copied_once;		/* B has had a whole copy of A */
	bool b_lost;			/* a failed checkpoint changed B */
	/* A's guest clock at this checkpoint's pause: B resumes at it, so
	 * the replica's clock is its source's, whatever the host's says */
	uint64_t a_clock_ms;
	struct local_checkpoint_params params;
	struct local_checkpoint_stats stats;
	local_checkpoint_hook hook;	/* NULL, or called before resuming */
	void *hook_opaque;		/* handed to hook */
};

/* Compare B with A (guest_compare over A's RAM blocks), from a hook. */
int local_checkpoint_compare(struct local_checkpoint *lc,
			     struct guest_compare *out);

/* Open the dirty logs of both guests (running or not). */
int local_checkpoint_init(struct local_checkpoint *lc, struct guest *a,
			  struct guest *b,
			  const struct local_checkpoint_params *p);
void local_checkpoint_destroy(struct local_checkpoint *lc);

/*
 * One checkpoint. On failure A always runs on. B runs on too if nothing
 * of it was changed yet (-ETIMEDOUT: a guest did not reach its pause point
 * in time; -EINVAL: the layouts are not compatible; both checked before
 * any change). A failure after B was changed leaves B paused and b_lost
 * set; every later call returns -ESTALE until the caller discards B.
 */
int local_checkpoint_run(struct local_checkpoint *lc);

#endif /* COLO_LOCAL_CHECKPOINT_H */
