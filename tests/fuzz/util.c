/*
 * util.c - the fuzz targets' shared helpers (see fuzz.h).
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "fuzz.h"

const char *fuzz_input;
void (*fuzz_fail_hook)(const char *msg);
static unsigned log_lines[LOG_DEBUG + 1];

void fuzz_fail(const char *file, int line, const char *what)
{
	char msg[1024];

	snprintf(msg, sizeof(msg), "fuzz: %s:%d: check failed: %s%s%s", file,
		 line, what, fuzz_input ? ", on input " : "",
		 fuzz_input ? fuzz_input : "");
	fprintf(stderr, "%s\n", msg);
	if (fuzz_fail_hook)
		fuzz_fail_hook(msg);
	abort();
}

static void count_line(enum log_level level, const char *line, void *opaque)
{
	(void)line;
	(void)opaque;
	if ((unsigned)level <= LOG_DEBUG)
		log_lines[level]++;
}

void fuzz_setup(void)
{
	log_set_quiet(1);
	log_set_level(LOG_DEBUG);	/* every line is formatted, so its
					 * format meets the fuzzed values */
	log_set_hook(count_line, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void fuzz_log_reset(void)
{
	memset(log_lines, 0, sizeof(log_lines));
}

unsigned fuzz_log_count(enum log_level level)
{
	return (unsigned)level <= LOG_DEBUG ? log_lines[level] : 0;
}

uint8_t fuzz_u8(struct fuzz_in *in)
{
	uint8_t v = 0;

	if (in->left) {
		v = *in->p++;
		in->left--;
	}
	return v;
}

uint16_t fuzz_be16(struct fuzz_in *in)
{
	uint16_t hi = fuzz_u8(in);

	return (uint16_t)(hi << 8 | fuzz_u8(in));
}

uint32_t fuzz_be32(struct fuzz_in *in)
{
	uint32_t hi = fuzz_be16(in);

	return hi << 16 | fuzz_be16(in);
}

size_t fuzz_take(struct fuzz_in *in, size_t n, const uint8_t **out)
{
	if (n > in->left)
		n = in->left;
	*out = in->p;
	in->p += n;
	in->left -= n;
	return n;
}

/* The keys of fuzz.h: loaded once each from a file of our own. */
const struct auth_key *fuzz_key(int which)
{
	static struct auth_key keys[2];
	static bool loaded[2];
	char path[] = "/tmp/colo-fuzz-key-XXXXXX";
	char hex[2 * AUTH_KEY_LEN + 2];
	int fd;

	which = which ? 1 : 0;
	if (loaded[which])
		return &keys[which];
	memset(hex, which ? 'c' : '4', 2 * AUTH_KEY_LEN);
	hex[2 * AUTH_KEY_LEN] = '\n';
	hex[2 * AUTH_KEY_LEN + 1] = '\0';
	fd = mkstemp(path);		/* 0600, ours */
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, hex, strlen(hex)) == (ssize_t)strlen(hex));
	close(fd);
	FUZZ_CHECK(auth_key_load(path, &keys[which]) == 0);
	unlink(path);
	loaded[which] = true;
	return &keys[which];
}

/* The decoder's verdict: ret, and the error lines it logged since
 * errors0; out (n bytes) unchanged from before when refused. */
int fuzz_verdict(int ret, unsigned errors0, const void *out,
		 const void *before, size_t n)
{
	unsigned errors = fuzz_log_count(LOG_ERROR) - errors0;

	if (ret == 0) {
		FUZZ_CHECK(errors == 0);
		return 0;
	}
	FUZZ_CHECK(ret == -EPROTO);
	FUZZ_CHECK(errors == 1);
	if (out)
		FUZZ_CHECK(memcmp(out, before, n) == 0);
	return -EPROTO;
}
