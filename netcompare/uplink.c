/*
 * uplink.c - the primary's TAP on its bridge: created through
 * /dev/net/tun, configured and deleted with libnl-route-3.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <linux/if_tun.h>

#define LOG_PREFIX "uplink: "
#include "log.h"
#include "uplink.h"

#define TUN_PATH	"/dev/net/tun"
#define ROOT_HINT	"run the daemon as root or grant it CAP_NET_ADMIN"

struct uplink {
	int fd;				/* the TAP's queue, non-blocking */
	struct nl_sock *sk;		/* rtnetlink, for configure and delete */
	int ifindex;			/* the TAP's; 0 until it exists */
	int bridge_ifindex;
	char name[IFNAMSIZ];		/* the TAP's, as the kernel named it */
	char bridge[IFNAMSIZ];
	unsigned mtu;
	bool rx_warned;			/* a dropped input frame was told */
	bool tx_size_warned;		/* a frame of a bad size was told */
	bool tx_failing;		/* a write failed; told, not since */
	struct uplink_stats stats;
};

/* libnl's error codes as errno values, for our callers. */
static int nl_errno(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case NLE_PERM:		return EPERM;
	case NLE_NOACCESS:	return EACCES;
	case NLE_OBJ_NOTFOUND:
	case NLE_NODEV:		return ENODEV;
	case NLE_EXIST:		return EEXIST;
	case NLE_BUSY:		return EBUSY;
	case NLE_NOMEM:		return ENOMEM;
	case NLE_INVAL:		return EINVAL;
	case NLE_RANGE:		return ERANGE;
	case NLE_MSGSIZE:	return EMSGSIZE;
	case NLE_OPNOTSUPP:	return EOPNOTSUPP;
	case NLE_AGAIN:		return EAGAIN;
	case NLE_INTR:		return EINTR;
	default:		return EIO;
	}
}

/* The operator's next step for an error of a netlink change. */
static const char *nl_hint(int nlerr)
{
	int e = nl_errno(nlerr);

	return e == EPERM || e == EACCES ? ": " ROOT_HINT : "";
}

static int check_ifname(const char *what, const char *name)
{
	if (!*name || strlen(name) >= IFNAMSIZ || strchr(name, '/') ||
	    strchr(name, ' ') || strchr(name, ':')) {
		pr_err("%s \"%s\" is not an interface name: give 1 to %d "
		       "characters without '/', ' ' or ':'", what, name,
		       IFNAMSIZ - 1);
		return -EINVAL;
	}
	return 0;
}

/* Step 1 -- the bridge: it must exist and be one; its MTU is ours. */
static int find_bridge(struct uplink *u, const char *bridge)
{
	struct rtnl_link *br = NULL;
	const char *type;
	int err, ret = -1;

	err = rtnl_link_get_kernel(u->sk, 0, bridge, &br);
	if (err < 0) {
		ret = -nl_errno(err);
		if (ret == -ENODEV)
			pr_err("no bridge %s: create it (ip link add %s type "
			       "bridge; ip link set %s up) or set [net] bridge",
			       bridge, bridge, bridge);
		else
			pr_err("cannot look up bridge %s: %s%s", bridge,
			       nl_geterror(err), nl_hint(err));
		return ret;
	}
	type = rtnl_link_get_type(br);
	if (!type || strcmp(type, "bridge") != 0) {
		pr_err("%s is not a bridge (its type is %s): set [net] bridge "
		       "to a bridge, or create one (ip link add NAME type "
		       "bridge; ip link set NAME up)", bridge,
		       type ? type : "none, a plain device");
		ret = -EINVAL;
		goto out;
	}
	if (!(rtnl_link_get_flags(br) & IFF_UP))
		pr_warn("bridge %s is down: the guest is cut off until it is "
			"up (ip link set %s up)", bridge, bridge);
	u->bridge_ifindex = rtnl_link_get_ifindex(br);
	u->mtu = rtnl_link_get_mtu(br);
	snprintf(u->bridge, sizeof(u->bridge), "%s", bridge);
	ret = 0;
out:
	rtnl_link_put(br);
	return ret;
}

