/*
 * ctl.h - coloctl's commands: one table in coloctl.c, the commands in
 * files of their own, each taking the parsed colo.conf and its arguments
 * (argv[0] is the command's last word) and returning the exit status.
 */
#ifndef COLO_CTL_H
#define COLO_CTL_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct ctl_command {
	const char *words;		/* "guest run" */
	const char *usage;		/* what follows the words */
	const char *help;
	int (*run)(const struct colo_config *cfg, int argc, char **argv);
	/* help that lives elsewhere, appended (set: config.c's live keys);
	 * NULL: none */
	void (*help_more)(char *buf, size_t len);
};

/* ctl_guest.c */
#define CTL_GUEST_RUN_USAGE \
	"[--mac MAC] [--stack-limit KIB] -- PROGRAM [ARGS...]"
#define CTL_GUEST_REPLICATE_USAGE \
	"[--every MS] [--checkpoints N] [--mac MAC] [--stack-limit KIB] " \
	"-- PROGRAM [ARGS...]"
int ctl_guest_run(const struct colo_config *cfg, int argc, char **argv);
int ctl_guest_replicate(const struct colo_config *cfg, int argc, char **argv);
#define CTL_GUEST_COMPARE_USAGE	"PID-A PID-B"
int ctl_guest_compare(const struct colo_config *cfg, int argc, char **argv);

/* ctl_daemon.c */
#define CTL_START_USAGE		"[--foreground]"
#define CTL_CHECKPOINT_USAGE	"[--verify] [--hold] [--no-wait]"
int ctl_start_primary(const struct colo_config *cfg, int argc, char **argv);
int ctl_start_secondary(const struct colo_config *cfg, int argc, char **argv);
int ctl_status(const struct colo_config *cfg, int argc, char **argv);
int ctl_checkpoint(const struct colo_config *cfg, int argc, char **argv);
int ctl_set(const struct colo_config *cfg, int argc, char **argv);
/* "KEY is one of ...": the keys set takes, for its help */
void ctl_set_help(char *buf, size_t len);
int ctl_stop(const struct colo_config *cfg, int argc, char **argv);
int ctl_failover(const struct colo_config *cfg, int argc, char **argv);
int ctl_protect(const struct colo_config *cfg, int argc, char **argv);

#endif /* COLO_CTL_H */
