/*
 * coloctl - the one command-line entry point of colo.
 *
 *   coloctl [-c FILE] [-v] COMMAND [ARGS]
 *
 * Commands are a static table, like ospfctl's grammar. This landing has
 * the debugging command that runs one guest on the runtime; the daemons'
 * commands (start-primary, start-secondary, failover, status, ...) come
 * with the daemons.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_PREFIX "coloctl: "
#include "log.h"
#include "config.h"
#include "guest.h"

#define ETH_TYPE_TEXT	0x88b5	/* frames whose payload is a text line */

struct ctl_command {
	const char *words;		/* "guest run" */
	const char *usage;		/* what follows the words */
	const char *help;
	int (*run)(const struct colo_config *cfg, int argc, char **argv);
};

static int cmd_guest_run(const struct colo_config *cfg, int argc, char **argv);
static int cmd_help(const struct colo_config *cfg, int argc, char **argv);

static const struct ctl_command commands[] = {
	{ "guest run", "[--mac MAC] [--stack-limit KIB] -- PROGRAM [ARGS...]",
	  "run PROGRAM as a colo guest on this host, for debugging: its log "
	  "lines and frames are printed, each stdin line is sent to it as a "
	  "text frame (type 0x88b5); stdin's end or ^C shuts it down",
	  cmd_guest_run },
	{ "help", "", "this list", cmd_help },
};

#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out, "usage: coloctl [-c colo.conf] [-v] COMMAND [ARGS]\n\n");
	for (size_t i = 0; i < NR_COMMANDS; i++)
		fprintf(out, "  coloctl %s %s\n      %s\n", commands[i].words,
			commands[i].usage, commands[i].help);
}

static int cmd_help(const struct colo_config *cfg, int argc, char **argv)
{
	(void)cfg;
	(void)argc;
	(void)argv;
	usage(stdout);
	return 0;
}

/* --- guest run ------------------------------------------------------------ */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static const unsigned char console_mac[6] = { 0x02, 0, 0, 0, 0, 0xfe };

static void print_frame(struct guest *g, const void *frame, size_t len,
			void *opaque)
{
	const unsigned char *f = frame;

	(void)opaque;
	if (len >= 14 && f[12] == (ETH_TYPE_TEXT >> 8) &&
	    f[13] == (ETH_TYPE_TEXT & 0xff)) {
		printf("%s: %.*s\n", g->name, (int)(len - 14),
		       (const char *)f + 14);
	} else if (len >= 14) {
		printf("%s: frame of %zu bytes to %02x:%02x:%02x:%02x:%02x:%02x, "
		       "type %#06x\n", g->name, len, f[0], f[1], f[2], f[3], f[4],
		       f[5], f[12] << 8 | f[13]);
	} else {
		printf("%s: runt frame of %zu bytes\n", g->name, len);
	}
	fflush(stdout);
}

/* After stdin ends, the guest is shut down once quiet for this long. */
#define QUIET_MS	500

struct line_buf {
	char buf[4096];
	size_t len;
};

/* One line of stdin to the guest as a text frame. */
static int send_line(struct guest *g, const uint8_t mac[6], const char *line)
{
	unsigned char frame[1514];
	size_t len = strcspn(line, "\n");

	if (len > sizeof(frame) - 14)
		len = sizeof(frame) - 14;
	memcpy(frame, mac, 6);
	memcpy(frame + 6, console_mac, 6);
	frame[12] = ETH_TYPE_TEXT >> 8;
	frame[13] = ETH_TYPE_TEXT & 0xff;
	memcpy(frame + 14, line, len);
	return guest_send_frame(g, frame, 14 + len);
}

/* Read what stdin has; send every complete line. 0 at its end. */
static int stdin_lines(struct guest *g, const uint8_t mac[6],
		       struct line_buf *in)
{
	ssize_t n = read(0, in->buf + in->len, sizeof(in->buf) - 1 - in->len);
	char *start = in->buf, *nl;

	if (n < 0)
		return errno == EINTR ? 1 : -errno;
	if (n == 0) {
		if (in->len) {		/* a last line without newline */
			in->buf[in->len] = '\0';
			send_line(g, mac, in->buf);
		}
		return 0;
	}
	in->len += (size_t)n;
	in->buf[in->len] = '\0';
	while ((nl = strchr(start, '\n'))) {
		*nl = '\0';
		if (send_line(g, mac, start))
			return -EIO;
		start = nl + 1;
	}
	in->len -= (size_t)(start - in->buf);
	memmove(in->buf, start, in->len);
	if (in->len == sizeof(in->buf) - 1) {	/* no newline in 4 KiB */
		in->buf[in->len] = '\0';
		send_line(g, mac, in->buf);
		in->len = 0;
	}
	return 1;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char extra;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &extra) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

