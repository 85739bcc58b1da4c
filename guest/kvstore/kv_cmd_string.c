/*
 * kv_cmd_string.c - the string commands, in the order and with the
 * replies of Redis 7.0's t_string.c.
 */
#include <errno.h>
#include <limits.h>

#include "kv_cmd.h"
#include "kv_util.h"
#include "resp.h"

#define SET_NX		(1 << 0)
#define SET_XX		(1 << 1)
#define SET_GET		(1 << 2)
#define SET_KEEPTTL	(1 << 3)
#define SET_EX		(1 << 4)
#define SET_PX		(1 << 5)

static struct kv_obj *string_obj(const struct resp_arg *a, struct kv_db *db)
{
	return kv_obj_new(KV_STRING, kv_str_new(a->p, a->len), db->seed);
}

/* getGenericCommand(): reply the value of key 1; -EINVAL after WRONGTYPE. */
static int get_generic(struct kv_client *c)
{
	struct kv_obj *o = kv_lookup(c, 1);

	if (!o) {
		kv_reply_null(&c->reply);
		return 0;
	}
	if (kv_check_type(c, o, KV_STRING))
		return -EINVAL;
	kv_reply_bulk(&c->reply, o->v.str->data, o->v.str->len);
	return 0;
}

void kv_cmd_get(struct kv_client *c)
{
	get_generic(c);
}

/*
 * parseExtendedStringArgumentsOrReply() for SET: NX XX GET KEEPTTL EX PX.
 * EXAT and PXAT are not taken (a syntax error): they name wall-clock
 * time, and the guest's clock is not one (colo_guest.h).
 */
static int set_parse(struct kv_client *c, int *flags, size_t *expire)
{
	for (size_t j = 3; j < c->argc; j++) {
		bool next = j + 1 < c->argc;
		int f = *flags;

		if (kv_arg_is(c, j, "nx") && !(f & SET_XX)) {
			*flags |= SET_NX;
		} else if (kv_arg_is(c, j, "xx") && !(f & SET_NX)) {
			*flags |= SET_XX;
		} else if (kv_arg_is(c, j, "get")) {
			*flags |= SET_GET;
		} else if (kv_arg_is(c, j, "keepttl") &&
			   !(f & (SET_EX | SET_PX))) {
			*flags |= SET_KEEPTTL;
		} else if (kv_arg_is(c, j, "ex") &&
			   !(f & (SET_KEEPTTL | SET_PX)) && next) {
			*flags |= SET_EX;
			*expire = ++j;
		} else if (kv_arg_is(c, j, "px") &&
			   !(f & (SET_KEEPTTL | SET_EX)) && next) {
			*flags |= SET_PX;
			*expire = ++j;
		} else {
			kv_reply_error(&c->reply, KV_ERR_SYNTAX);
			return -EINVAL;
		}
	}
	return 0;
}

/* getExpireMillisecondsOrReply(): argument i as a deadline on the db's
 * clock, in ms. */
static int set_deadline(struct kv_client *c, size_t i, bool seconds,
			int64_t *when)
{
	long long v, at;

	if (kv_arg_ll(c, i, &v))
		return -EINVAL;
	if (v <= 0 || (seconds && v > LLONG_MAX / 1000))
		goto invalid;
	if (seconds)
		v *= 1000;
	if (__builtin_add_overflow(v, (long long)kv_db_now(&c->srv->db), &at) ||
	    at <= 0)
		goto invalid;
	*when = at;
	return 0;
invalid:
	kv_reply_errorf(&c->reply, "invalid expire time in '%s' command", "set");
	return -EINVAL;
}

void kv_cmd_set(struct kv_client *c)
{
	struct kv_db *db = &c->srv->db;
	size_t expire = 0;
	int64_t when = 0;
	int flags = 0;
	bool found;

	if (set_parse(c, &flags, &expire))
		return;
	if (expire && set_deadline(c, expire, flags & SET_EX, &when))
		return;
	if ((flags & SET_GET) && get_generic(c))
		return;
	found = kv_lookup(c, 1) != NULL;
	if (((flags & SET_NX) && found) || ((flags & SET_XX) && !found)) {
		if (!(flags & SET_GET))
			kv_reply_null(&c->reply);
		return;
	}
	kv_db_set(db, c->argv[1].p, c->argv[1].len, string_obj(&c->argv[2], db),
		  flags & SET_KEEPTTL);
	if (expire)
		kv_db_set_expire(db, c->argv[1].p, c->argv[1].len, when);
	if (!(flags & SET_GET))
		kv_reply_status(&c->reply, "OK");
}

