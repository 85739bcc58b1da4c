/*
 * tap_pump.c - a TAP device and a thread between it and a guest.
 *
 * The thread polls three descriptors: the TAP (frames the host sends),
 * the guest's channel (frames and log lines it sends, handled by
 * guest_poll() and so by tap_pump_guest_frame()), and an eventfd the
 * callers write to when they want it to look at its flags. A frame for
 * the guest is sent only when the channel has room (POLLOUT), so no
 * send ever fails with EAGAIN: until then it waits in p->pending and the
 * TAP is not read (its own queue holds the next ones, or drops them as
 * a link would).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define LOG_PREFIX "tap-pump: "
#include "log.h"
#include "tap_pump.h"

/* Frames read from the TAP per loop at most, so the guest's output is
 * not starved by a host that sends a lot. */
#define TAP_READ_BUDGET	64
#define POLL_MS		200

struct tap_inject {
	struct tap_inject *next;
	size_t len;
	unsigned char data[];
};

int tap_pump_open(struct tap_pump *p, const char *name)
{
	struct ifreq ifr;
	pthread_condattr_t ca;
	int ret;

	memset(p, 0, sizeof(*p));
	p->tap_fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (p->tap_fd < 0) {
		ret = -errno;
		pr_err("open /dev/net/tun: %s", strerror(errno));
		return ret;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(p->tap_fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		pr_err("TUNSETIFF %s: %s", name, strerror(errno));
		close(p->tap_fd);
		p->tap_fd = -1;
		return ret;
	}
	snprintf(p->ifname, sizeof(p->ifname), "%s", ifr.ifr_name);
	p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->wake_fd < 0) {
		ret = -errno;
		pr_err("eventfd: %s", strerror(errno));
		close(p->tap_fd);
		p->tap_fd = -1;
		return ret;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &ca);
	pthread_condattr_destroy(&ca);
	return 0;
}

