/*
 * colo_daemon.h - what the primary and secondary daemons share: launching
 * their guest from colo.conf, pause figures, readiness, time.
 */
#ifndef COLO_DAEMON_H
#define COLO_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/buffer.h>

#include "config.h"
#include "guest.h"

/* Launch [guest] program with [guest] args, as name ("A", "B"). */
int daemon_launch_guest(const struct colo_config *cfg, const char *name,
			struct guest *g, guest_frame_fn on_frame, void *opaque);

/* The guest's layout hash for the handshake (binary and libraries). */
int daemon_guest_hash(const struct guest *g, uint32_t *hash);

/* [debug] record_hashes: append "id crc bytes" to path ("" = off); a
 * failure is warned about, never fatal. */
void daemon_record_hash(const char *path, uint64_t id, uint32_t crc,
			uint64_t bytes);

/* Milliseconds of CLOCK_MONOTONIC: colo_now_ms() of clock.h. */
int64_t daemon_now_ms(void);

/* The last pauses, for status: last, p50, p99. */
#define PAUSE_RING	1024
struct pause_stats {
	double ms[PAUSE_RING];
	unsigned long n;		/* pauses recorded in all */
	double total_ms;		/* their sum: means over any window */
};

void pause_stats_add(struct pause_stats *ps, double ms);
/* The q-quantile (0..1) of the recorded pauses, 0 with none. */
double pause_stats_quantile(const struct pause_stats *ps, double q);

/* Tell whoever started the daemon that it is up (or why not). */
void daemon_ready(int *ready_fd, int error, const char *why);

/* A status field, as "key value" text or as JSON ("key": value). */
struct status_out {
	struct evbuffer *buf;
	bool json;
	bool first;
};
void status_begin(struct status_out *so, struct evbuffer *buf, bool json);
void status_str(struct status_out *so, const char *key, const char *value);
void status_num(struct status_out *so, const char *key, double value,
		int decimals);
void status_end(struct status_out *so);

#endif /* COLO_DAEMON_H */
