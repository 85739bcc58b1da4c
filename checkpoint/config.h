/*
 * config.h - colo.conf, parsed with libinih into one struct.
 *
 * Every key is listed once, in the table in config.c, with its section,
 * type, range or names, and the text shown when a value is refused. An
 * unknown section or key, a bad value, a key set twice, a syntax error or
 * a missing file is refused with the file, the line, the key and what is
 * allowed; out-of-range numbers that have a safe nearest value are clamped
 * with a warning instead.
 */
#ifndef COLO_CONFIG_H
#define COLO_CONFIG_H

#include <stdint.h>

#include "dirty_log.h"
#include "log.h"

struct colo_config {
	char path[4096];		/* the file it came from */
	struct {
		/* log2 of pages per dirty-log clear chunk (6..31) */
		unsigned clear_bitmap_shift;
		enum dirty_log_kind dirty_log;
	} ram;
	struct {
		enum log_level level;
	} log;
	struct {
		/* RLIMIT_STACK of guests, KiB (finite: the layout needs it) */
		uint64_t stack_limit_kib;
		/* how long a stop waits for a guest busy in a handler */
		unsigned stop_timeout_ms;
	} guest;
};

/* Every key at its default. */
void config_defaults(struct colo_config *cfg);

/*
 * Read path into *cfg. On error *cfg is left untouched, the reason is
 * logged once, and a negative errno returned: -ENOENT (or another open
 * error) for the file, -EINVAL for its contents.
 */
int config_load(struct colo_config *cfg, const char *path);

#endif /* COLO_CONFIG_H */
