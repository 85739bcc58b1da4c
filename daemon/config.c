/*
 * config.c - the table of colo.conf keys and their parser.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <arpa/inet.h>

#include <ini.h>

#define LOG_PREFIX "config: "
#include "config.h"

enum key_type {
	KEY_UINT_CLAMPED,	/* unsigned in [min, max], clamped with a warning */
	KEY_UINT_RANGE,		/* unsigned in [min, max], refused outside */
	KEY_U64_RANGE,		/* the same, stored in a uint64_t */
	KEY_NAMED,		/* a word, turned into a value by parse() */
};

struct config_key {
	const char *section;
	const char *name;
	enum key_type type;
	size_t offset;			/* into struct colo_config */
	unsigned long min, max;		/* KEY_UINT_* and KEY_U64_RANGE */
	int (*parse)(const char *value, void *dst);	/* KEY_NAMED */
	const char *allowed;		/* shown when a value is refused */
	/* coloctl set may change it on a running primary, which applies
	 * the change (primary_control.c: apply_live) */
	bool live;
};

static int parse_dirty_log(const char *value, void *dst)
{
	return dirty_log_kind_parse(value, dst);
}

static int parse_clear_mode(const char *value, void *dst)
{
	return dirty_log_clear_mode_parse(value, dst);
}

static int parse_log_level(const char *value, void *dst)
{
	return log_level_parse(value, dst);
}

/* Copy value into a char array of size n, if it fits and is not empty. */
static int copy_string(const char *value, void *dst, size_t n)
{
	if (!*value || strlen(value) >= n)
		return -EINVAL;
	memcpy(dst, value, strlen(value) + 1);
	return 0;
}

static int parse_abs_path(const char *value, void *dst)
{
	return value[0] == '/' ? copy_string(value, dst, 4096) : -EINVAL;
}

static int parse_optional_path(const char *value, void *dst)
{
	if (!*value) {
		*(char *)dst = '\0';
		return 0;
	}
	return parse_abs_path(value, dst);
}

static int parse_args(const char *value, void *dst)
{
	if (strlen(value) >= 1024)
		return -EINVAL;
	memcpy(dst, value, strlen(value) + 1);
	return 0;
}

static int parse_socket(const char *value, void *dst)
{
	return value[0] == '/' ? copy_string(value, dst, 108) : -EINVAL;
}

int config_split_address(const char *address, char *host, size_t host_len,
			 unsigned *port)
{
	const char *colon = strrchr(address, ':');
	struct in_addr a;
	char *end;
	unsigned long p;

	if (!colon || (size_t)(colon - address) >= host_len)
		return -EINVAL;
	memcpy(host, address, (size_t)(colon - address));
	host[colon - address] = '\0';
	p = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || p == 0 || p > 65535 ||
	    inet_pton(AF_INET, host, &a) != 1)
		return -EINVAL;
	*port = (unsigned)p;
	return 0;
}

static int parse_address(const char *value, void *dst)
{
	char host[64];
	unsigned port;

	if (config_split_address(value, host, sizeof(host), &port))
		return -EINVAL;
	return copy_string(value, dst, 64);
}

static int parse_optional_address(const char *value, void *dst)
{
	if (!*value) {
		*(char *)dst = '\0';
		return 0;
	}
	return parse_address(value, dst);
}

static int parse_output(const char *value, void *dst)
{
	if (strcmp(value, "compare") == 0)
		*(enum net_output *)dst = NET_OUTPUT_COMPARE;
	else if (strcmp(value, "buffer") == 0)
		*(enum net_output *)dst = NET_OUTPUT_BUFFER;
	else
		return -EINVAL;
	return 0;
}

static int parse_bool(const char *value, void *dst)
{
	if (strcmp(value, "yes") == 0)
		*(bool *)dst = true;
	else if (strcmp(value, "no") == 0)
		*(bool *)dst = false;
	else
		return -EINVAL;
	return 0;
}

