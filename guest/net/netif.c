/*
 * netif.c - lwIP's one interface on the runtime's NIC: the guest's
 * address from argv or the environment, lwip_init(), the netif, and
 * frames in and out.
 *
 * How it maps to lwIP (Debian's liblwip 2.1.3, raw API, one thread):
 *   colo_net_start()  lwip_init() (never tcpip_init(): no thread, no
 *                     mailbox), netif_add() with ethernet_input as its
 *                     input, etharp_output/ethip6_output as its IP
 *                     outputs, then netif_set_default/up/link_up (which
 *                     sends a gratuitous ARP).
 *   colo_net_frame()  the frame copied into a PBUF_RAM pbuf (PBUF_POOL
 *                     pbufs are broken in this build: they are 616 bytes
 *                     and not chained, so a full frame overruns the heap)
 *                     and given to netif.input, i.e. ethernet_input ->
 *                     etharp_input / ip4_input -> icmp, tcp_input...
 *   linkoutput        lwIP's frames (one pbuf, or a chain flattened into
 *                     colo_net.tx) to colo_nic_send().
 * ARP requests and ICMP echo are answered by lwIP itself.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lwip/etharp.h>
#include <lwip/init.h>
#include <lwip/ip4_addr.h>
#include <lwip/netif.h>
#include <lwip/pbuf.h>
#include <netif/ethernet.h>
#if LWIP_IPV6
#include <lwip/ethip6.h>
#endif

#include "colo_guest.h"
#include "colo_net_int.h"

/* Zero bytes kept after every received frame (see colo_net_frame). */
#define COLO_NET_RX_SLACK	16

struct colo_net colo_net;

/* One of the three addresses: where it came from and its text. */
struct addr_src {
	const char *opt;		/* "--ip" */
	const char *env;		/* "COLO_GUEST_IP" */
	const char *what;		/* "address", in messages */
	const char *value;		/* NULL: not given */
	const char *from;		/* opt or env, whichever gave value */
};

/*
 * Find --opt VALUE or --opt=VALUE anywhere in argv (the last one wins),
 * else the environment variable. -EINVAL (logged) for --opt without a
 * value.
 */
static int addr_find(struct addr_src *a, int argc, char **argv)
{
	size_t n = strlen(a->opt);

	a->value = NULL;
	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], a->opt, n))
			continue;
		if (argv[i][n] == '=') {
			a->value = argv[i] + n + 1;
		} else if (argv[i][n] == '\0') {
			if (i + 1 >= argc) {
				colo_log("colo_net: %s needs a value (like "
					 "%s 10.0.0.2)", a->opt, a->opt);
				return -EINVAL;
			}
			a->value = argv[++i];
		} else {
			continue;	/* --ipx: someone else's */
		}
		a->from = a->opt;
	}
	if (!a->value) {
		a->value = getenv(a->env);
		a->from = a->env;
		if (a->value && !a->value[0])
			a->value = NULL;	/* set but empty: not given */
	}
	return 0;
}

/* A dotted quad, strictly (inet_pton: four decimal parts, no hex). */
static int addr_parse(const struct addr_src *a, ip4_addr_t *out)
{
	struct in_addr in;

	if (inet_pton(AF_INET, a->value, &in) != 1) {
		colo_log("colo_net: %s '%s' is not an IPv4 %s (four decimal "
			 "numbers 0-255 with dots, like 10.0.0.2)", a->from,
			 a->value, a->what);
		return -EINVAL;
	}
	ip4_addr_set_u32(out, in.s_addr);
	return 0;
}

/* Ones then zeros, at least one one: 255.255.255.0, not 255.0.255.0. */
static bool netmask_valid(uint32_t mask_host)
{
	uint32_t zeros = ~mask_host;

	return mask_host != 0 && (zeros & (zeros + 1)) == 0;
}

/*
 * The interface's address, netmask and gateway, checked against each
 * other. Without a netmask: 255.255.255.0; without a gateway: none (only
 * the guest's own subnet is reachable).
 */
