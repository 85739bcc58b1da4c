/*
 * kv_db.h - the keyspace: one hash table of keys to typed values, and
 * their expiry on the db's clock.
 *
 * Time comes from a callback (the guest's colo_clock_ms(), or the test's
 * own clock), in milliseconds. A key whose time has passed (now > expire,
 * as in Redis) is removed lazily when a command touches it, and actively
 * by kv_db_sweep(), which the server's cron calls: it samples keys that
 * have an expire time, the way Redis's activeExpireCycle() does, so
 * expired keys nobody reads do not stay in memory for ever.
 *
 * The keys with an expire time are also kept in an array (kv_db.ttl),
 * each object knowing its slot, so sampling one at random is O(1) and so
 * is forgetting one.
 */
#ifndef KV_DB_H
#define KV_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kv_dict.h"
#include "kv_obj.h"
#include "kv_util.h"

/* Active expiry, per kv_db_sweep() call: rounds of KV_EXPIRE_SAMPLE
 * keys, again while more than a quarter of a round had expired, at most
 * KV_EXPIRE_ROUNDS rounds (so a call costs at most 320 lookups). */
#define KV_EXPIRE_SAMPLE	20
#define KV_EXPIRE_ROUNDS	16

typedef uint64_t (*kv_clock_fn)(void *arg);

struct kv_db {
	struct kv_dict keys;		/* key -> struct kv_obj * */
	struct kv_dict_entry **ttl;	/* entries of keys with an expire time */
	size_t nttl, ttl_cap;
	uint64_t seed[2];		/* hash key of every table of ours */
	uint64_t rng;			/* SPOP, skiplist levels, sampling */
	kv_clock_fn clock;
	void *clock_arg;
	uint64_t expired_keys;		/* removed by expiry, lazily or not */
};

/* An empty keyspace; seed keys its hash tables (and seeds its random
 * generator). */
void kv_db_init(struct kv_db *db, kv_clock_fn clock, void *clock_arg,
		const uint64_t seed[2]);
/* Free every key; the db stays usable (FLUSHALL). O(N). */
void kv_db_flush(struct kv_db *db);

static inline int64_t kv_db_now(const struct kv_db *db)
{
	return (int64_t)db->clock(db->clock_arg);
}

static inline size_t kv_db_size(const struct kv_db *db)
{
	return kv_dict_size(&db->keys);
}

static inline size_t kv_db_expires(const struct kv_db *db)
{
	return db->nttl;
}

/* The value of key, or NULL when missing or expired (then removed). */
struct kv_obj *kv_db_lookup(struct kv_db *db, const void *key, size_t len);

/*
 * Redis's setKey(): key holds o from now on (taken over); a value it had
 * is freed. With keepttl an expire time it had is kept, else it has
 * none.
 */
void kv_db_set(struct kv_db *db, const void *key, size_t len,
	       struct kv_obj *o, bool keepttl);

/* Add key, which must not exist (kv_db_lookup() said so). */
void kv_db_add(struct kv_db *db, const void *key, size_t len,
	       struct kv_obj *o);

/* Remove key and free its value; false when it did not exist. */
bool kv_db_delete(struct kv_db *db, const void *key, size_t len);

/* key, which exists, expires at when (ms of the db's clock). */
void kv_db_set_expire(struct kv_db *db, const void *key, size_t len,
		      int64_t when);

/* Remove some expired keys (see KV_EXPIRE_*); how many. */
size_t kv_db_sweep(struct kv_db *db);

/* A random number of the db's generator. */
static inline uint64_t kv_db_rand(struct kv_db *db)
{
	return kv_rand(&db->rng);
}

#endif /* KV_DB_H */
