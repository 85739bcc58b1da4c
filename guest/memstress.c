/*
 * memstress - a guest that dirties memory on purpose: the benchmark and
 * test subject of checkpoints.
 *
 *   memstress [--ram MIB] [--wss MIB] [--pattern seq|rand|hotcold]
 *             [--rate PAGES] [--tick MS] [--seed N] [--churn]
 *             [--exit-after MS]
 *
 * It maps and fills --ram MiB, then writes pages of the first --wss MiB
 * in the given pattern: --rate pages every --tick ms, and on request.
 * With --churn it also allocates and frees large blocks (mmap/munmap) and
 * grows its heap (brk) as it goes. Everything follows from the seed and
 * the commands received, so two copies given the same commands end in the
 * same state.
 *
 * Commands come as Ethernet frames of type 0x88b5 whose payload is a line
 * of text; the answer goes back the same way, to the sender:
 *   step N     do N write steps now              -> "ok step N"
 *   hash       the running hash of all writes    -> "hash H"
 *   digest     a hash over all of its memory     -> "digest D"
 *   rate N     pages per tick from now on        -> "ok rate N"
 *   busy MS    stay MS ms in this handler        -> "ok busy MS"
 *   stack KIB  use KIB KiB of stack (grows it)   -> "ok stack KIB"
 *   tidcheck   is the TID in its descriptor its own? -> "tid ok" or error
 *   ro N       map a page, write N, make it read-only -> "ok ro N"
 *   roval      what the last such page holds      -> "roval N"
 *   clock      its guest clock, colo_clock_ms()   -> "clock MS"
 *   bt         take a backtrace (glibc loads libgcc_s: a new file mapping,
 *              which the contract forbids after start) -> "ok bt N"
 */
#include <execinfo.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "colo_guest.h"

#define ETH_TYPE_MEMSTRESS	0x88b5
#define PAGE			4096u
#define CHURN_EVERY		256	/* steps between two churn moves */
#define CHURN_BLOCKS		8	/* large blocks alive at most */
#define HEAP_PIECES		1024	/* small heap allocations alive at most */

enum pattern { PAT_SEQ, PAT_RAND, PAT_HOTCOLD };

/* All of it is guest memory: a checkpoint carries it to the copy. */
static struct memstress {
	unsigned char *ram;
	size_t ram_pages, wss_pages;
	enum pattern pattern;
	unsigned rate;			/* pages per tick */
	int churn;
	uint64_t rng;
	uint64_t steps;
	uint64_t running_hash;
	size_t seq_cursor;
	void *blocks[CHURN_BLOCKS];
	size_t block_len[CHURN_BLOCKS];
	void *heap[HEAP_PIECES];
	size_t heap_len[HEAP_PIECES];
	uint64_t *ro_page;		/* the last page made read-only */
	uint64_t exit_at_ms;		/* --exit-after: leave at this guest time */
} ms;

static uint64_t rng_next(void)
{
	ms.rng ^= ms.rng >> 12;
	ms.rng ^= ms.rng << 25;
	ms.rng ^= ms.rng >> 27;
	return ms.rng * 2685821657736338717ull;
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h;
}

static size_t pick_page(void)
{
	size_t hot = ms.wss_pages / 10 ? ms.wss_pages / 10 : 1;

	switch (ms.pattern) {
	case PAT_SEQ:
		ms.seq_cursor = (ms.seq_cursor + 1) % ms.wss_pages;
		return ms.seq_cursor;
	case PAT_HOTCOLD:
		if (rng_next() % 10)
			return rng_next() % hot;
		return rng_next() % ms.wss_pages;
	case PAT_RAND:
	default:
		return rng_next() % ms.wss_pages;
	}
}

static void fill(void *p, size_t len, uint64_t v)
{
	for (size_t off = 0; off + 8 <= len; off += PAGE / 4)
		memcpy((unsigned char *)p + off, &v, 8);
}

