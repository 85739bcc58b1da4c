/*
 * kv_cmd_zset.c - ZADD, ZCARD and ZPOPMIN, as Redis 7.0's t_zset.c
 * answers them. A sorted set that becomes empty is deleted.
 */
#include <stdlib.h>

#include "kv_cmd.h"
#include "kv_util.h"
#include "kv_zset.h"

/* The options before the first score; the index of that score. */
static size_t zadd_flags(struct kv_client *c, int *flags, bool *ch)
{
	static const struct {
		const char *word;
		int flag;
	} opts[] = {
		{ "nx", KV_ZADD_IN_NX }, { "xx", KV_ZADD_IN_XX },
		{ "ch", 0 }, { "incr", KV_ZADD_IN_INCR },
		{ "gt", KV_ZADD_IN_GT }, { "lt", KV_ZADD_IN_LT },
	};
	size_t i = 2;

	for (; i < c->argc; i++) {
		size_t k;

		for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
			if (kv_arg_is(c, i, opts[k].word))
				break;
		}
		if (k == sizeof(opts) / sizeof(opts[0]))
			break;
		if (opts[k].flag)
			*flags |= opts[k].flag;
		else
			*ch = true;
	}
	return i;
}

/* The checks zaddGenericCommand() makes before touching anything; 0, or
 * the error is replied. */
static int zadd_check(struct kv_client *c, int flags, size_t elements)
{
	bool nx = flags & KV_ZADD_IN_NX, xx = flags & KV_ZADD_IN_XX;
	bool gt = flags & KV_ZADD_IN_GT, lt = flags & KV_ZADD_IN_LT;

	if (elements % 2 || elements == 0) {
		kv_reply_error(&c->reply, KV_ERR_SYNTAX);
		return -1;
	}
	if (nx && xx) {
		kv_reply_error(&c->reply, "XX and NX options at the same time "
			       "are not compatible");
		return -1;
	}
	if ((gt && nx) || (lt && nx) || (gt && lt)) {
		kv_reply_error(&c->reply, "GT, LT, and/or NX options at the same "
			       "time are not compatible");
		return -1;
	}
	if ((flags & KV_ZADD_IN_INCR) && elements > 2) {
		kv_reply_error(&c->reply, "INCR option supports a single "
			       "increment-element pair");
		return -1;
	}
	return 0;
}

/* Add the pairs from argument first on; -1 after a NaN error. */
static int zadd_pairs(struct kv_client *c, struct kv_zset *z, int flags,
		      size_t first, const double *scores, size_t n,
		      long long *added, long long *updated, long long *processed,
		      double *score)
{
	for (size_t j = 0; j < n; j++) {
		const struct resp_arg *ele = &c->argv[first + 1 + j * 2];
		int out;
		double newscore = scores[j];

		if (!kv_zset_add(z, scores[j], ele->p, ele->len, flags, &out,
				 &newscore, &c->srv->db.rng)) {
			kv_reply_error(&c->reply, "resulting score is not a "
				       "number (NaN)");
			return -1;
		}
		*added += !!(out & KV_ZADD_OUT_ADDED);
		*updated += !!(out & KV_ZADD_OUT_UPDATED);
		if (!(out & KV_ZADD_OUT_NOP)) {
			(*processed)++;
			*score = newscore;
		}
	}
	return 0;
}

void kv_cmd_zadd(struct kv_client *c)
{
	struct kv_db *db = &c->srv->db;
	long long added = 0, updated = 0, processed = 0;
	int flags = 0;
	bool ch = false;
	size_t first = zadd_flags(c, &flags, &ch), n;
	double *scores = NULL, score = 0;
	struct kv_obj *o;

	if (zadd_check(c, flags, c->argc - first))
		return;
	/* every score is read before anything is added: all or nothing */
	n = (c->argc - first) / 2;
	scores = kv_malloc(n * sizeof(*scores));
	for (size_t j = 0; j < n; j++) {
		if (kv_arg_double(c, first + j * 2, &scores[j]))
			goto out;
	}
	o = kv_lookup(c, 1);
	if (kv_check_type(c, o, KV_ZSET))
		goto out;
	if (!o) {
		if (flags & KV_ZADD_IN_XX)
			goto reply;	/* no key, XX: nothing to do */
		o = kv_obj_new(KV_ZSET, NULL, db->seed);
		kv_zset_size_hint(o->v.zset, n, c->argv[first + 1].len);
		kv_db_add(db, c->argv[1].p, c->argv[1].len, o);
	}
	if (zadd_pairs(c, o->v.zset, flags, first, scores, n, &added, &updated,
		       &processed, &score))
		goto out;
reply:
	if (flags & KV_ZADD_IN_INCR) {
		if (processed)
			kv_reply_double(&c->reply, score);
		else
			kv_reply_null(&c->reply);
	} else {
		kv_reply_int(&c->reply, ch ? added + updated : added);
	}
out:
	free(scores);
}

void kv_cmd_zcard(struct kv_client *c)
{
	struct kv_obj *o = kv_lookup(c, 1);

	if (!o) {
		kv_reply_int(&c->reply, 0);
		return;
	}
	if (kv_check_type(c, o, KV_ZSET))
		return;
	kv_reply_int(&c->reply, (long long)kv_zset_card(o->v.zset));
}

/* zpopMinMaxCommand() + genericZpopCommand() for ZPOPMIN: a flat array
 * of member, score pairs (RESP2). */
void kv_cmd_zpopmin(struct kv_client *c)
{
	long long count = 1, n;
	struct kv_obj *o;

	if (c->argc > 3) {
		kv_reply_error(&c->reply, KV_ERR_SYNTAX);
		return;
	}
	if (c->argc == 3 && kv_arg_positive(c, 2, &count))
		return;
	o = kv_lookup(c, 1);
	if (kv_check_type(c, o, KV_ZSET))
		return;
	if (!o || count == 0) {
		kv_reply_array(&c->reply, 0);
		return;
	}
	n = count < (long long)kv_zset_card(o->v.zset) ? count :
	    (long long)kv_zset_card(o->v.zset);
	kv_reply_array(&c->reply, n * 2);
	while (n--) {
		const struct kv_zset_node *first = kv_zset_first(o->v.zset);

		kv_reply_bulk(&c->reply, first->ele, first->elelen);
		kv_reply_double(&c->reply, first->score);
		kv_zset_delete_first(o->v.zset);
	}
	if (kv_zset_card(o->v.zset) == 0)
		kv_db_delete(&c->srv->db, c->argv[1].p, c->argv[1].len);
}
