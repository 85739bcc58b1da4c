/*
 * test_fuzz_regress.c - every input of tests/fuzz/corpus/NAME (the seed
 * corpora) and tests/fuzz/regress/NAME (the inputs that once broke a
 * parser, each fixed since) through fuzz target NAME (tests/fuzz,
 * fuzz.h), built by the ordinary compiler: the promises make fuzz
 * checks, kept by make check, without libFuzzer. A broken promise fails
 * its target's test, naming the check and the file.
 *
 * Run from the repository root (make check does).
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "fuzz/fuzz.h"

struct target {
	const char *name;
	int (*fn)(const uint8_t *data, size_t size);
};

static const struct target targets[] = {
	{ "proto", fuzz_proto },
	{ "channel", fuzz_channel },
	{ "layout", fuzz_layout },
	{ "guest_channel", fuzz_guest_channel },
	{ "config", fuzz_config },
	{ "config_key", fuzz_config_key },
	{ "control", fuzz_control },
	{ "resp", fuzz_resp },
	{ "kvstore", fuzz_kvstore },
	{ "netcompare", fuzz_netcompare },
	{ "lan_beat", fuzz_lan_beat },
	{ "hello", fuzz_hello },
	{ "ram_cache", fuzz_ram_cache },
	{ "auth", fuzz_auth },
	{ "auth_peer", fuzz_auth_peer },
};

/* The file at path, malloc'ed, and its size. */
static uint8_t *slurp(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b = NULL;
	long n = 0;

	if (!f)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		fail_msg("cannot size %s: %s", path, strerror(errno));
	b = malloc((size_t)n + 1);
	assert_non_null(b);
	if (fread(b, 1, (size_t)n, f) != (size_t)n)
		fail_msg("cannot read %s", path);
	fclose(f);
	*size = (size_t)n;
	return b;
}

/* Every regular file of dir through t; how many. */
static unsigned replay(const struct target *t, const char *dir)
{
	struct dirent **ents;
	unsigned done = 0;
	int n = scandir(dir, &ents, NULL, alphasort);

	if (n < 0)
		return 0;		/* no such folder: nothing to replay */
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;
		uint8_t *data;
		size_t size;

		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		free(ents[i]);
		if (stat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		data = slurp(path, &size);
		fuzz_input = path;	/* named by a broken promise */
		assert_int_equal(t->fn(data, size), 0);
		fuzz_input = NULL;
		free(data);
		done++;
	}
	free(ents);
	return done;
}

static void test_target(void **state)
{
	const struct target *t = *state;
	char dir[256];
	unsigned seeds, regress;

	snprintf(dir, sizeof(dir), "tests/fuzz/corpus/%s", t->name);
	seeds = replay(t, dir);
	snprintf(dir, sizeof(dir), "tests/fuzz/regress/%s", t->name);
	regress = replay(t, dir);
	print_message("%s: %u seeds, %u regression inputs\n", t->name, seeds,
		      regress);
	/* every target has seeds: a folder not found is a wrong cwd */
	assert_true(seeds > 0);
}

/* A broken promise fails the target's test, and the next one runs. */
static void fail_test(const char *msg)
{
	fail_msg("%s", msg);
}

static int setup(void **state)
{
	(void)state;
	fuzz_setup();
	fuzz_fail_hook = fail_test;
	return 0;
}

int main(void)
{
	struct CMUnitTest tests[sizeof(targets) / sizeof(targets[0])];

	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		tests[i] = (struct CMUnitTest)cmocka_unit_test_prestate(
			test_target, (void *)&targets[i]);
		tests[i].name = targets[i].name;
	}
	return cmocka_run_group_tests(tests, setup, NULL);
}
