/*
 * runtime.c - libcologuest: start-up checks, the event loop, the NIC, the
 * clock and the log of a guest.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "colo_guest.h"
#include "guest_uffd.h"
#include "runtime_int.h"

/* CET shadow stacks (Linux 6.6 uapi asm/prctl.h; our headers are 6.1). */
#ifndef ARCH_SHSTK_STATUS
#define ARCH_SHSTK_STATUS	0x5005
#endif
#ifndef ARCH_SHSTK_SHSTK
#define ARCH_SHSTK_SHSTK	(1ull << 0)
#endif

/*
 * Guest memory: a checkpoint copies these into the other guest, so the
 * copy resumes from this context, with this MAC, already started.
 */
static struct colo_context colo_rt_ctx;
static uint8_t colo_rt_mac[6] = COLO_GUEST_MAC_DEFAULT;
static int colo_rt_started;
/* The private mapping is there (in B as in A: both ran runtime_init). */
static int colo_rt_mapped;

static int send_record(uint32_t type, uint64_t seq, const void *payload,
		       size_t len)
{
	struct colo_guest_msg m = { .type = type, .len = (uint32_t)len, .seq = seq };
	struct iovec iov[2] = {
		{ &m, sizeof(m) },
		{ (void *)payload, len },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };

	if (len > COLO_GUEST_MAX_PAYLOAD)
		return -EMSGSIZE;
	while (sendmsg(COLO_RT->chan, &mh, MSG_NOSIGNAL) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

int colo_nic_send(const void *frame, size_t len)
{
	return send_record(GUEST_MSG_FRAME_OUT, 0, frame, len);
}

void colo_nic_mac(uint8_t mac[6])
{
	memcpy(mac, colo_rt_mac, 6);
}

uint64_t colo_clock_ms(void)
{
	struct timespec ts;
	int64_t host_ns;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	host_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	if (colo_rt_mapped)
		host_ns = colo_rt_guest_ns(host_ns);
	return (uint64_t)host_ns / 1000000;
}

long colo_host_param(const char *name)
{
	if (!colo_rt_mapped || !name)
		return -1;
	for (unsigned i = 0; i < COLO_RT->host_params; i++)
		if (!strcmp(COLO_RT->host_param[i].name, name))
			return COLO_RT->host_param[i].value;
	return -1;
}

void colo_log(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	send_record(GUEST_MSG_LOG, 0, line, strlen(line));
}

/*
 * The TID field of our thread descriptor: glibc hands its address to the
 * kernel with set_tid_address() at start (the kernel clears it when the
 * thread exits), and PR_GET_TID_ADDRESS gives it back.
 */
static uint64_t find_tid_addr(pid_t tid)
{
	int *addr = NULL;

	if (prctl(PR_GET_TID_ADDRESS, &addr) || !addr || *addr != tid)
		return 0;
	return (uintptr_t)addr;
}

/*
 * A CET shadow stack keeps return addresses where a checkpoint does not
 * copy them, and refuses the stack switch of colo_context_restore(): the
 * guest would die at its first return in the other process. An old
 * kernel, or one without user shadow stacks, says EINVAL: there is none.
 */
static int check_shadow_stack(char *why, size_t len)
{
	unsigned long long features = 0;

	if (syscall(SYS_arch_prctl, ARCH_SHSTK_STATUS, &features) < 0) {
		int err = errno;

		if (err == EINVAL)
			return 0;
		snprintf(why, len, "cannot tell whether a CET shadow stack is "
			 "on (arch_prctl ARCH_SHSTK_STATUS: %s)", strerror(err));
		return -err;
	}
	if (features & ARCH_SHSTK_SHSTK) {
		snprintf(why, len, "a CET shadow stack is on: it keeps return "
			 "addresses outside guest memory, and a replica would "
			 "die at its first return: start the guest with "
			 "GLIBC_TUNABLES=glibc.cpu.x86_shstk=off or build it "
			 "without -fcf-protection=return");
		return -EINVAL;
	}
	return 0;
}

/*
 * Everything that must hold for two guests to share one address layout
 * byte for byte, and for one to resume the other's context, checked
 * before anything else runs. A failure names what is wrong and what to do.
 */
static int runtime_check(char *why, size_t len)
{
	struct rlimit rl;
	const char *mac = getenv(COLO_GUEST_MAC_ENV);
	int pers = personality(0xffffffff);
	int ret;

	if (fcntl(COLO_GUEST_CHANNEL_FD, F_GETFD) < 0) {
		snprintf(why, len, "no runtime channel on fd %d: start guests "
			 "with the colo launcher (coloctl guest run)",
			 COLO_GUEST_CHANNEL_FD);
		return -EBADF;
	}
	if (pers < 0 || !(pers & ADDR_NO_RANDOMIZE)) {
		snprintf(why, len, "address randomisation is on: the launcher "
			 "must set personality(ADDR_NO_RANDOMIZE)");
		return -EINVAL;
	}
	if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur == RLIM_INFINITY) {
		snprintf(why, len, "RLIMIT_STACK is unlimited, which switches "
			 "the kernel to the legacy address layout: give it a "
			 "finite value (ulimit -s 8192)");
		return -EINVAL;
	}
	if (__rseq_size != 0) {
		snprintf(why, len, "rseq is registered, and the kernel would "
			 "rewrite its area in copied memory: start the guest "
			 "with GLIBC_TUNABLES=glibc.pthread.rseq=0");
		return -EINVAL;
	}
	ret = check_shadow_stack(why, len);
	if (ret)
		return ret;
	if (mac && colo_mac_parse(mac, colo_rt_mac)) {
		snprintf(why, len, "%s=%s is not a MAC address (like "
			 "52:54:00:c0:10:01)", COLO_GUEST_MAC_ENV, mac);
		return -EINVAL;
	}
	return 0;
}

/* Decimal digits only, 0 to LONG_MAX: no sign, space, base or suffix,
 * so that a typo is refused rather than read as something else. */
static int parse_decimal(const char *s, long *v)
{
	long n = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (n > (LONG_MAX - (*s - '0')) / 10)
			return -ERANGE;
		n = n * 10 + (*s - '0');
	}
	*v = n;
	return 0;
}

