/*
 * guest_channel.c - drive a launched guest over its runtime channel:
 * records out and in, frames, stop, commands, continue, and its end.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOG_PREFIX "guest: "
#include "log.h"
#include "clock.h"
#include "fault.h"
#include "guest.h"

static int send_record(struct guest *g, uint32_t type, uint64_t seq,
		       const uint64_t arg[4], const void *payload, size_t len)
{
	struct colo_guest_msg m = { .type = type, .len = (uint32_t)len, .seq = seq };
	struct iovec iov[2] = { { &m, sizeof(m) }, { (void *)payload, len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };

	if (arg)
		memcpy(m.arg, arg, sizeof(m.arg));
	if (len > COLO_GUEST_MAX_PAYLOAD) {
		pr_err("%s: a %zu-byte record is over the %u-byte limit",
		       g->name, len, COLO_GUEST_MAX_PAYLOAD);
		return -EMSGSIZE;
	}
	/* Never blocking: a guest stuck in a handler (or stopped by a
	 * signal) reads nothing, and the daemon's loop must go on. */
	while (sendmsg(g->chan, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN && !g->chan_full)
			pr_warn("%s: its channel is full (it reads nothing); "
				"record type %u not sent", g->name, type);
		else if (errno != EAGAIN)
			pr_err("%s: channel write failed: %s", g->name,
			       strerror(errno));
		g->chan_full = errno == EAGAIN;
		return -errno;
	}
	g->chan_full = false;
	return 0;
}

/* Bytes we sent that the guest has not read yet. */
static int unread_by_guest(const struct guest *g)
{
	int n = 0;

	if (ioctl(g->chan, SIOCOUTQ, &n) < 0)
		return 0;	/* cannot tell: as if read */
	return n;
}

int guest_start(struct guest *g)
{
	return send_record(g, GUEST_MSG_START, 0, NULL, NULL, 0);
}

/* A clock for a TICK or FRAME_IN the runtime can keep (0: none). */
static int check_clock(struct guest *g, const char *what, uint64_t clock_ms)
{
	if (clock_ms <= (uint64_t)COLO_GUEST_CLOCK_MAX_MS)
		return 0;
	pr_err("%s: a %s at guest clock %" PRIu64 " ms: at most %lld", g->name,
	       what, clock_ms, (long long)COLO_GUEST_CLOCK_MAX_MS);
	return -EINVAL;
}

int guest_send_frame_at(struct guest *g, const void *frame, size_t len,
			uint64_t clock_ms)
{
	const uint64_t arg[4] = { clock_ms };
	int ret;

	if (g->paused)
		return -EBUSY;
	ret = check_clock(g, "frame", clock_ms);
	if (ret)
		return ret;
	return send_record(g, GUEST_MSG_FRAME_IN, 0, arg, frame, len);
}

int guest_send_frame(struct guest *g, const void *frame, size_t len)
{
	return guest_send_frame_at(g, frame, len, 0);
}

int guest_send_tick(struct guest *g, uint64_t clock_ms)
{
	const uint64_t arg[4] = { clock_ms };
	int ret;

	if (g->paused)
		return -EBUSY;
	if (!clock_ms) {
		pr_err("%s: a tick at guest clock 0 ms: 0 is no clock", g->name);
		return -EINVAL;
	}
	ret = check_clock(g, "tick", clock_ms);
	if (ret)
		return ret;
	return send_record(g, GUEST_MSG_TICK, 0, arg, NULL, 0);
}

int guest_announce(struct guest *g)
{
	if (g->paused)
		return -EBUSY;
	return send_record(g, GUEST_MSG_ANNOUNCE, 0, NULL, NULL, 0);
}

static void reap(struct guest *g)
{
	if (g->pid > 0 && !g->exited &&
	    waitpid(g->pid, &g->exit_status, 0) == g->pid)
		g->exited = true;
}

static void describe_exit(struct guest *g)
{
	reap(g);
	if (WIFEXITED(g->exit_status))
		pr_err("%s (pid %d) exited with status %d", g->name,
		       (int)g->pid, WEXITSTATUS(g->exit_status));
	else if (WIFSIGNALED(g->exit_status))
		pr_err("%s (pid %d) was killed by signal %d (%s)",
		       g->name, (int)g->pid, WTERMSIG(g->exit_status),
		       strsignal(WTERMSIG(g->exit_status)));
}

enum { RX_NONE, RX_HANDLED, RX_RECORD };

/*
 * Receive one record, waiting up to timeout_ms (-1: forever). Frames and
 * log lines are handled here (RX_HANDLED); anything else is left in g->rx
 * for the caller (RX_RECORD). RX_NONE on timeout, -EPIPE when gone.
 */
