/*
 * test_auth_pair.c - the authenticated replication link on a real pair
 * (pair_lib.h): the secondary daemon refuses a plain HELLO first, another
 * key, a wrong proof and a silent peer, and a replayed or altered record
 * after the handshake, and stays waiting with its guest's memory
 * unchanged; a primary with another key keeps running and says why it is
 * not protected; without a key or with a bad key file the daemons refuse
 * to start, saying so; insecure = yes is shown by status and warned about
 * in the log; coloctl genkey. test_auth.c has the key files and the
 * channels in one process.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth.h"
#include "colo_proto.h"
#include "fake_peer.h"
#include "log.h"
#include "pair_lib.h"

/* The secondary's guest's pid, its memory crc. */
static pid_t secondary_guest(uint32_t *crc)
{
	pid_t b = (pid_t)pair_status_num("sec", "guest_pid");

	assert_true(b > 0);
	pair_must(pair_guest_crc(b, crc));
	return b;
}

/* The secondary waits still, its guest's memory as it was. */
static void secondary_untouched(pid_t b, uint32_t before)
{
	uint32_t after;

	pair_sleep_ms(300);
	assert_true(pair_status_is("sec", "state", "waiting"));
	assert_true(pair_alive(b));
	pair_must(pair_guest_crc(b, &after));
	assert_int_equal(after, before);
}

static int connect_plain(void)
{
	int fd = pair_connect_plain();

	if (fd < 0)
		fail_msg("%s", pair_why);
	return fd;
}

/*
 * A secondary started alone (16 MiB guest): its guest's pid, its memory's
 * crc in *crc, and at hello the HELLO payload a primary of that guest
 * would send.
 */
static pid_t secondary_and_hello(uint8_t hello[COLO_HELLO_LEN], uint32_t *crc)
{
	struct colo_hello h = { COLO_PROTO_MAGIC, COLO_PROTO_VERSION,
				(uint32_t)sysconf(_SC_PAGESIZE),
				COLO_ROLE_PRIMARY, 0, 0, 0 };
	pid_t guest;

	pair_must(pair_configs("--ram 16", NULL));
	pair_must(pair_start_role("sec"));
	guest = secondary_guest(crc);
	pair_must(pair_guest_hash(guest, &h.guest_hash));
	colo_hello_encode(&h, hello);
	return guest;
}

/* Peers without the key: refused by the daemon, which stays waiting
 * with its guest untouched. */
static void test_pair_peer_without_key(void **state)
{
	struct auth_hello ah = { .version = AUTH_VERSION };
	uint8_t b[COLO_HELLO_LEN], ab[AUTH_HELLO_LEN], buf[256];
	struct auth_session *a;
	struct auth_key other;
	struct auth_proof p;
	char phrase[512];
	uint32_t crc, len;
	uint16_t type;
	pid_t guest;
	int fd;

	(void)state;
	guest = secondary_and_hello(b, &crc);
	assert_true(pair_status_is("sec", "security", "psk"));

	/* a plain colo_proto client: HELLO first */
	fd = connect_plain();
	pair_must(pair_send_record(fd, COLO_HELLO, b, sizeof(b), -1, 0));
	pair_must(pair_expect_dropped(fd, "sent HELLO before authenticating, "
				      "expected AUTH_HELLO"));
	/* another key */
	fd = connect_plain();
	snprintf(phrase, sizeof(phrase), "%s/other", pair_dir);
	assert_int_equal(auth_key_generate(phrase, &other), 0);
	a = pair_handshake(fd, AUTH_INITIATOR, &other);
	assert_null(a);
	pair_must(pair_expect_dropped(fd, "has another key"));
	/* the pair's key id, a proof made without the key */
	fd = connect_plain();
	memcpy(ah.key_id, pair_key()->id, AUTH_KEY_ID_LEN);
	memset(ah.nonce, 0x5a, sizeof(ah.nonce));
	auth_hello_encode(&ah, ab);
	pair_must(pair_send_record(fd, COLO_AUTH_HELLO, ab, sizeof(ab), -1, 0));
	pair_must(pair_read_plain(fd, &type, buf, sizeof(buf), &len, 3000));
	assert_int_equal(type, COLO_AUTH_CHALLENGE);
	memset(p.proof, 0x33, sizeof(p.proof));
	auth_proof_encode(&p, buf);
	pair_must(pair_send_record(fd, COLO_AUTH_PROOF, buf, AUTH_PROOF_LEN, -1, 0));
	snprintf(phrase, sizeof(phrase), "does not know the key in %s/psk (its "
		 "proof does not match): check both nodes use the same "
		 "psk_file", pair_dir);
	pair_must(pair_expect_dropped(fd, phrase));
	/* silent: dropped at the handshake's deadline (min(heartbeat, 2 s)) */
	fd = connect_plain();
	pair_must(pair_wait_log("sec", "did not complete the authentication "
				"handshake within 2000 ms", 5000));
	close(fd);
	secondary_untouched(guest, crc);
}

