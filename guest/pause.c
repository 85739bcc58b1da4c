/*
 * pause.c - the guest's pause point: a command loop on a private stack.
 *
 * Entered from the event loop after the register context was saved into
 * guest memory. From here until CONTINUE the daemon may rewrite all of
 * this process's memory, its TLS included (so the stack-protector canary
 * changes under us): this file is built without the stack protector and
 * without libc calls, touches only the private mapping, and makes raw
 * system calls.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>

#include "raw_syscall.h"
#include "runtime_int.h"

static void zero(volatile unsigned char *p, size_t n)
{
	while (n--)
		*p++ = 0;
}

static long send_record(struct colo_runtime *rt, uint32_t type, uint64_t seq,
			long result, const void *payload, uint32_t len)
{
	struct colo_guest_msg *m = (struct colo_guest_msg *)rt->tx;
	volatile unsigned char *dst = rt->tx + sizeof(*m);
	const unsigned char *src = payload;

	zero(rt->tx, sizeof(*m));
	m->type = type;
	m->len = len;
	m->seq = seq;
	m->arg[0] = (uint64_t)result;
	for (uint32_t i = 0; i < len; i++)
		dst[i] = src[i];
	return raw_syscall6(SYS_sendto, rt->chan, (long)rt->tx,
			    (long)(sizeof(*m) + len), MSG_NOSIGNAL, 0, 0);
}

/* The host's CLOCK_MONOTONIC in ns, by the system call: clock_gettime()
 * is libc's, and this path calls none of it. */
static int64_t host_now_ns(void)
{
	struct timespec ts = { 0, 0 };

	raw_syscall3(SYS_clock_gettime, CLOCK_MONOTONIC, &ts, 0);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Leave the pause with the guest clock at clock_ms (0: where it stood at
 * the pause): the offset makes the clock read that now and run on from
 * there; a fed clock is simply set (it moves with the daemon's clocks
 * only). -EINVAL, and nothing changed, if clock_ms does not fit.
 */
static long set_clock(struct colo_runtime *rt, uint64_t clock_ms)
{
	int64_t at = rt->pause_clock_ns;

	if (clock_ms > (uint64_t)COLO_GUEST_CLOCK_MAX_MS)
		return -EINVAL;
	if (clock_ms)
		at = (int64_t)clock_ms * 1000000;
	if (rt->fed)
		rt->fed_clock_ns = at;
	else
		rt->clock_offset_ns = at - host_now_ns();
	return 0;
}

static long layout(struct colo_runtime *rt, struct colo_guest_layout *l)
{
	zero((volatile unsigned char *)l, sizeof(*l));
	l->brk = (uint64_t)raw_syscall3(SYS_brk, 0, 0, 0);
	l->ctx_addr = (uint64_t)(uintptr_t)rt->ctx;
	l->saved_rsp = rt->ctx->rsp;
	l->tid_addr = rt->tid_addr;
	l->tid = rt->tid;
	l->clock_ms = (uint64_t)rt->pause_clock_ns / 1000000;
	return 0;
}

/* Reach down to addr so the kernel grows the stack mapping to it. */
static long grow_stack(uint64_t addr)
{
	volatile unsigned char *p = (volatile unsigned char *)(uintptr_t)
				    (addr & ~(uint64_t)4095);

	(void)*p;
	return 0;
}

static void __attribute__((noreturn)) exit_now(int code)
{
	raw_syscall3(SYS_exit_group, code, 0, 0);
	for (;;)
		;
}

void colo_pause_loop(void)
{
	struct colo_runtime *rt = COLO_RT;
	struct colo_guest_layout l;

	/* guest time stands still from here until CONTINUE (a fed clock
	 * does anyway: the daemon sends a paused guest no TICK) */
	rt->pause_clock_ns = colo_rt_guest_ns(host_now_ns());
	send_record(rt, GUEST_MSG_PAUSED, rt->pause_seq, 0, NULL, 0);
	for (;;) {
		struct colo_guest_msg *m = (struct colo_guest_msg *)rt->rx;
		long n = raw_syscall6(SYS_recvfrom, rt->chan, (long)rt->rx,
				      sizeof(rt->rx), 0, 0, 0);
		long res;

		if (n == -EINTR)
			continue;
		if (n < (long)sizeof(*m))
			exit_now(1);	/* the daemon is gone */
		switch (m->type) {
		case GUEST_CMD_LAYOUT:
			layout(rt, &l);
			send_record(rt, GUEST_MSG_REPLY, m->seq, 0, &l, sizeof(l));
			continue;
		case GUEST_CMD_BRK:
			res = raw_syscall3(SYS_brk, m->arg[0], 0, 0);
			break;
		case GUEST_CMD_MMAP:
			res = raw_syscall6(SYS_mmap, (long)m->arg[0], (long)m->arg[1],
					   (long)m->arg[2],
					   (long)(m->arg[3] | MAP_FIXED), -1, 0);
			break;
		case GUEST_CMD_MUNMAP:
			res = raw_syscall3(SYS_munmap, m->arg[0], m->arg[1], 0);
			break;
		case GUEST_CMD_MPROTECT:
			res = raw_syscall3(SYS_mprotect, m->arg[0], m->arg[1],
					   m->arg[2]);
			break;
		case GUEST_CMD_GROW_STACK:
			res = grow_stack(m->arg[0]);
			break;
		case GUEST_CMD_SET_TID:
			*(volatile int32_t *)(uintptr_t)rt->tid_addr = rt->tid;
			res = 0;
			break;
		case GUEST_CMD_CONTINUE:
			res = set_clock(rt, m->arg[0]);
			send_record(rt, GUEST_MSG_REPLY, m->seq, res, NULL, 0);
			if (res)
				continue;	/* refused: still paused */
			colo_context_restore(rt->ctx);
		case GUEST_MSG_CANCEL:
			if (m->seq != rt->pause_seq)
				continue;
			set_clock(rt, 0);
			colo_context_restore(rt->ctx);
		case GUEST_MSG_PAUSE:
			rt->pause_seq = m->seq;
			send_record(rt, GUEST_MSG_PAUSED, m->seq, 0, NULL, 0);
			continue;
		case GUEST_MSG_SHUTDOWN:
			exit_now(0);
		default:
			res = -EINVAL;	/* not a command while paused */
			break;
		}
		send_record(rt, GUEST_MSG_REPLY, m->seq, res, NULL, 0);
	}
}
