/*
 * packet.h - an Ethernet frame of a guest, parsed into what netcompare's
 * compare step needs (compare.h): its flow and, for TCP, where it lies
 * in sequence space.
 *
 * The frames come from the guests, so from anything a guest's bug (or a
 * guest taken over) may send: every field is checked against the bytes
 * actually there before it is used, and nothing past frame[len - 1] is
 * ever read. A frame that does not parse gets -EPROTO and a short static
 * reason; nothing is logged per frame (a flood of bad frames must not
 * flood the log: the caller logs once per epoch).
 *
 * What is parsed:
 *   Ethernet II (no VLAN: a tagged frame is PACKET_OTHER, as is every
 *   ethertype but IPv4) -> IPv4 (ihl >= 5 and within the frame, total
 *   length >= ihl * 4 and within the frame; bytes after the total length
 *   are Ethernet padding and ignored) -> TCP (data offset >= 5 words and
 *   within the segment) or UDP (its length field >= 8 and within the
 *   packet). A fragment (MF set or an offset) is PACKET_OTHER with its
 *   addresses and protocol but no ports: its transport header may be in
 *   another fragment, or cut.
 */
#ifndef COLO_PACKET_H
#define COLO_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PACKET_ETH_HLEN		14
#define PACKET_ETH_IPV4		0x0800
#define PACKET_IP_TCP		6
#define PACKET_IP_UDP		17

/* TCP flags, as in the header's byte 13 */
#define PACKET_FIN		0x01
#define PACKET_SYN		0x02
#define PACKET_RST		0x04
#define PACKET_ACK		0x10

enum packet_kind {
	PACKET_OTHER = 0,	/* compared as a whole frame */
	PACKET_TCP,		/* an IPv4 TCP segment, not a fragment */
	PACKET_UDP,		/* an IPv4 UDP datagram, not a fragment */
};

/* A parsed frame; pointers point into the frame given. Host byte order. */
struct packet {
	enum packet_kind kind;
	uint16_t ethertype;	/* as on the wire (a VLAN tag: 0x8100) */
	bool ipv4;		/* the fields below up to ports are set */
	uint8_t proto;		/* IPv4 protocol */
	uint32_t src, dst;	/* IPv4 addresses */
	uint16_t sport, dport;	/* TCP or UDP ports; 0 for others */
	/* TCP only */
	uint32_t seq, ack;	/* ack: meaningful with PACKET_ACK only */
	uint8_t flags;		/* PACKET_SYN | PACKET_FIN | ... */
	const uint8_t *payload;	/* the segment's data (may be NULL if 0) */
	uint32_t payload_len;	/* from the IP total length, not the frame */
};

/*
 * Parse frame[0, len) into *pkt. 0, or -EPROTO with *why set to a static
 * reason ("runt frame", "ihl below 5", ...): then *pkt is undefined.
 * Never reads outside frame[0, len).
 */
int packet_parse(const uint8_t *frame, size_t len, struct packet *pkt,
		 const char **why);

#endif /* COLO_PACKET_H */