/* "22, 5405": ports 1..65535 separated by commas or blanks, at most
 * NET_MAX_PASSTHROUGH, or nothing, into a struct net_ports. */
static int parse_ports(const char *value, void *dst)
{
	struct net_ports *out = dst;
	uint16_t ports[NET_MAX_PASSTHROUGH];
	unsigned n = 0;
	const char *s = value;

	for (;;) {
		unsigned long v;
		char *end;

		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		if (!*s)
			break;
		if (*s < '0' || *s > '9' || n == NET_MAX_PASSTHROUGH)
			return -EINVAL;
		v = strtoul(s, &end, 10);
		if (v == 0 || v > 65535 || (*end && *end != ',' &&
					    *end != ' ' && *end != '\t'))
			return -EINVAL;
		ports[n++] = (uint16_t)v;
		s = end;
	}
	memcpy(out->port, ports, n * sizeof(ports[0]));
	out->n = n;
	return 0;
}

/* A group name, or nothing: whether it exists is the daemon's to check
 * at start (it may be another host's file). */
static int parse_group(const char *value, void *dst)
{
	if (strlen(value) >= 33)
		return -EINVAL;
	for (const char *c = value; *c; c++)
		if (!(isalnum((unsigned char)*c) || *c == '_' || *c == '-' ||
		      *c == '.'))
			return -EINVAL;
	memcpy(dst, value, strlen(value) + 1);
	return 0;
}

/* A network interface name (IFNAMSIZ), or nothing. */
static int parse_ifname(const char *value, void *dst)
{
	for (const char *c = value; *c; c++)
		if (*c == '/' || *c == ' ' || *c == ':')
			return -EINVAL;
	if (strlen(value) >= 16)
		return -EINVAL;
	memcpy(dst, value, strlen(value) + 1);
	return 0;
}

/* A dotted IPv4 address, or nothing. */
static int parse_ipv4(const char *value, void *dst)
{
	struct in_addr a;

	if (*value && inet_pton(AF_INET, value, &a) != 1)
		return -EINVAL;
	memcpy(dst, value, strlen(value) + 1);
	return 0;
}

/* xx:xx:xx:xx:xx:xx, unicast, or nothing. */
static int parse_mac(const char *value, void *dst)
{
	unsigned b[6];
	int n = 0;

	if (*value && (strlen(value) != 17 ||
		       sscanf(value, "%2x:%2x:%2x:%2x:%2x:%2x%n", &b[0], &b[1],
			      &b[2], &b[3], &b[4], &b[5], &n) != 6 ||
		       n != 17 || (b[0] & 1)))
		return -EINVAL;
	memcpy(dst, value, strlen(value) + 1);
	return 0;
}

