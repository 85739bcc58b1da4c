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
	/* one record in, one record out (both paths, never at once) */
	unsigned char rx[sizeof(struct colo_guest_msg) + COLO_GUEST_MAX_PAYLOAD];
	unsigned char tx[sizeof(struct colo_guest_msg) + 512];
};

#define COLO_RT		((struct colo_runtime *)(uintptr_t)COLO_GUEST_PRIVATE_BASE)
#define COLO_RT_STACK_TOP \
	((void *)(uintptr_t)(COLO_GUEST_PRIVATE_BASE + COLO_GUEST_PRIVATE_SIZE))

/* The guest clock, in ns, at host CLOCK_MONOTONIC time host_ns. */
static inline int64_t colo_rt_guest_ns(int64_t host_ns)
{
	return host_ns + COLO_RT->clock_offset_ns;
}

/* The pause path: runs on the private stack, never returns. */
void colo_pause_loop(void) __attribute__((noreturn));

#endif /* COLO_GUEST_RUNTIME_INT_H */
