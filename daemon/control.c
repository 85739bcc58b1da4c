/*
 * control.c - the control socket: one command line in, one answer out,
 * now or, for a held request, when the daemon gives it.
 *
 * A connection goes READING -> (its handler) -> WRITING -> closed, or
 * READING -> HELD -> WRITING -> closed when the handler held its answer.
 * A held connection is still read: its EOF is how we learn the client
 * left, and then it is freed at once (a later control_answer() does not
 * find it). Answers are sent by us with MSG_NOSIGNAL rather than by a
 * bufferevent, whose writev() would raise SIGPIPE in the daemon when a
 * client has gone.
 *
 * Nothing a client does may hold the loop (the checkpoints, the
 * heartbeats run on it):
 *
 *   accept   at most CONTROL_ACCEPT_BATCH per loop turn, then the
 *            listener pauses for one turn; past CONTROL_MAX_CLIENTS the
 *            oldest READING client is dropped for the new one, or the new
 *            one refused; EMFILE drops the oldest READING one too, else
 *            pauses the listener CONTROL_PAUSE_MS (libevent's listener
 *            would retry it at once, every turn: a spin)
 *   READING  at most CONTROL_MAX_LINE + 1 bytes kept, each byte checked
 *            to be text as it comes; a deadline (ev_deadline), not an
 *            idle timeout, of CONTROL_IDLE_S from the connect
 *   WRITING  non-blocking sends of the one answer; CONTROL_IDLE_S more
 *
 * What a flood of clients does is logged by flood_warn(): the first at
 * once, then one line per CONTROL_LOG_EVERY_S with how many were not.
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/listener.h>

#define LOG_PREFIX "control: "
#include "log.h"
#include "clock.h"
#include "control.h"

#define CONTROL_BACKLOG		128	/* connections the kernel queues for us */
#define CONTROL_ACCEPT_BATCH	32	/* accepted in a loop turn, at most */
#define CONTROL_PAUSE_MS	100	/* no accept() after EMFILE for this */
#define CONTROL_LOG_EVERY_S	10	/* a flood's log line, at most this often */

enum client_state {
	CLIENT_READING,		/* its command line is coming */
	CLIENT_HELD,		/* its handler holds the answer */
	CLIENT_WRITING,		/* its answer is going out */
};

struct control_client {
	struct control *c;
	struct control_client *next;	/* c->clients */
	int fd;
	struct event *ev_read;		/* READING, HELD (its EOF) */
	struct event *ev_write;		/* WRITING, when the socket was full */
	/* READING: CONTROL_IDLE_S from the connect; WRITING: from the
	 * answer; HELD: none (the daemon owes the answer) */
	struct event *ev_deadline;
	struct evbuffer *in, *out;
	size_t checked;			/* READING: bytes of in found text */
	enum client_state state;
	uint64_t tag;			/* HELD: what its answer waits for */
	/* not root, our user or of [control] group: its request, once read,
	 * gets this refusal instead of a handler */
	bool denied;
	char refusal[160];
};

/* Each kind of log line a flood of clients would repeat. */
enum flood_kind {
	FLOOD_DENIED,			/* not root, our user or group */
	FLOOD_LONG,			/* no newline in CONTROL_MAX_LINE */
	FLOOD_TEXT,			/* a byte that is not text */
	FLOOD_SLOW,			/* no whole line in CONTROL_IDLE_S */
	FLOOD_DEAF,			/* its answer not taken in time */
	FLOOD_FULL,			/* CONTROL_MAX_CLIENTS reached */
	FLOOD_ACCEPT,			/* accept() failed: EMFILE, ... */
	FLOOD_KINDS
};

/* When a kind was last logged, and how many of it were not since. */
struct flood_log {
	int64_t last_ms;		/* 0: never */
	unsigned quiet;
};

struct control {
	struct evconnlistener *listener;
	struct event *ev_resume;	/* ends a pause of the listener */
	unsigned accepts;		/* since the listener last paused */
	struct event_base *base;
	char path[108];
	control_handler_fn fn;
	void *opaque;
	/* every open connection, the newest first */
	struct control_client *clients;
	unsigned nr_clients;		/* of them */
	unsigned nr_held;		/* of them in CLIENT_HELD */
	/* while a handler runs: its client, whether it held the answer
	 * (and for what), or tried to with CONTROL_MAX_HELD held already */
	struct control_client *serving;
	gid_t gid;			/* [control] group, or (gid_t)-1 */
	bool hold, hold_full;
	uint64_t hold_tag;
	struct flood_log flood[FLOOD_KINDS];
};

