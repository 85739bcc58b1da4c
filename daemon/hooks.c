/*
 * hooks.c - the [hooks] programs, run in the background one at a time.
 *
 * One hook's life, on the daemon's event loop:
 *
 *   hooks_run()      queue[tail] = event; arm kick (a zero timer)
 *   kick             pop the head; posix_spawn it (own process group,
 *                    stdin /dev/null, stdout and stderr = our stderr,
 *                    no other fd, default signals); watch its pidfd;
 *                    arm the timeout
 *   pidfd readable   waitpid(pid, WNOHANG): log, count; arm kick if
 *                    more wait
 *   timeout          SIGKILL its process group; the pidfd then reaps it
 *
 * posix_spawn, not fork: glibc starts the child with CLONE_VM|CLONE_VFORK,
 * so a daemon holding a large RAM cache does not copy its page tables on
 * the takeover path, and a failed execve comes back as an error number.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOG_PREFIX "hooks: "
#include "log.h"
#include "clock.h"
#include "hooks.h"

extern char **environ;

/* One queued event: what its hook gets. */
struct hook_event {
	enum hook_kind kind;	/* which program */
	char role[32];		/* COLO_ROLE */
	char event[64];		/* COLO_EVENT and argv[1] */
	char peer[128];		/* COLO_PEER */
	char reason[512];	/* COLO_REASON */
};

/* "NAME=value" of the longest variable: COLO_REASON and its value. */
#define HOOK_VAR_MAX	(sizeof("COLO_REASON=") + sizeof(((struct hook_event *)0)->reason))
/* "role_change (PROGRAM, event EVENT)" */
#define HOOK_WHAT_MAX	4300

static const char *const hook_vars[] = {
	"COLO_ROLE", "COLO_EVENT", "COLO_PEER", "COLO_REASON",
};

struct hooks {
	struct event_base *base;	/* the owner's loop; not ours to free */
	char *program[HOOK_KIND_MAX];	/* absolute path; NULL = none */
	unsigned timeout_ms;		/* [hooks] timeout_ms */
	/* waiting events, oldest at head; the running one is in cur */
	struct hook_event queue[HOOKS_QUEUE_MAX];
	unsigned head, count;
	/* the running hook: pid 0 = none */
	struct hook_event cur;
	pid_t pid;			/* also its process group */
	int pidfd;			/* -1: watched by poll instead */
	int64_t start_ms;		/* CLOCK_MONOTONIC when spawned */
	bool killing;			/* we sent SIGKILL; counts as killed */
	struct event *kick;		/* zero timer: start the next */
	struct event *watch;		/* cur's pidfd readable; NULL if none */
	struct event *poll;		/* every HOOKS_POLL_MS without pidfd */
	struct event *timeout;		/* cur ran timeout_ms */
	struct hooks_stats st;
};

const char *hook_kind_name(enum hook_kind kind)
{
	switch (kind) {
	case HOOK_ROLE_CHANGE:
		return "role_change";
	case HOOK_PEER_EVENT:
		return "peer_event";
	default:
		return "unknown";
	}
}

/* "role_change (/path, event takeover)", for every message about e. */
static const char *hooks_what(const struct hooks *h,
			      const struct hook_event *e, char *buf,
			      size_t len)
{
	snprintf(buf, len, "%s (%s, event %s)", hook_kind_name(e->kind),
		 h->program[e->kind], e->event);
	return buf;
}

/* --- starting ------------------------------------------------------------- */

static bool hooks_our_var(const char *kv)
{
	for (size_t i = 0; i < sizeof(hook_vars) / sizeof(hook_vars[0]); i++) {
		size_t n = strlen(hook_vars[i]);

		if (!strncmp(kv, hook_vars[i], n) && kv[n] == '=')
			return true;
	}
	return false;
}

/* The daemon's environment without any COLO_ROLE.. of its own, then
 * e's four, their text in vars. Malloc'ed (the strings are not), or NULL
 * when out of memory. */
static char **hooks_env(const struct hook_event *e, char vars[4][HOOK_VAR_MAX])
{
	const char *values[4] = { e->role, e->event, e->peer, e->reason };
	size_t n = 0, i = 0;
	char **envp;

	while (environ && environ[i])
		i++;
	envp = calloc(i + 5, sizeof(*envp));
	if (!envp)
		return NULL;
	for (i = 0; environ && environ[i]; i++)
		if (!hooks_our_var(environ[i]))
			envp[n++] = environ[i];
	for (i = 0; i < 4; i++) {
		snprintf(vars[i], HOOK_VAR_MAX, "%s=%s", hook_vars[i],
			 values[i]);
		envp[n++] = vars[i];
	}
	envp[n] = NULL;
	return envp;
}

