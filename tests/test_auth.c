/*
 * test_auth.c - the authenticated replication link (checkpoint/auth.c,
 * channel.c, [security] of colo.conf, coloctl genkey).
 *
 * Key files: genkey's mode and no-overwrite, a key readable by others,
 * of the wrong size, not hex, missing or a directory, each refused with
 * its reason.
 *
 * Two channel ends in this process on one event base, over socketpairs:
 * the handshake, what the owner sent before it held and then delivered
 * tagged; a peer without the key (a plain HELLO first), with another key,
 * with a forged key id or a wrong proof, a silent one, a plain end given
 * AUTH_HELLO; and a man in the middle (relay below) that, after the
 * handshake, replays a record, flips one bit (its CRC fixed up, or not),
 * swaps two, drops one, strips a tag, or puts in a record of another
 * connection: each refused with its reason, no record after it reaching
 * the owner.
 *
 * The same on a real pair, and the daemons' start without a key:
 * test_auth_pair.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "auth.h"
#include "channel.h"
#include "colo_proto.h"
#include "fake_peer.h"
#include "log.h"
#include "pair_lib.h"

/* --- the log ---------------------------------------------------------------- */

static char logged[32768];

static void log_hook(enum log_level level, const char *line, void *opaque)
{
	size_t n = strlen(logged);

	(void)level;
	(void)opaque;
	snprintf(logged + n, sizeof(logged) - n, "%s\n", line);
}

static void expect_logged(const char *phrase)
{
	if (!strstr(logged, phrase))
		fail_msg("the log does not say '%s'; it says:\n%s", phrase,
			 logged);
}

/* --- key files ------------------------------------------------------------- */

static char key_dir[64];

static const char *key_path(const char *name)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s/%s", key_dir, name);
	return path;
}

