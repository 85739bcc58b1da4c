/*
 * test_fault_link.c - the pair's replication link and the peers at its
 * other end: an out-of-range verify value, a secondary with another
 * guest, stray connections, the link lost before the first checkpoint
 * and in the middle of the initial sync, records before HELLO, the
 * limits on connections in their handshake, the links' keepalives and
 * user timeouts, a link without TCP_NODELAY refused, and a primary that
 * cannot connect saying why.
 *
 * One test per scenario. Fake peers (tests/lib/fake_peer.h) play a
 * primary or a secondary record by record, or connect and send what no
 * peer should; what the fault tests share is in tests/lib/fault_pair.h.
 * Every figure a test decides on is printed.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "channel.h"
#include "colo_proto.h"
#include "guest_abi.h"
#include "log.h"
#include "fake_peer.h"
#include "fault_pair.h"
#include "pair_lib.h"

/* --- F6: an out-of-range verify value ---------------------------------------- */

/*
 * A primary (started here) and a fake secondary that has answered its
 * HELLO, taken the initial sync and checkpoint 1 (whose id is *id) up to
 * VMSTATE_SIZE, and said VMSTATE_RECEIVED: its VMSTATE_LOADED is the
 * caller's to send, or not.
 */
static struct fake_peer *fake_secondary_received_first(uint64_t *id)
{
	struct fake_peer *f;
	uint32_t hash;

	pair_must(pair_configs(GUEST_ARGS, NULL));
	f = fake_secondary_for_primary(&hash);
	pair_must(fake_send_hello(f, COLO_ROLE_SECONDARY, hash));
	/* the first checkpoint ends the initial sync */
	pair_must(fake_until(f, COLO_CHECKPOINT_REQUEST, 20000));
	*id = fake_id(f);
	pair_must(fake_send_id(f, COLO_CHECKPOINT_REPLY, *id));
	pair_must(fake_until(f, COLO_VMSTATE_SIZE, 20000));
	assert_int_equal(fake_id(f), *id);
	pair_must(fake_send_id(f, COLO_VMSTATE_RECEIVED, *id));
	return f;
}

#define BAD_VERIFY	0x7fff0000u

static void test_bad_verify_value(void **state)
{
	uint8_t loaded[COLO_VMSTATE_LOADED_LEN];
	struct fake_peer *f;
	char because[256] = "";
	uint64_t id;

	(void)state;
	f = fake_secondary_received_first(&id);
	put_be64(loaded, id);
	put_be32(loaded + 8, BAD_VERIFY);
	pair_must(fake_send(f, COLO_VMSTATE_LOADED, loaded, sizeof(loaded)));
	/* well within the heartbeat timeout, the fake never silent */
	serve_until_state(f, "pri", "solo", PAIR_HEARTBEAT_MS / 2);
	pair_must(pair_status_str("pri", "solo_because", because, sizeof(because)));
	print_message("checkpoint %llu LOADED with verify %u: the primary is "
		      "solo because '%s'\n", (unsigned long long)id, BAD_VERIFY,
		      because);
	pair_must(pair_log_has("pri", "says verify 2147418112"));
}

/* --- F7: a secondary with another guest -------------------------------------- */

static void test_other_guest_refused(void **state)
{
	struct fake_peer *f;
	uint32_t hash;

	(void)state;
	pair_must(pair_configs(GUEST_ARGS, NULL));
	f = fake_secondary_for_primary(&hash);
	pair_must(fake_send_hello(f, COLO_ROLE_SECONDARY, hash ^ 1));
	/* the fake keeps talking: only the HELLO can make the primary solo */
	serve_until_state(f, "pri", "solo", PAIR_HEARTBEAT_MS / 2);
	pair_must(pair_log_has("pri", "install the same guest binary"));
	print_message("the primary (guest hash %08x) refused a secondary "
		      "saying %08x\n", hash, hash ^ 1);
}

/* A secondary that answers with another session than the primary's
 * HELLO drew is answering another primary: refused. */
