/*
 * kv_client.c - a client: input, parsing, running, output (see
 * kv_client.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kv_client.h"
#include "kv_cmd.h"
#include "kv_util.h"

#define QUERY_MIN_CAP	(16u << 10)	/* Redis reads 16 KiB at a time */

struct kv_client *kv_client_new(struct kv_server *srv)
{
	struct kv_client *c = kv_calloc(1, sizeof(*c));

	c->srv = srv;
	resp_init(&c->req);
	srv->clients++;
	srv->total_connections++;
	return c;
}

void kv_client_free(struct kv_client *c)
{
	if (!c)
		return;
	c->srv->clients--;
	resp_free(&c->req);
	kv_reply_free(&c->reply);
	free(c->qbuf);
	free(c);
}

/* Room for len more bytes at qlen; the unread bytes slide to the front
 * first (they are one request and what follows: its offsets are from
 * its own first byte, so they stay right). */
static void query_room(struct kv_client *c, size_t len)
{
	size_t need, cap;

	if (c->qpos && c->qlen + len > c->qcap) {
		memmove(c->qbuf, c->qbuf + c->qpos, c->qlen - c->qpos);
		c->qlen -= c->qpos;
		c->qpos = 0;
	}
	need = c->qlen + len;
	if (need <= c->qcap)
		return;
	cap = c->qcap ? c->qcap : QUERY_MIN_CAP;
	while (cap < need)
		cap *= 2;
	c->qbuf = kv_realloc(c->qbuf, cap);
	c->qcap = cap;
}

/* After a run: drop what was read; give a big empty buffer back. */
static void query_trim(struct kv_client *c)
{
	if (c->qpos < c->qlen)
		return;
	c->qpos = c->qlen = 0;
	if (c->qcap > KV_QUERY_KEEP) {
		free(c->qbuf);
		c->qbuf = NULL;
		c->qcap = 0;
	}
}

int kv_client_feed(struct kv_client *c, const void *data, size_t len)
{
	if (kv_client_dead(c) || kv_client_done(c))
		return 0;		/* closing: input is ignored */
	if (kv_client_query_len(c) + len > KV_QUERY_MAX) {
		c->flags |= KV_CLIENT_CLOSE_ASAP;
		return -ENOBUFS;
	}
	if (len) {
		query_room(c, len);
		memcpy(c->qbuf + c->qlen, data, len);
		c->qlen += len;
	}
	kv_client_run(c);
	return 0;
}

/* Parse on; run the request when whole. 1 ran or skipped one, 0 needs
 * more input, -EPROTO closes. */
static int client_step(struct kv_client *c)
{
	char *req = c->qbuf + c->qpos;
	int ret = resp_parse(&c->req, req, c->qlen - c->qpos);

	if (ret == 0)
		return 0;
	if (ret < 0) {
		/* Redis replies the error, then closes; what follows is not
		 * read */
		kv_reply_errorf(&c->reply, "%s", c->req.err);
		c->flags |= KV_CLIENT_CLOSE_AFTER_REPLY;
		return ret;
	}
	c->argv = resp_args(&c->req, req);
	c->argc = c->req.argc;
	if (c->argc > 0) {
		kv_cmd_dispatch(c);
		c->srv->total_commands++;
	}
	c->qpos += c->req.pos;
	c->argv = NULL;
	c->argc = 0;
	resp_next(&c->req);
	return 1;
}

void kv_client_run(struct kv_client *c)
{
	while (c->qpos < c->qlen && kv_client_wants_input(c)) {
		if (client_step(c) <= 0)
			break;
	}
	query_trim(c);
}
