/*
 * mirror_proto.c - both ends of the mirror link's records
 * (mirror_proto.h).
 */
#include <errno.h>
#include <inttypes.h>

#define LOG_PREFIX "mirror: "
#include "log.h"
#include "mirror_proto.h"

void mirror_u64_encode(uint64_t v, uint8_t out[8])
{
	put_be64(out, v);
}

int mirror_u64_decode(uint16_t type, const uint8_t *payload, uint32_t len,
		      uint64_t *v)
{
	uint64_t x;

	if (len != 8) {
		pr_err("%s record of %" PRIu32 " bytes, expected 8",
		       colo_record_name(type), len);
		return -EPROTO;
	}
	x = get_be64(payload);
	if (type == COLO_MIRROR_EPOCH && !x) {
		pr_err("MIRROR_EPOCH of checkpoint 0, expected an id of 1 "
		       "or more");
		return -EPROTO;
	}
	*v = x;
	return 0;
}

void mirror_frame_hdr(uint64_t stamp, uint8_t out[MIRROR_FRAME_HDR])
{
	put_be64(out, stamp);
}

int mirror_frame_decode(uint16_t type, const uint8_t *payload, uint32_t len,
			struct mirror_frame *m)
{
	uint64_t stamp;
	uint32_t flen;

	if (len < MIRROR_FRAME_HDR + MIRROR_FRAME_MIN ||
	    len > MIRROR_FRAME_HDR + MIRROR_FRAME_MAX) {
		pr_err("%s record of %" PRIu32 " bytes, expected %u..%u (a "
		       "stamp and a frame)", colo_record_name(type), len,
		       MIRROR_FRAME_HDR + MIRROR_FRAME_MIN,
		       MIRROR_FRAME_HDR + MIRROR_FRAME_MAX);
		return -EPROTO;
	}
	stamp = get_be64(payload);
	flen = len - MIRROR_FRAME_HDR;
	if (type == COLO_MIRROR_OUTPUT && !stamp) {
		pr_err("MIRROR_OUTPUT of epoch 0, expected 1 or more");
		return -EPROTO;
	}
	*m = (struct mirror_frame){
		.stamp = stamp, .frame = payload + MIRROR_FRAME_HDR, .len = flen,
	};
	return 0;
}

int mirror_send_u64(struct channel *ch, uint16_t type, uint64_t v)
{
	uint8_t b[8];

	mirror_u64_encode(v, b);
	return channel_send(ch, type, b, sizeof(b));
}

int mirror_send_frame(struct channel *ch, uint16_t type, uint64_t stamp,
		      const uint8_t *frame, size_t len)
{
	uint8_t hdr[MIRROR_FRAME_HDR];
	struct iovec iov[2] = {
		{ hdr, sizeof(hdr) }, { (void *)frame, len },
	};

	mirror_frame_hdr(stamp, hdr);
	return channel_sendv(ch, type, iov, 2);
}
