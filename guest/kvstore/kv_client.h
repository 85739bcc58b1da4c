/*
 * kv_client.h - one client connection of the engine: its query buffer,
 * the parser reading it, its reply buffer and its state. The transport
 * (lwIP in the guest, a socket in the host test) feeds it bytes, takes
 * its output, and closes it when it says so.
 *
 *     kv_client_feed(c, data, len);         bytes arrived: run what is whole
 *     out = kv_client_output(c, &n); ...;   send some, then
 *     kv_client_consume(c, sent);
 *     kv_client_run(c);                     after output drained: go on
 *     kv_client_dead(c) / kv_client_done(c) close now / once sent
 *
 * Memory per client is bounded:
 *   KV_QUERY_MAX    bytes of input held: the request being read (all of
 *                   its arguments live in the query buffer) and what
 *                   follows it. More closes the client with no reply,
 *                   as Redis does past client-query-buffer-limit (1 GiB
 *                   there, 16 MiB here).
 *   KV_REPLY_PAUSE  a client stops running commands while this much of
 *                   its output waits (the rest of a pipeline stays in
 *                   the query buffer; the transport stops reading), so
 *                   a client that floods without reading is held back.
 *   KV_REPLY_MAX    bytes of output waiting (kv_reply.h): one reply
 *                   larger than that closes the client.
 *   and the parser's limits (resp.h): 8 MiB a bulk, 1 Mi arguments.
 */
#ifndef KV_CLIENT_H
#define KV_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "kv_reply.h"
#include "kv_server.h"
#include "resp.h"

#define KV_QUERY_MAX		(16u << 20)
#define KV_REPLY_PAUSE		(64u << 10)
/* An emptied query buffer larger than this is given back. */
#define KV_QUERY_KEEP		(64u << 10)

#define KV_CLIENT_CLOSE_AFTER_REPLY	(1u << 0)	/* QUIT, protocol error */
#define KV_CLIENT_CLOSE_ASAP		(1u << 1)	/* over a limit */

struct kv_client {
	struct kv_server *srv;
	char *qbuf;			/* input: [qpos, qlen) is unread */
	size_t qpos, qlen, qcap;
	struct resp_parser req;		/* reads the request at qpos */
	struct resp_arg *argv;		/* the command being run */
	size_t argc;
	struct kv_reply reply;
	unsigned flags;			/* KV_CLIENT_* */
};

/* A new client of srv (counted in its INFO). */
struct kv_client *kv_client_new(struct kv_server *srv);
void kv_client_free(struct kv_client *c);

/* Bytes arrived: keep them, and run every whole request (until output
 * piles up). 0, or -ENOBUFS past KV_QUERY_MAX (the client is dead). */
int kv_client_feed(struct kv_client *c, const void *data, size_t len);

/* Run the requests that are whole, while output is below KV_REPLY_PAUSE
 * and the client is not closing. */
void kv_client_run(struct kv_client *c);

/* The output to send (none once the client is dead). */
static inline const char *kv_client_output(const struct kv_client *c,
					   size_t *len)
{
	*len = c->reply.overflow ? 0 : kv_reply_pending(&c->reply);
	return kv_reply_data(&c->reply);
}

static inline void kv_client_consume(struct kv_client *c, size_t n)
{
	kv_reply_consume(&c->reply, n);
}

/* Close now: a limit was passed; its output is not worth sending. */
static inline bool kv_client_dead(const struct kv_client *c)
{
	return (c->flags & KV_CLIENT_CLOSE_ASAP) || c->reply.overflow;
}

/* Close once the output is sent (QUIT, a protocol error). */
static inline bool kv_client_done(const struct kv_client *c)
{
	return c->flags & KV_CLIENT_CLOSE_AFTER_REPLY;
}

/* Holding whole requests back until its output drains. */
static inline bool kv_client_paused(const struct kv_client *c)
{
	return kv_reply_pending(&c->reply) >= KV_REPLY_PAUSE;
}

/* Would it take more input now? (Not paused, not closing.) */
static inline bool kv_client_wants_input(const struct kv_client *c)
{
	return !kv_client_paused(c) && !kv_client_done(c) &&
	       !kv_client_dead(c);
}

/* Bytes of input it holds (the tests watch the bounds). */
static inline size_t kv_client_query_len(const struct kv_client *c)
{
	return c->qlen - c->qpos;
}

#endif /* KV_CLIENT_H */
