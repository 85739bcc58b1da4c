/*
 * kv_cmd.c - the command table, dispatch, and the helpers every handler
 * shares (see kv_cmd.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "kv_cmd.h"
#include "kv_util.h"

/* Arities are Redis 7.0's (COMMAND INFO), so are the errors they give. */
static const struct kv_cmd config_sub[] = {
	{ "get", "config|get", -3, kv_cmd_config_get, NULL },
	{ "help", "config|help", 2, kv_cmd_config_help, NULL },
	{ "resetstat", "config|resetstat", 2, kv_cmd_config_resetstat, NULL },
	{ "rewrite", "config|rewrite", 2, kv_cmd_config_rewrite, NULL },
	{ "set", "config|set", -4, kv_cmd_config_set, NULL },
	{ NULL, NULL, 0, NULL, NULL },
};

static const struct kv_cmd command_sub[] = {
	{ "count", "command|count", 2, kv_cmd_command_count, NULL },
	{ "docs", "command|docs", -2, kv_cmd_command, NULL },
	{ "getkeys", "command|getkeys", -3, kv_cmd_command, NULL },
	{ "getkeysandflags", "command|getkeysandflags", -3, kv_cmd_command, NULL },
	{ "help", "command|help", 2, kv_cmd_command_help, NULL },
	{ "info", "command|info", -2, kv_cmd_command, NULL },
	{ "list", "command|list", -2, kv_cmd_command, NULL },
	{ NULL, NULL, 0, NULL, NULL },
};

/* DEBUG: only what a test of a pair needs (Redis's has many more). */
static const struct kv_cmd debug_sub[] = {
	{ "help", "debug|help", 2, kv_cmd_debug_help, NULL },
	{ "pid", "debug|pid", 2, kv_cmd_debug_pid, NULL },
	{ NULL, NULL, 0, NULL, NULL },
};

/* Sorted by name: looked up by binary search. */
const struct kv_cmd kv_cmd_table[] = {
	{ "append", "append", 3, kv_cmd_append, NULL },
	{ "command", "command", -1, kv_cmd_command, command_sub },
	{ "config", "config", -2, NULL, config_sub },
	{ "dbsize", "dbsize", 1, kv_cmd_dbsize, NULL },
	{ "debug", "debug", -2, NULL, debug_sub },
	{ "decr", "decr", 2, kv_cmd_decr, NULL },
	{ "decrby", "decrby", 3, kv_cmd_decrby, NULL },
	{ "del", "del", -2, kv_cmd_del, NULL },
	{ "echo", "echo", 2, kv_cmd_echo, NULL },
	{ "exists", "exists", -2, kv_cmd_exists, NULL },
	{ "flushall", "flushall", -1, kv_cmd_flushall, NULL },
	{ "get", "get", 2, kv_cmd_get, NULL },
	{ "getset", "getset", 3, kv_cmd_getset, NULL },
	{ "hdel", "hdel", -3, kv_cmd_hdel, NULL },
	{ "hget", "hget", 3, kv_cmd_hget, NULL },
	{ "hlen", "hlen", 2, kv_cmd_hlen, NULL },
	{ "hset", "hset", -4, kv_cmd_hset, NULL },
	{ "incr", "incr", 2, kv_cmd_incr, NULL },
	{ "incrby", "incrby", 3, kv_cmd_incrby, NULL },
	{ "info", "info", -1, kv_cmd_info, NULL },
	{ "llen", "llen", 2, kv_cmd_llen, NULL },
	{ "lpop", "lpop", -2, kv_cmd_lpop, NULL },
	{ "lpush", "lpush", -3, kv_cmd_lpush, NULL },
	{ "lrange", "lrange", 4, kv_cmd_lrange, NULL },
	{ "mget", "mget", -2, kv_cmd_mget, NULL },
	{ "mset", "mset", -3, kv_cmd_mset, NULL },
	{ "ping", "ping", -1, kv_cmd_ping, NULL },
	{ "quit", "quit", -1, kv_cmd_quit, NULL },
	{ "rpop", "rpop", -2, kv_cmd_rpop, NULL },
	{ "rpush", "rpush", -3, kv_cmd_rpush, NULL },
	{ "sadd", "sadd", -3, kv_cmd_sadd, NULL },
	{ "scard", "scard", 2, kv_cmd_scard, NULL },
	{ "select", "select", 2, kv_cmd_select, NULL },
	{ "set", "set", -3, kv_cmd_set, NULL },
	{ "sismember", "sismember", 3, kv_cmd_sismember, NULL },
	{ "spop", "spop", -2, kv_cmd_spop, NULL },
	{ "srem", "srem", -3, kv_cmd_srem, NULL },
	{ "strlen", "strlen", 2, kv_cmd_strlen, NULL },
	{ "zadd", "zadd", -4, kv_cmd_zadd, NULL },
	{ "zcard", "zcard", 2, kv_cmd_zcard, NULL },
	{ "zpopmin", "zpopmin", -2, kv_cmd_zpopmin, NULL },
	{ NULL, NULL, 0, NULL, NULL },
};

size_t kv_cmd_count(void)
{
	return sizeof(kv_cmd_table) / sizeof(kv_cmd_table[0]) - 1;
}

/* Compare a name's bytes with a table name, ignoring case, as Redis's
 * command dict does (binary: "get\0x" is no command). */
static int cmd_cmp(const char *s, size_t len, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < len && i < n; i++) {
		int a = tolower((unsigned char)s[i]), b = (unsigned char)name[i];

		if (a != b)
			return a - b;
	}
	return len < n ? -1 : len > n ? 1 : 0;
}