static int receive(struct guest *g, int timeout_ms)
{
	struct colo_guest_msg *m = (struct colo_guest_msg *)g->rx;
	struct pollfd pfd = { .fd = g->chan, .events = POLLIN | POLLRDHUP };
	ssize_t n;
	int ret;

	if (g->exited)
		return -EPIPE;
	ret = poll(&pfd, 1, timeout_ms);
	if (ret < 0)
		return errno == EINTR ? RX_NONE : -errno;
	if (ret == 0)
		return RX_NONE;
	/* MSG_TRUNC: n is the record's whole size, even past rx */
	n = recv(g->chan, g->rx, GUEST_RX_SIZE, MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return RX_NONE;
	/* An empty record reads as 0 too: only a hang-up is the guest's
	 * end (describe_exit() waits for it to exit) */
	if (n < 0 || (n == 0 && (pfd.revents & (POLLHUP | POLLRDHUP)))) {
		describe_exit(g);
		return -EPIPE;
	}
	if ((size_t)n < sizeof(*m) || (size_t)n > GUEST_RX_SIZE ||
	    m->len != (size_t)n - sizeof(*m)) {
		pr_warn("%s: dropped a malformed %zd-byte record", g->name, n);
		return RX_HANDLED;
	}
	switch (m->type) {
	case GUEST_MSG_FRAME_OUT:
		if (g->on_frame)
			g->on_frame(g, g->rx + sizeof(*m), m->len, g->opaque);
		return RX_HANDLED;
	case GUEST_MSG_LOG:
		pr_info("%s: %.*s", g->name, (int)m->len,
			(const char *)(g->rx + sizeof(*m)));
		return RX_HANDLED;
	case GUEST_MSG_PAUSED:
		if (m->seq <= g->cancelled_seq)
			return RX_HANDLED;	/* it continues by itself */
		return RX_RECORD;
	default:
		return RX_RECORD;
	}
}

/* At most this many records per guest_poll(): a guest that floods its
 * channel does not keep the caller from its other work. */
#define POLL_BUDGET	256

/*
 * A reply to a command older than seq: one we stopped waiting for when
 * its timeout ran out. It is dropped quietly wherever it turns up.
 */
static bool late_reply(struct guest *g, uint64_t seq)
{
	struct colo_guest_msg *m = (struct colo_guest_msg *)g->rx;

	if (m->type != GUEST_MSG_REPLY || m->seq >= seq)
		return false;
	pr_debug("%s: dropped the late reply to command seq %" PRIu64,
		 g->name, m->seq);
	return true;
}

int guest_poll(struct guest *g, int timeout_ms)
{
	int ret = receive(g, timeout_ms);

	for (int budget = POLL_BUDGET; ret > 0 && --budget > 0;) {
		/* no command is waiting: any reply is a late one */
		if (ret == RX_RECORD && !late_reply(g, g->next_seq + 1))
			pr_warn("%s: unexpected record type %u", g->name,
				((struct colo_guest_msg *)g->rx)->type);
		ret = receive(g, 0);
	}
	return ret < 0 ? ret : 0;
}

/*
 * Wait for a record of type (with seq) until deadline; others handled,
 * late replies to earlier commands dropped. What arrived by the deadline
 * counts, even if we were late to look (a stalled daemon must not take a
 * guest's answer for a timeout).
 */
static int wait_for(struct guest *g, uint32_t type, uint64_t seq,
		    int64_t deadline)
{
	for (;;) {
		struct colo_guest_msg *m = (struct colo_guest_msg *)g->rx;
		int64_t left = deadline - colo_now_ms();
		int ret;

		ret = receive(g, left > 0 ? (int)left : 0);
		if (ret < 0)
			return ret;
		if (ret == RX_NONE && left <= 0)
			return -ETIMEDOUT;
		if (ret == RX_RECORD && m->type == type && m->seq == seq)
			return 0;
		if (ret == RX_RECORD && !late_reply(g, seq))
			pr_warn("%s: unexpected record type %u seq %" PRIu64
				" while waiting for type %u seq %" PRIu64,
				g->name, m->type, m->seq, type, seq);
	}
}

/* Sleep ms milliseconds without reading the channel. */
static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * FI_GUEST_LATE_REPLY: is this CONTINUE the COLO_FAULT_AT-th one sent
 * while the fault is on (from its start, for a daemon run with
 * COLO_FAULT)? Its reply is then left unread until after the timeout.
 */
static bool late_reply_fault(uint32_t cmd)
{
	static unsigned long continues;	/* CONTINUEs sent under the fault */

	if (cmd != GUEST_CMD_CONTINUE || !fault_injected(FI_GUEST_LATE_REPLY))
		return false;
	return ++continues == fault_at();
}

int guest_stop(struct guest *g, int timeout_ms)
{
	uint64_t seq;
	int ret;

	if (g->paused)
		return 0;
	/* The PAUSE and CANCEL of the last try still unread: the guest has
	 * not left its handler. Another pair would only fill its channel. */
	if (g->cancelled_seq && unread_by_guest(g) > 0) {
		ret = guest_poll(g, 0);
		return ret ? ret : -ETIMEDOUT;
	}
	seq = ++g->next_seq;
	ret = send_record(g, GUEST_MSG_PAUSE, seq, NULL, NULL, 0);
	if (ret)
		return ret == -EAGAIN ? -ETIMEDOUT : ret; /* it reads nothing */
	ret = wait_for(g, GUEST_MSG_PAUSED, seq, colo_now_ms() + timeout_ms);
	if (ret == -ETIMEDOUT) {
		/* without its CANCEL, the guest pauses when it reads the
		 * PAUSE and answers the next stop's PAUSE from there */
		if (!send_record(g, GUEST_MSG_CANCEL, seq, NULL, NULL, 0))
			g->cancelled_seq = seq;
		pr_warn("%s did not reach a pause point within %d ms (busy "
			"in a handler); the stop is cancelled and it keeps "
			"running", g->name, timeout_ms);
		return ret;
	}
	if (ret)
		return ret;
	g->paused = true;
	return 0;
}

int guest_cmd(struct guest *g, uint32_t cmd, const uint64_t arg[4],
	      int64_t *result, void *reply, size_t reply_len)
{
	struct colo_guest_msg *m = (struct colo_guest_msg *)g->rx;
	int timeout_ms = g->cmd_timeout_ms > 0 ? g->cmd_timeout_ms :
						 GUEST_CMD_TIMEOUT_MS;
	uint64_t seq = ++g->next_seq;
	int ret;

	if (!g->paused) {
		pr_err("%s: command %u needs the guest paused", g->name, cmd);
		return -EBUSY;
	}
	ret = send_record(g, cmd, seq, arg, NULL, 0);
	if (ret)
		return ret;
	if (late_reply_fault(cmd)) {
		pr_warn("%s: fault %s: the reply to CONTINUE seq %" PRIu64
			" is left unread for %d ms", g->name,
			fault_name(FI_GUEST_LATE_REPLY), seq, timeout_ms);
		sleep_ms(timeout_ms);
		ret = -ETIMEDOUT;
	} else {
		ret = wait_for(g, GUEST_MSG_REPLY, seq,
			       colo_now_ms() + timeout_ms);
	}
	if (ret) {
		if (ret == -ETIMEDOUT)
			pr_err("%s: no reply to command %u within %d ms",
			       g->name, cmd, timeout_ms);
		return ret;
	}
	if (result)
		*result = (int64_t)m->arg[0];
	if (reply) {
		if (m->len != reply_len) {
			pr_err("%s: reply to command %u has %u bytes, "
			       "expected %zu", g->name, cmd, m->len, reply_len);
			return -EPROTO;
		}
		memcpy(reply, g->rx + sizeof(*m), reply_len);
	}
	return 0;
}

int guest_layout(struct guest *g, struct colo_guest_layout *l)
{
	return guest_cmd(g, GUEST_CMD_LAYOUT, NULL, NULL, l, sizeof(*l));
}

int guest_continue_at(struct guest *g, uint64_t clock_ms)
{
	const uint64_t arg[4] = { clock_ms };
	int64_t res = 0;
	int ret;

	if (!g->paused)
		return 0;
	ret = guest_cmd(g, GUEST_CMD_CONTINUE, arg, &res, NULL, 0);
	if (!ret && res) {
		int err = guest_result_errno(res);

		pr_err("%s refused to continue at guest clock %" PRIu64 " ms "
		       "(at most %lld): %s; it stays paused", g->name, clock_ms,
		       (long long)COLO_GUEST_CLOCK_MAX_MS, strerror(-err));
		return err;
	}
	/* Without a reply we cannot know; take it as running: a paused guest
	 * answers the next PAUSE with PAUSED all the same, while a running
	 * one taken for paused would refuse every frame. */
	if (!ret || ret == -ETIMEDOUT)
		g->paused = false;
	return ret;
}

int guest_continue(struct guest *g)
{
	return guest_continue_at(g, 0);
}

void guest_destroy(struct guest *g, int timeout_ms)
{
	if (g->pid > 0 && !g->exited) {
		if (g->chan >= 0 && timeout_ms > 0) {
			struct pollfd pfd = { .fd = g->chan, .events = POLLIN };
			int64_t deadline = colo_now_ms() + timeout_ms;

			send_record(g, GUEST_MSG_SHUTDOWN, 0, NULL, NULL, 0);
			while (colo_now_ms() < deadline) {
				if (waitpid(g->pid, &g->exit_status, WNOHANG) == g->pid) {
					g->exited = true;
					break;
				}
				if (poll(&pfd, 1, 10) > 0 && g->rx)
					recv(g->chan, g->rx, GUEST_RX_SIZE,
					     MSG_DONTWAIT);
			}
		}
		if (!g->exited)
			kill(g->pid, SIGKILL);
		reap(g);
	}
	if (g->chan >= 0)
		close(g->chan);
	g->chan = -1;
	free(g->rx);
	g->rx = NULL;
}
