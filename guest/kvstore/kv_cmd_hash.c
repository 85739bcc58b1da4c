/*
 * kv_cmd_hash.c - the hash commands, as Redis 7.0's t_hash.c answers
 * them. A hash that becomes empty is deleted.
 */
#include "kv_cmd.h"

void kv_cmd_hset(struct kv_client *c)
{
	struct kv_db *db = &c->srv->db;
	struct kv_obj *o;
	long long created = 0;

	if (c->argc % 2 == 1) {
		kv_reply_arity(c);
		return;
	}
	o = kv_lookup(c, 1);
	if (kv_check_type(c, o, KV_HASH))
		return;
	if (!o) {
		o = kv_obj_new(KV_HASH, NULL, db->seed);
		kv_db_add(db, c->argv[1].p, c->argv[1].len, o);
	}
	for (size_t j = 2; j < c->argc; j += 2) {
		bool fresh;
		struct kv_dict_entry *e = kv_dict_add(o->v.hash, c->argv[j].p,
						      c->argv[j].len, &fresh);

		if (!fresh)
			kv_str_free(e->val.ptr);
		e->val.ptr = kv_str_new(c->argv[j + 1].p, c->argv[j + 1].len);
		created += fresh;
	}
	kv_reply_int(&c->reply, created);
}

void kv_cmd_hget(struct kv_client *c)
{
	struct kv_obj *o = kv_lookup(c, 1);
	struct kv_dict_entry *e;
	struct kv_str *v;

	if (!o) {
		kv_reply_null(&c->reply);
		return;
	}
	if (kv_check_type(c, o, KV_HASH))
		return;
	e = kv_dict_find(o->v.hash, c->argv[2].p, c->argv[2].len);
	if (!e) {
		kv_reply_null(&c->reply);
		return;
	}
	v = e->val.ptr;
	kv_reply_bulk(&c->reply, v->data, v->len);
}

void kv_cmd_hdel(struct kv_client *c)
{
	struct kv_obj *o = kv_lookup(c, 1);
	long long deleted = 0;

	if (!o) {
		kv_reply_int(&c->reply, 0);
		return;
	}
	if (kv_check_type(c, o, KV_HASH))
		return;
	for (size_t j = 2; j < c->argc; j++) {
		union kv_val old;

		if (kv_dict_delete(o->v.hash, c->argv[j].p, c->argv[j].len,
				   &old)) {
			kv_str_free(old.ptr);
			deleted++;
		}
		if (kv_dict_size(o->v.hash) == 0) {
			kv_db_delete(&c->srv->db, c->argv[1].p, c->argv[1].len);
			break;
		}
	}
	kv_reply_int(&c->reply, deleted);
}

void kv_cmd_hlen(struct kv_client *c)
{
	struct kv_obj *o = kv_lookup(c, 1);

	if (!o) {
		kv_reply_int(&c->reply, 0);
		return;
	}
	if (kv_check_type(c, o, KV_HASH))
		return;
	kv_reply_int(&c->reply, (long long)kv_dict_size(o->v.hash));
}