static const struct config_key config_keys[] = {
	{ "ram", "clear_bitmap_shift", KEY_UINT_CLAMPED,
	  offsetof(struct colo_config, ram.clear_bitmap_shift),
	  CLEAR_BITMAP_SHIFT_MIN, CLEAR_BITMAP_SHIFT_MAX, NULL,
	  "an integer 6..31 (default 18: 1 GiB chunks of 4 KiB pages)", true },
	{ "ram", "dirty_log", KEY_NAMED,
	  offsetof(struct colo_config, ram.dirty_log), 0, 0, parse_dirty_log,
	  "auto, uffd-wp or full (default auto)", false },
	{ "ram", "clear_mode", KEY_NAMED,
	  offsetof(struct colo_config, ram.clear_mode), 0, 0, parse_clear_mode,
	  "lazy or monolithic (default lazy)", true },
	{ "log", "level", KEY_NAMED,
	  offsetof(struct colo_config, log.level), 0, 0, parse_log_level,
	  "error, warn, info or debug (default info)", false },
	{ "log", "file", KEY_NAMED,
	  offsetof(struct colo_config, log.file), 0, 0, parse_optional_path,
	  "an absolute path, or nothing for standard error", false },
	{ "guest", "program", KEY_NAMED,
	  offsetof(struct colo_config, guest.program), 0, 0, parse_abs_path,
	  "the absolute path of the guest binary, the same on both hosts",
	  false },
	{ "guest", "args", KEY_NAMED,
	  offsetof(struct colo_config, guest.args), 0, 0, parse_args,
	  "the guest's arguments, separated by blanks, under 1024 characters",
	  false },
	{ "guest", "stack_limit_kib", KEY_U64_RANGE,
	  offsetof(struct colo_config, guest.stack_limit_kib), 128,
	  16ul << 20, NULL,
	  "KiB from 128 to 16777216 (default 8192); unlimited is not allowed",
	  false },
	{ "guest", "max_ram_mib", KEY_U64_RANGE,
	  offsetof(struct colo_config, guest.max_ram_mib), 0, 16ul << 20, NULL,
	  "MiB from 0 (no limit, the default) to 16777216", false },
	{ "guest", "stop_timeout_ms", KEY_UINT_RANGE,
	  offsetof(struct colo_config, guest.stop_timeout_ms), 1, 600000,
	  NULL, "milliseconds from 1 to 600000 (default 1000)", false },
	{ "checkpoint", "checkpoint_delay_ms", KEY_UINT_RANGE,
	  offsetof(struct colo_config, checkpoint.checkpoint_delay_ms), 1,
	  600000, NULL, "milliseconds from 1 to 600000 (default 100)", true },
	{ "checkpoint", "max_downtime_ms", KEY_UINT_RANGE,
	  offsetof(struct colo_config, checkpoint.max_downtime_ms), 1, 60000,
	  NULL, "milliseconds from 1 to 60000 (default 30)", false },
	{ "checkpoint", "compress_level", KEY_UINT_RANGE,
	  offsetof(struct colo_config, checkpoint.compress_level), 0, 9, NULL,
	  "0 (no compression) to 9 (default 0)", true },
	{ "checkpoint", "listen", KEY_NAMED,
	  offsetof(struct colo_config, checkpoint.listen), 0, 0, parse_address,
	  "IPV4-ADDRESS:PORT, like 127.0.0.1:9470", false },
	{ "checkpoint", "peer", KEY_NAMED,
	  offsetof(struct colo_config, checkpoint.peer), 0, 0, parse_address,
	  "IPV4-ADDRESS:PORT of the secondary, like 127.0.0.1:9470", false },
	{ "ha", "heartbeat_timeout_ms", KEY_UINT_RANGE,
	  offsetof(struct colo_config, ha.heartbeat_timeout_ms), 100, 600000,
	  NULL, "milliseconds from 100 to 600000 (default 2000)", false },
	{ "ha", "auto_failover", KEY_NAMED,
	  offsetof(struct colo_config, ha.auto_failover), 0, 0, parse_bool,
	  "yes or no (default no); yes needs lan_listen and lan_peer", false },
	{ "ha", "lan_listen", KEY_NAMED,
	  offsetof(struct colo_config, ha.lan_listen), 0, 0,
	  parse_optional_address,
	  "IPV4-ADDRESS:PORT on the client LAN, like 10.77.1.2:9471, or "
	  "nothing", false },
	{ "ha", "lan_peer", KEY_NAMED,
	  offsetof(struct colo_config, ha.lan_peer), 0, 0,
	  parse_optional_address,
	  "IPV4-ADDRESS:PORT of the peer's lan_listen, or nothing", false },
	{ "hooks", "role_change", KEY_NAMED,
	  offsetof(struct colo_config, hooks.role_change), 0, 0,
	  parse_optional_path, "the absolute path of a program, or nothing",
	  false },
	{ "hooks", "peer_event", KEY_NAMED,
	  offsetof(struct colo_config, hooks.peer_event), 0, 0,
	  parse_optional_path, "the absolute path of a program, or nothing",
	  false },
	{ "hooks", "timeout_ms", KEY_UINT_RANGE,
	  offsetof(struct colo_config, hooks.timeout_ms), 100, 600000,
	  NULL, "milliseconds from 100 to 600000 (default 10000)", false },
	{ "net", "bridge", KEY_NAMED,
	  offsetof(struct colo_config, net.bridge), 0, 0, parse_ifname,
	  "the name of an existing bridge (under 16 characters), or nothing "
	  "for a guest without a network", false },
	{ "net", "tap", KEY_NAMED,
	  offsetof(struct colo_config, net.tap), 0, 0, parse_ifname,
	  "an interface name under 16 characters, or nothing (colo0, colo1...)",
	  false },
	{ "net", "output", KEY_NAMED,
	  offsetof(struct colo_config, net.output), 0, 0, parse_output,
	  "compare or buffer (default compare)", false },
	{ "net", "guest_ip", KEY_NAMED,
	  offsetof(struct colo_config, net.guest_ip), 0, 0, parse_ipv4,
	  "a dotted IPv4 address, like 10.77.1.100, or nothing", false },
	{ "net", "guest_netmask", KEY_NAMED,
	  offsetof(struct colo_config, net.guest_netmask), 0, 0, parse_ipv4,
	  "a dotted IPv4 netmask, like 255.255.255.0, or nothing", false },
	{ "net", "guest_gateway", KEY_NAMED,
	  offsetof(struct colo_config, net.guest_gateway), 0, 0, parse_ipv4,
	  "a dotted IPv4 address, or nothing", false },
	{ "net", "guest_mac", KEY_NAMED,
	  offsetof(struct colo_config, net.guest_mac), 0, 0, parse_mac,
	  "a unicast MAC address like 52:54:00:12:34:56, or nothing (the "
	  "runtime's default)", false },
	{ "net", "max_held_frames", KEY_UINT_RANGE,
	  offsetof(struct colo_config, net.max_held_frames), 16, 1u << 20,
	  NULL, "frames from 16 to 1048576 (default 4096)", false },
	{ "net", "max_held_bytes", KEY_U64_RANGE,
	  offsetof(struct colo_config, net.max_held_bytes), 64ul << 10,
	  1ul << 30, NULL,
	  "bytes from 65536 to 1073741824 (default 16777216)", false },
	{ "net", "clock_feed", KEY_NAMED,
	  offsetof(struct colo_config, net.clock_feed), 0, 0, parse_bool,
	  "yes or no (default yes)", false },
	{ "net", "compare_timeout_ms", KEY_UINT_RANGE,
	  offsetof(struct colo_config, net.compare_timeout_ms), 1, 60000,
	  NULL, "milliseconds from 1 to 60000 (default 100)", false },
	{ "net", "max_queue_frames", KEY_UINT_RANGE,
	  offsetof(struct colo_config, net.max_queue_frames), 16, 1u << 20,
	  NULL, "frames from 16 to 1048576 (default 4096)", false },
	{ "net", "max_queue_bytes", KEY_U64_RANGE,
	  offsetof(struct colo_config, net.max_queue_bytes), 64ul << 10,
	  1ul << 30, NULL,
	  "bytes from 65536 to 1073741824 (default 16777216)", false },
	{ "net", "passthrough", KEY_NAMED,
	  offsetof(struct colo_config, net.passthrough), 0, 0, parse_ports,
	  "TCP/UDP ports 1..65535 separated by commas, at most 16, or "
	  "nothing", false },
	{ "net", "tx_segment", KEY_UINT_RANGE,
	  offsetof(struct colo_config, net.tx_segment), 0, 65535, NULL,
	  "bytes from 0 (lwIP's own segments) to 65535; a test knob", false },
	{ "control", "group", KEY_NAMED,
	  offsetof(struct colo_config, control.group), 0, 0, parse_group,
	  "a group name (letters, digits, '_', '-', '.', under 33 "
	  "characters), or nothing", false },
	{ "control", "socket", KEY_NAMED,
	  offsetof(struct colo_config, control.socket), 0, 0, parse_socket,
	  "an absolute path under 108 characters (default /run/colo/colo.sock)",
	  false },
	{ "debug", "record_hashes", KEY_NAMED,
	  offsetof(struct colo_config, debug.record_hashes), 0, 0,
	  parse_optional_path, "an absolute path, or nothing (off)", false },
	{ "security", "psk_file", KEY_NAMED,
	  offsetof(struct colo_config, security.psk_file), 0, 0,
	  parse_optional_path,
	  "the absolute path of the replication link's key, the same key "
	  "on both nodes (coloctl genkey PATH makes one), or nothing", false },
	{ "security", "insecure", KEY_NAMED,
	  offsetof(struct colo_config, security.insecure), 0, 0, parse_bool,
	  "yes or no (default no); yes runs the replication link without "
	  "a key, unauthenticated", false },
};

