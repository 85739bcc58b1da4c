/*
 * image.h - the copy end of tests: a page sink that keeps every page it is
 * given, by guest address, and compares itself with a live process.
 */
#ifndef COLO_TEST_IMAGE_H
#define COLO_TEST_IMAGE_H

#include <stdint.h>
#include <sys/types.h>

#include "page_sink.h"
#include "ram_list.h"

struct image;

/* Called after each run of pages is stored (tests inject writes here). */
typedef void (*image_hook_fn)(struct image *im, uint64_t addr, size_t len,
			      void *opaque);

struct image {
	struct page_sink sink;		/* first: the image is a sink */
	size_t page_size;
	uint64_t *keys;			/* page addresses, 0 = empty slot */
	unsigned char **pages;
	size_t cap;			/* slots, a power of two */
	size_t used;
	uint64_t pages_saved;		/* pages given, counting rewrites */
	image_hook_fn hook;
	void *hook_opaque;
};

int image_init(struct image *im, size_t page_size);
void image_destroy(struct image *im);
const unsigned char *image_lookup(const struct image *im, uint64_t addr);

/*
 * Compare every page of the private readable memory of process pid (read
 * from its /proc/PID/maps, independently of any RAM list) with the image;
 * a page of a file mapping the image lacks must equal the file's. Returns
 * the number of pages that differ or are missing (the first such address
 * in *first_bad), or a negative errno.
 */
long image_compare(const struct image *im, pid_t pid, uint64_t *first_bad);

#endif /* COLO_TEST_IMAGE_H */
