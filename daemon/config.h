/*
 * config.h - colo.conf, parsed with libinih into one struct.
 *
 * Every key is listed once, in the table in config.c, with its section,
 * type, range or names, and the text shown when a value is refused. An
 * unknown section or key, a bad value, a key set twice, a syntax error or
 * a missing file is refused with the file, the line, the key and what is
 * allowed; out-of-range numbers that have a safe nearest value are clamped
 * with a warning instead. coloctl set goes through the same table
 * (config_set_live()), for the keys it marks live.
 */
#ifndef COLO_CONFIG_H
#define COLO_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "dirty_log.h"
#include "log.h"

/* [net] output: when a frame of the primary's guest may leave. */
enum net_output {
	/* once the secondary's guest sent the same (netcompare), or the
	 * checkpoint after it is loaded */
	NET_OUTPUT_COMPARE,
	NET_OUTPUT_BUFFER,	/* once the checkpoint after it is loaded */
};

#define NET_MAX_PASSTHROUGH	16	/* ports in [net] passthrough */

/* A list of TCP/UDP ports. */
struct net_ports {
	uint16_t port[NET_MAX_PASSTHROUGH];
	unsigned n;
};

struct colo_config {
	char path[4096];		/* the file it came from */
	struct {
		/* log2 of pages per dirty-log clear chunk (6..31) */
		unsigned clear_bitmap_shift;
		enum dirty_log_kind dirty_log;
		/* lazy (chunk by chunk, before the read) or monolithic
		 * (whole blocks at every sync: the baseline to compare) */
		enum dirty_log_clear_mode clear_mode;
	} ram;
	struct {
		enum log_level level;
		char file[4096];	/* daemons log here; "" = stderr */
	} log;
	struct {
		char program[4096];	/* absolute path, same on both hosts */
		char args[1024];	/* its arguments, split at blanks */
		/* RLIMIT_STACK of guests, KiB (finite: the layout needs it) */
		uint64_t stack_limit_kib;
		/* how long a stop waits for a guest busy in a handler */
		unsigned stop_timeout_ms;
		/* the guest RAM a pair protects at most, MiB; 0: no limit */
		uint64_t max_ram_mib;
	} guest;
	struct {
		unsigned checkpoint_delay_ms;	/* gap between checkpoints */
		/* the initial sync's stop-and-copy should take at most this:
		 * pre-copy goes on until what is dirty moves within it */
		unsigned max_downtime_ms;
		unsigned compress_level;	/* zlib level of pages, 0 = off */
		char listen[64];		/* secondary: ADDRESS:PORT */
		char peer[64];			/* primary: the secondary's */
	} checkpoint;
	struct {
		unsigned heartbeat_timeout_ms;	/* peer lost after this */
		/* the secondary takes over by itself when the primary is
		 * silent on both heartbeat paths */
		bool auto_failover;
		/* the second heartbeat path, over the client LAN (UDP):
		 * where we listen, where the peer does; "" = none */
		char lan_listen[64], lan_peer[64];
	} ha;
	struct {
		/* scripts run on role changes and on peer events; "" = none */
		char role_change[4096], peer_event[4096];
		unsigned timeout_ms;		/* a hook is killed after this */
	} hooks;
	struct {
		/* the primary's uplink: a TAP on this bridge; "" = the
		 * guest has no network */
		char bridge[16];
		char tap[16];			/* the TAP's name; "" = colo%d */
		enum net_output output;		/* when guest frames may leave */
		/* the guest's interface, passed on its environment */
		char guest_ip[16], guest_netmask[16], guest_gateway[16];
		char guest_mac[18];		/* "" = the runtime's default */
		/* buffer mode: held output that asks for a checkpoint */
		unsigned max_held_frames;
		uint64_t max_held_bytes;
		/* compare mode */
		bool clock_feed;		/* B's clock follows A's */
		unsigned compare_timeout_ms;	/* unmatched this long */
		unsigned max_queue_frames;	/* compared output queued */
		uint64_t max_queue_bytes;
		struct net_ports passthrough;	/* not compared */
		/* a test knob: this host's guest sends TCP segments of at
		 * most this many bytes (0: lwIP's own) */
		unsigned tx_segment;
	} net;
	struct {
		char socket[108];		/* unix control socket */
		/* a group whose members may use it too; "" = root and the
		 * daemon's own user only */
		char group[33];
	} control;
	struct {
		/* debug: the primary appends each checkpoint's memory hash */
		char record_hashes[4096];
	} debug;
	struct {
		/* the replication link's pre-shared key (auth.h); "" = none */
		char psk_file[4096];
		/* yes: no key, the link is not authenticated; without it
		 * and without psk_file the daemons refuse to start */
		bool insecure;
		/* set at a daemon's start by config_security_load(): */
		bool loaded;		/* psk_file read, or insecure taken */
		struct auth_key key;	/* psk_file's key (unless insecure) */
	} security;
};

