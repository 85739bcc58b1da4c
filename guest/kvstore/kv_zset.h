/*
 * kv_zset.h - the value of a sorted-set key: Redis's skiplist ordered by
 * (score, member bytes) plus a hash table from member to its node, so
 * ZADD is O(log N) and ZPOPMIN O(1) per element popped.
 *
 * A node does not copy its member: it points at the key of the member's
 * hash-table entry, which never moves while it exists (kv_dict.h).
 *
 * One Redis detail shows in replies: while Redis keeps a small sorted
 * set as a listpack (at most 128 members of at most 64 bytes, decided
 * when it is created and when it grows, never going back), a score it
 * stores loses the sign of a zero: ZPOPMIN then says "0" where a
 * skiplist says "-0". kv_zset.listpack follows Redis's choice so the
 * replies agree.
 */
#ifndef KV_ZSET_H
#define KV_ZSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kv_dict.h"

#define KV_ZSET_MAXLEVEL	32	/* enough for 2^64 elements */
/* Redis's zset-max-listpack-entries and zset-max-listpack-value. */
#define KV_ZSET_LISTPACK_ENTRIES	128
#define KV_ZSET_LISTPACK_VALUE		64

struct kv_zset_node {
	double score;
	const char *ele;		/* the dict entry's key */
	size_t elelen;
	struct kv_zset_node *backward;
	struct kv_zset_node *forward[];	/* one per level of the node */
};

struct kv_zset {
	struct kv_dict dict;		/* member -> struct kv_zset_node * */
	struct kv_zset_node *header;	/* KV_ZSET_MAXLEVEL levels, no data */
	int level;			/* levels in use, at least 1 */
	bool listpack;			/* Redis would keep it as a listpack */
};

/* ZADD's flags (in) and what kv_zset_add() did (out), as in Redis. */
#define KV_ZADD_IN_INCR		(1 << 0)
#define KV_ZADD_IN_NX		(1 << 1)
#define KV_ZADD_IN_XX		(1 << 2)
#define KV_ZADD_IN_GT		(1 << 3)
#define KV_ZADD_IN_LT		(1 << 4)
#define KV_ZADD_OUT_NOP		(1 << 0)
#define KV_ZADD_OUT_NAN		(1 << 1)
#define KV_ZADD_OUT_ADDED	(1 << 2)
#define KV_ZADD_OUT_UPDATED	(1 << 3)

struct kv_zset *kv_zset_new(const uint64_t seed[2]);

/* The set was created for a ZADD of n members, the first len bytes long:
 * what Redis's zsetTypeCreate() picks the encoding by. */
static inline void kv_zset_size_hint(struct kv_zset *z, size_t n, size_t len)
{
	z->listpack = n <= KV_ZSET_LISTPACK_ENTRIES &&
		      len <= KV_ZSET_LISTPACK_VALUE;
}
void kv_zset_free(struct kv_zset *z);

static inline size_t kv_zset_card(const struct kv_zset *z)
{
	return kv_dict_size(&z->dict);
}

/*
 * Redis's zsetAdd(): add ele with score, or update it, as in_flags say.
 * 1 with *out_flags and (unless NOP) *newscore set; 0 when the score is
 * or would become NaN (KV_ZADD_OUT_NAN). rng picks new nodes' levels.
 */
int kv_zset_add(struct kv_zset *z, double score, const char *ele, size_t len,
		int in_flags, int *out_flags, double *newscore, uint64_t *rng);

/* The lowest element (NULL when empty), and removing it. */
static inline const struct kv_zset_node *kv_zset_first(const struct kv_zset *z)
{
	return z->header->forward[0];
}
void kv_zset_delete_first(struct kv_zset *z);

#endif /* KV_ZSET_H */
