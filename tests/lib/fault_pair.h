/*
 * fault_pair.h - what the fault tests (test_fault_load, test_fault_stall,
 * test_fault_link, test_fault_guest) share on top of pair_lib.h: the
 * guest most of their pairs run and how long a pair may take, and the
 * checks and waits they make of a pair.
 *
 * Unlike pair_lib.h's helpers, these are cmocka checks: a helper that
 * finds what it checks untrue, or cannot look, fails the running test
 * (with the figures it saw printed) and does not return.
 */
#ifndef COLO_TEST_FAULT_PAIR_H
#define COLO_TEST_FAULT_PAIR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pair_lib.h"

struct fake_peer;

/* The guest of most scenarios: 32 MiB, busy, mapping and unmapping. */
#define GUEST_ARGS	"--ram 32 --rate 40 --tick 3 --churn"
/* A pair reaches COLO in a second or two here; this is plenty. */
#define FORM_SECS	20
/* A peer-lost secondary: the heartbeat timeout and a load in progress. */
#define LOST_MS		(PAIR_HEARTBEAT_MS + 10000)

/* The pid under key ("pid": the daemon's, "guest_pid": its guest's) in
 * role's status ("pri", "sec"); the test fails if there is none. */
pid_t pid_of(const char *role, const char *key);

/* The crc of a running guest's memory: one that maps and unmaps as it
 * goes may unmap what is being read, so it takes a few tries. */
uint32_t running_crc(pid_t pid);

/* A last checkpoint holds both guests; they are compared byte for byte. */
void assert_held_identical(void);

/* The conf lines (a pair_role's conf) that make a daemon record every
 * checkpoint's hash in pair_dir/name: "[debug] record_hashes =
 * pair_dir/name". */
void hashes_conf(char *buf, size_t len, const char *name);

/* The path of that record_hashes file: "pair_dir/name". */
void hashes_path(char *buf, size_t len, const char *name);

/* Which checkpoint of a record_hashes file has crc (0: none; the last
 * one if several do). */
unsigned long checkpoint_with(const char *path, uint32_t crc);

/*
 * The secondary fell back to checkpoint id: its last complete one is
 * id, and its guest's memory is what the primary recorded for id (in
 * the record_hashes file pair_dir/hashes).
 */
void assert_fell_back_to(unsigned long id, const char *hashes);

/* Both daemons protect; the primary went on to at least ckpts (within
 * FORM_SECS). */
void assert_pair_protects(double ckpts);

/*
 * Keep fake peer f going (heartbeats out, records read), if it is still
 * connected, until role's state is state; the test fails if that takes
 * over ms, or if a status does not answer.
 */
void serve_until_state(struct fake_peer *f, const char *role,
		       const char *state, int ms);

/* A fake secondary on pair_port that the primary (started here) has
 * connected to, its HELLO read; *hash: the primary guest's. */
struct fake_peer *fake_secondary_for_primary(uint32_t *hash);

#endif /* COLO_TEST_FAULT_PAIR_H */
