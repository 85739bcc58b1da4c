/*
 * ctl_guest.c - coloctl's guest commands: run one guest by hand, or a
 * guest and its replica kept in step by local checkpoints.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOG_PREFIX "coloctl: "
#include "log.h"
#include "ctl.h"
#include "guest.h"
#include "guest_compare.h"
#include "local_checkpoint.h"
#include "quantile.h"
#include "ram_list.h"

#define ETH_TYPE_TEXT	0x88b5	/* frames whose payload is a text line */
/* After stdin ends, the guests are shut down once quiet for this long. */
#define QUIET_MS	500

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static const unsigned char console_mac[6] = { 0x02, 0, 0, 0, 0, 0xfe };

/* --- what both commands share ------------------------------------------- */

/* Launch options common to the guest commands. */
struct launch_opts {
	struct guest_params p;
	uint8_t mac[6];
	char path[PATH_MAX];
	unsigned every_ms;		/* replicate */
	unsigned long checkpoints;	/* replicate: 0 = until stdin ends */
};

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

/* Options, then PROGRAM and its arguments. 0, or the exit status 2. */
static int parse_launch(const struct colo_config *cfg, int argc, char **argv,
			const char *usage, struct launch_opts *o)
{
	static const struct option longopts[] = {
		{ "mac", required_argument, NULL, 'm' },
		{ "stack-limit", required_argument, NULL, 's' },
		{ "every", required_argument, NULL, 'e' },
		{ "checkpoints", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	int c, ret;

	memset(o, 0, sizeof(*o));
	memcpy(o->mac, (uint8_t[6])COLO_GUEST_MAC_DEFAULT, 6);
	o->p.stdout_fd = 1;
	o->p.stderr_fd = 2;
	o->p.stack_limit = cfg->guest.stack_limit_kib << 10;
	o->every_ms = 100;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (colo_mac_parse(optarg, o->mac)) {
				pr_err("--mac %s is not a MAC address (like "
				       "52:54:00:c0:10:01)", optarg);
				return 2;
			}
			o->p.mac = optarg;
			break;
		case 's':
			o->p.stack_limit = strtoull(optarg, NULL, 10) << 10;
			if (!o->p.stack_limit) {
				pr_err("--stack-limit %s: give KiB, more than 0", optarg);
				return 2;
			}
			break;
		case 'e':
			o->every_ms = (unsigned)strtoul(optarg, NULL, 10);
			if (!o->every_ms) {
				pr_err("--every %s: give milliseconds, more than 0",
				       optarg);
				return 2;
			}
			break;
		case 'n':
			o->checkpoints = strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: coloctl guest %s %s\n", argv[0], usage);
			return 2;
		}
	}
	if (optind >= argc) {
		pr_err("%s: no PROGRAM given; usage: ... %s", argv[0], usage);
		return 2;
	}
	ret = resolve_program(argv[optind], o->path, sizeof(o->path));
	if (ret) {
		pr_err("cannot find program %s: %s", argv[optind], strerror(-ret));
		return 2;
	}
	o->p.path = o->path;
	o->p.argv = &argv[optind];
	o->p.name = strrchr(o->path, '/') + 1;
	return 0;
}

/* Frames from the guests: printed as text when they are text frames. */
static void describe_frame(const char *who, const unsigned char *f,
			   size_t len, char *out, size_t out_len)
{
	if (len >= 14 && f[12] == (ETH_TYPE_TEXT >> 8) &&
	    f[13] == (ETH_TYPE_TEXT & 0xff))
		snprintf(out, out_len, "%s: %.*s", who, (int)(len - 14),
			 (const char *)f + 14);
	else if (len >= 14)
		snprintf(out, out_len, "%s: frame of %zu bytes to "
			 "%02x:%02x:%02x:%02x:%02x:%02x, type %#06x", who, len,
			 f[0], f[1], f[2], f[3], f[4], f[5], f[12] << 8 | f[13]);
	else
		snprintf(out, out_len, "%s: runt frame of %zu bytes", who, len);
}

