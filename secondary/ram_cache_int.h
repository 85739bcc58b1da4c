/*
 * ram_cache_int.h - what ram_cache.c (blocks, staging, the commit) and
 * ram_cache_flush.c (writing the cache into the guest) share; nothing
 * outside the RAM cache includes it.
 */
#ifndef COLO_RAM_CACHE_INT_H
#define COLO_RAM_CACHE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "ram_cache.h"

/* Zeros, for pages that have no buffer to come from. */
#define FLUSH_ZEROS_BYTES	(64u << 10)
extern const uint8_t flush_zeros[FLUSH_ZEROS_BYTES];

/* Give back the staged pages of next block rb (lazily), before its bmap
 * is cleared. */
void stage_release(struct ram_cache *rc, struct ram_block *rb);

/* The commit in its steps (ram_cache_commit is all three): the plan,
 * allocating all (-ENOMEM: nothing changed); applying it, which cannot
 * fail (mark: the received pages are marked to flush); naming the image
 * checkpoint id, with its layout (taken) and break. */
int commit_prepare(struct ram_cache *rc, uint64_t id, struct commit_plan *pl);
void commit_apply(struct ram_cache *rc, struct commit_plan *pl, bool mark);
void commit_name(struct ram_cache *rc, uint64_t id, struct layout *layout,
		 uint64_t brk);
/* Undo a plan that is not applied. */
void commit_plan_free(struct commit_plan *pl);

#endif /* COLO_RAM_CACHE_INT_H */
