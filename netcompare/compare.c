/*
 * compare.c - netcompare's compare step (compare.h): frames held and
 * queued, epochs, packet flows, the limits; TCP flows are compared in
 * compare_tcp.c.
 *
 * Every primary frame held is on one list in arrival order (nc->held)
 * and, when it is compared, on its flow's list too. A checkpoint
 * releases from the first list, in the primary's order; comparing
 * releases from the heads of the second, in each flow's order. Epochs
 * on nc->held only grow (a frame whose epoch is below one before it is
 * held to that one, as output_buffer.c does): a flow's frames of one
 * epoch are all before its frames of the next, so both ways keep every
 * flow's order.
 *
 * Secondary frames of a later epoch wait on nc->waiting, whole, until it
 * begins. Those of the current epoch are taken at once: a TCP segment
 * into its flow's run (then freed), any other frame onto its flow's
 * queue until the primary's counterpart comes.
 *
 * Memory: what is held and queued (primary frames, secondary frames,
 * the bytes of the secondary's runs) counts against the hard cap, twice
 * max_frames and max_bytes; the flow table against its own bound.
 * The figures: compare_status.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_PREFIX "netcompare: "
#include "log.h"
#include "compare_int.h"

/* --- what is held ---------------------------------------------------------- */

static void depth_add(struct netcompare *nc, uint64_t frames, uint64_t bytes)
{
	struct compare_stats *st = &nc->st;

	st->depth_frames += frames;
	st->depth_bytes += bytes;
	if (st->depth_frames > st->high_frames)
		st->high_frames = st->depth_frames;
	if (st->depth_bytes > st->high_bytes)
		st->high_bytes = st->depth_bytes;
}

static void depth_sub(struct netcompare *nc, uint64_t frames, uint64_t bytes)
{
	nc->st.depth_frames -= frames;
	nc->st.depth_bytes -= bytes;
}

bool nc_bytes_fit(const struct netcompare *nc, uint64_t bytes)
{
	return nc->st.depth_bytes + bytes <= nc->cap_bytes;
}

void nc_bytes_add(struct netcompare *nc, uint64_t bytes)
{
	depth_add(nc, 0, bytes);
}

void nc_bytes_sub(struct netcompare *nc, uint64_t bytes)
{
	depth_sub(nc, 0, bytes);
}

static bool frame_fits(const struct netcompare *nc, size_t len)
{
	return nc->st.depth_frames + 1 <= nc->cap_frames &&
	       nc_bytes_fit(nc, len);
}

void nc_drop(struct netcompare *nc, size_t len)
{
	nc->st.dropped_frames++;
	nc->st.dropped_bytes += len;
	if (!nc->dropping)
		pr_warn("held and queued frames at the hard cap (%" PRIu64
			" frames, %" PRIu64 " bytes; %" PRIu64 " frames, %"
			PRIu64 " bytes now): dropping until a checkpoint is "
			"loaded (told once); raise [net] max_queue_frames or "
			"max_queue_bytes if this recurs", nc->cap_frames,
			nc->cap_bytes, nc->st.depth_frames,
			nc->st.depth_bytes);
	nc->dropping = true;
}

static struct nc_frame *frame_new(struct netcompare *nc, const uint8_t *data,
				  size_t len, uint64_t epoch, int64_t now_ms)
{
	struct nc_frame *fr = malloc(sizeof(*fr) + len);

	if (!fr) {
		pr_err("out of memory for a frame of %zu bytes: dropped", len);
		nc_drop(nc, len);
		return NULL;
	}
	memset(fr, 0, sizeof(*fr));
	fr->epoch = epoch;
	fr->since_ms = now_ms;
	fr->poison = -1;
	fr->len = len;
	if (len)
		memcpy(fr->data, data, len);
	depth_add(nc, 1, len);
	return fr;
}

static void frame_free(struct netcompare *nc, struct nc_frame *fr)
{
	depth_sub(nc, 1, fr->len);
	free(fr);
}

static void flows_counted(struct netcompare *nc)
{
	nc->st.flows = nc->flows.count;
	if (nc->st.flows > nc->st.flows_high)
		nc->st.flows_high = nc->st.flows;
}

static struct flow *flow_of(struct netcompare *nc, const struct packet *pkt,
			    int64_t now_ms)
{
	struct flow_key k;
	struct flow *f;

	flow_key_of(pkt, &k);
	f = flow_get(&nc->flows, &k, now_ms);
	flows_counted(nc);
	return f;
}

