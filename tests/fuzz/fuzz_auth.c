/*
 * fuzz_auth.c - the authentication handshake's records (checkpoint/auth.c):
 * the decoders of AUTH_HELLO, AUTH_CHALLENGE and AUTH_PROOF, and the
 * handshake itself fed whatever records the input holds (fuzz_auth_peer
 * plays a whole handshake and the tags against an honest peer).
 *
 * Input: one mode byte. Modes 0-2: the rest is a payload for the
 * decoder of AUTH_HELLO, AUTH_CHALLENGE, AUTH_PROOF. Mode 3: a session
 * of fuzz_key(0), responder if the next byte is even, else initiator
 * (after its AUTH_HELLO), then up to four records, each be16 type, be16
 * length and that many bytes, given to auth_step() in turn.
 *
 * Checked beyond no crash: a payload taken re-encodes to the same bytes,
 * has the version the handshake speaks and nonces not all zero; a
 * refusal is -EPROTO with exactly one error line and the output left as
 * it was; nothing is logged for a payload taken. The handshake takes a
 * record only of the type it waits for, gives a reason for every
 * refusal, answers an AUTH_HELLO with exactly an AUTH_CHALLENGE, and is
 * never completed by the input: the fuzzer does not hold the key, and
 * the proofs cover a fresh nonce of ours.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "colo_proto.h"
#include "fuzz.h"

static bool nonzero(const uint8_t *p, size_t n)
{
	uint8_t any = 0;

	for (size_t i = 0; i < n; i++)
		any |= p[i];
	return any != 0;
}

static void hello(const uint8_t *p, uint32_t len)
{
	struct auth_hello m, before;
	uint8_t back[AUTH_HELLO_LEN];
	unsigned e0 = fuzz_log_count(LOG_ERROR);

	memset(&m, 0xa5, sizeof(m));
	before = m;
	if (fuzz_verdict(auth_hello_decode(p, len, &m), e0, &m, &before, sizeof(m)))
		return;
	FUZZ_CHECK(len == AUTH_HELLO_LEN);
	FUZZ_CHECK(m.version == AUTH_VERSION);
	FUZZ_CHECK(nonzero(m.nonce, sizeof(m.nonce)));
	auth_hello_encode(&m, back);
	FUZZ_CHECK(memcmp(back, p, len) == 0);
}

static void challenge(const uint8_t *p, uint32_t len)
{
	struct auth_challenge m, before;
	uint8_t back[AUTH_CHALLENGE_LEN];
	unsigned e0 = fuzz_log_count(LOG_ERROR);

	memset(&m, 0xa5, sizeof(m));
	before = m;
	if (fuzz_verdict(auth_challenge_decode(p, len, &m), e0, &m, &before,
		    sizeof(m)))
		return;
	FUZZ_CHECK(len == AUTH_CHALLENGE_LEN);
	FUZZ_CHECK(nonzero(m.nonce, sizeof(m.nonce)));
	auth_challenge_encode(&m, back);
	FUZZ_CHECK(memcmp(back, p, len) == 0);
}

static void proof(const uint8_t *p, uint32_t len)
{
	struct auth_proof m, before;
	uint8_t back[AUTH_PROOF_LEN];
	unsigned e0 = fuzz_log_count(LOG_ERROR);

	memset(&m, 0xa5, sizeof(m));
	before = m;
	if (fuzz_verdict(auth_proof_decode(p, len, &m), e0, &m, &before, sizeof(m)))
		return;
	FUZZ_CHECK(len == AUTH_PROOF_LEN);
	auth_proof_encode(&m, back);
	FUZZ_CHECK(memcmp(back, p, len) == 0);
}

/* The handshake as role, given the input's records. */
static void session(struct fuzz_in *in)
{
	enum auth_role role = fuzz_u8(in) % 2 ? AUTH_INITIATOR : AUTH_RESPONDER;
	struct auth_session *a = auth_session_new(fuzz_key(0), role, "fuzz");
	struct auth_msg first, reply;
	char why[512];

	FUZZ_CHECK(a != NULL);
	FUZZ_CHECK(auth_begin(a, &first) == 0);
	FUZZ_CHECK(first.type == (role == AUTH_INITIATOR ? COLO_AUTH_HELLO : 0));
	for (int i = 0; i < 4 && in->left; i++) {
		uint16_t type = fuzz_be16(in);
		const uint8_t *p;
		uint32_t len = (uint32_t)fuzz_take(in, fuzz_be16(in), &p);
		char want[32];
		int ret;

		snprintf(want, sizeof(want), "%s", auth_expecting(a));
		why[0] = '\0';
		ret = auth_step(a, type, p, len, &reply, why, sizeof(why));
		if (ret) {
			FUZZ_CHECK(ret == -EPROTO || ret == -EACCES);
			FUZZ_CHECK(why[0] != '\0');
			FUZZ_CHECK(reply.type == 0);
			break;		/* the channel drops the peer here */
		}
		FUZZ_CHECK(strcmp(colo_record_name(type), want) == 0);
		if (type == COLO_AUTH_HELLO)
			FUZZ_CHECK(reply.type == COLO_AUTH_CHALLENGE &&
				   reply.len == AUTH_CHALLENGE_LEN);
		else
			FUZZ_CHECK(reply.type == 0);
		FUZZ_CHECK(!auth_done(a));
	}
	FUZZ_CHECK(!auth_done(a));
	auth_session_free(a);
}

int fuzz_auth(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t mode = fuzz_u8(&in);
	const uint8_t *payload;
	uint32_t len;

	fuzz_log_reset();
	if (mode % 4 == 3) {
		session(&in);
		return 0;
	}
	len = (uint32_t)fuzz_take(&in, size, &payload);
	if (mode % 4 == 0)
		hello(payload, len);
	else if (mode % 4 == 1)
		challenge(payload, len);
	else
		proof(payload, len);
	return 0;
}
