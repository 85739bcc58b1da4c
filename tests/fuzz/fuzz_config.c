/*
 * fuzz_config.c - colo.conf: daemon/config.c config_load() on a file
 * that holds the input (a memfd, read through /proc/self/fd), libinih
 * and the line reader config.c puts in front of it included.
 *
 * Checked beyond no crash and no leak: a file taken gives a config whose
 * every key is in the range or form its table allows (fuzz_config_check,
 * also used by fuzz_config_key), with no error logged and at most four
 * clamp warnings; a file refused is -EINVAL, exactly one error line, and
 * the caller's config untouched.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"
#include "ramblock.h"

/* s, of size n, is a C string */
#define IS_STR(s)	(memchr((s), '\0', sizeof(s)) != NULL)

static bool ipv4_or_nothing(const char *s)
{
	struct in_addr a;

	return !*s || inet_pton(AF_INET, s, &a) == 1;
}

static bool ifname_or_nothing(const char *s)
{
	return strlen(s) < 16 && !strpbrk(s, "/ :");
}

void fuzz_config_check(const struct colo_config *cfg)
{
	char host[64];
	unsigned port;

	FUZZ_CHECK(cfg->ram.clear_bitmap_shift >= CLEAR_BITMAP_SHIFT_MIN &&
		   cfg->ram.clear_bitmap_shift <= CLEAR_BITMAP_SHIFT_MAX);
	FUZZ_CHECK((unsigned)cfg->ram.dirty_log <= DIRTY_LOG_FULL);
	FUZZ_CHECK((unsigned)cfg->ram.clear_mode <= DIRTY_LOG_MONOLITHIC);
	FUZZ_CHECK((unsigned)cfg->log.level <= LOG_DEBUG);
	FUZZ_CHECK(IS_STR(cfg->path) && IS_STR(cfg->log.file));
	FUZZ_CHECK(IS_STR(cfg->guest.program) && IS_STR(cfg->guest.args));
	FUZZ_CHECK(IS_STR(cfg->checkpoint.listen) &&
		   IS_STR(cfg->checkpoint.peer));
	FUZZ_CHECK(IS_STR(cfg->net.bridge) && IS_STR(cfg->net.tap));
	FUZZ_CHECK(IS_STR(cfg->net.guest_ip) && IS_STR(cfg->net.guest_netmask));
	FUZZ_CHECK(IS_STR(cfg->net.guest_gateway) &&
		   IS_STR(cfg->net.guest_mac));
	FUZZ_CHECK(IS_STR(cfg->control.socket) &&
		   IS_STR(cfg->debug.record_hashes));
	FUZZ_CHECK(!cfg->log.file[0] || cfg->log.file[0] == '/');
	FUZZ_CHECK(!cfg->guest.program[0] || cfg->guest.program[0] == '/');
	FUZZ_CHECK(cfg->guest.stack_limit_kib >= 128 &&
		   cfg->guest.stack_limit_kib <= 16ul << 20);
	FUZZ_CHECK(cfg->guest.stop_timeout_ms >= 1 &&
		   cfg->guest.stop_timeout_ms <= 600000);
	FUZZ_CHECK(cfg->checkpoint.checkpoint_delay_ms >= 1 &&
		   cfg->checkpoint.checkpoint_delay_ms <= 600000);
	FUZZ_CHECK(cfg->checkpoint.compress_level <= 9);
	FUZZ_CHECK(config_split_address(cfg->checkpoint.listen, host,
					sizeof(host), &port) == 0);
	FUZZ_CHECK(config_split_address(cfg->checkpoint.peer, host,
					sizeof(host), &port) == 0);
	FUZZ_CHECK(cfg->ha.heartbeat_timeout_ms >= 100 &&
		   cfg->ha.heartbeat_timeout_ms <= 600000);
	FUZZ_CHECK(ifname_or_nothing(cfg->net.bridge));
	FUZZ_CHECK(ifname_or_nothing(cfg->net.tap));
	FUZZ_CHECK(cfg->net.output == NET_OUTPUT_COMPARE ||
		   cfg->net.output == NET_OUTPUT_BUFFER);
	FUZZ_CHECK(cfg->net.compare_timeout_ms >= 1 &&
		   cfg->net.compare_timeout_ms <= 60000);
	FUZZ_CHECK(cfg->net.max_queue_frames >= 16 &&
		   cfg->net.max_queue_frames <= 1u << 20);
	FUZZ_CHECK(cfg->net.max_queue_bytes >= 64u << 10 &&
		   cfg->net.max_queue_bytes <= 1u << 30);
	FUZZ_CHECK(cfg->net.passthrough.n <= NET_MAX_PASSTHROUGH);
	for (unsigned i = 0; i < cfg->net.passthrough.n; i++)
		FUZZ_CHECK(cfg->net.passthrough.port[i] != 0);
	FUZZ_CHECK(cfg->net.tx_segment <= 65535);
	FUZZ_CHECK(ipv4_or_nothing(cfg->net.guest_ip));
	FUZZ_CHECK(ipv4_or_nothing(cfg->net.guest_netmask));
	FUZZ_CHECK(ipv4_or_nothing(cfg->net.guest_gateway));
	FUZZ_CHECK(!cfg->net.guest_mac[0] || strlen(cfg->net.guest_mac) == 17);
	FUZZ_CHECK(cfg->net.max_held_frames >= 16 &&
		   cfg->net.max_held_frames <= 1u << 20);
	FUZZ_CHECK(cfg->net.max_held_bytes >= 64u << 10 &&
		   cfg->net.max_held_bytes <= 1u << 30);
	FUZZ_CHECK(cfg->control.socket[0] == '/');
	FUZZ_CHECK(!cfg->debug.record_hashes[0] ||
		   cfg->debug.record_hashes[0] == '/');
}

/* A file that holds these bytes, and its path. The memfd is kept. */
const char *fuzz_config_file(const void *data, size_t size)
{
	static char path[64];
	static int fd = -1;

	if (fd < 0) {
		fd = memfd_create("colo.conf", MFD_CLOEXEC);
		FUZZ_CHECK(fd >= 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	FUZZ_CHECK(ftruncate(fd, 0) == 0);
	FUZZ_CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);
	return path;
}

int fuzz_config(const uint8_t *data, size_t size)
{
	static struct colo_config cfg, before;
	const char *path = fuzz_config_file(data, size);
	int ret;

	memset(&cfg, 0xa5, sizeof(cfg));
	before = cfg;
	fuzz_log_reset();
	ret = config_load(&cfg, path);
	if (ret) {
		FUZZ_CHECK(ret == -EINVAL);
		FUZZ_CHECK(fuzz_log_count(LOG_ERROR) == 1);
		FUZZ_CHECK(memcmp(&cfg, &before, sizeof(cfg)) == 0);
		return 0;
	}
	FUZZ_CHECK(fuzz_log_count(LOG_ERROR) == 0);
	FUZZ_CHECK(fuzz_log_count(LOG_WARN) <= 4);
	FUZZ_CHECK(strcmp(cfg.path, path) == 0);
	fuzz_config_check(&cfg);
	return 0;
}