static bool passthrough(const struct netcompare *nc, const struct packet *pkt)
{
	if (pkt->kind != PACKET_TCP && pkt->kind != PACKET_UDP)
		return false;
	for (unsigned i = 0; i < nc->p.n_passthrough; i++)
		if (pkt->sport == nc->p.passthrough[i] ||
		    pkt->dport == nc->p.passthrough[i])
			return true;
	return false;
}

/* --- asking for a checkpoint ------------------------------------------------ */

void nc_ask(struct netcompare *nc, enum compare_reason why)
{
	if (nc->asked)
		return;
	nc->asked = true;
	nc->st.checkpoints_asked[why]++;
	nc->p.checkpoint(why, nc->p.opaque);
}

void nc_mismatch(struct netcompare *nc, enum compare_reason why,
		 const struct flow *f, const char *detail)
{
	char fb[96];

	nc->st.mismatches[why]++;
	nc->last_reason = (int)why;
	if (!nc->logged)
		pr_info("epoch %" PRIu64 ": %s mismatch on %s%s%s; asking for "
			"a checkpoint (told once an epoch)", nc->epoch,
			compare_reason_name(why),
			f ? flow_describe(&f->key, fb, sizeof(fb)) : "a frame",
			detail ? ": " : "", detail ? detail : "");
	nc->logged = true;
	nc_ask(nc, why);
}

/* A frame that does not parse: counted, told once an epoch. */
static void malformed(struct netcompare *nc, const char *side, size_t len,
		      const char *why)
{
	nc->st.mismatches[COMPARE_MALFORMED]++;
	nc->last_malformed = why;
	if (!nc->logged_malformed)
		pr_info("epoch %" PRIu64 ": a %s frame of %zu bytes does not "
			"parse (%s); it cannot be compared (told once an "
			"epoch)", nc->epoch, side, len, why);
	nc->logged_malformed = true;
}

/* The limits reached: a checkpoint empties the queues (counted once an
 * epoch, when it is what asks). */
static void queue_full(struct netcompare *nc)
{
	if (nc->asked)
		return;
	nc->st.mismatches[COMPARE_QUEUE_FULL]++;
	nc->last_reason = COMPARE_QUEUE_FULL;
	nc_ask(nc, COMPARE_QUEUE_FULL);
}

static void check_limits(struct netcompare *nc)
{
	if (nc->st.depth_frames >= nc->p.max_frames ||
	    nc->st.depth_bytes >= nc->p.max_bytes)
		queue_full(nc);
}

/* fr cannot be compared: its epoch must end in a checkpoint. */
static void poison(struct netcompare *nc, struct nc_frame *fr,
		   enum compare_reason why)
{
	fr->poison = (int)why;
	nc->n_poisoned++;
	if (fr->epoch != nc->epoch || !nc->comparing)
		return;		/* asked when its epoch begins compared */
	if (why == COMPARE_QUEUE_FULL)
		queue_full(nc);
	else
		nc_ask(nc, why);
}

/* --- releasing --------------------------------------------------------------- */

static void emit(struct netcompare *nc, const uint8_t *frame, size_t len)
{
	nc->st.released_frames++;
	nc->st.released_bytes += len;
	nc->p.emit(frame, len, nc->p.opaque);
}

/* fr, held, leaves: emitted, off its lists, freed. */
static void release(struct netcompare *nc, struct nc_frame *fr)
{
	struct flow *f = fr->flow;

	TAILQ_REMOVE(&nc->held, fr, all);
	if (f) {
		TAILQ_REMOVE(&f->pq, fr, link);
		if (f->key.tcp)
			tcp_released(nc, f, fr);
	}
	if (fr->poison >= 0)
		nc->n_poisoned--;
	emit(nc, fr->data, fr->len);
	frame_free(nc, fr);
	if (f)
		flow_settle(&nc->flows, f);
}

void nc_release_matched(struct netcompare *nc, struct flow *f)
{
	struct nc_frame *fr = TAILQ_FIRST(&f->pq);

	nc->st.matched_frames++;
	nc->st.matched_bytes += fr->len;
	release(nc, fr);
}

/* --- packet flows -------------------------------------------------------------- */