static void test_other_session_refused(void **state)
{
	struct fake_peer *f;
	uint32_t hash;

	(void)state;
	pair_must(pair_configs(GUEST_ARGS, NULL));
	f = fake_secondary_for_primary(&hash);
	f->session ^= 1;
	pair_must(fake_send_hello(f, COLO_ROLE_SECONDARY, hash));
	serve_until_state(f, "pri", "solo", PAIR_HEARTBEAT_MS / 2);
	pair_must(pair_log_has("pri", "it answers another primary"));
}

/* --- F8: stray connections ------------------------------------------------------ */

static void test_stray_connections(void **state)
{
	static const char junk[] = "GET / HTTP/1.0\r\nHost: colo\r\n\r\n";
	struct fake_peer *silent, *garbage, *bad;
	double before, after;

	(void)state;
	pair_must(pair_configs(GUEST_ARGS, NULL));
	pair_must(pair_start_role("sec"));
	/* alone, a silent connection goes after the handshake timeout (the
	 * heartbeat timeout here); a primary's HELLO would end it sooner */
	silent = fake_primary(pair_port);
	if (!silent)
		fail_msg("%s", pair_why);
	pair_must(pair_wait_log("sec", "sent no HELLO within",
				PAIR_HEARTBEAT_MS + 2000));
	if (fake_pump(silent, 1000) != -EPIPE)
		fail_msg("the silent connection is still open");
	fake_close(silent);
	/* another one, open while the primary comes: the pair forms */
	silent = fake_primary(pair_port);
	if (!silent)
		fail_msg("%s", pair_why);
	pair_must(pair_start_role("pri"));
	pair_must(pair_wait_num("pri", "checkpoints", 3, FORM_SECS));

	/* while the pair runs: garbage, and a HELLO of another protocol */
	before = pair_status_num("pri", "checkpoints");
	garbage = fake_primary(pair_port);
	bad = fake_primary(pair_port);
	if (!garbage || !bad)
		fail_msg("%s", pair_why);
	/* the secondary may have refused them at once: sent or not, they
	 * must not disturb the pair */
	if (send(garbage->fd, junk, sizeof(junk) - 1, MSG_NOSIGNAL) < 0)
		print_message("garbage not sent: %s\n", strerror(errno));
	if (pair_hello(bad->fd, 99, 0))
		print_message("bad HELLO not sent: %s\n", pair_why);
	for (int i = 0; i < 5; i++) {
		pair_sleep_ms(300);
		pair_must(pair_protecting("sec"));
		pair_must(pair_protecting("pri"));
	}
	after = pair_status_num("pri", "checkpoints");
	print_message("checkpoints %.0f before the garbage, %.0f 1.5 s after\n",
		      before, after);
	assert_true(after > before);
	fake_close(silent);
	fake_close(garbage);
	fake_close(bad);
}

/* --- F8b: a flood of connections ------------------------------------------- */

