/*
 * guest_writer.h - write pages into a stopped guest, a batch at a time.
 *
 * Runs are gathered and written with one process_vm_writev. Pages the
 * guest itself may not write (it made them read-only after writing them)
 * are written through /proc/PID/mem instead, as a debugger does. Used by
 * every copy into a guest: a local checkpoint's B, the secondary's flush
 * of its RAM cache.
 */
#ifndef COLO_GUEST_WRITER_H
#define COLO_GUEST_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "ram_save.h"

#define GUEST_WRITER_BATCH	RAM_SAVE_BATCH_PAGES	/* runs per write */
/* Bytes per write: the kernel moves at most 2 GiB - 4 KiB per call, and
 * a long run is split so a batch never asks for more. */
#define GUEST_WRITER_MAX_BYTES	(256u << 20)

struct guest_writer {
	pid_t pid;
	size_t page_size;
	int mem_fd;			/* /proc/PID/mem, opened when needed */
	size_t nr;			/* runs gathered */
	size_t bytes;			/* their length */
	struct iovec local[GUEST_WRITER_BATCH];
	struct iovec remote[GUEST_WRITER_BATCH];
	uint64_t pages;			/* written so far (the caller resets) */
	uint64_t flushes;		/* batches written (FI_GUEST_WRITER_EIO) */
};

void guest_writer_init(struct guest_writer *w, pid_t pid, size_t page_size);
void guest_writer_destroy(struct guest_writer *w);

/* Gather len bytes at data for guest address addr; data must stay valid
 * until the next flush. Flushes by itself when the batch is full, and
 * splits runs of any length into writes the kernel takes whole. */
int guest_writer_add(struct guest_writer *w, uint64_t addr, const void *data,
		     size_t len);

/* Write what is gathered. 0, or a negative errno (logged). */
int guest_writer_flush(struct guest_writer *w);

#endif /* COLO_GUEST_WRITER_H */
