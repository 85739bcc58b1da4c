/*
 * kv_cmd_set.c - the set commands, as Redis 7.0's t_set.c answers them.
 * A set that becomes empty is deleted.
 */
#include "kv_cmd.h"

void kv_cmd_sadd(struct kv_client *c)
{
	struct kv_db *db = &c->srv->db;
	struct kv_obj *o = kv_lookup(c, 1);
	long long added = 0;

	if (kv_check_type(c, o, KV_SET))
		return;
	if (!o) {
		o = kv_obj_new(KV_SET, NULL, db->seed);
		kv_db_add(db, c->argv[1].p, c->argv[1].len, o);
	}
	for (size_t j = 2; j < c->argc; j++) {
		bool created;

		kv_dict_add(o->v.set, c->argv[j].p, c->argv[j].len, &created);
		added += created;
	}
	kv_reply_int(&c->reply, added);
}

void kv_cmd_srem(struct kv_client *c)
{
	struct kv_obj *o = kv_lookup(c, 1);
	long long deleted = 0;

	if (!o) {
		kv_reply_int(&c->reply, 0);
		return;
	}
	if (kv_check_type(c, o, KV_SET))
		return;
	for (size_t j = 2; j < c->argc; j++) {
		deleted += kv_dict_delete(o->v.set, c->argv[j].p,
					  c->argv[j].len, NULL);
		if (kv_dict_size(o->v.set) == 0) {
			kv_db_delete(&c->srv->db, c->argv[1].p, c->argv[1].len);
			break;
		}
	}
	kv_reply_int(&c->reply, deleted);
}

void kv_cmd_scard(struct kv_client *c)
{
	struct kv_obj *o = kv_lookup(c, 1);

	if (!o) {
		kv_reply_int(&c->reply, 0);
		return;
	}
	if (kv_check_type(c, o, KV_SET))
		return;
	kv_reply_int(&c->reply, (long long)kv_dict_size(o->v.set));
}

void kv_cmd_sismember(struct kv_client *c)
{
	struct kv_obj *o = kv_lookup(c, 1);

	if (!o) {
		kv_reply_int(&c->reply, 0);
		return;
	}
	if (kv_check_type(c, o, KV_SET))
		return;
	kv_reply_int(&c->reply, kv_dict_find(o->v.set, c->argv[2].p,
					     c->argv[2].len) != NULL);
}

/* Reply a random member of o's set and remove it. */
static void pop_random(struct kv_client *c, struct kv_obj *o)
{
	struct kv_dict_entry *e = kv_dict_random(o->v.set, &c->srv->db.rng);

	kv_reply_bulk(&c->reply, e->key, e->keylen);
	kv_dict_delete(o->v.set, e->key, e->keylen, NULL);
}

/* spopWithCountCommand(): count members, all of them when count covers
 * the set (in no defined order, as in Redis). */
static void spop_count(struct kv_client *c)
{
	struct kv_obj *o;
	long long count;
	size_t size;

	if (kv_arg_positive(c, 2, &count))
		return;
	o = kv_lookup(c, 1);
	if (!o) {
		kv_reply_array(&c->reply, 0);
		return;
	}
	if (kv_check_type(c, o, KV_SET))
		return;
	if (count == 0) {
		kv_reply_array(&c->reply, 0);
		return;
	}
	size = kv_dict_size(o->v.set);
	if ((unsigned long long)count > size)
		count = (long long)size;
	kv_reply_array(&c->reply, count);
	while (count--)
		pop_random(c, o);
	if (kv_dict_size(o->v.set) == 0)
		kv_db_delete(&c->srv->db, c->argv[1].p, c->argv[1].len);
}

void kv_cmd_spop(struct kv_client *c)
{
	struct kv_obj *o;

	if (c->argc == 3) {
		spop_count(c);
		return;
	}
	if (c->argc > 3) {
		kv_reply_error(&c->reply, KV_ERR_SYNTAX);
		return;
	}
	o = kv_lookup(c, 1);
	if (!o) {
		kv_reply_null(&c->reply);
		return;
	}
	if (kv_check_type(c, o, KV_SET))
		return;
	pop_random(c, o);
	if (kv_dict_size(o->v.set) == 0)
		kv_db_delete(&c->srv->db, c->argv[1].p, c->argv[1].len);
}
