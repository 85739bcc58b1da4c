/*
 * primary_control.c - what the primary answers on its control socket:
 * status, checkpoint (now, or held until it is done), set, stop.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_PREFIX "primary: "
#include "log.h"
#include "hooks.h"
#include "lan_watch.h"
#include "primary_control.h"
#include "primary_int.h"

static const char *const verify_names[] = {
	[COLO_VERIFY_NONE] = "none",
	[COLO_VERIFY_SAME] = "identical",
	[COLO_VERIFY_DIFFERS] = "DIFFERS",
};

static const char *verify_name(int verify)
{
	return verify >= 0 && verify <= COLO_VERIFY_MAX ? verify_names[verify] :
							  "?";
}

/* --- set ------------------------------------------------------------------ */

/*
 * Make next, p->cfg with one live key changed by config_set_live(), the
 * configuration in force. Every key config.c's table marks live is
 * applied here; checkpoint_delay_ms needs nothing but the copy (the
 * next gap is measured with it).
 */
static int apply_live(struct primary *p, const struct colo_config *next)
{
	int ret;

	if (next->ram.clear_mode != p->dl->clear_mode ||
	    next->ram.clear_bitmap_shift != p->dl->ram.clear_bmap_shift) {
		ret = dirty_log_set_clear(p->dl, next->ram.clear_mode,
					  next->ram.clear_bitmap_shift);
		if (ret)
			return ret;
	}
	if (next->checkpoint.compress_level != p->cfg.checkpoint.compress_level &&
	    p->ps_ready)
		page_stream_set_level(&p->ps, (int)next->checkpoint.compress_level);
	p->cfg = *next;
	return 0;
}

/* coloctl set KEY VALUE: parsed, range-checked and clamped as a line of
 * colo.conf would be, with the same words. */
static int do_set(struct primary *p, const char *key, const char *value,
		  struct evbuffer *reply)
{
	struct colo_config *next = malloc(sizeof(*next));	/* 14 KiB */
	char msg[512];
	int ret;

	if (!next)
		return -ENOMEM;
	*next = p->cfg;
	ret = config_set_live(next, key, value, msg, sizeof(msg));
	if (ret < 0) {
		evbuffer_add_printf(reply, "%s\n", msg);
		goto out;
	}
	if (ret > 0)
		pr_warn("set: %s", msg);
	ret = apply_live(p, next);
	if (ret) {
		pr_err("set: cannot apply %s: %s", msg, strerror(-ret));
		evbuffer_add_printf(reply, "cannot apply %s: %s; the setting "
				    "in force is unchanged\n", msg, strerror(-ret));
		goto out;
	}
	pr_info("set: %s", msg);
	evbuffer_add_printf(reply, "%s\n", msg);
out:
	free(next);
	return ret;
}

/* --- checkpoint ----------------------------------------------------------- */

