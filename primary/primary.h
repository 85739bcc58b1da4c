/*
 * primary.h - the primary daemon: runs the protected guest, brings up the
 * pair with the secondary, and checkpoints on a fast cadence.
 */
#ifndef COLO_PRIMARY_H
#define COLO_PRIMARY_H

#include "config.h"
#include "takeover.h"

/*
 * Run the primary until it is stopped (coloctl stop, SIGTERM, the guest
 * exits). ready_fd, if >= 0, gets "ok" once the guest runs and the control
 * socket listens, or the reason it could not start. Returns 0 or 1.
 */
int primary_run(const struct colo_config *cfg, int ready_fd);

/*
 * Go on as the primary from what the secondary handed over (takeover.h):
 * its guest runs again, on the local uplink, solo until coloctl protect.
 * Runs until stopped, as primary_run(). Returns 0 or 1.
 */
int primary_run_takeover(const struct colo_config *cfg,
			 struct colo_takeover *t);

#endif /* COLO_PRIMARY_H */