/* posix_spawn prog with argv and envp as the header says: 0 with *pid,
 * or an errno value (ENOENT, EACCES, ... of its execve). */
static int hooks_spawn(const char *prog, char **argv, char **envp,
		       pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int err, err2;

	err = posix_spawn_file_actions_init(&fa);
	if (err)
		return err;
	err = posix_spawnattr_init(&attr);
	if (err) {
		posix_spawn_file_actions_destroy(&fa);
		return err;
	}
	sigemptyset(&none);
	/* every bit, not sigfillset(): that leaves out glibc's two internal
	 * signals (32, 33), which its posix_spawn then sets to SIG_IGN in
	 * the child, to be inherited by a program that never resets them */
	memset(&all, 0xff, sizeof(all));
	err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
				       POSIX_SPAWN_SETSIGMASK |
				       POSIX_SPAWN_SETSIGDEF);
	if (!err)
		err = posix_spawnattr_setpgroup(&attr, 0);
	if (!err)
		err = posix_spawnattr_setsigmask(&attr, &none);
	if (!err)
		err = posix_spawnattr_setsigdefault(&attr, &all);
	/* the child closes its 0 before each open, so these work even
	 * with the descriptor table full */
	if (!err)
		err = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
						       O_RDONLY, 0);
	if (!err && fcntl(2, F_GETFD) >= 0) {
		err = posix_spawn_file_actions_adddup2(&fa, 2, 1);
	} else if (!err) {
		/* no stderr of ours to share */
		err = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null",
						       O_WRONLY, 0);
		if (!err)
			err = posix_spawn_file_actions_addopen(&fa, 2,
							       "/dev/null",
							       O_WRONLY, 0);
	}
	/* our sockets, the guest's channel, the pidfds: none are the hook's */
	if (!err)
		err = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	if (!err)
		err = posix_spawn_file_actions_addchdir_np(&fa, "/");
	if (!err)
		err = posix_spawn(pid, prog, &fa, &attr, argv, envp);
	err2 = posix_spawnattr_destroy(&attr);
	if (!err)
		err = err2;
	posix_spawn_file_actions_destroy(&fa);
	return err;
}

static void hooks_reap_cb(evutil_socket_t fd, short what, void *arg);

/* Watch the running hook: its pidfd if we get one, else a poll. */
static void hooks_watch(struct hooks *h, const char *what)
{
	const struct timeval every = { 0, HOOKS_POLL_MS * 1000 };
	int err;

	h->pidfd = pidfd_open(h->pid, 0);
	if (h->pidfd < 0) {
		err = errno;
	} else {
		h->watch = event_new(h->base, h->pidfd, EV_READ | EV_PERSIST,
				     hooks_reap_cb, h);
		err = ENOMEM;
		if (h->watch && !event_add(h->watch, NULL))
			return;
	}
	pr_warn("hook %s: cannot watch pid %d with a pidfd (%s); polling "
		"it every %d ms", what, (int)h->pid, strerror(err),
		HOOKS_POLL_MS);
	if (h->watch) {
		event_free(h->watch);
		h->watch = NULL;
	}
	if (h->pidfd >= 0) {
		close(h->pidfd);
		h->pidfd = -1;
	}
	if (event_add(h->poll, &every))
		pr_err("hook %s: cannot poll pid %d either; it is reaped "
		       "when the hooks close", what, (int)h->pid);
}

/* Start cur. 0, or -1 when it could not start (logged, counted). */
static int hooks_start(struct hooks *h)
{
	const struct hook_event *e = &h->cur;
	const struct timeval limit = {
		h->timeout_ms / 1000, (h->timeout_ms % 1000) * 1000
	};
	char vars[4][HOOK_VAR_MAX], what[HOOK_WHAT_MAX];
	char *argv[3] = { h->program[e->kind], h->cur.event, NULL };
	char **envp;
	pid_t pid;
	int err = ENOMEM;

	hooks_what(h, e, what, sizeof(what));
	h->st.started++;
	h->killing = false;
	h->start_ms = colo_now_ms();
	envp = hooks_env(e, vars);
	if (envp)
		err = hooks_spawn(h->program[e->kind], argv, envp, &pid);
	free(envp);
	if (err) {
		h->st.failed++;
		pr_warn("hook %s failed: cannot start it: %s", what,
			strerror(err));
		return -1;
	}
	h->pid = pid;
	pr_debug("hook %s started, pid %d", what, (int)pid);
	hooks_watch(h, what);
	if (evtimer_add(h->timeout, &limit))
		pr_err("hook %s: cannot arm its %u ms timeout", what,
		       h->timeout_ms);
	return 0;
}