/*
 * A warning that every client of a flood would repeat: said at once,
 * then at most once per CONTROL_LOG_EVERY_S, with how many like it were
 * left unsaid meanwhile (those after the last one said are never told:
 * the count goes with the next).
 */
static void __attribute__((format(printf, 3, 4)))
flood_warn(struct control *c, enum flood_kind kind, const char *fmt, ...)
{
	struct flood_log *f = &c->flood[kind];
	int64_t now = colo_now_ms();
	char msg[400];
	va_list ap;

	if (f->last_ms && now - f->last_ms < CONTROL_LOG_EVERY_S * 1000) {
		f->quiet++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (f->quiet)
		pr_warn("%s (and %u more like it in the last %lld s)", msg,
			f->quiet, (long long)(now - f->last_ms) / 1000);
	else
		pr_warn("%s", msg);
	f->last_ms = now;
	f->quiet = 0;
}

static void client_free(struct control_client *cl)
{
	struct control_client **pp;

	for (pp = &cl->c->clients; *pp; pp = &(*pp)->next)
		if (*pp == cl) {
			*pp = cl->next;
			cl->c->nr_clients--;
			break;
		}
	if (cl->state == CLIENT_HELD)
		cl->c->nr_held--;
	if (cl->ev_read)
		event_free(cl->ev_read);
	if (cl->ev_write)
		event_free(cl->ev_write);
	if (cl->ev_deadline)
		event_free(cl->ev_deadline);
	if (cl->in)
		evbuffer_free(cl->in);
	if (cl->out)
		evbuffer_free(cl->out);
	close(cl->fd);
	free(cl);
}

/* Send what we can of the answer; the client is freed once it is out or
 * gone. The socket is non-blocking: a full one waits for ev_write. */
static void client_flush(struct control_client *cl)
{
	while (evbuffer_get_length(cl->out)) {
		struct evbuffer_iovec v;
		ssize_t n;

		evbuffer_peek(cl->out, -1, NULL, &v, 1);
		n = send(cl->fd, v.iov_base, v.iov_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!event_pending(cl->ev_write, EV_WRITE, NULL))
				event_add(cl->ev_write, NULL);
			return;
		}
		if (n < 0) {		/* EPIPE, ECONNRESET: it left */
			pr_debug("a control client left before its answer was "
				 "out: %s", strerror(errno));
			break;
		}
		evbuffer_drain(cl->out, (size_t)n);
	}
	client_free(cl);
}

/* The first line "ok" or "error", then text: the connection's last act. */
static void client_answer(struct control_client *cl, int ret,
			  struct evbuffer *text, const char *str)
{
	struct timeval idle = { CONTROL_IDLE_S, 0 };

	if (cl->state == CLIENT_HELD)
		cl->c->nr_held--;
	cl->state = CLIENT_WRITING;
	event_del(cl->ev_read);
	event_add(cl->ev_deadline, &idle);	/* to take all of it */
	evbuffer_add_printf(cl->out, "%s\n", ret ? "error" : "ok");
	if (text)
		evbuffer_add_buffer(cl->out, text);
	if (str)
		evbuffer_add(cl->out, str, strlen(str));
	client_flush(cl);
}

static void client_writable(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	client_flush(arg);
}

/* CONTROL_IDLE_S passed: since the connect, no whole line (READING);
 * since the answer was written, not all of it taken (WRITING). */
static void client_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct control_client *cl = arg;

	(void)fd;
	(void)what;
	if (cl->state == CLIENT_WRITING)
		flood_warn(cl->c, FLOOD_DEAF, "dropping a control client: it "
			   "did not take its answer within %d s (%zu bytes "
			   "left)", CONTROL_IDLE_S,
			   evbuffer_get_length(cl->out));
	else
		flood_warn(cl->c, FLOOD_SLOW, "dropping a control client: no "
			   "whole command line within %d s of its connect "
			   "(%zu bytes came)", CONTROL_IDLE_S,
			   evbuffer_get_length(cl->in));
	client_free(cl);
}