static void write_file(const char *path, const void *data, size_t len,
		       mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static int keys_setup(void **state)
{
	(void)state;
	snprintf(key_dir, sizeof(key_dir), "/tmp/colo-auth-keys-%d",
		 (int)getpid());
	mkdir(key_dir, 0700);
	logged[0] = '\0';
	log_set_hook(log_hook, NULL);
	log_set_quiet(1);
	return 0;
}

static int keys_teardown(void **state)
{
	char cmd[128];

	(void)state;
	log_set_hook(NULL, NULL);
	log_set_quiet(0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", key_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* genkey's file: 0600, 64 hex digits and a newline, the same key read
 * back; never overwritten. */
static void test_key_generate(void **state)
{
	struct auth_key made, read, again;
	const char *path = key_path("psk");
	char text[80] = "";
	struct stat st;
	FILE *f;

	(void)state;
	umask(0);		/* the mode is 0600 whatever the umask */
	assert_int_equal(auth_key_generate(path, &made), 0);
	umask(022);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, AUTH_KEY_FILE_HEX + 1);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(text, sizeof(text), f));
	fclose(f);
	assert_int_equal(strspn(text, "0123456789abcdef"), AUTH_KEY_FILE_HEX);
	assert_int_equal(auth_key_load(path, &read), 0);
	assert_memory_equal(made.bytes, read.bytes, AUTH_KEY_LEN);
	assert_memory_equal(made.id, read.id, AUTH_KEY_ID_LEN);
	assert_string_equal(read.path, path);
	/* an existing file is never overwritten */
	assert_int_equal(auth_key_generate(path, NULL), -EEXIST);
	expect_logged("exists: refusing to overwrite a key");
	assert_int_equal(auth_key_load(path, &again), 0);
	assert_memory_equal(again.bytes, made.bytes, AUTH_KEY_LEN);
	/* two keys differ */
	assert_int_equal(auth_key_generate(key_path("psk2"), &again), 0);
	assert_memory_not_equal(again.bytes, made.bytes, AUTH_KEY_LEN);
}

/* A key group or others may read or write, one of the wrong size or
 * digits, a missing one and a directory: refused, saying why. */
static void test_key_refused(void **state)
{
	static const uint8_t raw[AUTH_KEY_LEN] = { 1, 2, 3 };
	const char *path = key_path("psk");
	char bad[AUTH_KEY_FILE_HEX + 1];
	struct auth_key k;

	(void)state;
	assert_int_equal(auth_key_generate(path, NULL), 0);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(auth_key_load(path, &k), -EPERM);
	expect_logged("has mode 0644: group or others may read or write it");
	expect_logged("chmod 600");
	assert_int_equal(chmod(path, 0660), 0);
	assert_int_equal(auth_key_load(path, &k), -EPERM);
	expect_logged("has mode 0660");
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(auth_key_load(path, &k), 0);

	write_file(key_path("short"), "0123456789", 10, 0600);
	assert_int_equal(auth_key_load(key_path("short"), &k), -EINVAL);
	expect_logged("is 10 bytes, not a key");
	memset(bad, 'a', sizeof(bad));
	write_file(key_path("long"), bad, sizeof(bad), 0600);	/* no newline */
	assert_int_equal(auth_key_load(key_path("long"), &k), -EINVAL);
	expect_logged("is 65 bytes, not a key");
	memset(bad, 'g', AUTH_KEY_FILE_HEX);
	bad[AUTH_KEY_FILE_HEX] = '\n';
	write_file(key_path("nothex"), bad, sizeof(bad), 0600);
	assert_int_equal(auth_key_load(key_path("nothex"), &k), -EINVAL);
	expect_logged("not a hex digit at offset 0");
	/* 32 raw bytes are a key too */
	write_file(key_path("raw"), raw, sizeof(raw), 0600);
	assert_int_equal(auth_key_load(key_path("raw"), &k), 0);
	assert_memory_equal(k.bytes, raw, sizeof(raw));

	assert_int_equal(auth_key_load(key_path("missing"), &k), -ENOENT);
	expect_logged("cannot open the key file");
	expect_logged("coloctl genkey");
	assert_int_equal(mkdir(key_path("dir"), 0700), 0);
	assert_int_equal(auth_key_load(key_path("dir"), &k), -EINVAL);
	expect_logged("is a directory, not a regular file");
}

/* --- two channel ends in this process ------------------------------------------- */

static struct event_base *base;
static struct auth_key key1, key2;	/* two different keys */

struct end {
	struct channel *ch;
	unsigned records;
	uint16_t types[16];
	uint8_t last[256];
	uint32_t last_len;
	int closed;
	char why[512];
};

static int on_record(struct channel *ch, uint16_t type, const uint8_t *payload,
		     uint32_t len, void *opaque)
{
	struct end *e = opaque;

	(void)ch;
	if (e->records < 16)
		e->types[e->records] = type;
	e->records++;
	e->last_len = len;
	memcpy(e->last, payload, len < sizeof(e->last) ? len : sizeof(e->last));
	return 0;
}

static void on_closed(struct channel *ch, const char *why, void *opaque)
{
	struct end *e = opaque;

	(void)ch;
	e->closed++;
	snprintf(e->why, sizeof(e->why), "%s", why);
}

static const struct channel_ops ops = {
	.record = on_record,
	.closed = on_closed,
};

static int channels_setup(void **state)
{
	keys_setup(state);
	base = event_base_new();
	if (!base || auth_key_generate(key_path("k1"), &key1) ||
	    auth_key_generate(key_path("k2"), &key2))
		return -1;
	return 0;
}

static int channels_teardown(void **state)
{
	event_base_free(base);
	return keys_teardown(state);
}

/* --- a man in the middle ----------------------------------------------------------- */

enum relay_mode {
	RELAY_PASS,
	RELAY_REPLAY,		/* the target record twice */
	RELAY_FLIP,		/* one bit of its payload flipped, CRC fixed */
	RELAY_FLIP_RAW,		/* the same, its CRC left wrong */
	RELAY_SWAP,		/* the target after the one behind it */
	RELAY_DROP,		/* the target left out */
	RELAY_STRIP,		/* the target's tag taken off (flags 0) */
	RELAY_SAVE,		/* the target kept in saved, passed on */
	RELAY_INJECT,		/* the target replaced by saved */
};

/*
 * Between an initiator (at fd[0]) and a responder (at fd[1]): whole
 * records go on both ways; the initiator's tagged records (after the
 * handshake) are counted from 0, and number target gets mode.
 */
struct relay {
	int fd[2];
	uint8_t buf[2][1 << 16];
	size_t have[2];
	enum relay_mode mode;
	unsigned target, tagged;
	uint8_t held[4096];	/* RELAY_SWAP's */
	size_t held_len;
};

static uint8_t saved[4096];	/* RELAY_SAVE's, for RELAY_INJECT */
static size_t saved_len;

static void out(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return;		/* the end went away */
		p += w;
		n -= (size_t)w;
	}
}

