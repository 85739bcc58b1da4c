/*
 * fuzz_lan_beat.c - the LAN path's beat (daemon/lan_watch.h),
 * lan_beat_decode(): a datagram anyone on the client LAN can send.
 *
 * Checked beyond no crash: a datagram is taken only at exactly
 * LAN_BEAT_LEN bytes, with the magic, the version, a known role and
 * known flags; one taken encodes back to the same bytes (nothing of it
 * is ignored or changed); anything else is -EPROTO.
 */
#include <errno.h>
#include <string.h>

#include "colo_proto.h"
#include "fuzz.h"
#include "lan_watch.h"

int fuzz_lan_beat(const uint8_t *data, size_t size)
{
	uint8_t again[LAN_BEAT_LEN];
	struct lan_beat b;
	int ret = lan_beat_decode(data, size, &b);

	FUZZ_CHECK(ret == 0 || ret == -EPROTO);
	if (ret)
		return 0;
	FUZZ_CHECK(size == LAN_BEAT_LEN);
	FUZZ_CHECK(b.role == COLO_ROLE_PRIMARY || b.role == COLO_ROLE_SECONDARY);
	FUZZ_CHECK(!(b.flags & ~LAN_BEAT_PROTECTING));
	lan_beat_encode(&b, again);
	FUZZ_CHECK(memcmp(again, data, LAN_BEAT_LEN) == 0);
	return 0;
}
