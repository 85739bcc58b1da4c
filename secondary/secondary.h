/*
 * secondary.h - the secondary daemon: keeps its guest an exact copy of
 * the primary's through the RAM cache, checkpoint after checkpoint.
 */
#ifndef COLO_SECONDARY_H
#define COLO_SECONDARY_H

#include "config.h"
#include "takeover.h"

/*
 * Run the secondary until it is stopped (coloctl stop, SIGTERM, the
 * primary's GUEST_SHUTDOWN) or takes over (coloctl failover,
 * auto_failover): then takeover->ready, and the caller runs the primary
 * from it (primary_run_takeover()). ready_fd as for primary_run(). 0 or 1.
 */
int secondary_run(const struct colo_config *cfg, int ready_fd,
		  struct colo_takeover *takeover);

#endif /* COLO_SECONDARY_H */