/* Name characters of a host parameter: those of a shell variable. */
static int host_param_name_ok(const char *name, size_t len)
{
	if (!len || len > COLO_GUEST_HOST_PARAM_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char ch = name[i];

		if (!(ch == '_' || (ch >= '0' && ch <= '9') ||
		      (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')))
			return 0;
	}
	return 1;
}

/* One COLO_HOST_<NAME>=<value> of the environment into the table. */
static int host_param_add(const char *var, char *why, size_t len)
{
	const char *name = var + strlen(COLO_GUEST_HOST_PARAM_PREFIX);
	const char *eq = strchr(name, '=');
	struct colo_host_param *hp;
	size_t n;
	int vlen;		/* of the variable's name, as printed */
	long value;

	/* environ entries all have their '=' (putenv aside): one without
	 * is no parameter of ours */
	if (!eq)
		return 0;
	n = (size_t)(eq - name);
	vlen = (int)(eq - var < 64 ? eq - var : 64);
	if (!host_param_name_ok(name, n)) {
		snprintf(why, len, "host parameter %.*s: its name after %s "
			 "must be 1 to %d letters, digits or '_'", vlen, var,
			 COLO_GUEST_HOST_PARAM_PREFIX,
			 COLO_GUEST_HOST_PARAM_NAME_MAX);
		return -EINVAL;
	}
	for (unsigned i = 0; i < COLO_RT->host_params; i++) {
		if (strlen(COLO_RT->host_param[i].name) == n &&
		    !strncmp(COLO_RT->host_param[i].name, name, n)) {
			snprintf(why, len, "host parameter %.*s is given twice",
				 vlen, var);
			return -EINVAL;
		}
	}
	if (parse_decimal(eq + 1, &value)) {
		snprintf(why, len, "host parameter %.*s='%.64s' is not a "
			 "number: give decimal digits only, 0 to %ld", vlen,
			 var, eq + 1, LONG_MAX);
		return -EINVAL;
	}
	if (COLO_RT->host_params == COLO_GUEST_HOST_PARAMS) {
		snprintf(why, len, "more than %d host parameters (%s*): the "
			 "runtime keeps no more", COLO_GUEST_HOST_PARAMS,
			 COLO_GUEST_HOST_PARAM_PREFIX);
		return -E2BIG;
	}
	hp = &COLO_RT->host_param[COLO_RT->host_params++];
	memcpy(hp->name, name, n);
	hp->name[n] = '\0';
	hp->value = value;
	return 0;
}

/*
 * This host's parameters, from the environment the daemon gave us, into
 * the private mapping: guest memory (environ's strings on the stack
 * included) is the primary's after a checkpoint, this table stays ours.
 */
static int host_params_load(char *why, size_t len)
{
	extern char **environ;
	size_t plen = strlen(COLO_GUEST_HOST_PARAM_PREFIX);
	int ret;

	for (char **e = environ; e && *e; e++) {
		if (strncmp(*e, COLO_GUEST_HOST_PARAM_PREFIX, plen))
			continue;
		ret = host_param_add(*e, why, len);
		if (ret)
			return ret;
	}
	return 0;
}

static int runtime_init(struct colo_guest_hello *h)
{
	void *p;
	int ret;

	ret = runtime_check(h->why, sizeof(h->why));
	if (ret)
		return ret;
	p = mmap((void *)(uintptr_t)COLO_GUEST_PRIVATE_BASE,
		 COLO_GUEST_PRIVATE_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		snprintf(h->why, sizeof(h->why), "cannot map the runtime's "
			 "private area at %#llx: %s",
			 (unsigned long long)COLO_GUEST_PRIVATE_BASE,
			 strerror(errno));
		return ret;
	}
	colo_rt_mapped = 1;
	COLO_RT->chan = COLO_GUEST_CHANNEL_FD;
	COLO_RT->tid = gettid();
	COLO_RT->tid_addr = find_tid_addr(COLO_RT->tid);
	COLO_RT->ctx = &colo_rt_ctx;
	if (!COLO_RT->tid_addr) {
		snprintf(h->why, sizeof(h->why), "cannot find the TID field "
			 "of the thread descriptor (PR_GET_TID_ADDRESS): "
			 "unsupported libc");
		return -ENOTSUP;
	}
	ret = host_params_load(h->why, sizeof(h->why));
	if (ret)
		return ret;
	ret = colo_guest_uffd_create();
	if (ret) {
		snprintf(h->why, sizeof(h->why), "userfaultfd(): %s",
			 strerror(-ret));
		return ret;
	}
	return 0;
}

/*
 * The pause point. Between two events: flush stdio, save the context into
 * guest memory and obey the daemon on the private stack. We come back
 * here when the daemon continues this guest, or when another guest that
 * received a copy of this memory is continued.
 */
static void pause_point(uint64_t seq)
{
	fflush(NULL);
	COLO_RT->pause_seq = seq;
	if (colo_context_save(&colo_rt_ctx) == 0)
		colo_call_on_stack(COLO_RT_STACK_TOP, colo_pause_loop);
}

static void send_reply_busy(uint64_t seq)
{
	struct colo_guest_msg m = {
		.type = GUEST_MSG_REPLY,
		.seq = seq,
		.arg = { (uint64_t)-EBUSY },
	};

	sendmsg(COLO_RT->chan, &(struct msghdr){
		.msg_iov = &(struct iovec){ &m, sizeof(m) }, .msg_iovlen = 1,
	}, MSG_NOSIGNAL);
}

/* Is the next record a CANCEL of seq? Then take it: the pause is off. */
static int pause_cancelled(uint64_t seq)
{
	struct colo_guest_msg m;
	ssize_t n = recv(COLO_RT->chan, &m, sizeof(m), MSG_PEEK | MSG_DONTWAIT);

	if (n != (ssize_t)sizeof(m) || m.type != GUEST_MSG_CANCEL || m.seq != seq)
		return 0;
	recv(COLO_RT->chan, &m, sizeof(m), MSG_DONTWAIT);
	return 1;
}

/* poll()'s timeout until deadline: never wraps, however far it is. */
static int timeout_until(uint64_t deadline, uint64_t now)
{
	uint64_t left = deadline - now;

	return left > (uint64_t)INT_MAX ? INT_MAX : (int)left;
}

/*
 * A clock the daemon gave with an event (0: none). The first one makes
 * the clock fed, starting there whatever the guest's own clock read;
 * from then on a later one moves it and an earlier one leaves it, so it
 * never goes back (but by CONTINUE). One over the limit (which the
 * daemon refuses to send) is ignored.
 */
static void feed_clock(uint64_t clock_ms)
{
	int64_t ns;

	if (!clock_ms || clock_ms > (uint64_t)COLO_GUEST_CLOCK_MAX_MS)
		return;
	ns = (int64_t)clock_ms * 1000000;
	if (!COLO_RT->fed || ns > COLO_RT->fed_clock_ns)
		COLO_RT->fed_clock_ns = ns;
	COLO_RT->fed = 1;
}

/* One record from the daemon; 1 when the guest must leave the loop. */
static int dispatch(int argc, char **argv, const struct colo_guest_ops *ops,
		    void *opaque, int *status)
{
	struct colo_guest_msg *m = (struct colo_guest_msg *)COLO_RT->rx;
	ssize_t n = recv(COLO_RT->chan, COLO_RT->rx, sizeof(COLO_RT->rx), 0);

	if (n < 0 && errno == EINTR)
		return 0;
	if (n < (ssize_t)sizeof(*m)) {
		*status = 1;		/* the daemon is gone */
		return 1;
	}
	switch (m->type) {
	case GUEST_MSG_START:
		if (colo_rt_started)
			break;
		colo_rt_started = 1;
		if (ops->start && ops->start(argc, argv, opaque)) {
			colo_log("start handler failed");
			*status = 1;
			return 1;
		}
		break;
	case GUEST_MSG_FRAME_IN:
		/* the handler runs at the clock the frame came at */
		feed_clock(m->arg[0]);
		if (colo_rt_started && ops->frame && m->len <= (size_t)n - sizeof(*m))
			ops->frame(COLO_RT->rx + sizeof(*m), m->len, opaque);
		break;
	case GUEST_MSG_TICK:
		feed_clock(m->arg[0]);	/* the loop runs the timer if due */
		break;
	case GUEST_MSG_ANNOUNCE:
		if (colo_rt_started && ops->announce)
			ops->announce(opaque);
		break;
	case GUEST_MSG_PAUSE:
		if (!pause_cancelled(m->seq))
			pause_point(m->seq);
		break;
	case GUEST_MSG_SHUTDOWN:
		*status = 0;
		return 1;
	default:
		/* a command while running: say so, so the daemon does not
		 * wait for a reply that will never come */
		if (m->type >= GUEST_CMD_LAYOUT)
			send_reply_busy(m->seq);
		break;		/* or a late CANCEL: nothing to do */
	}
	return 0;
}

int colo_guest_main(int argc, char **argv, const struct colo_guest_ops *ops,
		    void *opaque)
{
	struct colo_guest_hello hello = { .version = COLO_GUEST_ABI_VERSION };
	uint64_t next_tick = 0;
	int status = 0;

	hello.error = runtime_init(&hello);
	hello.pid = getpid();
	hello.tid = gettid();
	hello.ctx_addr = (uintptr_t)&colo_rt_ctx;
	hello.private_base = COLO_GUEST_PRIVATE_BASE;
	hello.private_len = COLO_GUEST_PRIVATE_SIZE;
	if (hello.error) {
		/* the channel may be missing: say it on stderr as well */
		fprintf(stderr, "colo guest: %s\n", hello.why);
		struct colo_guest_msg m = { .type = GUEST_MSG_HELLO, .len = sizeof(hello) };
		struct iovec iov[2] = { { &m, sizeof(m) }, { &hello, sizeof(hello) } };
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

		sendmsg(COLO_GUEST_CHANNEL_FD, &mh, MSG_NOSIGNAL);
		return 1;
	}
	hello.tid_addr = COLO_RT->tid_addr;
	if (send_record(GUEST_MSG_HELLO, 0, &hello, sizeof(hello)))
		return 1;

	for (;;) {
		struct pollfd pfd = { .fd = COLO_RT->chan, .events = POLLIN };
		int timeout = -1;

		if (colo_rt_started && ops->timer_ms) {
			uint64_t now = colo_clock_ms();

			if (!next_tick)
				next_tick = now + ops->timer_ms;
			if (now >= next_tick) {
				ops->timer(opaque);
				next_tick += ops->timer_ms;
				if (next_tick <= now)	/* fell behind: skip */
					next_tick = now + ops->timer_ms;
				continue;
			}
			/* a fed clock moves by events only: no wake-up of
			 * our own, or the two guests of a pair would tick
			 * at different points of the same event sequence */
			if (!COLO_RT->fed)
				timeout = timeout_until(next_tick, now);
		}
		if (poll(&pfd, 1, timeout) < 0 && errno != EINTR)
			return 1;
		if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) &&
		    dispatch(argc, argv, ops, opaque, &status))
			return status;
	}
}