int primary_ckpt_answer_format(const struct primary_ckpt_answer *a,
			       char *buf, size_t len)
{
	int n = snprintf(buf, len, "id %" PRIu64 "\npause_ms %.1f\nverify %s\n"
			 "held %s\n", a->id, a->pause_ms, verify_name(a->verify),
			 a->held ? "yes" : "no");

	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

int primary_ckpt_answer_parse(const char *text, struct primary_ckpt_answer *a,
			      char *why, size_t len)
{
	enum { F_ID = 1, F_PAUSE = 2, F_VERIFY = 4, F_HELD = 8, F_ALL = 15 };
	const char *line = text;
	unsigned seen = 0;

	memset(a, 0, sizeof(*a));
	while (*line) {
		size_t n = strcspn(line, "\n");
		char key[32], value[64], *end;

		if (sscanf(line, "%31s %63s", key, value) == 2) {
			if (!strcmp(key, "id")) {
				a->id = strtoull(value, &end, 10);
				if (*end || value[0] == '-')
					goto bad;
				seen |= F_ID;
			} else if (!strcmp(key, "pause_ms")) {
				a->pause_ms = strtod(value, &end);
				if (*end || a->pause_ms < 0)
					goto bad;
				seen |= F_PAUSE;
			} else if (!strcmp(key, "verify")) {
				for (a->verify = 0; a->verify <= COLO_VERIFY_MAX;
				     a->verify++)
					if (!strcmp(value, verify_names[a->verify]))
						break;
				if (a->verify > COLO_VERIFY_MAX) {
					snprintf(why, len, "the primary's answer "
						 "says verify '%s', expected none, "
						 "identical or DIFFERS", value);
					return -EPROTO;
				}
				seen |= F_VERIFY;
			} else if (!strcmp(key, "held")) {
				if (strcmp(value, "yes") && strcmp(value, "no"))
					goto bad;
				a->held = !strcmp(value, "yes");
				seen |= F_HELD;
			}
		}
		line += n;
		if (*line)
			line++;
		continue;
bad:
		snprintf(why, len, "the primary's answer says %s '%s', expected "
			 "%s", key, value, !strcmp(key, "held") ? "yes or no" :
			 "a number");
		return -EPROTO;
	}
	if (seen != F_ALL) {
		snprintf(why, len, "the primary's answer lacks %s (it said '%s')",
			 !(seen & F_ID) ? "its id" : !(seen & F_PAUSE) ?
			 "pause_ms" : !(seen & F_VERIFY) ? "verify" : "held",
			 text);
		return -EPROTO;
	}
	return 0;
}

void primary_control_checkpoint_done(struct primary *p, uint64_t id, bool ok)
{
	struct primary_ckpt_answer a = {
		.id = id,
		.pause_ms = p->last_pause_ms,
		.verify = p->last_verify_id == id ? p->last_verify :
						      COLO_VERIFY_NONE,
		.held = p->state == P_HELD,
	};
	char text[512];

	if (!ok) {
		snprintf(text, sizeof(text), "checkpoint %" PRIu64 " did not "
			 "complete: the pair stopped protecting the guest (%s); "
			 "see coloctl status\n", id,
			 p->peer_why[0] ? p->peer_why : primary_state_name(p->state));
		control_answer(p->ctl, UINT64_MAX, -ECANCELED, text);
		return;
	}
	if (a.held)		/* stopped since stop_ms, until coloctl stop */
		a.pause_ms = (double)(daemon_now_ms() - p->stop_ms);
	if (primary_ckpt_answer_format(&a, text, sizeof(text)) < 0)
		return;		/* cannot happen: 4 short lines */
	control_answer(p->ctl, id, 0, text);
}

/* "checkpoint [wait] [verify] [hold]": the next checkpoint to begin
 * carries the request (one in progress took its flags when it began);
 * with wait the answer is held until it is done. */
static int do_checkpoint(struct primary *p, int argc, char **argv,
			 struct evbuffer *reply)
{
	bool wait = false, verify = false, hold = false;
	uint64_t id = p->ckpt_id + 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "wait") == 0) {
			wait = true;
		} else if (strcmp(argv[i], "verify") == 0) {
			verify = true;
		} else if (strcmp(argv[i], "hold") == 0) {
			hold = true;
		} else {
			evbuffer_add_printf(reply, "checkpoint: unknown argument "
					    "'%s'; it takes wait, verify, hold\n",
					    argv[i]);
			return -EINVAL;
		}
	}
	if (p->state != P_COLO && p->state != P_CHECKPOINT) {
		evbuffer_add_printf(reply, "the pair is %s, not protecting "
				    "the guest: no checkpoint\n",
				    primary_state_name(p->state));
		return -EAGAIN;
	}
	p->verify_next |= verify;
	p->hold_next |= hold;
	primary_request_checkpoint(p, CKPT_REQUEST);
	if (wait)
		return control_reply_later(p->ctl, id);
	evbuffer_add_printf(reply, "%" PRIu64 "\n", id);
	return 0;
}

/* --- protect -------------------------------------------------------------- */

/* coloctl protect [HOST:PORT]: a solo primary takes a new secondary (at
 * [checkpoint] peer, or the one given, which becomes peer). */
static int do_protect(struct primary *p, int argc, char **argv,
		      struct evbuffer *reply)
{
	char msg[512];

	if (argc > 2) {
		evbuffer_add_printf(reply, "usage: protect [HOST:PORT]\n");
		return -EINVAL;
	}
	if (p->state != P_SOLO) {
		evbuffer_add_printf(reply, "the primary is %s, not solo: it "
				    "protects the guest with %s already%s\n",
				    primary_state_name(p->state),
				    p->cfg.checkpoint.peer,
				    p->state == P_STOPPING ? " (stopping)" : "");
		return -EBUSY;
	}
	if (argc == 2 && config_set_key(&p->cfg, "checkpoint.peer", argv[1], msg,
					sizeof(msg)) < 0) {
		evbuffer_add_printf(reply, "%s\n", msg);
		return -EINVAL;
	}
	primary_protect(p);
	evbuffer_add_printf(reply, "protecting the guest with the secondary at "
			    "%s: live pre-copy while it serves, then COLO "
			    "(coloctl status shows the progress)\n",
			    p->cfg.checkpoint.peer);
	return 0;
}