/* How many files process pid has open. */
static int open_files(pid_t pid)
{
	char path[64];
	struct dirent *e;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

#define FLOOD_CONNECTIONS	2000

/*
 * 2,000 connections come and go as fast as they can, half of them after
 * a line of junk: the secondary frees every one (it used to keep room
 * for six closed ones between two ticks and leak the rest, 1,600 open
 * files after such a flood), and a primary that comes next forms the
 * pair.
 */
static void test_connection_flood(void **state)
{
	static const char junk[] = "GET / HTTP/1.0\r\n\r\n";
	int before, after = 0, refused = 0;
	int64_t end;
	pid_t sec;

	(void)state;
	pair_must(pair_configs(GUEST_ARGS, NULL));
	pair_must(pair_start_role("sec"));
	sec = pid_of("sec", "pid");
	before = open_files(sec);
	for (int i = 0; i < FLOOD_CONNECTIONS; i++) {
		int fd = pair_connect_secondary();

		if (fd < 0) {
			refused++;
			continue;
		}
		if (i % 2)
			(void)!send(fd, junk, sizeof(junk) - 1, MSG_NOSIGNAL);
		close(fd);
	}
	/* its loop catches up: every closed connection freed */
	end = pair_now_ms() + 5000;
	do {
		pair_sleep_ms(100);
		after = open_files(sec);
	} while (after > before && pair_now_ms() < end);
	print_message("%d connections (%d refused by the kernel): the "
		      "secondary had %d open files before, %d after\n",
		      FLOOD_CONNECTIONS, refused, before, after);
	if (after > before)
		fail_msg("the secondary kept %d files more after the flood",
			 after - before);
	pair_must(pair_start_role("pri"));
	pair_must(pair_wait_num("pri", "checkpoints", 2, FORM_SECS));
	pair_must(pair_protecting("sec"));
}

/* --- F9: the link lost before the first checkpoint ---------------------------- */

static void test_link_lost_before_first_checkpoint(void **state)
{
	struct fake_peer *f;
	uint32_t hash;
	int64_t end;

	(void)state;
	pair_must(pair_configs(GUEST_ARGS, NULL));
	f = fake_secondary_for_primary(&hash);
	pair_must(fake_send_hello(f, COLO_ROLE_SECONDARY, hash));
	fake_close(f);
	/* back to connecting, never solo: nothing was protected yet */
	end = pair_now_ms() + PAIR_HEARTBEAT_MS;
	for (;;) {
		if (pair_status_is("pri", "state", "connecting"))
			break;
		if (strstr(pair_out, "\"state\": \"solo\""))
			fail_msg("the primary went solo:\n%s", pair_out);
		if (pair_now_ms() >= end)
			fail_msg("the primary did not go back to connecting:\n%s",
				 pair_out);
		pair_sleep_ms(50);
	}
	pair_must(pair_start_role("sec"));
	pair_must(pair_wait_num("pri", "checkpoints", 2, FORM_SECS));
	print_message("after the lost link the pair formed: %.0f checkpoints\n",
		      pair_status_num("pri", "checkpoints"));
}

/* --- F9b: the link lost in the middle of the initial sync --------------------- */

/*
 * The first secondary takes part of the initial image and goes; the
 * next one must get all of the guest again, the pages the first one
 * took included: after a checkpoint, both guests are byte-identical.
 * (The guest writes little, so most pages are never sent again of
 * themselves.)
 */
static void test_link_lost_mid_sync(void **state)
{
	struct fake_peer *f;
	uint32_t hash;
	unsigned n = 0;

	(void)state;
	pair_must(pair_configs("--ram 32 --rate 1 --tick 100", NULL));
	f = fake_secondary_for_primary(&hash);
	pair_must(fake_send_hello(f, COLO_ROLE_SECONDARY, hash));
	/* the whole image, until the first checkpoint begins */
	for (;;) {
		if (fake_read(f, 5000) != 1)
			fail_msg("the primary went quiet or away in its sync");
		if (f->type == COLO_PAGES)
			n++;
		if (f->type == COLO_CHECKPOINT_REQUEST)
			break;
	}
	fake_close(f);
	pair_must(pair_wait_state("pri", "connecting", PAIR_HEARTBEAT_MS));
	pair_must(pair_start_role("sec"));
	pair_must(pair_wait_num("pri", "checkpoints", 3, FORM_SECS));
	print_message("the first secondary took %u PAGES records\n", n);
	assert_held_identical();
}

/* --- F9c: the link lost once checkpoint 1 went out whole ------------------ */

/*
 * The secondary may have committed checkpoint 1 (and then waits for a
 * failover, refusing new primaries) even if its VMSTATE_LOADED never
 * arrives: the primary must not take the pair for unformed and connect
 * again forever. It goes solo and says why.
 */
static void test_link_lost_after_first_checkpoint_sent(void **state)
{
	struct fake_peer *f;
	char because[256] = "";
	uint64_t id;

	(void)state;
	f = fake_secondary_received_first(&id);
	fake_close(f);		/* its LOADED is lost with the link */
	pair_must(pair_wait_state("pri", "solo", PAIR_HEARTBEAT_MS));
	pair_must(pair_status_str("pri", "solo_because", because,
				  sizeof(because)));
	print_message("the link lost after checkpoint %llu went out whole: "
		      "the primary is solo because '%s'\n",
		      (unsigned long long)id, because);
	pair_must(pair_log_has("pri", "may hold checkpoint 1"));
	/* and stays so: it does not connect again */
	pair_sleep_ms(1000);
	assert_true(pair_status_is("pri", "state", "solo"));
}

/* --- F19: what a connection may send before HELLO ----------------------------- */

/* Wait up to ms for the secondary to close fd: 0 once it did, -1. */
static int wait_eof(int fd, int ms)
{
	int64_t end = pair_now_ms() + ms;
	char buf[256];

	while (pair_now_ms() < end) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN))
			return 0;
		pair_sleep_ms(20);
	}
	return -1;
}