#define NR_KEYS (sizeof(config_keys) / sizeof(config_keys[0]))

const char *config_key_name(size_t i, const char **section)
{
	if (i >= NR_KEYS)
		return NULL;
	*section = config_keys[i].section;
	return config_keys[i].name;
}

void config_defaults(struct colo_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ram.clear_bitmap_shift = CLEAR_BITMAP_SHIFT_DEFAULT;
	cfg->ram.dirty_log = DIRTY_LOG_AUTO;
	cfg->ram.clear_mode = DIRTY_LOG_LAZY;
	cfg->log.level = LOG_INFO;
	cfg->guest.stack_limit_kib = 8192;
	cfg->guest.stop_timeout_ms = 1000;
	cfg->checkpoint.checkpoint_delay_ms = 100;
	cfg->checkpoint.max_downtime_ms = 30;
	cfg->checkpoint.compress_level = 0;
	snprintf(cfg->checkpoint.listen, sizeof(cfg->checkpoint.listen),
		 "127.0.0.1:9470");
	snprintf(cfg->checkpoint.peer, sizeof(cfg->checkpoint.peer),
		 "127.0.0.1:9470");
	cfg->ha.heartbeat_timeout_ms = 2000;
	cfg->hooks.timeout_ms = 10000;
	cfg->net.output = NET_OUTPUT_COMPARE;
	cfg->net.clock_feed = true;
	cfg->net.compare_timeout_ms = 100;
	cfg->net.max_queue_frames = 4096;
	cfg->net.max_queue_bytes = 16u << 20;
	snprintf(cfg->net.guest_netmask, sizeof(cfg->net.guest_netmask),
		 "255.255.255.0");
	cfg->net.max_held_frames = 4096;
	cfg->net.max_held_bytes = 16u << 20;
	snprintf(cfg->control.socket, sizeof(cfg->control.socket),
		 "/run/colo/colo.sock");
}

