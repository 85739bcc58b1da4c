/*
 * fake_peer.c - scripted fake peers and raw records for tests: a fake
 * primary or secondary that speaks the checkpoint stream (colo_proto.h)
 * to one real daemon, step by step.
 *
 * When the pair has a key (pair_key()), every connection made here
 * first runs the authentication handshake (auth.h) as the daemon's
 * peer would, and every record after it carries its tag, so the tests
 * that script a peer reach the daemon's protocol as before;
 * pair_connect_plain() is the one that never authenticates.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>


#include "auth.h"
#include "fake_peer.h"
#include "pair_lib.h"

#define MAX_FAKES	4
#define MAX_RAW		8	/* raw connections authenticated at once */
#define RECORD_TAIL_MS	5000	/* a record begun must end within this */
#define HANDSHAKE_MS	5000	/* for the daemon's side of the handshake */

static struct fake_peer fakes[MAX_FAKES];

/* The sessions of pair_connect_secondary()'s connections, by fd. */
static struct raw_auth {
	int fd;				/* -1: a free slot */
	struct auth_session *a;
} raw[MAX_RAW] = { [0 ... MAX_RAW - 1] = { -1, NULL } };

static struct auth_session *raw_session(int fd)
{
	for (int i = 0; i < MAX_RAW; i++)
		if (raw[i].fd == fd && raw[i].a)
			return raw[i].a;
	return NULL;
}

static void raw_forget(int fd)
{
	for (int i = 0; i < MAX_RAW; i++)
		if (raw[i].fd == fd) {
			auth_session_free(raw[i].a);
			raw[i] = (struct raw_auth){ -1, NULL };
		}
}

void fake_close_all(void)
{
	for (int i = 0; i < MAX_FAKES; i++)
		if (fakes[i].used)
			fake_close(&fakes[i]);
	for (int i = 0; i < MAX_RAW; i++)
		if (raw[i].fd >= 0)
			raw_forget(raw[i].fd);
}

/* --- records ----------------------------------------------------------------- */

static void record_header(uint8_t hdr[COLO_RECORD_HDR], uint16_t type,
			  const uint8_t *payload, uint32_t len)
{
	struct iovec iov = { (void *)payload, len };

	colo_record_header(hdr, type, &iov, 1);
}

/* All of iov on fd; never SIGPIPE (the daemon may have closed it). */
static int send_all(int fd, struct iovec *iov, int n)
{
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };

	while (mh.msg_iovlen) {
		ssize_t done = sendmsg(fd, &mh, MSG_NOSIGNAL);

		if (done < 0 && errno == EINTR)
			continue;
		if (done < 0) {
			pair_set_why("send: %s", strerror(errno));
			return -1;
		}
		while (mh.msg_iovlen && (size_t)done >= mh.msg_iov->iov_len) {
			done -= (ssize_t)mh.msg_iov->iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen) {
			mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + done;
			mh.msg_iov->iov_len -= (size_t)done;
		}
	}
	return 0;
}

static int connect_port(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int one = 1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	for (int i = 0; i < 100; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			break;
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			return fd;
		}
		close(fd);
		pair_sleep_ms(50);
	}
	pair_set_why("cannot connect to port %d: %s", port, strerror(errno));
	return -1;
}

/* n bytes by the deadline: 0, -EPIPE (closed), -ETIMEDOUT. */
static int read_full(int fd, uint8_t *buf, size_t n, int64_t deadline);

static int read_plain(int fd, uint16_t *type, uint8_t *payload, uint32_t max,
		      uint32_t *len, int64_t deadline)
{
	uint8_t hdr[COLO_RECORD_HDR];
	int ret = read_full(fd, hdr, sizeof(hdr), deadline);

	if (ret) {
		pair_set_why("the daemon's handshake record did not come: %s",
			     ret == -EPIPE ? "it closed the connection" :
			     "timed out");
		return -1;
	}
	*type = get_be16(hdr);
	*len = get_be32(hdr + 4);
	if (get_be16(hdr + 2) || *len > max) {
		pair_set_why("a bad handshake record from the daemon (type %u, "
			     "flags %#x, %u bytes)", *type, get_be16(hdr + 2),
			     *len);
		return -1;
	}
	if (read_full(fd, payload, *len, deadline) ||
	    colo_record_crc(hdr, payload, *len) != get_be32(hdr + 8)) {
		pair_set_why("a handshake record from the daemon cut short or "
			     "with a bad crc");
		return -1;
	}
	return 0;
}

