/*
 * fuzz.h - what the fuzz targets in tests/fuzz share.
 *
 * A target is one function, fuzz_NAME(data, size) in fuzz_NAME.c: it
 * hands the bytes to one parser of outside input and checks, beyond "no
 * crash" (AddressSanitizer and UBSan see to that under make fuzz), the
 * promises that parser's header makes, with FUZZ_CHECK. The same
 * function runs under libFuzzer (libfuzzer_main.c, make fuzz) and under
 * cmocka (tests/test_fuzz_regress.c, make check, which replays the seed
 * corpora and the regression inputs), so a target uses neither.
 *
 * A target may keep state between calls (a socket, an event base) when
 * making it again each time would cost more than the parse; it must
 * leave none that changes what the next input does.
 */
#ifndef COLO_FUZZ_H
#define COLO_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"

/* The targets; each returns 0 (libFuzzer's "keep going"). */
int fuzz_proto(const uint8_t *data, size_t size);
int fuzz_channel(const uint8_t *data, size_t size);
int fuzz_layout(const uint8_t *data, size_t size);
int fuzz_guest_channel(const uint8_t *data, size_t size);
int fuzz_config(const uint8_t *data, size_t size);
int fuzz_config_key(const uint8_t *data, size_t size);
int fuzz_control(const uint8_t *data, size_t size);
int fuzz_resp(const uint8_t *data, size_t size);
int fuzz_kvstore(const uint8_t *data, size_t size);
int fuzz_netcompare(const uint8_t *data, size_t size);
int fuzz_lan_beat(const uint8_t *data, size_t size);
int fuzz_hello(const uint8_t *data, size_t size);
int fuzz_ram_cache(const uint8_t *data, size_t size);
int fuzz_auth(const uint8_t *data, size_t size);
int fuzz_auth_peer(const uint8_t *data, size_t size);

/* A promise broken: say which, where (and fuzz_input, the file being
 * replayed, when set), then call fuzz_fail_hook if set (cmocka's fail,
 * which does not return), else abort (libFuzzer saves the input). */
extern const char *fuzz_input;
extern void (*fuzz_fail_hook)(const char *msg);
void fuzz_fail(const char *file, int line, const char *what)
	__attribute__((noreturn));
#define FUZZ_CHECK(cond) \
	((cond) ? (void)0 : fuzz_fail(__FILE__, __LINE__, #cond))

/* Once per process: colo's log quiet (its lines are still formatted and
 * counted), SIGPIPE ignored. */
void fuzz_setup(void);
/* Lines logged at level since the last fuzz_log_reset(). */
void fuzz_log_reset(void);
unsigned fuzz_log_count(enum log_level level);
/* A decoder's verdict: 0 with no error logged since errors0, or -EPROTO
 * with exactly one, out (n bytes, when not NULL) left as before. */
int fuzz_verdict(int ret, unsigned errors0, const void *out,
		 const void *before, size_t n);

/*
 * The input, read front to back. A read past the end gives zeros (and
 * fuzz_take fewer bytes): every input means something.
 */
struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

uint8_t fuzz_u8(struct fuzz_in *in);
uint16_t fuzz_be16(struct fuzz_in *in);
uint32_t fuzz_be32(struct fuzz_in *in);
/* Up to n bytes at *out (pointing into the input); how many. */
size_t fuzz_take(struct fuzz_in *in, size_t n, const uint8_t **out);

/*
 * One checkpoint record's payload through its decoder (colo_proto.c,
 * page_stream.c, vmm/layout.c), as a daemon's record table would hand it
 * on, with the decoder's promises checked (records.c). page_size is the
 * one HELLO agreed on, for PAGES and RAM_BLOCKS. 0 when the decoder took
 * the payload, -EPROTO when it refused it.
 */
int fuzz_record(uint16_t type, const uint8_t *payload, uint32_t len,
		size_t page_size);

/* A LAYOUT payload through layout_decode(), checked (fuzz_layout.c). */
int fuzz_layout_payload(const uint8_t *p, size_t len);

/* colo.conf (fuzz_config.c): every key of cfg in its table's range or
 * form; and a file (kept from call to call) that holds data, its path. */
struct colo_config;
void fuzz_config_check(const struct colo_config *cfg);
const char *fuzz_config_file(const void *data, size_t size);

/* Two pre-shared keys (auth.h), 0 and 1, each other's wrong key;
 * loaded once from files of our own (the loader's checks included). */
struct auth_key;
const struct auth_key *fuzz_key(int which);

#endif /* COLO_FUZZ_H */
