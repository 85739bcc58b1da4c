/*
 * kv_db.c - the keyspace and its expiry (see kv_db.h).
 */
#include <stdlib.h>
#include <string.h>

#include "kv_db.h"
#include "kv_util.h"

void kv_db_init(struct kv_db *db, kv_clock_fn clock, void *clock_arg,
		const uint64_t seed[2])
{
	memset(db, 0, sizeof(*db));
	db->seed[0] = seed[0];
	db->seed[1] = seed[1];
	kv_dict_init(&db->keys, seed);
	db->rng = (seed[0] ^ seed[1] ^ 0x9e3779b97f4a7c15ull) | 1;
	db->clock = clock;
	db->clock_arg = clock_arg;
}

static void free_obj_val(union kv_val *v)
{
	kv_obj_free(v->ptr);
}

void kv_db_flush(struct kv_db *db)
{
	kv_dict_clear(&db->keys, free_obj_val);
	free(db->ttl);
	db->ttl = NULL;
	db->nttl = db->ttl_cap = 0;
}

/* --- the array of keys with an expire time --------------------------------- */

static void ttl_add(struct kv_db *db, struct kv_dict_entry *e)
{
	struct kv_obj *o = e->val.ptr;

	if (db->nttl == db->ttl_cap) {
		db->ttl_cap = db->ttl_cap ? db->ttl_cap * 2 : 16;
		db->ttl = kv_realloc(db->ttl, db->ttl_cap * sizeof(*db->ttl));
	}
	o->ttl_slot = db->nttl;
	db->ttl[db->nttl++] = e;
}

/* Forget o's slot: the last entry takes its place. O(1). */
static void ttl_remove(struct kv_db *db, struct kv_obj *o)
{
	struct kv_dict_entry *last = db->ttl[--db->nttl];

	if (o->ttl_slot != db->nttl) {
		db->ttl[o->ttl_slot] = last;
		((struct kv_obj *)last->val.ptr)->ttl_slot = o->ttl_slot;
	}
	o->expire = -1;
	if (db->nttl == 0) {
		free(db->ttl);
		db->ttl = NULL;
		db->ttl_cap = 0;
	} else if (db->ttl_cap > 16 && db->nttl * 4 <= db->ttl_cap) {
		db->ttl_cap /= 2;
		db->ttl = kv_realloc(db->ttl, db->ttl_cap * sizeof(*db->ttl));
	}
}

/* --- keys ------------------------------------------------------------------- */

static bool obj_expired(const struct kv_db *db, const struct kv_obj *o)
{
	return o->expire != -1 && kv_db_now(db) > o->expire;
}

bool kv_db_delete(struct kv_db *db, const void *key, size_t len)
{
	struct kv_dict_entry *e = kv_dict_find(&db->keys, key, len);
	union kv_val old;

	if (!e)
		return false;
	if (((struct kv_obj *)e->val.ptr)->expire != -1)
		ttl_remove(db, e->val.ptr);
	kv_dict_delete(&db->keys, key, len, &old);
	kv_obj_free(old.ptr);
	return true;
}

struct kv_obj *kv_db_lookup(struct kv_db *db, const void *key, size_t len)
{
	struct kv_dict_entry *e = kv_dict_find(&db->keys, key, len);

	if (!e)
		return NULL;
	if (obj_expired(db, e->val.ptr)) {
		kv_db_delete(db, key, len);
		db->expired_keys++;
		return NULL;
	}
	return e->val.ptr;
}

void kv_db_add(struct kv_db *db, const void *key, size_t len,
	       struct kv_obj *o)
{
	kv_db_set(db, key, len, o, false);
}

void kv_db_set(struct kv_db *db, const void *key, size_t len,
	       struct kv_obj *o, bool keepttl)
{
	bool created;
	struct kv_dict_entry *e = kv_dict_add(&db->keys, key, len, &created);
	struct kv_obj *old = created ? NULL : e->val.ptr;

	o->expire = -1;
	if (old && obj_expired(db, old)) {
		keepttl = false;	/* it was gone already */
		db->expired_keys++;
	}
	if (old && old->expire != -1) {
		if (keepttl) {
			/* the new object takes the old one's slot */
			o->expire = old->expire;
			o->ttl_slot = old->ttl_slot;
		} else {
			ttl_remove(db, old);
		}
	}
	e->val.ptr = o;
	kv_obj_free(old);
}

void kv_db_set_expire(struct kv_db *db, const void *key, size_t len,
		      int64_t when)
{
	struct kv_dict_entry *e = kv_dict_find(&db->keys, key, len);
	struct kv_obj *o;

	if (!e)
		return;
	o = e->val.ptr;
	if (o->expire == -1)
		ttl_add(db, e);
	o->expire = when;
}

size_t kv_db_sweep(struct kv_db *db)
{
	size_t removed = 0;

	for (int round = 0; round < KV_EXPIRE_ROUNDS && db->nttl; round++) {
		size_t expired = 0;

		for (int i = 0; i < KV_EXPIRE_SAMPLE && db->nttl; i++) {
			struct kv_dict_entry *e =
				db->ttl[kv_db_rand(db) % db->nttl];

			if (obj_expired(db, e->val.ptr)) {
				/* e's own key is only read before e is
				 * freed */
				kv_db_delete(db, e->key, e->keylen);
				db->expired_keys++;
				expired++;
			}
		}
		removed += expired;
		if (expired * 4 <= KV_EXPIRE_SAMPLE)
			break;
	}
	return removed;
}
