/*
 * kv_dict.c - hash table with incremental rehashing (see kv_dict.h).
 */
#include <stdlib.h>
#include <string.h>

#include "kv_dict.h"
#include "kv_util.h"

#define DICT_INITIAL_SIZE	4
#define DICT_EMPTY_VISITS	10	/* empty buckets a rehash step may
					 * skip, bounding its cost */
#define DICT_SHRINK_RATIO	8	/* shrink below 1/8 full */

/* --- SipHash-2-4 ---------------------------------------------------------- */

#define ROTL(x, b)	(uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND							\
	do {								\
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;			\
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;			\
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
	} while (0)

static uint64_t load64_le(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t kv_siphash(const void *data, size_t len, const uint64_t key[2])
{
	const unsigned char *in = data;
	uint64_t v0 = 0x736f6d6570736575ull ^ key[0];
	uint64_t v1 = 0x646f72616e646f6dull ^ key[1];
	uint64_t v2 = 0x6c7967656e657261ull ^ key[0];
	uint64_t v3 = 0x7465646279746573ull ^ key[1];
	uint64_t b = (uint64_t)len << 56, m;
	size_t i, tail = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		m = load64_le(in + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; j < tail; j++)
		b |= (uint64_t)in[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* --- the table ------------------------------------------------------------- */

void kv_dict_init(struct kv_dict *d, const uint64_t seed[2])
{
	memset(d, 0, sizeof(*d));
	d->rehashidx = -1;
	d->seed[0] = seed[0];
	d->seed[1] = seed[1];
}

static bool dict_rehashing(const struct kv_dict *d)
{
	return d->rehashidx != -1;
}

/* Move one bucket of t[0] into t[1]; finish when t[0] is empty. */
static void dict_rehash_step(struct kv_dict *d)
{
	struct kv_dict_table *from = &d->t[0], *to = &d->t[1];
	int visits = DICT_EMPTY_VISITS;

	if (!dict_rehashing(d))
		return;
	while (from->used && !from->bucket[d->rehashidx]) {
		d->rehashidx++;
		if (--visits == 0)
			return;
	}
	if (from->used) {
		struct kv_dict_entry *e = from->bucket[d->rehashidx];

		while (e) {
			struct kv_dict_entry *next = e->next;
			size_t i = e->hash & (to->size - 1);

			e->next = to->bucket[i];
			to->bucket[i] = e;
			from->used--;
			to->used++;
			e = next;
		}
		from->bucket[d->rehashidx] = NULL;
		d->rehashidx++;
	}
	if (from->used == 0) {
		free(from->bucket);
		*from = *to;
		memset(to, 0, sizeof(*to));
		d->rehashidx = -1;
	}
}

/* Start moving everything into a table of size buckets. */
static void dict_resize(struct kv_dict *d, size_t size)
{
	struct kv_dict_table t = {
		.bucket = kv_calloc(size, sizeof(struct kv_dict_entry *)),
		.size = size,
	};

	if (d->t[0].size == 0) {
		d->t[0] = t;
		return;
	}
	d->t[1] = t;
	d->rehashidx = 0;
}

static size_t dict_size_for(size_t n)
{
	size_t size = DICT_INITIAL_SIZE;

	while (size < n)
		size <<= 1;
	return size;
}

/* Grow at one entry per bucket, shrink below one per DICT_SHRINK_RATIO;
 * never while a rehash runs (it finishes first). */
static void dict_fit(struct kv_dict *d)
{
	size_t used = d->t[0].used, size = d->t[0].size;

	if (dict_rehashing(d))
		return;
	if (size == 0)
		dict_resize(d, DICT_INITIAL_SIZE);
	else if (used >= size)
		dict_resize(d, dict_size_for(used * 2));
	else if (size > DICT_INITIAL_SIZE && used * DICT_SHRINK_RATIO < size)
		dict_resize(d, dict_size_for(used * 2));
}

static uint64_t dict_hash(const struct kv_dict *d, const void *key, size_t len)
{
	return kv_siphash(key, len, d->seed);
}

/* The link pointing at key's entry (and in *table which table holds
 * it), or NULL. */
static struct kv_dict_entry **dict_locate(struct kv_dict *d, const void *key,
					  size_t len, uint64_t h, int *table)
{
	for (int t = 0; t <= 1; t++) {
		struct kv_dict_table *tb = &d->t[t];
		struct kv_dict_entry **link;

		if (tb->size == 0)
			continue;
		link = &tb->bucket[h & (tb->size - 1)];
		for (; *link; link = &(*link)->next) {
			struct kv_dict_entry *e = *link;

			if (e->hash == h && e->keylen == len &&
			    memcmp(e->key, key, len) == 0) {
				*table = t;
				return link;
			}
		}
		if (!dict_rehashing(d))
			break;
	}
	return NULL;
}

struct kv_dict_entry *kv_dict_find(struct kv_dict *d, const void *key,
				   size_t len)
{
	struct kv_dict_entry **link;
	int t;

	if (kv_dict_size(d) == 0)
		return NULL;
	dict_rehash_step(d);
	link = dict_locate(d, key, len, dict_hash(d, key, len), &t);
	return link ? *link : NULL;
}

struct kv_dict_entry *kv_dict_add(struct kv_dict *d, const void *key,
				  size_t len, bool *created)
{
	uint64_t h = dict_hash(d, key, len);
	struct kv_dict_entry **link, *e;
	struct kv_dict_table *tb;
	size_t i;
	int t;

	dict_rehash_step(d);
	link = dict_locate(d, key, len, h, &t);
	if (link) {
		*created = false;
		return *link;
	}
	dict_fit(d);
	/* new entries go where a rehash is taking everything */
	tb = dict_rehashing(d) ? &d->t[1] : &d->t[0];
	e = kv_malloc(sizeof(*e) + len + 1);
	memset(&e->val, 0, sizeof(e->val));
	e->hash = h;
	e->keylen = len;
	if (len)
		memcpy(e->key, key, len);
	e->key[len] = '\0';
	i = h & (tb->size - 1);
	e->next = tb->bucket[i];
	tb->bucket[i] = e;
	tb->used++;
	*created = true;
	return e;
}

bool kv_dict_delete(struct kv_dict *d, const void *key, size_t len,
		    union kv_val *old)
{
	struct kv_dict_entry **link, *e;
	int t;

	if (kv_dict_size(d) == 0)
		return false;
	dict_rehash_step(d);
	link = dict_locate(d, key, len, dict_hash(d, key, len), &t);
	if (!link)
		return false;
	e = *link;
	*link = e->next;
	d->t[t].used--;
	if (old)
		*old = e->val;
	free(e);
	dict_fit(d);
	return true;
}

struct kv_dict_entry *kv_dict_random(struct kv_dict *d, uint64_t *rng)
{
	struct kv_dict_entry *e = NULL, *p;
	size_t n = 0, pick;

	if (kv_dict_size(d) == 0)
		return NULL;
	dict_rehash_step(d);
	if (dict_rehashing(d)) {
		/* buckets of t[0] below rehashidx are empty: skip them */
		size_t lo = (size_t)d->rehashidx;
		size_t span = d->t[0].size - lo + d->t[1].size;

		while (!e) {
			size_t i = lo + kv_rand(rng) % span;

			e = i < d->t[0].size ? d->t[0].bucket[i] :
			    d->t[1].bucket[i - d->t[0].size];
		}
	} else {
		while (!e)
			e = d->t[0].bucket[kv_rand(rng) & (d->t[0].size - 1)];
	}
	/* a random entry of the chain found */
	for (p = e; p; p = p->next)
		n++;
	pick = kv_rand(rng) % n;
	while (pick--)
		e = e->next;
	return e;
}

struct kv_dict_entry *kv_dict_next(struct kv_dict *d, struct kv_dict_iter *it)
{
	if (it->entry) {
		it->entry = it->entry->next;
		if (it->entry)
			return it->entry;
		it->index++;
	}
	for (; it->table <= 1; it->table++, it->index = 0) {
		struct kv_dict_table *tb = &d->t[it->table];

		for (; it->index < tb->size; it->index++) {
			if (tb->bucket[it->index]) {
				it->entry = tb->bucket[it->index];
				return it->entry;
			}
		}
	}
	return NULL;
}

void kv_dict_clear(struct kv_dict *d, void (*free_val)(union kv_val *v))
{
	for (int t = 0; t <= 1; t++) {
		struct kv_dict_table *tb = &d->t[t];

		for (size_t i = 0; i < tb->size; i++) {
			struct kv_dict_entry *e = tb->bucket[i], *next;

			for (; e; e = next) {
				next = e->next;
				if (free_val)
					free_val(&e->val);
				free(e);
			}
		}
		free(tb->bucket);
	}
	kv_dict_init(d, d->seed);
}
