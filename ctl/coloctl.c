/*
 * coloctl - the one command-line entry point of colo.
 *
 *   coloctl [-c FILE] [-v] COMMAND [ARGS]
 *
 * Commands are a static table, like ospfctl's grammar: the words that
 * name a command, its usage, its help, its function. `coloctl COMMAND
 * --help` prints one entry, `coloctl help` all of them.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LOG_PREFIX "coloctl: "
#include "log.h"
#include "auth.h"
#include "ctl.h"
#include "fault.h"

static int cmd_help(const struct colo_config *cfg, int argc, char **argv);
static int cmd_genkey(const struct colo_config *cfg, int argc, char **argv);

static const struct ctl_command commands[] = {
	{ "start-primary", CTL_START_USAGE,
	  "start the primary daemon of colo.conf: it runs the guest and "
	  "protects it with the secondary at [checkpoint] peer; returns once "
	  "it runs (--foreground: runs in this process, logs to stderr)",
	  ctl_start_primary, NULL },
	{ "start-secondary", CTL_START_USAGE,
	  "start the secondary daemon of colo.conf: it listens on "
	  "[checkpoint] listen and keeps its guest a copy of the primary's",
	  ctl_start_secondary, NULL },
	{ "status", "[--json]",
	  "what the daemon of colo.conf's [control] socket is doing: role, "
	  "state, checkpoints, pauses (last, p50, p99), pages and bytes per "
	  "checkpoint, compression, dirty log, heartbeat age",
	  ctl_status, NULL },
	{ "checkpoint", CTL_CHECKPOINT_USAGE,
	  "ask the primary for a checkpoint now; the primary answers once "
	  "it is done, with its id and pause (--no-wait: at once, with its "
	  "id); --verify has the secondary compare its guest's memory with "
	  "the primary's, --hold keeps both guests stopped after it (until "
	  "stop)",
	  ctl_checkpoint, NULL },
	{ "set", "KEY VALUE",
	  "change a key of colo.conf on the running primary: VALUE is "
	  "parsed, range-checked and clamped as in colo.conf, with the same "
	  "messages; KEY is KEY or SECTION.KEY", ctl_set, ctl_set_help },
	{ "stop", "[--keep-secondary]",
	  "stop the daemon and its guest; a primary stops the pair, unless "
	  "--keep-secondary: then its secondary keeps its copy and may take "
	  "over (a switchover, the HA agent's demote)",
	  ctl_stop, NULL },
	{ "failover", "[--force]",
	  "make the secondary the primary: its guest runs on from where a "
	  "takeover must run it (compare mode: its own state; buffer mode: "
	  "the last complete checkpoint), on the local uplink, announced by "
	  "gratuitous ARP; refused while the primary is connected and heard "
	  "(--force: even then, once the HA manager has fenced it)",
	  ctl_failover, NULL },
	{ "protect", "[HOST:PORT]",
	  "have a solo primary (after losing its secondary, or after a "
	  "takeover) protect its guest again with the secondary at HOST:PORT "
	  "(default [checkpoint] peer): live pre-copy while the guest "
	  "serves, then COLO",
	  ctl_protect, NULL },
	{ "guest run", CTL_GUEST_RUN_USAGE,
	  "run PROGRAM as a colo guest on this host, for debugging: its log "
	  "lines and frames are printed, each stdin line is sent to it as a "
	  "text frame (type 0x88b5); stdin's end or ^C shuts it down",
	  ctl_guest_run, NULL },
	{ "guest replicate", CTL_GUEST_REPLICATE_USAGE,
	  "run PROGRAM twice on this host, A and its replica B: every MS "
	  "milliseconds (default 100) a local checkpoint makes B a copy of A; "
	  "stdin lines go to both as text frames, their answers are compared; "
	  "at the end B is compared with A byte for byte and figures printed",
	  ctl_guest_replicate, NULL },
	{ "guest compare", CTL_GUEST_COMPARE_USAGE,
	  "compare two stopped guests byte for byte over the first one's RAM "
	  "(after coloctl checkpoint --hold, say); exit status 0 when identical",
	  ctl_guest_compare, NULL },
	{ "genkey", "PATH",
	  "write a new random key for [security] psk_file at PATH: 32 bytes "
	  "as 64 hex digits and a newline, mode 0600; an existing file is "
	  "never overwritten. Prints the key's id; copy the file to the "
	  "other node (the same key on both) and restart both daemons",
	  cmd_genkey, NULL },
	{ "help", "", "this list", cmd_help, NULL },
};

#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* Print text wrapped at 76 columns, each line indented by indent. */
static void print_wrapped(FILE *out, const char *text, int indent)
{
	const char *p = text;

	while (*p) {
		int width = 76 - indent, len = (int)strlen(p);

		if (len > width) {
			len = width;
			while (len > 0 && p[len] != ' ')
				len--;
			if (!len)
				len = width;
		}
		fprintf(out, "%*s%.*s\n", indent, "", len, p);
		p += len;
		while (*p == ' ')
			p++;
	}
}

