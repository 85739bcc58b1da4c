/*
 * kv_cmd_server.c - connection and server commands: PING, ECHO, QUIT,
 * INFO, CONFIG, COMMAND and DEBUG.
 *
 * INFO reports fields of ours under Redis's section and field names (its
 * content is not Redis's, only its form). CONFIG GET knows the few
 * parameters that describe kvstore truly (no persistence, one database:
 * redis-benchmark asks for "save" and "appendonly", and warns when it
 * gets no pair), anything else is an empty array; COMMAND describes no
 * command (an empty array): enough for redis-cli and redis-benchmark.
 */
#include <fnmatch.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "kv_cmd.h"
#include "kv_util.h"

#define INFO_MAX	2048	/* the INFO text, all sections */

void kv_cmd_ping(struct kv_client *c)
{
	if (c->argc > 2) {
		kv_reply_arity(c);
		return;
	}
	if (c->argc == 1)
		kv_reply_status(&c->reply, "PONG");
	else
		kv_reply_bulk(&c->reply, c->argv[1].p, c->argv[1].len);
}

void kv_cmd_echo(struct kv_client *c)
{
	kv_reply_bulk(&c->reply, c->argv[1].p, c->argv[1].len);
}

/* +OK, then the connection closes once that is sent. */
void kv_cmd_quit(struct kv_client *c)
{
	kv_reply_status(&c->reply, "OK");
	c->flags |= KV_CLIENT_CLOSE_AFTER_REPLY;
}

/* --- INFO ---------------------------------------------------------------- */

struct info_buf {
	char text[INFO_MAX];
	size_t len;
	bool sections;			/* one written already */
};

static void info_add(struct info_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void info_add(struct info_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->len >= sizeof(b->text))
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->text + b->len, sizeof(b->text) - b->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len += (size_t)n;
	if (b->len > sizeof(b->text))
		b->len = sizeof(b->text);
}

/* "# Name\r\n", a blank line before every section but the first. */
static void info_section(struct info_buf *b, const char *name)
{
	info_add(b, "%s# %s\r\n", b->sections ? "\r\n" : "", name);
	b->sections = true;
}

/* Redis's bytesToHuman(). */
static void bytes_human(char *s, size_t size, unsigned long long n)
{
	if (n < 1024)
		snprintf(s, size, "%lluB", n);
	else if (n < 1024ull * 1024)
		snprintf(s, size, "%.2fK", (double)n / 1024);
	else if (n < 1024ull * 1024 * 1024)
		snprintf(s, size, "%.2fM", (double)n / (1024 * 1024));
	else
		snprintf(s, size, "%.2fG", (double)n / (1024.0 * 1024 * 1024));
}

/* Bytes allocated from the heap now, as the allocator counts them (the
 * whole process's: in the guest, that is the server). */
static unsigned long long used_memory(void)
{
	struct mallinfo2 mi = mallinfo2();

	return (unsigned long long)mi.uordblks + mi.hblkhd;
}

static void info_server(struct info_buf *b, struct kv_server *s)
{
	long long up = (kv_db_now(&s->db) - s->start_ms) / 1000;

	info_section(b, "Server");
	info_add(b, "redis_version:%s\r\n", KV_REDIS_VERSION);
	info_add(b, "kvstore_version:%s\r\n", KV_VERSION);
	info_add(b, "redis_mode:standalone\r\n");
	info_add(b, "arch_bits:%zu\r\n", sizeof(void *) * 8);
	info_add(b, "tcp_port:%u\r\n", (unsigned)s->port);
	info_add(b, "uptime_in_seconds:%lld\r\n", up);
	info_add(b, "uptime_in_days:%lld\r\n", up / 86400);
	info_add(b, "hz:%d\r\n", KV_CRON_HZ);
}