int control_parse(struct evbuffer *in, char **line, int *argc,
		  char *argv[CONTROL_MAX_ARGS + 1])
{
	char *save, *w;
	int n = 0;

	*line = evbuffer_readln(in, NULL, EVBUFFER_EOL_LF);
	if (!*line)
		return evbuffer_get_length(in) > CONTROL_MAX_LINE ? -EMSGSIZE : 0;
	for (w = strtok_r(*line, " \t\r", &save); w && n < CONTROL_MAX_ARGS;
	     w = strtok_r(NULL, " \t\r", &save))
		argv[n++] = w;
	argv[n] = NULL;
	*argc = n;
	return 1;
}

/* Run the handler on the client's command line: answer now, or hold. */
static void client_serve(struct control_client *cl, int argc, char **argv)
{
	struct control *c = cl->c;
	struct evbuffer *reply = evbuffer_new();
	int ret;

	if (!reply) {
		client_free(cl);
		return;
	}
	if (cl->denied) {
		client_answer(cl, -EACCES, NULL, cl->refusal);
		evbuffer_free(reply);
		return;
	}
	if (!argc) {
		evbuffer_add_printf(reply, "empty command; try 'status'\n");
		client_answer(cl, -EINVAL, reply, NULL);
		evbuffer_free(reply);
		return;
	}
	c->serving = cl;
	c->hold = c->hold_full = false;
	ret = c->fn(c->opaque, argc, argv, reply);
	c->serving = NULL;
	if (ret == CONTROL_LATER && c->hold) {
		evbuffer_free(reply);
		cl->state = CLIENT_HELD;
		cl->tag = c->hold_tag;
		c->nr_held++;
		/* no deadline now: the daemon owes the answer */
		event_del(cl->ev_deadline);
		return;
	}
	if (ret == CONTROL_LATER) {	/* a handler's bug: say so, once */
		pr_err("the handler of '%s' returned CONTROL_LATER without "
		       "control_reply_later(); answering with an error", argv[0]);
		evbuffer_drain(reply, evbuffer_get_length(reply));
		evbuffer_add_printf(reply, "internal error: '%s' has no answer\n",
				    argv[0]);
		ret = -EIO;
	} else if (c->hold_full) {
		evbuffer_drain(reply, evbuffer_get_length(reply));
		evbuffer_add_printf(reply, "%u requests wait for an answer "
				    "already; try again later\n", c->nr_held);
	}
	client_answer(cl, ret, reply, NULL);
	evbuffer_free(reply);
}

/*
 * The bytes of in not checked yet, up to its first newline: text (a
 * byte >= 0x20 but DEL, or tab, CR)? -EBADMSG with what the client is
 * told in msg otherwise. A request is checked as it comes, so garbage is
 * refused at its first byte, not at CONTROL_MAX_LINE; the grammar
 * (control_parse) would end a word at a NUL and run "status\0junk".
 */
static int request_text(struct control_client *cl, char *msg, size_t len)
{
	size_t have = evbuffer_get_length(cl->in);
	const unsigned char *p = evbuffer_pullup(cl->in, -1);	/* <= 4 KiB */

	for (; p && cl->checked < have; cl->checked++) {
		unsigned char b = p[cl->checked];

		if (b == '\n')
			break;
		if ((b < 0x20 && b != '\t' && b != '\r') || b == 0x7f) {
			snprintf(msg, len, "not a command: byte 0x%02x at "
				 "offset %zu is not text; a request is one "
				 "line of text, e.g. 'status'\n", b,
				 cl->checked);
			return -EBADMSG;
		}
	}
	return 0;
}

