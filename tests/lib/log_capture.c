/*
 * log_capture.c - warnings and errors kept for a test to read.
 */
#include <string.h>

#include "log.h"
#include "log_capture.h"

static char kept[4096];

static void keep(enum log_level level, const char *line, void *opaque)
{
	size_t used = strlen(kept), n = strlen(line);

	(void)opaque;
	if (level > LOG_WARN || used + n + 2 > sizeof(kept))
		return;
	memcpy(kept + used, line, n);
	kept[used + n] = '\n';
	kept[used + n + 1] = '\0';
}

void log_capture_start(void)
{
	kept[0] = '\0';
	log_set_hook(keep, NULL);
}

const char *log_captured(void)
{
	return kept;
}

void log_capture_stop(void)
{
	log_set_hook(NULL, NULL);
}