int pair_read_plain(int fd, uint16_t *type, uint8_t *payload, uint32_t max,
		    uint32_t *len, int timeout_ms)
{
	return read_plain(fd, type, payload, max, len, pair_now_ms() + timeout_ms);
}

static int send_plain(int fd, const struct auth_msg *m)
{
	uint8_t hdr[COLO_RECORD_HDR];
	struct iovec iov[2] = { { hdr, sizeof(hdr) },
				{ (void *)m->payload, m->len } };

	record_header(hdr, m->type, m->payload, m->len);
	return send_all(fd, iov, 2);
}

struct auth_session *pair_handshake(int fd, enum auth_role role,
				    const struct auth_key *key)
{
	struct auth_session *a = key || pair_key() ?
		auth_session_new(key ? key : pair_key(), role, "the daemon") :
		NULL;
	int64_t deadline = pair_now_ms() + HANDSHAKE_MS;
	struct auth_msg m, reply;
	uint8_t payload[AUTH_MSG_MAX];
	char why[480];
	uint32_t len;
	uint16_t type;

	if (!a || auth_begin(a, &m)) {
		pair_set_why("cannot begin the handshake");
		goto fail;
	}
	if (m.type && send_plain(fd, &m))
		goto fail;
	while (!auth_done(a)) {
		if (read_plain(fd, &type, payload, sizeof(payload), &len,
			       deadline))
			goto fail;
		if (auth_step(a, type, payload, len, &reply, why, sizeof(why))) {
			pair_set_why("refused the daemon's handshake: %s", why);
			goto fail;
		}
		if (reply.type && send_plain(fd, &reply))
			goto fail;
	}
	return a;
fail:
	auth_session_free(a);
	return NULL;
}

int pair_connect_plain(void)
{
	return connect_port(pair_port);
}

int pair_connect_secondary(void)
{
	int fd = connect_port(pair_port);
	struct auth_session *a;

	if (fd < 0 || !pair_key())
		return fd;
	a = pair_handshake(fd, AUTH_INITIATOR, NULL);
	if (!a)
		return fd;	/* refused (closed): the test sees that */
	for (int i = 0; i < MAX_RAW; i++)
		if (raw[i].fd < 0) {
			raw[i] = (struct raw_auth){ fd, a };
			return fd;
		}
	pair_set_why("more than %d raw connections authenticated", MAX_RAW);
	auth_session_free(a);
	close(fd);
	return -1;
}

/*
 * The header (and the tag when a is an authenticated session) of a
 * record with this payload, into hdr and tag: 0, or -1 (pair_why).
 */
static int seal_record(struct auth_session *a, uint16_t type,
		       const uint8_t *payload, uint32_t len,
		       uint8_t hdr[COLO_RECORD_HDR], uint8_t tag[COLO_TAG_LEN])
{
	struct iovec iov = { (void *)payload, len };

	colo_record_header_flags(hdr, type, a ? COLO_FLAG_TAG : 0, &iov,
				 len ? 1 : 0);
	if (a && auth_seal(a, hdr, &iov, len ? 1 : 0, tag)) {
		pair_set_why("cannot tag a %s record", colo_record_name(type));
		return -1;
	}
	return 0;
}

size_t pair_record_bytes(struct auth_session *a, uint16_t type,
			 const uint8_t *payload, uint32_t len, uint8_t *buf)
{
	if (seal_record(a, type, payload, len, buf, buf + COLO_RECORD_HDR + len))
		return 0;
	memcpy(buf + COLO_RECORD_HDR, payload, len);
	return COLO_RECORD_HDR + len + (a ? COLO_TAG_LEN : 0);
}

int pair_send_bytes(int fd, const uint8_t *buf, size_t len)
{
	struct iovec iov = { (void *)buf, len };

	return send_all(fd, &iov, 1);
}

int pair_send_record(int fd, uint16_t type, const uint8_t *payload,
		     uint32_t len, int flip_bit, uint32_t cut)
{
	static uint8_t buf[COLO_RECORD_HDR + 8192 + COLO_TAG_LEN];
	struct auth_session *a = raw_session(fd);
	size_t n = COLO_RECORD_HDR + len + (a ? COLO_TAG_LEN : 0);
	struct iovec iov;

	if (len > 8192 || cut > n) {
		pair_set_why("a raw record of %u bytes, cut by %u, does not fit", len, cut);
		return -1;
	}
	if (!pair_record_bytes(a, type, payload, len, buf))
		return -1;
	if (flip_bit >= 0)
		buf[COLO_RECORD_HDR + flip_bit / 8] ^= (uint8_t)(1 << (flip_bit % 8));
	iov = (struct iovec){ buf, n - cut };
	return send_all(fd, &iov, 1);
}