/* Split "host:port" of a checked address key. 0 or -EINVAL. */
int config_split_address(const char *address, char *host, size_t host_len,
			 unsigned *port);

/* Key i of the table (NULL past the end) and its section: for the test
 * that the annotated colo.conf names them all. */
const char *config_key_name(size_t i, const char **section);

/* Every key at its default. */
void config_defaults(struct colo_config *cfg);

/*
 * Read path into *cfg. On error *cfg is left untouched, the reason is
 * logged once, and a negative errno returned: -ENOENT (or another open
 * error) for the file, -EINVAL for its contents.
 */
int config_load(struct colo_config *cfg, const char *path);

/*
 * Set one key as a line of colo.conf would: the same parsing, limits,
 * clamping and wording. key is "SECTION.KEY" or "KEY" (key names are
 * unique). msg (len bytes) gets what happened, without a file and line:
 *   0        set as given          "[ram] clear_mode = monolithic"
 *   1        clamped               "[ram] clear_bitmap_shift = 3 is out of
 *                                   range 6..31; clamped to 6"
 *   -EINVAL  refused, cfg untouched "... is out of range; allowed: ..."
 *   -ENOENT  no such key or section, with the known ones
 * Nothing is logged: the caller says it where it is heard.
 */
int config_set_key(struct colo_config *cfg, const char *key,
		   const char *value, char *msg, size_t len);

/*
 * The same for coloctl set on a running daemon: only the keys the table
 * marks live (config_live_keys()); another known key is -EPERM, with
 * "change it in colo.conf and restart". The daemon applies the change.
 */
int config_set_live(struct colo_config *cfg, const char *key,
		    const char *value, char *msg, size_t len);

/* The live keys, "checkpoint_delay_ms, ...", for messages and help. */
void config_live_keys(char *buf, size_t len);

/*
 * [security] at a daemon's start: the key of psk_file read into
 * cfg->security.key (auth_key_load(): its mode, owner, kind and size
 * checked), or insecure = yes taken, with a warning. Refused, logged
 * with the fix, when neither is set or both are, or the key file is
 * refused. A no-op once loaded. 0 or a negative errno.
 */
int config_security_load(struct colo_config *cfg);

/* The replication link's key for channel_auth(), loaded first if it
 * was not (config_security_load()): 0 with *key, NULL when insecure; or
 * the load's error. A caller never gets a plain link by mistake. */
int config_link_key(struct colo_config *cfg, const struct auth_key **key);

/* "psk" or "insecure", for status. */
const char *config_security_name(const struct colo_config *cfg);

/* How long a connection's authentication handshake may take: the
 * heartbeat timeout, at most CONFIG_HANDSHAKE_MAX_MS. */
#define CONFIG_HANDSHAKE_MAX_MS	2000
unsigned config_handshake_ms(const struct colo_config *cfg);

#endif /* COLO_CONFIG_H */