static void test_records_before_hello(void **state)
{
	uint8_t hb[COLO_HEARTBEAT_LEN] = { 0 };
	uint8_t blocks[4 + COLO_RAM_BLOCK_LEN];
	uint32_t hash;
	pid_t b;
	int fd;

	(void)state;
	pair_must(pair_configs("--ram 16", NULL));
	pair_must(pair_start_role("sec"));
	b = pid_of("sec", "guest_pid");
	pair_must(pair_guest_hash(b, &hash));
	/* a valid record, but not a HELLO: that connection goes, at once */
	fd = pair_connect_secondary();
	assert_true(fd >= 0);
	pair_must(pair_send_record(fd, COLO_HEARTBEAT, hb, sizeof(hb), -1, 0));
	if (wait_eof(fd, 500))
		fail_msg("a connection that sent a HEARTBEAT before HELLO is "
			 "still open after 500 ms");
	pair_must(pair_expect_dropped(fd, "HEARTBEAT before HELLO"));
	assert_true(pair_status_is("sec", "state", "waiting"));
	/* a primary that announces a block over the guest runtime's area */
	fd = pair_connect_secondary();
	assert_true(fd >= 0);
	pair_must(pair_hello(fd, COLO_PROTO_VERSION, hash));
	put_be32(blocks, 1);
	put_be64(blocks + 4, COLO_GUEST_PRIVATE_BASE);
	put_be64(blocks + 12, COLO_GUEST_PRIVATE_SIZE);
	pair_must(pair_send_record(fd, COLO_RAM_BLOCKS, blocks, sizeof(blocks),
				   -1, 0));
	pair_must(pair_expect_dropped(fd, "reserved for the guest runtime"));
	pair_must(pair_wait_state("sec", "waiting", 2000));
}

/* --- F20: connections in their handshake: how many, how long ---------------- */

#define HANDSHAKE_CAP_MS	2000	/* HANDSHAKE_MAX_MS of the secondary */
#define MAX_HANDSHAKES		4	/* MAX_PENDING of the secondary */

static void test_handshake_limits(void **state)
{
	struct pair_role sec = { .heartbeat_timeout_ms = 10000 };
	int fd[MAX_HANDSHAKES + 1], gone;
	int64_t t0, took;

	(void)state;
	pair_must(pair_configs_roles("--ram 16", NULL, &sec));
	pair_must(pair_start_role("sec"));
	t0 = pair_now_ms();
	for (int i = 0; i <= MAX_HANDSHAKES; i++) {
		fd[i] = pair_connect_secondary();
		if (fd[i] < 0)
			fail_msg("%s", pair_why);
		pair_sleep_ms(50);
	}
	/* one too many: refused at once */
	gone = wait_eof(fd[MAX_HANDSHAKES], 1000);
	pair_must(pair_wait_log("sec", "too many connections in their "
				"handshake", 1000));
	/* the others, with a 10 s heartbeat timeout, go at the cap */
	for (int i = 0; i < MAX_HANDSHAKES; i++)
		if (wait_eof(fd[i], (int)(t0 + HANDSHAKE_CAP_MS + 1500 -
					  pair_now_ms())))
			fail_msg("silent connection %d still open %lld ms after "
				 "it connected", i,
				 (long long)(pair_now_ms() - t0 - 50 * i));
	took = pair_now_ms() - t0;
	print_message("the extra connection %s at once; the %d others were "
		      "dropped within %lld ms\n", gone ? "was NOT closed" :
		      "was closed", MAX_HANDSHAKES, (long long)took);
	assert_int_equal(gone, 0);
	pair_must(pair_wait_log("sec", "sent no HELLO within 2000 ms", 1000));
	for (int i = 0; i <= MAX_HANDSHAKES; i++)
		close(fd[i]);
}

