/*
 * fault.c - the active fault-injection point.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOG_PREFIX "fault: "
#include "log.h"
#include "fault.h"

enum colo_fault fault_active = FI_NONE;
/* fault_arm(): armed, not fired yet; fired: it did, never again */
static bool fault_armed, fault_fired;

static const char *const fault_names[FI_MAX] = {
	[FI_NONE] = "none",
	[FI_CLEAR_AFTER_READ] = "clear-after-read",
	[FI_CLEAR_UNRECORDED] = "clear-unrecorded",
	[FI_NO_UFFD_WP] = "no-uffd-wp",
	[FI_LOCAL_NO_FOLD] = "local-no-fold",
	[FI_PRIMARY_DIE_IN_CHECKPOINT] = "primary-die-in-checkpoint",
	[FI_PRIMARY_DIE_AFTER_SIZE] = "primary-die-after-size",
	[FI_LOAD_MAPS_EIO] = "load-maps-eio",
	[FI_GUEST_WRITER_EIO] = "guest-writer-eio",
	[FI_CACHE_COMMIT_ENOMEM] = "cache-commit-enomem",
	[FI_GUEST_LATE_REPLY] = "guest-late-reply",
	[FI_CHANNEL_SEND_FAIL] = "channel-send-fail",
	[FI_CHANNEL_RECV_SHORT] = "channel-recv-short",
	[FI_GUEST_READ_FAIL] = "guest-read-fail",
	[FI_STAGE_ENOMEM] = "stage-enomem",
	[FI_HASH_FILE_ENOSPC] = "hash-file-enospc",
	[FI_GUEST_DIES_STOPPED] = "guest-dies-stopped",
};

const char *fault_name(enum colo_fault f)
{
	return (unsigned)f < FI_MAX ? fault_names[f] : "?";
}

void fault_inject(enum colo_fault f)
{
	if (f != FI_NONE)
		pr_warn("fault injected: %s", fault_name(f));
	fault_active = f;
}

int fault_init_from_env(void)
{
	const char *name = getenv("COLO_FAULT");

	if (!name || !*name)
		return 0;
	for (unsigned i = 0; i < FI_MAX; i++) {
		if (strcmp(name, fault_names[i]) == 0) {
			fault_inject((enum colo_fault)i);
			return 0;
		}
	}
	pr_err("COLO_FAULT=%s is not a fault point; unset it or use one of "
	       "these:", name);
	for (unsigned i = 1; i < FI_MAX; i++)
		pr_err("  %s", fault_names[i]);
	return -EINVAL;
}

unsigned long fault_at(void)
{
	const char *at = getenv("COLO_FAULT_AT");

	return at && *at ? strtoul(at, NULL, 10) : 3;
}

void fault_arm(enum colo_fault f)
{
	if (fault_injected(f) && !fault_fired)
		fault_armed = true;
}

bool fault_fire_armed(void)
{
	if (!fault_armed)
		return false;
	fault_armed = false;
	fault_fired = true;
	pr_warn("fault injected: %s strikes now", fault_name(fault_active));
	return true;
}
