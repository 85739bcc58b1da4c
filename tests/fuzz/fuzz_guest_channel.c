/*
 * fuzz_guest_channel.c - the daemon's side of a guest's runtime channel
 * (vmm/guest_channel.c): receive() and its check of each record, and
 * what guest_poll(), guest_cmd(), guest_stop() and guest_continue_at()
 * do with the records that pass it. It needs no guest: the channel is
 * an AF_UNIX SOCK_SEQPACKET socketpair, as guest_launch() makes, and the
 * fuzzer writes the guest's end.
 *
 * Input: a mode byte (bits 0-1: poll, LAYOUT command, stop, continue;
 * bit 2: the guest's end is shut after its records, which the three
 * waiting calls always get, so that they end at once; bit 3: the len
 * field of each record is made right first), a byte for the seq of the
 * last command sent, then records: be16 size, then its bytes (zeros
 * once the input runs out), at most 200 of them.
 *
 * Checked beyond no crash: frames reach on_frame exactly for the
 * well-formed FRAME_OUT records a plain reading of guest_abi.h finds (a
 * header, len the bytes after it, at most COLO_GUEST_MAX_PAYLOAD of
 * them) up to the record the call waits for, each with its bytes; a
 * record longer than the daemon's buffer is dropped, never taken cut
 * short; an empty record from a guest that is still there is dropped,
 * not taken for its end; a command gets the arg[0] and payload of the
 * first REPLY of its seq, -EPROTO when that payload is not the size
 * asked for, and -EPIPE when the guest ends first; stop and continue
 * leave the guest paused or running as that record says, and continue
 * answers 0 exactly when it runs (a refusal its negative errno, any
 * other result -EPROTO).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "guest.h"

#define MAX_RECORDS	200
#define HDR		sizeof(struct colo_guest_msg)

enum op { OP_POLL, OP_LAYOUT, OP_STOP, OP_CONTINUE };

struct record {
	uint8_t *b;			/* its bytes */
	size_t size;
};

struct run {
	struct record rec[MAX_RECORDS];
	size_t nr;			/* records the guest's end sent */
	size_t want[MAX_RECORDS];	/* the frames expected, by record */
	size_t nwant, got;
};

static bool well_formed(const struct record *r)
{
	struct colo_guest_msg m;

	if (r->size < HDR || r->size > GUEST_RX_SIZE)
		return false;
	memcpy(&m, r->b, HDR);
	return m.len == r->size - HDR;
}

static void on_frame(struct guest *g, const void *frame, size_t len,
		     void *opaque)
{
	struct run *run = opaque;
	const struct record *r;

	(void)g;
	FUZZ_CHECK(run->got < run->nwant);
	r = &run->rec[run->want[run->got++]];
	FUZZ_CHECK(len == r->size - HDR && len <= COLO_GUEST_MAX_PAYLOAD);
	FUZZ_CHECK(len == 0 || memcmp(frame, r->b + HDR, len) == 0);
}

/*
 * What a plain reading expects: the frames, into run->want, and the
 * index of the record the call waits for (type with seq; type 0: none,
 * guest_poll), or -1 when it never comes.
 */
static long expect(struct run *run, uint32_t type, uint64_t seq, bool eof)
{
	run->nwant = 0;
	for (size_t i = 0; i < run->nr; i++) {
		const struct record *r = &run->rec[i];
		struct colo_guest_msg m;

		if (r->size == 0 && eof)
			return -1;	/* the end, when it is the end */
		if (!well_formed(r))
			continue;
		memcpy(&m, r->b, HDR);
		if (m.type == GUEST_MSG_FRAME_OUT)
			run->want[run->nwant++] = i;
		else if (type && m.type == type && m.seq == seq)
			return (long)i;
	}
	return -1;
}

