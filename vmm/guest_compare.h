/*
 * guest_compare.h - compare two guests' memory, byte for byte.
 */
#ifndef COLO_GUEST_COMPARE_H
#define COLO_GUEST_COMPARE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ram_list.h"

struct guest_compare {
	bool layouts_same;		/* same RAM coverage and protections */
	uint64_t first_diff;		/* first address where they differ */
	uint64_t bytes;			/* compared */
	uint64_t bad_pages;		/* pages that differ, or b lacks */
};

/*
 * Compare guest b with guest a: their RAM layouts from /proc/PID/maps,
 * then every page of a's RAM blocks (ram_a) read from both. Meaningful
 * with both stopped. 0, or a negative errno when a cannot be read.
 */
int guest_compare(pid_t a, pid_t b, const struct ram_list *ram_a,
		  struct guest_compare *out);

/*
 * crc32 of all of a guest's RAM (private readable memory as its maps
 * say, the runtime's private mapping left out), in address order, and
 * how many bytes that was. The same number for two guests that are
 * copies of each other; meaningful with the guest stopped.
 */
int guest_memory_crc(pid_t pid, uint32_t *crc, uint64_t *bytes);

#endif /* COLO_GUEST_COMPARE_H */