/* One whole record of the initiator's after the handshake, number i. */
static void relay_tagged(struct relay *r, uint8_t *rec, size_t n)
{
	int to = r->fd[1];
	unsigned i = r->tagged++;
	uint32_t len = get_be32(rec + 4);

	if (i == r->target + 1 && r->held_len) {	/* RELAY_SWAP */
		out(to, rec, n);
		out(to, r->held, r->held_len);
		r->held_len = 0;
		return;
	}
	if (i != r->target) {
		out(to, rec, n);
		return;
	}
	switch (r->mode) {
	case RELAY_REPLAY:
		out(to, rec, n);
		out(to, rec, n);
		return;
	case RELAY_FLIP:
	case RELAY_FLIP_RAW:
		assert_true(len > 0);
		rec[COLO_RECORD_HDR + len / 2] ^= 0x10;
		if (r->mode == RELAY_FLIP)
			put_be32(rec + 8, colo_record_crc(rec, rec + COLO_RECORD_HDR,
							  len));
		out(to, rec, n);
		return;
	case RELAY_SWAP:
		assert_true(n <= sizeof(r->held));
		memcpy(r->held, rec, n);
		r->held_len = n;
		return;
	case RELAY_DROP:
		return;
	case RELAY_STRIP:
		put_be16(rec + 2, 0);
		put_be32(rec + 8, colo_record_crc(rec, rec + COLO_RECORD_HDR, len));
		out(to, rec, n - COLO_TAG_LEN);
		return;
	case RELAY_SAVE:
		assert_true(n <= sizeof(saved));
		memcpy(saved, rec, n);
		saved_len = n;
		out(to, rec, n);
		return;
	case RELAY_INJECT:
		out(to, saved, saved_len);
		return;
	default:
		out(to, rec, n);
	}
}

/* What came on each side, on to the other, record by record. */
static void relay_pump(struct relay *r)
{
	for (int d = 0; d < 2; d++) {
		ssize_t got = recv(r->fd[d], r->buf[d] + r->have[d],
				   sizeof(r->buf[d]) - r->have[d], MSG_DONTWAIT);
		size_t off = 0;

		if (got > 0)
			r->have[d] += (size_t)got;
		while (r->have[d] - off >= COLO_RECORD_HDR) {
			uint8_t *rec = r->buf[d] + off;
			bool tag = get_be16(rec + 2) & COLO_FLAG_TAG;
			size_t n = COLO_RECORD_HDR + get_be32(rec + 4) +
				   (tag ? COLO_TAG_LEN : 0);

			assert_true(n <= sizeof(r->buf[d]));
			if (r->have[d] - off < n)
				break;
			if (d == 0 && tag)
				relay_tagged(r, rec, n);
			else
				out(r->fd[1 - d], rec, n);
			off += n;
		}
		memmove(r->buf[d], r->buf[d] + off, r->have[d] - off);
		r->have[d] -= off;
	}
}