/* Free the oldest large block or map a new one; grow or trim the heap. */
static void churn_step(void)
{
	unsigned b = (unsigned)(rng_next() % CHURN_BLOCKS);
	unsigned h = (unsigned)(rng_next() % HEAP_PIECES);

	if (ms.blocks[b]) {
		munmap(ms.blocks[b], ms.block_len[b]);
		ms.blocks[b] = NULL;
	} else {
		ms.block_len[b] = (size_t)(1 + rng_next() % 8) << 18;
		ms.blocks[b] = mmap(NULL, ms.block_len[b], PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (ms.blocks[b] == MAP_FAILED)
			ms.blocks[b] = NULL;
		else
			fill(ms.blocks[b], ms.block_len[b], ms.steps);
	}
	if (!ms.heap[h]) {
		ms.heap_len[h] = (size_t)(1 + rng_next() % 16) << 10;
		ms.heap[h] = malloc(ms.heap_len[h]);	/* from brk */
		if (ms.heap[h])
			fill(ms.heap[h], ms.heap_len[h], ms.steps);
	} else if (rng_next() % 4 == 0) {
		free(ms.heap[h]);
		ms.heap[h] = NULL;
	}
}

static void step(void)
{
	size_t page = pick_page();
	uint64_t v = rng_next();
	size_t off = (size_t)(v % (PAGE / 8)) * 8;

	memcpy(ms.ram + page * PAGE + off, &v, sizeof(v));
	ms.running_hash = fnv1a(ms.running_hash, &page, sizeof(page));
	ms.running_hash = fnv1a(ms.running_hash, &v, sizeof(v));
	ms.steps++;
	if (ms.churn && ms.steps % CHURN_EVERY == 0)
		churn_step();
}

/*
 * Use kib KiB of stack, a KiB a frame, so the stack mapping grows. The
 * frame escapes into an empty asm, before and after the call: otherwise
 * a compiler may keep only the two bytes it touches (clang does) or turn
 * the recursion into a loop, and the stack does not grow.
 */
static uint64_t __attribute__((noinline)) deep(unsigned kib)
{
	unsigned char frame[1024];
	uint64_t sum;

	frame[0] = (unsigned char)kib;
	frame[sizeof(frame) - 1] = (unsigned char)ms.steps;
	__asm__ volatile("" : : "r"(frame) : "memory");
	if (kib <= 1)
		return frame[0];
	sum = deep(kib - 1);
	__asm__ volatile("" : : "r"(frame) : "memory");
	return sum + frame[sizeof(frame) - 1];
}

static uint64_t digest(void)
{
	uint64_t h = fnv1a(14695981039346656037ull, &ms.steps, sizeof(ms.steps));

	h = fnv1a(h, ms.ram, ms.ram_pages * PAGE);
	for (int i = 0; i < CHURN_BLOCKS; i++)
		if (ms.blocks[i])
			h = fnv1a(h, ms.blocks[i], ms.block_len[i]);
	for (int i = 0; i < HEAP_PIECES; i++)
		if (ms.heap[i])
			h = fnv1a(h, ms.heap[i], ms.heap_len[i]);
	return h;
}

static void reply(const unsigned char *to, const char *fmt, unsigned long long v)
{
	unsigned char frame[128];
	int n;

	memcpy(frame, to, 6);
	colo_nic_mac(frame + 6);
	frame[12] = ETH_TYPE_MEMSTRESS >> 8;
	frame[13] = ETH_TYPE_MEMSTRESS & 0xff;
	n = snprintf((char *)frame + 14, sizeof(frame) - 14, fmt, v);
	colo_nic_send(frame, 14 + (size_t)n);
}

/* The host's CLOCK_MONOTONIC in ms: for "busy" only, which spends host
 * time (what the guest computes never depends on it). */
static uint64_t host_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_frame(const void *data, size_t len, void *opaque)
{
	const unsigned char *f = data;
	char cmd[64];
	unsigned long long n;

	(void)opaque;
	if (len < 15 || f[12] != (ETH_TYPE_MEMSTRESS >> 8) ||
	    f[13] != (ETH_TYPE_MEMSTRESS & 0xff))
		return;
	len -= 14;
	if (len >= sizeof(cmd))
		len = sizeof(cmd) - 1;
	memcpy(cmd, f + 14, len);
	cmd[len] = '\0';

	if (sscanf(cmd, "step %llu", &n) == 1) {
		for (unsigned long long i = 0; i < n; i++)
			step();
		reply(f + 6, "ok step %llu", n);
	} else if (strcmp(cmd, "hash") == 0) {
		reply(f + 6, "hash %016llx", (unsigned long long)ms.running_hash);
	} else if (strcmp(cmd, "digest") == 0) {
		reply(f + 6, "digest %016llx", (unsigned long long)digest());
	} else if (sscanf(cmd, "rate %llu", &n) == 1) {
		ms.rate = (unsigned)n;
		reply(f + 6, "ok rate %llu", n);
	} else if (sscanf(cmd, "busy %llu", &n) == 1) {
		/* the host's time, which a fed guest clock does not follow:
		 * busy is a handler that takes long, whatever the clock */
		uint64_t until = host_ms() + n;

		while (host_ms() < until)
			;
		reply(f + 6, "ok busy %llu", n);
	} else if (strcmp(cmd, "tidcheck") == 0) {
		/* pthread_kill() signals the TID its descriptor holds: with
		 * another process's TID there it fails with ESRCH */
		int err = pthread_kill(pthread_self(), 0);

		reply(f + 6, err ? "tid wrong: error %llu" : "tid ok%.0llu",
		      (unsigned long long)err);
	} else if (sscanf(cmd, "ro %llu", &n) == 1) {
		uint64_t *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p != MAP_FAILED) {
			*p = n;
			mprotect(p, PAGE, PROT_READ);
			ms.ro_page = p;
		}
		reply(f + 6, "ok ro %llu", n);
	} else if (strcmp(cmd, "bt") == 0) {
		void *frames[16];

		reply(f + 6, "ok bt %llu",
		      (unsigned long long)backtrace(frames, 16));
	} else if (strcmp(cmd, "clock") == 0) {
		reply(f + 6, "clock %llu", (unsigned long long)colo_clock_ms());
	} else if (strcmp(cmd, "roval") == 0) {
		reply(f + 6, "roval %llu",
		      ms.ro_page ? (unsigned long long)*ms.ro_page : 0ull);
	} else if (sscanf(cmd, "stack %llu", &n) == 1 && n <= 4096) {
		deep((unsigned)n);
		reply(f + 6, "ok stack %llu", n);
	} else {
		colo_log("memstress: unknown command '%s'", cmd);
	}
}

