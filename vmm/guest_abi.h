/*
 * guest_abi.h - the contract between a guest's runtime (libcologuest) and
 * the daemon that runs it: fixed descriptors and addresses, and the
 * messages on the runtime's channel.
 *
 * The channel is an AF_UNIX SOCK_SEQPACKET socketpair between a daemon
 * and the guest it launched on the same host, so records keep their
 * boundaries and use the host's byte order. Every record is a struct
 * colo_guest_msg header, then len bytes of payload.
 *
 *   daemon                         guest runtime
 *   launch ----------------------> init: private mapping, checks, uffd
 *          <---------------------- HELLO (its layout facts, or an error)
 *   START -----------------------> start handler, then the event loop
 *   FRAME_IN(clock) -------------> clock fed (0: none), frame handler,
 *                                  then the timer handler if due
 *   TICK(clock) -----------------> clock fed, the timer handler if due
 *          <---------------------- FRAME_OUT, LOG (any time it runs)
 *   PAUSE(seq) ------------------> at the next event boundary: save the
 *          <---------------------- PAUSED(seq)   context, switch stacks
 *   CMD_*(seq) ------------------> command loop (raw system calls only)
 *          <---------------------- REPLY(seq, result)
 *   CMD_CONTINUE(seq, clock) ----> REPLY, then restore the context that
 *                                  is in its memory (its own, or the one
 *                                  a checkpoint copied in), its clock set
 *                                  to clock (0: its own at the pause)
 *   CANCEL(seq) -----------------> a PAUSE the daemon gave up waiting for:
 *                                  skipped if not yet taken, else the
 *                                  guest continues by itself (at its own
 *                                  clock at the pause)
 *
 * The guest clock (colo_clock_ms()) is the host's CLOCK_MONOTONIC plus an
 * offset the runtime keeps privately. It stands still while the guest is
 * paused, as a VM's virtual clock does: the pause point records it, the
 * LAYOUT reply reports it, and CONTINUE sets the offset so that the guest
 * resumes at the clock it is given. A replica is continued at its
 * primary's clock, so both sides of a pair read the same time even when
 * their hosts' clocks are far apart.
 *
 * Fed clock: the first TICK, or FRAME_IN with a clock, makes the clock
 * the daemon's to drive, for good (a flag in the private mapping: each
 * guest of a pair has its own, a checkpoint does not copy it). The clock
 * then starts at that first clock (whatever its own read), moves only
 * when a TICK or a stamped FRAME_IN brings a later one (an earlier one
 * leaves it), and CONTINUE(clock) sets it (0: it stays). The event loop
 * never wakes by itself for the timer: after a clock moved to or past
 * the next tick, the timer handler runs once, as the unfed loop does
 * when it finds itself late (the next tick then one period from the
 * clock). Two guests given the same event sequence read the same times
 * and run their timers at the same points of it.
 */
#ifndef COLO_GUEST_ABI_H
#define COLO_GUEST_ABI_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#define COLO_GUEST_ABI_VERSION		4

/* Descriptors the runtime owns in the guest. */
#define COLO_GUEST_UFFD_FD		1000	/* its userfaultfd */
#define COLO_GUEST_CHANNEL_FD		1001	/* the channel */

/*
 * The runtime's private mapping: its bookkeeping, buffers and the stack
 * the pause point runs on. Same address in every guest, never tracked by
 * the dirty log, never copied. Far from both the ASLR-off heap
 * (0x5555...) and mmap area (below 0x7fff...).
 */
#define COLO_GUEST_PRIVATE_BASE		0x600000000000ull
#define COLO_GUEST_PRIVATE_SIZE		(4ull << 20)

/* The largest guest clock CONTINUE, TICK and FRAME_IN accept, in ms:
 * about 146 years. The runtime keeps the clock in signed 64-bit ns, and
 * this leaves it as long again to run before it could overflow. */
#define COLO_GUEST_CLOCK_MAX_MS		(INT64_MAX / 2 / 1000000)

/* Largest payload of one record (a jumbo Ethernet frame fits). */
#define COLO_GUEST_MAX_PAYLOAD		(16u << 10)

/* The environment variable that gives both guests of a pair their MAC,
 * written like 52:54:00:c0:10:01; without it, this default. */
#define COLO_GUEST_MAC_ENV		"COLO_GUEST_MAC"
#define COLO_GUEST_MAC_DEFAULT		{ 0x52, 0x54, 0x00, 0xc0, 0x10, 0x01 }

/* Parse a MAC written as six hex pairs with colons; 0 or -EINVAL. */
static inline int colo_mac_parse(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char extra;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &extra) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

