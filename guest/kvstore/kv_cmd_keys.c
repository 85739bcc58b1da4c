/*
 * kv_cmd_keys.c - commands on the keyspace as a whole, as Redis 7.0's
 * db.c answers them: DEL, EXISTS, DBSIZE, FLUSHALL, SELECT.
 */
#include <limits.h>

#include "kv_cmd.h"

void kv_cmd_del(struct kv_client *c)
{
	struct kv_db *db = &c->srv->db;
	long long deleted = 0;

	for (size_t j = 1; j < c->argc; j++) {
		/* an expired key is not counted: look it up first */
		if (kv_lookup(c, j))
			deleted += kv_db_delete(db, c->argv[j].p, c->argv[j].len);
	}
	kv_reply_int(&c->reply, deleted);
}

void kv_cmd_exists(struct kv_client *c)
{
	long long count = 0;

	for (size_t j = 1; j < c->argc; j++)
		count += kv_lookup(c, j) != NULL;
	kv_reply_int(&c->reply, count);
}

void kv_cmd_dbsize(struct kv_client *c)
{
	/* like Redis, keys expired but not yet removed still count */
	kv_reply_int(&c->reply, (long long)kv_db_size(&c->srv->db));
}

/* getFlushCommandFlags(): SYNC or ASYNC, or nothing. Both flush now:
 * there is no background thread to hand the memory to. */
void kv_cmd_flushall(struct kv_client *c)
{
	if (!(c->argc == 1 ||
	      (c->argc == 2 && (kv_arg_is(c, 1, "sync") ||
				kv_arg_is(c, 1, "async"))))) {
		kv_reply_error(&c->reply, KV_ERR_SYNTAX);
		return;
	}
	kv_db_flush(&c->srv->db);
	kv_reply_status(&c->reply, "OK");
}

/* One database, numbered 0: SELECT answers like a Redis started with
 * "databases 1". */
void kv_cmd_select(struct kv_client *c)
{
	long long id;

	if (kv_arg_range(c, 1, INT_MIN, INT_MAX, NULL, &id))
		return;
	if (id != 0) {
		kv_reply_error(&c->reply, "DB index is out of range");
		return;
	}
	kv_reply_status(&c->reply, "OK");
}