static void print_frame(struct guest *g, const void *frame, size_t len,
			void *opaque)
{
	char line[2048];

	(void)opaque;
	describe_frame(g->name, frame, len, line, sizeof(line));
	printf("%s\n", line);
	fflush(stdout);
}

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

struct line_buf {
	char buf[4096];
	size_t len;
};

/*
 * Read what stdin has and hand every complete line to deliver(). 1 while
 * stdin is open, 0 at its end, a negative errno when deliver() fails.
 */
static int stdin_lines(struct line_buf *in,
		       int (*deliver)(const char *line, void *opaque),
		       void *opaque)
{
	ssize_t n = read(0, in->buf + in->len, sizeof(in->buf) - 1 - in->len);
	char *start = in->buf, *nl;

	if (n < 0)
		return errno == EINTR ? 1 : -errno;
	if (n == 0) {
		if (in->len) {		/* a last line without newline */
			in->buf[in->len] = '\0';
			in->len = 0;
			if (deliver(in->buf, opaque))
				return -EIO;
		}
		return 0;
	}
	in->len += (size_t)n;
	in->buf[in->len] = '\0';
	while ((nl = strchr(start, '\n'))) {
		*nl = '\0';
		if (deliver(start, opaque))
			return -EIO;
		start = nl + 1;
	}
	in->len -= (size_t)(start - in->buf);
	memmove(in->buf, start, in->len);
	if (in->len == sizeof(in->buf) - 1) {	/* no newline in 4 KiB */
		in->buf[in->len] = '\0';
		in->len = 0;
		if (deliver(in->buf, opaque))
			return -EIO;
	}
	return 1;
}

static int exit_status(struct guest *g)
{
	if (g->exited && WIFEXITED(g->exit_status))
		return WEXITSTATUS(g->exit_status);
	return 1;
}

/* --- guest run -------------------------------------------------------------- */

struct run_ctx {
	struct guest *g;
	const uint8_t *mac;
};

static int run_deliver(const char *line, void *opaque)
{
	struct run_ctx *r = opaque;

	return send_line(r->g, r->mac, line);
}

int ctl_guest_run(const struct colo_config *cfg, int argc, char **argv)
{
	struct line_buf in = { .len = 0 };
	struct launch_opts o;
	bool stdin_open = true;
	struct run_ctx r;
	struct guest g;
	int ret;

	ret = parse_launch(cfg, argc, argv, CTL_GUEST_RUN_USAGE, &o);
	if (ret)
		return ret;
	o.p.on_frame = print_frame;
	if (guest_launch(&g, &o.p) || guest_start(&g)) {
		guest_destroy(&g, 0);
		return 1;
	}
	r.g = &g;
	r.mac = o.mac;
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
			break;		/* it exited: the log said how */
		if (pfd[1].revents && stdin_lines(&in, run_deliver, &r) <= 0)
			stdin_open = false;
	}
	if (!g.exited)
		pr_info("shutting %s down", g.name);
	guest_destroy(&g, 2000);
	return exit_status(&g);
}

/* --- guest replicate ---------------------------------------------------------- */

#define OUT_QUEUE	64	/* answers waiting for their twin */

/* Answers of one guest not yet compared with the other's. */
struct out_queue {
	char line[OUT_QUEUE][256];
	unsigned head, tail;
};

struct replica {
	struct guest a, b;
	struct local_checkpoint lc;
	const uint8_t *mac;
	struct out_queue qa, qb;
	unsigned long matched, differed, dropped;
	struct pause_stats pauses;	/* the last pauses, ms */
	uint64_t pages;
};