/* PROGRAM as given, or found in PATH, made absolute. */
static int resolve_program(const char *prog, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char candidate[PATH_MAX];

	if (strchr(prog, '/'))
		return realpath(prog, out) && strlen(out) < len ? 0 : -errno;
	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t n = strcspn(p, ":");

		snprintf(candidate, sizeof(candidate), "%.*s/%s", (int)n, p, prog);
		if (access(candidate, X_OK) == 0 && realpath(candidate, out))
			return 0;
		p += n + (p[n] == ':');
	}
	return -ENOENT;
}

static int cmd_guest_run(const struct colo_config *cfg, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mac", required_argument, NULL, 'm' },
		{ "stack-limit", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	uint8_t mac[6] = { 0x52, 0x54, 0x00, 0xc0, 0x10, 0x01 };
	struct guest_params p = {
		.name = "guest",
		.stdout_fd = 1,
		.stderr_fd = 2,
		.on_frame = print_frame,
		.stack_limit = cfg->guest.stack_limit_kib << 10,
	};
	char path[PATH_MAX];
	struct line_buf in = { .len = 0 };
	bool stdin_open = true;
	struct guest g;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (parse_mac(optarg, mac)) {
				pr_err("--mac %s is not a MAC address (like "
				       "52:54:00:c0:10:01)", optarg);
				return 2;
			}
			p.mac = optarg;
			break;
		case 's':
			p.stack_limit = strtoull(optarg, NULL, 10) << 10;
			if (!p.stack_limit) {
				pr_err("--stack-limit %s: give KiB, more than 0",
				       optarg);
				return 2;
			}
			break;
		default:
			fprintf(stderr, "usage: coloctl guest run %s\n",
				commands[0].usage);
			return 2;
		}
	}
	if (optind >= argc) {
		pr_err("guest run: no PROGRAM given; usage: coloctl guest run %s",
		       commands[0].usage);
		return 2;
	}
	ret = resolve_program(argv[optind], path, sizeof(path));
	if (ret) {
		pr_err("guest run: cannot find program %s: %s", argv[optind],
		       strerror(-ret));
		return 2;
	}
	p.path = path;
	p.argv = &argv[optind];
	p.name = strrchr(path, '/') + 1;
	if (guest_launch(&g, &p) || guest_start(&g)) {
		guest_destroy(&g, 0);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	while (!interrupted) {
		struct pollfd pfd[2] = {
			{ .fd = g.chan, .events = POLLIN },
			{ .fd = stdin_open ? 0 : -1, .events = POLLIN },
		};
		int n = poll(pfd, 2, stdin_open ? -1 : QUIET_MS);

		if (n < 0 && errno != EINTR)
			break;
		if (n == 0)
			break;		/* input done, guest quiet: shut down */
		if (pfd[0].revents && guest_poll(&g, 0) < 0)
			break;		/* it exited: describe_exit said how */
		if (pfd[1].revents && stdin_lines(&g, mac, &in) <= 0)
			stdin_open = false;
	}
	if (!g.exited)
		pr_info("shutting guest %s down", g.name);
	guest_destroy(&g, 2000);
	if (g.exited && WIFEXITED(g.exit_status))
		return WEXITSTATUS(g.exit_status);
	return 1;
}

/* --- main ----------------------------------------------------------------- */

/* The longest command whose words start argv. */
static const struct ctl_command *match(int argc, char **argv, int *used)
{
	const struct ctl_command *best = NULL;
	int best_words = 0;

	for (size_t i = 0; i < NR_COMMANDS; i++) {
		char words[64], *save, *w;
		int n = 0;
		bool ok = true;

		snprintf(words, sizeof(words), "%s", commands[i].words);
		for (w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
			if (n >= argc || strcmp(argv[n], w) != 0) {
				ok = false;
				break;
			}
			n++;
		}
		if (ok && n > best_words) {
			best = &commands[i];
			best_words = n;
		}
	}
	*used = best_words;
	return best;
}

int main(int argc, char **argv)
{
	const char *config_path = NULL;
	const struct ctl_command *cmd;
	struct colo_config cfg;
	int c, used, verbose = 0;

	while ((c = getopt(argc, argv, "+c:vh")) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	config_defaults(&cfg);
	if (config_path && config_load(&cfg, config_path))
		return 2;
	log_set_level(verbose ? LOG_DEBUG : cfg.log.level);
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = match(argc - optind, argv + optind, &used);
	if (!cmd) {
		fprintf(stderr, "coloctl: unknown command '%s'; 'coloctl help' "
			"lists them\n", argv[optind]);
		return 2;
	}
	/* the command sees its own arguments, its name as argv[0] */
	return cmd->run(&cfg, argc - optind - used + 1, argv + optind + used - 1);
}
