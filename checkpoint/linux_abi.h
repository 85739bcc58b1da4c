/*
 * linux_abi.h - kernel ABI newer than the installed 6.1 headers.
 *
 * userfaultfd write-protect in async mode (UFFD_FEATURE_WP_ASYNC) and the
 * PAGEMAP_SCAN ioctl on /proc/PID/pagemap arrived in Linux 6.7. The values
 * below are the kernel's uapi; each is defined only where the headers lack
 * it, so newer headers win.
 */
#ifndef COLO_LINUX_ABI_H
#define COLO_LINUX_ABI_H

#include <linux/fs.h>
#include <linux/types.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>

#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED	(1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC		(1 << 15)
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY		1
#endif

#ifndef PAGEMAP_SCAN
/* One run of pages with the same categories, [start, end). */
struct page_region {
	__u64 start;
	__u64 end;
	__u64 categories;
};

/* Argument of PAGEMAP_SCAN. */
struct pm_scan_arg {
	__u64 size;		/* sizeof(struct pm_scan_arg) */
	__u64 flags;		/* PM_SCAN_* */
	__u64 start;		/* first address of the walk */
	__u64 end;		/* end of the walk (exclusive) */
	__u64 walk_end;		/* out: where the walk stopped */
	__u64 vec;		/* user pointer to struct page_region[] */
	__u64 vec_len;		/* entries in vec */
	__u64 max_pages;	/* stop after this many pages, 0 = no limit */
	__u64 category_inverted;
	__u64 category_mask;	/* pages must have all of these */
	__u64 category_anyof_mask;
	__u64 return_mask;	/* categories reported in page_region */
};

#define PAGEMAP_SCAN		_IOWR('f', 16, struct pm_scan_arg)

#define PAGE_IS_WPALLOWED	(1 << 0)
#define PAGE_IS_WRITTEN		(1 << 1)
#define PAGE_IS_FILE		(1 << 2)
#define PAGE_IS_PRESENT		(1 << 3)
#define PAGE_IS_SWAPPED		(1 << 4)
#define PAGE_IS_PFNZERO		(1 << 5)
#define PAGE_IS_HUGE		(1 << 6)
#define PAGE_IS_SOFT_DIRTY	(1 << 7)

/* Write-protect the pages that match, atomically with reporting them. */
#define PM_SCAN_WP_MATCHING	(1 << 0)
/* Fail with EPERM where an area is not registered for async uffd-wp. */
#define PM_SCAN_CHECK_WPASYNC	(1 << 1)
#endif /* PAGEMAP_SCAN */

#endif /* COLO_LINUX_ABI_H */
