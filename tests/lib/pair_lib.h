/*
 * pair_lib.h - a primary and a secondary daemon on loopback, for tests
 * that drive them with coloctl as an operator would, and scripted fake
 * peers that speak colo_proto.h records to one real daemon.
 *
 * Nothing here asserts: a helper that can fail returns nonzero and puts
 * the reason in pair_why; the test decides, usually with pair_must(),
 * which fails the running cmocka test with that reason. (The benchmarks
 * link these helpers too, without cmocka.)
 *
 * A test's daemons live in pair_dir: their configs ("pri", "sec"),
 * control sockets, logs ("pri.log", "sec.log"), and the pair's key
 * ("psk", made by coloctl's own auth_key_generate()): every config gets
 * [security] psk_file = pair_dir/psk unless its role brings its own
 * [security] lines, and the fake peers prove that key. Every process started
 * through pair_run() that says "started: pid N" (coloctl start-*, the
 * demo script) is remembered, and pair_teardown() continues what
 * pair_sigstop() stopped, stops both daemons, kills what is left of the
 * remembered processes (by pid, checking it is still the same process)
 * and their children, closes the fake peers and removes pair_dir.
 */
#ifndef COLO_TEST_PAIR_LIB_H
#define COLO_TEST_PAIR_LIB_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "auth.h"
#include "colo_proto.h"

/* What every pair gets unless a test says otherwise. */
#define PAIR_HEARTBEAT_MS	3000	/* [ha] heartbeat_timeout_ms */
#define PAIR_STOP_TIMEOUT_MS	2000	/* [guest] stop_timeout_ms */
#define PAIR_DELAY_MS		20	/* the primary's checkpoint_delay_ms */

extern char pair_dir[128];		/* this test's work directory */
extern char pair_out[65536];		/* what the last pair_run() printed */
extern char pair_why[4096];		/* why the last helper failed */
extern char pair_coloctl[PATH_MAX];	/* $COLOCTL */
extern char pair_memstress[PATH_MAX];	/* the guest of every pair */
extern int pair_port;			/* the secondary's listen port */

/* Fail the running cmocka test with pair_why unless call returned 0. */
#define pair_must(call) do {						\
	if ((call) != 0)						\
		fail_msg("%s: %s", #call, pair_why);			\
} while (0)

/*
 * Find coloctl ($COLOCTL or the default of paths.h) and memstress; name
 * makes the work directories /tmp/colo-NAME-PID. -1 (with the reason on
 * stderr) when there is no coloctl to run.
 */
int pair_init(const char *name);

/* cmocka setup and teardown of every pair test (see the top). */
int pair_setup(void **state);
int pair_teardown(void **state);

/*
 * Run a shell line with coloctl as $C and pair_dir as $D; its output
 * (both streams) in pair_out. Its exit status, or -1 if it did not run.
 */
int pair_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Does pair_out hold needle? 0, or -1 (pair_why says what it holds). */
int pair_expect(const char *needle);

/* A loopback TCP port nobody listens on, or -1. */
int pair_free_port(void);

/* What one daemon of the pair gets besides the common configuration. */
struct pair_role {
	/* put before coloctl on its start line: NAME=VALUE words, or a
	 * wrapper command ("unshare --time ... --fork"); NULL: none */
	const char *prefix;
	/* appended to its colo.conf, [section] headers included; NULL: none */
	const char *conf;
	/* [ha] heartbeat_timeout_ms; 0: PAIR_HEARTBEAT_MS */
	unsigned heartbeat_timeout_ms;
	/* [guest] program (an absolute path); NULL: memstress */
	const char *program;
	/* its [security] lines, header included ("" for none at all);
	 * NULL: the pair's key, psk_file = pair_dir/psk */
	const char *security;
};

/* The pair's key (pair_dir/psk), made or read the first time; NULL
 * until a config used it (pair_write_conf) or when it cannot be made. */