/* --- F22: the links' timeouts ------------------------------------------------- */

/* The daemon pid's TCP connection with port pair_port (local if sec):
 * keepalive on, and its TCP_USER_TIMEOUT in *user. 1: no such socket, or
 * it cannot be looked at; 0; -1 (pair_why). */
static int link_timeouts(pid_t pid, bool sec, int *keep, unsigned *user)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), found = 1;
	char dir[64], path[300], link[64];

	if (pidfd < 0)
		return 1;
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	for (int n = 0; n < 256 && found == 1; n++) {
		struct sockaddr_in a, peer;
		socklen_t al = sizeof(a), pl = sizeof(peer), ol = sizeof(int);
		ssize_t k;
		int fd;

		snprintf(path, sizeof(path), "%s/%d", dir, n);
		k = readlink(path, link, sizeof(link) - 1);
		if (k <= 0)
			continue;
		link[k] = 0;
		if (strncmp(link, "socket:", 7))
			continue;
		fd = (int)syscall(SYS_pidfd_getfd, pidfd, n, 0);
		if (fd < 0)
			break;
		if (getsockname(fd, (struct sockaddr *)&a, &al) == 0 &&
		    getpeername(fd, (struct sockaddr *)&peer, &pl) == 0 &&
		    a.sin_family == AF_INET &&
		    ntohs(sec ? a.sin_port : peer.sin_port) == pair_port) {
			ol = sizeof(int);
			getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, keep, &ol);
			ol = sizeof(*user);
			getsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, user, &ol);
			found = 0;
		}
		close(fd);
	}
	close(pidfd);
	return found;
}

/* Both ends of the pair's link have keepalives and a user timeout of
 * the heartbeat timeout: a peer host that vanishes without a word is
 * noticed by the kernel too. */
static void test_link_timeouts(void **state)
{
	const char *roles[] = { "pri", "sec" };

	(void)state;
	pair_must(pair_configs(GUEST_ARGS, NULL));
	pair_must(pair_start());
	assert_pair_protects(3);
	for (int i = 0; i < 2; i++) {
		int keep = -1, ret;
		unsigned user = 0;

		ret = link_timeouts(pid_of(roles[i], "pid"), i == 1, &keep, &user);
		if (ret == 1) {
			print_message("cannot look at the %s's sockets "
				      "(pidfd_getfd): skipped\n", roles[i]);
			skip();
		}
		print_message("the %s's link: keepalive %d, user timeout %u ms\n",
			      roles[i], keep, user);
		assert_int_equal(keep, 1);
		assert_int_equal(user, PAIR_HEARTBEAT_MS);
	}
}

/* --- F23: a link without TCP_NODELAY is refused ------------------------------ */

static char nodelay_err[512];		/* the error channel_new logged */

static void nodelay_hook(enum log_level level, const char *line, void *opaque)
{
	(void)opaque;
	if (level == LOG_ERROR)
		snprintf(nodelay_err, sizeof(nodelay_err), "%s", line);
}

static int nodelay_record(struct channel *ch, uint16_t type,
			  const uint8_t *payload, uint32_t len, void *opaque)
{
	(void)ch;
	(void)type;
	(void)payload;
	(void)len;
	(void)opaque;
	return 0;
}

static void nodelay_closed(struct channel *ch, const char *why, void *opaque)
{
	(void)ch;
	(void)why;
	(void)opaque;
}

/*
 * Without TCP_NODELAY every small record of a checkpoint waits for a
 * delayed ACK (~40 ms a pause): a socket that refuses it makes no
 * channel, and the log says why. A TCP socket never refuses it, so a
 * connected UDP socket stands in for one that does; a socketpair (the
 * stream tests' link) has no Nagle to turn off and is taken.
 */