/* An authenticated peer's records replayed or altered: refused, the
 * secondary back to waiting, its guest untouched. */
/*
 * A connection to the secondary that proves the key and says HELLO
 * (hello: its payload) as a primary would: the session (record 0 was
 * the HELLO) and the socket in *fd. The secondary is then in its
 * initial sync.
 */
static struct auth_session *authenticated_primary(int *fd,
						  const uint8_t *hello)
{
	uint8_t rec[COLO_RECORD_HDR + COLO_HELLO_LEN + COLO_TAG_LEN];
	struct auth_session *a;
	size_t n;

	*fd = connect_plain();
	a = pair_handshake(*fd, AUTH_INITIATOR, NULL);
	if (!a)
		fail_msg("%s", pair_why);
	n = pair_record_bytes(a, COLO_HELLO, hello, COLO_HELLO_LEN, rec);
	pair_must(pair_send_bytes(*fd, rec, n));
	pair_must(pair_wait_state("sec", "initial-sync", 3000));
	return a;
}

static void test_pair_replay_and_flip(void **state)
{
	uint8_t b[COLO_HELLO_LEN], hb[COLO_HEARTBEAT_LEN];
	uint8_t rec[COLO_RECORD_HDR + 64 + COLO_TAG_LEN];
	struct auth_session *a;
	uint32_t crc;
	size_t n;
	pid_t guest;
	int fd;

	(void)state;
	guest = secondary_and_hello(b, &crc);
	put_be64(hb, 12345);

	/* HELLO (record 0), HEARTBEAT (1), the same HEARTBEAT again */
	a = authenticated_primary(&fd, b);
	n = pair_record_bytes(a, COLO_HEARTBEAT, hb, sizeof(hb), rec);
	pair_must(pair_send_bytes(fd, rec, n));
	pair_must(pair_send_bytes(fd, rec, n));		/* the replay */
	pair_must(pair_expect_dropped(fd, "record 2 (HEARTBEAT, 8 bytes) from "
				      "the peer at 127.0.0.1:"));
	pair_must(pair_log_has("sec", "fails authentication: its tag does "
			       "not match (forged, altered, dropped, "
			       "reordered or replayed)"));
	auth_session_free(a);
	secondary_untouched(guest, crc);

	/* one bit of a HEARTBEAT flipped, its CRC made right again */
	a = authenticated_primary(&fd, b);
	n = pair_record_bytes(a, COLO_HEARTBEAT, hb, sizeof(hb), rec);
	rec[COLO_RECORD_HDR + 3] ^= 0x01;
	put_be32(rec + 8, colo_record_crc(rec, rec + COLO_RECORD_HDR,
					  sizeof(hb)));
	pair_must(pair_send_bytes(fd, rec, n));
	pair_must(pair_expect_dropped(fd, "record 1 (HEARTBEAT, 8 bytes) from "
				      "the peer at 127.0.0.1:"));
	auth_session_free(a);
	secondary_untouched(guest, crc);
	assert_int_equal(pair_log_count("sec", "replayed); dropping the "
					"connection", (const char *)NULL), 2);
}

