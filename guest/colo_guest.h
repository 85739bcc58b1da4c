/*
 * colo_guest.h - the guest runtime's API: what a program protected by
 * colo may use of the world.
 *
 * A guest is a single-threaded program whose main() hands its handlers to
 * colo_guest_main(). The runtime is its virtual hardware: an event loop
 * (the vCPU), a NIC that sends and receives Ethernet frames, a clock and a
 * log. Between two events the replicator may stop the guest, copy its
 * memory into another guest, and resume that one where this one was; so a
 * guest must not keep state anywhere but in its own memory: no files,
 * sockets, threads, signal handlers or fd changes of its own.
 *
 *     static const struct colo_guest_ops ops = {
 *             .start = my_start, .frame = my_frame,
 *             .timer = my_tick, .timer_ms = 10,
 *     };
 *     int main(int argc, char **argv)
 *     {
 *             return colo_guest_main(argc, argv, &ops, NULL);
 *     }
 */
#ifndef COLO_GUEST_H
#define COLO_GUEST_H

#include <stddef.h>
#include <stdint.h>

struct colo_guest_ops {
	/* Once, when the daemon starts the guest. 0, or stop with an error. */
	int (*start)(int argc, char **argv, void *opaque);
	/* An Ethernet frame arrived; data is valid during the call only. */
	void (*frame)(const void *data, size_t len, void *opaque);
	/* Every timer_ms milliseconds (0: never), between other events. */
	void (*timer)(void *opaque);
	unsigned timer_ms;
	/* The NIC was moved to another host's uplink (a takeover): tell
	 * the network, e.g. make peers retransmit at once. NULL: nothing. */
	void (*announce)(void *opaque);
};

/*
 * Set up the runtime, report to the daemon, and run the event loop until
 * the daemon shuts the guest down (returns 0) or something fails (returns
 * 1 after telling the daemon why). Call it from main(), first thing.
 */
int colo_guest_main(int argc, char **argv, const struct colo_guest_ops *ops,
		    void *opaque);

/* Send one Ethernet frame (at most COLO_GUEST_MAX_PAYLOAD bytes). 0 or a
 * negative errno. */
int colo_nic_send(const void *frame, size_t len);

/* The guest's MAC address (the same in both guests of a pair). */
void colo_nic_mac(uint8_t mac[6]);

/*
 * Milliseconds of the guest's monotonic clock: the host's CLOCK_MONOTONIC
 * plus an offset the runtime keeps. Like a VM's virtual clock it stands
 * still while the guest is paused, and a replica resumes at its primary's
 * clock, so both guests of a pair read the same time whatever their
 * hosts' clocks say. It is not the host's clock: use it for intervals
 * and deadlines only.
 *
 * Fed mode: a daemon may drive the clock instead, by events (a TICK, or
 * a frame stamped with the time it is delivered at). From its first such
 * event on, the clock reads the last time fed (it never goes back, and
 * stands still between events however long they take), and the timer
 * handler runs only when a fed time reaches its tick, not by the host's
 * time: two guests given the same event sequence then read the same
 * times at the same points of it and run their timers alike. Nothing
 * changes for the guest's code.
 */
uint64_t colo_clock_ms(void);

/*
 * A parameter of this host, not of the guest: the number the daemon gave
 * this runtime at launch as environment variable COLO_HOST_<name> (name
 * as written there, e.g. "TX_SEGMENT" for COLO_HOST_TX_SEGMENT=536), or
 * -1 when it gave none. Each guest of a pair has its own, and a
 * checkpoint does not carry the primary's into the secondary (anything
 * in guest memory it does): so use one only for how the guest sends,
 * never for what it computes or keeps, or the two guests diverge.
 */
long colo_host_param(const char *name);

/* A line for the daemon's log, prefixed with the guest's name there. */
void colo_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* COLO_GUEST_H */
