/*
 * dirty_log_uffd.c - the uffd-wp backend: userfaultfd write-protect in
 * async mode, read with PAGEMAP_SCAN.
 *
 * In async mode a write to a protected page does not stop the guest: the
 * kernel drops the page's uffd-wp bit and the write goes on. A page is
 * "written" (PAGE_IS_WRITTEN) while its bit is clear, so:
 *   sync  = PAGEMAP_SCAN read-only, for PAGE_IS_WRITTEN    (a page walk)
 *   clear = UFFDIO_WRITEPROTECT of a recorded run          (a call each)
 *   clear_scan = PAGEMAP_SCAN with PM_SCAN_WP_MATCHING over a span of a
 *           chunk: re-protects and reports every written page in it, in
 *           one walk; the caller marks them in bmap before any read
 *   get-and-clear = the same over a whole block (monolithic mode)
 *
 * The guest only calls userfaultfd(); we take its descriptor with
 * pidfd_getfd() and do UFFDIO_API and every registration from outside.
 * The guest must keep its descriptor open: closing the last one drops the
 * registrations.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LOG_PREFIX "dirty-log uffd-wp: "
#include "log.h"
#include "dirty_log_int.h"
#include "linux_abi.h"

#define UFFD_FEATURES	(UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED)
/* Regions per PAGEMAP_SCAN call; a full vector makes us call again. */
#define SCAN_VEC_LEN	1024

struct uffd_state {
	int pidfd;
	int uffd;		/* our copy of the guest's userfaultfd */
	int pagemap;		/* /proc/PID/pagemap */
	struct page_region *vec;
};

static int uffd_create(void)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	/* Without CAP_SYS_PTRACE and vm.unprivileged_userfaultfd = 0 only
	 * user-mode faults may be handled; async wp needs no handling. */
	if (fd < 0 && errno == EPERM)
		fd = (int)syscall(SYS_userfaultfd,
				  O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	return fd < 0 ? -errno : fd;
}

static int uffd_api(int uffd)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURES };

	if (ioctl(uffd, UFFDIO_API, &api))
		return -errno;
	if ((api.features & UFFD_FEATURES) != UFFD_FEATURES)
		return -EOPNOTSUPP;
	return 0;
}

/* Pages with all categories of mask, categories of inverted absent. */
struct scan_match {
	uint64_t mask;
	uint64_t inverted;
};

static const struct scan_match match_written = { PAGE_IS_WRITTEN, 0 };
/* in a file mapping: a page the process wrote, now its own copy */
static const struct scan_match match_own_copy = {
	PAGE_IS_PRESENT | PAGE_IS_FILE, PAGE_IS_FILE,
};
static const struct scan_match match_swapped = { PAGE_IS_SWAPPED, 0 };

static long pagemap_scan_match(int pagemap, uint64_t start, uint64_t end,
			       uint64_t flags, const struct scan_match *match,
			       struct page_region *vec, size_t vec_len,
			       uint64_t *walk_end)
{
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.flags = flags,
		.start = start,
		.end = end,
		.vec = (uintptr_t)vec,
		.vec_len = vec_len,
		.category_mask = match->mask,
		.category_inverted = match->inverted,
		.return_mask = match->mask,
	};
	long n = ioctl(pagemap, PAGEMAP_SCAN, &arg);

	*walk_end = arg.walk_end;
	return n < 0 ? -errno : n;
}

static long pagemap_scan(int pagemap, uint64_t start, uint64_t end,
			 uint64_t flags, struct page_region *vec,
			 size_t vec_len, uint64_t *walk_end)
{
	return pagemap_scan_match(pagemap, start, end, flags, &match_written,
				  vec, vec_len, walk_end);
}

static int uffd_probe(const char **missing)
{
	static char page[1 << 12] __attribute__((aligned(1 << 12)));
	struct page_region vec[1];
	uint64_t walk_end;
	int uffd, pagemap, ret;

	uffd = uffd_create();
	if (uffd < 0) {
		*missing = "userfaultfd() (CONFIG_USERFAULTFD)";
		return uffd;
	}
	ret = uffd_api(uffd);
	close(uffd);
	if (ret) {
		*missing = "UFFD_FEATURE_WP_ASYNC and UFFD_FEATURE_WP_UNPOPULATED";
		return ret;
	}
	pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pagemap < 0) {
		*missing = "/proc/self/pagemap";
		return -errno;
	}
	ret = (int)pagemap_scan(pagemap, (uintptr_t)page,
				(uintptr_t)page + sizeof(page), 0, vec, 1,
				&walk_end);
	close(pagemap);
	if (ret < 0) {
		*missing = "the PAGEMAP_SCAN ioctl";
		return ret;
	}
	return 0;
}