/* A real primary with another key: refused by the secondary; the
 * primary keeps its guest running and says why it is not protected. */
static void test_pair_primary_wrong_key(void **state)
{
	char lines[160], why[1024] = "";
	struct pair_role pri = { .security = lines };
	uint32_t crc;
	pid_t guest, a;

	(void)state;
	snprintf(lines, sizeof(lines), "[security]\npsk_file = %s/psk2\n",
		 pair_dir);
	pair_must(pair_run("$C genkey $D/psk2 >/dev/null"));
	pair_must(pair_configs_roles("--ram 16 --rate 5 --tick 5", &pri, NULL));
	pair_must(pair_start_role("sec"));
	guest = secondary_guest(&crc);
	pair_must(pair_start_role("pri"));
	pair_must(pair_wait_log("sec", "has another key", 5000));
	pair_sleep_ms(1200);		/* it tries again, refused again */
	assert_true(pair_status_is("pri", "security", "psk"));
	/* between attempts (an attempt itself takes a millisecond) */
	for (int i = 0; i < 40; i++) {
		if (!pair_status_str("pri", "connecting_because", why,
				     sizeof(why)) &&
		    strstr(why, "during the authentication handshake"))
			break;
		pair_sleep_ms(50);
	}
	if (!strstr(why, "during the authentication handshake"))
		fail_msg("the primary says it is connecting because: '%s'", why);
	assert_int_equal(pair_status_num("pri", "checkpoints"), 0);
	a = (pid_t)pair_status_num("pri", "guest_pid");
	assert_true(a > 0 && pair_alive(a));
	pair_must(pair_log_has("pri", "closed the connection during the "
			       "authentication handshake (we wait for its "
			       "AUTH_CHALLENGE)"));
	secondary_untouched(guest, crc);
}

/* The same key on both: the pair protects, status says psk. */
static void test_pair_authenticated(void **state)
{
	(void)state;
	pair_must(pair_configs("--ram 16 --rate 20 --tick 5", NULL));
	pair_must(pair_start());
	pair_must(pair_wait_num("pri", "checkpoints", 3, 30));
	assert_true(pair_status_is("pri", "security", "psk"));
	assert_true(pair_status_is("sec", "security", "psk"));
	assert_int_equal(pair_run("$C -c $D/pri checkpoint --verify"), 0);
	pair_must(pair_expect("the secondary's guest is identical"));
	pair_must(pair_log_has("pri", "is authenticated"));
	pair_must(pair_log_has("sec", "is authenticated"));
	pair_must(pair_log_has("sec", "the replication link is authenticated "
			       "with the key in"));
}

/* Start role with security lines: its exit status, output in pair_out. */
static int start_with(const char *role, const char *security)
{
	struct pair_role r = { .security = security };

	if (pair_configs_roles("--ram 8", strcmp(role, "pri") ? NULL : &r,
			       strcmp(role, "sec") ? NULL : &r))
		fail_msg("%s", pair_why);
	return pair_run("$C -c $D/%s start-%s", role,
			strcmp(role, "pri") ? "secondary" : "primary");
}

/* No key and no insecure, both, a bad key file: neither daemon starts,
 * and says why. */
