/*
 * kv_test.c - what both kvstore test programs share (see kv_test.h).
 */
#include "kv_test.h"

const uint64_t test_seed[2] = { 0x0123456789abcdefull,
				0xfedcba9876543210ull };