/* --- status --------------------------------------------------------------- */

/* The checkpoint's phases (enum primary_phase), last and p50 over the
 * last PAUSE_RING COLO checkpoints, in microseconds. */
static void phases_status(struct primary *p, struct status_out *so)
{
	static const char *const names[PP_PHASES] = {
		[PP_STOP] = "stop", [PP_REPLY] = "reply", [PP_SYNC] = "sync",
		[PP_CLEAR] = "clear", [PP_READ] = "read", [PP_SEND] = "send",
		[PP_LAYOUT] = "layout", [PP_MEMHASH] = "memhash",
		[PP_SIZE] = "size", [PP_RECEIVED] = "received",
		[PP_LOADED] = "loaded", [PP_RESUME] = "resume",
	};
	char key[64];

	for (int ph = 0; ph < PP_PHASES; ph++) {
		snprintf(key, sizeof(key), "primary_%s_us_last", names[ph]);
		status_num(so, key, p->phase_last_us[ph], 0);
		snprintf(key, sizeof(key), "primary_%s_us_p50", names[ph]);
		status_num(so, key, pause_stats_quantile(&p->phase_stats[ph],
							 0.5) * 1e3, 0);
	}
}

static void status(struct primary *p, bool json, struct evbuffer *reply)
{
	struct status_out so;
	double raw = (double)p->ps.stats.pages * (double)p->dl->ram.page_size;
	int64_t now = daemon_now_ms();

	status_begin(&so, reply, json);
	status_str(&so, "role", "primary");
	status_str(&so, "state", primary_state_name(p->state));
	status_num(&so, "pid", getpid(), 0);
	status_num(&so, "guest_pid", p->g.pid, 0);
	status_str(&so, "peer", p->cfg.checkpoint.peer);
	status_str(&so, "security", config_security_name(&p->cfg));
	if (p->state == P_SOLO)
		status_str(&so, "solo_because", p->peer_why);
	else if (p->state == P_CONNECTING && p->peer_why[0])
		status_str(&so, "connecting_because", p->peer_why);
	status_num(&so, "checkpoints", (double)p->ckpt_done, 0);
	status_num(&so, "initial_sync_ms", p->protected_since_ms ?
		   (double)(p->protected_since_ms - p->sync_start_ms) : 0, 0);
	status_num(&so, "initial_sync_bytes", (double)p->bytes_at_protect, 0);
	status_num(&so, "initial_sync_pause_ms", p->initial_pause_ms, 1);
	status_num(&so, "pause_last_ms", p->last_pause_ms, 1);
	status_num(&so, "checkpoints_aborted", (double)p->ckpt_aborted, 0);
	status_num(&so, "pause_p50_ms", pause_stats_quantile(&p->pauses, 0.5), 1);
	status_num(&so, "pause_p99_ms", pause_stats_quantile(&p->pauses, 0.99), 1);
	/* the same from the PAUSE sent, at microsecond resolution */
	status_num(&so, "pause_last_us", p->last_pause_us, 0);
	status_num(&so, "pause_p50_us",
		   pause_stats_quantile(&p->pauses_fine, 0.5) * 1e3, 0);
	status_num(&so, "pause_p99_us",
		   pause_stats_quantile(&p->pauses_fine, 0.99) * 1e3, 0);
	phases_status(p, &so);
	/* sums: a reader takes means over its own windows */
	status_num(&so, "pause_total_ms", p->pauses.total_ms, 1);
	status_num(&so, "pause_pages_total", (double)p->total_pages, 0);
	status_num(&so, "pause_bytes_total", (double)p->total_bytes_sent, 0);
	status_num(&so, "pages_last", (double)p->last_pages, 0);
	status_num(&so, "bytes_last", (double)p->last_bytes_sent, 0);
	status_num(&so, "pages_per_checkpoint", p->ckpt_done > 1 ?
		   (double)p->total_pages / (double)(p->ckpt_done - 1) : 0, 1);
	status_num(&so, "bytes_per_checkpoint", p->ckpt_done > 1 ?
		   (double)p->total_bytes_sent / (double)(p->ckpt_done - 1) : 0, 0);
	status_num(&so, "pages_streamed", (double)p->ps.stats.pages, 0);
	status_num(&so, "bytes_streamed", (double)p->ps.stats.bytes, 0);
	/* since the initial sync: what protecting the guest costs */
	status_num(&so, "protected_ms", p->protected_since_ms ?
		   (double)(now - p->protected_since_ms) : 0, 0);
	status_num(&so, "protected_pages", p->protected_since_ms ?
		   (double)(p->ps.stats.pages - p->pages_at_protect) : 0, 0);
	status_num(&so, "protected_bytes", p->protected_since_ms ?
		   (double)(p->ps.stats.bytes - p->bytes_at_protect) : 0, 0);
	status_num(&so, "stream_mb_per_s", p->protected_since_ms &&
		   now > p->protected_since_ms ?
		   (double)(p->ps.stats.bytes - p->bytes_at_protect) / 1e3 /
		   (double)(now - p->protected_since_ms) : 0, 2);
	status_num(&so, "compression_ratio", p->ps.stats.bytes ?
		   raw / (double)p->ps.stats.bytes : 1, 2);
	status_num(&so, "compress_level", p->cfg.checkpoint.compress_level, 0);
	status_num(&so, "checkpoint_delay_ms",
		   p->cfg.checkpoint.checkpoint_delay_ms, 0);
	status_str(&so, "dirty_log", dirty_log_backend(p->dl));
	status_num(&so, "clear_bitmap_shift", p->dl->ram.clear_bmap_shift, 0);
	status_str(&so, "clear_mode", dirty_log_clear_mode_name(p->dl->clear_mode));
	status_num(&so, "heartbeat_age_ms", p->ch ?
		   (double)peer_watch_silence_ms(&p->watch, now) : -1, 0);
	status_num(&so, "last_verify_checkpoint", (double)p->last_verify_id, 0);
	status_str(&so, "last_verify", verify_name(p->last_verify));
	for (int r = 0; r < CKPT_REASONS; r++) {
		static const char *const names[CKPT_REASONS] = {
			[CKPT_TIMER] = "checkpoints_timer",
			[CKPT_MISMATCH] = "checkpoints_mismatch",
			[CKPT_TIMEOUT] = "checkpoints_timeout",
			[CKPT_QUEUE_FULL] = "checkpoints_queue_full",
			[CKPT_REQUEST] = "checkpoints_request",
			[CKPT_SYNC] = "checkpoints_sync",
		};

		status_num(&so, names[r], (double)p->ckpt_by_reason[r], 0);
	}
	primary_net_status(p, &so);
	primary_takeover_status(p, &so);
	lan_watch_status(p->lan, &so);
	hooks_status(p->hooks, &so);
	status_end(&so);
}