/* Run the loop (and the relay) until cond() or ms pass. */
static void spin(struct relay *r, int ms, bool (*cond)(void *), void *arg)
{
	int64_t end = pair_now_ms() + ms;

	while (pair_now_ms() < end && !(cond && cond(arg))) {
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		if (r)
			relay_pump(r);
		usleep(200);
	}
}

static bool is_closed(void *arg)
{
	return ((struct end *)arg)->closed;
}

static void expect_closed(const struct end *e, const char *phrase)
{
	assert_int_equal(e->closed, 1);
	if (!strstr(e->why, phrase))
		fail_msg("closed because '%s', expected '%s'", e->why, phrase);
}

/* An initiator i and a responder r with keys ki and kr, directly
 * connected (relay NULL) or through relay. */
static void connect_ends(struct end *i, const struct auth_key *ki,
			 struct end *r, const struct auth_key *kr,
			 struct relay *relay)
{
	int a[2], b[2];

	memset(i, 0, sizeof(*i));
	memset(r, 0, sizeof(*r));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	if (relay) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
		relay->fd[0] = a[1];
		relay->fd[1] = b[0];
	} else {
		b[1] = a[1];
	}
	logged[0] = '\0';
	/* each channel is named after the peer it talks to */
	i->ch = channel_new(base, a[0], &ops, i, "the-responder");
	r->ch = channel_new(base, b[1], &ops, r, "the-initiator");
	assert_non_null(i->ch);
	assert_non_null(r->ch);
	assert_int_equal(channel_auth(i->ch, ki, AUTH_INITIATOR, 2000), 0);
	assert_int_equal(channel_auth(r->ch, kr, AUTH_RESPONDER, 2000), 0);
}

static void free_ends(struct end *i, struct end *r, struct relay *relay)
{
	channel_free(i->ch);
	channel_free(r->ch);
	if (relay) {
		close(relay->fd[0]);
		close(relay->fd[1]);
	}
}

static void heartbeat(struct end *e, uint64_t v)
{
	uint8_t b[COLO_HEARTBEAT_LEN];

	put_be64(b, v);
	assert_int_equal(channel_send(e->ch, COLO_HEARTBEAT, b, sizeof(b)), 0);
}

static bool three(void *arg)
{
	struct end *e = arg;

	return e->records >= 3 || e->closed;
}

static bool one(void *arg)
{
	struct end *e = arg;

	return e->records >= 1 || e->closed;
}

static bool five(void *arg)
{
	struct end *e = arg;

	return e->records >= 5 || e->closed;
}

/* The handshake; what was sent before it arrives after it, tagged, as
 * everything after it, both ways; the byte counts include the tags. */
static void test_channel_authenticated(void **state)
{
	struct relay relay = { .mode = RELAY_PASS };
	struct end i, r;

	(void)state;
	connect_ends(&i, &key1, &r, &key1, &relay);
	heartbeat(&i, 1);			/* held: not authenticated yet */
	assert_true(channel_auth_pending(i.ch));
	assert_false(channel_authenticated(i.ch));
	heartbeat(&i, 2);
	spin(&relay, 3000, three, &r);
	assert_int_equal(r.records, 2);
	assert_true(channel_authenticated(i.ch));
	assert_true(channel_authenticated(r.ch));
	assert_int_equal(relay.tagged, 2);	/* both went tagged */
	heartbeat(&i, 3);
	spin(&relay, 3000, three, &r);
	assert_int_equal(r.records, 3);
	assert_int_equal(get_be64(r.last), 3);
	heartbeat(&r, 9);			/* and the other way */
	spin(&relay, 3000, three, &i);
	assert_int_equal(i.records, 1);
	assert_int_equal(get_be64(i.last), 9);
	assert_false(i.closed || r.closed);
	/* 3 records of 8 bytes, each with its 16-byte tag, and the
	 * handshake's two records from the initiator */
	assert_int_equal(channel_bytes_out(i.ch),
			 3 * (COLO_RECORD_HDR + 8 + COLO_TAG_LEN) +
			 2 * COLO_RECORD_HDR + AUTH_HELLO_LEN + AUTH_PROOF_LEN);
	assert_int_equal(channel_bytes_in(r.ch), channel_bytes_out(i.ch));
	expect_logged("the connection with the-initiator is authenticated");
	free_ends(&i, &r, &relay);
}

