/*
 * ram_list.h - the guest's RAM blocks, kept in step with its mappings.
 *
 * The guest's RAM is all of its private memory that can be read
 * (proc_maps.h has the one definition): what it can write, and what it
 * wrote and then made read-only (relocations, generated code, sealed
 * tables), whose content must move to a replica too. Memory it cannot
 * read (PROT_NONE reservations) holds nothing a replica could see until
 * it is made readable, and then becomes a new block. The list is rebuilt
 * from /proc/PID/maps at every sync by address coverage, not line by
 * line: registering an area with userfaultfd splits and merges the
 * kernel's VMAs, so a block survives as long as the addresses it covers
 * are still RAM, and only addresses no block covers become new blocks. A
 * block that lost any of its addresses is dropped; whatever of it is
 * still RAM comes back as a new block, wholly dirty.
 */
#ifndef COLO_RAM_LIST_H
#define COLO_RAM_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ramblock.h"

/* One mapping of RAM (private, readable) as read from /proc/PID/maps. */
struct ram_area {
	uint64_t start;		/* first address */
	uint64_t end;		/* exclusive */
	bool file;		/* backed by a file (binary, library) */
	char name[64];		/* of its block: "libc.so.6", "[heap]", "anon" */
};

/* An address range the list must never track (the runtime's own state). */
struct ram_hole {
	uint64_t start;		/* first address, page aligned */
	uint64_t end;		/* exclusive, page aligned */
};

#define RAM_LIST_MAX_HOLES	4

struct ram_list {
	pid_t pid;			/* the tracked process */
	size_t page_size;		/* of every block */
	unsigned clear_bmap_shift;	/* for new blocks */

	struct ram_block **blocks;	/* sorted by start, disjoint */
	size_t nr_blocks;		/* blocks in use */
	size_t cap_blocks;		/* blocks allocated */

	struct ram_hole holes[RAM_LIST_MAX_HOLES];	/* never tracked */
	size_t nr_holes;		/* holes in use */

	/* Scratch reused by every refresh, so a sync does not allocate. */
	struct ram_area *areas;		/* the RAM of the last maps read */
	size_t nr_areas;		/* areas in use */
	size_t cap_areas;		/* areas allocated */
	char *maps_buf;			/* the text of the maps file */
	size_t cap_maps_buf;		/* its allocated bytes */

	uint64_t blocks_added;		/* blocks made since init */
	uint64_t blocks_removed;	/* blocks dropped since init */
};

int ram_list_init(struct ram_list *rl, pid_t pid, size_t page_size,
		  unsigned clear_bmap_shift);
void ram_list_destroy(struct ram_list *rl);

/* Never track [start, end) (page aligned). 0 or -ENOSPC. */
int ram_list_add_hole(struct ram_list *rl, uint64_t start, uint64_t end);

/*
 * Re-read the guest's mappings and update the blocks. New blocks have
 * tracked == false. 0, -ESRCH when the guest is gone, or -ENOMEM (all
 * logged). Memory the dirty log cannot register (hugetlb, say) still
 * becomes a block; the log keeps it wholly dirty and warns.
 */
int ram_list_refresh(struct ram_list *rl);

/*
 * The two halves of a refresh, exposed for unit tests.
 * ram_list_parse_maps() fills rl->areas from the text of a maps file,
 * keeping the RAM (proc_map_is_ram()) outside the holes; 0, or -EINVAL
 * (logged) for a line that is not a maps line.
 * ram_list_update() reconciles the blocks with rl->areas.
 */
int ram_list_parse_maps(struct ram_list *rl, const char *text);
int ram_list_update(struct ram_list *rl);

/*
 * Make the blocks exactly rl->areas (sorted, disjoint): a block survives
 * only if an area has its very start and end, and every other area
 * becomes a new block. The way a list follows another list's blocks
 * rather than a process's maps (the secondary's RAM cache follows the
 * primary's blocks). Not by coverage: the primary sends a block it
 * keeps only as it changes, so content may only be carried over where
 * the primary kept the block itself; where it made a new one, it sends
 * that one whole. 0 or -ENOMEM (logged).
 */
int ram_list_mirror(struct ram_list *rl);

/* Append an area for the next ram_list_update() or ram_list_mirror()
 * (after setting rl->nr_areas = 0). */
int ram_list_add_area(struct ram_list *rl, uint64_t start, uint64_t end,
		      bool file, const char *name);

/* Drop block i (its mapping vanished under us). */
void ram_list_remove(struct ram_list *rl, size_t i);

/* Total bytes of all blocks. */
uint64_t ram_list_bytes(const struct ram_list *rl);

/* Pages set in the bmaps of all blocks. O(RAM / 64). */
uint64_t ram_list_count_dirty(const struct ram_list *rl);

/* The block holding addr, or the first one after it, or NULL. */
struct ram_block *ram_list_block_at_or_after(const struct ram_list *rl,
					     uint64_t addr);

/*
 * Mark in into's bmaps (not clear_bmap) every page set in from's bmaps,
 * by address; pages outside into's blocks are passed over. The pages two
 * copies of a guest must agree on: dirty in one or in the other.
 */
void ram_list_fold_dirty(const struct ram_list *from, struct ram_list *into);
/* The same, and when lazy the clear_bmap bit of every chunk it marks. */
void ram_list_fold_marked(const struct ram_list *from, struct ram_list *into,
			  bool lazy);

#endif /* COLO_RAM_LIST_H */
