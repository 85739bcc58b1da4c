/*
 * tcp_server.c - the colo_tcp_* server over lwIP's raw TCP API: listen,
 * accept, input (held or not), errors, close, and the settle queue that
 * runs the deferred work. Output is tcp_send.c.
 *
 * How it maps to lwIP:
 *   colo_tcp_listen()  tcp_new_ip_type(V4), tcp_bind() to the interface's
 *                      address, tcp_listen_with_backlog_and_err(),
 *                      tcp_accept(on_accept).
 *   on_accept          a struct colo_tcp_conn per pcb: tcp_arg, tcp_recv,
 *                      tcp_sent, tcp_err, tcp_poll; Nagle off (replies go
 *                      out when the handler ends, see tcp_send.c). accept()
 *                      returning NULL: ERR_VAL, and lwIP resets the pcb.
 *   on_recv            each pbuf of the chain to recv(), then tcp_recved()
 *                      for its bytes, which reopens the window. Held input
 *                      is kept unacknowledged in c->rx (so the window
 *                      closes) and delivered when released.
 *   p == NULL (FIN)    once all input is delivered and not held, a close:
 *                      the queued output goes, then tcp_close() sends our
 *                      FIN, then closed().
 *   on_err             lwIP has freed the pcb (reset, retransmissions or
 *                      zero-window probes given up): closed().
 *   on_poll            every 500 ms: retry what lwIP refused for memory
 *                      (writes, the FIN).
 *   colo_tcp_close()   the same close as for a FIN. Input still held is
 *                      dropped and acknowledged first: tcp_close() of a
 *                      pcb with unacknowledged input sends a RST instead.
 *
 * Re-entry: lwIP calls us from inside tcp_input() and its timers, and we
 * call the user from there; the user calls us back. So nothing is freed
 * and no closed() or writable() is called from a callback of lwIP or a
 * call of the user: they mark the connection (colo_tcp_mark) and
 * colo_tcp_settle(), at the end of colo_net_frame() and colo_net_timer(),
 * does the work, connection by connection, until none is left. Only
 * recv() is called from inside lwIP's input, for data as it arrives.
 * A release or close the user asks for outside those two handlers (in
 * start, say) happens at the next frame or tick (COLO_NET_TIMER_MS).
 * The queue costs O(1) a mark; unmark (a refused accept only) O(queue).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <lwip/err.h>
#include <lwip/pbuf.h>
#include <lwip/tcp.h>

#include "colo_guest.h"
#include "colo_net_int.h"

/* tcp_poll() interval, in lwIP's 500 ms coarse ticks. */
#define COLO_TCP_POLL_TICKS	1
/* Held input is merged into one pbuf once its chain is this long: a
 * client sending one byte a segment cannot make us keep a pbuf (and a
 * frame-sized buffer) per byte of the window. */
#define COLO_TCP_RX_MAX_PBUFS	16

struct colo_tcp_listener {
	struct tcp_pcb *pcb;		/* the listening pcb */
	const struct colo_tcp_server_ops *ops;
	void *opaque;			/* handed to accept() */
};

/* Connections with deferred work, in order; each at most once. */
static struct colo_tcp_conn *pending_head, *pending_tail;

void colo_tcp_mark(struct colo_tcp_conn *c)
{
	if (c->pending || c->finishing)
		return;
	c->pending = true;
	c->next_pending = NULL;
	if (pending_tail)
		pending_tail->next_pending = c;
	else
		pending_head = c;
	pending_tail = c;
}

/* Take c off the settle queue (a refused accept). O(queue). */
static void unmark(struct colo_tcp_conn *c)
{
	struct colo_tcp_conn **pp = &pending_head, *prev = NULL;

	if (!c->pending)
		return;
	while (*pp && *pp != c) {
		prev = *pp;
		pp = &(*pp)->next_pending;
	}
	if (*pp)
		*pp = c->next_pending;
	if (pending_tail == c)
		pending_tail = prev;
	c->pending = false;
}

/* lwIP calls nothing of ours for this pcb from now on. */
static void detach(struct tcp_pcb *pcb)
{
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
	tcp_poll(pcb, NULL, 0);
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err);
static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len);
static void on_err(void *arg, err_t err);
static err_t on_poll(void *arg, struct tcp_pcb *pcb);

static void attach(struct colo_tcp_conn *c)
{
	tcp_arg(c->pcb, c);
	tcp_recv(c->pcb, on_recv);
	tcp_sent(c->pcb, on_sent);
	tcp_err(c->pcb, on_err);
	tcp_poll(c->pcb, on_poll, COLO_TCP_POLL_TICKS);
}

