/*
 * resp_compare.c - one script against two RESP servers, replies compared
 * (see resp_compare.h).
 */
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "resp_compare.h"
#include "resp_text.h"

#define STEP_LINES_MAX	4096		/* lines in one pipeline */
#define SHOW_MAX	240		/* bytes of a reply shown in a report */

static const char sentinel_word[] = "resp_compare:sentinel:7f3a";

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* --- connections -------------------------------------------------------------- */

static int dial(const char *addr)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
	};
	struct addrinfo *res, *ai;
	char host[256];
	const char *colon = strrchr(addr, ':');
	int fd = -ECONNREFUSED, one = 1;

	if (!colon || (size_t)(colon - addr) >= sizeof(host))
		return -EINVAL;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &res))
		return -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			fd = -errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -errno;
	}
	freeaddrinfo(res);
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* the server may close first (QUIT, a protocol
			 * error): what it said before is still to read */
			return errno == EPIPE || errno == ECONNRESET ? 0 : -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* What one server answered to a step. */
struct answer {
	struct buf bytes;		/* every reply before the sentinel's */
	size_t *ends;			/* end offset of each reply */
	size_t n;
	bool closed;
};

static void answer_reset(struct answer *an)
{
	an->bytes.len = 0;
	an->n = 0;
	an->closed = false;
}

/*
 * Read replies until the sentinel's (which is not kept), until the
 * server closes, or until want replies (want > 0) came. 0 or -errno.
 */
static int read_answer(int fd, struct answer *an, const char *sentinel,
		       size_t slen, size_t want, long long deadline)
{
	struct buf in = { 0 };
	size_t off = 0;
	int ret = 0;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		char chunk[16384];
		long left = (long)(deadline - mono_ms());
		ssize_t n;

		/* every whole reply read so far */
		while (in.len > off) {
			long e = reply_len(in.p + off, in.len - off, 0);

			if (e < 0) {
				ret = -EPROTO;
				goto out;
			}
			if (e == 0)
				break;
			if (sentinel && (size_t)e == slen &&
			    !memcmp(in.p + off, sentinel, slen))
				goto out;
			buf_add(&an->bytes, in.p + off, (size_t)e);
			an->ends = realloc(an->ends, (an->n + 1) * sizeof(*an->ends));
			if (!an->ends)
				abort();
			an->ends[an->n++] = an->bytes.len;
			off += (size_t)e;
			if (want && an->n == want)
				goto out;
		}
		if (left <= 0) {
			ret = -ETIMEDOUT;
			goto out;
		}
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* what came unparsed before the close is kept too */
			if (in.len > off)
				buf_add(&an->bytes, in.p + off, in.len - off);
			an->closed = true;
			goto out;
		}
		buf_add(&in, chunk, (size_t)n);
	}
out:
	free(in.p);
	return ret;
}

/* --- steps ------------------------------------------------------------------- */

enum line_kind { LINE_WORDS, LINE_INLINE, LINE_RAW };

struct step_line {
	int lineno;
	enum line_kind kind;
	char *text;			/* as in the script, for reports */
};

struct step {
	struct step_line lines[STEP_LINES_MAX];
	size_t nlines;
	bool shape;
	int sleep_ms;
	struct buf req;			/* the bytes sent */
};

