/*
 * packet.c - an Ethernet frame parsed for netcompare (packet.h).
 *
 * Every length is checked before the bytes it announces are read: first
 * the Ethernet header against the frame, then the IPv4 header against
 * the frame, the IPv4 total length against the frame (the end of the
 * packet, padding beyond it ignored), then the transport header against
 * that end. Sizes are size_t throughout: no sum can wrap.
 */
#include <errno.h>
#include <string.h>

#include "packet.h"

#define IPV4_HLEN_MIN	20
#define TCP_HLEN_MIN	20
#define UDP_HLEN	8
#define IPV4_MF		0x2000
#define IPV4_OFFMASK	0x1fff

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int refuse(const char **why, const char *reason)
{
	*why = reason;
	return -EPROTO;
}

/* The TCP header at seg[0, len), len from the IPv4 total length. */
static int parse_tcp(const uint8_t *seg, size_t len, struct packet *pkt,
		     const char **why)
{
	size_t doff;

	if (len < TCP_HLEN_MIN)
		return refuse(why, "TCP header truncated");
	doff = (size_t)(seg[12] >> 4) * 4;
	if (doff < TCP_HLEN_MIN)
		return refuse(why, "TCP data offset below 5");
	if (doff > len)
		return refuse(why, "TCP data offset past the segment");
	pkt->kind = PACKET_TCP;
	pkt->sport = be16(seg);
	pkt->dport = be16(seg + 2);
	pkt->seq = be32(seg + 4);
	pkt->ack = be32(seg + 8);
	pkt->flags = seg[13] & (PACKET_FIN | PACKET_SYN | PACKET_RST |
				PACKET_ACK);
	pkt->payload_len = (uint32_t)(len - doff);
	pkt->payload = pkt->payload_len ? seg + doff : NULL;
	return 0;
}

static int parse_udp(const uint8_t *dgram, size_t len, struct packet *pkt,
		     const char **why)
{
	size_t ulen;

	if (len < UDP_HLEN)
		return refuse(why, "UDP header truncated");
	ulen = be16(dgram + 4);
	if (ulen < UDP_HLEN)
		return refuse(why, "UDP length below 8");
	if (ulen > len)
		return refuse(why, "UDP length past the packet");
	pkt->kind = PACKET_UDP;
	pkt->sport = be16(dgram);
	pkt->dport = be16(dgram + 2);
	return 0;
}

/* The IPv4 packet at ip[0, avail), avail being what the frame holds. */
static int parse_ipv4(const uint8_t *ip, size_t avail, struct packet *pkt,
		      const char **why)
{
	size_t ihl, total;
	uint16_t frag;

	if (avail < IPV4_HLEN_MIN)
		return refuse(why, "IPv4 header truncated");
	if (ip[0] >> 4 != 4)
		return refuse(why, "IPv4 version is not 4");
	ihl = (size_t)(ip[0] & 0x0f) * 4;
	if (ihl < IPV4_HLEN_MIN)
		return refuse(why, "IPv4 ihl below 5");
	if (ihl > avail)
		return refuse(why, "IPv4 header past the frame");
	total = be16(ip + 2);
	if (total < ihl)
		return refuse(why, "IPv4 total length below the header");
	if (total > avail)
		return refuse(why, "IPv4 total length past the frame");
	pkt->ipv4 = true;
	pkt->proto = ip[9];
	pkt->src = be32(ip + 12);
	pkt->dst = be32(ip + 16);
	frag = be16(ip + 6);
	if (frag & (IPV4_MF | IPV4_OFFMASK))
		return 0;		/* a fragment: compared whole */
	if (pkt->proto == PACKET_IP_TCP)
		return parse_tcp(ip + ihl, total - ihl, pkt, why);
	if (pkt->proto == PACKET_IP_UDP)
		return parse_udp(ip + ihl, total - ihl, pkt, why);
	return 0;
}

int packet_parse(const uint8_t *frame, size_t len, struct packet *pkt,
		 const char **why)
{
	memset(pkt, 0, sizeof(*pkt));
	*why = NULL;
	if (len < PACKET_ETH_HLEN)
		return refuse(why, "runt frame");
	pkt->ethertype = be16(frame + 12);
	if (pkt->ethertype != PACKET_ETH_IPV4)
		return 0;
	return parse_ipv4(frame + PACKET_ETH_HLEN, len - PACKET_ETH_HLEN, pkt,
			  why);
}