static void uffd_detach(struct dirty_log *dl)
{
	struct uffd_state *st = dl->priv;

	if (!st)
		return;
	if (st->pagemap >= 0)
		close(st->pagemap);
	if (st->uffd >= 0)
		close(st->uffd);
	if (st->pidfd >= 0)
		close(st->pidfd);
	free(st->vec);
	free(st);
	dl->priv = NULL;
}

static int uffd_attach(struct dirty_log *dl, int guest_uffd)
{
	struct uffd_state *st;
	char path[64];
	int ret = -ENOMEM;

	if (guest_uffd < 0) {
		pr_err("pid %d: no guest userfaultfd given; the guest must "
		       "create one (colo_guest_uffd_create) for uffd-wp",
		       (int)dl->pid);
		return -EINVAL;
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		pr_err("out of memory attaching to pid %d", (int)dl->pid);
		return -ENOMEM;
	}
	st->pidfd = st->uffd = st->pagemap = -1;
	dl->priv = st;

	st->vec = calloc(SCAN_VEC_LEN, sizeof(*st->vec));
	if (!st->vec) {
		pr_err("out of memory attaching to pid %d", (int)dl->pid);
		goto err;
	}
	st->pidfd = pidfd_open(dl->pid, 0);
	if (st->pidfd < 0) {
		ret = -errno;
		pr_err("pidfd_open(%d): %s; is the guest running?",
		       (int)dl->pid, strerror(errno));
		goto err;
	}
	st->uffd = pidfd_getfd(st->pidfd, guest_uffd, 0);
	if (st->uffd < 0) {
		ret = -errno;
		pr_err("pidfd_getfd(pid %d, fd %d): %s; %s", (int)dl->pid,
		       guest_uffd, strerror(errno),
		       errno == EPERM ? "the tracker needs ptrace access to "
					"the guest (run as root)" :
					"did the guest create its userfaultfd?");
		goto err;
	}
	ret = uffd_api(st->uffd);
	if (ret) {
		pr_err("UFFDIO_API on fd %d of pid %d: %s; the fd must be a "
		       "fresh userfaultfd the guest did not initialise itself",
		       guest_uffd, (int)dl->pid, strerror(-ret));
		goto err;
	}
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)dl->pid);
	st->pagemap = open(path, O_RDONLY | O_CLOEXEC);
	if (st->pagemap < 0) {
		ret = -errno;
		pr_err("cannot open %s: %s", path, strerror(errno));
		goto err;
	}
	return 0;
err:
	uffd_detach(dl);
	return ret;
}

static int uffd_track(struct dirty_log *dl, struct ram_block *rb)
{
	struct uffd_state *st = dl->priv;
	struct uffdio_register reg = {
		.range = { .start = rb->start, .len = rb->len },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};

	if (ioctl(st->uffd, UFFDIO_REGISTER, &reg)) {
		int ret = -errno;

		/* ENOMEM/EINVAL: the range changed since maps was read; the
		 * caller re-reads the layout and decides. */
		pr_debug("UFFDIO_REGISTER %s %" PRIx64 "+%" PRIx64 ": %s",
			 rb->name, rb->start, rb->len, strerror(errno));
		return ret;
	}
	pr_debug("pid %d: tracking %s %" PRIx64 "+%" PRIx64, (int)dl->pid,
		 rb->name, rb->start, rb->len);
	return 0;
}

/* Walk pages [first, first + npages) of rb with PAGEMAP_SCAN and mark
 * what was written. */
static int uffd_scan_match(struct dirty_log *dl, struct ram_block *rb,
			   size_t first, size_t npages, uint64_t flags,
			   const struct scan_match *match, bool lazy)
{
	struct uffd_state *st = dl->priv;
	uint64_t at = ram_block_page_addr(rb, first);
	uint64_t end = ram_block_page_addr(rb, first + npages);

	while (at < end) {
		uint64_t walk_end;
		long n = pagemap_scan_match(st->pagemap, at, end, flags, match,
					    st->vec, SCAN_VEC_LEN, &walk_end);

		if (n < 0) {
			/*
			 * A WP_MATCHING walk that fails part way has already
			 * re-protected written pages it had no room to report
			 * (the kernel fills vec, then returns -1). Mark the
			 * whole rest dirty, to be read after this: safe.
			 */
			if (flags & PM_SCAN_WP_MATCHING)
				ram_block_mark_dirty(rb, (at - rb->start) / rb->page_size,
						     (end - at) / rb->page_size, lazy);
			if (n == -EPERM)
				return -EPERM;	/* an untracked area: caller */
			pr_err("PAGEMAP_SCAN of %s %" PRIx64 "-%" PRIx64
			       " in pid %d: %s", rb->name, at, end,
			       (int)dl->pid, strerror((int)-n));
			return (int)n;
		}
		for (long i = 0; i < n; i++) {
			const struct page_region *r = &st->vec[i];
			size_t page = (r->start - rb->start) / rb->page_size;
			size_t run = (r->end - r->start) / rb->page_size;

			ram_block_mark_dirty(rb, page, run, lazy);
			dl->stats.pages_synced += run;
		}
		if (walk_end <= at) {
			pr_err("PAGEMAP_SCAN of pid %d made no progress at %"
			       PRIx64, (int)dl->pid, at);
			return -EIO;
		}
		at = walk_end;
	}
	return 0;
}

