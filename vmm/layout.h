/*
 * layout.h - a guest's address layout: every mapping, and the address
 * facts the kernel keeps about the process (where argv, the environment,
 * code, data and the stack start).
 *
 * Two guests can be copies of each other only if everything that is not
 * their anonymous RAM is the same: the binary and libraries at the same
 * addresses, the same special mappings, argv and environment of the same
 * size at the same place. Anonymous RAM (private anonymous memory, the
 * heap, the stack) may differ and is mirrored from one to the other before
 * a copy (layout_mirror.c). What is RAM is defined once, in proc_maps.h.
 */
#ifndef COLO_LAYOUT_H
#define COLO_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "guest.h"

enum layout_kind {
	LAYOUT_ANON,		/* private anonymous memory */
	LAYOUT_HEAP,		/* [heap]: follows brk */
	LAYOUT_STACK,		/* [stack]: grows down on access */
	LAYOUT_FILE,		/* a file: binary, libraries */
	LAYOUT_SPECIAL,		/* [vdso], [vvar], [vsyscall], shared memory */
	LAYOUT_RUNTIME,		/* the runtime's private mapping: never compared */
};

struct layout_map {
	uint64_t start;		/* first address */
	uint64_t end;		/* past the last address */
	uint64_t offset;	/* in the file */
	int prot;		/* PROT_* */
	bool shared;		/* MAP_SHARED, else private */
	enum layout_kind kind;	/* what it is to a colo guest */
	char path[512];		/* as /proc/PID/maps says; "" if anonymous */
};

/* Fields of /proc/PID/stat that place code, data, argv, env, stack. */
enum layout_stat_field {
	LS_START_CODE, LS_END_CODE, LS_START_STACK, LS_START_DATA,
	LS_END_DATA, LS_START_BRK, LS_ARG_START, LS_ARG_END, LS_ENV_START,
	LS_ENV_END, LS_NR
};

struct layout {
	struct layout_map *maps;	/* sorted, as /proc/PID/maps lists them */
	size_t nr;			/* maps in use */
	size_t cap;			/* maps allocated */
	uint64_t stat[LS_NR];		/* from /proc/PID/stat, by field */
};

/* Read the layout of process pid. 0, or a negative errno (logged). */
int layout_read(pid_t pid, struct layout *l);
void layout_free(struct layout *l);

/*
 * Can b become a copy of a? Compares everything that is not RAM. 0, or
 * -EINVAL with the first difference logged and what to do about it.
 */
int layout_compatible(const char *name_a, const struct layout *a,
		      const char *name_b, const struct layout *b);

/*
 * Make the RAM layout of paused guest b that of a (layout la, program
 * break brk_a): brk, stack depth, anonymous mappings and protections, by
 * commands to b's pause loop; then check that it took. Adds the commands
 * sent to *commands. In layout_mirror.c.
 */
int layout_mirror(const struct layout *la, uint64_t brk_a, struct guest *b,
		  unsigned *commands);

/* What layout_mirror_counted sent: its commands, and of them the ones
 * that took memory away from b (an unmapped range, the break moved down
 * past a page): what was written into b there is gone. */
struct layout_mirror_count {
	unsigned commands;
	unsigned unmapped;
};
/* The base page size a break is rounded to. */
#define LAYOUT_PAGE	4096u
int layout_mirror_counted(const struct layout *la, uint64_t brk_a,
			  struct guest *b, struct layout_mirror_count *n);

/* RAM as the dirty log sees it (proc_map_is_ram()), the runtime's own
 * mapping excepted. */
bool layout_is_ram(const struct layout_map *m);

/* The mapping of l that covers addr, or NULL. O(log nr). */
const struct layout_map *layout_covering(const struct layout *l,
					 uint64_t addr);

/* Every start and end of both layouts, sorted and unique, in a malloc'ed
 * array of *n (NULL when out of memory): the segments to walk over both. */
uint64_t *layout_boundaries(const struct layout *a, const struct layout *b,
			   size_t *n);

/* "start-end rwx path" of m ("nothing" for NULL), for messages. */
void layout_describe(const struct layout_map *m, char *buf, size_t len);

/*
 * The layout on the wire (COLO_LAYOUT record), with the program break.
 * encode: *out is malloc'ed. decode: every field checked; -EPROTO with the
 * reason logged when malformed.
 */
int layout_encode(const struct layout *l, uint64_t brk, uint8_t **out,
		  size_t *len);
int layout_decode(const uint8_t *p, size_t len, struct layout *l,
		  uint64_t *brk);

/* crc32 of the guest's files (binary and libraries): each distinct path
 * of a file mapping, in order, then its content. For the handshake. */
int layout_files_crc(const struct layout *l, uint32_t *crc);

/* Do a and b cover the same addresses with the same kinds and protections? */
bool layout_same_ram(const struct layout *a, const struct layout *b,
		     uint64_t *first_diff);

#endif /* COLO_LAYOUT_H */
