/*
 * log.c - levels, prefixes and one output for every message.
 *
 * Lines look like "colo[1234] E dirty-log: UFFDIO_REGISTER ...". The level
 * letter comes first so that grep can filter them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* The daemon has exactly one log configuration; so does every test. */
static enum log_level log_level = LOG_INFO;
static log_hook_fn log_hook;
static void *log_hook_opaque;
static int log_quiet;
static char log_error_text[512];	/* the last error, without its prefix */

static const char *const log_names[] = {
	[LOG_ERROR] = "error",
	[LOG_WARN] = "warn",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

const char *log_level_name(enum log_level level)
{
	if ((unsigned)level > LOG_DEBUG)
		return "?";
	return log_names[level];
}

int log_level_parse(const char *name, enum log_level *level)
{
	for (unsigned i = 0; i <= LOG_DEBUG; i++) {
		if (strcmp(name, log_names[i]) == 0) {
			*level = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void log_set_hook(log_hook_fn fn, void *opaque)
{
	log_hook = fn;
	log_hook_opaque = opaque;
}

void log_set_quiet(int quiet)
{
	log_quiet = quiet;
}

void log_vmsg(enum log_level level, const char *prefix, const char *fmt,
	      va_list ap)
{
	static const char letters[] = "EWID";
	char line[1024];
	int saved_errno = errno;
	int n;

	if (level > log_level)
		return;
	if ((unsigned)level > LOG_DEBUG)
		level = LOG_ERROR;

	n = snprintf(line, sizeof(line), "colo[%d] %c %s", (int)getpid(),
		     letters[level], prefix);
	if (n < 0)
		n = 0;
	if ((size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);

	if (level == LOG_ERROR)
		snprintf(log_error_text, sizeof(log_error_text), "%s%s",
			 prefix, line + n);
	if (!log_quiet)
		fprintf(stderr, "%s\n", line);
	if (log_hook)
		log_hook(level, line, log_hook_opaque);
	errno = saved_errno;
}

const char *log_last_error(void)
{
	return log_error_text;
}

void log_msg(enum log_level level, const char *prefix, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, prefix, fmt, ap);
	va_end(ap);
}