static int uffd_scan(struct dirty_log *dl, struct ram_block *rb, size_t first,
		     size_t npages, uint64_t flags, bool lazy)
{
	return uffd_scan_match(dl, rb, first, npages, flags, &match_written,
			       lazy);
}

static int uffd_clear(struct dirty_log *dl, struct ram_block *rb,
		      size_t first, size_t npages);

/*
 * A block just registered is unprotected: every page of it reads as
 * written. An anonymous block is all the guest's own data, so all of it
 * is marked, and the lazy clears of its first send protect it chunk by
 * chunk. A file mapping is mostly the file's own pages (code, data never
 * written), the same in every guest started from the same binary: protect
 * it all now, then mark only the pages the guest has its own copy of.
 * The protection comes first, so a write racing with the scan makes its
 * own copy (found by the scan) or faults after it (found by a sync).
 */
static int uffd_mark_new(struct dirty_log *dl, struct ram_block *rb, bool lazy)
{
	int ret;

	if (!rb->file || dl->whole_file_blocks) {
		ram_block_mark_dirty(rb, 0, rb->npages, lazy);
		return 0;
	}
	ret = uffd_clear(dl, rb, 0, rb->npages);
	if (!ret)
		ret = uffd_scan_match(dl, rb, 0, rb->npages,
				      PM_SCAN_CHECK_WPASYNC, &match_own_copy,
				      false);
	if (!ret)
		ret = uffd_scan_match(dl, rb, 0, rb->npages,
				      PM_SCAN_CHECK_WPASYNC, &match_swapped,
				      false);
	if (ret) {		/* the range changed under us: take it all */
		ram_block_mark_dirty(rb, 0, rb->npages, lazy);
		return ret == -EPERM || ret == -ENOENT ? 0 : ret;
	}
	return 0;
}

static int uffd_sync(struct dirty_log *dl, struct ram_block *rb, bool lazy)
{
	return uffd_scan(dl, rb, 0, rb->npages, PM_SCAN_CHECK_WPASYNC, lazy);
}

static int uffd_sync_clear(struct dirty_log *dl, struct ram_block *rb)
{
	dl->stats.clear_calls++;
	return uffd_scan(dl, rb, 0, rb->npages,
			 PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, false);
}

static int uffd_clear_scan(struct dirty_log *dl, struct ram_block *rb,
			   size_t first, size_t npages)
{
	return uffd_scan(dl, rb, first, npages,
			 PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, false);
}

static int uffd_clear(struct dirty_log *dl, struct ram_block *rb,
		      size_t first, size_t npages)
{
	struct uffd_state *st = dl->priv;
	struct uffdio_writeprotect wp = {
		.range = {
			.start = ram_block_page_addr(rb, first),
			.len = (uint64_t)npages * rb->page_size,
		},
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};

	while (ioctl(st->uffd, UFFDIO_WRITEPROTECT, &wp)) {
		if (errno == EAGAIN || errno == EINTR)
			continue;
		/* The pages stay unprotected, so the next sync reports them
		 * again: a failed clear costs a resend, never a write. */
		pr_debug("UFFDIO_WRITEPROTECT %s %" PRIx64 "+%" PRIx64 ": %s",
			 rb->name, (uint64_t)wp.range.start,
			 (uint64_t)wp.range.len, strerror(errno));
		return -errno;
	}
	return 0;
}

const struct dirty_log_ops dirty_log_uffd_ops = {
	.name = "uffd-wp",
	.kind = DIRTY_LOG_UFFD_WP,
	.probe = uffd_probe,
	.attach = uffd_attach,
	.detach = uffd_detach,
	.track = uffd_track,
	.mark_new = uffd_mark_new,
	.sync = uffd_sync,
	.sync_clear = uffd_sync_clear,
	.clear = uffd_clear,
	.clear_scan = uffd_clear_scan,
};