static void wake(struct tap_pump *p)
{
	uint64_t one = 1;

	if (write(p->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn("eventfd write: %s", strerror(errno));
}

void tap_pump_guest_frame(struct guest *g, const void *frame, size_t len,
			  void *opaque)
{
	struct tap_pump *p = opaque;
	bool drop;
	ssize_t n;

	pthread_mutex_lock(&p->lock);
	if (g != p->guest) {
		p->stats.lost++;	/* a guest we no longer pump */
		pthread_mutex_unlock(&p->lock);
		return;
	}
	drop = p->filter && p->filter(GUEST_TO_TAP, frame, len, p->filter_opaque);
	if (drop)
		p->stats.filtered++;
	pthread_mutex_unlock(&p->lock);
	if (drop)
		return;
	n = write(p->tap_fd, frame, len);
	pthread_mutex_lock(&p->lock);
	if (n == (ssize_t)len)
		p->stats.to_tap++;
	else
		p->stats.lost++;
	pthread_mutex_unlock(&p->lock);
}

/* Room in the guest's channel for one more record? */
static bool chan_writable(struct guest *g)
{
	struct pollfd pfd = { .fd = g->chan, .events = POLLOUT };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLOUT);
}

/* The pending frame to the guest; kept if the channel is full. */
static void flush_pending(struct tap_pump *p, struct guest *g, bool alive)
{
	int ret = -EPIPE;

	if (!p->pending_busy)
		return;
	if (alive) {
		if (!chan_writable(g))
			return;
		ret = guest_send_frame(g, p->pending, p->pending_len);
		if (ret == -EAGAIN)
			return;
	}
	pthread_mutex_lock(&p->lock);
	if (ret == -EPIPE || ret == -ECONNRESET)
		p->stats.guest_gone = true;	/* it died: send no more */
	if (ret == 0)
		p->stats.to_guest++;
	else
		p->stats.lost++;
	p->pending_busy = false;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

static void read_tap(struct tap_pump *p, struct guest *g, bool alive)
{
	for (int i = 0; i < TAP_READ_BUDGET && !p->pending_busy; i++) {
		ssize_t n = read(p->tap_fd, p->pending, sizeof(p->pending));
		bool drop;

		if (n <= 0)
			return;		/* EAGAIN: nothing more */
		pthread_mutex_lock(&p->lock);
		drop = p->filter && p->filter(TAP_TO_GUEST, p->pending,
					      (size_t)n, p->filter_opaque);
		if (drop)
			p->stats.filtered++;
		else
			p->pending_busy = true;
		pthread_mutex_unlock(&p->lock);
		p->pending_len = (size_t)n;
		flush_pending(p, g, alive);
	}
}

/* Next injected frame into pending, under the lock. */
static void take_injected(struct tap_pump *p)
{
	struct tap_inject *j = p->inj_head;
	bool drop;

	if (p->pending_busy || !j)
		return;
	p->inj_head = j->next;
	if (!p->inj_head)
		p->inj_tail = NULL;
	drop = p->filter && p->filter(TAP_TO_GUEST, j->data, j->len,
				      p->filter_opaque);
	if (drop) {
		p->stats.filtered++;
	} else {
		memcpy(p->pending, j->data, j->len);
		p->pending_len = j->len;
		p->pending_busy = true;
		p->stats.injected++;
	}
	free(j);
	pthread_cond_broadcast(&p->cond);
}

static void *pump_main(void *arg)
{
	struct tap_pump *p = arg;

	for (;;) {
		struct pollfd fds[3];
		struct guest *g;
		bool alive, more;
		int n = 2;

		pthread_mutex_lock(&p->lock);
		if (p->pause_req && !p->stop_req) {
			p->parked = true;
			pthread_cond_broadcast(&p->cond);
			while (p->pause_req && !p->stop_req)
				pthread_cond_wait(&p->cond, &p->lock);
			p->parked = false;
		}
		if (p->stop_req) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		g = p->guest;
		alive = g && !g->exited && g->chan >= 0 && !p->stats.guest_gone;
		pthread_mutex_unlock(&p->lock);
		flush_pending(p, g, alive);
		/* injected frames, while the channel takes them */
		for (int i = 0; i < TAP_READ_BUDGET && !p->pending_busy; i++) {
			pthread_mutex_lock(&p->lock);
			more = p->inj_head != NULL;
			take_injected(p);
			pthread_mutex_unlock(&p->lock);
			if (!more)
				break;
			flush_pending(p, g, alive);
		}
		pthread_mutex_lock(&p->lock);
		more = p->inj_head && !p->pending_busy;
		pthread_mutex_unlock(&p->lock);

		fds[0] = (struct pollfd){ .fd = p->wake_fd, .events = POLLIN };
		fds[1] = (struct pollfd){ .fd = p->tap_fd,
					  .events = p->pending_busy ? 0 : POLLIN };
		if (alive)
			fds[n++] = (struct pollfd){ .fd = g->chan, .events = POLLIN |
						    (p->pending_busy ? POLLOUT : 0) };
		if (poll(fds, (nfds_t)n, more ? 0 : POLL_MS) < 0) {
			if (errno != EINTR)
				pr_err("poll: %s", strerror(errno));
			continue;
		}
		if (fds[0].revents & POLLIN) {
			uint64_t v;

			if (read(p->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				pr_warn("eventfd read: %s", strerror(errno));
		}
		if (alive && (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    guest_poll(g, 0) < 0) {
			pthread_mutex_lock(&p->lock);
			p->stats.guest_gone = true;
			pthread_mutex_unlock(&p->lock);
			alive = false;
		}
		if (fds[1].revents & POLLIN)
			read_tap(p, g, alive);
	}
}

int tap_pump_start(struct tap_pump *p, struct guest *g)
{
	int ret;

	p->guest = g;
	ret = pthread_create(&p->thread, NULL, pump_main, p);
	if (ret) {
		pr_err("pthread_create: %s", strerror(ret));
		return -ret;
	}
	p->started = true;
	return 0;
}

void tap_pump_pause(struct tap_pump *p)
{
	pthread_mutex_lock(&p->lock);
	p->pause_req = true;
	if (p->started) {
		wake(p);
		while (!p->parked)
			pthread_cond_wait(&p->cond, &p->lock);
	}
	pthread_mutex_unlock(&p->lock);
}

void tap_pump_resume(struct tap_pump *p)
{
	pthread_mutex_lock(&p->lock);
	p->pause_req = false;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void tap_pump_set_guest(struct tap_pump *p, struct guest *g)
{
	pthread_mutex_lock(&p->lock);
	if (p->started && !p->parked)
		pr_err("tap_pump_set_guest while the pump runs: pause it first");
	p->guest = g;
	p->stats.guest_gone = false;
	pthread_mutex_unlock(&p->lock);
}

void tap_pump_set_filter(struct tap_pump *p, tap_filter_fn fn, void *opaque)
{
	pthread_mutex_lock(&p->lock);
	p->filter = fn;
	p->filter_opaque = opaque;
	pthread_mutex_unlock(&p->lock);
}

int tap_pump_inject(struct tap_pump *p, const void *frame, size_t len)
{
	struct tap_inject *j;

	if (len > sizeof(p->pending))
		return -EMSGSIZE;
	j = malloc(sizeof(*j) + len);
	if (!j)
		return -ENOMEM;
	j->next = NULL;
	j->len = len;
	memcpy(j->data, frame, len);
	pthread_mutex_lock(&p->lock);
	if (p->inj_tail)
		p->inj_tail->next = j;
	else
		p->inj_head = j;
	p->inj_tail = j;
	pthread_mutex_unlock(&p->lock);
	wake(p);
	return 0;
}

int tap_pump_wait_injected(struct tap_pump *p, int timeout_ms)
{
	struct timespec until;
	int ret = 0;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&p->lock);
	while ((p->inj_head || p->pending_busy) && ret == 0)
		ret = pthread_cond_timedwait(&p->cond, &p->lock, &until);
	pthread_mutex_unlock(&p->lock);
	return ret ? -ETIMEDOUT : 0;
}

void tap_pump_get_stats(struct tap_pump *p, struct tap_pump_stats *out)
{
	pthread_mutex_lock(&p->lock);
	*out = p->stats;
	pthread_mutex_unlock(&p->lock);
}

void tap_pump_close(struct tap_pump *p)
{
	if (p->tap_fd < 0)
		return;
	if (p->started) {
		pthread_mutex_lock(&p->lock);
		p->stop_req = true;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
		wake(p);
		pthread_join(p->thread, NULL);
		p->started = false;
	}
	while (p->inj_head) {
		struct tap_inject *j = p->inj_head;

		p->inj_head = j->next;
		free(j);
	}
	p->inj_tail = NULL;
	close(p->wake_fd);
	close(p->tap_fd);
	p->wake_fd = p->tap_fd = -1;
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
}