static void client_readable(evutil_socket_t fd, short what, void *arg)
{
	struct control_client *cl = arg;
	char *line, *argv[CONTROL_MAX_ARGS + 1], msg[160];
	size_t room = CONTROL_MAX_LINE;
	int n, argc;

	(void)what;
	/* READING keeps CONTROL_MAX_LINE and its newline, at most: one byte
	 * more without a newline is a request too long */
	if (cl->state == CLIENT_READING)
		room = CONTROL_MAX_LINE + 1 - evbuffer_get_length(cl->in);
	n = evbuffer_read(cl->in, fd, (int)room);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		if (cl->state == CLIENT_HELD)
			pr_debug("a control client left while its answer was "
				 "held: forgotten");
		client_free(cl);
		return;
	}
	if (cl->state == CLIENT_HELD) {	/* one line per connection */
		evbuffer_drain(cl->in, evbuffer_get_length(cl->in));
		return;
	}
	if (request_text(cl, msg, sizeof(msg))) {
		flood_warn(cl->c, FLOOD_TEXT, "dropping a control client: its "
			   "request is not text (byte 0x%02x at offset %zu)",
			   evbuffer_pullup(cl->in, -1)[cl->checked], cl->checked);
		client_answer(cl, -EBADMSG, NULL, msg);
		return;
	}
	n = control_parse(cl->in, &line, &argc, argv);
	if (n == -EMSGSIZE) {
		flood_warn(cl->c, FLOOD_LONG, "dropping a control client: a "
			   "request longer than %d bytes", CONTROL_MAX_LINE);
		snprintf(msg, sizeof(msg), "request longer than %d bytes, the "
			 "most a command line may be\n", CONTROL_MAX_LINE);
		client_answer(cl, -EMSGSIZE, NULL, msg);
	}
	if (n <= 0)
		return;
	client_serve(cl, argc, argv);
	free(line);
}

/*
 * Root, the daemon's own user, or a member of [control] group (by the
 * peer's primary group: SO_PEERCRED's)? Another is logged, and gets
 * cl->refusal for its request. The request is still read first, with
 * the bounds of any: closing on it at once would race with its write,
 * and it would never hear why.
 */
static bool peer_denied(struct control_client *cl, int fd)
{
	struct control *c = cl->c;
	struct ucred cr = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 &&
	    (cr.uid == 0 || cr.uid == geteuid() ||
	     (c->gid != (gid_t)-1 && cr.gid == c->gid)))
		return false;
	flood_warn(c, FLOOD_DENIED, "refusing a control client of uid %u "
		   "gid %u (pid %d): not root, the daemon's user or of its "
		   "[control] group", (unsigned)cr.uid, (unsigned)cr.gid,
		   (int)cr.pid);
	snprintf(cl->refusal, sizeof(cl->refusal), "permission denied: uid %u "
		 "is not root, the daemon's user (uid %u)%s\n", (unsigned)cr.uid,
		 (unsigned)geteuid(), c->gid != (gid_t)-1 ?
		 " or of its [control] group" : "");
	return true;
}

/* No accept() for ms (0: this loop turn), for the rest of the loop. */
static void listener_pause(struct control *c, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evconnlistener_disable(c->listener);
	event_add(c->ev_resume, &tv);
}

static void listener_resume(evutil_socket_t fd, short what, void *arg)
{
	struct control *c = arg;

	(void)fd;
	(void)what;
	c->accepts = 0;
	evconnlistener_enable(c->listener);
}

/*
 * Make room for a new client: drop the oldest that has not sent its
 * whole line (READING), telling it why. False when every client is
 * held or taking its answer. O(clients): the list is newest first.
 */
