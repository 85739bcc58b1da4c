/*
 * guest_writer.c - batched writes into a stopped guest's memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LOG_PREFIX "guest-writer: "
#include "log.h"
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
		ssize_t n = pwrite(w->mem_fd, w->local[i].iov_base,
				   w->local[i].iov_len,
				   (off_t)(uintptr_t)w->remote[i].iov_base);

		if (n != (ssize_t)w->local[i].iov_len) {
			pr_err("writing %zu bytes at %p into pid %d: %s",
			       w->local[i].iov_len, w->remote[i].iov_base,
			       (int)w->pid,
			       n < 0 ? strerror(errno) : "short write (a page it lacks)");
			return n < 0 ? -errno : -EFAULT;
		}
	}
	return 0;
}

int guest_writer_flush(struct guest_writer *w)
{
	size_t want = 0;
	ssize_t n;
	int ret = 0;

	if (!w->nr)
		return 0;
	for (size_t i = 0; i < w->nr; i++)
		want += w->local[i].iov_len;
	n = process_vm_writev(w->pid, w->local, w->nr, w->remote, w->nr, 0);
	if (n != (ssize_t)want)
		ret = flush_forced(w);	/* read-only pages among them */
	w->nr = 0;
	if (!ret)
		w->pages += want / w->page_size;
	return ret;
}

int guest_writer_add(struct guest_writer *w, uint64_t addr, const void *data,
		     size_t len)
{
	if (w->nr == GUEST_WRITER_BATCH) {
		int ret = guest_writer_flush(w);

		if (ret)
			return ret;
	}
	w->local[w->nr].iov_base = (void *)data;
	w->local[w->nr].iov_len = len;
	w->remote[w->nr].iov_base = (void *)(uintptr_t)addr;
	w->remote[w->nr].iov_len = len;
	w->nr++;
	return 0;
}
