/*
 * tcp_send.c - a connection's output: lwIP's send buffer first, then a
 * bounded queue of our own for what it cannot take now.
 *
 * How it maps to lwIP:
 *   lwIP's send buffer is TCP_SND_BUF (65535 bytes here) per pcb;
 *   tcp_sndbuf() is what is left of it. tcp_write(TCP_WRITE_FLAG_COPY)
 *   copies into segments and either takes all it is given or nothing
 *   (ERR_MEM: no room in the buffer, too many segments queued
 *   (TCP_SND_QUEUELEN), or no memory). What does not fit waits in
 *   c->out_head.. as chunks, pushed by on_sent (the client acknowledged
 *   data) and on_poll (every 500 ms, for ERR_MEM with nothing in flight).
 *   tcp_output() sends what is queued in lwIP: inside tcp_input() lwIP
 *   defers it to the end of the input itself; inside our handlers we
 *   leave it to colo_tcp_settle(), so that all a handler wrote goes out
 *   in as few segments as lwIP can make of it (Nagle is off).
 *
 * A host's TX segment size (COLO_HOST_TX_SEGMENT=N, colo_host_param(); a
 * test knob, so that two guests of a pair send the same bytes in
 * different segments): everything goes through the chunks, handed to
 * lwIP N bytes at a time, each sent (tcp_output) before the next is
 * written, since tcp_write() appends to a segment not yet sent. A piece
 * that cannot go now (window, congestion) waits in lwIP, and the next
 * one waits for the ACK that sends it. Unset, none of this runs.
 *
 * colo_tcp_queued() = the chunks + what lwIP holds unacknowledged
 * (TCP_SND_BUF - tcp_sndbuf()); COLO_TCP_MAX_QUEUED bounds that sum, so
 * a connection whose client does not read holds at most ~1 MiB of
 * output however much its server sends.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <lwip/tcp.h>

#include "colo_guest.h"
#include "colo_net_int.h"

size_t colo_tcp_queued(const struct colo_tcp_conn *c)
{
	size_t in_lwip = 0;

	if (c->pcb)
		in_lwip = (size_t)TCP_SND_BUF - tcp_sndbuf(c->pcb);
	return c->out_bytes + in_lwip;
}

void colo_tcp_out_free(struct colo_tcp_conn *c)
{
	while (c->out_head) {
		struct colo_tcp_chunk *k = c->out_head;

		c->out_head = k->next;
		free(k);
	}
	c->out_tail = NULL;
	c->out_off = 0;
	c->out_bytes = 0;
}

/* A write lwIP refused for good (the pcb cannot send any more). */
static void write_failed(struct colo_tcp_conn *c, err_t err)
{
	if (!c->fatal)
		colo_log("colo_net: tcp_write failed: %s; the connection is "
			 "reset", strerror(err_to_errno(err)));
	c->fatal = true;
	colo_tcp_mark(c);		/* aborted from settle */
}

/*
 * The host's TX segment size, 0 when it gave none. Asked of the runtime
 * at each use and never kept in guest memory: a checkpoint would carry
 * the primary's into the secondary.
 */
static size_t tx_segment(void)
{
	long seg = colo_host_param("TX_SEGMENT");

	return seg > 0 ? (size_t)seg : 0;
}

void colo_tcp_push(struct colo_tcp_conn *c)
{
	size_t seg = tx_segment();

	while (c->out_head && c->pcb && !c->fatal) {
		struct colo_tcp_chunk *k = c->out_head;
		size_t left = k->len - c->out_off, n = left;
		u8_t flags = TCP_WRITE_FLAG_COPY;
		err_t err;

		if (n > tcp_sndbuf(c->pcb))
			n = tcp_sndbuf(c->pcb);
		if (seg && n > seg)
			n = seg;
		if (!n)
			break;		/* full: the next ACK calls us */
		if (seg && c->pcb->unsent)
			break;		/* it would join that segment */
		if (n < left || k->next)
			flags |= TCP_WRITE_FLAG_MORE;	/* no PSH yet */
		err = tcp_write(c->pcb, k->data + c->out_off, (u16_t)n, flags);
		if (err == ERR_MEM)
			break;		/* segments or memory: ACK or poll retries */
		if (err != ERR_OK) {
			write_failed(c, err);
			return;
		}
		c->out_off += n;
		c->out_bytes -= n;
		if (c->out_off == k->len) {
			c->out_head = k->next;
			if (!c->out_head)
				c->out_tail = NULL;
			c->out_off = 0;
			free(k);
		}
		if (seg)
			colo_tcp_output(c);	/* a segment of its own */
	}
}

void colo_tcp_output(struct colo_tcp_conn *c)
{
	/* An error here (no route, no ARP entry yet, the NIC) is not the
	 * connection's end: the segments stay queued in lwIP and its
	 * retransmission timer sends them again. */
	if (c->pcb)
		(void)tcp_output(c->pcb);
}

void colo_tcp_kick(struct colo_tcp_conn *c)
{
	if (colo_net.in_handler)
		colo_tcp_mark(c);
	else
		colo_tcp_output(c);
}

void colo_tcp_check_writable(struct colo_tcp_conn *c)
{
	if (!c->want_writable || c->gone || c->closing ||
	    colo_tcp_queued(c) >= COLO_TCP_LOW_WATER)
		return;
	c->want_writable = false;
	if (c->ops->writable)
		c->ops->writable(c, c->user);
}

int colo_tcp_send(struct colo_tcp_conn *c, const void *data, size_t len)
{
	size_t queued;
	struct colo_tcp_chunk *k;
	err_t err;

	if (!c->pcb || c->gone || c->closing || c->fatal)
		return -ENOTCONN;
	if (!len)
		return 0;
	queued = colo_tcp_queued(c);
	if (queued > COLO_TCP_MAX_QUEUED || len > COLO_TCP_MAX_QUEUED - queued) {
		c->want_writable = true;
		return -ENOBUFS;
	}
	/* the common case: nothing waits, and lwIP takes it all now (not
	 * in pieces: those go through the chunks) */
	if (!c->out_head && len <= tcp_sndbuf(c->pcb) && len <= 0xffff &&
	    !tx_segment()) {
		err = tcp_write(c->pcb, data, (u16_t)len, TCP_WRITE_FLAG_COPY);
		if (err == ERR_OK)
			goto written;
		if (err != ERR_MEM) {
			write_failed(c, err);
			return -ENOTCONN;
		}
	}
	/* the rest of it, or all of it, waits in a chunk of our own */
	k = malloc(sizeof(*k) + len);
	if (!k) {
		c->want_writable = true;
		return -ENOBUFS;	/* nothing queued */
	}
	k->next = NULL;
	k->len = len;
	memcpy(k->data, data, len);
	if (c->out_tail)
		c->out_tail->next = k;
	else
		c->out_head = k;
	c->out_tail = k;
	c->out_bytes += len;
	colo_tcp_push(c);
written:
	if (colo_tcp_queued(c) >= COLO_TCP_LOW_WATER)
		c->want_writable = true;
	colo_tcp_kick(c);
	return 0;
}
