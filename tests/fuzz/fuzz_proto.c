/*
 * fuzz_proto.c - the checkpoint records' payload decoders: every
 * *_decode of checkpoint/colo_proto.c, and colo_pages_next() and
 * colo_ram_blocks_decode() of checkpoint/page_stream.c, the handshake's
 * auth_*_decode of checkpoint/auth.c (LAYOUT goes to vmm/layout.c's
 * layout_decode, fuzzed alone by fuzz_layout).
 *
 * Input: be16 record type (any value, unknown ones too), one byte whose
 * low bits pick the page size HELLO agreed on (1 << (b % 17): 1 byte to
 * 64 KiB), then the payload.
 *
 * Checked beyond no crash (records.c): a payload taken holds every range
 * its decoder says it checks and re-encodes to the same bytes; a refusal
 * is -EPROTO with exactly one error line and the output untouched; an
 * unknown type is refused by every decoder that takes a type, and has
 * the name "?"; PAGES entries tile the payload from its start, each
 * within it, with the length its encoding has, page aligned.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"

int fuzz_proto(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint16_t type = fuzz_be16(&in);
	size_t page_size = (size_t)1 << (fuzz_u8(&in) % 17);
	const uint8_t *payload;
	uint32_t len = (uint32_t)fuzz_take(&in, size, &payload);

	fuzz_log_reset();
	fuzz_record(type, payload, len, page_size);
	return 0;
}