static void on_timer(void *opaque)
{
	(void)opaque;
	if (ms.exit_at_ms && colo_clock_ms() >= ms.exit_at_ms) {
		/* an exit the guest asks for itself, as a service that ends */
		colo_log("memstress: exiting as asked (--exit-after)");
		exit(0);
	}
	for (unsigned i = 0; i < ms.rate; i++)
		step();
}

static struct colo_guest_ops ops = {
	.frame = on_frame,
	.timer = on_timer,
	.timer_ms = 10,
};

static int on_start(int argc, char **argv, void *opaque)
{
	static const struct option longopts[] = {
		{ "ram", required_argument, NULL, 'r' },
		{ "wss", required_argument, NULL, 'w' },
		{ "pattern", required_argument, NULL, 'p' },
		{ "rate", required_argument, NULL, 'R' },
		{ "tick", required_argument, NULL, 't' },
		{ "seed", required_argument, NULL, 's' },
		{ "churn", no_argument, NULL, 'c' },
		{ "exit-after", required_argument, NULL, 'x' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long ram_mib = 16, wss_mib = 0, seed = 1;
	int c;

	(void)opaque;
	ms.pattern = PAT_RAND;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': ram_mib = strtoull(optarg, NULL, 10); break;
		case 'w': wss_mib = strtoull(optarg, NULL, 10); break;
		case 'R': ms.rate = (unsigned)strtoul(optarg, NULL, 10); break;
		case 't': ops.timer_ms = (unsigned)strtoul(optarg, NULL, 10); break;
		case 's': seed = strtoull(optarg, NULL, 10); break;
		case 'c': ms.churn = 1; break;
		case 'x': ms.exit_at_ms = colo_clock_ms() +
					  strtoull(optarg, NULL, 10); break;
		case 'p':
			if (strcmp(optarg, "seq") == 0)
				ms.pattern = PAT_SEQ;
			else if (strcmp(optarg, "hotcold") == 0)
				ms.pattern = PAT_HOTCOLD;
			else if (strcmp(optarg, "rand") == 0)
				ms.pattern = PAT_RAND;
			else {
				colo_log("memstress: --pattern is seq, rand or hotcold, not '%s'", optarg);
				return -1;
			}
			break;
		default:
			colo_log("memstress: usage: memstress [--ram MIB] [--wss MIB] "
				 "[--pattern seq|rand|hotcold] [--rate PAGES] "
				 "[--tick MS] [--seed N] [--churn] [--exit-after MS]");
			return -1;
		}
	}
	if (!ram_mib) {
		colo_log("memstress: --ram takes MiB, at least 1");
		return -1;
	}
	if (!wss_mib || wss_mib > ram_mib)
		wss_mib = ram_mib;
	ms.ram_pages = (size_t)(ram_mib << 20) / PAGE;
	ms.wss_pages = (size_t)(wss_mib << 20) / PAGE;
	ms.rng = seed * 0x9e3779b97f4a7c15ull | 1;
	ms.running_hash = 14695981039346656037ull;
	ms.ram = mmap(NULL, ms.ram_pages * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ms.ram == MAP_FAILED) {
		colo_log("memstress: cannot map %llu MiB", ram_mib);
		return -1;
	}
	for (size_t p = 0; p < ms.ram_pages; p++)
		ms.ram[p * PAGE] = (unsigned char)p | 1;
	colo_log("memstress: %llu MiB RAM, %llu MiB working set, seed %llu",
		 ram_mib, wss_mib, seed);
	return 0;
}

int main(int argc, char **argv)
{
	ops.start = on_start;
	return colo_guest_main(argc, argv, &ops, NULL);
}