int primary_on_control(void *opaque, int argc, char **argv,
		       struct evbuffer *reply)
{
	struct primary *p = opaque;

	if (strcmp(argv[0], "status") == 0) {
		status(p, argc > 1 && strcmp(argv[1], "json") == 0, reply);
		return 0;
	}
	if (strcmp(argv[0], "checkpoint") == 0)
		return do_checkpoint(p, argc, argv, reply);
	if (strcmp(argv[0], "set") == 0) {
		if (argc != 3) {
			evbuffer_add_printf(reply, "usage: set KEY VALUE\n");
			return -EINVAL;
		}
		return do_set(p, argv[1], argv[2], reply);
	}
	if (strcmp(argv[0], "stop") == 0) {
		bool keep = argc > 1 && strcmp(argv[1], "keep-secondary") == 0;

		evbuffer_add_printf(reply, "stopping the primary and its guest%s\n",
				    keep ? "; the secondary keeps its copy" : "");
		control_answer(p->ctl, UINT64_MAX, -ECANCELED, "the primary was "
			       "stopped (coloctl stop) before the checkpoint "
			       "was done\n");
		/* the secondary's copy is the service's after keep-secondary:
		 * losing us is what tells it, never a shutdown */
		if (!keep && p->ch && channel_is_open(p->ch))
			channel_send(p->ch, COLO_GUEST_SHUTDOWN, NULL, 0);
		primary_stop(p, 0);
		return 0;
	}
	if (strcmp(argv[0], "protect") == 0)
		return do_protect(p, argc, argv, reply);
	if (strcmp(argv[0], "failover") == 0) {
		evbuffer_add_printf(reply, "this daemon is the primary already\n");
		return 0;
	}
	evbuffer_add_printf(reply, "unknown command '%s'; the primary takes "
			    "status, checkpoint, set, protect, stop\n", argv[0]);
	return -EINVAL;
}
