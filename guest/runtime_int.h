/*
 * runtime_int.h - the runtime's own state, in its private mapping.
 *
 * It sits at COLO_GUEST_PRIVATE_BASE in every guest, is never tracked nor
 * copied, and so stays this process's own while a checkpoint overwrites
 * the rest of its memory. The pause path's stack is the top of the same
 * mapping. Everything a copy must carry (the saved context, the started
 * flag) lives in guest memory instead.
 */
#ifndef COLO_GUEST_RUNTIME_INT_H
#define COLO_GUEST_RUNTIME_INT_H

#include <stdint.h>

#include "context.h"
#include "guest_abi.h"

struct colo_runtime {
	int chan;			/* COLO_GUEST_CHANNEL_FD */
	int32_t tid;			/* this process's own TID */
	uint64_t tid_addr;		/* TID field of its TCB (in guest RAM) */
	uint64_t pause_seq;		/* the PAUSE being obeyed */
	struct colo_context *ctx;	/* the saved context, in guest RAM */
	/* guest clock - host CLOCK_MONOTONIC, in ns: set by each CONTINUE
	 * (and CANCEL) so that the guest clock stands still while paused and
	 * a replica resumes at its primary's clock; 0 until the first one */
	int64_t clock_offset_ns;
	int64_t pause_clock_ns;		/* guest clock when the pause began */
	/* fed clock mode (guest_abi.h): on from the first TICK or stamped
	 * FRAME_IN on; the guest clock is then fed_clock_ns, moved only by
	 * the daemon's clocks and by CONTINUE */
	int fed;
	int64_t fed_clock_ns;
	/* this host's parameters (COLO_HOST_<NAME>), never replicated */
	unsigned host_params;		/* entries used in host_param[] */
	struct colo_host_param {
		char name[COLO_GUEST_HOST_PARAM_NAME_MAX + 1];
		long value;		/* 0..LONG_MAX */
	} host_param[COLO_GUEST_HOST_PARAMS];
	/* one record in, one record out (both paths, never at once) */
	unsigned char rx[sizeof(struct colo_guest_msg) + COLO_GUEST_MAX_PAYLOAD];
	unsigned char tx[sizeof(struct colo_guest_msg) + 512];
};

#define COLO_RT		((struct colo_runtime *)(uintptr_t)COLO_GUEST_PRIVATE_BASE)
#define COLO_RT_STACK_TOP \
	((void *)(uintptr_t)(COLO_GUEST_PRIVATE_BASE + COLO_GUEST_PRIVATE_SIZE))

/* The guest clock, in ns, at host CLOCK_MONOTONIC time host_ns (which a
 * fed clock ignores). */
static inline int64_t colo_rt_guest_ns(int64_t host_ns)
{
	if (COLO_RT->fed)
		return COLO_RT->fed_clock_ns;
	return host_ns + COLO_RT->clock_offset_ns;
}

/* The pause path: runs on the private stack, never returns. */
void colo_pause_loop(void) __attribute__((noreturn));

#endif /* COLO_GUEST_RUNTIME_INT_H */