struct config_parse {
	struct colo_config cfg;		/* filled, copied out on success */
	const char *path;
	FILE *file;
	char *line_buf;
	size_t line_cap;
	int line;			/* number of the line being parsed */
	int seen[NR_KEYS];		/* line where each key was set */
	int err_line;			/* first error we found, 0 = none */
	char err[512];			/* its message, logged at the end */
	char warn[4][640];		/* clamps, logged if the file is taken */
	int nr_warn;
};

/* Keep the first error only; later ones are usually its echoes. */
static void __attribute__((format(printf, 2, 3)))
parse_error(struct config_parse *p, const char *fmt, ...)
{
	va_list ap;

	if (p->err_line)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
	p->err_line = p->line;
}

static void list_sections(char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NR_KEYS; i++) {
		if (i && strcmp(config_keys[i].section, config_keys[i - 1].section) == 0)
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%s[%s]",
					 used ? ", " : "", config_keys[i].section);
		if (used >= len)
			return;
	}
}

static void list_keys(const char *section, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NR_KEYS; i++) {
		if (strcmp(config_keys[i].section, section) != 0)
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
					 used ? ", " : "", config_keys[i].name);
		if (used >= len)
			return;
	}
}

static bool section_known(const char *section)
{
	for (size_t i = 0; i < NR_KEYS; i++)
		if (strcmp(config_keys[i].section, section) == 0)
			return true;
	return false;
}