/* Another key: the responder refuses the AUTH_HELLO (the key ids
 * differ); nothing held reaches anyone. */
static void test_channel_other_key(void **state)
{
	char ids[64], id1[17], id2[17];
	struct end i, r;

	(void)state;
	logged[0] = '\0';
	connect_ends(&i, &key2, &r, &key1, NULL);
	heartbeat(&i, 1);
	spin(NULL, 3000, is_closed, &r);
	spin(NULL, 1000, is_closed, &i);
	expect_closed(&r, "has another key");
	auth_key_id_hex(&key1, id1);
	auth_key_id_hex(&key2, id2);
	snprintf(ids, sizeof(ids), "key id %s; ours", id2);
	expect_closed(&r, ids);
	expect_closed(&r, id1);
	expect_closed(&r, "check both nodes use the same psk_file");
	expect_logged("has another key");
	expect_closed(&i, "closed the connection during the authentication "
		      "handshake (we wait for its AUTH_CHALLENGE)");
	assert_int_equal(r.records, 0);
	assert_int_equal(i.records, 0);
	free_ends(&i, &r, NULL);
}

/* The same key id on another key (a forger who saw the id): each end's
 * proof check refuses the other. */
static void test_channel_forged_key_id(void **state)
{
	struct auth_key forged = key2;
	struct end i, r;

	(void)state;
	memcpy(forged.id, key1.id, AUTH_KEY_ID_LEN);
	/* the initiator has it: the responder's proof is wrong to it */
	connect_ends(&i, &forged, &r, &key1, NULL);
	heartbeat(&i, 1);
	spin(NULL, 3000, is_closed, &i);
	expect_closed(&i, "does not know the key in");
	expect_closed(&i, "(its proof does not match)");
	assert_int_equal(r.records + i.records, 0);
	free_ends(&i, &r, NULL);
	/* the responder has it: its own proof is wrong to the initiator */
	connect_ends(&i, &key1, &r, &forged, NULL);
	spin(NULL, 3000, is_closed, &i);
	expect_closed(&i, "(its proof does not match)");
	assert_int_equal(r.records + i.records, 0);
	free_ends(&i, &r, NULL);
}

/* A raw peer at fd: one untagged record. */
static void raw_record(int fd, uint16_t type, const uint8_t *p, uint32_t len)
{
	uint8_t buf[COLO_RECORD_HDR + 256];
	size_t n = pair_record_bytes(NULL, type, p, len, buf);

	assert_true(n > 0);
	assert_int_equal(pair_send_bytes(fd, buf, n), 0);
}

/* A responder and a raw peer at *fd. */
static void raw_to_responder(struct end *r, const struct auth_key *k, int *fd,
			     unsigned timeout_ms)
{
	int sv[2];

	memset(r, 0, sizeof(*r));
	logged[0] = '\0';
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	r->ch = channel_new(base, sv[1], &ops, r, "the-peer");
	assert_non_null(r->ch);
	assert_int_equal(channel_auth(r->ch, k, AUTH_RESPONDER, timeout_ms), 0);
	*fd = sv[0];
}

/* A peer without the key: HELLO first (as an insecure primary sends),
 * a tagged record, nothing at all, a wrong proof: refused, nothing
 * handed on. And AUTH_HELLO to an end without a key. */
