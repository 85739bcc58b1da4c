/*
 * colo_net.h - TCP/IP for a guest: Debian's lwIP (raw API, single
 * threaded) on the runtime's NIC.
 *
 * Every byte of lwIP's state (its PCBs, segments, ARP table, timers) is
 * in the guest's memory, so it is replicated with the rest: a client's
 * TCP connection lives on in the secondary's guest.
 *
 * A guest hands its NIC and its timer to the stack and, for a server,
 * registers a listener with colo_tcp_listen():
 *
 *     static int my_start(int argc, char **argv, void *opaque)
 *     {
 *             int ret = colo_net_start(argc, argv);
 *
 *             return ret ? ret : colo_tcp_listen(7, &echo_ops, NULL);
 *     }
 *     static const struct colo_guest_ops ops = {
 *             .start = my_start, .frame = colo_net_frame,
 *             .timer = colo_net_timer, .timer_ms = COLO_NET_TIMER_MS,
 *     };
 *
 * lwIP's raw API (lwip/tcp.h, lwip/udp.h...) stays available for what
 * the helper does not cover; call it only from the runtime's handlers.
 */
#ifndef COLO_NET_H
#define COLO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How often colo_net_timer() wants to run (lwIP's TCP fast timer). */
#define COLO_NET_TIMER_MS	25

/*
 * Bring up lwIP and the guest's one interface: the runtime's MAC, and the
 * address, netmask and gateway from the command line (--ip A.B.C.D
 * --netmask M --gateway G, anywhere in argv; getopt is not used, other
 * arguments are left alone) or else the environment (COLO_GUEST_IP,
 * COLO_GUEST_NETMASK, COLO_GUEST_GATEWAY), as the daemon passes them
 * from colo.conf's [net]. 0, or a negative errno after colo_log() says
 * which value was wrong.
 */
int colo_net_start(int argc, char **argv);

/* The runtime's frame and timer handlers, for struct colo_guest_ops. */
void colo_net_frame(const void *data, size_t len, void *opaque);
void colo_net_timer(void *opaque);
/* ops->announce: after a takeover, every TCP connection makes its peer
 * go on at once (announce.c). */
void colo_net_announce(void *opaque);

/* --- a small TCP server --------------------------------------------------- */

struct colo_tcp_conn;

/*
 * What a server is told. All are called from the runtime's handlers, one
 * at a time. After closed() the connection is gone: forget it.
 */
struct colo_tcp_server_ops {
	/* A client connected. Return the connection's own pointer (handed
	 * to the others), or NULL to refuse it (it is reset). */
	void *(*accept)(struct colo_tcp_conn *c, void *opaque);
	/* Bytes arrived, in order; data is valid during the call only. */
	void (*recv)(struct colo_tcp_conn *c, const void *data, size_t len,
		     void *user);
	/* Optional: queued output fell below COLO_TCP_LOW_WATER bytes. */
	void (*writable)(struct colo_tcp_conn *c, void *user);
	/* The connection ended: the peer closed or reset it, an error, or
	 * colo_tcp_close() finished. */
	void (*closed)(struct colo_tcp_conn *c, void *user);
};

/* Output a connection may queue beyond what TCP takes at once, and the
 * level below which writable() is called. */
#define COLO_TCP_MAX_QUEUED	(1u << 20)
#define COLO_TCP_LOW_WATER	(64u << 10)

/* Listen on port of the guest's address. 0 or a negative errno. */
int colo_tcp_listen(uint16_t port, const struct colo_tcp_server_ops *ops,
		    void *opaque);

/* Queue len bytes (copied) for the client. 0, or -ENOBUFS when that
 * would queue more than COLO_TCP_MAX_QUEUED (nothing is queued then), or
 * -ENOTCONN once it is closing. */
int colo_tcp_send(struct colo_tcp_conn *c, const void *data, size_t len);

/* Bytes queued and not yet acknowledged by the client. */
size_t colo_tcp_queued(const struct colo_tcp_conn *c);

/* Stop (true) or resume (false) taking input: while stopped, received
 * data is not acknowledged and the client's window closes (the way a
 * server that does not read pushes back). */
void colo_tcp_hold_input(struct colo_tcp_conn *c, bool hold);

/* Close once the queued output is sent; closed() follows. */
void colo_tcp_close(struct colo_tcp_conn *c);

#endif /* COLO_NET_H */
