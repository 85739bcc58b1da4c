/*
 * fake_resp.c - a scripted fake Redis for client tests (fake_resp.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_resp.h"

#define FAKE_ARGS	3	/* SET key value */



/* The fake's replies to one read's requests, sent in one go as Redis
 * does (one send per reply would meet Nagle and delayed ACKs). */
struct fake_out {
	char *buf;
	size_t len, cap;
};

static void fake_put(struct fake_out *o, const void *p, size_t len)
{
	while (o->cap - o->len < len) {
		o->cap = o->cap ? o->cap * 2 : 1 << 16;
		o->buf = realloc(o->buf, o->cap);
		if (!o->buf)
			_exit(1);
	}
	memcpy(o->buf + o->len, p, len);
	o->len += len;
}

static void fake_flush(int fd, struct fake_out *o)
{
	for (size_t off = 0; off < o->len;) {
		ssize_t n = send(fd, o->buf + off, o->len - off, MSG_NOSIGNAL);

		if (n <= 0)
			_exit(0);
		off += (size_t)n;
	}
	o->len = 0;
}

/* "<c>N\r\n" at in[*pos..len): 1 with N in *v, 0 incomplete, -1 bad. */
static int fake_number(const char *in, size_t len, size_t *pos, char c, long *v)
{
	const char *eol;
	char *end;

	if (*pos >= len)
		return 0;
	if (in[*pos] != c)
		return -1;
	eol = memmem(in + *pos, len - *pos, "\r\n", 2);
	if (!eol)
		return len - *pos > 32 ? -1 : 0;
	*v = strtol(in + *pos + 1, &end, 10);	/* stops at the '\r' */
	if (end != eol || *v < 0 || *v > (1 << 24))
		return -1;
	*pos = (size_t)(eol - in) + 2;
	return 1;
}

/* One request (an array of bulks) at in[0..len): its size, its words in
 * arg/arglen; 0 while incomplete, -1 when malformed. */
static long fake_request(const char *in, size_t len, const char **arg,
			 size_t *arglen, long *argc)
{
	size_t pos = 0;
	int ret = fake_number(in, len, &pos, '*', argc);

	if (ret <= 0)
		return ret;
	if (*argc < 1 || *argc > FAKE_ARGS)
		return -1;
	for (long i = 0; i < *argc; i++) {
		long n;

		ret = fake_number(in, len, &pos, '$', &n);
		if (ret <= 0)
			return ret;
		if (len - pos < (size_t)n + 2)
			return 0;
		arg[i] = in + pos;
		arglen[i] = (size_t)n;
		pos += (size_t)n + 2;
	}
	return (long)pos;
}

static uint64_t key_seq(const char *key, size_t len)
{
	const char *colon = memrchr(key, ':', len);

	return colon ? strtoull(colon + 1, NULL, 10) : 0;	/* '\r' ends it */
}

/* Room in vals for seq. */
static char **fake_vals(char **vals, size_t *nvals, uint64_t seq)
{
	size_t m = *nvals ? *nvals : 1024;

	if (seq < *nvals)
		return vals;
	while (m <= seq)
		m *= 2;
	vals = realloc(vals, m * sizeof(*vals));
	if (!vals)
		_exit(1);
	memset(vals + *nvals, 0, (m - *nvals) * sizeof(*vals));
	*nvals = m;
	return vals;
}

/* The fake's one connection, as the script says. */
static __attribute__((noreturn)) void fake_serve(int lfd, const struct fake_script *s)
{
	size_t len = 0, cap = 1 << 16, nvals = 0;
	char *in = malloc(cap), **vals = NULL;
	struct fake_out o = { NULL, 0, 0 };
	uint64_t sets = 0;
	int fd = accept(lfd, NULL, NULL);

	if (fd < 0 || !in)
		_exit(1);
	for (;;) {
		const char *arg[FAKE_ARGS];
		size_t arglen[FAKE_ARGS], done = 0;
		long size, argc;
		ssize_t n;

		if (len == cap && !(in = realloc(in, cap *= 2)))
			_exit(1);
		n = recv(fd, in + len, cap - len, 0);
		if (n <= 0)
			_exit(0);
		len += (size_t)n;
		while ((size = fake_request(in + done, len - done, arg, arglen, &argc)) > 0) {
			uint64_t seq = argc > 1 ? key_seq(arg[1], arglen[1]) : 0;
			char head[32];
			char *v;

			done += (size_t)size;
			if (argc == 2 && arglen[0] == 3 && !memcmp(arg[0], "GET", 3)) {
				v = seq < nvals ? vals[seq] : NULL;
				if (!v || seq == s->lose) {
					fake_put(&o, "$-1\r\n", 5);
					continue;
				}
				if (seq == s->alter)
					v[strlen(v) - 1] ^= 1;	/* printable still */
				snprintf(head, sizeof(head), "$%zu\r\n", strlen(v));
				fake_put(&o, head, strlen(head));
				fake_put(&o, v, strlen(v));
				fake_put(&o, "\r\n", 2);
				continue;
			}
			if (argc != 3 || arglen[0] != 3 || memcmp(arg[0], "SET", 3)) {
				fake_put(&o, "-ERR unknown command\r\n", 22);
				continue;
			}
			if (++sets == s->close_at) {
				struct linger l = { 1, 0 };

				if (s->reset)
					setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
				close(fd);
				_exit(0);
			}
			if (sets == s->stall_at)
				usleep(s->stall_ms * 1000u);
			vals = fake_vals(vals, &nvals, seq);
			free(vals[seq]);
			vals[seq] = strndup(arg[2], arglen[2]);
			if (sets != s->odd_at) {
				fake_put(&o, "+OK\r\n", 5);
				continue;
			}
			fake_put(&o, s->odd, s->odd_len);
			if (s->odd_closes) {
				fake_flush(fd, &o);
				_exit(0);
			}
		}
		if (size < 0)
			_exit(1);
		fake_flush(fd, &o);
		memmove(in, in + done, len - done);
		len -= done;
	}
}

int fake_resp_start(const struct fake_script *s, pid_t *pid, uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t salen = sizeof(sa);
	pid_t parent = getpid();
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, 4) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &salen)) {
		fprintf(stderr, "fake_resp: cannot listen on 127.0.0.1: %s\n",
			strerror(errno));
		if (lfd >= 0)
			close(lfd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	*pid = fork();
	if (*pid < 0) {
		fprintf(stderr, "fake_resp: fork: %s\n", strerror(errno));
		close(lfd);
		return -1;
	}
	if (*pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		fake_serve(lfd, s);
	}
	close(lfd);
	return 0;
}

void fake_resp_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}
