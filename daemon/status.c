/*
 * status.c - status fields as "key value" text or as JSON.
 */
#include "status.h"

void status_begin(struct status_out *so, struct evbuffer *buf, bool json)
{
	so->buf = buf;
	so->json = json;
	so->first = true;
	if (json)
		evbuffer_add_printf(buf, "{");
}

void status_str(struct status_out *so, const char *key, const char *value)
{
	if (so->json) {
		evbuffer_add_printf(so->buf, "%s\"%s\": \"", so->first ? "" : ", ",
				    key);
		for (const char *c = value; *c; c++) {
			if (*c == '"' || *c == '\\')
				evbuffer_add_printf(so->buf, "\\%c", *c);
			else if ((unsigned char)*c >= 0x20)
				evbuffer_add(so->buf, c, 1);
		}
		evbuffer_add_printf(so->buf, "\"");
	} else {
		evbuffer_add_printf(so->buf, "%-22s %s\n", key, value);
	}
	so->first = false;
}

void status_num(struct status_out *so, const char *key, double value,
		int decimals)
{
	if (so->json)
		evbuffer_add_printf(so->buf, "%s\"%s\": %.*f", so->first ? "" : ", ",
				    key, decimals, value);
	else
		evbuffer_add_printf(so->buf, "%-22s %.*f\n", key, decimals, value);
	so->first = false;
}

void status_end(struct status_out *so)
{
	if (so->json)
		evbuffer_add_printf(so->buf, "}\n");
}