/* A command's help, and what its help_more adds. */
static void print_help(FILE *out, const struct ctl_command *cmd, int indent)
{
	char text[1024], more[512];

	more[0] = '\0';
	if (cmd->help_more)
		cmd->help_more(more, sizeof(more));
	snprintf(text, sizeof(text), "%s%s%s", cmd->help, more[0] ? "; " : "",
		 more);
	print_wrapped(out, text, indent);
}

static void usage(FILE *out)
{
	fprintf(out, "usage: coloctl [-c colo.conf] [-s control-socket] [-v] "
		"COMMAND [ARGS]\n\n");
	for (size_t i = 0; i < NR_COMMANDS; i++) {
		fprintf(out, "  coloctl %s %s\n", commands[i].words,
			commands[i].usage);
		print_help(out, &commands[i], 6);
	}
	fprintf(out, "\n  -c FILE   the configuration (default: built-in "
		"defaults)\n  -s PATH   the control socket (default: [control] "
		"socket)\n  -v        debug logging\n\n'coloctl COMMAND --help' "
		"describes one command.\n");
}

static void command_help(FILE *out, const struct ctl_command *cmd)
{
	fprintf(out, "usage: coloctl [-c colo.conf] [-s socket] [-v] %s %s\n\n",
		cmd->words, cmd->usage);
	print_help(out, cmd, 2);
}

/* The commands whose first word is word ("guest"), for a bare prefix. */
static bool list_prefixed(FILE *out, const char *word)
{
	size_t n = strlen(word);
	bool any = false;

	for (size_t i = 0; i < NR_COMMANDS; i++)
		if (!strncmp(commands[i].words, word, n) &&
		    commands[i].words[n] == ' ') {
			if (!any)
				fprintf(out, "coloctl %s needs one of:\n", word);
			fprintf(out, "  coloctl %s %s\n", commands[i].words,
				commands[i].usage);
			any = true;
		}
	return any;
}

static int cmd_help(const struct colo_config *cfg, int argc, char **argv)
{
	(void)cfg;
	(void)argc;
	(void)argv;
	usage(stdout);
	return 0;
}

/* A key for the replication link (auth.h): 0, 1 (not written, logged),
 * 2 (usage). */
static int cmd_genkey(const struct colo_config *cfg, int argc, char **argv)
{
	char id[2 * AUTH_KEY_ID_LEN + 1];
	struct auth_key key;

	(void)cfg;
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: coloctl genkey PATH (a new file, e.g. "
			"/etc/colo/psk)\n");
		return 2;
	}
	if (auth_key_generate(argv[1], &key))
		return 1;
	auth_key_id_hex(&key, id);
	memset(&key, 0, sizeof(key));
	printf("wrote a new key to %s (mode 0600, key id %s): copy it to the "
	       "same path on the other node, set [security] psk_file = %s in "
	       "both colo.conf files and restart both daemons\n", argv[1], id,
	       argv[1]);
	return 0;
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
	static const struct option long_opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL, *socket_path = NULL;
	const struct ctl_command *cmd;
	struct colo_config cfg;
	int c, used, verbose = 0;

	while ((c = getopt_long(argc, argv, "+c:s:vh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 's':
			socket_path = optarg;
			if (strlen(optarg) >= 108 || optarg[0] != '/') {
				fprintf(stderr, "coloctl: -s %s: give an absolute "
					"socket path under 108 characters\n", optarg);
				return 2;
			}
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
	if (socket_path)
		snprintf(cfg.control.socket, sizeof(cfg.control.socket), "%s",
			 socket_path);
	if (fault_init_from_env())
		return 2;
	log_set_level(verbose ? LOG_DEBUG : cfg.log.level);
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = match(argc - optind, argv + optind, &used);
	if (!cmd) {
		if (list_prefixed(stderr, argv[optind]))
			return 2;
		fprintf(stderr, "coloctl: unknown command '%s'; 'coloctl help' "
			"lists them\n", argv[optind]);
		return 2;
	}
	if (optind + used < argc && (!strcmp(argv[optind + used], "--help") ||
				     !strcmp(argv[optind + used], "-h"))) {
		command_help(stdout, cmd);
		return 0;
	}
	/* the command sees its own arguments, its name as argv[0] */
	return cmd->run(&cfg, argc - optind - used + 1, argv + optind + used - 1);
}
