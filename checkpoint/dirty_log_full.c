/*
 * dirty_log_full.c - the full backend: every page is always dirty.
 *
 * Correct on any kernel, and the reference the tests compare uffd-wp
 * against; it copies all of guest RAM at every checkpoint.
 */
#include "dirty_log_int.h"

static int full_probe(const char **missing)
{
	(void)missing;
	return 0;
}

static int full_attach(struct dirty_log *dl, int guest_uffd)
{
	(void)dl;
	(void)guest_uffd;
	return 0;
}

static void full_detach(struct dirty_log *dl)
{
	(void)dl;
}

static int full_track(struct dirty_log *dl, struct ram_block *rb)
{
	(void)dl;
	(void)rb;
	return 0;
}

static int full_mark_new(struct dirty_log *dl, struct ram_block *rb, bool lazy)
{
	(void)dl;
	ram_block_mark_dirty(rb, 0, rb->npages, lazy);
	return 0;
}

static int full_sync(struct dirty_log *dl, struct ram_block *rb, bool lazy)
{
	ram_block_mark_dirty(rb, 0, rb->npages, lazy);
	dl->stats.pages_synced += rb->npages;
	return 0;
}

static int full_sync_clear(struct dirty_log *dl, struct ram_block *rb)
{
	return full_sync(dl, rb, false);
}

static int full_clear(struct dirty_log *dl, struct ram_block *rb,
		      size_t first, size_t npages)
{
	(void)dl;
	(void)rb;
	(void)first;
	(void)npages;
	return 0;
}

static int full_clear_scan(struct dirty_log *dl, struct ram_block *rb,
			   size_t first, size_t npages)
{
	return full_clear(dl, rb, first, npages);
}

const struct dirty_log_ops dirty_log_full_ops = {
	.name = "full",
	.kind = DIRTY_LOG_FULL,
	.probe = full_probe,
	.attach = full_attach,
	.detach = full_detach,
	.track = full_track,
	.mark_new = full_mark_new,
	.sync = full_sync,
	.sync_clear = full_sync_clear,
	.clear = full_clear,
	.clear_scan = full_clear_scan,
};