/*
 * Where two frames of the same length first differ (len: nowhere). An
 * IPv4 header's id and checksum do not count: lwIP numbers every IP
 * packet from one counter, so once the guests cut a TCP stream into
 * different segments, every later packet's id differs although the
 * packets are the same.
 */
static size_t first_difference(const uint8_t *a, const uint8_t *b, size_t len)
{
	bool ipv4 = len >= 34 && a[12] == 0x08 && a[13] == 0x00 &&
		    b[12] == 0x08 && b[13] == 0x00;

	for (size_t i = 0; i < len; i++) {
		if (ipv4 && (i == 18 || i == 19 || i == 24 || i == 25))
			continue;
		if (a[i] != b[i])
			return i;
	}
	return len;
}

/* The heads of both sides, while both have one of this epoch. */
static void other_progress(struct netcompare *nc, struct flow *f)
{
	struct nc_frame *p, *s;
	size_t i;
	char detail[96];

	while (nc_can_compare(nc)) {
		p = TAILQ_FIRST(&f->pq);
		s = TAILQ_FIRST(&f->sq);
		if (!p || !s || p->epoch != nc->epoch)
			return;
		if (p->len != s->len) {
			snprintf(detail, sizeof(detail), "frames of %zu bytes "
				 "(primary) and %zu (secondary)", p->len, s->len);
			nc_mismatch(nc, COMPARE_LENGTH, f, detail);
			return;
		}
		i = first_difference(p->data, s->data, p->len);
		if (i < p->len) {
			snprintf(detail, sizeof(detail), "byte %zu of %zu: "
				 "primary 0x%02x, secondary 0x%02x", i, p->len,
				 p->data[i], s->data[i]);
			nc_mismatch(nc, COMPARE_PAYLOAD, f, detail);
			return;
		}
		TAILQ_REMOVE(&f->sq, s, link);
		frame_free(nc, s);
		nc_release_matched(nc, f);
	}
}

static void progress(struct netcompare *nc, struct flow *f, struct nc_frame *fr)
{
	if (f->key.tcp)
		tcp_progress(nc, f, fr);
	else
		other_progress(nc, f);
	flow_settle(&nc->flows, f);
}

/* --- the entry points' guard ------------------------------------------------- */

/* The callbacks must not call netcompare: its lists are being walked. */
static bool enter(struct netcompare *nc, const char *fn)
{
	if (nc->busy) {
		pr_err("%s called from a netcompare callback: refused (a bug "
		       "in the caller)", fn);
		return false;
	}
	nc->busy = true;
	return true;
}

static void leave(struct netcompare *nc)
{
	nc->busy = false;
}

/* --- the primary ------------------------------------------------------------- */

/* fr, just held: parsed, onto its flow, compared. */
static void primary_place(struct netcompare *nc, struct nc_frame *fr,
			  int64_t now_ms)
{
	const char *why;

	if (packet_parse(fr->data, fr->len, &fr->pkt, &why)) {
		malformed(nc, "primary", fr->len, why);
		poison(nc, fr, COMPARE_MALFORMED);
		return;
	}
	if (passthrough(nc, &fr->pkt)) {
		fr->passthrough = true;
		nc->st.passthrough_frames++;
		return;
	}
	fr->flow = flow_of(nc, &fr->pkt, now_ms);
	if (!fr->flow) {
		/* a flow table full of busy flows: like a full queue */
		poison(nc, fr, COMPARE_QUEUE_FULL);
		return;
	}
	TAILQ_INSERT_TAIL(&fr->flow->pq, fr, link);
	if (fr->epoch == nc->epoch)
		progress(nc, fr->flow, fr);
	else
		flow_settle(&nc->flows, fr->flow);
}

void compare_primary(struct netcompare *nc, const uint8_t *frame, size_t len,
		     uint64_t epoch, int64_t now_ms)
{
	struct nc_frame *fr;

	if (!enter(nc, "compare_primary"))
		return;
	nc->st.primary_frames++;
	nc->st.primary_bytes += len;
	if (epoch < nc->primary_epoch)
		epoch = nc->primary_epoch;
	nc->primary_epoch = epoch;
	if (epoch < nc->epoch) {
		/* its checkpoint is loaded; nothing is held (epochs only
		 * grow, and every frame up to it has left) */
		emit(nc, frame, len);
	} else if (!frame_fits(nc, len)) {
		nc_drop(nc, len);
		queue_full(nc);
	} else if ((fr = frame_new(nc, frame, len, epoch, now_ms))) {
		TAILQ_INSERT_TAIL(&nc->held, fr, all);
		primary_place(nc, fr, now_ms);
		check_limits(nc);
	}
	leave(nc);
}

