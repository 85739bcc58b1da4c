/*
 * tap_pump.h - for tests: a TAP device and a thread that moves Ethernet
 * frames between it and a launched guest, so that the host's own TCP/IP
 * stack (sockets, ping, ip neigh) talks to the guest's.
 *
 *     host sockets -> kernel -> TAP fd --pump--> guest_send_frame()
 *     host sockets <- kernel <- TAP fd <--pump-- guest_params.on_frame
 *
 * Launch the guest with .on_frame = tap_pump_guest_frame and .opaque =
 * the pump, then tap_pump_start(). While the pump runs, its thread owns
 * the guest (guest_poll, guest_send_frame): anything else done to the
 * guest (guest_stop, a checkpoint, guest_destroy) must happen between
 * tap_pump_pause() and tap_pump_resume(). While paused, frames the
 * guest sends to a caller's guest_* calls still reach the TAP; frames
 * for the guest wait in the TAP's queue.
 *
 * Configure the device with ip(8) (address, up). Closing the pump
 * deletes it (it is not persistent).
 */
#ifndef COLO_TESTS_TAP_PUMP_H
#define COLO_TESTS_TAP_PUMP_H

#include <net/if.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest.h"

enum tap_dir {
	TAP_TO_GUEST,		/* read from the TAP (or injected) */
	GUEST_TO_TAP,		/* sent by the guest */
};

/* Called by the pump for every frame, in its thread (or in a caller's
 * guest_* call while paused), with the pump's lock held: be quick, call
 * nothing of the pump. true: drop the frame. */
typedef bool (*tap_filter_fn)(enum tap_dir dir, const unsigned char *frame,
			      size_t len, void *opaque);

/* Frames counted since tap_pump_open(). */
struct tap_pump_stats {
	uint64_t to_guest;		/* given to the guest */
	uint64_t to_tap;		/* written to the TAP */
	uint64_t injected;		/* of to_guest, from tap_pump_inject() */
	uint64_t filtered;		/* dropped by the filter */
	uint64_t lost;			/* not delivered: write or send failed,
					 * or sent by a guest not pumped */
	bool guest_gone;		/* the pumped guest's channel closed */
};

struct tap_inject;

struct tap_pump {
	int tap_fd;			/* /dev/net/tun, IFF_TAP | IFF_NO_PI */
	int wake_fd;			/* eventfd: the thread looks at flags */
	char ifname[IFNAMSIZ];
	pthread_t thread;
	bool started;			/* the thread runs */
	pthread_mutex_t lock;		/* everything below */
	pthread_cond_t cond;		/* parked, stopping, injections done */
	struct guest *guest;		/* the guest pumped */
	bool pause_req, parked, stop_req;
	tap_filter_fn filter;
	void *filter_opaque;
	struct tap_inject *inj_head, *inj_tail; /* frames to inject, in order */
	bool pending_busy;		/* pending holds a frame for the guest */
	size_t pending_len;
	unsigned char pending[COLO_GUEST_MAX_PAYLOAD]; /* waits for room */
	struct tap_pump_stats stats;
};

/* Create TAP device name (like "tap0"). 0 or a negative errno (logged). */
int tap_pump_open(struct tap_pump *p, const char *name);

/* For guest_params.on_frame (opaque: the pump). */
void tap_pump_guest_frame(struct guest *g, const void *frame, size_t len,
			  void *opaque);

/* Start the thread, pumping g. 0 or a negative errno. */
int tap_pump_start(struct tap_pump *p, struct guest *g);

/* Park the thread (returns once it touches neither guest nor TAP), and
 * let it go again. Pauses do not nest. */
void tap_pump_pause(struct tap_pump *p);
void tap_pump_resume(struct tap_pump *p);

/* Pump g from now on (paused or not started only); frames another guest
 * sends are then dropped. */
void tap_pump_set_guest(struct tap_pump *p, struct guest *g);

/* Frames the filter says true for are dropped; NULL: none. */
void tap_pump_set_filter(struct tap_pump *p, tap_filter_fn fn, void *opaque);

/* Give the guest frame (copied) after those injected before. 0 or
 * -ENOMEM. */
int tap_pump_inject(struct tap_pump *p, const void *frame, size_t len);

/* Wait up to timeout_ms until every injected frame is with the guest. */
int tap_pump_wait_injected(struct tap_pump *p, int timeout_ms);

void tap_pump_get_stats(struct tap_pump *p, struct tap_pump_stats *out);

/* Stop the thread, drop what waits, delete the device. */
void tap_pump_close(struct tap_pump *p);

#endif /* COLO_TESTS_TAP_PUMP_H */
