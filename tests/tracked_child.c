/*
 * tracked_child.c - a process whose memory tests and benchmarks track.
 *
 * A plain process, not a colo guest, for the dirty log's own tests: it
 * creates its userfaultfd (guest/guest_uffd.c), then obeys one command
 * per line on stdin and answers one line on stdout ("ok ..." or
 * "error ...").
 *
 *   region BYTES             map and populate the working region
 *   dirty N SEED rand|seq    write N pages of the region, then answer
 *   run SEED [churn]         answer, then write random pages without pause
 *                            (with churn: also map, write and unmap small
 *                            areas and grow the heap) until the next line
 *   stop                     end a run; answers "ok WRITES"
 *   mmap BYTES               map and populate a new area
 *   munmap ADDR BYTES        unmap
 *   remap ADDR BYTES         map fresh memory over ADDR (MAP_FIXED), write it
 *   mprotect ADDR BYTES none|ro|rw  change protection
 *   sbrk BYTES               grow the heap and write to the new part
 *   exit
 *
 * Every write stores a fresh counter value, so no write leaves a page as
 * it was: a lost write always shows in a byte comparison.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest_uffd.h"

#define CHURN_AREAS	8

static size_t page_size;
static unsigned char *region;
static size_t region_pages;
static uint64_t counter;
static size_t seq_cursor;
static void *churn[CHURN_AREAS];
static size_t churn_len[CHURN_AREAS];

/* xorshift64*: deterministic for a given seed. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static void write_page(unsigned char *page)
{
	uint64_t v = ++counter;
	size_t off = (size_t)(v * 8) % page_size;

	memcpy(page + off, &v, sizeof(v));
}

static int read_line(char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		ssize_t r = read(0, buf + n, 1);

		if (r <= 0)
			return -1;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return 0;
}

static void *map_populated(size_t bytes)
{
	unsigned char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	for (size_t off = 0; off < bytes; off += page_size)
		p[off] = (unsigned char)(off / page_size) | 1;
	return p;
}

static void churn_step(uint64_t *seed)
{
	unsigned i = (unsigned)(rng_next(seed) % CHURN_AREAS);

	if (churn[i]) {
		munmap(churn[i], churn_len[i]);
		churn[i] = NULL;
	} else {
		churn_len[i] = (1 + rng_next(seed) % 16) * page_size;
		churn[i] = map_populated(churn_len[i]);
	}
	if (rng_next(seed) % 4 == 0) {
		unsigned char *p = sbrk((intptr_t)page_size);

		if (p != (void *)-1)
			write_page(p);
	}
}

/* Write random pages until a command arrives on stdin. */
static void run(uint64_t seed, int with_churn)
{
	struct pollfd pfd = { .fd = 0, .events = POLLIN };

	for (uint64_t n = 1;; n++) {
		write_page(region + (rng_next(&seed) % region_pages) * page_size);
		if (with_churn && n % 512 == 0)
			churn_step(&seed);
		if (n % 64 == 0 && poll(&pfd, 1, 0) > 0)
			return;
	}
}

static void dirty(size_t n, uint64_t seed, int random)
{
	for (size_t i = 0; i < n; i++) {
		size_t page;

		if (random) {
			page = rng_next(&seed) % region_pages;
		} else {
			page = seq_cursor;
			seq_cursor = (seq_cursor + 1) % region_pages;
		}
		write_page(region + page * page_size);
	}
}

int main(void)
{
	char line[256];
	int ret;

	page_size = (size_t)sysconf(_SC_PAGESIZE);
	ret = colo_guest_uffd_create();
	if (ret) {
		printf("error userfaultfd: %s\n", strerror(-ret));
		return 1;
	}
	printf("ready %d\n", COLO_GUEST_UFFD_FD);
	fflush(stdout);

	while (read_line(line, sizeof(line)) == 0) {
		unsigned long long a = 0, b = 0;
		char word[16] = "";

		if (sscanf(line, "region %llu", &a) == 1) {
			region = map_populated((size_t)a);
			region_pages = (size_t)a / page_size;
			if (!region)
				printf("error mmap %llu: %s\n", a, strerror(errno));
			else
				printf("ok %llx\n", (unsigned long long)(uintptr_t)region);
		} else if (!region && (strncmp(line, "dirty", 5) == 0 ||
				       strncmp(line, "run", 3) == 0)) {
			printf("error no region yet\n");
		} else if (sscanf(line, "dirty %llu %llu %15s", &a, &b, word) == 3) {
			dirty((size_t)a, b | 1, strcmp(word, "rand") == 0);
			printf("ok\n");
		} else if (sscanf(line, "run %llu %15s", &a, word) >= 1) {
			printf("ok\n");
			fflush(stdout);
			run(a | 1, strcmp(word, "churn") == 0);
			continue;	/* the next line is read at the loop top */
		} else if (strcmp(line, "stop") == 0) {
			printf("ok %llu\n", (unsigned long long)counter);
		} else if (sscanf(line, "mmap %llu", &a) == 1) {
			void *p = map_populated((size_t)a);

			if (!p)
				printf("error mmap: %s\n", strerror(errno));
			else
				printf("ok %llx\n", (unsigned long long)(uintptr_t)p);
		} else if (sscanf(line, "munmap %llx %llu", &a, &b) == 2) {
			if (munmap((void *)(uintptr_t)a, (size_t)b))
				printf("error munmap: %s\n", strerror(errno));
			else
				printf("ok\n");
		} else if (sscanf(line, "remap %llx %llu", &a, &b) == 2) {
			unsigned char *p = mmap((void *)(uintptr_t)a, (size_t)b,
						PROT_READ | PROT_WRITE,
						MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
						-1, 0);

			if (p == MAP_FAILED) {
				printf("error remap: %s\n", strerror(errno));
			} else {
				for (size_t off = 0; off < b; off += page_size)
					write_page(p + off);
				printf("ok\n");
			}
		} else if (sscanf(line, "mprotect %llx %llu %15s", &a, &b, word) == 3) {
			int prot = strcmp(word, "rw") == 0 ? PROT_READ | PROT_WRITE :
				   strcmp(word, "ro") == 0 ? PROT_READ : PROT_NONE;

			if (mprotect((void *)(uintptr_t)a, (size_t)b, prot))
				printf("error mprotect: %s\n", strerror(errno));
			else
				printf("ok\n");
		} else if (sscanf(line, "sbrk %llu", &a) == 1) {
			unsigned char *p = sbrk((intptr_t)a);

			if (p == (void *)-1) {
				printf("error sbrk: %s\n", strerror(errno));
			} else {
				for (size_t off = 0; off < a; off += page_size)
					write_page(p + off);
				printf("ok %llx\n", (unsigned long long)(uintptr_t)p);
			}
		} else if (strcmp(line, "exit") == 0) {
			return 0;
		} else {
			printf("error unknown command '%s'\n", line);
		}
		fflush(stdout);
	}
	return 0;
}