static int addr_config(int argc, char **argv, ip4_addr_t *ip, ip4_addr_t *mask,
		       ip4_addr_t *gw)
{
	struct addr_src a_ip = { "--ip", "COLO_GUEST_IP", "address", NULL, NULL };
	struct addr_src a_mask = { "--netmask", "COLO_GUEST_NETMASK", "netmask",
				   NULL, NULL };
	struct addr_src a_gw = { "--gateway", "COLO_GUEST_GATEWAY", "gateway",
				 NULL, NULL };
	uint32_t h_ip, h_mask, h_gw;
	int ret;

	if ((ret = addr_find(&a_ip, argc, argv)) ||
	    (ret = addr_find(&a_mask, argc, argv)) ||
	    (ret = addr_find(&a_gw, argc, argv)))
		return ret;
	if (!a_ip.value) {
		colo_log("colo_net: the guest has no IPv4 address: give it "
			 "--ip A.B.C.D or COLO_GUEST_IP (colo.conf [net] "
			 "guest_ip)");
		return -EINVAL;
	}
	if ((ret = addr_parse(&a_ip, ip)))
		return ret;
	IP4_ADDR(mask, 255, 255, 255, 0);
	if (a_mask.value && (ret = addr_parse(&a_mask, mask)))
		return ret;
	ip4_addr_set_zero(gw);
	if (a_gw.value && (ret = addr_parse(&a_gw, gw)))
		return ret;

	h_ip = lwip_ntohl(ip4_addr_get_u32(ip));
	h_mask = lwip_ntohl(ip4_addr_get_u32(mask));
	h_gw = lwip_ntohl(ip4_addr_get_u32(gw));
	if (!netmask_valid(h_mask)) {
		colo_log("colo_net: %s '%s' is not a netmask (ones then "
			 "zeros, like 255.255.255.0)", a_mask.from, a_mask.value);
		return -EINVAL;
	}
	if (h_ip == 0 || h_ip == 0xffffffffu || (h_ip >> 28) == 0xe ||
	    (h_ip >> 24) == 127) {
		colo_log("colo_net: %s '%s' is not a unicast address a guest "
			 "can have (not 0.0.0.0, broadcast, multicast or "
			 "loopback)", a_ip.from, a_ip.value);
		return -EINVAL;
	}
	if (~h_mask > 1 && ((h_ip & ~h_mask) == 0 || (h_ip | h_mask) == 0xffffffffu)) {
		colo_log("colo_net: %s '%s' is the network or broadcast "
			 "address of its subnet (netmask %s)", a_ip.from,
			 a_ip.value, ip4addr_ntoa(mask));
		return -EINVAL;
	}
	if (h_gw && ((h_gw & h_mask) != (h_ip & h_mask) || h_gw == h_ip)) {
		colo_log("colo_net: %s '%s' is not another host of the "
			 "guest's subnet %s/%s", a_gw.from, a_gw.value,
			 a_ip.value, ip4addr_ntoa(mask));
		return -EINVAL;
	}
	return 0;
}

/*
 * netif->linkoutput: one frame to the NIC. LWIP_NETIF_TX_SINGLE_PBUF is
 * set in this build, so a frame is mostly one pbuf and goes out as it
 * is; a chain (an ARP queue, a fragment) is copied into colo_net.tx.
 */
static err_t netif_linkoutput(struct netif *netif, struct pbuf *p)
{
	const void *frame = p->payload;
	int ret;

	(void)netif;
	if (p->tot_len > sizeof(colo_net.tx))
		return ERR_IF;		/* cannot be: the MTU is smaller */
	if (p->len != p->tot_len) {
		if (pbuf_copy_partial(p, colo_net.tx, p->tot_len, 0) != p->tot_len)
			return ERR_IF;
		frame = colo_net.tx;
	}
	ret = colo_nic_send(frame, p->tot_len);
	if (ret) {
		if (colo_net.send_failures++ == 0)
			colo_log("colo_net: a %u-byte frame was not sent: %s "
				 "(more failures are not logged until one "
				 "succeeds)", p->tot_len, strerror(-ret));
		return ERR_IF;
	}
	colo_net.send_failures = 0;
	return ERR_OK;
}

