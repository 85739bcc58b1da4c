/*
 * status.h - a daemon's status answer, one field at a time, as
 * "key value" lines for people or as one JSON object for scripts
 * (coloctl status [--json]).
 */
#ifndef COLO_STATUS_H
#define COLO_STATUS_H

#include <stdbool.h>

#include <event2/buffer.h>

/* One answer being written. */
struct status_out {
	struct evbuffer *buf;		/* the answer goes here */
	bool json;			/* one JSON object, else text lines */
	bool first;			/* no field written yet (JSON commas) */
};

void status_begin(struct status_out *so, struct evbuffer *buf, bool json);
/* A string field; in JSON, quotes and backslashes are escaped and control
 * characters left out. */
void status_str(struct status_out *so, const char *key, const char *value);
/* A number field with decimals digits after the point. */
void status_num(struct status_out *so, const char *key, double value,
		int decimals);
void status_end(struct status_out *so);

#endif /* COLO_STATUS_H */
