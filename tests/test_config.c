/*
 * test_config.c - colo.conf: values, defaults, clamping, and errors that
 * name the file, the line and the key.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "log.h"

static char path[64];
static char errors[4096];
static char warnings[4096];

static void capture(enum log_level level, const char *line, void *opaque)
{
	char *buf = level == LOG_ERROR ? errors : warnings;

	(void)opaque;
	if (level > LOG_WARN)
		return;
	strncat(buf, line, sizeof(errors) - strlen(buf) - 2);
	strcat(buf, "\n");
}

static int setup(void **state)
{
	(void)state;
	errors[0] = warnings[0] = '\0';
	log_set_hook(capture, NULL);
	log_set_quiet(1);
	snprintf(path, sizeof(path), "/tmp/colo-test-%d.conf", (int)getpid());
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	log_set_hook(NULL, NULL);
	log_set_quiet(0);
	return 0;
}

static void write_conf(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Load text; on failure check *cfg was left as it was. */
static int load(const char *text, struct colo_config *cfg)
{
	struct colo_config before;
	int ret;

	write_conf(text);
	config_defaults(cfg);
	cfg->ram.clear_bitmap_shift = 12345;	/* a marker */
	before = *cfg;
	ret = config_load(cfg, path);
	if (ret)
		assert_memory_equal(cfg, &before, sizeof(before));
	return ret;
}

/* The first error names path:line and contains every needle. */
static void expect_error(int line, const char *needle1, const char *needle2)
{
	char where[96];

	snprintf(where, sizeof(where), "%s:%d: ", path, line);
	if (!strstr(errors, where))
		fail_msg("error lacks '%s': %s", where, errors);
	if (needle1 && !strstr(errors, needle1))
		fail_msg("error lacks '%s': %s", needle1, errors);
	if (needle2 && !strstr(errors, needle2))
		fail_msg("error lacks '%s': %s", needle2, errors);
}

static void test_values(void **state)
{
	struct colo_config cfg;

	(void)state;
	assert_int_equal(load("# comment\n[ram]\ndirty_log = full ; inline\n"
			      "clear_bitmap_shift=12\n\n[log]\nlevel = debug\n",
			      &cfg), 0);
	assert_int_equal(cfg.ram.dirty_log, DIRTY_LOG_FULL);
	assert_int_equal(cfg.ram.clear_bitmap_shift, 12);
	assert_int_equal(cfg.log.level, LOG_DEBUG);
	assert_string_equal(cfg.path, path);
	assert_int_equal(load("[guest]\nstack_limit_kib = 16384\nstop_timeout_ms = 250\n", &cfg), 0);
	assert_int_equal(cfg.guest.stack_limit_kib, 16384);
	assert_int_equal(cfg.guest.stop_timeout_ms, 250);
	assert_int_equal(cfg.ram.clear_mode, DIRTY_LOG_LAZY);
	assert_int_equal(load("[ram]\nclear_mode = monolithic\n", &cfg), 0);
	assert_int_equal(cfg.ram.clear_mode, DIRTY_LOG_MONOLITHIC);
	assert_string_equal(errors, "");
	assert_string_equal(warnings, "");
}

static void test_defaults(void **state)
{
	struct colo_config cfg;

	(void)state;
	assert_int_equal(load("", &cfg), 0);
	assert_int_equal(cfg.ram.dirty_log, DIRTY_LOG_AUTO);
	assert_int_equal(cfg.ram.clear_bitmap_shift, 18);
	assert_int_equal(cfg.log.level, LOG_INFO);
	assert_int_equal(cfg.guest.stack_limit_kib, 8192);
	assert_int_equal(cfg.guest.stop_timeout_ms, 1000);
}

/* The annotated example in the source tree loads, at the defaults. */
static void test_shipped_example(void **state)
{
	struct colo_config cfg, def;

	(void)state;
	config_defaults(&def);
	assert_int_equal(config_load(&cfg, "colo.conf"), 0);
	assert_int_equal(cfg.ram.dirty_log, def.ram.dirty_log);
	assert_int_equal(cfg.ram.clear_bitmap_shift, def.ram.clear_bitmap_shift);
	assert_int_equal(cfg.log.level, def.log.level);
	assert_int_equal(cfg.guest.stack_limit_kib, def.guest.stack_limit_kib);
	assert_int_equal(cfg.guest.stop_timeout_ms, def.guest.stop_timeout_ms);
	assert_int_equal(cfg.ram.clear_mode, def.ram.clear_mode);
	assert_int_equal(cfg.checkpoint.checkpoint_delay_ms,
			 def.checkpoint.checkpoint_delay_ms);
	assert_int_equal(cfg.checkpoint.compress_level,
			 def.checkpoint.compress_level);
	assert_string_equal(cfg.checkpoint.listen, def.checkpoint.listen);
	assert_string_equal(cfg.checkpoint.peer, def.checkpoint.peer);
	assert_int_equal(cfg.ha.heartbeat_timeout_ms, def.ha.heartbeat_timeout_ms);
	assert_string_equal(cfg.control.socket, def.control.socket);
}

