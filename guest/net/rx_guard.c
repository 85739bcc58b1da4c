/*
 * rx_guard.c - frames lwIP never sees: those it could not use, and
 * those on which Debian's lwIP 2.1.3 is known to fall over.
 *
 * The library is built with its assertions on (LWIP_ASSERT prints and
 * calls abort()), so a hostile frame that reaches a failing assertion
 * kills the guest, and with it its replica, which gets the same frame.
 * Found by feeding random frames to netecho (tests/test_guest_net.c):
 *
 *   UDP-Lite (IP protocol 136): udp_input() checksums as many bytes as
 *   the datagram's coverage field says; more than 32 KiB beyond the
 *   datagram trips LWIP_ASSERT("delete me") in inet_chksum.c (also in
 *   upstream's master as of 2026). The guest API has no UDP-Lite.
 *
 * And on the way:
 *   runts (no full Ethernet header) and frames longer than the link's
 *   MTU allows: no link delivers them;
 *   IPv6: the interface has no IPv6 address, so lwIP would only drop it
 *   after nd6/mld6 had parsed it;
 *   802.1Q tags: this build has no VLAN support and drops them.
 */
#include "colo_net_int.h"

#define ETH_HLEN		14
#define ETHTYPE_IPV4		0x0800
#define ETHTYPE_IPV6		0x86dd
#define ETHTYPE_VLAN		0x8100
#define IP_PROTO_UDPLITE_NR	136

bool colo_net_rx_refused(const unsigned char *f, size_t len)
{
	unsigned type;

	if (len <= ETH_HLEN || len > COLO_NET_FRAME_MAX)
		return true;
	type = (unsigned)f[12] << 8 | f[13];
	if (type == ETHTYPE_IPV6 || type == ETHTYPE_VLAN)
		return true;
	/* the protocol byte of IPv4 (every fragment has it) */
	return type == ETHTYPE_IPV4 && len > ETH_HLEN + 9 &&
	       f[ETH_HLEN + 9] == IP_PROTO_UDPLITE_NR;
}