static void test_channel_unauthenticated(void **state)
{
	struct colo_hello h = { COLO_PROTO_MAGIC, COLO_PROTO_VERSION, 4096,
				COLO_ROLE_PRIMARY, 0, 0, 0 };
	struct auth_hello ah = { .version = AUTH_VERSION };
	uint8_t b[COLO_HELLO_LEN], ab[AUTH_HELLO_LEN], buf[256];
	struct auth_proof p;
	struct end r;
	uint16_t type;
	uint32_t len;
	int fd;

	(void)state;
	colo_hello_encode(&h, b);
	raw_to_responder(&r, &key1, &fd, 2000);
	raw_record(fd, COLO_HELLO, b, sizeof(b));
	spin(NULL, 3000, is_closed, &r);
	expect_closed(&r, "the peer at the-peer sent HELLO before "
		      "authenticating, expected AUTH_HELLO");
	expect_closed(&r, "has no key ([security] insecure = yes)");
	assert_int_equal(r.records, 0);
	close(fd);
	channel_free(r.ch);

	/* a tagged record before any handshake */
	raw_to_responder(&r, &key1, &fd, 2000);
	memset(buf, 0, sizeof(buf));
	put_be16(buf, COLO_HEARTBEAT);
	put_be16(buf + 2, COLO_FLAG_TAG);
	put_be32(buf + 4, 8);
	assert_int_equal(pair_send_bytes(fd, buf, COLO_RECORD_HDR + 8 +
					 COLO_TAG_LEN), 0);
	spin(NULL, 3000, is_closed, &r);
	expect_closed(&r, "bad record header (type 10, flags 0x1)");
	assert_int_equal(r.records, 0);
	close(fd);
	channel_free(r.ch);

	/* silent: the handshake's deadline */
	raw_to_responder(&r, &key1, &fd, 150);
	spin(NULL, 3000, is_closed, &r);
	expect_closed(&r, "did not complete the authentication handshake "
		      "within 150 ms (we wait for its AUTH_HELLO)");
	close(fd);
	channel_free(r.ch);

	/* the right key id, then a proof it cannot make */
	raw_to_responder(&r, &key1, &fd, 2000);
	memcpy(ah.key_id, key1.id, AUTH_KEY_ID_LEN);
	memset(ah.nonce, 0x5a, sizeof(ah.nonce));
	auth_hello_encode(&ah, ab);
	raw_record(fd, COLO_AUTH_HELLO, ab, sizeof(ab));
	spin(NULL, 200, NULL, NULL);
	assert_int_equal(pair_read_plain(fd, &type, buf, sizeof(buf), &len,
					 1000), 0);
	assert_int_equal(type, COLO_AUTH_CHALLENGE);
	memset(p.proof, 0x33, sizeof(p.proof));
	auth_proof_encode(&p, buf);
	raw_record(fd, COLO_AUTH_PROOF, buf, AUTH_PROOF_LEN);
	spin(NULL, 3000, is_closed, &r);
	expect_closed(&r, "does not know the key in");
	expect_closed(&r, "(its proof does not match)");
	assert_int_equal(r.records, 0);
	close(fd);
	channel_free(r.ch);

	/* an end without a key (insecure) given AUTH_HELLO */
	raw_to_responder(&r, NULL, &fd, 0);
	raw_record(fd, COLO_AUTH_HELLO, ab, sizeof(ab));
	spin(NULL, 3000, is_closed, &r);
	expect_closed(&r, "authenticates the link (it sent AUTH_HELLO), but "
		      "this daemon has no key");
	assert_int_equal(r.records, 0);
	close(fd);
	channel_free(r.ch);
}

/*
 * After the handshake, the initiator sends heartbeats 1..4 through the
 * relay, which does mode to the one numbered target (the held one the
 * handshake let out is number 0): the responder must take exactly
 * want records and then close, saying phrase.
 */
