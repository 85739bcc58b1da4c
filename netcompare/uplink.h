/*
 * uplink.h - the primary's uplink: a TAP device on a bridge, through
 * which the protected guest talks to the world.
 *
 * The daemon creates the TAP (/dev/net/tun, IFF_TAP | IFF_NO_PI), and
 * with libnl-route-3 gives it the bridge's MTU, enslaves it to the bridge
 * named in colo.conf and sets it up; uplink_close() deletes it again. The
 * TAP's fd is non-blocking, for the daemon's libevent loop: readable
 * means frames from the bridge for the guest are waiting.
 *
 * One read or write moves one whole Ethernet frame (no packet-info
 * header, no FCS). The TAP's MAC address gets 0xfe as its first byte (as
 * libvirt does), so a bridge that takes the lowest MAC of its ports as its
 * own never takes the TAP's, and the host's address on the bridge keeps
 * its MAC when an uplink comes and goes.
 */
#ifndef COLO_UPLINK_H
#define COLO_UPLINK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "status.h"

/* The default name: the kernel picks the first free colo0, colo1, ... */
#define UPLINK_DEFAULT_NAME	"colo%d"

/* A frame's Ethernet header, and the VLAN tag a frame may carry beyond
 * the MTU. */
#define UPLINK_ETH_HLEN		14
#define UPLINK_VLAN_HLEN	4

/* What went through the uplink, for `coloctl status`. rx: read from the
 * TAP (the world to the guest); tx: written to it (the guest to the
 * world). */
struct uplink_stats {
	uint64_t rx_frames;		/* frames handed to the caller */
	uint64_t rx_bytes;
	/* frames read but not handed on: over the caller's buffer, or
	 * shorter than an Ethernet header */
	uint64_t rx_drops;
	uint64_t tx_frames;		/* frames the TAP took */
	uint64_t tx_bytes;
	/* frames not sent: shorter than an Ethernet header, over
	 * uplink_frame_max(), or refused by the kernel */
	uint64_t tx_drops;
	/* writes answered -EAGAIN (not lost: the caller still has the
	 * frame) */
	uint64_t tx_again;
};

struct uplink;

/*
 * Create the TAP, named name (NULL or "": UPLINK_DEFAULT_NAME), and put
 * it on bridge, up, with the bridge's MTU. *out is the uplink, to be
 * closed with uplink_close(). 0, or a negative errno, logged with what to
 * do; nothing is left behind:
 *   -ENODEV   no link named bridge (create it, or set [net] bridge)
 *   -EINVAL   bridge is not a bridge, or a name is empty or too long
 *   -EEXIST   a link named name exists already
 *   -ENOENT   no /dev/net/tun (modprobe tun)
 *   -EPERM    no CAP_NET_ADMIN (run as root or grant it)
 *   others    from the kernel, with the step that failed
 */
int uplink_open(struct uplink **out, const char *bridge, const char *name);

/*
 * Read one frame from the bridge into buf[0..size): its length, or
 * -EAGAIN when none is waiting, or a negative errno (logged) when the TAP
 * failed. A frame over size (the guest could not take it) or shorter
 * than an Ethernet header is dropped, counted in rx_drops (the first one
 * warned), and the next one read. size should be uplink_frame_max().
 */
ssize_t uplink_read_frame(struct uplink *u, uint8_t *buf, size_t size);

/*
 * Send one frame of the guest, frame[0..len), to the bridge. 0 when the
 * TAP took it; -EAGAIN when it has no room now (counted in tx_again, the
 * frame is the caller's to retry: wait for uplink_fd() to be writable);
 * -EMSGSIZE when len is under an Ethernet header or over
 * uplink_frame_max(), or another negative errno when the kernel refused
 * it: then the frame is dropped and counted in tx_drops (the first
 * failure after a success is warned; the rest only counted).
 */
int uplink_write_frame(struct uplink *u, const uint8_t *frame, size_t len);

/* The TAP's fd (non-blocking), for an event: EV_READ when frames wait,
 * EV_WRITE after a -EAGAIN. It is the uplink's: never close it. */
int uplink_fd(const struct uplink *u);

/* The TAP's name (colo0, ...), and the bridge it is on. */
const char *uplink_name(const struct uplink *u);
const char *uplink_bridge(const struct uplink *u);

/* The TAP's MTU (the bridge's when opened), and the largest frame that
 * goes through it: MTU + Ethernet header + one VLAN tag. */
unsigned uplink_mtu(const struct uplink *u);
size_t uplink_frame_max(const struct uplink *u);

/* The counters, kept up to date by read and write. */
const struct uplink_stats *uplink_stats(const struct uplink *u);

/* Name, bridge and counters as status fields, each key prefixed
 * "uplink_" (uplink_name, uplink_rx_frames, ...). */
void uplink_status(const struct uplink *u, struct status_out *so);

/*
 * Delete the TAP (through netlink, so it is gone from the bridge when
 * this returns) and free the uplink. A failure to delete is warned (the
 * TAP still goes when its fd closes, here). NULL is ignored.
 */
void uplink_close(struct uplink *u);

#endif /* COLO_UPLINK_H */