/* Start waiting events until one runs or none is left. */
static void hooks_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hooks *h = arg;

	(void)fd;
	(void)what;
	while (!h->pid && h->count) {
		h->cur = h->queue[h->head];
		h->head = (h->head + 1) % HOOKS_QUEUE_MAX;
		h->count--;
		hooks_start(h);
	}
}

static void hooks_kick(struct hooks *h)
{
	const struct timeval now = { 0, 0 };

	if (evtimer_add(h->kick, &now))
		pr_err("cannot schedule the next hook");
}

/* --- ending --------------------------------------------------------------- */

/* cur is gone: stop watching it, log, count. status < 0: unknown (not
 * reaped by us). */
static void hooks_ended(struct hooks *h, int status)
{
	char what[HOOK_WHAT_MAX];
	long long ms = (long long)(colo_now_ms() - h->start_ms);

	hooks_what(h, &h->cur, what, sizeof(what));
	if (h->watch) {
		event_free(h->watch);
		h->watch = NULL;
	}
	if (h->pidfd >= 0) {
		close(h->pidfd);
		h->pidfd = -1;
	}
	event_del(h->poll);
	event_del(h->timeout);
	h->pid = 0;
	if (h->killing) {
		h->st.killed++;		/* said when it was killed */
	} else if (status < 0) {
		h->st.failed++;
		pr_warn("hook %s failed: it was reaped by someone else after "
			"%lld ms; its exit status is unknown", what, ms);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		h->st.ok++;
		pr_info("hook %s done in %lld ms", what, ms);
	} else if (WIFEXITED(status)) {
		h->st.failed++;
		pr_warn("hook %s failed: exit status %d after %lld ms", what,
			WEXITSTATUS(status), ms);
	} else {
		h->st.failed++;
		pr_warn("hook %s failed: killed by signal %d (%s) after "
			"%lld ms", what, WTERMSIG(status),
			strsignal(WTERMSIG(status)), ms);
	}
}

/* Reap cur if it has ended: 1 if it had (and is handled), else 0. */
static int hooks_try_reap(struct hooks *h)
{
	int status;
	pid_t r;

	do
		r = waitpid(h->pid, &status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return 0;
	hooks_ended(h, r > 0 ? status : -1);
	return 1;
}

static void hooks_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hooks *h = arg;

	(void)fd;
	(void)what;
	if (h->pid && hooks_try_reap(h) && h->count)
		hooks_kick(h);
}

/* SIGKILL cur's process group (the hook and what it started). */
static void hooks_kill(struct hooks *h, const char *what)
{
	h->killing = true;
	if (!kill(-h->pid, SIGKILL) || !kill(h->pid, SIGKILL))
		return;
	pr_warn("hook %s: kill(%d, SIGKILL): %s", what, (int)h->pid,
		strerror(errno));
}

static void hooks_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hooks *h = arg;
	char text[HOOK_WHAT_MAX];

	(void)fd;
	(void)what;
	/* it may have ended just now, its pidfd not read yet */
	if (!h->pid || hooks_try_reap(h)) {
		if (h->count)
			hooks_kick(h);
		return;
	}
	hooks_what(h, &h->cur, text, sizeof(text));
	pr_warn("hook %s killed after %u ms", text, h->timeout_ms);
	hooks_kill(h, text);
	/* the pidfd (or the poll) reaps it */
}

/* --- the module ----------------------------------------------------------- */

static void hooks_free(struct hooks *h)
{
	if (!h)
		return;
	if (h->kick)
		event_free(h->kick);
	if (h->timeout)
		event_free(h->timeout);
	if (h->poll)
		event_free(h->poll);
	if (h->watch)
		event_free(h->watch);
	if (h->pidfd >= 0)
		close(h->pidfd);
	for (int k = 0; k < HOOK_KIND_MAX; k++)
		free(h->program[k]);
	free(h);
}

int hooks_open(struct hooks **out, struct event_base *base,
	       const struct colo_config *cfg)
{
	const char *paths[HOOK_KIND_MAX];
	struct hooks *h;

	*out = NULL;
	if (!base || !cfg) {
		pr_err("cannot open [hooks] without %s",
		       base ? "a configuration" : "an event base");
		return -EINVAL;
	}
	paths[HOOK_ROLE_CHANGE] = cfg->hooks.role_change;
	paths[HOOK_PEER_EVENT] = cfg->hooks.peer_event;
	h = calloc(1, sizeof(*h));
	if (!h)
		goto oom;
	h->base = base;
	h->pidfd = -1;
	h->timeout_ms = cfg->hooks.timeout_ms;
	for (int k = 0; k < HOOK_KIND_MAX; k++) {
		if (!paths[k][0])
			continue;
		h->program[k] = strdup(paths[k]);
		if (!h->program[k])
			goto oom;
		if (access(paths[k], X_OK))
			pr_warn("[hooks] %s = %s: %s; it will fail when run "
				"unless that is fixed", hook_kind_name(k),
				paths[k], strerror(errno));
	}
	h->kick = evtimer_new(base, hooks_kick_cb, h);
	h->timeout = evtimer_new(base, hooks_timeout_cb, h);
	h->poll = event_new(base, -1, EV_PERSIST, hooks_reap_cb, h);
	if (!h->kick || !h->timeout || !h->poll)
		goto oom;
	*out = h;
	return 0;
oom:
	pr_err("out of memory opening [hooks]");
	hooks_free(h);
	return -ENOMEM;
}

