/*
 * colo_daemon.h - what the primary and secondary daemons share: launching
 * their guest from colo.conf, readiness, time (pause figures: quantile.h;
 * status answers: status.h).
 */
#ifndef COLO_DAEMON_H
#define COLO_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/buffer.h>

#include "config.h"
#include "guest.h"
/* what both daemons also share, with their own files */
#include "quantile.h"
#include "status.h"

/* Launch [guest] program with [guest] args, as name ("A", "B"). */
int daemon_launch_guest(const struct colo_config *cfg, const char *name,
			struct guest *g, guest_frame_fn on_frame, void *opaque);

/* [debug] record_hashes: append "id crc bytes" to path ("" = off); a
 * failure is warned about, never fatal. */
void daemon_record_hash(const char *path, uint64_t id, uint32_t crc,
			uint64_t bytes);

/* Milliseconds of CLOCK_MONOTONIC: colo_now_ms() of clock.h. */
int64_t daemon_now_ms(void);

/* Record-sized buffers from the heap, kept there (colo_daemon.c). */
#define DAEMON_MMAP_THRESHOLD	(64 << 20)
#define DAEMON_TRIM_THRESHOLD	(256 << 20)
void daemon_tune_malloc(void);

/* Tell whoever started the daemon that it is up (or why not). */
void daemon_ready(int *ready_fd, int error, const char *why);

#endif /* COLO_DAEMON_H */
