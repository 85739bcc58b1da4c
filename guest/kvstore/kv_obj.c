/*
 * kv_obj.c - strings and typed values (see kv_obj.h).
 */
#include <stdlib.h>
#include <string.h>

#include "kv_list.h"
#include "kv_obj.h"
#include "kv_util.h"
#include "kv_zset.h"

struct kv_str *kv_str_new(const void *data, size_t len)
{
	struct kv_str *s = kv_malloc(sizeof(*s) + len + 1);

	s->len = len;
	if (len)
		memcpy(s->data, data, len);
	s->data[len] = '\0';
	return s;
}

struct kv_str *kv_str_append(struct kv_str *a, const void *b, size_t len)
{
	a = kv_realloc(a, sizeof(*a) + a->len + len + 1);
	if (len)
		memcpy(a->data + a->len, b, len);
	a->len += len;
	a->data[a->len] = '\0';
	return a;
}

void kv_str_free(struct kv_str *s)
{
	free(s);
}

static void free_str_val(union kv_val *v)
{
	kv_str_free(v->ptr);
}

static struct kv_dict *dict_new(const uint64_t seed[2])
{
	struct kv_dict *d = kv_malloc(sizeof(*d));

	kv_dict_init(d, seed);
	return d;
}

struct kv_obj *kv_obj_new(enum kv_type type, struct kv_str *str,
			  const uint64_t seed[2])
{
	struct kv_obj *o = kv_calloc(1, sizeof(*o));

	o->type = type;
	o->expire = -1;
	switch (type) {
	case KV_STRING:
		o->v.str = str;
		break;
	case KV_LIST:
		o->v.list = kv_list_new();
		break;
	case KV_SET:
		o->v.set = dict_new(seed);
		break;
	case KV_HASH:
		o->v.hash = dict_new(seed);
		break;
	case KV_ZSET:
		o->v.zset = kv_zset_new(seed);
		break;
	}
	return o;
}

void kv_obj_free(struct kv_obj *o)
{
	if (!o)
		return;
	switch (o->type) {
	case KV_STRING:
		kv_str_free(o->v.str);
		break;
	case KV_LIST:
		kv_list_free(o->v.list);
		break;
	case KV_SET:
		kv_dict_clear(o->v.set, NULL);
		free(o->v.set);
		break;
	case KV_HASH:
		kv_dict_clear(o->v.hash, free_str_val);
		free(o->v.hash);
		break;
	case KV_ZSET:
		kv_zset_free(o->v.zset);
		break;
	}
	free(o);
}

size_t kv_obj_len(const struct kv_obj *o)
{
	switch (o->type) {
	case KV_LIST:
		return o->v.list->len;
	case KV_SET:
		return kv_dict_size(o->v.set);
	case KV_HASH:
		return kv_dict_size(o->v.hash);
	case KV_ZSET:
		return kv_zset_card(o->v.zset);
	case KV_STRING:
	default:
		return 1;
	}
}
