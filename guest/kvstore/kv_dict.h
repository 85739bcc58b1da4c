/*
 * kv_dict.h - a hash table of byte-string keys, Redis's dict.c in small:
 * chained buckets, power-of-two sizes, SipHash with a per-table key, and
 * incremental rehashing, so growing a table of a million keys costs no
 * single long pause (a pause is what the replicator's checkpoints and the
 * clients both see).
 *
 * A key is copied into its entry; entries are never moved in memory by a
 * rehash (they are relinked), so a pointer to an entry's key stays valid
 * until that entry is deleted (the sorted set relies on it).
 *
 * Every call that looks a key up, adds or deletes also moves one bucket
 * of a rehash in progress. Iteration (kv_dict_next) is unsafe: it must
 * not be mixed with calls that change the table.
 */
#ifndef KV_DICT_H
#define KV_DICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What an entry holds besides its key. */
union kv_val {
	void *ptr;
	double d;
};

struct kv_dict_entry {
	struct kv_dict_entry *next;	/* the bucket's chain */
	union kv_val val;
	uint64_t hash;			/* of the key, kept for rehashing */
	size_t keylen;
	char key[];			/* keylen bytes, then a NUL */
};

struct kv_dict_table {
	struct kv_dict_entry **bucket;
	size_t size;			/* buckets: 0 or a power of two */
	size_t used;			/* entries */
};

struct kv_dict {
	struct kv_dict_table t[2];	/* t[1] is used during a rehash */
	long rehashidx;			/* next bucket of t[0] to move; -1:
					 * not rehashing */
	uint64_t seed[2];		/* SipHash key */
};

/* Where kv_dict_next() is. */
struct kv_dict_iter {
	int table;
	size_t index;
	struct kv_dict_entry *entry;
};

void kv_dict_init(struct kv_dict *d, const uint64_t seed[2]);

/* Free every entry (calling free_val on each value, when not NULL) and
 * the buckets; d is empty and reusable afterwards. O(N). */
void kv_dict_clear(struct kv_dict *d, void (*free_val)(union kv_val *v));

static inline size_t kv_dict_size(const struct kv_dict *d)
{
	return d->t[0].used + d->t[1].used;
}

/* The entry of key, or NULL. */
struct kv_dict_entry *kv_dict_find(struct kv_dict *d, const void *key,
				   size_t len);

/* The entry of key, added with a zero value when missing (*created tells
 * which). */
struct kv_dict_entry *kv_dict_add(struct kv_dict *d, const void *key,
				  size_t len, bool *created);

/* Remove key; its value goes to *old (when not NULL). false if missing. */
bool kv_dict_delete(struct kv_dict *d, const void *key, size_t len,
		    union kv_val *old);

/* A random entry (NULL when empty), from the generator state *rng. Not
 * uniform over entries (buckets are picked first, as Redis does), which
 * is all SPOP and the expiry sampling need. */
struct kv_dict_entry *kv_dict_random(struct kv_dict *d, uint64_t *rng);

/* Iterate: it zeroed first; NULL at the end. */
struct kv_dict_entry *kv_dict_next(struct kv_dict *d, struct kv_dict_iter *it);

/* SipHash-2-4 of data under key (exposed for the tests). */
uint64_t kv_siphash(const void *data, size_t len, const uint64_t key[2]);

#endif /* KV_DICT_H */
