/*
 * kv_list.c - ring buffer of strings (see kv_list.h).
 */
#include <stdlib.h>
#include <string.h>

#include "kv_list.h"
#include "kv_util.h"

#define LIST_MIN_CAP	4

struct kv_list *kv_list_new(void)
{
	struct kv_list *l = kv_calloc(1, sizeof(*l));

	l->cap = LIST_MIN_CAP;
	l->slot = kv_calloc(l->cap, sizeof(*l->slot));
	return l;
}

void kv_list_free(struct kv_list *l)
{
	for (size_t i = 0; i < l->len; i++)
		kv_str_free(kv_list_at(l, i));
	free(l->slot);
	free(l);
}

/* Copy the elements into a ring of cap slots, element 0 at slot 0. O(N). */
static void list_recap(struct kv_list *l, size_t cap)
{
	struct kv_str **slot = kv_calloc(cap, sizeof(*slot));

	for (size_t i = 0; i < l->len; i++)
		slot[i] = kv_list_at(l, i);
	free(l->slot);
	l->slot = slot;
	l->cap = cap;
	l->head = 0;
}

static void list_grow(struct kv_list *l)
{
	if (l->len == l->cap)
		list_recap(l, l->cap * 2);
}

static void list_shrink(struct kv_list *l)
{
	if (l->cap > LIST_MIN_CAP && l->len * 4 <= l->cap)
		list_recap(l, l->cap / 2);
}

void kv_list_push_head(struct kv_list *l, struct kv_str *s)
{
	list_grow(l);
	l->head = (l->head + l->cap - 1) & (l->cap - 1);
	l->slot[l->head] = s;
	l->len++;
}

void kv_list_push_tail(struct kv_list *l, struct kv_str *s)
{
	list_grow(l);
	l->slot[(l->head + l->len) & (l->cap - 1)] = s;
	l->len++;
}

struct kv_str *kv_list_pop_head(struct kv_list *l)
{
	struct kv_str *s;

	if (l->len == 0)
		return NULL;
	s = l->slot[l->head];
	l->slot[l->head] = NULL;
	l->head = (l->head + 1) & (l->cap - 1);
	l->len--;
	list_shrink(l);
	return s;
}

struct kv_str *kv_list_pop_tail(struct kv_list *l)
{
	size_t i;
	struct kv_str *s;

	if (l->len == 0)
		return NULL;
	i = (l->head + l->len - 1) & (l->cap - 1);
	s = l->slot[i];
	l->slot[i] = NULL;
	l->len--;
	list_shrink(l);
	return s;
}