static void rx_free(struct colo_tcp_conn *c)
{
	if (c->rx)
		pbuf_free(c->rx);
	c->rx = NULL;
}

/*
 * Deliver c->rx to recv(), a pbuf at a time, acknowledging each after
 * the call, until it is empty, held or closing. recv() may hold, close,
 * send, or release another connection; it cannot free c (only settle
 * does). Not re-entered: a release from inside recv() just lets this
 * loop go on.
 */
static void deliver(struct colo_tcp_conn *c)
{
	if (c->delivering)
		return;
	c->delivering = true;
	while (c->rx && !c->hold && !c->closing && !c->gone) {
		struct pbuf *q = c->rx;
		u16_t n = q->len;

		/* the rest of the chain keeps the reference q held */
		c->rx = q->next;
		q->next = NULL;
		if (n)
			c->ops->recv(c, q->payload, n, c->user);
		pbuf_free(q);
		if (n && c->pcb)
			tcp_recved(c->pcb, n);
	}
	c->delivering = false;
}

/* tcp_recv: data in order, or NULL for the client's FIN. */
static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct colo_tcp_conn *c = arg;

	(void)err;			/* always ERR_OK in lwIP 2.1 */
	if (!c || c->closing || c->gone) {
		/* input after we closed: taken and dropped, as the close
		 * already dropped what was held */
		if (p) {
			tcp_recved(pcb, p->tot_len);
			pbuf_free(p);
		}
		return ERR_OK;
	}
	if (!p) {
		c->peer_fin = true;
		colo_tcp_mark(c);
		return ERR_OK;
	}
	if (c->rx) {
		/* cannot be: both are within one 65535-byte window; if it
		 * were, lwIP keeps p (refused_data) and offers it again */
		if ((u32_t)c->rx->tot_len + p->tot_len > 0xffffu)
			return ERR_MEM;
		pbuf_cat(c->rx, p);
		if (pbuf_clen(c->rx) > COLO_TCP_RX_MAX_PBUFS)
			c->rx = pbuf_coalesce(c->rx, PBUF_RAW); /* or as it was */
	} else {
		c->rx = p;
	}
	deliver(c);
	return ERR_OK;
}

/* tcp_sent: the client acknowledged len bytes: room for more output. */
static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct colo_tcp_conn *c = arg;

	(void)pcb;
	(void)len;
	if (c) {
		colo_tcp_push(c);
		colo_tcp_mark(c);	/* writable(), a close waiting */
	}
	return ERR_OK;
}

/* tcp_err: the pcb is already freed; err says why (ERR_RST, ERR_ABRT). */
static void on_err(void *arg, err_t err)
{
	struct colo_tcp_conn *c = arg;

	if (!c)
		return;
	c->pcb = NULL;
	c->gone = true;
	c->err = err;
	colo_tcp_mark(c);
}

/* tcp_poll: every COLO_TCP_POLL_TICKS; retries happen in settle. */
static err_t on_poll(void *arg, struct tcp_pcb *pcb)
{
	struct colo_tcp_conn *c = arg;

	(void)pcb;
	if (c && (c->out_head || c->closing || c->fatal))
		colo_tcp_mark(c);
	return ERR_OK;
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct colo_tcp_listener *l = arg;
	struct colo_tcp_conn *c;
	void *user;

	/* lwIP could not allocate a pcb for a new client (pcb NULL) */
	if (err != ERR_OK || !pcb || !l)
		return ERR_VAL;
	c = calloc(1, sizeof(*c));
	if (!c) {
		colo_log("colo_net: no memory for a TCP connection: refused");
		return ERR_MEM;		/* lwIP aborts pcb */
	}
	c->pcb = pcb;
	c->ops = l->ops;
	attach(c);
	tcp_nagle_disable(pcb);
	user = l->ops->accept(c, l->opaque);
	if (!user) {
		/* refused: lwIP resets it on our error; forget whatever
		 * accept() did with c */
		detach(pcb);
		unmark(c);
		colo_tcp_out_free(c);
		free(c);
		return ERR_VAL;
	}
	c->user = user;
	return ERR_OK;
}