int fuzz_guest_channel(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t mode = fuzz_u8(&in);
	enum op op = (enum op)(mode & 3);
	bool eof = op != OP_POLL || (mode & 4), fix = mode & 8;
	struct run *run = calloc(1, sizeof(*run));
	struct guest g = { .name = "fuzz guest", .pid = 0, .chan = -1,
			   .cmd_timeout_ms = 5000, .on_frame = on_frame };
	struct colo_guest_layout layout;
	struct colo_guest_msg m;
	int64_t result = 0x5a5a5a5a;
	long hit;
	int sv[2], ret = 0;

	FUZZ_CHECK(run != NULL);
	fuzz_log_reset();
	g.next_seq = fuzz_u8(&in);
	g.paused = op == OP_LAYOUT || op == OP_CONTINUE;
	g.opaque = run;
	g.rx = malloc(GUEST_RX_SIZE);
	FUZZ_CHECK(g.rx != NULL);
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
			      sv) == 0);
	g.chan = sv[0];

	/* the guest's end: every record it can queue */
	while (in.left && run->nr < MAX_RECORDS) {
		struct record *r = &run->rec[run->nr];
		const uint8_t *src;
		size_t n;

		r->size = fuzz_be16(&in);
		r->b = calloc(1, r->size ? r->size : 1);
		FUZZ_CHECK(r->b != NULL);
		n = fuzz_take(&in, r->size, &src);
		memcpy(r->b, src, n);
		if (fix && r->size >= HDR) {
			uint32_t len = (uint32_t)(r->size - HDR);

			memcpy(r->b + offsetof(struct colo_guest_msg, len),
			       &len, sizeof(len));
		}
		if (send(sv[1], r->b, r->size, MSG_DONTWAIT | MSG_NOSIGNAL) !=
		    (ssize_t)r->size) {
			free(r->b);
			break;		/* its buffer is full */
		}
		run->nr++;
	}
	if (eof)
		shutdown(sv[1], SHUT_WR);

	switch (op) {
	case OP_POLL:
		expect(run, 0, 0, eof);
		ret = guest_poll(&g, 0);
		FUZZ_CHECK(ret == (eof ? -EPIPE : 0));
		break;
	case OP_LAYOUT:
		hit = expect(run, GUEST_MSG_REPLY, g.next_seq + 1, eof);
		memset(&layout, 0xa5, sizeof(layout));
		ret = guest_cmd(&g, GUEST_CMD_LAYOUT, NULL, &result, &layout,
				sizeof(layout));
		if (hit < 0) {
			FUZZ_CHECK(ret == -EPIPE);
			break;
		}
		memcpy(&m, run->rec[hit].b, HDR);
		FUZZ_CHECK(result == (int64_t)m.arg[0]);
		if (m.len != sizeof(layout)) {
			FUZZ_CHECK(ret == -EPROTO);
			break;
		}
		FUZZ_CHECK(ret == 0);
		FUZZ_CHECK(memcmp(&layout, run->rec[hit].b + HDR,
				  sizeof(layout)) == 0);
		break;
	case OP_STOP:
		hit = expect(run, GUEST_MSG_PAUSED, g.next_seq + 1, eof);
		ret = guest_stop(&g, 5000);
		FUZZ_CHECK(ret == (hit < 0 ? -EPIPE : 0));
		FUZZ_CHECK(g.paused == (hit >= 0));
		break;
	case OP_CONTINUE:
		hit = expect(run, GUEST_MSG_REPLY, g.next_seq + 1, eof);
		ret = guest_continue_at(&g, 12345);
		if (hit < 0) {
			FUZZ_CHECK(ret == -EPIPE && g.paused);
			break;
		}
		memcpy(&m, run->rec[hit].b, HDR);
		/* a refusal is the guest's errno; another result, -EPROTO */
		if ((int64_t)m.arg[0] < 0 && (int64_t)m.arg[0] >= -4095)
			FUZZ_CHECK(ret == (int)(int64_t)m.arg[0]);
		else if (m.arg[0])
			FUZZ_CHECK(ret == -EPROTO);
		FUZZ_CHECK(g.paused == (m.arg[0] != 0));
		/* 0 is "it runs", and only then */
		FUZZ_CHECK((ret == 0) == !g.paused);
		break;
	}
	FUZZ_CHECK(run->got == run->nwant);

	close(sv[0]);
	close(sv[1]);
	free(g.rx);
	for (size_t i = 0; i < run->nr; i++)
		free(run->rec[i].b);
	free(run);
	return 0;
}
