/*
 * primary_control.c - what the primary answers on its control socket:
 * status, checkpoint, set, stop.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "primary_int.h"

static int do_set(struct primary *p, const char *key, const char *value,
		  struct evbuffer *reply)
{
	char *end;
	unsigned long v;

	if (strcmp(key, "clear_mode") == 0) {
		enum dirty_log_clear_mode mode;

		if (dirty_log_clear_mode_parse(value, &mode)) {
			evbuffer_add_printf(reply, "clear_mode: '%s' is neither "
					    "lazy nor monolithic\n", value);
			return -EINVAL;
		}
		if (dirty_log_set_clear(p->dl, mode, p->dl->ram.clear_bmap_shift))
			return -ENOMEM;
		p->cfg.ram.clear_mode = mode;
		evbuffer_add_printf(reply, "clear_mode = %s\n", value);
		return 0;
	}
	v = strtoul(value, &end, 10);
	if (!*value || *end) {
		evbuffer_add_printf(reply, "%s: '%s' is not a number\n", key, value);
		return -EINVAL;
	}
	if (strcmp(key, "checkpoint_delay_ms") == 0) {
		if (v < 1 || v > 600000)
			goto range;
		p->cfg.checkpoint.checkpoint_delay_ms = (unsigned)v;
	} else if (strcmp(key, "clear_bitmap_shift") == 0) {
		if (v < 6 || v > 31)
			goto range;
		if (dirty_log_set_clear(p->dl, p->dl->clear_mode, (unsigned)v))
			return -ENOMEM;
		p->cfg.ram.clear_bitmap_shift = (unsigned)v;
	} else if (strcmp(key, "compress_level") == 0) {
		if (v > 9)
			goto range;
		if (p->ps_ready)
			page_stream_set_level(&p->ps, (int)v);
		p->cfg.checkpoint.compress_level = (unsigned)v;
	} else {
		evbuffer_add_printf(reply, "unknown key '%s'; set takes "
				    "checkpoint_delay_ms, clear_bitmap_shift, "
				    "clear_mode, compress_level\n", key);
		return -EINVAL;
	}
	evbuffer_add_printf(reply, "%s = %lu\n", key, v);
	return 0;
range:
	evbuffer_add_printf(reply, "%s = %lu is out of range (checkpoint_delay_ms "
			    "1..600000, clear_bitmap_shift 6..31, compress_level "
			    "0..9)\n", key, v);
	return -ERANGE;
}

static void status(struct primary *p, bool json, struct evbuffer *reply)
{
	static const char *const verify_names[] = { "none", "identical", "DIFFERS" };
	struct status_out so;
	double raw = (double)p->ps.stats.pages * (double)p->dl->ram.page_size;
	int64_t now = daemon_now_ms();

	status_begin(&so, reply, json);
	status_str(&so, "role", "primary");
	status_str(&so, "state", primary_state_name(p->state));
	status_num(&so, "pid", getpid(), 0);
	status_num(&so, "guest_pid", p->g.pid, 0);
	status_str(&so, "peer", p->cfg.checkpoint.peer);
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
		   (double)(now - p->last_rx_ms) : -1, 0);
	status_num(&so, "last_verify_checkpoint", (double)p->last_verify_id, 0);
	status_str(&so, "last_verify", (unsigned)p->last_verify <= COLO_VERIFY_MAX ?
		   verify_names[p->last_verify] : "?");
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
	if (strcmp(argv[0], "checkpoint") == 0) {
		if (p->state != P_COLO && p->state != P_CHECKPOINT) {
			evbuffer_add_printf(reply, "the pair is %s, not protecting "
					    "the guest: no checkpoint\n",
					    primary_state_name(p->state));
			return -EAGAIN;
		}
		for (int i = 1; i < argc; i++) {
			if (strcmp(argv[i], "verify") == 0)
				p->verify_next = true;
			else if (strcmp(argv[i], "hold") == 0)
				p->hold_next = true;
		}
		p->ckpt_requested = true;
		/* the next one to begin carries the request (one in
		 * progress took its flags when it began) */
		evbuffer_add_printf(reply, "%" PRIu64 "\n", p->ckpt_id + 1);
		return 0;
	}
	if (strcmp(argv[0], "set") == 0) {
		if (argc != 3) {
			evbuffer_add_printf(reply, "usage: set KEY VALUE\n");
			return -EINVAL;
		}
		return do_set(p, argv[1], argv[2], reply);
	}
	if (strcmp(argv[0], "stop") == 0) {
		evbuffer_add_printf(reply, "stopping the primary and its guest\n");
		if (p->ch && channel_is_open(p->ch))
			channel_send(p->ch, COLO_GUEST_SHUTDOWN, NULL, 0);
		primary_stop(p, 0);
		return 0;
	}
	evbuffer_add_printf(reply, "unknown command '%s'; the primary takes "
			    "status, checkpoint, set, stop\n", argv[0]);
	return -EINVAL;
}
