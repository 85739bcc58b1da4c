/*
 * kv_list.h - the value of a list key: a ring buffer of strings, so a
 * push or pop at either end is O(1) (amortised) and reading the i-th
 * element (LRANGE) is O(1) too. It grows by doubling and shrinks by half
 * when a quarter full, so its memory follows its length.
 */
#ifndef KV_LIST_H
#define KV_LIST_H

#include <stddef.h>

#include "kv_obj.h"

struct kv_list {
	struct kv_str **slot;		/* cap slots, a power of two */
	size_t cap;
	size_t head;			/* slot of element 0 */
	size_t len;
};

struct kv_list *kv_list_new(void);
/* Free the list and its strings. */
void kv_list_free(struct kv_list *l);

/* Take s over, at the head (element 0) or the tail. */
void kv_list_push_head(struct kv_list *l, struct kv_str *s);
void kv_list_push_tail(struct kv_list *l, struct kv_str *s);

/* Remove and return the head or the tail (the caller frees it); NULL
 * when empty. */
struct kv_str *kv_list_pop_head(struct kv_list *l);
struct kv_str *kv_list_pop_tail(struct kv_list *l);

/* Element i (0: the head), i < len. */
static inline struct kv_str *kv_list_at(const struct kv_list *l, size_t i)
{
	return l->slot[(l->head + i) & (l->cap - 1)];
}

#endif /* KV_LIST_H */