/* netif_add()'s init: an Ethernet interface with the runtime's MAC. */
static err_t netif_setup(struct netif *netif)
{
	netif->name[0] = 'c';
	netif->name[1] = 'o';
	netif->output = etharp_output;
#if LWIP_IPV6
	/* never used (no IPv6 address, and IPv6 frames are dropped on the
	 * way in), but lwIP calls it unchecked if it ever sends IPv6 */
	netif->output_ip6 = ethip6_output;
#endif
	netif->linkoutput = netif_linkoutput;
	netif->mtu = COLO_NET_MTU;
	netif->hwaddr_len = ETH_HWADDR_LEN;
	colo_nic_mac(netif->hwaddr);
	netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP |
		       NETIF_FLAG_ETHERNET;
	return ERR_OK;
}

int colo_net_start(int argc, char **argv)
{
	const uint8_t *m = colo_net.netif.hwaddr;
	char ip_s[16], mask_s[16], gw_s[16];
	ip4_addr_t ip, mask, gw;
	int ret;

	if (colo_net.started) {
		colo_log("colo_net: colo_net_start() called twice");
		return -EALREADY;
	}
	ret = addr_config(argc, argv, &ip, &mask, &gw);
	if (ret)
		return ret;
	ret = colo_net_clock_check();
	if (ret)
		return ret;
	lwip_init();
	if (!netif_add(&colo_net.netif, &ip, &mask, &gw, NULL, netif_setup,
		       ethernet_input)) {
		colo_log("colo_net: lwIP refused the interface (netif_add)");
		return -ENOMEM;
	}
	netif_set_default(&colo_net.netif);
	colo_net.started = true;
	netif_set_up(&colo_net.netif);
	netif_set_link_up(&colo_net.netif);
	colo_log("colo_net: interface up: %s netmask %s gateway %s, MAC "
		 "%02x:%02x:%02x:%02x:%02x:%02x",
		 ip4addr_ntoa_r(&ip, ip_s, sizeof(ip_s)),
		 ip4addr_ntoa_r(&mask, mask_s, sizeof(mask_s)),
		 ip4_addr_isany_val(gw) ? "none" :
		 ip4addr_ntoa_r(&gw, gw_s, sizeof(gw_s)),
		 m[0], m[1], m[2], m[3], m[4], m[5]);
	return 0;
}

void colo_net_frame(const void *data, size_t len, void *opaque)
{
	struct pbuf *p;

	(void)opaque;
	if (!colo_net.started)
		return;
	if (colo_net_rx_refused(data, len)) {
		colo_net.frames_dropped++;
		return;
	}
	colo_net.in_handler = true;
	/*
	 * COLO_NET_RX_SLACK zero bytes after the frame, then the pbuf cut
	 * to the frame (pbuf_realloc; with MEM_LIBC_MALLOC it frees
	 * nothing): lwIP 2.1.3's TCP option parser reads the length byte of
	 * an option whose kind byte ends the header, one byte past it (past
	 * the frame, for a segment without data; fixed upstream in 2026).
	 * That read lands in a zero of this frame, not in the heap.
	 */
	p = pbuf_alloc(PBUF_RAW, (u16_t)(len + COLO_NET_RX_SLACK), PBUF_RAM);
	if (p) {
		memset((unsigned char *)p->payload + len, 0, COLO_NET_RX_SLACK);
		pbuf_realloc(p, (u16_t)len);
	}
	if (p && pbuf_take(p, data, (u16_t)len) == ERR_OK) {
		colo_net.frames_in++;
		/* an input function that fails leaves p to its caller
		 * (ethernet_input never does: it frees what it drops) */
		if (colo_net.netif.input(p, &colo_net.netif) != ERR_OK) {
			pbuf_free(p);
			colo_net.frames_dropped++;
		}
	} else {
		if (p)
			pbuf_free(p);
		colo_net.frames_dropped++;
	}
	colo_tcp_settle();
	colo_net.in_handler = false;
}