/* Show bytes as a C string literal, cut at SHOW_MAX. */
static void show(struct buf *out, const char *p, size_t len)
{
	buf_add(out, "\"", 1);
	for (size_t i = 0; i < len && i < SHOW_MAX; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\r')
			buf_add(out, "\\r", 2);
		else if (c == '\n')
			buf_add(out, "\\n", 2);
		else if (c == '"' || c == '\\')
			buf_printf(out, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			buf_printf(out, "\\x%02x", c);
		else
			buf_add(out, &p[i], 1);
	}
	buf_add(out, len > SHOW_MAX ? "\"..." : "\"", len > SHOW_MAX ? 4 : 1);
}

static void reply_at(const struct answer *an, size_t i, const char **p,
		     size_t *len)
{
	size_t start = i ? an->ends[i - 1] : 0;

	if (i < an->n) {
		*p = an->bytes.p + start;
		*len = an->ends[i] - start;
	} else {
		/* past the whole replies: what trailed them, if anything */
		start = an->n ? an->ends[an->n - 1] : 0;
		*p = an->bytes.p ? an->bytes.p + start : "";
		*len = an->bytes.len - start;
	}
}

/* The line a reply answers, when each line has one reply (words only). */
static const struct step_line *line_of(const struct step *st, size_t reply)
{
	for (size_t i = 0; i < st->nlines; i++) {
		if (st->lines[i].kind != LINE_WORDS)
			return &st->lines[0];
	}
	return reply < st->nlines ? &st->lines[reply] : &st->lines[0];
}

static void report(struct buf *out, const struct step *st, size_t reply,
		   const char *what, const char *a, const struct answer *aa,
		   const char *b, const struct answer *ab)
{
	const struct step_line *l = line_of(st, reply);
	const char *pa, *pb;
	size_t la, lb;

	reply_at(aa, reply, &pa, &la);
	reply_at(ab, reply, &pb, &lb);
	buf_printf(out, "line %d: %s\n  reply %zu %s\n  %s: ", l->lineno,
		   l->text, reply + 1, what, a);
	show(out, pa, la);
	buf_printf(out, "%s\n  %s: ", reply >= aa->n && aa->closed ?
		   " (then closed)" : "", b);
	show(out, pb, lb);
	buf_printf(out, "%s\n", reply >= ab->n && ab->closed ?
		   " (then closed)" : "");
}

/* The same bytes after the last whole reply (cut by a close), and the
 * same close? */
static bool same_tail(const struct answer *aa, const struct answer *ab)
{
	const char *ta, *tb;
	size_t la, lb;

	reply_at(aa, aa->n, &ta, &la);
	reply_at(ab, ab->n, &tb, &lb);
	return la == lb && (!la || !memcmp(ta, tb, la)) &&
	       aa->closed == ab->closed;
}

/* 0 same, 1 different (described in out). */
static int compare_step(const struct step *st, const char *a,
			const struct answer *aa, const char *b,
			const struct answer *ab, struct resp_compare_result *res,
			struct buf *out)
{
	size_t n = aa->n > ab->n ? aa->n : ab->n;

	for (size_t i = 0; i < n; i++) {
		const char *pa, *pb;
		size_t la, lb;

		if (i >= aa->n || i >= ab->n) {
			report(out, st, i, "is missing on one side", a, aa, b, ab);
			return 1;
		}
		reply_at(aa, i, &pa, &la);
		reply_at(ab, i, &pb, &lb);
		if (st->shape) {
			if (!same_shape(pa, la, pb, lb)) {
				report(out, st, i, "differs in shape", a, aa, b, ab);
				return 1;
			}
			res->shapes++;
		} else {
			if (la != lb || memcmp(pa, pb, la)) {
				report(out, st, i, "differs", a, aa, b, ab);
				return 1;
			}
			res->replies++;
		}
	}
	if (!same_tail(aa, ab)) {
		report(out, st, n, aa->closed != ab->closed ?
		       "(the connection) differs: one side closed it" :
		       "(bytes after the last reply) differs", a, aa, b, ab);
		return 1;
	}
	return 0;
}

/* --- the script ---------------------------------------------------------------- */

struct script {
	FILE *f;
	int lineno;
	char *line;
	size_t cap;
};

/* The next meaningful line, without its newline; NULL at the end. */
static char *script_next(struct script *s)
{
	ssize_t n;

	while ((n = getline(&s->line, &s->cap, s->f)) >= 0) {
		char *p;

		s->lineno++;
		while (n > 0 && (s->line[n - 1] == '\n' || s->line[n - 1] == '\r'))
			s->line[--n] = '\0';
		for (p = s->line; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '\0' || *p == '#')
			continue;
		return p;
	}
	return NULL;
}

static bool has_prefix(const char *s, const char *word, const char **rest)
{
	size_t n = strlen(word);

	if (strncmp(s, word, n) || (s[n] && s[n] != ' ' && s[n] != '\t'))
		return false;
	for (s += n; *s == ' ' || *s == '\t'; s++)
		;
	*rest = s;
	return true;
}

static void step_free(struct step *st)
{
	for (size_t i = 0; i < st->nlines; i++)
		free(st->lines[i].text);
	st->nlines = 0;
	st->req.len = 0;
	st->shape = false;
	st->sleep_ms = 0;
}

/* Add one line's request to st; -EINVAL (why in out) on a bad line. */
static int step_add(struct step *st, int lineno, const char *p,
		    struct buf *out)
{
	struct step_line *l;
	const char *rest;
	int ret = 0;

	if (st->nlines == STEP_LINES_MAX) {
		buf_printf(out, "line %d: pipeline longer than %d lines\n",
			   lineno, STEP_LINES_MAX);
		return -EINVAL;
	}
	l = &st->lines[st->nlines];
	l->lineno = lineno;
	l->text = strdup(p);
	if (has_prefix(p, "!raw", &rest)) {
		l->kind = LINE_RAW;
		unescape_c(rest, &st->req);
	} else if (has_prefix(p, "!inline", &rest)) {
		l->kind = LINE_INLINE;
		buf_add(&st->req, rest, strlen(rest));
		buf_add(&st->req, "\r\n", 2);
	} else {
		if (has_prefix(p, "!shape", &rest))
			st->shape = true;
		else
			rest = p;
		l->kind = LINE_WORDS;
		ret = encode_words(rest, &st->req);
		if (ret)
			buf_printf(out, "line %d: bad words (quotes?): %s\n",
				   lineno, p);
	}
	st->nlines++;
	return ret;
}

/* Read the next step; 1 read, 0 end of script, -EINVAL bad. */
static int step_read(struct script *s, struct step *st, struct buf *out)
{
	const char *p = script_next(s), *rest;

	step_free(st);
	if (!p)
		return 0;
	if (has_prefix(p, "!sleep", &rest)) {
		st->sleep_ms = atoi(rest);
		return 1;
	}
	if (!has_prefix(p, "!pipeline", &rest))
		return step_add(st, s->lineno, p, out) ? -EINVAL : 1;
	while ((p = script_next(s))) {
		if (has_prefix(p, "!end", &rest))
			return st->nlines ? 1 : -EINVAL;
		if (has_prefix(p, "!shape", &rest) ||
		    has_prefix(p, "!sleep", &rest) ||
		    has_prefix(p, "!pipeline", &rest)) {
			buf_printf(out, "line %d: not inside a pipeline: %s\n",
				   s->lineno, p);
			return -EINVAL;
		}
		if (step_add(st, s->lineno, p, out))
			return -EINVAL;
	}
	buf_printf(out, "line %d: a pipeline without !end\n", s->lineno);
	return -EINVAL;
}

struct side {
	const char *addr;
	int fd;
	struct answer an;
};

static int side_open(struct side *sd, struct buf *out)
{
	if (sd->fd >= 0)
		close(sd->fd);
	sd->fd = dial(sd->addr);
	if (sd->fd < 0) {
		buf_printf(out, "cannot connect to %s: %s\n", sd->addr,
			   strerror(-sd->fd));
		return sd->fd;
	}
	return 0;
}

/* Send the step (and the sentinel), read the answer. */
static int side_run(struct side *sd, const struct step *st,
		    const struct buf *sentinel_req, const struct buf *sentinel,
		    struct buf *out)
{
	int ret;

	answer_reset(&sd->an);
	ret = send_all(sd->fd, st->req.p, st->req.len);
	if (!ret)
		ret = send_all(sd->fd, sentinel_req->p, sentinel_req->len);
	if (!ret)
		ret = read_answer(sd->fd, &sd->an, sentinel->p, sentinel->len, 0,
				  mono_ms() + RESP_COMPARE_STEP_MS);
	if (ret)
		buf_printf(out, "line %d: %s: %s\n", st->lines[0].lineno,
			   sd->addr, ret == -ETIMEDOUT ? "no reply in time" :
			   ret == -EPROTO ? "a reply that is not RESP2" :
			   strerror(-ret));
	return ret;
}

int resp_compare(const char *a, const char *b, const char *script,
		 struct resp_compare_result *res)
{
	struct side sa = { .addr = a, .fd = -1 }, sb = { .addr = b, .fd = -1 };
	struct buf out = { 0 }, sentinel_req = { 0 }, sentinel = { 0 };
	struct script s = { 0 };
	struct step *st = calloc(1, sizeof(*st));
	char tmp[64];
	int ret;

	memset(res, 0, sizeof(*res));
	s.f = fopen(script, "r");
	if (!s.f || !st) {
		ret = -errno;
		buf_printf(&out, "cannot read %s: %s\n", script, strerror(errno));
		goto done;
	}
	snprintf(tmp, sizeof(tmp), "ECHO %s", sentinel_word);
	encode_words(tmp, &sentinel_req);
	snprintf(tmp, sizeof(tmp), "$%zu\r\n%s\r\n", strlen(sentinel_word),
		 sentinel_word);
	buf_add(&sentinel, tmp, strlen(tmp));
	ret = side_open(&sa, &out);
	if (!ret)
		ret = side_open(&sb, &out);
	while (!ret) {
		ret = step_read(&s, st, &out);
		if (ret <= 0)
			break;
		ret = 0;
		if (st->sleep_ms) {
			sleep_ms(st->sleep_ms);
			continue;
		}
		res->steps++;
		ret = side_run(&sa, st, &sentinel_req, &sentinel, &out);
		if (!ret)
			ret = side_run(&sb, st, &sentinel_req, &sentinel, &out);
		if (!ret)
			ret = compare_step(st, a, &sa.an, b, &sb.an, res, &out);
		if (!ret && sa.an.closed) {
			res->closes++;
			ret = side_open(&sa, &out);
			if (!ret)
				ret = side_open(&sb, &out);
		}
	}
done:
	snprintf(res->diff, sizeof(res->diff), "%s", out.p ? out.p : "");
	if (sa.fd >= 0)
		close(sa.fd);
	if (sb.fd >= 0)
		close(sb.fd);
	if (s.f)
		fclose(s.f);
	free(s.line);
	if (st) {
		step_free(st);
		free(st->req.p);
	}
	free(st);
	free(sa.an.bytes.p);
	free(sa.an.ends);
	free(sb.an.bytes.p);
	free(sb.an.ends);
	free(out.p);
	free(sentinel_req.p);
	free(sentinel.p);
	return ret;
}

long resp_query(const char *addr, const char *words, char *out, size_t len)
{
	struct buf req = { 0 };
	struct answer an = { 0 };
	int fd, ret;

	if (len)
		out[0] = '\0';
	if (encode_words(words, &req)) {
		free(req.p);
		return -EINVAL;
	}
	fd = dial(addr);
	if (fd < 0) {
		free(req.p);
		return fd;
	}
	ret = send_all(fd, req.p, req.len);
	if (!ret)
		ret = read_answer(fd, &an, NULL, 0, 1,
				  mono_ms() + RESP_COMPARE_STEP_MS);
	close(fd);
	if (!ret && len) {
		size_t n = an.bytes.len < len - 1 ? an.bytes.len : len - 1;

		memcpy(out, an.bytes.p ? an.bytes.p : "", n);
		out[n] = '\0';
	}
	free(req.p);
	free(an.ends);
	free(an.bytes.p);
	return ret ? ret : (long)an.bytes.len;
}