const struct auth_key *pair_key(void);
/* Make it now (pair_why on failure): 0, or -1. */
int pair_make_key(void);

/*
 * Write config file name ("pri", "sec") in pair_dir: memstress (or
 * r->program) with guest_args, stop_timeout_ms PAIR_STOP_TIMEOUT_MS, [checkpoint]
 * role_lines, its control socket and log in pair_dir, its [security]
 * (the pair's key, made now if need be, or r->security), then r's lines.
 */
int pair_write_conf(const char *name, const char *role_lines,
		    const char *guest_args, const struct pair_role *r);

/*
 * Both configs for a pair on a fresh pair_port (the primary with
 * checkpoint_delay_ms PAIR_DELAY_MS); pri and sec may be NULL. The
 * prefixes are kept for pair_start_role().
 */
int pair_configs_roles(const char *guest_args, const struct pair_role *pri,
		       const struct pair_role *sec);
/* The same with only extra primary config lines. */
int pair_configs(const char *guest_args, const char *primary_conf);

/* Start "pri" or "sec" (coloctl start-primary / start-secondary, after
 * its prefix); 0, or -1 with its output in pair_why. */
int pair_start_role(const char *role);
/* The secondary, then the primary. */
int pair_start(void);

/* The role's status --json: a number (-1 if it does not answer or lacks
 * key), a string value test, a string value copied out (0, or -1). */
double pair_status_num(const char *role, const char *key);
bool pair_status_is(const char *role, const char *key, const char *value);
int pair_status_str(const char *role, const char *key, char *buf, size_t len);

/* The role protects its guest (state colo or checkpoint): 0, or -1 with
 * its status and the tail of its log in pair_why. */
int pair_protecting(const char *role);

/* Wait up to secs until the role's key reaches at least value. */
int pair_wait_num(const char *role, const char *key, double value, int secs);
/* Wait up to ms for the role's state to be state. */
int pair_wait_state(const char *role, const char *state, int ms);

/* Lines of the role's log holding any of the phrases (NULL-terminated
 * list); -1 if the log cannot be read. */
int pair_log_count(const char *role, ...) __attribute__((sentinel));
/* Does the role's log hold phrase? 0, or -1 with the log's tail. */
int pair_log_has(const char *role, const char *phrase);
/* The same, waiting up to ms for it to be written. */
int pair_wait_log(const char *role, const char *phrase, int ms);

void pair_sleep_ms(int ms);
int64_t pair_now_ms(void);

/* Remember pid: pair_teardown() kills it if it still runs. */
void pair_track(pid_t pid);
/* SIGSTOP pid, and SIGCONT it at the latest in pair_teardown(). */
int pair_sigstop(pid_t pid);
int pair_sigcont(pid_t pid);
/* Does pid run (exists and is not a zombie)? */
bool pair_alive(pid_t pid);

/* The crc32 of checkpoint id in a [debug] record_hashes file ("id crc
 * bytes" lines; the last line for id counts). 0, or -1. */
int pair_hash_of(const char *path, unsigned long id, uint32_t *crc);

/* What guests are made of: the handshake's hash of a guest's binary and
 * libraries, the crc32 of its RAM (guest_memory_crc()), its layout as a
 * LAYOUT payload (*buf malloc'ed), its largest anonymous mapping. */
int pair_guest_hash(pid_t pid, uint32_t *hash);
int pair_guest_crc(pid_t pid, uint32_t *crc);
/* The same crc with the mappings of one kind (enum layout_kind) left
 * out: a guest continued after a pause has written its [stack] by just
 * running, whatever a checkpoint did. */
int pair_guest_crc_without(pid_t pid, int kind, uint32_t *crc);
int pair_layout_payload(pid_t pid, uint8_t **buf, size_t *len);
int pair_largest_anon(pid_t pid, uint64_t *start, uint64_t *len);

/* Set pair_why. */
void pair_set_why(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* COLO_TEST_PAIR_LIB_H */