/*
 * inih's line reader, replaced so that we know the line number in the
 * handler (this libinih is built without INI_HANDLER_LINENO), so that a
 * line too long for inih is an error rather than silently split, so that
 * an indented line is not taken for the continuation of the one before
 * (this libinih allows multi-line values), and so that a section header
 * with no keys under it is checked too (inih calls us for keys only).
 */
static char *config_read_line(char *str, int num, void *stream)
{
	struct config_parse *p = stream;
	ssize_t n = getline(&p->line_buf, &p->line_cap, p->file);
	const char *line = p->line_buf;

	if (n < 0)
		return NULL;
	p->line++;
	while (*line == ' ' || *line == '\t') {
		line++;
		n--;
	}
	if (n > num - 2) {
		parse_error(p, "line longer than %d characters", num - 3);
		strcpy(str, "\n");
		return str;
	}
	if (line[0] == '[') {
		const char *close = strchr(line, ']');
		char name[64], known[256];

		if (close && (size_t)(close - line - 1) < sizeof(name)) {
			memcpy(name, line + 1, (size_t)(close - line - 1));
			name[close - line - 1] = '\0';
			if (!section_known(name)) {
				list_sections(known, sizeof(known));
				parse_error(p, "unknown section [%s]; known "
					    "sections: %s", name, known);
			}
		}
	}
	memcpy(str, line, (size_t)n + 1);
	return str;
}

/*
 * One key's value, from a line of colo.conf or from coloctl set, into k's
 * field of cfg: the one place values are parsed, checked and clamped.
 * 0 when set as given (msg: "[section] key = value"), 1 when clamped
 * (msg: the warning, naming the value taken), -EINVAL when refused (msg:
 * why, and what is allowed; cfg untouched).
 */
static int key_set(struct colo_config *cfg, const struct config_key *k,
		   const char *value, char *msg, size_t len)
{
	char *dst = (char *)cfg + k->offset;
	unsigned long v, to;
	char *end;
	int ret = 0;

	if (k->type == KEY_NAMED) {
		if (k->parse(value, dst)) {
			snprintf(msg, len, "[%s] %s = '%s' is not valid; allowed: %s",
				 k->section, k->name, value, k->allowed);
			return -EINVAL;
		}
		snprintf(msg, len, "[%s] %s = %s", k->section, k->name, value);
		return 0;
	}
	errno = 0;
	v = strtoul(value, &end, 10);
	/* digits only: strtoul would take " -5" (blanks, a sign) too */
	if (!*value || *end || value[0] < '0' || value[0] > '9') {
		snprintf(msg, len, "[%s] %s = '%s' is not a number; allowed: %s",
			 k->section, k->name, value, k->allowed);
		return -EINVAL;
	}
	if (errno == ERANGE)
		v = ULONG_MAX;
	if (v < k->min || v > k->max) {
		to = v < k->min ? k->min : k->max;
		if (k->type != KEY_UINT_CLAMPED) {
			snprintf(msg, len, "[%s] %s = %s is out of range; allowed: %s",
				 k->section, k->name, value, k->allowed);
			return -EINVAL;
		}
		snprintf(msg, len, "[%s] %s = %s is out of range %lu..%lu; "
			 "clamped to %lu", k->section, k->name, value, k->min,
			 k->max, to);
		v = to;
		ret = 1;
	} else {
		snprintf(msg, len, "[%s] %s = %lu", k->section, k->name, v);
	}
	if (k->type == KEY_U64_RANGE)
		*(uint64_t *)(void *)dst = v;
	else
		*(unsigned *)(void *)dst = (unsigned)v;
	return ret;
}

