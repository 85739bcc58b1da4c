/*
 * kv_cmd.h - the command table and what every command handler shares:
 * argument conversions that reply Redis's error when they fail, the type
 * check, and the handlers themselves (one file per type, as Redis's
 * t_string.c, t_list.c...).
 *
 * A handler runs with the client's argv complete and its arity checked;
 * it writes exactly one reply (none only where Redis writes none).
 */
#ifndef KV_CMD_H
#define KV_CMD_H

#include <stdbool.h>
#include <stddef.h>

#include "kv_client.h"
#include "kv_obj.h"

/* Redis's shared error replies, byte for byte. */
#define KV_ERR_WRONGTYPE \
	"-WRONGTYPE Operation against a key holding the wrong kind of value"
#define KV_ERR_SYNTAX		"syntax error"
#define KV_ERR_NOT_INT		"value is not an integer or out of range"
#define KV_ERR_NOT_FLOAT	"value is not a valid float"
#define KV_ERR_POSITIVE		"value is out of range, must be positive"

typedef void kv_cmd_proc(struct kv_client *c);

struct kv_cmd {
	const char *name;		/* lower case; NULL ends a table */
	const char *fullname;		/* in errors: "config|get" */
	int arity;			/* N: exactly N arguments, command
					 * included; -N: at least N */
	kv_cmd_proc *proc;
	const struct kv_cmd *sub;	/* a container's subcommands */
};

/* Run c->argv[0 .. argc) (argc > 0): QUIT, lookup, arity, the handler. */
void kv_cmd_dispatch(struct kv_client *c);

/* The top-level table, sorted by name, and its size. */
extern const struct kv_cmd kv_cmd_table[];
size_t kv_cmd_count(void);

/* The command (or subcommand, for a container with argc >= 2) argv
 * names, or NULL. */
const struct kv_cmd *kv_cmd_lookup(const struct resp_arg *argv, size_t argc);

/* --- argument helpers: 0, or the error is replied and -EINVAL ---------- */

/* getLongLongFromObjectOrReply(): the argument as a long long. */
int kv_arg_ll(struct kv_client *c, size_t i, long long *v);
/* getRangeLongFromObjectOrReply(): in [min, max]; msg (or Redis's
 * default text when NULL) when not. */
int kv_arg_range(struct kv_client *c, size_t i, long long min, long long max,
		 const char *msg, long long *v);
/* getPositiveLongFromObjectOrReply(): >= 0, else "must be positive". */
int kv_arg_positive(struct kv_client *c, size_t i, long long *v);
/* getDoubleFromObjectOrReply(): a double that is not NaN. */
int kv_arg_double(struct kv_client *c, size_t i, double *v);

/* Is argument i word (ignoring case, read as a C string)? */
bool kv_arg_is(const struct kv_client *c, size_t i, const char *word);

/* checkType(): when o exists and is not of type, reply WRONGTYPE, true. */
bool kv_check_type(struct kv_client *c, const struct kv_obj *o,
		   enum kv_type type);

/* addReplyErrorArity(): "wrong number of arguments for 'x' command". */
void kv_reply_arity(struct kv_client *c);

/* Look key i up (lazily expiring it); NULL when missing. */
struct kv_obj *kv_lookup(struct kv_client *c, size_t i);

/* --- handlers ------------------------------------------------------------- */

/* kv_cmd_string.c */
kv_cmd_proc kv_cmd_get, kv_cmd_set, kv_cmd_getset, kv_cmd_incr, kv_cmd_decr,
	kv_cmd_incrby, kv_cmd_decrby, kv_cmd_append, kv_cmd_strlen,
	kv_cmd_mset, kv_cmd_mget;
/* kv_cmd_list.c */
kv_cmd_proc kv_cmd_lpush, kv_cmd_rpush, kv_cmd_lpop, kv_cmd_rpop,
	kv_cmd_llen, kv_cmd_lrange;
/* kv_cmd_set.c */
kv_cmd_proc kv_cmd_sadd, kv_cmd_srem, kv_cmd_scard, kv_cmd_sismember,
	kv_cmd_spop;
/* kv_cmd_hash.c */
kv_cmd_proc kv_cmd_hset, kv_cmd_hget, kv_cmd_hdel, kv_cmd_hlen;
/* kv_cmd_zset.c */
kv_cmd_proc kv_cmd_zadd, kv_cmd_zpopmin, kv_cmd_zcard;
/* kv_cmd_keys.c */
kv_cmd_proc kv_cmd_del, kv_cmd_exists, kv_cmd_dbsize, kv_cmd_flushall,
	kv_cmd_select;
/* kv_cmd_server.c */
kv_cmd_proc kv_cmd_ping, kv_cmd_echo, kv_cmd_quit, kv_cmd_info,
	kv_cmd_config_get, kv_cmd_config_set, kv_cmd_config_resetstat,
	kv_cmd_config_rewrite, kv_cmd_config_help, kv_cmd_command,
	kv_cmd_command_count, kv_cmd_command_help, kv_cmd_debug_help,
	kv_cmd_debug_pid;

#endif /* KV_CMD_H */