/* ... and explains every key there is, each in its own section. */
static void test_example_names_every_key(void **state)
{
	static char text[65536];
	const char *section, *name;
	FILE *f = fopen("colo.conf", "r");
	size_t n;

	(void)state;
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	for (size_t i = 0; (name = config_key_name(i, &section)); i++) {
		char head[64], line[80], body[8192];
		const char *at, *end;

		snprintf(head, sizeof(head), "\n[%s]\n", section);
		at = strstr(text, head);
		if (!at)
			fail_msg("colo.conf has no [%s] section", section);
		at += strlen(head) - 1;
		end = strstr(at, "\n[");
		snprintf(body, sizeof(body), "%.*s",
			 (int)(end ? end - at : (ptrdiff_t)strlen(at)), at);
		/* set, or shown commented out, in its own section */
		snprintf(line, sizeof(line), "\n%s =", name);
		if (!strstr(body, line)) {
			snprintf(line, sizeof(line), "\n# %s =", name);
			if (!strstr(body, line))
				fail_msg("colo.conf does not explain [%s] %s",
					 section, name);
		}
	}
}

static void test_clamp_warns(void **state)
{
	struct colo_config cfg;

	(void)state;
	assert_int_equal(load("[ram]\n\nclear_bitmap_shift = 3\n", &cfg), 0);
	assert_int_equal(cfg.ram.clear_bitmap_shift, 6);
	assert_non_null(strstr(warnings, ":3: [ram] clear_bitmap_shift = 3 is out of range 6..31; clamped to 6"));
	warnings[0] = '\0';
	assert_int_equal(load("[ram]\nclear_bitmap_shift = 99999999999999999999999\n", &cfg), 0);
	assert_int_equal(cfg.ram.clear_bitmap_shift, 31);
	assert_non_null(strstr(warnings, ":2: [ram] clear_bitmap_shift"));
	assert_non_null(strstr(warnings, "clamped to 31"));
}

static void test_missing_file(void **state)
{
	struct colo_config cfg;

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(config_load(&cfg, "/nonexistent/colo.conf"), -ENOENT);
	assert_non_null(strstr(errors, "cannot open config file /nonexistent/colo.conf"));
	assert_non_null(strstr(errors, "No such file"));
}

static void test_unknown_key(void **state)
{
	struct colo_config cfg;

	(void)state;
	assert_int_equal(load("[ram]\ndirty_log = auto\nclear_shift = 5\n", &cfg), -EINVAL);
	expect_error(3, "unknown key 'clear_shift' in [ram]",
		     "known keys there: clear_bitmap_shift, dirty_log");
}

static void test_unknown_section(void **state)
{
	struct colo_config cfg;

	(void)state;
	assert_int_equal(load("[log]\nlevel = warn\n[rma]\ndirty_log = full\n", &cfg), -EINVAL);
	expect_error(3, "unknown section [rma]", "known sections: [ram], [log], [guest]");
	errors[0] = '\0';
	/* a header with no key under it is refused as well */
	assert_int_equal(load("[ram]\ndirty_log = full\n[rma]\n", &cfg), -EINVAL);
	expect_error(3, "unknown section [rma]", NULL);
	errors[0] = '\0';
	assert_int_equal(load("level = warn\n", &cfg), -EINVAL);
	expect_error(1, "key 'level' is outside any section", "[log]");
}

static void test_bad_values(void **state)
{
	struct colo_config cfg;

	(void)state;
	assert_int_equal(load("[ram]\ndirty_log = fast\n", &cfg), -EINVAL);
	expect_error(2, "[ram] dirty_log = 'fast' is not valid",
		     "allowed: auto, uffd-wp or full");
	errors[0] = '\0';
	assert_int_equal(load("[ram]\nclear_bitmap_shift = 1O\n", &cfg), -EINVAL);
	expect_error(2, "[ram] clear_bitmap_shift = '1O' is not a number",
		     "allowed: an integer 6..31");
	errors[0] = '\0';
	assert_int_equal(load("[ram]\nclear_bitmap_shift = -7\n", &cfg), -EINVAL);
	expect_error(2, "'-7' is not a number", NULL);
	errors[0] = '\0';
	assert_int_equal(load("[log]\nlevel =\n", &cfg), -EINVAL);
	expect_error(2, "[log] level = '' is not valid", "error, warn, info or debug");
	errors[0] = '\0';
	/* no safe nearest value: refused, not clamped */
	assert_int_equal(load("[guest]\nstop_timeout_ms = 0\n", &cfg), -EINVAL);
	expect_error(2, "[guest] stop_timeout_ms = 0 is out of range", "1 to 600000");
	errors[0] = '\0';
	assert_int_equal(load("[guest]\nstack_limit_kib = 99999999999\n", &cfg), -EINVAL);
	expect_error(2, "[guest] stack_limit_kib = 99999999999 is out of range",
		     "unlimited is not allowed");
}