static int config_handler(void *user, const char *section, const char *name,
			  const char *value)
{
	struct config_parse *p = user;
	char known[256], msg[512];
	int ret;

	if (!section_known(section)) {
		list_sections(known, sizeof(known));
		if (!*section)
			parse_error(p, "key '%s' is outside any section; put it "
				    "under one of %s", name, known);
		else		/* the reader reported the header already */
			parse_error(p, "unknown section [%s]; known sections: "
				    "%s", section, known);
		return 0;
	}
	for (size_t i = 0; i < NR_KEYS; i++) {
		const struct config_key *k = &config_keys[i];

		if (strcmp(k->section, section) != 0 || strcmp(k->name, name) != 0)
			continue;
		if (p->seen[i]) {
			parse_error(p, "[%s] %s is set twice (first on line "
				    "%d); keep one", section, name, p->seen[i]);
			return 0;
		}
		p->seen[i] = p->line;
		ret = key_set(&p->cfg, k, value, msg, sizeof(msg));
		if (ret < 0) {
			parse_error(p, "%s", msg);
			return 0;
		}
		if (ret > 0 && p->nr_warn < 4)
			snprintf(p->warn[p->nr_warn++], sizeof(p->warn[0]),
				 "%s:%d: %s", p->path, p->line, msg);
		return 1;
	}
	list_keys(section, known, sizeof(known));
	parse_error(p, "unknown key '%s' in [%s]; known keys there: %s", name,
		    section, known);
	return 0;
}

void config_live_keys(char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NR_KEYS && used < len; i++)
		if (config_keys[i].live)
			used += (size_t)snprintf(buf + used, len - used, "%s%s",
						 used ? ", " : "",
						 config_keys[i].name);
}

/* The key named "section.name" or "name" (names are unique), or NULL
 * with msg saying why not. */
static const struct config_key *find_key(const char *key, char *msg,
					 size_t len)
{
	const char *dot = strchr(key, '.');
	const char *name = dot ? dot + 1 : key;
	size_t slen = dot ? (size_t)(dot - key) : 0;
	const struct config_key *found = NULL;
	char section[64], known[512];

	if (dot && slen < sizeof(section)) {
		memcpy(section, key, slen);
		section[slen] = '\0';
		if (!section_known(section)) {
			list_sections(known, sizeof(known));
			snprintf(msg, len, "unknown section [%s]; known sections: "
				 "%s", section, known);
			return NULL;
		}
	}
	for (size_t i = 0; i < NR_KEYS; i++) {
		const struct config_key *k = &config_keys[i];

		if (strcmp(k->name, name) != 0 ||
		    (dot && (strlen(k->section) != slen ||
			     strncmp(k->section, key, slen) != 0)))
			continue;
		if (found) {
			snprintf(msg, len, "key '%s' is in [%s] and in [%s]; "
				 "name one: %s.%s", name, found->section,
				 k->section, found->section, name);
			return NULL;
		}
		found = k;
	}
	if (!found) {
		if (dot && slen < sizeof(section)) {
			list_keys(section, known, sizeof(known));
			snprintf(msg, len, "unknown key '%s' in [%s]; known keys "
				 "there: %s", name, section, known);
		} else {
			snprintf(msg, len, "unknown key '%s'; give one of colo.conf's "
				 "keys, as SECTION.KEY or KEY", key);
		}
	}
	return found;
}

int config_set_key(struct colo_config *cfg, const char *key,
		   const char *value, char *msg, size_t len)
{
	const struct config_key *k = find_key(key, msg, len);

	return k ? key_set(cfg, k, value, msg, len) : -ENOENT;
}

int config_set_live(struct colo_config *cfg, const char *key,
		    const char *value, char *msg, size_t len)
{
	const struct config_key *k = find_key(key, msg, len);
	char live[256];

	config_live_keys(live, sizeof(live));
	if (!k) {
		if (!strchr(key, '.'))	/* the list that helps here */
			snprintf(msg, len, "unknown key '%s'; set takes %s", key,
				 live);
		return -ENOENT;
	}
	if (!k->live) {
		snprintf(msg, len, "[%s] %s cannot be changed on a running "
			 "daemon: change it in colo.conf and restart the daemon "
			 "(set takes %s)", k->section, k->name, live);
		return -EPERM;
	}
	return key_set(cfg, k, value, msg, len);
}