static void info_clients(struct info_buf *b, struct kv_server *s)
{
	info_section(b, "Clients");
	info_add(b, "connected_clients:%u\r\n", s->clients);
	info_add(b, "maxclients:%d\r\n", KV_MAX_CLIENTS);
	info_add(b, "blocked_clients:0\r\n");
}

static void info_memory(struct info_buf *b)
{
	unsigned long long used = used_memory();
	char human[32];

	bytes_human(human, sizeof(human), used);
	info_section(b, "Memory");
	info_add(b, "used_memory:%llu\r\n", used);
	info_add(b, "used_memory_human:%s\r\n", human);
	info_add(b, "maxmemory:0\r\n");
	info_add(b, "maxmemory_human:0B\r\n");
	info_add(b, "maxmemory_policy:noeviction\r\n");
}

static void info_stats(struct info_buf *b, struct kv_server *s)
{
	info_section(b, "Stats");
	info_add(b, "total_connections_received:%llu\r\n",
		 (unsigned long long)s->total_connections);
	info_add(b, "total_commands_processed:%llu\r\n",
		 (unsigned long long)s->total_commands);
	info_add(b, "rejected_connections:%llu\r\n",
		 (unsigned long long)s->rejected_connections);
	info_add(b, "expired_keys:%llu\r\n",
		 (unsigned long long)s->db.expired_keys);
}

/* As Redis, the db's line only when it holds keys. */
static void info_keyspace(struct info_buf *b, struct kv_server *s)
{
	info_section(b, "Keyspace");
	if (kv_db_size(&s->db))
		info_add(b, "db0:keys=%zu,expires=%zu,avg_ttl=0\r\n",
			 kv_db_size(&s->db), kv_db_expires(&s->db));
}

/* Is section name asked for? No argument, "default", "all" and
 * "everything" ask for all. */
static bool info_wants(struct kv_client *c, const char *name)
{
	if (c->argc == 1)
		return true;
	for (size_t i = 1; i < c->argc; i++) {
		if (kv_arg_is(c, i, name) || kv_arg_is(c, i, "default") ||
		    kv_arg_is(c, i, "all") || kv_arg_is(c, i, "everything"))
			return true;
	}
	return false;
}

void kv_cmd_info(struct kv_client *c)
{
	struct kv_server *s = c->srv;
	struct info_buf b = { .len = 0 };

	if (info_wants(c, "server"))
		info_server(&b, s);
	if (info_wants(c, "clients"))
		info_clients(&b, s);
	if (info_wants(c, "memory"))
		info_memory(&b);
	if (info_wants(c, "stats"))
		info_stats(&b, s);
	if (info_wants(c, "keyspace"))
		info_keyspace(&b, s);
	kv_reply_bulk(&c->reply, b.text, b.len);
}

/* --- CONFIG and COMMAND ------------------------------------------------ */

/* What CONFIG GET knows, and says as a Redis started with --save ''
 * --appendonly no --databases 1 would. */
static const struct {
	const char *name;
	const char *value;
} config_params[] = {
	{ "appendonly", "no" },
	{ "databases", "1" },
	{ "save", "" },
};

#define N_CONFIG_PARAMS	(sizeof(config_params) / sizeof(config_params[0]))

/*
 * Each parameter an argument names, once, as name-value pairs. A glob
 * (with * ? or [) matches names in any case, as Redis's stringmatch()
 * does; a plain name is answered under the name as it was asked, as
 * Redis does. Pairs come in table order (Redis's come in the order of a
 * hash table: asking for several at once may order them otherwise).
 */
