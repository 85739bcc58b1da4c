/*
 * proc_maps.h - one line of /proc/PID/maps, and which mappings are RAM.
 *
 * The one parser of the maps file and the one definition of RAM, for
 * ram_list.c (the blocks the dirty log tracks) and vmm/layout.c (the
 * layouts two guests compare and mirror), so that both always agree on
 * what is RAM: all of the process's own private memory that can be read.
 * That is what it can write, and what it wrote and then made read-only
 * (relocations, generated code, sealed tables), whose content a replica
 * needs too. Not RAM: shared memory (the other side of it is outside the
 * process), what cannot be read (PROT_NONE reservations hold nothing yet)
 * and what the kernel sets up ([vdso], [vvar], [vsyscall], ...: the same
 * in every process, and not the process's to write).
 */
#ifndef COLO_PROC_MAPS_H
#define COLO_PROC_MAPS_H

#include <stdbool.h>
#include <stdint.h>

/* Bytes of a maps line with any path: the fields take under 100, then a
 * path of up to PATH_MAX. */
#define PROC_MAPS_LINE_MAX	(4096 + 128)

/* What a mapping is, from its path and whether it is shared. */
enum proc_map_kind {
	PROC_MAP_ANON,		/* private anonymous memory ([anon:NAME] too) */
	PROC_MAP_HEAP,		/* [heap]: follows brk */
	PROC_MAP_STACK,		/* [stack]: the main stack, grows down */
	PROC_MAP_FILE,		/* a private mapping of a file: binary,
				 * libraries, memfd, hugetlbfs */
	PROC_MAP_SHARED,	/* shared memory of any kind */
	PROC_MAP_KERNEL,	/* set up by the kernel: [vdso], [vvar], ... */
};

/* One line of /proc/PID/maps: "start-end perms offset dev inode [path]". */
struct proc_map {
	uint64_t start;		/* first address */
	uint64_t end;		/* past the last address */
	uint64_t offset;	/* in the file; 0 for anonymous memory */
	uint64_t inode;		/* of the file; 0 for anonymous memory */
	int prot;		/* PROT_READ | PROT_WRITE | PROT_EXEC */
	bool shared;		/* 's' in perms; 'p' (private) otherwise */
	const char *path;	/* into the parsed line: "" for anonymous
				 * memory, "[heap]", a file's path (with
				 * " (deleted)" if the kernel says so) */
};

/*
 * Parse one line (up to its newline, which is cut off in place; m->path
 * points into it). 0, or -EINVAL when it is not a maps line: not logged,
 * the caller names the file and the line.
 */
int proc_map_parse(char *line, struct proc_map *m);

/* Its kind; only path and shared are looked at. */
enum proc_map_kind proc_map_kind(const struct proc_map *m);

/* Is it RAM (readable, private, not the kernel's)? prot, shared and path
 * are looked at. */
bool proc_map_is_ram(const struct proc_map *m);

#endif /* COLO_PROC_MAPS_H */
