/*
 * kv_cmd_list.c - the list commands, as Redis 7.0's t_list.c answers
 * them. A list that becomes empty is deleted, as there.
 */
#include "kv_cmd.h"
#include "kv_list.h"

enum { LIST_HEAD, LIST_TAIL };

static void push_generic(struct kv_client *c, int where)
{
	struct kv_db *db = &c->srv->db;
	struct kv_obj *o = kv_lookup(c, 1);

	if (kv_check_type(c, o, KV_LIST))
		return;
	if (!o) {
		o = kv_obj_new(KV_LIST, NULL, db->seed);
		kv_db_add(db, c->argv[1].p, c->argv[1].len, o);
	}
	for (size_t j = 2; j < c->argc; j++) {
		struct kv_str *s = kv_str_new(c->argv[j].p, c->argv[j].len);

		if (where == LIST_HEAD)
			kv_list_push_head(o->v.list, s);
		else
			kv_list_push_tail(o->v.list, s);
	}
	kv_reply_int(&c->reply, (long long)o->v.list->len);
}

void kv_cmd_lpush(struct kv_client *c)
{
	push_generic(c, LIST_HEAD);
}

void kv_cmd_rpush(struct kv_client *c)
{
	push_generic(c, LIST_TAIL);
}

static void reply_popped(struct kv_client *c, struct kv_list *l, int where)
{
	struct kv_str *s = where == LIST_HEAD ? kv_list_pop_head(l) :
			   kv_list_pop_tail(l);

	kv_reply_bulk(&c->reply, s->data, s->len);
	kv_str_free(s);
}

/* popGenericCommand(): one element as a bulk, or with a count an array
 * (from the tail for RPOP, in popping order). */
static void pop_generic(struct kv_client *c, int where)
{
	bool hascount = c->argc == 3;
	long long count = 0;
	struct kv_obj *o;

	if (c->argc > 3) {
		kv_reply_arity(c);
		return;
	}
	if (hascount && kv_arg_positive(c, 2, &count))
		return;
	o = kv_lookup(c, 1);
	if (!o) {
		if (hascount)
			kv_reply_null_array(&c->reply);
		else
			kv_reply_null(&c->reply);
		return;
	}
	if (kv_check_type(c, o, KV_LIST))
		return;
	if (hascount && count == 0) {
		kv_reply_array(&c->reply, 0);
		return;
	}
	if (!hascount) {
		reply_popped(c, o->v.list, where);
	} else {
		long long n = count < (long long)o->v.list->len ? count :
			      (long long)o->v.list->len;

		kv_reply_array(&c->reply, n);
		while (n--)
			reply_popped(c, o->v.list, where);
	}
	if (o->v.list->len == 0)
		kv_db_delete(&c->srv->db, c->argv[1].p, c->argv[1].len);
}

void kv_cmd_lpop(struct kv_client *c)
{
	pop_generic(c, LIST_HEAD);
}

void kv_cmd_rpop(struct kv_client *c)
{
	pop_generic(c, LIST_TAIL);
}

void kv_cmd_llen(struct kv_client *c)
{
	struct kv_obj *o = kv_lookup(c, 1);

	if (!o) {
		kv_reply_int(&c->reply, 0);
		return;
	}
	if (kv_check_type(c, o, KV_LIST))
		return;
	kv_reply_int(&c->reply, (long long)o->v.list->len);
}

void kv_cmd_lrange(struct kv_client *c)
{
	long long start, end, llen;
	struct kv_obj *o;

	if (kv_arg_ll(c, 2, &start) || kv_arg_ll(c, 3, &end))
		return;
	o = kv_lookup(c, 1);
	if (!o) {
		kv_reply_array(&c->reply, 0);
		return;
	}
	if (kv_check_type(c, o, KV_LIST))
		return;
	/* addListRangeReply(): negative indexes count from the end */
	llen = (long long)o->v.list->len;
	if (start < 0)
		start = llen + start;
	if (end < 0)
		end = llen + end;
	if (start < 0)
		start = 0;
	if (start > end || start >= llen) {
		kv_reply_array(&c->reply, 0);
		return;
	}
	if (end >= llen)
		end = llen - 1;
	kv_reply_array(&c->reply, end - start + 1);
	for (long long i = start; i <= end; i++) {
		struct kv_str *s = kv_list_at(o->v.list, (size_t)i);

		kv_reply_bulk(&c->reply, s->data, s->len);
	}
}