void kv_cmd_config_get(struct kv_client *c)
{
	const struct resp_arg *asked[N_CONFIG_PARAMS] = { NULL };
	bool hit[N_CONFIG_PARAMS] = { false };
	char pattern[128];
	size_t n = 0;

	for (size_t i = 2; i < c->argc; i++) {
		size_t len = kv_cstrlen(c->argv[i].p, c->argv[i].len);
		bool glob;

		if (len >= sizeof(pattern))
			continue;	/* longer than any name it could match */
		memcpy(pattern, c->argv[i].p, len);
		pattern[len] = '\0';
		glob = strpbrk(pattern, "[*?") != NULL;
		for (size_t k = 0; k < N_CONFIG_PARAMS; k++) {
			if (hit[k])
				continue;
			const char *name = config_params[k].name;

			if (glob ? fnmatch(pattern, name, FNM_CASEFOLD) :
				   strcasecmp(pattern, name))
				continue;
			hit[k] = true;
			asked[k] = glob ? NULL : &c->argv[i];
			n++;
		}
	}
	kv_reply_array(&c->reply, (long long)n * 2);
	for (size_t k = 0; k < N_CONFIG_PARAMS; k++) {
		if (!hit[k])
			continue;
		if (asked[k])
			kv_reply_bulk(&c->reply, asked[k]->p,
				      kv_cstrlen(asked[k]->p, asked[k]->len));
		else
			kv_reply_bulk_cstr(&c->reply, config_params[k].name);
		kv_reply_bulk_cstr(&c->reply, config_params[k].value);
	}
}

void kv_cmd_config_set(struct kv_client *c)
{
	kv_reply_errorf(&c->reply, "Unknown option or number of arguments for "
			"CONFIG SET - '%.*s'", (int)c->argv[2].len, c->argv[2].p);
}

void kv_cmd_config_resetstat(struct kv_client *c)
{
	c->srv->total_commands = 0;
	c->srv->total_connections = 0;
	c->srv->rejected_connections = 0;
	c->srv->db.expired_keys = 0;
	kv_reply_status(&c->reply, "OK");
}

void kv_cmd_config_rewrite(struct kv_client *c)
{
	kv_reply_error(&c->reply, "The server is running without a config file");
}

static void reply_help(struct kv_client *c, const char *const *lines)
{
	size_t n = 0;

	while (lines[n])
		n++;
	kv_reply_array(&c->reply, (long long)n);
	for (size_t i = 0; i < n; i++)
		kv_reply_status(&c->reply, lines[i]);
}

void kv_cmd_config_help(struct kv_client *c)
{
	static const char *const help[] = {
		"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"GET <pattern>",
		"    Return parameters matching the glob-like <pattern> "
		"and their values.",
		"RESETSTAT",
		"    Reset statistics reported by the INFO command.",
		"HELP",
		"    Prints this help.",
		NULL,
	};

	reply_help(c, help);
}

/* COMMAND, COMMAND DOCS / INFO / LIST / GETKEYS: nothing described. */
void kv_cmd_command(struct kv_client *c)
{
	kv_reply_array(&c->reply, 0);
}

void kv_cmd_command_count(struct kv_client *c)
{
	kv_reply_int(&c->reply, (long long)kv_cmd_count());
}

void kv_cmd_command_help(struct kv_client *c)
{
	static const char *const help[] = {
		"COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"COUNT",
		"    Return the total number of commands in this server.",
		"(no subcommand), DOCS, INFO, LIST, GETKEYS",
		"    An empty array: kvstore describes no command.",
		"HELP",
		"    Prints this help.",
		NULL,
	};

	reply_help(c, help);
}

/* --- DEBUG --------------------------------------------------------------- */

void kv_cmd_debug_help(struct kv_client *c)
{
	static const char *const help[] = {
		"DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"PID",
		"    Return the server process's own pid (not replicated: the "
		"two guests of a pair answer differently).",
		"HELP",
		"    Prints this help.",
		NULL,
	};

	reply_help(c, help);
}

/*
 * The pid of the process serving, from the kernel (glibc caches none):
 * in a replica it is the replica's own, whatever memory a checkpoint
 * copied in. The one reply on purpose not the same on both guests of a
 * pair, so that a test can make their outputs differ.
 */
void kv_cmd_debug_pid(struct kv_client *c)
{
	kv_reply_int(&c->reply, (long long)getpid());
}