void hooks_run(struct hooks *h, enum hook_kind kind, const char *role,
	       const char *event, const char *peer, const char *reason)
{
	struct hook_event *e;
	char what[HOOK_WHAT_MAX];

	if (!h || (unsigned)kind >= HOOK_KIND_MAX || !h->program[kind])
		return;
	if (h->count == HOOKS_QUEUE_MAX) {
		struct hook_event dropped = { .kind = kind };

		snprintf(dropped.event, sizeof(dropped.event), "%s",
			 event ? event : "");
		h->st.dropped++;
		pr_warn("hook %s dropped: %d events already wait for theirs",
			hooks_what(h, &dropped, what, sizeof(what)),
			HOOKS_QUEUE_MAX);
		return;
	}
	e = &h->queue[(h->head + h->count) % HOOKS_QUEUE_MAX];
	h->count++;
	e->kind = kind;
	snprintf(e->role, sizeof(e->role), "%s", role ? role : "");
	snprintf(e->event, sizeof(e->event), "%s", event ? event : "");
	snprintf(e->peer, sizeof(e->peer), "%s", peer ? peer : "");
	snprintf(e->reason, sizeof(e->reason), "%s", reason ? reason : "");
	if (!h->pid)
		hooks_kick(h);
}

bool hooks_idle(const struct hooks *h)
{
	return !h || (!h->pid && !h->count);
}

void hooks_stats(const struct hooks *h, struct hooks_stats *st)
{
	if (h)
		*st = h->st;
	else
		memset(st, 0, sizeof(*st));
}

void hooks_status(const struct hooks *h, struct status_out *so)
{
	struct hooks_stats st;

	hooks_stats(h, &st);
	status_num(so, "hooks_started", (double)st.started, 0);
	status_num(so, "hooks_ok", (double)st.ok, 0);
	status_num(so, "hooks_failed", (double)st.failed, 0);
	status_num(so, "hooks_killed", (double)st.killed, 0);
	status_num(so, "hooks_dropped", (double)st.dropped, 0);
	status_num(so, "hooks_queued",
		   h ? (double)(h->count + (h->pid ? 1 : 0)) : 0, 0);
}

/* hooks_close() of a running hook: kill it, wait for it to be reapable,
 * reap it. Blocks at most HOOKS_CLOSE_WAIT_MS (a process in
 * uninterruptible sleep dies only when it leaves it). */
static void hooks_close_running(struct hooks *h)
{
	char what[HOOK_WHAT_MAX];
	int64_t deadline;

	if (hooks_try_reap(h))
		return;
	hooks_what(h, &h->cur, what, sizeof(what));
	pr_warn("hook %s killed after %lld ms: its hooks are closing", what,
		(long long)(colo_now_ms() - h->start_ms));
	hooks_kill(h, what);
	deadline = colo_now_ms() + HOOKS_CLOSE_WAIT_MS;
	do {
		struct pollfd pfd = { .fd = h->pidfd, .events = POLLIN };

		if (hooks_try_reap(h))
			return;
		/* without a pidfd, a 10 ms sleep */
		poll(&pfd, h->pidfd >= 0 ? 1 : 0, 10);
	} while (colo_now_ms() < deadline);
	if (hooks_try_reap(h))
		return;
	pr_warn("hook %s: pid %d still there %d ms after SIGKILL; left "
		"behind", what, (int)h->pid, HOOKS_CLOSE_WAIT_MS);
	h->st.killed++;
	h->pid = 0;
}

void hooks_close(struct hooks *h)
{
	char what[HOOK_WHAT_MAX];

	if (!h)
		return;
	if (h->pid)
		hooks_close_running(h);
	for (; h->count; h->count--) {
		pr_warn("hook %s not run: its hooks are closing",
			hooks_what(h, &h->queue[h->head], what, sizeof(what)));
		h->head = (h->head + 1) % HOOKS_QUEUE_MAX;
	}
	hooks_free(h);
}