/*
 * A host's parameters for its guest's runtime (colo_host_param()): each an
 * environment variable COLO_HOST_<NAME>=<decimal digits>, read at start
 * into the private mapping, so a checkpoint does not carry the primary's
 * into the secondary. At most COLO_GUEST_HOST_PARAMS of them, names of at
 * most COLO_GUEST_HOST_PARAM_NAME_MAX bytes; a malformed one is a refusal
 * in the HELLO.
 */
#define COLO_GUEST_HOST_PARAM_PREFIX	"COLO_HOST_"
#define COLO_GUEST_HOST_PARAMS		8
#define COLO_GUEST_HOST_PARAM_NAME_MAX	31

enum colo_guest_msg_type {
	/* guest -> daemon */
	GUEST_MSG_HELLO = 1,		/* payload: struct colo_guest_hello */
	GUEST_MSG_FRAME_OUT = 2,	/* payload: an Ethernet frame */
	GUEST_MSG_LOG = 3,		/* payload: one line of text */
	GUEST_MSG_PAUSED = 4,		/* seq of the PAUSE it obeys */
	GUEST_MSG_REPLY = 5,		/* seq of the command; arg[0]: result */

	/* daemon -> guest, while it runs */
	GUEST_MSG_START = 32,		/* run the start handler, once */
	/* payload: an Ethernet frame; arg[0]: the guest clock in ms it is
	 * delivered at (fed clock), 0: none (the guest's own clock) */
	GUEST_MSG_FRAME_IN = 33,
	GUEST_MSG_PAUSE = 34,		/* stop at the next event boundary */
	GUEST_MSG_CANCEL = 35,		/* give up PAUSE seq */
	GUEST_MSG_SHUTDOWN = 36,	/* leave the event loop */
	/* arg[0]: the guest clock in ms (fed clock, 1 or more); the timer
	 * handler runs if that brings its tick */
	GUEST_MSG_TICK = 37,
	/* the NIC was moved to another uplink (a takeover): the guest tells
	 * its peers where it is now, as a VM does on virtio-net's
	 * VIRTIO_NET_S_ANNOUNCE after a migration */
	GUEST_MSG_ANNOUNCE = 38,

	/* daemon -> paused guest; each answered by a REPLY */
	GUEST_CMD_LAYOUT = 64,		/* reply payload: colo_guest_layout */
	GUEST_CMD_BRK = 65,		/* arg[0]: new program break */
	GUEST_CMD_MMAP = 66,		/* addr, len, prot, flags (MAP_FIXED added) */
	GUEST_CMD_MUNMAP = 67,		/* addr, len */
	GUEST_CMD_MPROTECT = 68,	/* addr, len, prot */
	GUEST_CMD_GROW_STACK = 69,	/* arg[0]: lowest address to reach */
	GUEST_CMD_SET_TID = 70,		/* put its own TID back in its TCB */
	/* arg[0]: the guest clock in ms to resume at, 0: its own at the
	 * pause. Reply 0, then resume the saved context; or -EINVAL (over
	 * COLO_GUEST_CLOCK_MAX_MS) and stay paused. */
	GUEST_CMD_CONTINUE = 71,
};

struct colo_guest_msg {
	uint32_t type;			/* enum colo_guest_msg_type */
	uint32_t len;			/* payload bytes after this header */
	uint64_t seq;			/* pairs PAUSE/PAUSED, CMD/REPLY */
	uint64_t arg[4];		/* command arguments; REPLY: arg[0] */
};

/* Sent once at start. error != 0: the guest refused to run; why says so. */
struct colo_guest_hello {
	uint32_t version;		/* COLO_GUEST_ABI_VERSION */
	int32_t error;			/* 0, or a negative errno */
	int32_t pid;			/* its pid, as it sees it */
	int32_t tid;			/* its TID (= pid: single-threaded) */
	uint64_t ctx_addr;		/* its saved context, in guest RAM */
	uint64_t tid_addr;		/* the TID field of its TCB */
	uint64_t private_base;		/* COLO_GUEST_PRIVATE_BASE */
	uint64_t private_len;		/* COLO_GUEST_PRIVATE_SIZE */
	char why[256];			/* the refusal, for the operator */
};

/* Reply to GUEST_CMD_LAYOUT: what /proc/PID/maps cannot say. */
struct colo_guest_layout {
	uint64_t brk;			/* exact program break */
	uint64_t ctx_addr;		/* its saved context, in guest RAM */
	uint64_t saved_rsp;		/* stack pointer at the pause point */
	uint64_t tid_addr;		/* the TID field of its TCB */
	int32_t tid;			/* its own TID (kept privately) */
	int32_t pad;			/* zero */
	uint64_t clock_ms;		/* its guest clock at the pause */
};

#endif /* COLO_GUEST_ABI_H */
