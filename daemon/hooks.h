/*
 * hooks.h - [hooks] of colo.conf: the operator's programs run on role
 * changes and peer events (docs/hooks.md).
 *
 * A hook runs in the background, one at a time, in the order of the
 * events: hooks_run() only queues the event and returns; the event loop
 * starts the program (posix_spawn: no fork of the daemon's memory, no
 * shell), watches it with a pidfd (or, without one, a 20 ms waitpid
 * timer) and starts the next when it has ended. One still running after
 * [hooks] timeout_ms is killed with its process group. Nothing a hook
 * does is fatal to the daemon: failures are logged and counted.
 *
 * Only the hook's own pid is ever waited for (waitpid(pid, WNOHANG)), so
 * the daemon's other children (its guest) stay the daemon's to reap; no
 * SIGCHLD handler is installed.
 *
 * Not thread-safe: call everything from the thread that runs the base.
 *
 * struct hooks keeps no pointer into the colo_config it was opened with:
 * it may outlive it, and change owner with its event base (the secondary
 * hands both to the primary code on takeover).
 */
#ifndef COLO_HOOKS_H
#define COLO_HOOKS_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "config.h"
#include "status.h"

/* Events waiting beyond the running one; more are dropped (warned). */
#define HOOKS_QUEUE_MAX		32
/* Without a pidfd, a running hook is polled this often. */
#define HOOKS_POLL_MS		20
/* hooks_close() waits this long for a killed hook to be reapable. */
#define HOOKS_CLOSE_WAIT_MS	2000

/* Which [hooks] program an event runs. */
enum hook_kind {
	HOOK_ROLE_CHANGE,	/* [hooks] role_change */
	HOOK_PEER_EVENT,	/* [hooks] peer_event */
	HOOK_KIND_MAX,
};

struct hooks;

/* What the hooks did since hooks_open(); every started hook ends in
 * exactly one of ok, failed or killed. */
struct hooks_stats {
	uint64_t started;	/* events taken from the queue to run */
	uint64_t ok;		/* exited with status 0 */
	/* could not start, exited non-zero, or died of a signal not ours */
	uint64_t failed;
	uint64_t killed;	/* killed by us: timeout, or hooks_close() */
	uint64_t dropped;	/* not queued: the queue was full */
};

/* "role_change", "peer_event": the key, as logs and docs name it. */
const char *hook_kind_name(enum hook_kind kind);

/*
 * Hooks of cfg's [hooks] on base. The program paths and timeout are
 * copied; a program that is not executable now is warned about (it may
 * be installed later) and fails when run. A config with no program set
 * gives hooks that do nothing. 0, or -EINVAL (NULL base or cfg) or
 * -ENOMEM, logged.
 */
int hooks_open(struct hooks **out, struct event_base *base,
	       const struct colo_config *cfg);

/*
 * Queue event for kind's program (nothing if it has none, or h is NULL).
 * It runs later, from the event loop, as
 *     argv = { program, event, NULL }
 * with the daemon's environment plus COLO_ROLE=role, COLO_EVENT=event,
 * COLO_PEER=peer and COLO_REASON=reason (NULL is taken as ""; values
 * longer than their room are cut). Never blocks and never fails: a full
 * queue drops the event, with a warning naming it.
 */
void hooks_run(struct hooks *h, enum hook_kind kind, const char *role,
	       const char *event, const char *peer, const char *reason);

/* Nothing runs and nothing waits (true for NULL). */
bool hooks_idle(const struct hooks *h);

/* The counters (all zero for NULL). */
void hooks_stats(const struct hooks *h, struct hooks_stats *st);

/* The counters as status fields hooks_started, hooks_ok, hooks_failed,
 * hooks_killed, hooks_dropped, and hooks_queued (waiting or running). */
void hooks_status(const struct hooks *h, struct status_out *so);

/*
 * Kill the running hook's process group (SIGKILL), reap it (waiting up
 * to HOOKS_CLOSE_WAIT_MS), warn about queued events that will not run,
 * and free everything. Call it before event_base_free() of its base.
 * NULL is fine.
 */
void hooks_close(struct hooks *h);

#endif /* COLO_HOOKS_H */