static void tamper(enum relay_mode mode, unsigned target, unsigned want,
		   const char *phrase)
{
	struct relay relay = { .mode = mode, .target = target };
	struct end i, r;

	connect_ends(&i, &key1, &r, &key1, &relay);
	heartbeat(&i, 0);
	spin(&relay, 3000, one, &r);
	assert_int_equal(r.records, 1);
	for (uint64_t v = 1; v <= 4; v++)
		heartbeat(&i, v);
	spin(&relay, 3000, five, &r);
	spin(&relay, 50, is_closed, &r);	/* a refusal after the fifth */
	if (!phrase) {
		assert_int_equal(r.closed, 0);
	} else {
		expect_closed(&r, phrase);
		expect_logged(phrase);
	}
	assert_int_equal(r.records, want);
	for (unsigned k = 0; k < want && k < 16; k++)
		assert_int_equal(r.types[k], COLO_HEARTBEAT);
	free_ends(&i, &r, &relay);
}

static void test_mitm_replay(void **state)
{
	(void)state;
	/* record 2 goes in, then again as record 3: refused */
	tamper(RELAY_REPLAY, 2, 3, "record 3 (HEARTBEAT, 8 bytes) from the "
	       "peer at the-initiator fails authentication: its tag does not "
	       "match (forged, altered, dropped, reordered or replayed)");
}

static void test_mitm_flipped_bit(void **state)
{
	(void)state;
	/* its CRC fixed up: only the tag finds it */
	tamper(RELAY_FLIP, 2, 2, "record 2 (HEARTBEAT, 8 bytes) from the peer "
	       "at the-initiator fails authentication");
	/* as a corrupt line would do it: the CRC finds it first */
	tamper(RELAY_FLIP_RAW, 2, 2, "(corrupt stream)");
}

static void test_mitm_reorder_drop_strip(void **state)
{
	(void)state;
	tamper(RELAY_SWAP, 1, 1, "record 1 (HEARTBEAT, 8 bytes) from the peer "
	       "at the-initiator fails authentication");
	tamper(RELAY_DROP, 1, 1, "record 1 (HEARTBEAT, 8 bytes) from the peer "
	       "at the-initiator fails authentication");
	tamper(RELAY_STRIP, 3, 3, "bad record header (type 10, flags 0, "
	       "expected flags 0x1 on an authenticated link)");
	/* nothing done: all five taken, the link up (the check can fail) */
	tamper(RELAY_PASS, 99, 5, NULL);
}

/* A record of one connection, at the same number on another with the
 * same key: the session keys differ, refused. */
static void test_mitm_other_connection(void **state)
{
	(void)state;
	tamper(RELAY_SAVE, 2, 5, NULL);
	assert_true(saved_len > 0);
	tamper(RELAY_INJECT, 2, 2, "record 2 (HEARTBEAT, 8 bytes) from the peer "
	       "at the-initiator fails authentication");
}

int main(void)
{
	const struct CMUnitTest keys[] = {
		cmocka_unit_test_setup_teardown(test_key_generate, keys_setup,
						keys_teardown),
		cmocka_unit_test_setup_teardown(test_key_refused, keys_setup,
						keys_teardown),
	};
	const struct CMUnitTest channels[] = {
		cmocka_unit_test(test_channel_authenticated),
		cmocka_unit_test(test_channel_other_key),
		cmocka_unit_test(test_channel_forged_key_id),
		cmocka_unit_test(test_channel_unauthenticated),
		cmocka_unit_test(test_mitm_replay),
		cmocka_unit_test(test_mitm_flipped_bit),
		cmocka_unit_test(test_mitm_reorder_drop_strip),
		cmocka_unit_test(test_mitm_other_connection),
	};
	int fail = 0;

	fail |= cmocka_run_group_tests_name("auth keys", keys, NULL, NULL);
	fail |= cmocka_run_group_tests_name("auth channels", channels,
					    channels_setup, channels_teardown);
	return fail ? 1 : 0;
}