static void compare_queues(struct replica *r)
{
	while (r->qa.head != r->qa.tail && r->qb.head != r->qb.tail) {
		const char *la = r->qa.line[r->qa.head % OUT_QUEUE] + 3;
		const char *lb = r->qb.line[r->qb.head % OUT_QUEUE] + 3;

		if (strcmp(la, lb) == 0) {
			r->matched++;
		} else {
			r->differed++;
			printf("  outputs differ: A '%s', B '%s'\n", la, lb);
		}
		r->qa.head++;
		r->qb.head++;
	}
}

static void queue_frame(struct guest *g, const void *frame, size_t len,
			void *opaque)
{
	struct replica *r = opaque;
	struct out_queue *q = g == &r->a ? &r->qa : &r->qb;
	char *slot;

	if (q->tail - q->head == OUT_QUEUE) {
		r->dropped++;		/* its twin never answered */
		q->head++;
	}
	slot = q->line[q->tail++ % OUT_QUEUE];
	describe_frame(g->name, frame, len, slot, sizeof(q->line[0]));
	if (g == &r->a)
		printf("%s\n", slot);
	fflush(stdout);
	compare_queues(r);
}

static int replicate_deliver(const char *line, void *opaque)
{
	struct replica *r = opaque;
	int ret = send_line(&r->a, r->mac, line);

	return ret ? ret : send_line(&r->b, r->mac, line);
}

static int checkpoint(struct replica *r)
{
	int ret = local_checkpoint_run(&r->lc);

	if (ret == -ETIMEDOUT)
		return 0;	/* busy: logged; try again next period */
	if (ret)
		return ret;
	pause_stats_add(&r->pauses, (double)r->lc.stats.pause_ns / 1e6);
	r->pages += r->lc.stats.pages_copied;
	return 0;
}

static int final_compare(struct local_checkpoint *lc, void *opaque)
{
	return local_checkpoint_compare(lc, opaque);
}