/* An indented key is a key, not the continuation of the line above. */
static void test_indented(void **state)
{
	struct colo_config cfg;

	(void)state;
	assert_int_equal(load("[ram]\ndirty_log = full\n  clear_bitmap_shift = 12\n", &cfg), 0);
	assert_int_equal(cfg.ram.dirty_log, DIRTY_LOG_FULL);
	assert_int_equal(cfg.ram.clear_bitmap_shift, 12);
}

/* A directory is not a config file; a refused file prints no clamp. */
static void test_not_a_file(void **state)
{
	struct colo_config cfg;

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(config_load(&cfg, "/tmp"), -EINVAL);
	assert_non_null(strstr(errors, "config file /tmp is not a regular file"));
	errors[0] = '\0';
	assert_int_equal(load("[ram]\nclear_bitmap_shift = 99\nbogus = 1\n", &cfg), -EINVAL);
	assert_string_equal(warnings, "");
}

static void test_twice(void **state)
{
	struct colo_config cfg;

	(void)state;
	assert_int_equal(load("[ram]\ndirty_log = full\n\n[ram]\ndirty_log = auto\n", &cfg), -EINVAL);
	expect_error(5, "[ram] dirty_log is set twice (first on line 2)", NULL);
}

static void test_syntax(void **state)
{
	struct colo_config cfg;
	char text[600];

	(void)state;
	assert_int_equal(load("[ram]\ndirty_log = full\nthis is not a pair\n", &cfg), -EINVAL);
	expect_error(3, "syntax error", NULL);
	errors[0] = '\0';
	/* a syntax error before a bad key is the one reported */
	assert_int_equal(load("[ram\n[ram]\nbogus = 1\n", &cfg), -EINVAL);
	expect_error(1, "syntax error", NULL);
	assert_null(strstr(errors, "bogus"));
	errors[0] = '\0';
	snprintf(text, sizeof(text), "[ram]\n# %0400d\ndirty_log = full\n", 0);
	assert_int_equal(load(text, &cfg), -EINVAL);
	expect_error(2, "line longer than", NULL);
}

/*
 * coloctl set goes through config_set_key(): a value is taken, clamped or
 * refused exactly as on a line of colo.conf, with the same words (the
 * file's message is "path:line: " and then the same text). Before set
 * used the table, clear_bitmap_shift 3 was clamped by the file and
 * refused by set, and set's messages named no section and no default.
 */
