/*
 * paths.c - the default coloctl, guest folder and tracked child of a test
 * or benchmark run by hand: those of the build it belongs to.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "paths.h"

#define FALLBACK_BUILD		"build/cc"
#define FALLBACK_GUEST_DIR	"build/guest-cc"

static char coloctl[PATH_MAX], guest_dir[PATH_MAX], tracked_child[PATH_MAX];

/* Cut the last "/component" off path; the component, or NULL if none. */
static const char *cut_last(char *path)
{
	char *slash = strrchr(path, '/');

	if (!slash || slash == path)
		return NULL;
	*slash = '\0';
	return slash + 1;
}

/*
 * From /proc/self/exe = ROOT/build/NAME/{tests,bench}/PROGRAM: the build
 * folder ROOT/build/NAME and the guest folder ROOT/build/guest-CC. False
 * when this program is not in such a place.
 */
static int own_build(char *build, char *guests, size_t len)
{
	char exe[PATH_MAX], name[NAME_MAX + 1];
	const char *kind, *part;
	size_t n;
	ssize_t r;

	r = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (r <= 0)
		return 0;
	exe[r] = '\0';
	if (!cut_last(exe))				/* PROGRAM */
		return 0;
	kind = cut_last(exe);				/* tests or bench */
	if (!kind || (strcmp(kind, "tests") && strcmp(kind, "bench")))
		return 0;
	part = cut_last(exe);				/* NAME */
	if (!part || strlen(part) >= sizeof(name))
		return 0;
	snprintf(name, sizeof(name), "%s", part);
	part = cut_last(exe);				/* build */
	if (!part || strcmp(part, "build"))
		return 0;
	if ((size_t)snprintf(build, len, "%s/build/%s", exe, name) >= len)
		return 0;
	/* the guests are never sanitized: build/cc-san's are build/guest-cc */
	n = strlen(name);
	if (n > 4 && !strcmp(name + n - 4, "-san"))
		name[n - 4] = '\0';
	if ((size_t)snprintf(guests, len, "%s/build/guest-%s", exe, name) >= len)
		return 0;
	return 1;
}

static void defaults(void)
{
	static int done;
	char build[PATH_MAX - 16], guests[PATH_MAX - 16];

	if (done)
		return;
	done = 1;
	if (!own_build(build, guests, sizeof(build))) {
		snprintf(build, sizeof(build), "%s", FALLBACK_BUILD);
		snprintf(guests, sizeof(guests), "%s", FALLBACK_GUEST_DIR);
	}
	snprintf(coloctl, sizeof(coloctl), "%s/coloctl", build);
	snprintf(guest_dir, sizeof(guest_dir), "%s", guests);
	snprintf(tracked_child, sizeof(tracked_child), "%s/tracked_child", guests);
}

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v && *v ? v : fallback;
}

const char *test_coloctl(void)
{
	defaults();
	return env_or("COLOCTL", coloctl);
}

const char *test_guest_dir(void)
{
	defaults();
	return env_or("COLO_GUEST_DIR", guest_dir);
}

const char *test_tracked_child(void)
{
	defaults();
	return env_or("COLO_TRACKED_CHILD", tracked_child);
}

/* A program run by hand passes the defaults on to what it starts. */
static void export(const char *name, const char *value)
{
	const char *v = getenv(name);

	if (!v || !*v)
		setenv(name, value, 1);
}

__attribute__((constructor)) static void export_defaults(void)
{
	export("COLOCTL", test_coloctl());
	export("COLO_GUEST_DIR", test_guest_dir());
	export("COLO_TRACKED_CHILD", test_tracked_child());
}
