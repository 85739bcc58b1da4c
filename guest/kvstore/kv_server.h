/*
 * kv_server.h - the server: the one keyspace, the clock it runs on, and
 * what INFO reports. The guest (kvstore.c) and the host test each own one
 * struct kv_server; the engine has no global state of its own.
 */
#ifndef KV_SERVER_H
#define KV_SERVER_H

#include <stdint.h>

#include "kv_db.h"

/* How often kv_server_cron() wants to run (Redis's hz, the same 10). */
#define KV_CRON_HZ		10
#define KV_CRON_MS		(1000 / KV_CRON_HZ)

/* Clients a server takes at once (Redis: maxclients, 10000 there); the
 * next is told Redis's "max number of clients reached" and closed. */
#define KV_MAX_CLIENTS		128

/* What the INFO reply calls us. */
#define KV_REDIS_VERSION	"7.0.15"	/* the Redis whose replies we give */
#define KV_VERSION		"0.1.0"

struct kv_server {
	struct kv_db db;
	uint16_t port;			/* TCP port served, for INFO */
	int64_t start_ms;		/* clock at kv_server_init() */
	unsigned clients;		/* connected now */
	uint64_t total_connections;	/* accepted since start */
	uint64_t rejected_connections;	/* refused: KV_MAX_CLIENTS */
	uint64_t total_commands;	/* run since start (or RESETSTAT) */
};

void kv_server_init(struct kv_server *s, kv_clock_fn clock, void *clock_arg,
		    const uint64_t seed[2], uint16_t port);
void kv_server_free(struct kv_server *s);

/* Background work, every KV_CRON_MS: active expiry. */
void kv_server_cron(struct kv_server *s);

/* Is there room for one more client? Counts it as refused when not. */
int kv_server_admit(struct kv_server *s);

#endif /* KV_SERVER_H */