static void test_pair_start_refused(void **state)
{
	char lines[256];

	(void)state;
	assert_int_equal(start_with("sec", ""), 1);
	pair_must(pair_expect("no key for the replication link: set "
			      "[security] psk_file"));
	pair_must(pair_expect("coloctl genkey"));
	pair_must(pair_expect("[security] insecure = yes"));
	assert_int_equal(start_with("pri", ""), 1);
	pair_must(pair_expect("no key for the replication link"));
	snprintf(lines, sizeof(lines), "[security]\npsk_file = %s/psk\n"
		 "insecure = yes\n", pair_dir);
	pair_must(pair_make_key());
	assert_int_equal(start_with("sec", lines), 1);
	pair_must(pair_expect("sets both [security] psk_file and insecure = yes"));
	/* the key readable by others */
	pair_must(pair_run("chmod 644 $D/psk"));
	assert_int_equal(start_with("sec", NULL), 1);
	pair_must(pair_expect("has mode 0644: group or others may read"));
	/* of the wrong size */
	pair_must(pair_run("printf 0123456789 > $D/short; chmod 600 $D/short"));
	snprintf(lines, sizeof(lines), "[security]\npsk_file = %s/short\n",
		 pair_dir);
	assert_int_equal(start_with("pri", lines), 1);
	pair_must(pair_expect("is 10 bytes, not a key"));
	/* missing */
	snprintf(lines, sizeof(lines), "[security]\npsk_file = %s/none\n",
		 pair_dir);
	assert_int_equal(start_with("sec", lines), 1);
	pair_must(pair_expect("cannot open the key file"));
	/* a bad value in colo.conf names the file and line */
	assert_int_equal(start_with("sec", "[security]\ninsecure = maybe\n"), 2);
	pair_must(pair_expect("[security] insecure = 'maybe' is not valid; "
			      "allowed: yes or no"));
	/* nothing was left running */
	assert_int_equal(pair_run("$C -c $D/sec status"), 2);
	assert_int_equal(pair_run("$C -c $D/pri status"), 2);
}

/* insecure = yes on both: the pair runs, status and the log say so. */
static void test_pair_insecure(void **state)
{
	struct pair_role r = { .security = "[security]\ninsecure = yes\n" };

	(void)state;
	pair_must(pair_configs_roles("--ram 16 --rate 20 --tick 5", &r, &r));
	pair_must(pair_start());
	pair_must(pair_wait_num("pri", "checkpoints", 3, 30));
	assert_true(pair_status_is("pri", "security", "insecure"));
	assert_true(pair_status_is("sec", "security", "insecure"));
	assert_int_equal(pair_run("$C -c $D/sec status"), 0);
	pair_must(pair_expect("security"));
	pair_must(pair_expect("insecure"));
	pair_must(pair_log_has("pri", "[security] insecure = yes: the "
			       "replication link is NOT authenticated"));
	pair_must(pair_log_has("sec", "NOT authenticated"));
	assert_int_equal(pair_log_count("sec", "is authenticated",
					(const char *)NULL), 0);
}

/* coloctl genkey: mode 0600 whatever the umask, never overwriting. */
static void test_genkey_command(void **state)
{
	(void)state;
	assert_int_equal(pair_run("umask 000; $C genkey $D/k"), 0);
	pair_must(pair_expect("wrote a new key to"));
	pair_must(pair_expect("key id "));
	assert_int_equal(pair_run("stat -c '%%a %%s' $D/k"), 0);
	pair_must(pair_expect("600 65"));
	assert_int_equal(pair_run("cp $D/k $D/k.before; $C genkey $D/k"), 1);
	pair_must(pair_expect("exists: refusing to overwrite a key"));
	assert_int_equal(pair_run("cmp $D/k $D/k.before"), 0);
	assert_int_equal(pair_run("$C genkey"), 2);
	pair_must(pair_expect("usage: coloctl genkey PATH"));
	assert_int_equal(pair_run("$C genkey --help"), 0);
	pair_must(pair_expect("[-v] genkey PATH"));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest pair[] = {
		cmocka_unit_test_setup_teardown(test_genkey_command, pair_setup,
						pair_teardown),
		cmocka_unit_test_setup_teardown(test_pair_start_refused,
						pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_pair_peer_without_key,
						pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_pair_replay_and_flip,
						pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_pair_primary_wrong_key,
						pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_pair_authenticated,
						pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_pair_insecure, pair_setup,
						pair_teardown),
	};

	if (pair_init("auth"))
		return 1;
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("auth pair", pair, NULL, NULL);
}