static void test_channel_needs_nodelay(void **state)
{
	static const struct channel_ops ops = {
		.record = nodelay_record,
		.closed = nodelay_closed,
	};
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(9),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	struct event_base *base = event_base_new();
	struct channel *ch;
	int fd, sv[2];

	(void)state;
	assert_non_null(base);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	nodelay_err[0] = '\0';
	log_set_quiet(1);
	log_set_hook(nodelay_hook, NULL);
	ch = channel_new(base, fd, &ops, NULL, "a UDP peer");
	log_set_hook(NULL, NULL);
	log_set_quiet(0);
	print_message("channel_new on a UDP socket: %s; logged '%s'\n",
		      ch ? "a channel" : "refused", nodelay_err);
	if (ch) {
		channel_free(ch);	/* closes fd */
		fail_msg("channel_new took a socket that refuses TCP_NODELAY");
	}
	close(fd);
	assert_non_null(strstr(nodelay_err, "TCP_NODELAY"));
	assert_non_null(strstr(nodelay_err, strerror(ENOPROTOOPT)));

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ch = channel_new(base, sv[0], &ops, NULL, "a socketpair");
	assert_non_null(ch);
	channel_free(ch);
	close(sv[1]);
	event_base_free(base);
}

/* --- F24: a primary that cannot connect says why, once a reason ------------- */

/* Wait up to ms for the role's log to hold phrase on n lines: the count. */
static int wait_log_lines(const char *role, const char *phrase, int n, int ms)
{
	int64_t end = pair_now_ms() + ms;
	int lines;

	while ((lines = pair_log_count(role, phrase, (const char *)NULL)) < n &&
	       pair_now_ms() < end)
		pair_sleep_ms(50);
	return lines;
}

/*
 * The primary alone: its attempts every 500 ms are refused, and it says
 * so once, not once a try, and its status names the reason. A secondary
 * that came and went in between makes the next refusal news again.
 */
static void test_connect_refusal_reported(void **state)
{
	char phrase[160], because[256] = "";
	struct fake_peer *f;
	int first, again;

	(void)state;
	pair_must(pair_configs(GUEST_ARGS, NULL));
	pair_must(pair_start_role("pri"));
	snprintf(phrase, sizeof(phrase), "cannot connect to the secondary at "
		 "127.0.0.1:%d: %s", pair_port, strerror(ECONNREFUSED));
	if (wait_log_lines("pri", phrase, 1, 3000) < 1) {
		pair_log_has("pri", phrase);	/* the log's tail in pair_why */
		fail_msg("the primary never said '%s': %s", phrase, pair_why);
	}
	pair_sleep_ms(1500);		/* three more refused attempts */
	first = pair_log_count("pri", phrase, (const char *)NULL);
	pair_must(pair_status_str("pri", "connecting_because", because,
				  sizeof(because)));
	print_message("alone for 1.5 s after its first refusal: %d log line(s) "
		      "about it; connecting_because '%s'\n", first, because);
	assert_int_equal(first, 1);
	assert_string_equal(because, phrase);

	f = fake_secondary(pair_port);
	if (!f)
		fail_msg("%s", pair_why);
	pair_must(fake_accept(f, 5000));
	fake_close(f);
	pair_must(pair_wait_log("pri", "lost the secondary before the guest "
				"was protected", 3000));
	again = wait_log_lines("pri", phrase, 2, 5000);
	print_message("after a secondary came and went: %d line(s)\n", again);
	assert_int_equal(again, 2);
}

/* A test name pattern (cmocka's filter, '*' allowed) runs just those. */
int main(int argc, char **argv)
{
#define T(fn)	cmocka_unit_test_setup_teardown(fn, pair_setup, pair_teardown)
	const struct CMUnitTest tests[] = {
		T(test_bad_verify_value),
		T(test_other_guest_refused),
		T(test_other_session_refused),
		T(test_stray_connections),
		T(test_connection_flood),
		T(test_link_lost_before_first_checkpoint),
		T(test_link_lost_mid_sync),
		T(test_link_lost_after_first_checkpoint_sent),
		T(test_records_before_hello),
		T(test_handshake_limits),
		T(test_link_timeouts),
		cmocka_unit_test(test_channel_needs_nodelay),
		T(test_connect_refusal_reported),
	};
#undef T

	if (pair_init("fault-link"))
		return 1;
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("fault-link", tests, NULL, NULL);
}
