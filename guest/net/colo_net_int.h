/*
 * colo_net_int.h - what the files of guest/net share: the stack's one
 * interface, the TCP helper's connection, and the hooks between them.
 *
 * Not for guests: they see colo_net.h only.
 */
#ifndef COLO_NET_INT_H
#define COLO_NET_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lwip/netif.h>
#include <lwip/pbuf.h>
#include <lwip/tcp.h>

#include "colo_net.h"

/* The largest frame the interface sends or takes: a 1500-byte MTU, the
 * Ethernet header and room for one VLAN tag. */
#define COLO_NET_MTU		1500
#define COLO_NET_FRAME_MAX	(COLO_NET_MTU + 14 + 4)

/* The stack's state outside lwIP's own (all guest memory). */
struct colo_net {
	bool started;			/* colo_net_start() succeeded */
	/* inside colo_net_frame() or colo_net_timer(): output and user
	 * callbacks are left to colo_tcp_settle() at their end */
	bool in_handler;
	struct netif netif;		/* the one interface, on the NIC */
	unsigned char tx[COLO_NET_FRAME_MAX]; /* a chained pbuf, flattened */
	uint64_t frames_in;		/* frames handed to lwIP */
	uint64_t frames_dropped;	/* refused before lwIP: size, type, memory */
	uint64_t send_failures;		/* colo_nic_send() errors (one logged
					 * per run of them) */
};

extern struct colo_net colo_net;

/* rx_guard.c: true for a frame lwIP must not be given (too short or
 * long for the link, IPv6, VLAN, or one it is known to abort on). */
bool colo_net_rx_refused(const unsigned char *frame, size_t len);

/* clock.c: 0, or -ENOEXEC when lwIP does not run on the guest clock
 * (logged). */
int colo_net_clock_check(void);

/* One piece of output the helper took and lwIP could not yet. */
struct colo_tcp_chunk {
	struct colo_tcp_chunk *next;
	size_t len;			/* bytes in data */
	unsigned char data[];
};

/*
 * A connection of the helper: the lwIP pcb it wraps, what came in and
 * was not delivered, what goes out and lwIP could not take yet, and
 * where it is in its life. Flags change only in the helper's own calls
 * and lwIP's callbacks; it is freed only in colo_tcp_settle().
 */
struct colo_tcp_conn {
	struct tcp_pcb *pcb;		/* NULL once lwIP has freed or we have
					 * closed or aborted it */
	const struct colo_tcp_server_ops *ops;	/* its listener's */
	void *user;			/* what accept() returned */
	/* received and neither delivered nor acknowledged (tcp_recved):
	 * one chain, at most one receive window (65535 bytes) long */
	struct pbuf *rx;
	struct colo_tcp_chunk *out_head, *out_tail; /* taken, not yet in lwIP */
	size_t out_off;			/* bytes of out_head already in lwIP */
	size_t out_bytes;		/* bytes in the chunks not yet in lwIP */
	struct colo_tcp_conn *next_pending; /* in the settle queue */
	err_t err;			/* why lwIP ended it (ERR_RST...) */
	bool pending;			/* in the settle queue */
	bool hold;			/* colo_tcp_hold_input(c, true) */
	bool peer_fin;			/* the client sent its FIN */
	bool closing;			/* close once the output is in lwIP */
	bool fatal;			/* lwIP refused a write for good: abort */
	bool gone;			/* pcb is gone: closed() is next */
	bool finishing;			/* closed() is being called */
	bool delivering;		/* inside the recv() delivery loop */
	bool want_writable;		/* writable() when below the low water */
};

/* tcp_server.c: queue c for colo_tcp_settle(). */
void colo_tcp_mark(struct colo_tcp_conn *c);

/*
 * tcp_server.c: the deferred work of every connection queued: deliver
 * released input, push output, writable(), closes, closed() and frees.
 * Run at the end of colo_net_frame() and colo_net_timer() only, so that
 * no user callback ever runs inside one of the helper's own calls.
 */
void colo_tcp_settle(void);

/* tcp_send.c: give lwIP as much of c's queued output as it takes. */
void colo_tcp_push(struct colo_tcp_conn *c);

/* tcp_send.c: tcp_output(): send what lwIP has for c now. */
void colo_tcp_output(struct colo_tcp_conn *c);

/* tcp_send.c: colo_tcp_output() now, or from settle at the end of the
 * handler we are in (so that a handler's writes leave together). */
void colo_tcp_kick(struct colo_tcp_conn *c);

/* tcp_send.c: call writable() if it is due. */
void colo_tcp_check_writable(struct colo_tcp_conn *c);

/* tcp_send.c: drop the output that never made it into lwIP. */
void colo_tcp_out_free(struct colo_tcp_conn *c);

#endif /* COLO_NET_INT_H */