int colo_tcp_listen(uint16_t port, const struct colo_tcp_server_ops *ops,
		    void *opaque)
{
	struct colo_tcp_listener *l;
	struct tcp_pcb *pcb, *lpcb;
	err_t err;
	int ret = -ENOMEM;

	if (!colo_net.started) {
		colo_log("colo_net: colo_tcp_listen(%u) before colo_net_start()",
			 port);
		return -ENETDOWN;
	}
	if (!port || !ops || !ops->accept || !ops->recv || !ops->closed) {
		colo_log("colo_net: colo_tcp_listen(%u): a port and the "
			 "accept, recv and closed handlers are needed", port);
		return -EINVAL;
	}
	l = calloc(1, sizeof(*l));
	pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
	if (!l || !pcb) {
		colo_log("colo_net: no memory to listen on TCP port %u", port);
		goto fail;
	}
	err = tcp_bind(pcb, &colo_net.netif.ip_addr, port);
	if (err != ERR_OK) {
		ret = -err_to_errno(err);	/* ERR_USE: EADDRINUSE */
		colo_log("colo_net: cannot listen on TCP port %u: tcp_bind: %s",
			 port, strerror(-ret));
		goto fail;
	}
	lpcb = tcp_listen_with_backlog_and_err(pcb, TCP_DEFAULT_LISTEN_BACKLOG,
					       &err);
	if (!lpcb) {
		ret = -err_to_errno(err);
		colo_log("colo_net: cannot listen on TCP port %u: tcp_listen: %s",
			 port, strerror(-ret));
		goto fail;
	}
	/* the bound pcb was freed; the listening one replaces it */
	l->pcb = lpcb;
	l->ops = ops;
	l->opaque = opaque;
	tcp_arg(lpcb, l);
	tcp_accept(lpcb, on_accept);
	return 0;
fail:
	if (pcb && tcp_close(pcb) != ERR_OK)
		tcp_abort(pcb);
	free(l);
	return ret;
}

/* Abort c's pcb (a RST goes out) at the top level. */
static void conn_abort(struct colo_tcp_conn *c)
{
	if (c->pcb) {
		detach(c->pcb);
		tcp_abort(c->pcb);
	}
	c->pcb = NULL;
	c->gone = true;
	c->err = ERR_ABRT;
}

/*
 * The close: once the helper's own queue is in lwIP, drop held input
 * (acknowledged, so that tcp_close() sends a FIN and not a RST), then
 * tcp_close(): lwIP sends what it has, then the FIN, and frees the pcb
 * itself when it is done. ERR_MEM (no room for the FIN): retried from
 * on_poll or the next ACK.
 */
static void conn_try_close(struct colo_tcp_conn *c)
{
	struct tcp_pcb *pcb = c->pcb;
	err_t err;

	if (c->out_head || !pcb)
		return;
	if (c->rx) {
		u16_t n = c->rx->tot_len;

		rx_free(c);
		tcp_recved(pcb, n);
	}
	/* before: tcp_close() may free the pcb at once */
	detach(pcb);
	err = tcp_close(pcb);
	if (err != ERR_OK) {
		attach(c);
		return;
	}
	c->pcb = NULL;
	c->gone = true;
}

/* closed(), once, then c is freed. */
static void conn_finish(struct colo_tcp_conn *c)
{
	c->finishing = true;
	rx_free(c);
	colo_tcp_out_free(c);
	c->ops->closed(c, c->user);
	free(c);
}

static void conn_settle(struct colo_tcp_conn *c)
{
	if (c->fatal && !c->gone)
		conn_abort(c);
	if (!c->gone) {
		deliver(c);
		colo_tcp_push(c);
		colo_tcp_check_writable(c);
		if (c->peer_fin && !c->rx && !c->hold)
			c->closing = true;
		if (c->closing && !c->gone)
			conn_try_close(c);
		colo_tcp_output(c);
	}
	if (c->gone)
		conn_finish(c);
}

void colo_tcp_settle(void)
{
	struct colo_tcp_conn *c;

	/* what the work marks again joins the end of the queue */
	while ((c = pending_head)) {
		pending_head = c->next_pending;
		if (!pending_head)
			pending_tail = NULL;
		c->pending = false;
		conn_settle(c);
	}
}

void colo_tcp_hold_input(struct colo_tcp_conn *c, bool hold)
{
	if (c->hold == hold)
		return;
	c->hold = hold;
	if (!hold)
		colo_tcp_mark(c);	/* delivered from settle */
}

void colo_tcp_close(struct colo_tcp_conn *c)
{
	if (c->closing || c->gone)
		return;
	c->closing = true;
	colo_tcp_mark(c);
}