int pair_hello(int fd, uint32_t version, uint32_t guest_hash)
{
	struct colo_hello h = { COLO_PROTO_MAGIC, version,
				(uint32_t)sysconf(_SC_PAGESIZE),
				COLO_ROLE_PRIMARY, guest_hash, 0, 0 };
	uint8_t b[COLO_HELLO_LEN];

	colo_hello_encode(&h, b);
	return pair_send_record(fd, COLO_HELLO, b, sizeof(b), -1, 0);
}

int pair_expect_dropped(int fd, const char *why_phrase)
{
	char buf[256];

	for (int i = 0; i < 100; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN))
			break;
		pair_sleep_ms(20);
	}
	raw_forget(fd);
	close(fd);
	return pair_log_has("sec", why_phrase);
}

/* --- fake peers --------------------------------------------------------------- */

static struct fake_peer *fake_new(void)
{
	for (int i = 0; i < MAX_FAKES; i++) {
		struct fake_peer *f = &fakes[i];

		if (f->used)
			continue;
		memset(f, 0, sizeof(*f));
		f->payload = malloc(COLO_RECORD_MAX);
		if (!f->payload) {
			pair_set_why("out of memory for a fake peer");
			return NULL;
		}
		f->used = true;
		f->fd = f->listen_fd = -1;
		return f;
	}
	pair_set_why("more than %d fake peers at once", MAX_FAKES);
	return NULL;
}

void fake_close(struct fake_peer *f)
{
	if (!f || !f->used)
		return;
	if (f->fd >= 0)
		close(f->fd);
	if (f->listen_fd >= 0)
		close(f->listen_fd);
	auth_session_free(f->auth);
	free(f->payload);
	memset(f, 0, sizeof(*f));
}

