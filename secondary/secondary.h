/*
 * secondary.h - the secondary daemon: keeps its guest an exact copy of
 * the primary's through the RAM cache, checkpoint after checkpoint.
 */
#ifndef COLO_SECONDARY_H
#define COLO_SECONDARY_H

#include "config.h"

/*
 * Run the secondary until it is stopped (coloctl stop, SIGTERM, the
 * primary's GUEST_SHUTDOWN). ready_fd as for primary_run(). 0 or 1.
 */
int secondary_run(const struct colo_config *cfg, int ready_fd);

#endif /* COLO_SECONDARY_H */
