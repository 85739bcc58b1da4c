/*
 * fuzz_config_key.c - one colo.conf key set by name, as coloctl set
 * does: daemon/config.c config_set_key() and config_set_live(), the key
 * the input up to its first newline, the value the rest.
 *
 * Checked beyond no crash: the result is 0, 1, -EINVAL or -ENOENT (live:
 * or -EPERM), msg a non-empty C string, and nothing logged; refused, the
 * config is untouched; taken, every key is still in its table's range
 * (fuzz_config_check); config_set_live() agrees with config_set_key()
 * but for -EPERM. And config.h's promise that a key is set "as a line of
 * colo.conf would": for a value a line can hold as it is, the file
 * "[SECTION]\nKEY = VALUE\n" loads the same config, refused when the key
 * is refused, with the clamp warning when it is clamped.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

#define VALUE_MAX	150	/* INI_MAX_LINE is 200, and the key is on it */

/* The table's entry that key names, as config.c finds it; NULL when
 * none (or two). */
static const char *entry(const char *key, const char **section)
{
	const char *dot = strchr(key, '.'), *name = dot ? dot + 1 : key;
	const char *found = NULL, *sec;

	for (size_t i = 0; config_key_name(i, &sec); i++) {
		if (strcmp(config_key_name(i, &sec), name) != 0)
			continue;
		if (dot && (strlen(sec) != (size_t)(dot - key) ||
			    strncmp(sec, key, (size_t)(dot - key)) != 0))
			continue;
		if (found)
			return NULL;
		found = config_key_name(i, section);
	}
	return found;
}

/* Can a colo.conf line carry value as it is (inih strips blanks at its
 * ends and takes ';' and '#' for comments)? */
static bool line_safe(const char *v)
{
	size_t n = strlen(v);

	if (n > VALUE_MAX || strpbrk(v, "\n\r;#"))
		return false;
	return !n || (!isspace((unsigned char)v[0]) &&
		      !isspace((unsigned char)v[n - 1]));
}

static void check_msg(const char *msg, size_t size)
{
	FUZZ_CHECK(memchr(msg, '\0', size) != NULL);
	FUZZ_CHECK(msg[0] != '\0');
}

int fuzz_config_key(const uint8_t *data, size_t size)
{
	static struct colo_config a, a0, b, c;
	char *buf = malloc(size + 1), *key, *value, *nl, msg[512];
	const char *section, *name, *path;
	char *file = NULL;
	size_t file_len = 0;
	FILE *f;
	int ret, live, load;

	FUZZ_CHECK(buf != NULL);
	memcpy(buf, data, size);
	buf[size] = '\0';
	key = buf;
	nl = strchr(buf, '\n');
	value = nl ? (*nl = '\0', nl + 1) : buf + strlen(buf);
	fuzz_log_reset();

	config_defaults(&a);
	a0 = a;
	memset(msg, 0xa5, sizeof(msg));
	ret = config_set_key(&a, key, value, msg, sizeof(msg));
	FUZZ_CHECK(ret == 0 || ret == 1 || ret == -EINVAL || ret == -ENOENT);
	check_msg(msg, sizeof(msg));
	if (ret < 0)
		FUZZ_CHECK(memcmp(&a, &a0, sizeof(a)) == 0);
	else
		fuzz_config_check(&a);

	config_defaults(&b);
	memset(msg, 0xa5, sizeof(msg));
	live = config_set_live(&b, key, value, msg, sizeof(msg));
	check_msg(msg, sizeof(msg));
	if (ret == -ENOENT) {
		FUZZ_CHECK(live == -ENOENT);
	} else if (live == -EPERM) {
		FUZZ_CHECK(memcmp(&b, &a0, sizeof(b)) == 0);
	} else {
		FUZZ_CHECK(live == ret);
		FUZZ_CHECK(memcmp(&b, &a, sizeof(b)) == 0);
	}
	/* "Nothing is logged: the caller says it where it is heard." */
	for (int l = LOG_ERROR; l <= LOG_DEBUG; l++)
		FUZZ_CHECK(fuzz_log_count((enum log_level)l) == 0);

	name = ret == -ENOENT ? NULL : entry(key, &section);
	FUZZ_CHECK(ret == -ENOENT || name != NULL);
	if (name && line_safe(value)) {
		f = open_memstream(&file, &file_len);
		FUZZ_CHECK(f != NULL);
		fprintf(f, "[%s]\n%s = %s\n", section, name, value);
		fclose(f);
		path = fuzz_config_file(file, file_len);
		config_defaults(&c);
		load = config_load(&c, path);
		if (ret < 0) {
			FUZZ_CHECK(load == -EINVAL);
		} else {
			FUZZ_CHECK(load == 0);
			FUZZ_CHECK(fuzz_log_count(LOG_WARN) == (unsigned)ret);
			memcpy(c.path, a.path, sizeof(c.path));
			FUZZ_CHECK(memcmp(&c, &a, sizeof(c)) == 0);
		}
		free(file);
	}
	free(buf);
	return 0;
}
