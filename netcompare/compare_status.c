/*
 * compare_status.c - netcompare's figures (compare.h): the reasons'
 * names, the counters, and their compare_* fields of coloctl status.
 */
#include <stdio.h>

#include "compare_int.h"

static const char *const reason_names[COMPARE_REASONS] = {
	[COMPARE_PAYLOAD] = "payload",
	[COMPARE_LENGTH] = "length",
	[COMPARE_FLAGS] = "flags",
	[COMPARE_MALFORMED] = "malformed",
	[COMPARE_TIMEOUT] = "timeout",
	[COMPARE_QUEUE_FULL] = "queue-full",
};

const char *compare_reason_name(enum compare_reason r)
{
	return (unsigned)r < COMPARE_REASONS ? reason_names[r] : "unknown";
}

const struct compare_stats *compare_stats(const struct netcompare *nc)
{
	return &nc->st;
}

static void status_u64(struct status_out *so, const char *key, uint64_t v)
{
	status_num(so, key, (double)v, 0);
}

/* compare_mismatch_queue_full, ...: reason names with '_' for '-'. */
static void status_reasons(struct status_out *so, const char *prefix,
			   const uint64_t *counts)
{
	char key[64];

	for (int r = 0; r < COMPARE_REASONS; r++) {
		snprintf(key, sizeof(key), "%s%s", prefix,
			 compare_reason_name((enum compare_reason)r));
		for (char *c = key; *c; c++)
			if (*c == '-')
				*c = '_';
		status_u64(so, key, counts[r]);
	}
}

void compare_status(const struct netcompare *nc, struct status_out *so)
{
	const struct compare_stats *st = &nc->st;

	status_str(so, "compare_active", nc->active ? "yes" : "no");
	status_u64(so, "compare_epoch", nc->epoch);
	status_str(so, "compare_epoch_compared", nc->comparing ? "yes" : "no");
	status_str(so, "compare_last_mismatch", nc->last_reason < 0 ? "none" :
		   compare_reason_name((enum compare_reason)nc->last_reason));
	status_str(so, "compare_last_malformed",
		   nc->last_malformed ? nc->last_malformed : "none");
	status_u64(so, "compare_max_frames", nc->p.max_frames);
	status_u64(so, "compare_max_bytes", nc->p.max_bytes);
	status_u64(so, "compare_timeout_ms", nc->p.timeout_ms);
	status_u64(so, "compare_primary_frames", st->primary_frames);
	status_u64(so, "compare_primary_bytes", st->primary_bytes);
	status_u64(so, "compare_secondary_frames", st->secondary_frames);
	status_u64(so, "compare_secondary_bytes", st->secondary_bytes);
	status_u64(so, "compare_matched_frames", st->matched_frames);
	status_u64(so, "compare_matched_bytes", st->matched_bytes);
	status_u64(so, "compare_released_frames", st->released_frames);
	status_u64(so, "compare_released_bytes", st->released_bytes);
	status_u64(so, "compare_passthrough_frames", st->passthrough_frames);
	status_reasons(so, "compare_mismatch_", st->mismatches);
	status_reasons(so, "compare_checkpoints_", st->checkpoints_asked);
	status_u64(so, "compare_dropped_frames", st->dropped_frames);
	status_u64(so, "compare_dropped_bytes", st->dropped_bytes);
	status_u64(so, "compare_stale_frames", st->stale_frames);
	status_u64(so, "compare_depth_frames", st->depth_frames);
	status_u64(so, "compare_depth_bytes", st->depth_bytes);
	status_u64(so, "compare_high_frames", st->high_frames);
	status_u64(so, "compare_high_bytes", st->high_bytes);
	status_u64(so, "compare_flows", st->flows);
	status_u64(so, "compare_flows_high", st->flows_high);
	status_u64(so, "compare_max_flows", nc->flows.max);
}
