/*
 * control_dir.c - where the control socket lives and who may reach it:
 * its directory (made 0700, or 0750 for the [control] group; refused
 * when others may write it) and the group's id.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_PREFIX "control: "
#include "log.h"
#include "control.h"

/* The socket's directory, made if missing (parents 0755, itself 0700 or
 * 0750 with the group's gid); an existing one is the operator's. */
int control_make_dir(const char *path, gid_t gid)
{
	mode_t mode = gid == (gid_t)-1 ? 0700 : 0750;
	char dir[108], *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(dir, 0755);
		*p = '/';
	}
	if (mkdir(dir, mode)) {
		if (errno == EEXIST)
			return 0;	/* the operator's: as it is */
		pr_err("cannot create %s for the control socket: %s", dir,
		       strerror(errno));
		return -errno;
	}
	if (gid != (gid_t)-1 && chown(dir, (uid_t)-1, gid)) {
		pr_err("cannot give %s to the [control] group: %s", dir,
		       strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * The socket's directory must be its owner's alone to write (root or
 * our user; and [control] group's when it has one): anyone else who may
 * write there could put a socket of their own in ours' place.
 */
int control_check_dir(const char *path, gid_t gid)
{
	char dir[108], *slash;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	if (slash == dir)
		slash[1] = '\0';	/* the root directory */
	else
		*slash = '\0';
	if (stat(dir, &st)) {
		pr_err("cannot check %s, the control socket's directory: %s",
		       dir, strerror(errno));
		return -errno;
	}
	if ((st.st_uid != 0 && st.st_uid != geteuid()) ||
	    (st.st_mode & S_IWOTH) ||
	    ((st.st_mode & S_IWGRP) && (gid == (gid_t)-1 || st.st_gid != gid))) {
		pr_err("%s, the control socket's directory, may be written by "
		       "others (owner uid %u, mode %04o): anyone who can could "
		       "put a socket of their own in its place; give the socket "
		       "a directory of its own (the default /run/colo is made "
		       "0700), or chmod go-w %s", dir, (unsigned)st.st_uid,
		       (unsigned)(st.st_mode & 07777), dir);
		return -EPERM;
	}
	return 0;
}

/* [control] group's id, or (gid_t)-1 for none. */
int control_group_id(const char *group, gid_t *gid)
{
	struct group gr, *found = NULL;
	char buf[4096];
	int err;

	*gid = (gid_t)-1;
	if (!group || !*group)
		return 0;
	err = getgrnam_r(group, &gr, buf, sizeof(buf), &found);
	if (err || !found) {
		pr_err("[control] group %s: %s (create the group, or leave "
		       "group empty: root and the daemon's user only)", group,
		       err ? strerror(err) : "no such group");
		return err ? -err : -ENOENT;
	}
	*gid = found->gr_gid;
	return 0;
}