/* Step 2 -- a name of our choice must be free: TUNSETIFF would attach to
 * a persistent TAP of that name, and our close would delete another's. */
static int name_free(struct uplink *u, const char *name)
{
	struct rtnl_link *l = NULL;
	int err = rtnl_link_get_kernel(u->sk, 0, name, &l);

	if (err == 0) {
		rtnl_link_put(l);
		pr_err("a link named %s exists already: remove it (ip link del "
		       "%s) or set [net] tap to another name (empty: %s)", name,
		       name, UPLINK_DEFAULT_NAME);
		return -EEXIST;
	}
	if (nl_errno(err) != ENODEV) {
		pr_err("cannot look up link %s: %s", name, nl_geterror(err));
		return -nl_errno(err);
	}
	return 0;
}

/* Step 3 -- the TAP itself. */
static int create_tap(struct uplink *u, const char *name)
{
	/* the default pattern, as an operator would read it */
	const char *shown = strcmp(name, UPLINK_DEFAULT_NAME) ? name : "colo0...";
	struct ifreq ifr;
	int err;

	u->fd = open(TUN_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (u->fd < 0) {
		err = errno;
		if (err == ENOENT || err == ENXIO || err == ENODEV)
			pr_err("cannot open %s: %s: load the tun driver "
			       "(modprobe tun)", TUN_PATH, strerror(err));
		else if (err == EACCES || err == EPERM)
			pr_err("cannot open %s: %s: " ROOT_HINT, TUN_PATH,
			       strerror(err));
		else
			pr_err("cannot open %s: %s", TUN_PATH, strerror(err));
		return -err;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(u->fd, TUNSETIFF, &ifr) < 0) {
		err = errno;
		if (err == EPERM || err == EACCES)
			pr_err("cannot create TAP %s on bridge %s: %s: " ROOT_HINT,
			       shown, u->bridge, strerror(err));
		else if (err == EBUSY || err == EEXIST)
			pr_err("cannot create TAP %s: %s: the name is taken; set "
			       "[net] tap to another name", shown, strerror(err));
		else
			pr_err("cannot create TAP %s (TUNSETIFF): %s", shown,
			       strerror(err));
		return -err;
	}
	snprintf(u->name, sizeof(u->name), "%s", ifr.ifr_name);
	return 0;
}

/* Step 4 -- the bridge's MTU and a MAC the bridge never adopts; then onto
 * the bridge; then up. */
static int configure_tap(struct uplink *u)
{
	struct rtnl_link *tap = NULL, *change = NULL;
	struct nl_addr *mac = NULL;
	const char *step;
	bool mtu_step = true;
	int err, ret = -ENOMEM;

	err = rtnl_link_get_kernel(u->sk, 0, u->name, &tap);
	if (err < 0) {
		pr_err("TAP %s vanished as it was created: %s", u->name,
		       nl_geterror(err));
		return -nl_errno(err);
	}
	u->ifindex = rtnl_link_get_ifindex(tap);

	change = rtnl_link_alloc();
	if (!change)
		goto nomem;
	rtnl_link_set_mtu(change, u->mtu);
	if (rtnl_link_get_addr(tap) &&
	    nl_addr_get_len(rtnl_link_get_addr(tap)) == 6) {
		uint8_t b[6];

		memcpy(b, nl_addr_get_binary_addr(rtnl_link_get_addr(tap)), 6);
		b[0] = 0xfe;
		mac = nl_addr_build(AF_LLC, b, sizeof(b));
		if (!mac)
			goto nomem;
		rtnl_link_set_addr(change, mac);
	}
	step = "set its MTU and MAC";
	err = rtnl_link_change(u->sk, tap, change, 0);
	if (err < 0)
		goto fail;

	mtu_step = false;
	step = "enslave it";
	err = rtnl_link_enslave_ifindex(u->sk, u->bridge_ifindex, u->ifindex);
	if (err < 0)
		goto fail;

	rtnl_link_put(change);
	change = rtnl_link_alloc();
	if (!change)
		goto nomem;
	rtnl_link_set_flags(change, IFF_UP);
	step = "set it up";
	err = rtnl_link_change(u->sk, tap, change, 0);
	if (err < 0)
		goto fail;
	ret = 0;
	goto out;
fail:
	ret = -nl_errno(err);
	if (ret == -EINVAL && mtu_step)
		pr_err("cannot put TAP %s on bridge %s (%s, MTU %u): %s: a TAP "
		       "takes an MTU of 68 to 65521; give the bridge one (ip "
		       "link set %s mtu 1500)", u->name, u->bridge, step, u->mtu,
		       nl_geterror(err), u->bridge);
	else
		pr_err("cannot put TAP %s on bridge %s (%s, MTU %u): %s%s",
		       u->name, u->bridge, step, u->mtu, nl_geterror(err),
		       nl_hint(err));
	goto out;
nomem:
	pr_err("out of memory configuring TAP %s", u->name);
out:
	nl_addr_put(mac);
	rtnl_link_put(change);
	rtnl_link_put(tap);
	return ret;
}

int uplink_open(struct uplink **out, const char *bridge, const char *name)
{
	struct uplink *u;
	int err, ret = -1;

	*out = NULL;
	if (!name || !*name)
		name = UPLINK_DEFAULT_NAME;
	ret = check_ifname("[net] bridge", bridge ? bridge : "");
	if (!ret)
		ret = check_ifname("[net] tap", name);
	if (ret)
		return ret;
	u = calloc(1, sizeof(*u));
	if (!u) {
		pr_err("out of memory for the uplink");
		return -ENOMEM;
	}
	u->fd = -1;
	u->sk = nl_socket_alloc();
	if (!u->sk) {
		pr_err("out of memory for a netlink socket");
		ret = -ENOMEM;
		goto fail;
	}
	err = nl_connect(u->sk, NETLINK_ROUTE);
	if (err < 0) {
		pr_err("cannot open a route netlink socket: %s", nl_geterror(err));
		ret = -nl_errno(err);
		goto fail;
	}

	ret = find_bridge(u, bridge);
	if (!ret && !strchr(name, '%'))
		ret = name_free(u, name);
	if (!ret)
		ret = create_tap(u, name);
	if (!ret)
		ret = configure_tap(u);
	if (ret)
		goto fail;
	pr_info("TAP %s is up on bridge %s (MTU %u)", u->name, u->bridge, u->mtu);
	*out = u;
	return 0;
fail:
	uplink_close(u);
	return ret;
}

ssize_t uplink_read_frame(struct uplink *u, uint8_t *buf, size_t size)
{
	for (;;) {
		/* a read is cut to the buffer and says only what it copied: one
		 * byte more tells a frame that did not fit */
		uint8_t more;
		struct iovec iov[2] = {
			{ .iov_base = buf, .iov_len = size },
			{ .iov_base = &more, .iov_len = 1 },
		};
		ssize_t n = readv(u->fd, iov, 2);
		int err;

		if (n < 0) {
			err = errno;
			if (err == EINTR)
				continue;
			if (err == EAGAIN || err == EWOULDBLOCK)
				return -EAGAIN;
			pr_err("reading TAP %s failed: %s", u->name, strerror(err));
			return -err;
		}
		if ((size_t)n > size || n < UPLINK_ETH_HLEN) {
			u->stats.rx_drops++;
			if (!u->rx_warned)
				pr_warn("a frame of %s%zd bytes from bridge %s "
					"dropped: frames of %d to %zu bytes are "
					"taken (told once; the rest are counted "
					"in uplink_rx_drops)",
					(size_t)n > size ? "more than " : "",
					(size_t)n > size ? (ssize_t)size : n,
					u->bridge, UPLINK_ETH_HLEN, size);
			u->rx_warned = true;
			continue;
		}
		u->stats.rx_frames++;
		u->stats.rx_bytes += (uint64_t)n;
		return n;
	}
}

int uplink_write_frame(struct uplink *u, const uint8_t *frame, size_t len)
{
	ssize_t n;
	int err;

	if (len < UPLINK_ETH_HLEN || len > uplink_frame_max(u)) {
		u->stats.tx_drops++;
		if (!u->tx_size_warned)
			pr_warn("a guest frame of %zu bytes dropped: TAP %s takes "
				"%d to %zu bytes (MTU %u; told once, the rest "
				"are counted in uplink_tx_drops)", len, u->name,
				UPLINK_ETH_HLEN, uplink_frame_max(u), u->mtu);
		u->tx_size_warned = true;
		return -EMSGSIZE;
	}
	do
		n = write(u->fd, frame, len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		err = errno;
		if (err == EAGAIN || err == EWOULDBLOCK) {
			u->stats.tx_again++;
			return -EAGAIN;
		}
		u->stats.tx_drops++;
		if (!u->tx_failing)
			pr_warn("writing a frame of %zu bytes to TAP %s failed: "
				"%s; dropped (further failures are counted in "
				"uplink_tx_drops until a write succeeds)", len,
				u->name, strerror(err));
		u->tx_failing = true;
		return -err;
	}
	if (u->tx_failing)
		pr_info("TAP %s takes frames again", u->name);
	u->tx_failing = false;
	u->stats.tx_frames++;
	u->stats.tx_bytes += len;
	return 0;
}

int uplink_fd(const struct uplink *u)
{
	return u->fd;
}

const char *uplink_name(const struct uplink *u)
{
	return u->name;
}

const char *uplink_bridge(const struct uplink *u)
{
	return u->bridge;
}

unsigned uplink_mtu(const struct uplink *u)
{
	return u->mtu;
}

size_t uplink_frame_max(const struct uplink *u)
{
	return (size_t)u->mtu + UPLINK_ETH_HLEN + UPLINK_VLAN_HLEN;
}

const struct uplink_stats *uplink_stats(const struct uplink *u)
{
	return &u->stats;
}

void uplink_status(const struct uplink *u, struct status_out *so)
{
	const struct uplink_stats *st = &u->stats;

	status_str(so, "uplink_name", u->name);
	status_str(so, "uplink_bridge", u->bridge);
	status_num(so, "uplink_mtu", u->mtu, 0);
	status_num(so, "uplink_rx_frames", (double)st->rx_frames, 0);
	status_num(so, "uplink_rx_bytes", (double)st->rx_bytes, 0);
	status_num(so, "uplink_rx_drops", (double)st->rx_drops, 0);
	status_num(so, "uplink_tx_frames", (double)st->tx_frames, 0);
	status_num(so, "uplink_tx_bytes", (double)st->tx_bytes, 0);
	status_num(so, "uplink_tx_drops", (double)st->tx_drops, 0);
	status_num(so, "uplink_tx_again", (double)st->tx_again, 0);
}

/* The TAP goes through netlink first, so it has left the bridge when we
 * return; closing its fd would remove it too, but only once nothing else
 * holds the fd (a forked child might). */
static void delete_tap(struct uplink *u)
{
	struct rtnl_link *l;
	int err;

	if (!u->sk || (!u->ifindex && !u->name[0]))
		return;
	l = rtnl_link_alloc();
	if (!l) {
		pr_warn("out of memory deleting TAP %s; it goes when its fd "
			"closes", u->name);
		return;
	}
	if (u->ifindex)
		rtnl_link_set_ifindex(l, u->ifindex);
	else
		rtnl_link_set_name(l, u->name);
	err = rtnl_link_delete(u->sk, l);
	if (err < 0 && nl_errno(err) != ENODEV)
		pr_warn("cannot delete TAP %s: %s%s; it goes when its fd "
			"closes (or: ip link del %s)", u->name, nl_geterror(err),
			nl_hint(err), u->name);
	rtnl_link_put(l);
}

void uplink_close(struct uplink *u)
{
	if (!u)
		return;
	delete_tap(u);
	if (u->fd >= 0)
		close(u->fd);
	if (u->sk)
		nl_socket_free(u->sk);	/* closes it */
	free(u);
}
