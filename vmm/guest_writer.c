/*
 * guest_writer.c - batched writes into a stopped guest's memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LOG_PREFIX "guest-writer: "
#include "log.h"
#include "fault.h"
#include "guest_writer.h"

void guest_writer_init(struct guest_writer *w, pid_t pid, size_t page_size)
{
	memset(w, 0, sizeof(*w));
	w->pid = pid;
	w->page_size = page_size;
	w->mem_fd = -1;
}

void guest_writer_destroy(struct guest_writer *w)
{
	if (w->mem_fd >= 0)
		close(w->mem_fd);
	w->mem_fd = -1;
	w->nr = 0;
}

/* The batch again, run by run, through /proc/PID/mem. */
static int flush_forced(struct guest_writer *w)
{
	if (w->mem_fd < 0) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/mem", (int)w->pid);
		w->mem_fd = open(path, O_RDWR | O_CLOEXEC);
		if (w->mem_fd < 0) {
			pr_err("cannot open %s: %s", path, strerror(errno));
			return -errno;
		}
	}
	for (size_t i = 0; i < w->nr; i++) {
		const char *from = w->local[i].iov_base;
		uint64_t at = (uintptr_t)w->remote[i].iov_base;
		size_t left = w->local[i].iov_len;

		while (left) {
			ssize_t n = pwrite(w->mem_fd, from, left, (off_t)at);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				pr_err("writing %zu bytes at %#" PRIx64 " into pid "
				       "%d: %s", left, at, (int)w->pid,
				       n < 0 ? strerror(errno) :
					       "nothing written (a page it lacks)");
				return n < 0 ? -errno : -EFAULT;
			}
			from += n;
			at += (uint64_t)n;
			left -= (size_t)n;
		}
	}
	return 0;
}

/* FI_GUEST_WRITER_EIO: half the batch written, then a failure. */
static int fail_halfway(struct guest_writer *w)
{
	size_t half = w->nr / 2;

	pr_warn("fault injected: flush %" PRIu64 " into pid %d fails after %zu "
		"of its %zu runs", w->flushes, (int)w->pid, half, w->nr);
	if (half)
		process_vm_writev(w->pid, w->local, half, w->remote, half, 0);
	w->nr = 0;
	w->bytes = 0;
	return -EIO;
}

int guest_writer_flush(struct guest_writer *w)
{
	size_t want = w->bytes;
	ssize_t n;
	int ret = 0;

	if (!w->nr)
		return 0;
	if (++w->flushes == fault_at() && fault_injected(FI_GUEST_WRITER_EIO))
		return fail_halfway(w);
	n = process_vm_writev(w->pid, w->local, w->nr, w->remote, w->nr, 0);
	if (n != (ssize_t)want)
		ret = flush_forced(w);	/* read-only pages among them */
	w->nr = 0;
	w->bytes = 0;
	if (!ret)
		w->pages += want / w->page_size;
	return ret;
}

int guest_writer_add(struct guest_writer *w, uint64_t addr, const void *data,
		     size_t len)
{
	while (len) {
		size_t take = len < GUEST_WRITER_MAX_BYTES ? len :
							     GUEST_WRITER_MAX_BYTES;
		int ret;

		if (w->nr == GUEST_WRITER_BATCH ||
		    w->bytes + take > GUEST_WRITER_MAX_BYTES) {
			ret = guest_writer_flush(w);
			if (ret)
				return ret;
		}
		w->local[w->nr].iov_base = (void *)data;
		w->local[w->nr].iov_len = take;
		w->remote[w->nr].iov_base = (void *)(uintptr_t)addr;
		w->remote[w->nr].iov_len = take;
		w->nr++;
		w->bytes += take;
		data = (const char *)data + take;
		addr += take;
		len -= take;
	}
	return 0;
}
