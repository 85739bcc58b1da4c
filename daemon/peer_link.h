/*
 * peer_link.h - what both ends of the checkpoint link do alike: the
 * HELLO each sends and checks, the heartbeats that tell a live peer from
 * a lost one, and opening the link (the primary connects, the secondary
 * listens).
 *
 * Nothing here keeps state of its own: each daemon holds a struct
 * peer_watch (and the primary a struct peer_connect) and calls these
 * from its tick and its record handler.
 */
#ifndef COLO_PEER_LINK_H
#define COLO_PEER_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/listener.h>

#include "channel.h"
#include "colo_proto.h"
#include "guest.h"

/* --- HELLO ---------------------------------------------------------------- */

/*
 * Our HELLO: role, page size, the hash of our guest's binary and
 * libraries, and (the primary's) compress level. 0, or a negative errno
 * (logged) when our guest's layout cannot be read.
 */
int peer_hello_ours(struct colo_hello *h, enum colo_role role, size_t page_size,
		    const struct guest *g, unsigned compress_level);

/* Send it: 0, or channel_send()'s error. */
int peer_hello_send(struct channel *ch, const struct colo_hello *ours);

/*
 * The peer's HELLO payload, decoded and checked against ours: the other
 * role, our protocol version, page size and guest hash, and (a primary's
 * check of the answer) our session echoed. 0 with the peer's in *theirs
 * (may be NULL), or -EPROTO with the first mismatch logged, naming the
 * peer's value and ours.
 */
int peer_hello_check(const struct colo_hello *ours, const uint8_t *payload,
		     uint32_t len, struct colo_hello *theirs);

/* --- heartbeats ----------------------------------------------------------- */

/*
 * A live peer sends a HEARTBEAT every timeout_ms / 4; silence for
 * timeout_ms is its loss. Our own stall is not the peer's fault: a tick
 * later than timeout_ms / 2 gives it a fresh window.
 */
struct peer_watch {
	int64_t last_rx_ms;		/* the peer's last record came then */
	int64_t last_hb_ms;		/* our last HEARTBEAT went then */
	int64_t last_tick_ms;		/* our loop's last tick; 0: none yet */
	int64_t timeout_ms;		/* [ha] heartbeat_timeout_ms */
};

void peer_watch_init(struct peer_watch *w, unsigned timeout_ms);

/* A link begins: the peer's window opens now, our first HEARTBEAT is
 * due a quarter of the timeout later. */
void peer_watch_start(struct peer_watch *w, int64_t now);

/* A record came from the peer. */
void peer_watch_heard(struct peer_watch *w, int64_t now);

/* How long the peer has been silent (status: heartbeat_age_ms). */
int64_t peer_watch_silence_ms(const struct peer_watch *w, int64_t now);

/*
 * Our loop ticked. A tick much later than due means this daemon did not
 * run (stopped, or starved by the host): the peer's silence meanwhile is
 * ours, and what it sent is queued and read next, so it gets a fresh
 * window (logged, naming peer: "the primary"). How late the tick was
 * when that happened, else 0.
 */
int64_t peer_watch_tick(struct peer_watch *w, int64_t now, const char *peer);

/* Send a HEARTBEAT on ch when one is due. A failed send has closed ch,
 * and its closed() callback says why. */
void peer_watch_beat(struct peer_watch *w, struct channel *ch, int64_t now);

/* Silent for longer than the timeout? Then true, and why says so ("no
 * word from <peer> for N ms"). */
bool peer_watch_lost(const struct peer_watch *w, int64_t now, const char *peer,
		     char *why, size_t len);

/* --- the primary connects ------------------------------------------------- */

/*
 * One non-blocking connect() at a time to the secondary, tried again
 * retry_ms after a failure. A failure is logged the first time and each
 * time its reason changes; the same reason again is quiet, so a
 * secondary that is not up yet costs one line, not one a try.
 */
struct peer_connect {
	const char *addr;		/* [checkpoint] peer: "IPV4:PORT" */
	int retry_ms;			/* after a failed attempt */
	int fd;				/* a connect() in progress, or -1 */
	int64_t next_ms;		/* no new attempt before then */
	int last_err;			/* errno of the last failure logged;
					 * 0 after a success */
};

void peer_connect_init(struct peer_connect *pc, const char *addr, int retry_ms);

/*
 * One step, from the tick: begin an attempt when none is in progress
 * and next_ms has come, and see whether the one in progress finished. A
 * connected socket (>= 0, the caller's from now on); -EINPROGRESS while
 * there is none yet; or, when this attempt failed, its negative errno,
 * with why set to "cannot connect to the secondary at ADDR: REASON".
 */
int peer_connect_step(struct peer_connect *pc, int64_t now, char *why,
		      size_t len);

/* Give up the attempt in progress, if any. */
void peer_connect_close(struct peer_connect *pc);

/* --- the secondary listens ------------------------------------------------ */

/*
 * Listen on addr ("IPV4:PORT"); cb gets every connection. 0, or a
 * negative errno (logged, with what to change).
 */
int peer_listen(struct event_base *base, const char *addr, evconnlistener_cb cb,
		void *arg, struct evconnlistener **out);

/* "IPV4:PORT" of an accepted peer, for logs and status. */
void peer_name(const struct sockaddr *sa, char *buf, size_t len);

#endif /* COLO_PEER_LINK_H */
