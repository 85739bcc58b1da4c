/*
 * proc_maps.c - parse a line of /proc/PID/maps; say what is RAM.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "proc_maps.h"

int proc_map_parse(char *line, struct proc_map *m)
{
	char perms[5] = "";
	int path_at = 0;

	line[strcspn(line, "\n")] = '\0';
	memset(m, 0, sizeof(*m));
	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %*s %"
		   SCNu64 "%n", &m->start, &m->end, perms, &m->offset,
		   &m->inode, &path_at) != 5 || !path_at)
		return -EINVAL;
	if (strlen(perms) != 4 || !strchr("r-", perms[0]) ||
	    !strchr("w-", perms[1]) || !strchr("x-", perms[2]) ||
	    !strchr("sp", perms[3]))
		return -EINVAL;
	m->prot = (perms[0] == 'r' ? PROT_READ : 0) |
		  (perms[1] == 'w' ? PROT_WRITE : 0) |
		  (perms[2] == 'x' ? PROT_EXEC : 0);
	m->shared = perms[3] == 's';
	/* the path, after the padding; "" for anonymous memory */
	m->path = line + path_at + strspn(line + path_at, " \t");
	return 0;
}

enum proc_map_kind proc_map_kind(const struct proc_map *m)
{
	if (m->shared)
		return PROC_MAP_SHARED;
	if (!m->path[0] || strncmp(m->path, "[anon", 5) == 0)
		return PROC_MAP_ANON;
	if (strcmp(m->path, "[heap]") == 0)
		return PROC_MAP_HEAP;
	if (strcmp(m->path, "[stack]") == 0)
		return PROC_MAP_STACK;
	if (m->path[0] == '[')
		return PROC_MAP_KERNEL;
	return PROC_MAP_FILE;
}

bool proc_map_is_ram(const struct proc_map *m)
{
	enum proc_map_kind kind = proc_map_kind(m);

	return (m->prot & PROT_READ) && kind != PROC_MAP_SHARED &&
	       kind != PROC_MAP_KERNEL;
}
