/*
 * guest.h - launching a guest (guest_launch.c) and driving its runtime
 * over the channel (guest_channel.c): the daemon's side of guest_abi.h.
 *
 * A guest is launched so that two launches with the same parameters share
 * one address layout byte for byte: ASLR off, one execve path, argv and
 * environment, a finite RLIMIT_STACK and RLIMIT_NOFILE 1024, rseq off,
 * cwd "/", umask 022, default signal dispositions and an empty mask, its
 * own process group, stdin /dev/null, and no descriptors but 0-2 and the
 * runtime's channel. Its runtime checks the same from inside
 * and refuses to run, saying why, where something is off.
 */
#ifndef COLO_GUEST_H_DAEMON
#define COLO_GUEST_H_DAEMON

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "guest_abi.h"

#define GUEST_STACK_LIMIT_DEFAULT	(8ull << 20)
#define GUEST_HELLO_TIMEOUT_MS		5000
/* Default bound on a command's reply. A daemon gives less: its event loop
 * waits this long, and its peer must not take it for lost meanwhile. */
#define GUEST_CMD_TIMEOUT_MS		5000
/* RLIMIT_NOFILE of guests: the same everywhere, and above the runtime's
 * fixed descriptors */
#define GUEST_NOFILE			1024
/* Bytes of struct guest's rx: one record of the channel, with the largest
 * payload the runtime may send */
#define GUEST_RX_SIZE	(sizeof(struct colo_guest_msg) + COLO_GUEST_MAX_PAYLOAD)

struct guest;

/* A frame the guest sent; data is valid during the call only. */
typedef void (*guest_frame_fn)(struct guest *g, const void *frame,
			       size_t len, void *opaque);

struct guest_params {
	const char *name;		/* in logs: "A", "primary guest" */
	const char *path;		/* absolute path of the guest binary */
	char *const *argv;		/* argv[0] included, NULL-terminated */
	char *const *env;		/* extra NAME=VALUE, NULL-terminated, or NULL */
	const char *mac;		/* NULL: the runtime's default */
	uint64_t stack_limit;		/* RLIMIT_STACK; 0: 8 MiB */
	int stdout_fd;			/* -1: /dev/null */
	int stderr_fd;			/* -1: /dev/null */
	int cmd_timeout_ms;		/* bound on a command's reply; 0:
					 * GUEST_CMD_TIMEOUT_MS */
	guest_frame_fn on_frame;	/* NULL: frames are dropped */
	void *opaque;			/* handed to on_frame */
};

struct guest {
	char name[32];			/* in logs */
	pid_t pid;			/* the guest process, our child */
	int chan;			/* our end of the runtime channel */
	struct colo_guest_hello hello;	/* what its runtime reported at start */
	uint64_t next_seq;		/* seq of the last PAUSE or command sent */
	bool paused;			/* stopped at its pause point */
	uint64_t cancelled_seq;		/* the last PAUSE we gave up waiting for */
	bool chan_full;			/* the last send found the channel full */
	int cmd_timeout_ms;		/* bound on a command's reply */
	int exit_status;		/* waitpid status once it is gone */
	bool exited;			/* reaped */
	guest_frame_fn on_frame;	/* from guest_params */
	void *opaque;			/* from guest_params */
	unsigned char *rx;		/* one record, GUEST_RX_SIZE bytes */
};

/* A command's nonzero result as a negative errno: one in -4095..-1 is
 * its own, anything else (a broken guest) -EPROTO, never 0. */
static inline int guest_result_errno(int64_t res)
{
	return res < 0 && res >= -4095 ? (int)res : -EPROTO;
}

/* Launch and wait for the runtime's hello. 0, or a negative errno with
 * the reason logged (a refusal by the runtime included). */
int guest_launch(struct guest *g, const struct guest_params *p);

/* Run the guest's start handler. */
int guest_start(struct guest *g);

/*
 * Give the guest a frame, delivered at guest clock clock_ms (fed clock,
 * guest_abi.h; 0: none, the guest's own clock). -EBUSY while it is
 * paused, -EINVAL (logged) for a clock over COLO_GUEST_CLOCK_MAX_MS;
 * never blocks: -EAGAIN when its channel is full.
 */
int guest_send_frame_at(struct guest *g, const void *frame, size_t len,
			uint64_t clock_ms);

/* guest_send_frame_at(g, frame, len, 0). */
int guest_send_frame(struct guest *g, const void *frame, size_t len);

/*
 * Move the guest's fed clock to clock_ms (1 to COLO_GUEST_CLOCK_MAX_MS,
 * else -EINVAL, logged); its timer handler runs if that brings its
 * tick. The first one puts the guest in fed clock mode for good. -EBUSY
 * while it is paused; never blocks: -EAGAIN when its channel is full.
 */
int guest_send_tick(struct guest *g, uint64_t clock_ms);

/* Tell the running guest its NIC was moved (a takeover): its announce
 * handler runs. -EBUSY while it is paused; never blocks: -EAGAIN when
 * its channel is full. */
int guest_announce(struct guest *g);

/* Handle what the guest sent (frames, log lines), waiting up to
 * timeout_ms for the first record. 0, or -EPIPE once the guest is gone. */
int guest_poll(struct guest *g, int timeout_ms);

/*
 * Stop the guest at its next event boundary. A guest busy in a handler
 * gets timeout_ms to finish it; after that the stop is cancelled, the
 * guest keeps running and -ETIMEDOUT is returned. While the guest has
 * not read the cancelled PAUSE, another stop sends nothing and gives
 * -ETIMEDOUT at once: a stuck guest is sent one PAUSE and one CANCEL,
 * however often it is tried. No send blocks: a full channel is -EAGAIN.
 */
int guest_stop(struct guest *g, int timeout_ms);

/*
 * A command to the paused guest; *result is its return value (-errno of
 * a system call, say). reply/reply_len take a payload, if any. Waits up
 * to the guest's cmd_timeout_ms for the reply, then gives -ETIMEDOUT; a
 * reply that comes after that is dropped when it arrives.
 */
int guest_cmd(struct guest *g, uint32_t cmd, const uint64_t arg[4],
	      int64_t *result, void *reply, size_t reply_len);

/* What the paused guest reports of itself, its clock at the pause too. */
int guest_layout(struct guest *g, struct colo_guest_layout *l);

/*
 * Resume the context saved in the guest's memory with its guest clock at
 * clock_ms (0: where it stood at the pause; a replica is given its
 * primary's clock from guest_layout()). 0 if it is not paused. -EINVAL
 * (logged) if the guest refuses the clock: it stays paused (so it does
 * with -EPROTO, a result that is no errno). -ETIMEDOUT if it did not
 * answer in time: it is then taken as running.
 */
int guest_continue_at(struct guest *g, uint64_t clock_ms);

/* guest_continue_at(g, 0): resume at its own clock. */
int guest_continue(struct guest *g);

/* Ask the guest to leave its event loop, wait up to timeout_ms, then kill
 * it; reaps it and closes the channel. Safe on a dead or unlaunched guest. */
void guest_destroy(struct guest *g, int timeout_ms);

#endif /* COLO_GUEST_H_DAEMON */
