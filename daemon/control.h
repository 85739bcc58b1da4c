/*
 * control.h - the daemons' unix control socket, and coloctl's side of it.
 *
 * A client connects, writes one command line ("status json", "checkpoint
 * wait", "set compress_level 6"), and reads the answer until the daemon
 * closes the connection: a first line "ok" or "error", then text.
 *
 * Most answers are written at once. A handler may instead hold the
 * request (control_reply_later()) and answer it later from anywhere in
 * the daemon (control_answer()): the primary answers "checkpoint wait"
 * when that checkpoint is done. A client that misbehaves (no newline in
 * CONTROL_MAX_LINE bytes, a byte that is not text, no whole line within
 * CONTROL_IDLE_S of connecting, its answer not all taken within
 * CONTROL_IDLE_S) gets an "error" if it can still take one and is
 * dropped, and one that goes away while its answer is held is
 * forgotten; neither is ever fatal to the daemon (no SIGPIPE: answers
 * are sent MSG_NOSIGNAL), nor blocks its loop (every socket is
 * non-blocking; what is queued for a client is its one answer). At most
 * CONTROL_MAX_CLIENTS are connected at once: a new one past that
 * replaces the oldest that has not sent its whole line yet, or is
 * refused with an "error" when every one has (see docs/security.md).
 */
#ifndef COLO_CONTROL_H
#define COLO_CONTROL_H

#include <stdint.h>
#include <sys/types.h>

#include <event2/buffer.h>
#include <event2/event.h>

#define CONTROL_MAX_ARGS	8
#define CONTROL_MAX_LINE	4096	/* bytes of a command line, at most
					 * (its newline not counted) */
#define CONTROL_MAX_HELD	64	/* requests held at once, at most */
/* Seconds a client has to send its whole line, counted from its connect
 * (not from its last byte: one byte a second does not keep it), and
 * again to take its whole answer once it is written. */
#define CONTROL_IDLE_S		10
/* Clients connected at once, at most (held ones included); each costs
 * the daemon one file descriptor and up to CONTROL_MAX_LINE + 1 bytes
 * of request, then its answer. */
#define CONTROL_MAX_CLIENTS	128

/* A handler's return: the answer comes later (see control_reply_later). */
#define CONTROL_LATER		1

/* Run one command; write the answer's text to reply. 0 for "ok", a
 * negative errno for "error" (the reply then says what was wrong), or
 * CONTROL_LATER from control_reply_later(). */
typedef int (*control_handler_fn)(void *opaque, int argc, char **argv,
				  struct evbuffer *reply);

struct control;

/*
 * The request at the head of in, the bytes a client sent so far: 1 when
 * its line is whole, *line then taken from in, malloc'ed (the caller
 * frees it) and split in place at blanks (space, tab, CR) into
 * argv[0 .. *argc), argv[*argc] = NULL, at most CONTROL_MAX_ARGS words
 * (the rest are dropped); 0 while its newline has not come; -EMSGSIZE
 * when none came in CONTROL_MAX_LINE bytes. The grammar of a request,
 * without the socket: nothing is logged.
 */
int control_parse(struct evbuffer *in, char **line, int *argc,
		  char *argv[CONTROL_MAX_ARGS + 1]);

/*
 * Listen on path (its directory is created, 0700, or 0750 with a group;
 * a stale socket replaced, a live one refused: another daemon uses it).
 * The socket is 0600, or 0660 of group (a name; NULL or "": none); a
 * client is served only if SO_PEERCRED says it is root, the daemon's
 * own user, or (with a group) of that group, whatever the socket's mode
 * became. -ENOENT (logged) for a group that does not exist.
 */
int control_open(struct control **out, struct event_base *base,
		 const char *path, const char *group, control_handler_fn fn,
		 void *opaque);
/* Who runs the commands from now on (the secondary's code hands the
 * socket to the primary's on takeover); open connections stay. */
void control_set_handler(struct control *c, control_handler_fn fn,
			 void *opaque);
/* Held requests get "error" (the daemon stops); every client is closed. */
void control_close(struct control *c);

/*
 * Only in a handler: hold the answer of the request being run until
 * control_answer() reaches tag, a number in the caller's own order (the
 * primary's: the checkpoint awaited). Returns CONTROL_LATER, for the
 * handler to return; what it wrote to reply is dropped. Past
 * CONTROL_MAX_HELD held requests the client gets an error instead.
 */
int control_reply_later(struct control *c, uint64_t tag);

/*
 * Answer every held request whose tag is <= up_to (UINT64_MAX: all of
 * them): "ok" (ret 0) or "error" (ret < 0), then text. Returns how many
 * were answered; clients that left meanwhile were forgotten already.
 * Safe from any callback, handlers included. O(held requests).
 */
int control_answer(struct control *c, uint64_t up_to, int ret,
		   const char *text);

/* The socket's directory (control_dir.c): made for path when missing
 * (0700, 0750 for gid); refused (-EPERM, said) when others may write
 * it; the [control] group's id ((gid_t)-1 for none). */
int control_make_dir(const char *path, gid_t gid);
int control_check_dir(const char *path, gid_t gid);
int control_group_id(const char *group, gid_t *gid);

/* The address of the socket at path, or -ENAMETOOLONG (said) if it does
 * not fit: never a cut path, which would name another socket. */
struct sockaddr_un;
int control_socket_address(const char *path, struct sockaddr_un *sun);

/*
 * coloctl's side (control_client.c): send line, wait up to timeout_ms
 * for the whole answer.
 * *reply is malloc'ed text after the status line. 0 when the daemon said
 * "ok", -EREMOTEIO when it said "error", another negative errno when it
 * could not be asked or went away before answering (logged, beginning
 * "no daemon answers on PATH", with what to do), or -ETIMEDOUT.
 */
int control_request(const char *path, const char *line, int timeout_ms,
		    char **reply);

#endif /* COLO_CONTROL_H */