void kv_cmd_getset(struct kv_client *c)
{
	struct kv_db *db = &c->srv->db;

	if (get_generic(c))
		return;
	kv_db_set(db, c->argv[1].p, c->argv[1].len, string_obj(&c->argv[2], db),
		  false);
}

/* incrDecrCommand(): the value (kept with its expire time) plus incr. */
static void incr_generic(struct kv_client *c, long long incr)
{
	struct kv_db *db = &c->srv->db;
	struct kv_obj *o = kv_lookup(c, 1);
	char buf[KV_LONG_STR_SIZE];
	long long value = 0;

	if (kv_check_type(c, o, KV_STRING))
		return;
	if (o && !kv_string2ll(o->v.str->data, o->v.str->len, &value)) {
		kv_reply_error(&c->reply, KV_ERR_NOT_INT);
		return;
	}
	if ((incr < 0 && value < 0 && incr < LLONG_MIN - value) ||
	    (incr > 0 && value > 0 && incr > LLONG_MAX - value)) {
		kv_reply_error(&c->reply, "increment or decrement would overflow");
		return;
	}
	value += incr;
	if (o) {
		kv_str_free(o->v.str);
		o->v.str = kv_str_new(buf, kv_ll2string(buf, value));
	} else {
		kv_db_add(db, c->argv[1].p, c->argv[1].len,
			  kv_obj_new(KV_STRING,
				     kv_str_new(buf, kv_ll2string(buf, value)),
				     db->seed));
	}
	kv_reply_int(&c->reply, value);
}

void kv_cmd_incr(struct kv_client *c)
{
	incr_generic(c, 1);
}

void kv_cmd_decr(struct kv_client *c)
{
	incr_generic(c, -1);
}

void kv_cmd_incrby(struct kv_client *c)
{
	long long incr;

	if (kv_arg_ll(c, 2, &incr))
		return;
	incr_generic(c, incr);
}

void kv_cmd_decrby(struct kv_client *c)
{
	long long incr;

	if (kv_arg_ll(c, 2, &incr))
		return;
	/* -LLONG_MIN does not exist */
	if (incr == LLONG_MIN) {
		kv_reply_error(&c->reply, "decrement would overflow");
		return;
	}
	incr_generic(c, -incr);
}

void kv_cmd_append(struct kv_client *c)
{
	struct kv_db *db = &c->srv->db;
	struct kv_obj *o = kv_lookup(c, 1);
	const struct resp_arg *a = &c->argv[2];

	if (!o) {
		kv_db_add(db, c->argv[1].p, c->argv[1].len, string_obj(a, db));
		kv_reply_int(&c->reply, (long long)a->len);
		return;
	}
	if (kv_check_type(c, o, KV_STRING))
		return;
	/* checkStringLength(): no string longer than a bulk may be */
	if (o->v.str->len + a->len > RESP_BULK_MAX) {
		kv_reply_error(&c->reply, "string exceeds maximum allowed size "
			       "(proto-max-bulk-len)");
		return;
	}
	o->v.str = kv_str_append(o->v.str, a->p, a->len);
	kv_reply_int(&c->reply, (long long)o->v.str->len);
}

void kv_cmd_strlen(struct kv_client *c)
{
	struct kv_obj *o = kv_lookup(c, 1);

	if (!o) {
		kv_reply_int(&c->reply, 0);
		return;
	}
	if (kv_check_type(c, o, KV_STRING))
		return;
	kv_reply_int(&c->reply, (long long)o->v.str->len);
}

void kv_cmd_mset(struct kv_client *c)
{
	struct kv_db *db = &c->srv->db;

	if (c->argc % 2 == 0) {
		kv_reply_arity(c);
		return;
	}
	for (size_t j = 1; j < c->argc; j += 2)
		kv_db_set(db, c->argv[j].p, c->argv[j].len,
			  string_obj(&c->argv[j + 1], db), false);
	kv_reply_status(&c->reply, "OK");
}

void kv_cmd_mget(struct kv_client *c)
{
	kv_reply_array(&c->reply, (long long)c->argc - 1);
	for (size_t j = 1; j < c->argc; j++) {
		struct kv_obj *o = kv_lookup(c, j);

		if (!o || o->type != KV_STRING)
			kv_reply_null(&c->reply);
		else
			kv_reply_bulk(&c->reply, o->v.str->data, o->v.str->len);
	}
}