/* --- the secondary ------------------------------------------------------------ */

/*
 * A secondary frame of the current epoch, being compared: data (fr's,
 * when it waited; else the caller's, copied if it must be queued).
 */
static void secondary_feed(struct netcompare *nc, const uint8_t *data,
			   size_t len, struct nc_frame *fr, int64_t now_ms)
{
	struct packet pkt;
	const char *why;
	struct flow *f;

	if (packet_parse(data, len, &pkt, &why)) {
		malformed(nc, "secondary", len, why);
		nc_ask(nc, COMPARE_MALFORMED);
		goto out;
	}
	if (passthrough(nc, &pkt))
		goto out;		/* never compared */
	f = flow_of(nc, &pkt, now_ms);
	if (!f) {
		queue_full(nc);
		goto out;
	}
	if (f->key.tcp) {
		tcp_secondary(nc, f, &pkt);	/* into the run */
		flow_settle(&nc->flows, f);
		goto out;
	}
	if (!fr) {
		if (!frame_fits(nc, len)) {
			nc_drop(nc, len);
			queue_full(nc);
			flow_settle(&nc->flows, f);
			return;
		}
		fr = frame_new(nc, data, len, nc->epoch, now_ms);
		if (!fr) {
			flow_settle(&nc->flows, f);
			return;
		}
	}
	fr->flow = f;
	TAILQ_INSERT_TAIL(&f->sq, fr, link);
	progress(nc, f, NULL);
	return;
out:
	if (fr)
		frame_free(nc, fr);
}

void compare_secondary(struct netcompare *nc, const uint8_t *frame,
		       size_t len, uint64_t epoch, int64_t now_ms)
{
	struct nc_frame *fr;

	if (!enter(nc, "compare_secondary"))
		return;
	nc->st.secondary_frames++;
	nc->st.secondary_bytes += len;
	if (!nc->active || epoch < nc->epoch ||
	    (epoch == nc->epoch && !nc->comparing)) {
		nc->st.stale_frames++;
	} else if (epoch > nc->epoch) {
		if (!frame_fits(nc, len)) {
			nc_drop(nc, len);
			queue_full(nc);
		} else if ((fr = frame_new(nc, frame, len, epoch, now_ms))) {
			TAILQ_INSERT_TAIL(&nc->waiting, fr, all);
		}
	} else if (!nc->asked) {
		/* (once asked, the epoch's checkpoint drops it anyway) */
		secondary_feed(nc, frame, len, NULL, now_ms);
	}
	check_limits(nc);
	leave(nc);
}

/* --- epochs ---------------------------------------------------------------------- */

/* A TCP flow's released state no longer matters: the flow may go. */
static bool flow_expired(const struct flow *f, int64_t now_ms, bool age)
{
	if (!f->key.tcp || !f->rel_valid || f->rst_released)
		return true;
	return age && now_ms - f->used_ms >= COMPARE_FLOW_IDLE_MS;
}

/* Every flow's secondary state of the epoch dropped; flows holding
 * nothing that matters freed (by age too, with age). */
static void flows_reset(struct netcompare *nc, int64_t now_ms, bool age)
{
	struct flow *f, *next;
	struct nc_frame *fr;

	for (f = TAILQ_FIRST(&nc->flows.all); f; f = next) {
		next = TAILQ_NEXT(f, all);
		while ((fr = TAILQ_FIRST(&f->sq))) {
			TAILQ_REMOVE(&f->sq, fr, link);
			frame_free(nc, fr);
		}
		nc_bytes_sub(nc, flow_reset_secondary(f));
		if (TAILQ_EMPTY(&f->pq) && flow_expired(f, now_ms, age))
			flow_free(&nc->flows, f);
		else
			flow_settle(&nc->flows, f);
	}
	flows_counted(nc);
}

/* Secondary frames waiting, up to epoch upto, dropped. */
static void drop_waiting(struct netcompare *nc, uint64_t upto)
{
	struct nc_frame *fr, *next;

	for (fr = TAILQ_FIRST(&nc->waiting); fr; fr = next) {
		next = TAILQ_NEXT(fr, all);
		if (fr->epoch > upto)
			continue;
		TAILQ_REMOVE(&nc->waiting, fr, all);
		frame_free(nc, fr);
	}
}