static void test_set_key_as_file(void **state)
{
	static const struct {
		const char *section, *key, *value;
		int ret;		/* config_set_key's: 0, 1 clamped, < 0 */
	} cases[] = {
		{ "ram", "clear_bitmap_shift", "3", 1 },
		{ "ram", "clear_bitmap_shift", "99999999999999999999999", 1 },
		{ "ram", "clear_bitmap_shift", "12", 0 },
		{ "ram", "clear_bitmap_shift", "1O", -EINVAL },
		{ "ram", "clear_mode", "monolithic", 0 },
		{ "ram", "clear_mode", "eager", -EINVAL },
		{ "checkpoint", "compress_level", "12", -EINVAL },
		{ "checkpoint", "compress_level", "-1", -EINVAL },
		{ "checkpoint", "compress_level", "6", 0 },
		{ "checkpoint", "checkpoint_delay_ms", "0", -EINVAL },
		{ "guest", "stop_timeout_ms", "600001", -EINVAL },
		{ "checkpoint", "peer", "localhost:99999", -EINVAL },
		{ "net", "bridge", "br0", 0 },
		{ "net", "bridge", "a/b", -EINVAL },
		{ "net", "guest_ip", "10.77.1.300", -EINVAL },
		{ "net", "guest_ip", "10.77.1.100", 0 },
		{ "net", "guest_mac", "01:00:5e:00:00:01", -EINVAL },
		{ "net", "guest_mac", "52:54:00:12:34:56", 0 },
		{ "net", "output", "compare", 0 },
		{ "net", "output", "buffer", 0 },
		{ "net", "output", "mirror", -EINVAL },
		{ "net", "clock_feed", "no", 0 },
		{ "net", "clock_feed", "off", -EINVAL },
		{ "net", "compare_timeout_ms", "0", -EINVAL },
		{ "net", "passthrough", "22, 5405,8080", 0 },
		{ "net", "passthrough", "", 0 },
		{ "net", "passthrough", "22,0", -EINVAL },
		{ "net", "passthrough", "65536", -EINVAL },
		{ "net", "passthrough", "22;80", -EINVAL },
		{ "net", "passthrough", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17",
		  -EINVAL },
		{ "net", "tx_segment", "65536", -EINVAL },
		{ "net", "max_held_frames", "8", -EINVAL },
	};
	struct colo_config by_file, by_set;
	char text[640], key[64], msg[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret;

		errors[0] = warnings[0] = '\0';
		snprintf(text, sizeof(text), "[%s]\n%s = %s\n", cases[i].section,
			 cases[i].key, cases[i].value);
		ret = load(text, &by_file);
		config_defaults(&by_set);	/* where a file starts from */
		/* both spellings of the key: KEY and SECTION.KEY */
		snprintf(key, sizeof(key), "%s%s%s", i % 2 ? cases[i].section : "",
			 i % 2 ? "." : "", cases[i].key);
		assert_int_equal(config_set_key(&by_set, key, cases[i].value,
						msg, sizeof(msg)), cases[i].ret);
		if (cases[i].ret < 0) {
			assert_int_equal(ret, -EINVAL);
			expect_error(2, msg, NULL);
			continue;
		}
		assert_int_equal(ret, 0);
		snprintf(by_set.path, sizeof(by_set.path), "%s", by_file.path);
		assert_memory_equal(&by_file, &by_set, sizeof(by_set));
		if (cases[i].ret > 0) {
			snprintf(text, sizeof(text), "%s:2: %s", path, msg);
			if (!strstr(warnings, text))
				fail_msg("the file warned '%s', set said '%s'",
					 warnings, msg);
		} else {
			assert_string_equal(warnings, "");
		}
	}
}

/* strtoul skips blanks and takes a sign, which a file's line never has
 * (inih strips it) but set's value may: refused, not read as 2^64 - 5. */
static void test_set_key_blank_sign(void **state)
{
	struct colo_config cfg;
	char msg[512];

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(config_set_key(&cfg, "clear_bitmap_shift", "\v-5", msg,
					sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "is not a number"));
	assert_int_equal(config_set_key(&cfg, "compress_level", " 5", msg,
					sizeof(msg)), -EINVAL);
}

/* What a running daemon lets set change: the table's live keys, listed
 * in one place; another key is refused with what to do instead. */
static void test_set_live(void **state)
{
	struct colo_config cfg, before;
	char msg[512], keys[256];

	(void)state;
	config_defaults(&cfg);
	before = cfg;
	config_live_keys(keys, sizeof(keys));
	assert_string_equal(keys, "clear_bitmap_shift, clear_mode, "
			    "checkpoint_delay_ms, compress_level");
	assert_int_equal(config_set_live(&cfg, "program", "/bin/true", msg,
					 sizeof(msg)), -EPERM);
	assert_non_null(strstr(msg, "[guest] program cannot be changed on a "
			       "running daemon"));
	assert_non_null(strstr(msg, "set takes clear_bitmap_shift, clear_mode"));
	assert_int_equal(config_set_live(&cfg, "nope", "1", msg, sizeof(msg)),
			 -ENOENT);
	assert_string_equal(msg, "unknown key 'nope'; set takes "
			    "clear_bitmap_shift, clear_mode, checkpoint_delay_ms, "
			    "compress_level");
	assert_int_equal(config_set_live(&cfg, "ram.nope", "1", msg, sizeof(msg)),
			 -ENOENT);
	assert_non_null(strstr(msg, "unknown key 'nope' in [ram]; known keys "
			       "there: clear_bitmap_shift, dirty_log"));
	assert_int_equal(config_set_live(&cfg, "rma.clear_mode", "lazy", msg,
					 sizeof(msg)), -ENOENT);
	assert_non_null(strstr(msg, "unknown section [rma]"));
	assert_memory_equal(&cfg, &before, sizeof(cfg));	/* all refused */
	assert_int_equal(config_set_live(&cfg, "checkpoint_delay_ms", "250", msg,
					 sizeof(msg)), 0);
	assert_string_equal(msg, "[checkpoint] checkpoint_delay_ms = 250");
	assert_int_equal(cfg.checkpoint.checkpoint_delay_ms, 250);
	assert_string_equal(errors, "");	/* the caller logs, not config */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shipped_example, setup, teardown),
		cmocka_unit_test_setup_teardown(test_example_names_every_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clamp_warns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_section, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indented, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syntax, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_key_blank_sign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_key_as_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_live, setup, teardown),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