struct fake_peer *fake_secondary(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct fake_peer *f = fake_new();
	int one = 1;

	if (!f)
		return NULL;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	f->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->listen_fd < 0 ||
	    setsockopt(f->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(f->listen_fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    listen(f->listen_fd, 4)) {
		pair_set_why("a fake secondary cannot listen on port %d: %s", port,
		    strerror(errno));
		fake_close(f);
		return NULL;
	}
	return f;
}

int fake_accept(struct fake_peer *f, int timeout_ms)
{
	struct pollfd pfd = { .fd = f->listen_fd, .events = POLLIN };
	int one = 1;

	if (poll(&pfd, 1, timeout_ms) <= 0) {
		pair_set_why("no connection to the fake secondary within %d ms",
		    timeout_ms);
		return -1;
	}
	f->fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (f->fd < 0) {
		pair_set_why("accept: %s", strerror(errno));
		return -1;
	}
	setsockopt(f->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	close(f->listen_fd);
	f->listen_fd = -1;
	if (pair_key() &&
	    !(f->auth = pair_handshake(f->fd, AUTH_RESPONDER, NULL)))
		return -1;
	return 0;
}

struct fake_peer *fake_primary(int port)
{
	struct fake_peer *f = fake_new();

	if (!f)
		return NULL;
	f->fd = connect_port(port);
	if (f->fd < 0) {
		fake_close(f);
		return NULL;
	}
	/* a daemon that refuses the handshake (closes) leaves the fake
	 * unauthenticated, its connection closed: the test sees that */
	if (pair_key())
		f->auth = pair_handshake(f->fd, AUTH_INITIATOR, NULL);
	return f;
}

int fake_send(struct fake_peer *f, uint16_t type, const void *payload,
	      uint32_t len)
{
	uint8_t hdr[COLO_RECORD_HDR], tag[COLO_TAG_LEN];
	struct iovec iov[3] = { { hdr, sizeof(hdr) }, { (void *)payload, len },
				{ tag, f->auth ? sizeof(tag) : 0 } };

	if (seal_record(f->auth, type, payload, len, hdr, tag))
		return -1;
	if (send_all(f->fd, iov, 3)) {
		char what[sizeof(pair_why)];

		memcpy(what, pair_why, sizeof(what));
		pair_set_why("sending %s: %s", colo_record_name(type), what);
		return -1;
	}
	return 0;
}

int fake_send_id(struct fake_peer *f, uint16_t type, uint64_t id)
{
	uint8_t b[COLO_ID_LEN];

	put_be64(b, id);
	return fake_send(f, type, b, sizeof(b));
}

int fake_send_hello(struct fake_peer *f, uint32_t role, uint32_t guest_hash)
{
	struct colo_hello h = { COLO_PROTO_MAGIC, COLO_PROTO_VERSION,
				(uint32_t)sysconf(_SC_PAGESIZE), role,
				guest_hash, 0, 0 };
	uint8_t b[COLO_HELLO_LEN];

	if (role == COLO_ROLE_SECONDARY)
		h.session = f->session;		/* the primary's, echoed */
	colo_hello_encode(&h, b);
	return fake_send(f, COLO_HELLO, b, sizeof(b));
}

static int read_full(int fd, uint8_t *buf, size_t n, int64_t deadline)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - pair_now_ms();
		ssize_t r;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		r = recv(fd, buf + got, n - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -EPIPE;
		got += (size_t)r;
	}
	return 0;
}

int fake_read(struct fake_peer *f, int timeout_ms)
{
	struct pollfd pfd = { .fd = f->fd, .events = POLLIN };
	uint8_t hdr[COLO_RECORD_HDR], tag[COLO_TAG_LEN];
	int64_t deadline;
	uint32_t len;
	int ret;

	if (f->fd < 0)
		return -EPIPE;
	if (poll(&pfd, 1, timeout_ms) <= 0)
		return 0;
	deadline = pair_now_ms() + RECORD_TAIL_MS;
	ret = read_full(f->fd, hdr, sizeof(hdr), deadline);
	if (ret)
		return ret == -ETIMEDOUT ? -EPROTO : ret;
	len = get_be32(hdr + 4);
	if (get_be16(hdr) == 0 || get_be16(hdr) > COLO_RECORD_TYPE_MAX ||
	    get_be16(hdr + 2) != (f->auth ? COLO_FLAG_TAG : 0) ||
	    len > COLO_RECORD_MAX)
		return -EPROTO;
	ret = read_full(f->fd, f->payload, len, deadline);
	if (!ret && f->auth)
		ret = read_full(f->fd, tag, sizeof(tag), deadline);
	if (ret)
		return ret == -ETIMEDOUT ? -EPROTO : ret;
	if (colo_record_crc(hdr, f->payload, len) != get_be32(hdr + 8) ||
	    (f->auth && auth_open(f->auth, hdr, f->payload, len, tag)))
		return -EPROTO;
	f->type = get_be16(hdr);
	f->len = len;
	f->records++;
	if (f->type == COLO_HELLO && len == COLO_HELLO_LEN)
		f->session = get_be64(f->payload + 24);
	return 1;
}

static void fake_heartbeat(struct fake_peer *f)
{
	int64_t now = pair_now_ms();
	uint8_t b[COLO_HEARTBEAT_LEN];

	if (now < f->next_hb_ms)
		return;
	put_be64(b, (uint64_t)now);
	fake_send(f, COLO_HEARTBEAT, b, sizeof(b));
	f->next_hb_ms = now + FAKE_HEARTBEAT_MS;
}

/* Read records for up to ms, heartbeats going out; stop at type (0 for
 * none). 1 at type, 0 at the end of ms, negative as fake_read. */
static int fake_loop(struct fake_peer *f, uint16_t type, int ms)
{
	int64_t end = pair_now_ms() + ms;

	for (;;) {
		int64_t left = end - pair_now_ms();
		int ret;

		if (left <= 0)
			return 0;
		fake_heartbeat(f);
		ret = fake_read(f, left < FAKE_HEARTBEAT_MS / 5 ? (int)left :
				   FAKE_HEARTBEAT_MS / 5);
		if (ret < 0)
			return ret;
		if (ret == 1 && type && f->type == type)
			return 1;
	}
}

int fake_until(struct fake_peer *f, uint16_t type, int timeout_ms)
{
	int ret = fake_loop(f, type, timeout_ms);

	if (ret == 1)
		return 0;
	pair_set_why("the fake peer waited for %s: %s (%llu records read, the last "
	    "%s)", colo_record_name(type), ret == 0 ? "none came in time" :
	    ret == -EPIPE ? "the daemon closed the connection" :
	    "a bad record came", (unsigned long long)f->records,
	    f->records ? colo_record_name(f->type) : "none");
	return -1;
}

int fake_pump(struct fake_peer *f, int ms)
{
	int ret = fake_loop(f, 0, ms);

	if (ret < 0)
		pair_set_why("the fake peer's connection %s", ret == -EPIPE ? "closed" :
		    "got a bad record");
	return ret;
}

uint64_t fake_id(const struct fake_peer *f)
{
	return f->len >= COLO_ID_LEN ? get_be64(f->payload) : 0;
}