static int summary(struct replica *r)
{
	struct guest_compare cmp;
	int ret;

	r->lc.hook = final_compare;
	r->lc.hook_opaque = &cmp;
	ret = local_checkpoint_run(&r->lc);
	r->lc.hook = NULL;
	if (ret) {
		pr_err("the last checkpoint failed: %s", strerror(-ret));
		return 1;
	}
	/* that pause included the comparison: it is not counted */
	if (!r->pauses.n)
		printf("\nno checkpoint besides the first and the last\n");
	printf("\n%lu checkpoints, pause median %.2f ms, max %.2f ms; %llu pages "
	       "copied after the first copy\n", r->pauses.n,
	       pause_stats_quantile(&r->pauses, 0.5),
	       pause_stats_quantile(&r->pauses, 1), (unsigned long long)r->pages);
	printf("outputs: %lu equal, %lu differ, %lu without a twin\n",
	       r->matched, r->differed, r->dropped);
	if (!cmp.layouts_same || cmp.bad_pages) {
		printf("B differs from A: %llu pages, first at %#llx\n",
		       (unsigned long long)cmp.bad_pages,
		       (unsigned long long)cmp.first_diff);
		return 1;
	}
	printf("B is a byte-identical copy of A: %.1f MiB compared\n",
	       (double)cmp.bytes / (1 << 20));
	return 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ctl_guest_replicate(const struct colo_config *cfg, int argc, char **argv)
{
	const struct local_checkpoint_params lp = {
		.kind = cfg->ram.dirty_log,
		.clear_mode = DIRTY_LOG_LAZY,
		.clear_bmap_shift = cfg->ram.clear_bitmap_shift,
		.stop_timeout_ms = (int)cfg->guest.stop_timeout_ms,
	};
	struct line_buf in = { .len = 0 };
	struct launch_opts o;
	struct replica *r;
	bool stdin_open = true;
	int64_t next, quiet_until = 0;
	int ret, status = 1;

	ret = parse_launch(cfg, argc, argv, CTL_GUEST_REPLICATE_USAGE, &o);
	if (ret)
		return ret;
	r = calloc(1, sizeof(*r));
	if (!r) {
		pr_err("out of memory");
		return 1;
	}
	r->mac = o.mac;
	r->a.chan = r->b.chan = -1;
	o.p.on_frame = queue_frame;
	o.p.opaque = r;
	o.p.name = "A";
	if (guest_launch(&r->a, &o.p))
		goto out;
	o.p.name = "B";
	if (guest_launch(&r->b, &o.p) || guest_start(&r->a) ||
	    local_checkpoint_init(&r->lc, &r->a, &r->b, &lp))
		goto out;
	ret = local_checkpoint_run(&r->lc);	/* B becomes A's copy */
	if (ret)
		goto out_lc;
	printf("B is a replica of A (%llu pages copied); a checkpoint every "
	       "%u ms\n", (unsigned long long)r->lc.stats.pages_copied,
	       o.every_ms);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	next = mono_ms() + o.every_ms;
	while (!interrupted) {
		struct pollfd pfd[3] = {
			{ .fd = r->a.chan, .events = POLLIN },
			{ .fd = r->b.chan, .events = POLLIN },
			{ .fd = stdin_open ? 0 : -1, .events = POLLIN },
		};
		int64_t now = mono_ms();

		if (now >= next) {
			if (checkpoint(r))
				goto out_lc;
			if (o.checkpoints && r->pauses.n >= o.checkpoints)
				break;
			next = mono_ms() + o.every_ms;
			continue;
		}
		if (!stdin_open && !o.checkpoints && now >= quiet_until)
			break;		/* input done and answered */
		if (poll(pfd, 3, (int)(next - now)) < 0 && errno != EINTR)
			break;
		if ((pfd[0].revents && guest_poll(&r->a, 0) < 0) ||
		    (pfd[1].revents && guest_poll(&r->b, 0) < 0))
			goto out_lc;	/* a guest exited: the log said how */
		if (pfd[0].revents || pfd[1].revents)
			quiet_until = mono_ms() + QUIET_MS;
		if (pfd[2].revents && stdin_lines(&in, replicate_deliver, r) <= 0) {
			stdin_open = false;
			quiet_until = mono_ms() + QUIET_MS;
		}
	}
	status = summary(r);
out_lc:
	local_checkpoint_destroy(&r->lc);
out:
	guest_destroy(&r->a, 1000);
	guest_destroy(&r->b, 1000);
	free(r);
	return status;
}

/* --- guest compare ------------------------------------------------------------ */

int ctl_guest_compare(const struct colo_config *cfg, int argc, char **argv)
{
	struct guest_compare cmp;
	struct ram_list rl;
	pid_t a, b;
	int ret;

	(void)cfg;
	if (argc != 3 || (a = (pid_t)atoi(argv[1])) <= 0 ||
	    (b = (pid_t)atoi(argv[2])) <= 0) {
		fprintf(stderr, "coloctl: usage: coloctl guest compare %s\n",
			CTL_GUEST_COMPARE_USAGE);
		return 2;
	}
	ram_list_init(&rl, a, (size_t)sysconf(_SC_PAGESIZE), 18);
	ram_list_add_hole(&rl, COLO_GUEST_PRIVATE_BASE,
			  COLO_GUEST_PRIVATE_BASE + COLO_GUEST_PRIVATE_SIZE);
	ret = ram_list_refresh(&rl);
	if (!ret)
		ret = guest_compare(a, b, &rl, &cmp);
	ram_list_destroy(&rl);
	if (ret)
		return 1;
	if (!cmp.layouts_same) {
		printf("layouts differ, first at %#llx\n",
		       (unsigned long long)cmp.first_diff);
		return 1;
	}
	if (cmp.bad_pages) {
		printf("%llu pages differ, the first at %#llx\n",
		       (unsigned long long)cmp.bad_pages,
		       (unsigned long long)cmp.first_diff);
		return 1;
	}
	printf("byte-identical: %.1f MiB of RAM compared\n",
	       (double)cmp.bytes / (1 << 20));
	return 0;
}