static const struct kv_cmd *cmd_find(const struct kv_cmd *table, size_t n,
				     const struct resp_arg *a)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmd_cmp(a->p, a->len, table[mid].name);

		if (c == 0)
			return &table[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static size_t table_len(const struct kv_cmd *t)
{
	size_t n = 0;

	while (t[n].name)
		n++;
	return n;
}

const struct kv_cmd *kv_cmd_lookup(const struct resp_arg *argv, size_t argc)
{
	const struct kv_cmd *base = cmd_find(kv_cmd_table, kv_cmd_count(),
					     &argv[0]);

	if (!base || !base->sub || argc < 2)
		return base;
	return cmd_find(base->sub, table_len(base->sub), &argv[1]);
}

/* Bytes of an argument printf may show: %.*s stops at a NUL too. */
static int arg_prec(const struct resp_arg *a, size_t most)
{
	return (int)(a->len < most ? a->len : most);
}

/* Redis's processCommand() text for a command it does not know. */
static void reply_unknown(struct kv_client *c)
{
	const struct kv_cmd *base = cmd_find(kv_cmd_table, kv_cmd_count(),
					     &c->argv[0]);
	char args[256];
	size_t len = 0;

	if (base && base->sub) {
		char upper[32];
		size_t i;

		for (i = 0; base->name[i] && i < sizeof(upper) - 1; i++)
			upper[i] = (char)toupper((unsigned char)base->name[i]);
		upper[i] = '\0';
		kv_reply_errorf(&c->reply, "unknown subcommand '%.*s'. Try %s HELP.",
				arg_prec(&c->argv[1], 128), c->argv[1].p, upper);
		return;
	}
	/* each argument quoted, while the list is under 128 bytes, the
	 * last one cut to fit */
	args[0] = '\0';
	for (size_t i = 1; i < c->argc && len < 128; i++) {
		int n = snprintf(args + len, sizeof(args) - len, "'%.*s' ",
				 arg_prec(&c->argv[i], 128 - len), c->argv[i].p);

		if (n > 0)
			len += (size_t)n;
	}
	kv_reply_errorf(&c->reply,
			"unknown command '%.*s', with args beginning with: %s",
			arg_prec(&c->argv[0], 128), c->argv[0].p, args);
}

static bool arity_ok(const struct kv_cmd *cmd, size_t argc)
{
	if (cmd->arity > 0)
		return argc == (size_t)cmd->arity;
	return argc >= (size_t)-cmd->arity;
}

void kv_cmd_dispatch(struct kv_client *c)
{
	const struct kv_cmd *cmd;

	/* Redis 7.0 answers QUIT before looking anything up */
	if (kv_arg_is(c, 0, "quit")) {
		kv_cmd_quit(c);
		return;
	}
	cmd = kv_cmd_lookup(c->argv, c->argc);
	if (!cmd) {
		reply_unknown(c);
		return;
	}
	if (!arity_ok(cmd, c->argc)) {
		kv_reply_arity(c);
		return;
	}
	cmd->proc(c);
}

void kv_reply_arity(struct kv_client *c)
{
	const struct kv_cmd *cmd = kv_cmd_lookup(c->argv, c->argc);

	kv_reply_errorf(&c->reply, "wrong number of arguments for '%s' command",
			cmd ? cmd->fullname : "");
}

/* --- argument helpers -------------------------------------------------------- */

int kv_arg_ll(struct kv_client *c, size_t i, long long *v)
{
	if (kv_string2ll(c->argv[i].p, c->argv[i].len, v))
		return 0;
	kv_reply_error(&c->reply, KV_ERR_NOT_INT);
	return -EINVAL;
}

int kv_arg_range(struct kv_client *c, size_t i, long long min, long long max,
		 const char *msg, long long *v)
{
	if (!kv_string2ll(c->argv[i].p, c->argv[i].len, v)) {
		kv_reply_error(&c->reply, msg ? msg : KV_ERR_NOT_INT);
		return -EINVAL;
	}
	if (*v < min || *v > max) {
		if (msg)
			kv_reply_error(&c->reply, msg);
		else
			kv_reply_errorf(&c->reply, "value is out of range, value "
					"must between %lld and %lld", min, max);
		return -EINVAL;
	}
	return 0;
}

int kv_arg_positive(struct kv_client *c, size_t i, long long *v)
{
	/* LONG_MAX: a long is 64 bits on our only target, as in Redis */
	return kv_arg_range(c, i, 0, __LONG_MAX__, KV_ERR_POSITIVE, v);
}

int kv_arg_double(struct kv_client *c, size_t i, double *v)
{
	if (kv_string2d(c->argv[i].p, c->argv[i].len, v) == 0)
		return 0;
	kv_reply_error(&c->reply, KV_ERR_NOT_FLOAT);
	return -EINVAL;
}

bool kv_arg_is(const struct kv_client *c, size_t i, const char *word)
{
	return kv_opt_is(c->argv[i].p, c->argv[i].len, word);
}

bool kv_check_type(struct kv_client *c, const struct kv_obj *o,
		   enum kv_type type)
{
	if (o && o->type != type) {
		kv_reply_error(&c->reply, KV_ERR_WRONGTYPE);
		return true;
	}
	return false;
}

struct kv_obj *kv_lookup(struct kv_client *c, size_t i)
{
	return kv_db_lookup(&c->srv->db, c->argv[i].p, c->argv[i].len);
}
