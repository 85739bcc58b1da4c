/*
 * net_lab.h - a test's lab of network namespaces (tests/lab/colo-lab.sh:
 * a client, a LAN switch, a primary and a secondary host) and ways to run
 * things inside it.
 *
 * Like pair_lib.h, nothing here asserts: a helper that can fail returns
 * nonzero with the reason in pair_why.
 */
#ifndef COLO_TESTS_NET_LAB_H
#define COLO_TESTS_NET_LAB_H

#include <stddef.h>
#include <sys/types.h>

/* The guest's address and port in the lab, and the hosts'. */
#define LAB_GUEST_IP		"10.77.1.100"
#define LAB_GATEWAY		"10.77.1.1"
#define LAB_SEC_REPL_IP		"10.77.2.2"
#define LAB_REPL_PORT		9470

extern char lab_prefix[40];		/* this test's lab: PREFIX-client... */

/* Build the lab "c<pid>" (0), or say why (-1). A lab left by an earlier
 * run of the same pid is removed first. */
int lab_up(void);

/* Remove it, and check that no namespace of it is left (0). Kills only
 * what colo-lab.sh recorded. Safe to call when it is not up. */
int lab_down(void);

/* "ip netns exec PREFIX-role": a prefix for a shell line or a daemon's
 * start (struct pair_role.prefix); in a static buffer per role. */
const char *lab_ns(const char *role);

/*
 * Run a shell line in role's namespace ("client", "pri", "sec"); its
 * output (both streams) in out (len bytes). Its exit status, or -1.
 */
int lab_sh(const char *role, char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Call fn(arg) in a child that has entered role's network namespace; its
 * return value is the child's exit status (0..255), which is returned,
 * or -1 if the child could not run or was killed (pair_why says).
 */
int lab_in(const char *role, int (*fn)(void *arg), void *arg);

#endif /* COLO_TESTS_NET_LAB_H */
