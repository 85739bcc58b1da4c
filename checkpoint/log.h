/*
 * log.h - the one logging module of colo.
 *
 * Every message goes through log_msg() with a level and the prefix of the
 * file that emits it. A file names itself by defining LOG_PREFIX before it
 * includes this header:
 *
 *     #define LOG_PREFIX "dirty-log: "
 *     #include "log.h"
 *
 * Errors are logged once, where they happen, with what failed, the errno
 * text, and what the operator can do about it; callers then only pass the
 * negative errno up.
 */
#ifndef COLO_LOG_H
#define COLO_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_ERROR = 0,		/* an operation failed; says what to do */
	LOG_WARN,		/* degraded but running (fallback, clamp) */
	LOG_INFO,		/* state changes an operator wants to see */
	LOG_DEBUG,		/* per-round detail for developers */
};

/*
 * Hook that receives every emitted line (already formatted, without the
 * trailing newline). Used by tests to assert on messages; the hook runs in
 * addition to the normal output, under the same level filter.
 */
typedef void (*log_hook_fn)(enum log_level level, const char *line,
			    void *opaque);

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parse "error", "warn", "info", "debug"; 0 or -EINVAL. */
int log_level_parse(const char *name, enum log_level *level);
const char *log_level_name(enum log_level level);
void log_set_hook(log_hook_fn fn, void *opaque);
/* The last error logged, as "prefix: text" ("" if none): what a daemon
 * that cannot start tells the command that started it. */
const char *log_last_error(void);
/* Silence the default stderr output (tests that provoke errors on purpose). */
void log_set_quiet(int quiet);

void log_msg(enum log_level level, const char *prefix, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_vmsg(enum log_level level, const char *prefix, const char *fmt,
	      va_list ap) __attribute__((format(printf, 3, 0)));

#ifndef LOG_PREFIX
#define LOG_PREFIX ""
#endif

#define pr_err(fmt, ...)   log_msg(LOG_ERROR, LOG_PREFIX, fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...)  log_msg(LOG_WARN, LOG_PREFIX, fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...)  log_msg(LOG_INFO, LOG_PREFIX, fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...) log_msg(LOG_DEBUG, LOG_PREFIX, fmt, ##__VA_ARGS__)

#endif /* COLO_LOG_H */
