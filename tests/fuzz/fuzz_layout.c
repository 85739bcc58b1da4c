/*
 * fuzz_layout.c - the LAYOUT record's decoder, vmm/layout.c
 * layout_decode(), on the whole input as the payload; and what the
 * secondary does next with a layout it took (layout_covering(),
 * layout_same_ram(), layout_compatible()).
 *
 * Checked beyond no crash and no leak: a layout taken has its mappings
 * sorted, non-empty, page aligned and apart, protections and kinds in
 * range, every path a C string that fits; encoding it and decoding that
 * gives the same layout and break, and the very input bytes when no
 * path held a NUL; each mapping is the one layout_covering() finds for
 * its first and last byte; it is the same RAM as itself and compatible
 * with itself. A refusal is -EPROTO, one error line, and an empty
 * layout left behind (nothing half-read to free).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "layout.h"

static void check_layout(const struct layout *l)
{
	for (size_t i = 0; i < l->nr; i++) {
		const struct layout_map *m = &l->maps[i];

		FUZZ_CHECK(m->start < m->end);
		FUZZ_CHECK(((m->start | m->end) & 4095) == 0);
		if (i)
			FUZZ_CHECK(m->start >= l->maps[i - 1].end);
		FUZZ_CHECK((m->prot & ~7) == 0);
		FUZZ_CHECK((unsigned)m->kind <= LAYOUT_RUNTIME);
		FUZZ_CHECK(memchr(m->path, '\0', sizeof(m->path)) != NULL);
		FUZZ_CHECK(layout_covering(l, m->start) == m);
		FUZZ_CHECK(layout_covering(l, m->end - 1) == m);
	}
	FUZZ_CHECK(l->nr <= l->cap);
}

static bool same_layout(const struct layout *a, const struct layout *b)
{
	if (a->nr != b->nr || memcmp(a->stat, b->stat, sizeof(a->stat)))
		return false;
	for (size_t i = 0; i < a->nr; i++) {
		const struct layout_map *x = &a->maps[i], *y = &b->maps[i];

		if (x->start != y->start || x->end != y->end ||
		    x->offset != y->offset || x->prot != y->prot ||
		    x->shared != y->shared || x->kind != y->kind ||
		    strcmp(x->path, y->path) != 0)
			return false;
	}
	return true;
}

int fuzz_layout_payload(const uint8_t *p, size_t len)
{
	struct layout l, again;
	uint64_t brk = 0x5a5a5a5a5a5a5a5aull, brk2;
	unsigned e0 = fuzz_log_count(LOG_ERROR);
	uint64_t first_diff;
	uint8_t *enc;
	size_t enc_len;
	int ret;

	memset(&l, 0xa5, sizeof(l));
	ret = layout_decode(p, len, &l, &brk);
	if (ret) {
		FUZZ_CHECK(ret == -EPROTO);
		FUZZ_CHECK(fuzz_log_count(LOG_ERROR) - e0 == 1);
		FUZZ_CHECK(l.maps == NULL && l.nr == 0 && l.cap == 0);
		return ret;
	}
	FUZZ_CHECK(fuzz_log_count(LOG_ERROR) == e0);
	check_layout(&l);

	FUZZ_CHECK(layout_encode(&l, brk, &enc, &enc_len) == 0);
	/* a path is written up to its first NUL: only a NUL inside one
	 * makes the encoding shorter than what was read */
	FUZZ_CHECK(enc_len <= len);
	if (enc_len == len)
		FUZZ_CHECK(memcmp(enc, p, len) == 0);
	FUZZ_CHECK(layout_decode(enc, enc_len, &again, &brk2) == 0);
	FUZZ_CHECK(brk2 == brk);
	FUZZ_CHECK(same_layout(&l, &again));
	free(enc);
	layout_free(&again);

	FUZZ_CHECK(layout_same_ram(&l, &l, &first_diff));
	FUZZ_CHECK(layout_compatible("a", &l, "b", &l) == 0);
	layout_free(&l);
	return 0;
}

int fuzz_layout(const uint8_t *data, size_t size)
{
	fuzz_log_reset();
	fuzz_layout_payload(data, size);
	return 0;
}