int config_load(struct colo_config *cfg, const char *path)
{
	struct config_parse p = { .path = path };
	struct stat sb;
	int ret, read_error;

	config_defaults(&p.cfg);
	snprintf(p.cfg.path, sizeof(p.cfg.path), "%s", path);
	p.file = fopen(path, "re");
	if (!p.file) {
		ret = -errno;
		pr_err("cannot open config file %s: %s; give the path of an "
		       "existing file (colo.conf in the source tree is an "
		       "annotated example)", path, strerror(errno));
		return ret;
	}
	if (fstat(fileno(p.file), &sb) == 0 && !S_ISREG(sb.st_mode)) {
		fclose(p.file);
		pr_err("config file %s is not a regular file; give the path of "
		       "a colo.conf", path);
		return -EINVAL;
	}
	ret = ini_parse_stream(config_read_line, &p, config_handler, &p);
	read_error = ferror(p.file) ? errno : 0;
	fclose(p.file);
	free(p.line_buf);
	if (ret < 0) {
		pr_err("cannot parse %s: out of memory", path);
		return -ENOMEM;
	}
	if (read_error) {
		pr_err("cannot read config file %s: %s", path,
		       strerror(read_error));
		return -read_error;
	}
	if (ret > 0 && (p.err_line == 0 || ret < p.err_line)) {
		p.line = ret;
		p.err_line = 0;
		parse_error(&p, "syntax error: expected '[section]' or "
			    "'key = value'");
	}
	if (p.err_line) {
		pr_err("%s:%d: %s", path, p.err_line, p.err);
		return -EINVAL;
	}
	for (int i = 0; i < p.nr_warn; i++)
		pr_warn("%s", p.warn[i]);
	*cfg = p.cfg;
	return 0;
}

/* --- [security] ----------------------------------------------------------- */

int config_security_load(struct colo_config *cfg)
{
	const char *file = cfg->path[0] ? cfg->path : "colo.conf";
	char id[2 * AUTH_KEY_ID_LEN + 1];
	int ret;

	if (cfg->security.loaded)
		return 0;
	if (cfg->security.psk_file[0] && cfg->security.insecure) {
		pr_err("%s sets both [security] psk_file and insecure = yes: "
		       "keep psk_file (the link authenticated) or remove it "
		       "(insecure: anyone who reaches the replication port can "
		       "write into the guest's memory)", file);
		return -EINVAL;
	}
	if (cfg->security.insecure) {
		pr_warn("[security] insecure = yes: the replication link is "
			"NOT authenticated; anyone who can reach it can write "
			"into the guest's memory or stop the pair. Use it only "
			"on a network you trust; set [security] psk_file "
			"(coloctl genkey) to authenticate it");
		cfg->security.loaded = true;
		return 0;
	}
	if (!cfg->security.psk_file[0]) {
		pr_err("no key for the replication link: set [security] "
		       "psk_file = /etc/colo/psk in %s (make it with 'coloctl "
		       "genkey /etc/colo/psk' on one node and copy it, mode "
		       "0600, to the other), or on a network you trust set "
		       "[security] insecure = yes", file);
		return -ENOKEY;
	}
	ret = auth_key_load(cfg->security.psk_file, &cfg->security.key);
	if (ret)
		return ret;
	auth_key_id_hex(&cfg->security.key, id);
	pr_info("the replication link is authenticated with the key in %s "
		"(key id %s; the other node must show the same)",
		cfg->security.psk_file, id);
	cfg->security.loaded = true;
	return 0;
}

int config_link_key(struct colo_config *cfg, const struct auth_key **key)
{
	int ret = config_security_load(cfg);

	*key = ret || cfg->security.insecure ? NULL : &cfg->security.key;
	return ret;
}

const char *config_security_name(const struct colo_config *cfg)
{
	return cfg->security.insecure ? "insecure" : "psk";
}

unsigned config_handshake_ms(const struct colo_config *cfg)
{
	unsigned hb = cfg->ha.heartbeat_timeout_ms;

	return hb < CONFIG_HANDSHAKE_MAX_MS ? hb : CONFIG_HANDSHAKE_MAX_MS;
}
