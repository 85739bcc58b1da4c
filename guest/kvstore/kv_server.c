/*
 * kv_server.c - the server's state and cron (see kv_server.h).
 */
#include <errno.h>
#include <string.h>

#include "kv_server.h"

void kv_server_init(struct kv_server *s, kv_clock_fn clock, void *clock_arg,
		    const uint64_t seed[2], uint16_t port)
{
	memset(s, 0, sizeof(*s));
	kv_db_init(&s->db, clock, clock_arg, seed);
	s->port = port;
	s->start_ms = kv_db_now(&s->db);
}

void kv_server_free(struct kv_server *s)
{
	kv_db_flush(&s->db);
}

void kv_server_cron(struct kv_server *s)
{
	kv_db_sweep(&s->db);
}

int kv_server_admit(struct kv_server *s)
{
	if (s->clients < KV_MAX_CLIENTS)
		return 0;
	s->rejected_connections++;
	return -EMFILE;
}