static bool drop_oldest_reading(struct control *c, const char *why)
{
	struct control_client *cl, *oldest = NULL;
	char msg[200];

	for (cl = c->clients; cl; cl = cl->next)
		if (cl->state == CLIENT_READING)
			oldest = cl;
	if (!oldest)
		return false;
	snprintf(msg, sizeof(msg), "error\ndropped: %s, and this client had "
		 "not sent its whole command line\n", why);
	if (send(oldest->fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		pr_debug("a dropped control client got no last word: %s",
			 strerror(errno));
	client_free(oldest);
	return true;
}

/* CONTROL_MAX_CLIENTS are connected, none of them READING: the new one
 * is told, and closed. */
static void refuse(struct control *c, int fd)
{
	char msg[200];

	flood_warn(c, FLOOD_FULL, "%u control clients at once, the most there "
		   "may be (%u held, the others taking their answers): "
		   "refusing a new one", c->nr_clients, c->nr_held);
	snprintf(msg, sizeof(msg), "error\ntoo many control clients: %d at "
		 "once, the most there may be, none of them idle; try again "
		 "later\n", CONTROL_MAX_CLIENTS);
	if (send(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		pr_debug("a refused control client got no last word: %s",
			 strerror(errno));
	close(fd);
}

static void accepted(struct evconnlistener *l, evutil_socket_t fd,
		     struct sockaddr *sa, int socklen, void *arg)
{
	struct control *c = arg;
	struct control_client *cl;
	struct timeval idle = { CONTROL_IDLE_S, 0 };
	char why[120];

	(void)l;
	(void)sa;
	(void)socklen;
	/* Step 1 -- a loop turn is not all accepts: a flood of connects
	 * would keep libevent's accept loop going for as long as it lasts */
	if (++c->accepts >= CONTROL_ACCEPT_BATCH)
		listener_pause(c, 0);
	/* Step 2 -- room for it */
	if (c->nr_clients >= CONTROL_MAX_CLIENTS) {
		snprintf(why, sizeof(why), "%d control clients at once, the "
			 "most there may be", CONTROL_MAX_CLIENTS);
		if (!drop_oldest_reading(c, why)) {
			refuse(c, fd);
			return;
		}
		flood_warn(c, FLOOD_FULL, "%s: dropped the oldest that had not "
			   "sent its command line, for a new one", why);
	}
	cl = calloc(1, sizeof(*cl));
	if (!cl) {
		close(fd);
		return;
	}
	cl->c = c;
	cl->denied = peer_denied(cl, fd);
	cl->fd = fd;		/* non-blocking: the listener made it so */
	cl->state = CLIENT_READING;
	cl->next = c->clients;
	c->clients = cl;
	c->nr_clients++;
	cl->in = evbuffer_new();
	cl->out = evbuffer_new();
	cl->ev_read = event_new(c->base, fd, EV_READ | EV_PERSIST,
				client_readable, cl);
	cl->ev_write = event_new(c->base, fd, EV_WRITE | EV_PERSIST,
				 client_writable, cl);
	cl->ev_deadline = evtimer_new(c->base, client_deadline, cl);
	if (!cl->in || !cl->out || !cl->ev_read || !cl->ev_write ||
	    !cl->ev_deadline) {
		pr_warn("dropping a control client: out of memory");
		client_free(cl);
		return;
	}
	event_add(cl->ev_read, NULL);
	event_add(cl->ev_deadline, &idle);
	/* Step 3 -- coloctl's line is there already, as a rule: serve it
	 * now, before more connects can push it out as the oldest */
	client_readable(fd, EV_READ, cl);
}

/*
 * accept() failed with more than EAGAIN: EMFILE, ENFILE (out of file
 * descriptors), ENOBUFS, ENOMEM. The oldest READING client makes room;
 * with none, the listener pauses CONTROL_PAUSE_MS instead of being
 * retried at once on every loop turn (the pending connect keeps it
 * readable). errno is accept()'s: read first.
 */
static void accept_failed(struct evconnlistener *l, void *arg)
{
	struct control *c = arg;
	int err = EVUTIL_SOCKET_ERROR();
	char why[160];

	(void)l;
	snprintf(why, sizeof(why), "cannot accept a control client: %s "
		 "(-%d), with %u control clients open", strerror(err), err,
		 c->nr_clients);
	if ((err == EMFILE || err == ENFILE || err == ENOBUFS ||
	     err == ENOMEM) && drop_oldest_reading(c, why)) {
		flood_warn(c, FLOOD_ACCEPT, "%s: dropped the oldest that had "
			   "not sent its command line (raise the daemon's "
			   "open-file limit, ulimit -n / LimitNOFILE=, if this "
			   "lasts)", why);
		return;
	}
	flood_warn(c, FLOOD_ACCEPT, "%s, none idle: no accept for %d ms (raise "
		   "the daemon's open-file limit, ulimit -n / LimitNOFILE=, "
		   "if this lasts)", why, CONTROL_PAUSE_MS);
	listener_pause(c, CONTROL_PAUSE_MS);
}

int control_reply_later(struct control *c, uint64_t tag)
{
	if (!c->serving) {
		pr_err("control_reply_later() outside a handler");
		return -EINVAL;
	}
	if (c->nr_held >= CONTROL_MAX_HELD) {
		c->hold_full = true;	/* client_serve says so */
		return -EBUSY;
	}
	c->hold = true;
	c->hold_tag = tag;
	return CONTROL_LATER;
}

int control_answer(struct control *c, uint64_t up_to, int ret,
		   const char *text)
{
	struct control_client *cl, *next;
	int n = 0;

	if (!c)
		return 0;
	/* client_answer() may free cl (its answer went out at once): the
	 * next one is taken first */
	for (cl = c->clients; cl; cl = next) {
		next = cl->next;
		if (cl->state != CLIENT_HELD || cl->tag > up_to)
			continue;
		client_answer(cl, ret, NULL, text);
		n++;
	}
	return n;
}

int control_socket_address(const char *path, struct sockaddr_un *sun)
{
	size_t len = strlen(path);

	if (len >= sizeof(sun->sun_path)) {
		pr_err("control socket path %s is %zu bytes long, at most %zu "
		       "fit; give a shorter -s or [control] socket", path, len,
		       sizeof(sun->sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sun->sun_path, path, len + 1);
	return 0;
}

/* Is a daemon listening on sun? */
static int socket_alive(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int alive;

	if (fd < 0)
		return 0;
	alive = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return alive;
}

void control_set_handler(struct control *c, control_handler_fn fn,
			 void *opaque)
{
	c->fn = fn;
	c->opaque = opaque;
}

int control_open(struct control **out, struct event_base *base,
		 const char *path, const char *group, control_handler_fn fn,
		 void *opaque)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct control *c;
	mode_t old_mask;
	gid_t gid;
	int ret;

	ret = control_socket_address(path, &sun);
	if (!ret)
		ret = control_group_id(group, &gid);
	if (ret)
		return ret;
	ret = control_make_dir(path, gid);
	if (!ret)
		ret = control_check_dir(path, gid);
	if (ret)
		return ret;
	if (socket_alive(&sun)) {
		pr_err("another daemon listens on %s; stop it, or give this "
		       "one another [control] socket", path);
		return -EADDRINUSE;
	}
	unlink(path);		/* a stale one, from a daemon that died */
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->base = base;
	c->gid = gid;
	c->ev_resume = evtimer_new(base, listener_resume, c);
	if (!c->ev_resume) {
		free(c);
		return -ENOMEM;
	}
	/* no moment in which the socket is open to others */
	old_mask = umask(gid == (gid_t)-1 ? 0177 : 0117);
	c->listener = evconnlistener_new_bind(base, accepted, c,
			LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
			CONTROL_BACKLOG, (struct sockaddr *)&sun, sizeof(sun));
	ret = c->listener ? 0 : -errno;
	umask(old_mask);
	if (!c->listener) {
		pr_err("cannot listen on %s: %s", path, strerror(-ret));
		event_free(c->ev_resume);
		free(c);
		return ret ? ret : -EIO;
	}
	evconnlistener_set_error_cb(c->listener, accept_failed);
	if (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid)) {
		ret = -errno;
		pr_err("cannot give %s to [control] group %s: %s", path, group,
		       strerror(errno));
		evconnlistener_free(c->listener);
		event_free(c->ev_resume);
		free(c);
		return ret;
	}
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->fn = fn;
	c->opaque = opaque;
	*out = c;
	return 0;
}

void control_close(struct control *c)
{
	static const char stopped[] = "error\nthe daemon stopped before it "
				      "could answer; see its log\n";

	if (!c)
		return;
	/* the loop is over: one last try each, never a wait */
	while (c->clients) {
		struct control_client *cl = c->clients;

		if (cl->state == CLIENT_HELD &&
		    send(cl->fd, stopped, sizeof(stopped) - 1,
			 MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			pr_debug("a held control client got no last word: %s",
				 strerror(errno));
		if (cl->state == CLIENT_WRITING && evbuffer_get_length(cl->out)) {
			size_t len = evbuffer_get_length(cl->out);
			unsigned char *p = evbuffer_pullup(cl->out, -1);

			if (p && send(cl->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				pr_debug("a control answer was cut short: %s",
					 strerror(errno));
		}
		client_free(cl);
	}
	evconnlistener_free(c->listener);
	event_free(c->ev_resume);
	unlink(c->path);
	free(c);
}
