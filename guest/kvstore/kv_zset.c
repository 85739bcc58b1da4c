/*
 * kv_zset.c - skiplist and hash table of a sorted set (see kv_zset.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kv_util.h"
#include "kv_zset.h"

#define ZSKIPLIST_P	4	/* one node in 4 climbs a level, as Redis */

static struct kv_zset_node *zsl_node_new(int level, double score,
					 const char *ele, size_t len)
{
	struct kv_zset_node *n = kv_calloc(1, sizeof(*n) +
					   (size_t)level * sizeof(n->forward[0]));

	n->score = score;
	n->ele = ele;
	n->elelen = len;
	return n;
}

struct kv_zset *kv_zset_new(const uint64_t seed[2])
{
	struct kv_zset *z = kv_calloc(1, sizeof(*z));

	z->listpack = true;
	kv_dict_init(&z->dict, seed);
	z->header = zsl_node_new(KV_ZSET_MAXLEVEL, 0, NULL, 0);
	z->level = 1;
	return z;
}

void kv_zset_free(struct kv_zset *z)
{
	struct kv_zset_node *n = z->header, *next;

	for (; n; n = next) {
		next = n->forward[0];
		free(n);
	}
	kv_dict_clear(&z->dict, NULL);
	free(z);
}

static int zsl_random_level(uint64_t *rng)
{
	int level = 1;

	while (level < KV_ZSET_MAXLEVEL && kv_rand(rng) % ZSKIPLIST_P == 0)
		level++;
	return level;
}

/* Does a sort before (score, ele)? Members compare as bytes, a prefix
 * first, like Redis's sdscmp(). */
static bool zsl_before(const struct kv_zset_node *a, double score,
		       const char *ele, size_t len)
{
	size_t n = a->elelen < len ? a->elelen : len;
	int c;

	if (a->score != score)
		return a->score < score;
	c = memcmp(a->ele, ele, n);
	return c < 0 || (c == 0 && a->elelen < len);
}

static void zsl_insert(struct kv_zset *z, double score, const char *ele,
		       size_t len, uint64_t *rng)
{
	struct kv_zset_node *update[KV_ZSET_MAXLEVEL], *x = z->header, *n;
	int level;

	for (int i = z->level - 1; i >= 0; i--) {
		while (x->forward[i] && zsl_before(x->forward[i], score, ele, len))
			x = x->forward[i];
		update[i] = x;
	}
	level = zsl_random_level(rng);
	for (int i = z->level; i < level; i++)
		update[i] = z->header;
	if (level > z->level)
		z->level = level;
	n = zsl_node_new(level, score, ele, len);
	for (int i = 0; i < level; i++) {
		n->forward[i] = update[i]->forward[i];
		update[i]->forward[i] = n;
	}
	n->backward = update[0] == z->header ? NULL : update[0];
	if (n->forward[0])
		n->forward[0]->backward = n;
}

/* Unlink and free the node of (score, ele), which exists. */
static void zsl_delete(struct kv_zset *z, double score, const char *ele,
		       size_t len)
{
	struct kv_zset_node *update[KV_ZSET_MAXLEVEL], *x = z->header;

	for (int i = z->level - 1; i >= 0; i--) {
		while (x->forward[i] && zsl_before(x->forward[i], score, ele, len))
			x = x->forward[i];
		update[i] = x;
	}
	x = x->forward[0];
	for (int i = 0; i < z->level; i++) {
		if (update[i]->forward[i] == x)
			update[i]->forward[i] = x->forward[i];
	}
	if (x->forward[0])
		x->forward[0]->backward = x->backward;
	while (z->level > 1 && !z->header->forward[z->level - 1])
		z->level--;
	free(x);
}

/* The score as stored: a listpack keeps no negative zero. */
static double zset_stored(const struct kv_zset *z, double score)
{
	return z->listpack && score == 0 ? 0.0 : score;
}

/* A new member: its dict entry owns the bytes its node points at. */
static void zset_insert(struct kv_zset *z, double score, const char *ele,
			size_t len, uint64_t *rng)
{
	bool created;
	struct kv_dict_entry *e = kv_dict_add(&z->dict, ele, len, &created);

	zsl_insert(z, score, e->key, e->keylen, rng);
	e->val.d = score;
}

int kv_zset_add(struct kv_zset *z, double score, const char *ele, size_t len,
		int in_flags, int *out_flags, double *newscore, uint64_t *rng)
{
	bool incr = in_flags & KV_ZADD_IN_INCR, nx = in_flags & KV_ZADD_IN_NX;
	bool xx = in_flags & KV_ZADD_IN_XX, gt = in_flags & KV_ZADD_IN_GT;
	bool lt = in_flags & KV_ZADD_IN_LT;
	struct kv_dict_entry *e;
	double cur;

	*out_flags = 0;
	if (isnan(score)) {
		*out_flags = KV_ZADD_OUT_NAN;
		return 0;
	}
	e = kv_dict_find(&z->dict, ele, len);
	if (!e) {
		if (xx) {
			*out_flags |= KV_ZADD_OUT_NOP;
			return 1;
		}
		/* Redis turns a listpack into a skiplist before adding
		 * what would not fit it */
		if (kv_zset_card(z) + 1 > KV_ZSET_LISTPACK_ENTRIES ||
		    len > KV_ZSET_LISTPACK_VALUE)
			z->listpack = false;
		zset_insert(z, zset_stored(z, score), ele, len, rng);
		*out_flags |= KV_ZADD_OUT_ADDED;
		*newscore = score;
		return 1;
	}
	if (nx) {
		*out_flags |= KV_ZADD_OUT_NOP;
		return 1;
	}
	cur = e->val.d;
	if (incr) {
		score += cur;
		if (isnan(score)) {
			*out_flags |= KV_ZADD_OUT_NAN;
			return 0;
		}
	}
	if ((lt && score >= cur) || (gt && score <= cur)) {
		*out_flags |= KV_ZADD_OUT_NOP;
		return 1;
	}
	*newscore = score;
	if (score != cur) {
		/* re-link at its new place; the entry (and its key) stays */
		zsl_delete(z, cur, e->key, e->keylen);
		zsl_insert(z, zset_stored(z, score), e->key, e->keylen, rng);
		e->val.d = zset_stored(z, score);
		*out_flags |= KV_ZADD_OUT_UPDATED;
	}
	return 1;
}

void kv_zset_delete_first(struct kv_zset *z)
{
	struct kv_zset_node *n = z->header->forward[0];
	const char *ele;
	size_t len;

	if (!n)
		return;
	/* the node points into the entry, which outlives it by a line */
	ele = n->ele;
	len = n->elelen;
	zsl_delete(z, n->score, ele, len);
	kv_dict_delete(&z->dict, ele, len, NULL);
}