/* The new epoch's frames that cannot be compared ask at once. */
static void ask_poisoned(struct netcompare *nc)
{
	struct nc_frame *fr;

	if (!nc->n_poisoned || !nc->comparing)
		return;
	TAILQ_FOREACH(fr, &nc->held, all) {
		if (fr->epoch != nc->epoch)
			return;
		if (fr->poison == COMPARE_QUEUE_FULL) {
			queue_full(nc);
			return;
		}
		if (fr->poison >= 0) {
			nc_ask(nc, (enum compare_reason)fr->poison);
			return;
		}
	}
}

/* The secondary frames that waited for this epoch, in order. */
static void feed_waiting(struct netcompare *nc, int64_t now_ms)
{
	struct nc_frame *fr, *next;

	for (fr = TAILQ_FIRST(&nc->waiting); fr; fr = next) {
		next = TAILQ_NEXT(fr, all);
		if (fr->epoch != nc->epoch)
			continue;
		TAILQ_REMOVE(&nc->waiting, fr, all);
		if (nc_can_compare(nc))
			secondary_feed(nc, fr->data, fr->len, fr, now_ms);
		else
			frame_free(nc, fr);
	}
}

void compare_checkpoint(struct netcompare *nc, uint64_t id, int64_t now_ms)
{
	struct nc_frame *fr;
	struct flow *f, *next;

	if (!enter(nc, "compare_checkpoint"))
		return;
	if (id < nc->epoch) {		/* loaded already */
		leave(nc);
		return;
	}
	/* Step 1 -- the primary's frames of epoch <= id leave, in order */
	while ((fr = TAILQ_FIRST(&nc->held)) && fr->epoch <= id)
		release(nc, fr);
	/* Step 2 -- the secondary's of those epochs go */
	drop_waiting(nc, id);
	flows_reset(nc, now_ms, true);
	/* Step 3 -- epoch id + 1 begins, compared if it begins active */
	nc->epoch = id == UINT64_MAX ? id : id + 1;
	nc->epoch_start_ms = now_ms;
	nc->comparing = nc->active;
	nc->asked = nc->logged = nc->logged_malformed = nc->dropping = false;
	ask_poisoned(nc);
	/* Step 4 -- what waited for it is compared */
	feed_waiting(nc, now_ms);
	for (f = TAILQ_FIRST(&nc->flows.all); f; f = next) {
		next = TAILQ_NEXT(f, all);
		fr = TAILQ_FIRST(&f->pq);
		if (fr && fr->epoch == nc->epoch)
			progress(nc, f, NULL);
	}
	check_limits(nc);
	leave(nc);
}

void compare_set_active(struct netcompare *nc, bool on)
{
	if (!enter(nc, "compare_set_active"))
		return;
	if (on != nc->active)
		pr_debug("comparing %s (epoch %" PRIu64 ")",
			 on ? "from the next checkpoint on" : "off", nc->epoch);
	nc->active = on;
	if (!on) {
		nc->comparing = false;
		drop_waiting(nc, UINT64_MAX);
		flows_reset(nc, 0, false);
	}
	leave(nc);
}

void compare_release_all(struct netcompare *nc)
{
	struct nc_frame *fr;

	if (!enter(nc, "compare_release_all"))
		return;
	while ((fr = TAILQ_FIRST(&nc->held)))
		release(nc, fr);
	drop_waiting(nc, UINT64_MAX);
	flows_reset(nc, 0, false);
	while (TAILQ_FIRST(&nc->flows.all))
		flow_free(&nc->flows, TAILQ_FIRST(&nc->flows.all));
	flows_counted(nc);
	/* checkpoint ids may begin again with the next secondary */
	nc->epoch = nc->primary_epoch = 0;
	nc->comparing = nc->asked = false;
	nc->logged = nc->logged_malformed = nc->dropping = false;
	leave(nc);
}

void compare_tick(struct netcompare *nc, int64_t now_ms)
{
	struct nc_frame *fr;
	char detail[96];
	int64_t since;

	if (!enter(nc, "compare_tick"))
		return;
	/* the oldest frame being compared: the others came after it */
	TAILQ_FOREACH(fr, &nc->held, all) {
		if (!nc_can_compare(nc) || fr->epoch != nc->epoch)
			break;
		if (!fr->flow)
			continue;
		since = fr->since_ms > nc->epoch_start_ms ? fr->since_ms :
							     nc->epoch_start_ms;
		if (now_ms - since >= (int64_t)nc->p.timeout_ms) {
			snprintf(detail, sizeof(detail), "a frame of %zu bytes "
				 "unmatched for %" PRId64 " ms", fr->len,
				 now_ms - since);
			nc_mismatch(nc, COMPARE_TIMEOUT, fr->flow, detail);
		}
		break;
	}
	leave(nc);
}

