/*
 * flow.c - netcompare's flow table and the secondary's TCP runs (flow.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_PREFIX "netcompare: "
#include "log.h"
#include "flow.h"

/* A run's buffer grows by doubling, from this. */
#define RUN_MIN_CAP	2048u

void flow_key_of(const struct packet *pkt, struct flow_key *k)
{
	memset(k, 0, sizeof(*k));
	k->ethertype = pkt->ethertype;
	if (!pkt->ipv4)
		return;
	k->proto = pkt->proto;
	k->src = pkt->src;
	k->dst = pkt->dst;
	k->sport = pkt->sport;
	k->dport = pkt->dport;
	k->tcp = pkt->kind == PACKET_TCP;
}

static void ip_str(uint32_t a, char *buf, size_t size)
{
	snprintf(buf, size, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff,
		 (a >> 8) & 0xff, a & 0xff);
}

const char *flow_describe(const struct flow_key *k, char *buf, size_t size)
{
	char s[16], d[16];

	if (k->ethertype != PACKET_ETH_IPV4) {
		snprintf(buf, size, "ethertype 0x%04x", k->ethertype);
		return buf;
	}
	ip_str(k->src, s, sizeof(s));
	ip_str(k->dst, d, sizeof(d));
	if (k->proto == PACKET_IP_TCP || k->proto == PACKET_IP_UDP)
		snprintf(buf, size, "%s %s:%u > %s:%u",
			 k->proto == PACKET_IP_TCP ? "TCP" : "UDP", s, k->sport,
			 d, k->dport);
	else
		snprintf(buf, size, "IPv4 protocol %u %s > %s", k->proto, s, d);
	return buf;
}

/* FNV-1a over the key's bytes (zeroed padding included). */
static uint32_t key_hash(const struct flow_key *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 16777619u;
	return h ^ (h >> 15);
}

static struct flow **bucket(struct flow_table *t, const struct flow_key *k)
{
	return &t->buckets[key_hash(k) & (FLOW_BUCKETS - 1)];
}

int flow_table_init(struct flow_table *t, uint32_t max)
{
	memset(t, 0, sizeof(*t));
	TAILQ_INIT(&t->all);
	TAILQ_INIT(&t->idle);
	t->max = max;
	t->buckets = calloc(FLOW_BUCKETS, sizeof(*t->buckets));
	if (!t->buckets) {
		pr_err("out of memory for a flow table of %u buckets",
		       FLOW_BUCKETS);
		return -ENOMEM;
	}
	return 0;
}

void flow_table_free(struct flow_table *t)
{
	struct flow *f;

	if (!t->buckets)
		return;
	while ((f = TAILQ_FIRST(&t->all)))
		flow_free(t, f);
	free(t->buckets);
	t->buckets = NULL;
}

static struct flow *flow_find(struct flow_table *t, const struct flow_key *k)
{
	struct flow *f;

	for (f = *bucket(t, k); f; f = f->hnext)
		if (memcmp(&f->key, k, sizeof(*k)) == 0)
			return f;
	return NULL;
}

struct flow *flow_get(struct flow_table *t, const struct flow_key *k,
		      int64_t now_ms)
{
	struct flow *f = flow_find(t, k), **b;

	if (f) {
		f->used_ms = now_ms;
		return f;
	}
	if (t->count >= t->max) {
		f = TAILQ_FIRST(&t->idle);
		if (!f)
			return NULL;	/* every flow holds frames */
		flow_free(t, f);
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->key = *k;
	f->used_ms = now_ms;
	TAILQ_INIT(&f->pq);
	TAILQ_INIT(&f->sq);
	b = bucket(t, k);
	f->hnext = *b;
	*b = f;
	TAILQ_INSERT_TAIL(&t->all, f, all);
	t->count++;
	return f;
}

void flow_free(struct flow_table *t, struct flow *f)
{
	struct flow **pp = bucket(t, &f->key);

	while (*pp != f)
		pp = &(*pp)->hnext;
	*pp = f->hnext;
	TAILQ_REMOVE(&t->all, f, all);
	if (f->on_idle)
		TAILQ_REMOVE(&t->idle, f, idle_link);
	t->count--;
	free(f->run.buf);
	free(f);
}

bool flow_idle(const struct flow *f)
{
	return TAILQ_EMPTY(&f->pq) && TAILQ_EMPTY(&f->sq) && !f->run.valid &&
	       !f->s_syn && !f->s_fin && !f->s_rst && !f->s_ack;
}

void flow_settle(struct flow_table *t, struct flow *f)
{
	bool idle = flow_idle(f);

	if (idle && !f->on_idle)
		TAILQ_INSERT_TAIL(&t->idle, f, idle_link);
	else if (!idle && f->on_idle)
		TAILQ_REMOVE(&t->idle, f, idle_link);
	f->on_idle = idle;
}

uint32_t flow_reset_secondary(struct flow *f)
{
	uint32_t bytes = f->run.len;

	free(f->run.buf);
	memset(&f->run, 0, sizeof(f->run));
	f->s_syn = f->s_fin = f->s_rst = f->s_ack = false;
	return bytes;
}

/* Room for n more bytes before (front) or after the run's bytes. */
static int run_room(struct flow_run *r, uint32_t n, bool front)
{
	uint32_t cap = r->cap ? r->cap : RUN_MIN_CAP;
	uint8_t *nb;

	if (front ? r->off >= n : r->cap - r->off - r->len >= n)
		return 0;
	while (cap - r->len < n)
		cap *= 2;		/* n and len stay under 2^31 */
	if (cap == r->cap && !front) {	/* room at the front: slide */
		memmove(r->buf, r->buf + r->off, r->len);
		r->off = 0;
		return 0;
	}
	nb = malloc(cap);
	if (!nb)
		return -ENOMEM;
	/* new room goes where it is asked for */
	if (r->len)
		memcpy(nb + (front ? cap - r->len : 0), r->buf + r->off, r->len);
	free(r->buf);
	r->buf = nb;
	r->cap = cap;
	r->off = front ? cap - r->len : 0;
	return 0;
}

int flow_run_put(struct flow *f, uint32_t seq, const uint8_t *data,
		 uint32_t n)
{
	struct flow_run *r = &f->run;
	bool front = r->valid && seq != flow_run_end(f);

	if (!r->valid) {
		r->valid = true;
		r->base = seq;
	}
	if (!n)
		return 0;
	if (run_room(r, n, front)) {
		pr_err("out of memory for %u bytes of a secondary TCP stream",
		       r->len + n);
		return -ENOMEM;
	}
	if (front) {
		r->off -= n;
		r->base = seq;
	}
	memcpy(r->buf + r->off + (front ? 0 : r->len), data, n);
	r->len += n;
	return 0;
}

uint32_t flow_run_trim(struct flow *f, uint32_t seq)
{
	struct flow_run *r = &f->run;
	uint32_t n;

	if (!r->valid || !seq_after(seq, r->base))
		return 0;
	n = (uint32_t)(seq - r->base);
	if (n >= r->len) {
		n = r->len;
		free(r->buf);
		r->buf = NULL;
		r->off = r->len = r->cap = 0;
		r->base = seq;
		return n;
	}
	r->off += n;
	r->len -= n;
	r->base = seq;
	return n;
}
