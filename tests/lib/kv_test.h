/*
 * kv_test.h - what both kvstore test programs (test_kvstore_engine and
 * test_kvstore_redis) share.
 */
#ifndef KV_TEST_H
#define KV_TEST_H

#include <stdint.h>

/* The engine's hash seed in every kv_server_init() the tests make: a
 * fixed one, so that dict order (and so SCAN, SPOP...) is the same on
 * every run. */
extern const uint64_t test_seed[2];

#endif
