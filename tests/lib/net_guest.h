/*
 * net_guest.h - for the guest network tests (test_guest_net,
 * test_guest_net_hostile): the setting they share and their client
 * sockets.
 *
 *   host 10.77.9.1/24 (tap0) <-- pump --> netecho 10.77.9.2 (guest A)
 *                                         netecho, same argv (guest B,
 *                                         the checkpoint's target)
 *
 * Each program first moves into a network namespace of its own (it runs
 * as root; unshare(CLONE_NEWNET) in its main(), setting env.no_netns if
 * that fails), then runs its tests in a cmocka group with
 * group_setup()/group_teardown(). The helpers fail the running test
 * (fail_msg) where they say so.
 */
#ifndef COLO_TESTS_NET_GUEST_H
#define COLO_TESTS_NET_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "guests.h"
#include "log.h"
#include "tap_pump.h"

#define TAP_NAME	"tap0"
#define HOST_IP		"10.77.9.1"
#define GUEST_IP	"10.77.9.2"
#define ECHO_PORT	7
#define STATS_PORT	8
#define IO_TIMEOUT_MS	10000	/* any one transfer; far above its need */
#define A_AHEAD_S	600	/* A's host clock ahead of B's */

/* A and B are launched alike (same path, argv, environment): B's layout
 * is A's, so A can be checkpointed into it. */
extern char *netecho_argv[];

/* The setting, shared by the tests of a program: set up by main() (seed,
 * log level, no_netns) and group_setup(). */
struct net_guest_env {
	const char *no_netns;		/* why the namespace is missing */
	struct tap_pump pump;
	bool pump_open;
	struct guest ga, gb;
	bool ga_up, gb_up;		/* launched, not yet destroyed */
	struct guest *cur;		/* the guest pumped: A, or B after the
					 * checkpoint */
	bool b_taken;			/* B is the copy of A now */
	unsigned char host_mac[6];
	uint64_t seed;
	enum log_level log_level;	/* COLO_TEST_LOG, else warn */
	bool a_ahead;			/* A's host clock is A_AHEAD_S ahead */
};
extern struct net_guest_env env;

/* --- small helpers ------------------------------------------------------- */

/* CLOCK_MONOTONIC in ms. */
long long now_ms(void);
/* Sleep ms milliseconds (on through signals). */
void sleep_ms(int ms);
/* Byte off of stream seed: cheap, and any one byte can be checked. */
unsigned char stream_byte(uint64_t seed, uint64_t off);
/* buf = len bytes of stream seed from offset off. */
void stream_fill(unsigned char *buf, uint64_t seed, uint64_t off, size_t len);
/* Run a shell command (printf format); its status, its output printed if
 * it failed. */
int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --- client sockets ------------------------------------------------------ */

/* A non-blocking TCP client of the guest (GUEST_IP:port), connected
 * within 5 s; buffers 0: the kernel's. The fd, or a negative errno. */
int client_connect(uint16_t port, int rcvbuf, int sndbuf);

/*
 * One client's echo stream: it sends the first len bytes of stream seed
 * (half-closing after them if shut) and checks that the same bytes come
 * back, in order, and then (shut) the end of the stream.
 */
struct stream {
	int fd;
	uint64_t seed;
	size_t len;			/* bytes to send in all */
	size_t sent, got;
	bool shut;			/* shutdown(SHUT_WR) after len */
	bool shut_done, eof;
	int err;			/* first failure, negative errno;
					 * -EBADMSG: a wrong byte, at bad_at */
	size_t bad_at;
};

/* s failed, or got all it sent back (and, shut, the end). */
bool stream_done(const struct stream *s);
/* Send and receive what poll's revents allow on s, checking what comes. */
void stream_io(struct stream *s, short revents);
/*
 * Run streams until all are done or, with until_got, until they got that
 * many bytes back in all. 0, -ETIMEDOUT after timeout_ms, or the first
 * stream's error.
 */
int streams_run(struct stream *s, int n, int timeout_ms, size_t until_got);
/* s = a new stream of seed on a new connection to the echo port; fails
 * the test if it cannot connect. */
void stream_open(struct stream *s, uint64_t seed);
/* Echo len more bytes on s, within IO_TIMEOUT_MS; fails the test (saying
 * what) if they do not all come back right. */
void stream_more(struct stream *s, size_t len, const char *what);

/* --- the setting: namespace, TAP, guests --------------------------------- */

/* Launch (not start) netecho as guest name with argv and genv (NULL: no
 * environment), its frames to on_frame(opaque). 0 or a negative errno. */
int launch_netecho(struct guest *g, const char *name, char **argv,
		   char **genv, guest_frame_fn on_frame, void *opaque);
/*
 * Launch A in a time namespace whose CLOCK_MONOTONIC is ahead_s seconds
 * ahead of ours (and of B's): A's host clock is that far from B's, as on
 * two hosts (env.a_ahead says whether it is). Without time namespaces A
 * is launched on our clock.
 */
int launch_ahead(struct guest *g, const char *name, int ahead_s);
/* cmocka group setup: the TAP at HOST_IP, A (ahead) and B launched, A
 * started and pumped, serving on the echo port. -1 if any of it fails
 * (or there is no namespace of our own). */
int group_setup(void **state);
/* cmocka group teardown: the guests destroyed, the TAP closed. */
int group_teardown(void **state);
/* Fail the test if the pumped guest died or its channel closed (after:
 * when, for the message). */
void check_guest_alive(const char *after);

/*
 * Launch another netecho g (netecho_argv, with environment genv, NULL:
 * none), give it a TICK at fed_ms first if that is not 0 (its clock is
 * then fed from before its start), start it and pump it instead of
 * env.cur: it answers at the guest's address from now on. The pump is
 * paused across. 0 or a negative errno (g destroyed then).
 */
int swap_in_netecho(struct guest *g, const char *name, char **genv,
		    uint64_t fed_ms);
/* Pump env.cur again, and destroy g. */
void swap_out_netecho(struct guest *g);

#endif
