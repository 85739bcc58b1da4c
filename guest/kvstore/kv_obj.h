/*
 * kv_obj.h - the values of the keyspace: byte strings, and objects of the
 * five types a key may hold (Redis's object.c in small).
 */
#ifndef KV_OBJ_H
#define KV_OBJ_H

#include <stddef.h>
#include <stdint.h>

#include "kv_dict.h"

struct kv_list;
struct kv_zset;

/* A binary-safe string: len bytes, then a NUL for C routines (strtod). */
struct kv_str {
	size_t len;
	char data[];
};

struct kv_str *kv_str_new(const void *data, size_t len);
/* a with b appended; a may move. */
struct kv_str *kv_str_append(struct kv_str *a, const void *b, size_t len);
void kv_str_free(struct kv_str *s);

enum kv_type {
	KV_STRING,
	KV_LIST,
	KV_SET,
	KV_HASH,
	KV_ZSET,
};

/* What a key holds. */
struct kv_obj {
	enum kv_type type;
	int64_t expire;			/* when it expires, in ms of the
					 * db's clock; -1: never */
	size_t ttl_slot;		/* its place in kv_db.ttl while
					 * expire != -1 */
	union {
		struct kv_str *str;	/* KV_STRING */
		struct kv_list *list;	/* KV_LIST */
		struct kv_dict *set;	/* KV_SET: members, no values */
		struct kv_dict *hash;	/* KV_HASH: field -> struct kv_str * */
		struct kv_zset *zset;	/* KV_ZSET */
	} v;
};

/* A new object of type: an empty container, or for KV_STRING the string
 * str (taken over). seed keys the hash tables of sets and hashes. */
struct kv_obj *kv_obj_new(enum kv_type type, struct kv_str *str,
			  const uint64_t seed[2]);
void kv_obj_free(struct kv_obj *o);

/* Elements of a container (1 for a string). */
size_t kv_obj_len(const struct kv_obj *o);

#endif /* KV_OBJ_H */
