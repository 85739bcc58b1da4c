/*
 * primary_control.h - what the primary answers on its control socket
 * (primary_on_control() in primary_int.h runs the commands), what its
 * state machine tells it, and the typed answer of "checkpoint wait".
 *
 *   coloctl                primary_control.c            primary.c
 *   "checkpoint wait" ---> held, tag = the next id ---> begins it
 *                                                       ... loaded
 *   "ok\nid 42\n..."  <--- control_answer()      <--- primary_control_
 *                                                      checkpoint_done()
 */
#ifndef COLO_PRIMARY_CONTROL_H
#define COLO_PRIMARY_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct primary;

/*
 * The state machine calls this whenever checkpoint id completes (ok:
 * loaded, held or not) or is aborted, or the pair stops protecting the
 * guest (ok false). Call it once the checkpoint's figures are in struct
 * primary: last_pause_ms (unless held), last_verify and last_verify_id,
 * state P_HELD for a held one. ok answers the "checkpoint wait" requests
 * waiting for id or an earlier one; !ok answers all of them with an
 * error (no checkpoint comes while the pair does not protect).
 */
void primary_control_checkpoint_done(struct primary *p, uint64_t id, bool ok);

/*
 * The answer to "checkpoint wait", after "ok", one "key value" line each:
 *   id 42            the checkpoint
 *   pause_ms 3.1     its pause (a held one: the guests stopped so far)
 *   verify identical none (not asked), identical or DIFFERS
 *   held no          yes: both guests stay stopped until coloctl stop
 * Unknown keys are skipped by the parser, so fields can be added.
 */
struct primary_ckpt_answer {
	uint64_t id;
	double pause_ms;
	int verify;			/* COLO_VERIFY_* */
	bool held;
};

/* Into buf (len bytes): its length, or -ENOSPC. */
int primary_ckpt_answer_format(const struct primary_ckpt_answer *a,
			       char *buf, size_t len);
/* coloctl's side: 0, or -EPROTO with why naming the field, what was
 * expected and what came. */
int primary_ckpt_answer_parse(const char *text, struct primary_ckpt_answer *a,
			      char *why, size_t len);

#endif /* COLO_PRIMARY_CONTROL_H */