/* --- making, limits ------------------------------------------------------ */

/* The flow table's bound for these limits (flow.h). */
static uint32_t max_flows(uint32_t max_frames)
{
	uint64_t n = (uint64_t)max_frames * COMPARE_HARD_FACTOR + FLOW_SPARE;

	return n > FLOW_MAX ? FLOW_MAX : (uint32_t)n;
}

static int check_limits_given(uint32_t max_frames, uint64_t max_bytes,
			      uint32_t timeout_ms)
{
	if (!max_frames || max_frames > COMPARE_MAX_FRAMES || !max_bytes ||
	    max_bytes > COMPARE_MAX_BYTES || !timeout_ms) {
		pr_err("limits of %" PRIu32 " frames, %" PRIu64 " bytes and %"
		       PRIu32 " ms: expected 1 to %u frames, 1 to %llu bytes "
		       "and a timeout above 0 ([net] max_queue_frames, "
		       "max_queue_bytes, compare_timeout_ms)", max_frames,
		       max_bytes, timeout_ms, COMPARE_MAX_FRAMES,
		       COMPARE_MAX_BYTES);
		return -EINVAL;
	}
	return 0;
}

static void limits_set(struct netcompare *nc, uint32_t max_frames,
		       uint64_t max_bytes, uint32_t timeout_ms)
{
	nc->p.max_frames = max_frames;
	nc->p.max_bytes = max_bytes;
	nc->p.timeout_ms = timeout_ms;
	nc->cap_frames = (uint64_t)max_frames * COMPARE_HARD_FACTOR;
	nc->cap_bytes = max_bytes * COMPARE_HARD_FACTOR;
	nc->flows.max = max_flows(max_frames);
}

int compare_new(struct netcompare **ncp, const struct compare_params *p)
{
	struct netcompare *nc;
	int ret;

	*ncp = NULL;
	ret = check_limits_given(p->max_frames, p->max_bytes, p->timeout_ms);
	if (ret)
		return ret;
	if (!p->emit || !p->checkpoint ||
	    p->n_passthrough > COMPARE_MAX_PASSTHROUGH) {
		pr_err("compare parameters: emit and checkpoint callbacks "
		       "needed and at most %d passthrough ports (%u given)",
		       COMPARE_MAX_PASSTHROUGH, p->n_passthrough);
		return -EINVAL;
	}
	nc = calloc(1, sizeof(*nc));
	if (!nc) {
		pr_err("out of memory for netcompare");
		return -ENOMEM;
	}
	nc->p = *p;
	ret = flow_table_init(&nc->flows, max_flows(p->max_frames));
	if (ret) {
		free(nc);
		return ret;
	}
	limits_set(nc, p->max_frames, p->max_bytes, p->timeout_ms);
	TAILQ_INIT(&nc->held);
	TAILQ_INIT(&nc->waiting);
	nc->last_reason = -1;
	*ncp = nc;
	return 0;
}

void compare_free(struct netcompare *nc)
{
	struct nc_frame *fr;

	if (!nc)
		return;
	while ((fr = TAILQ_FIRST(&nc->held))) {
		TAILQ_REMOVE(&nc->held, fr, all);
		free(fr);
	}
	while ((fr = TAILQ_FIRST(&nc->waiting))) {
		TAILQ_REMOVE(&nc->waiting, fr, all);
		free(fr);
	}
	flows_reset(nc, 0, false);	/* frees the secondary's queues */
	flow_table_free(&nc->flows);
	free(nc);
}

void compare_set_limits(struct netcompare *nc, uint32_t max_frames,
			uint64_t max_bytes, uint32_t timeout_ms)
{
	if (check_limits_given(max_frames, max_bytes, timeout_ms))
		return;			/* the old ones stay */
	if (!enter(nc, "compare_set_limits"))
		return;
	limits_set(nc, max_frames, max_bytes, timeout_ms);
	check_limits(nc);
	leave(nc);
}
