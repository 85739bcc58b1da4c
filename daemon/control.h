/*
 * control.h - the daemons' unix control socket, and coloctl's side of it.
 *
 * A client connects, writes one command line ("status json", "checkpoint",
 * "set compress_level 6"), and reads the answer until the daemon closes
 * the connection: a first line "ok" or "error", then text. A client that
 * misbehaves (no newline in 4 KiB, slow) is dropped; never the daemon.
 */
#ifndef COLO_CONTROL_H
#define COLO_CONTROL_H

#include <event2/buffer.h>
#include <event2/event.h>

#define CONTROL_MAX_ARGS	8

/* Run one command; write the answer's text to reply. 0 for "ok", a
 * negative errno for "error" (the reply then says what was wrong). */
typedef int (*control_handler_fn)(void *opaque, int argc, char **argv,
				  struct evbuffer *reply);

struct control;

/* Listen on path (its directory is created; a stale socket replaced, a
 * live one refused: another daemon uses it). */
int control_open(struct control **out, struct event_base *base,
		 const char *path, control_handler_fn fn, void *opaque);
void control_close(struct control *c);

/*
 * coloctl's side: send line, wait up to timeout_ms for the whole answer.
 * *reply is malloc'ed text after the status line. 0 when the daemon said
 * "ok", -EREMOTEIO when it said "error", another negative errno when it
 * could not be asked (logged, with what to do).
 */
int control_request(const char *path, const char *line, int timeout_ms,
		    char **reply);

#endif /* COLO_CONTROL_H */
