/*
 * paths.h - where tests and benchmarks find the programs they start.
 *
 * Each is its environment variable when set (make check and make bench
 * set all three), else the one the Makefile built next to this program:
 * a binary in build/NAME/tests/ (or build/NAME/bench/) uses
 * build/NAME/coloctl and build/guest-CC/, where CC is NAME without the
 * "-san" of SANITIZE=1. A binary that is not in such a folder falls back
 * to build/cc/coloctl and build/guest-cc/, relative to the current
 * directory (the repository root).
 *
 * Before main, every program linked with the test helpers sets the
 * variables that are unset to these defaults, so that the shell lines,
 * scripts and benchmarks it starts see what make check would give them.
 */
#ifndef COLO_TEST_PATHS_H
#define COLO_TEST_PATHS_H

/* $COLOCTL, else build/NAME/coloctl. */
const char *test_coloctl(void);

/* $COLO_GUEST_DIR, else build/guest-CC (memstress and the other guests). */
const char *test_guest_dir(void);

/* $COLO_TRACKED_CHILD, else build/guest-CC/tracked_child. */
const char *test_tracked_child(void);

#endif /* COLO_TEST_PATHS_H */
