/*
 * pair_lib.c - a pair of daemons on loopback for tests, and scripted fake
 * peers that speak the checkpoint stream to one real daemon.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "guest_compare.h"
#include "fake_peer.h"
#include "guests.h"
#include "layout.h"
#include "pair_lib.h"
#include "paths.h"
#include "shell.h"

#define MAX_TRACKED	64
#define MAX_PHRASES	8
#define TEARDOWN_WAIT_MS 3000	/* for the daemons to stop when asked */

char pair_dir[128], pair_out[65536], pair_why[4096];
char pair_coloctl[PATH_MAX], pair_memstress[PATH_MAX];
int pair_port;

static char pair_name[32];
static char pri_prefix[512], sec_prefix[512];
static struct auth_key psk;		/* pair_dir/psk, once made or read */
static bool have_psk;

/* A process this test started: killed at teardown if still the same. */
static struct tracked {
	pid_t pid;
	unsigned long long start;	/* its start time, against pid reuse */
	bool stopped;			/* we sent SIGSTOP */
} tracked[MAX_TRACKED];
static int nr_tracked;

void pair_set_why(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pair_why, sizeof(pair_why), fmt, ap);
	va_end(ap);
}

int64_t pair_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void pair_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* --- processes ------------------------------------------------------------ */

/* Field 3 (state) and 22 (start time) of /proc/PID/stat; -1 if gone. */
static int proc_stat(pid_t pid, char *state, unsigned long long *start)
{
	char path[64], buf[1024], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');		/* the name may hold anything */
	if (!p || sscanf(p + 2, "%c", state) != 1)
		return -1;
	for (int field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", start) != 1)
		return -1;
	return 0;
}

bool pair_alive(pid_t pid)
{
	unsigned long long start;
	char state;

	return pid > 0 && proc_stat(pid, &state, &start) == 0 && state != 'Z' &&
	       state != 'X';
}

static struct tracked *find_tracked(pid_t pid)
{
	for (int i = 0; i < nr_tracked; i++)
		if (tracked[i].pid == pid)
			return &tracked[i];
	return NULL;
}

void pair_track(pid_t pid)
{
	unsigned long long start;
	char state;

	if (pid <= 0 || find_tracked(pid) || nr_tracked == MAX_TRACKED ||
	    proc_stat(pid, &state, &start))
		return;
	tracked[nr_tracked++] = (struct tracked){ pid, start, false };
}

/* Is t still the process we saw (not gone, not a reused pid)? */
static bool same_process(const struct tracked *t)
{
	unsigned long long start;
	char state;

	return proc_stat(t->pid, &state, &start) == 0 && start == t->start &&
	       state != 'Z' && state != 'X';
}

int pair_sigstop(pid_t pid)
{
	struct tracked *t;

	pair_track(pid);
	t = find_tracked(pid);
	if (!t || kill(pid, SIGSTOP)) {
		pair_set_why("cannot stop pid %d: %s", (int)pid, strerror(errno));
		return -1;
	}
	t->stopped = true;
	return 0;
}

int pair_sigcont(pid_t pid)
{
	struct tracked *t = find_tracked(pid);

	if (kill(pid, SIGCONT)) {
		pair_set_why("cannot continue pid %d: %s", (int)pid, strerror(errno));
		return -1;
	}
	if (t)
		t->stopped = false;
	return 0;
}

/* Remember every "started: pid N" a command printed (coloctl start-*). */
static void track_started(const char *text)
{
	static const char label[] = "started: pid ";

	for (const char *at = strstr(text, label); at;
	     at = strstr(at + 1, label))
		pair_track((pid_t)strtol(at + strlen(label), NULL, 10));
}

/* The children of a tracked process (a daemon's guest), tracked too. */
static void track_children(pid_t pid)
{
	char path[64], tpath[384];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		FILE *f;
		int child;

		if (d->d_name[0] == '.')
			continue;
		snprintf(tpath, sizeof(tpath), "%s/%s/children", path, d->d_name);
		f = fopen(tpath, "re");
		if (!f)
			continue;
		while (fscanf(f, "%d", &child) == 1)
			pair_track((pid_t)child);
		fclose(f);
	}
	closedir(dir);
}

/* --- the work directory and coloctl ---------------------------------------- */

int pair_init(const char *name)
{
	const char *c = test_coloctl();

	if (access(c, X_OK)) {
		fprintf(stderr, "no coloctl at %s: build it (make) or set COLOCTL\n",
			c);
		return -1;
	}
	snprintf(pair_coloctl, sizeof(pair_coloctl), "%s", c);
	snprintf(pair_name, sizeof(pair_name), "%s", name);
	guest_binary("memstress", pair_memstress, sizeof(pair_memstress));
	return 0;
}

int pair_setup(void **state)
{
	(void)state;
	snprintf(pair_dir, sizeof(pair_dir), "/tmp/colo-%s-%d", pair_name,
		 (int)getpid());
	mkdir(pair_dir, 0700);
	nr_tracked = 0;
	pair_port = 0;
	have_psk = false;
	memset(&psk, 0, sizeof(psk));
	pri_prefix[0] = sec_prefix[0] = '\0';
	return 0;
}

int pair_run(const char *fmt, ...)
{
	char prelude[2 * PATH_MAX + 16];
	va_list ap;
	int ret;

	snprintf(prelude, sizeof(prelude), "C=%s; D=%s; ", pair_coloctl,
		 pair_dir);
	va_start(ap, fmt);
	ret = shell_runv(pair_out, sizeof(pair_out), prelude, fmt, ap);
	va_end(ap);
	track_started(pair_out);
	return ret;
}

/*
 * Whatever happened: what we stopped runs again, both daemons are asked
 * to stop (a stuck one gets 3 s), what is left of our processes is
 * killed by pid, the fakes are closed, the files removed.
 */
int pair_teardown(void **state)
{
	int64_t end;
	int n = nr_tracked;

	(void)state;
	fake_close_all();
	for (int i = 0; i < n; i++)
		if (same_process(&tracked[i]))
			track_children(tracked[i].pid);
	for (int i = 0; i < nr_tracked; i++)
		if (tracked[i].stopped && same_process(&tracked[i]))
			kill(tracked[i].pid, SIGCONT);
	pair_run("timeout 3 $C -c $D/pri stop >/dev/null 2>&1 & "
		 "timeout 3 $C -c $D/sec stop >/dev/null 2>&1 & wait");
	end = pair_now_ms() + TEARDOWN_WAIT_MS;
	for (int i = 0; i < nr_tracked; i++)
		while (same_process(&tracked[i]) && pair_now_ms() < end)
			pair_sleep_ms(20);
	for (int i = 0; i < nr_tracked; i++)
		if (same_process(&tracked[i]))
			kill(tracked[i].pid, SIGKILL);
	nr_tracked = 0;
	if (getenv("COLO_TEST_KEEP")) {		/* to read the logs after */
		pair_run("rm -rf %s.kept; cp -a %s %s.kept", pair_dir, pair_dir,
			 pair_dir);
	}
	if (pair_run("rm -rf %s", pair_dir))
		return -1;
	return 0;
}

int pair_expect(const char *needle)
{
	if (strstr(pair_out, needle))
		return 0;
	pair_set_why("output lacks '%s':\n%s", needle, pair_out);
	return -1;
}

int pair_free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), p = -1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		p = ntohs(sin.sin_port);
	else
		pair_set_why("no free port: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	return p;
}

/* --- configuration and starting ------------------------------------------- */

int pair_make_key(void)
{
	char path[256];
	int ret;

	if (have_psk)
		return 0;
	snprintf(path, sizeof(path), "%s/psk", pair_dir);
	ret = access(path, F_OK) == 0 ? auth_key_load(path, &psk) :
	      auth_key_generate(path, &psk);
	if (ret) {
		pair_set_why("cannot make the pair's key %s: %s (the log line "
			     "before says why)", path, strerror(-ret));
		return -1;
	}
	have_psk = true;
	return 0;
}

const struct auth_key *pair_key(void)
{
	return have_psk ? &psk : NULL;
}

int pair_write_conf(const char *name, const char *role_lines,
		    const char *guest_args, const struct pair_role *r)
{
	char path[256], security[384];
	FILE *f;

	if (r && r->security) {
		snprintf(security, sizeof(security), "%s", r->security);
	} else {
		if (pair_make_key())
			return -1;
		snprintf(security, sizeof(security), "[security]\n"
			 "psk_file = %s/psk\n", pair_dir);
	}

	snprintf(path, sizeof(path), "%s/%s", pair_dir, name);
	f = fopen(path, "we");
	if (!f) {
		pair_set_why("cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "[guest]\nprogram = %s\nargs = %s\nstop_timeout_ms = %d\n"
		"[checkpoint]\n%s\n[ha]\nheartbeat_timeout_ms = %u\n"
		"[control]\nsocket = %s/%s.sock\n[log]\nfile = %s/%s.log\n%s%s",
		r && r->program ? r->program : pair_memstress, guest_args,
		PAIR_STOP_TIMEOUT_MS, role_lines,
		r && r->heartbeat_timeout_ms ? r->heartbeat_timeout_ms :
					       PAIR_HEARTBEAT_MS,
		pair_dir, name, pair_dir, name, security,
		r && r->conf ? r->conf : "");
	fclose(f);
	return 0;
}

int pair_configs_roles(const char *guest_args, const struct pair_role *pri,
		       const struct pair_role *sec)
{
	char lines[128];

	pair_port = pair_free_port();
	if (pair_port < 0)
		return -1;
	snprintf(pri_prefix, sizeof(pri_prefix), "%s",
		 pri && pri->prefix ? pri->prefix : "");
	snprintf(sec_prefix, sizeof(sec_prefix), "%s",
		 sec && sec->prefix ? sec->prefix : "");
	snprintf(lines, sizeof(lines), "listen = 127.0.0.1:%d", pair_port);
	if (pair_write_conf("sec", lines, guest_args, sec))
		return -1;
	snprintf(lines, sizeof(lines), "peer = 127.0.0.1:%d\n"
		 "checkpoint_delay_ms = %d", pair_port, PAIR_DELAY_MS);
	return pair_write_conf("pri", lines, guest_args, pri);
}

int pair_configs(const char *guest_args, const char *primary_conf)
{
	struct pair_role pri = { .conf = primary_conf };

	return pair_configs_roles(guest_args, &pri, NULL);
}

int pair_start_role(const char *role)
{
	bool primary = strcmp(role, "pri") == 0;
	int ret;

	ret = pair_run("%s $C -c $D/%s start-%s", primary ? pri_prefix :
		       sec_prefix, role, primary ? "primary" : "secondary");
	if (ret == 0)
		return 0;
	pair_set_why("start-%s exited with %d:\n%s", primary ? "primary" : "secondary",
	    ret, pair_out);
	return -1;
}

int pair_start(void)
{
	if (pair_start_role("sec"))
		return -1;
	return pair_start_role("pri");
}

/* --- status and logs ------------------------------------------------------- */

double pair_status_num(const char *role, const char *key)
{
	char pat[64];
	const char *at;

	if (pair_run("$C -c $D/%s status --json", role))
		return -1;
	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	at = strstr(pair_out, pat);
	return at ? strtod(at + strlen(pat), NULL) : -1;
}

bool pair_status_is(const char *role, const char *key, const char *value)
{
	char pat[128];

	if (pair_run("$C -c $D/%s status --json", role))
		return false;
	snprintf(pat, sizeof(pat), "\"%s\": \"%s\"", key, value);
	return strstr(pair_out, pat) != NULL;
}

int pair_status_str(const char *role, const char *key, char *buf, size_t len)
{
	char pat[64];
	const char *at;
	size_t n = 0;

	if (!len)
		return -1;
	buf[0] = '\0';
	if (pair_run("$C -c $D/%s status --json", role)) {
		pair_set_why("the %s's status does not answer:\n%s", role, pair_out);
		return -1;
	}
	snprintf(pat, sizeof(pat), "\"%s\": \"", key);
	at = strstr(pair_out, pat);
	if (!at) {
		pair_set_why("the %s's status has no %s:\n%s", role, key, pair_out);
		return -1;
	}
	for (at += strlen(pat); *at && *at != '"' && n + 1 < len; at++) {
		if (*at == '\\' && at[1])
			at++;
		buf[n++] = *at;
	}
	buf[n] = '\0';
	return 0;
}

/* pair_why: what, the role's state and the tail of its log. */
static void why_with_log(const char *role, const char *what)
{
	char head[512];

	snprintf(head, sizeof(head), "%s", what);
	pair_run("$C -c $D/%s status | grep -E '^(state|checkpoints|"
		 "solo_because|lost_because|heartbeat_age_ms) '; "
		 "echo \"-- the end of $D/%s.log:\"; tail -n 12 $D/%s.log",
		 role, role, role);
	pair_set_why("%s:\n%s", head, pair_out);
}

int pair_protecting(const char *role)
{
	char what[128];

	/* one answer, both states: the state flips between checkpoints */
	if (pair_run("$C -c $D/%s status --json", role) == 0 &&
	    (strstr(pair_out, "\"state\": \"colo\"") ||
	     strstr(pair_out, "\"state\": \"checkpoint\"")))
		return 0;
	snprintf(what, sizeof(what), "the %s is not protecting its guest", role);
	why_with_log(role, what);
	return -1;
}

int pair_wait_num(const char *role, const char *key, double value, int secs)
{
	int64_t end = pair_now_ms() + (int64_t)secs * 1000;
	char what[160];
	double v;

	for (;;) {
		v = pair_status_num(role, key);
		if (v >= value)
			return 0;
		if (pair_now_ms() >= end)
			break;
		pair_sleep_ms(50);
	}
	snprintf(what, sizeof(what), "%s %s stayed at %.0f, wanted %.0f "
		 "within %d s", role, key, v, value, secs);
	why_with_log(role, what);
	return -1;
}

int pair_wait_state(const char *role, const char *state, int ms)
{
	int64_t end = pair_now_ms() + ms;
	char what[160];

	for (;;) {
		if (pair_status_is(role, "state", state))
			return 0;
		if (pair_now_ms() >= end)
			break;
		pair_sleep_ms(50);
	}
	snprintf(what, sizeof(what), "the %s did not reach state %s within "
		 "%d ms", role, state, ms);
	why_with_log(role, what);
	return -1;
}

int pair_log_count(const char *role, ...)
{
	const char *phrases[MAX_PHRASES];
	char path[256], *line = NULL;
	size_t cap = 0, nr = 0;
	int count = 0;
	va_list ap;
	FILE *f;

	va_start(ap, role);
	for (const char *p; nr < MAX_PHRASES && (p = va_arg(ap, const char *));)
		phrases[nr++] = p;
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s.log", pair_dir, role);
	f = fopen(path, "re");
	if (!f) {
		pair_set_why("cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, f) > 0) {
		for (size_t i = 0; i < nr; i++) {
			if (strstr(line, phrases[i])) {
				count++;
				break;
			}
		}
	}
	free(line);
	fclose(f);
	return count;
}

int pair_log_has(const char *role, const char *phrase)
{
	char what[512];

	if (pair_log_count(role, phrase, (const char *)NULL) > 0)
		return 0;
	snprintf(what, sizeof(what), "the %s's log does not say '%s'", role,
		 phrase);
	why_with_log(role, what);
	return -1;
}

int pair_wait_log(const char *role, const char *phrase, int ms)
{
	int64_t end = pair_now_ms() + ms;

	while (pair_log_count(role, phrase, (const char *)NULL) <= 0 &&
	       pair_now_ms() < end)
		pair_sleep_ms(50);
	return pair_log_has(role, phrase);
}

int pair_hash_of(const char *path, unsigned long id, uint32_t *crc)
{
	unsigned long line_id, bytes;
	unsigned int c;
	char line[128];
	bool found = false;
	FILE *f = fopen(path, "re");

	if (!f) {
		pair_set_why("cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lu %x %lu", &line_id, &c, &bytes) == 3 &&
		    line_id == id) {
			*crc = c;
			found = true;
		}
	fclose(f);
	if (!found) {
		pair_set_why("%s has no line for checkpoint %lu", path, id);
		return -1;
	}
	return 0;
}

/* --- guests ----------------------------------------------------------------- */

int pair_guest_hash(pid_t pid, uint32_t *hash)
{
	struct layout l;
	int ret = layout_read(pid, &l);

	if (!ret) {
		ret = layout_files_crc(&l, hash);
		layout_free(&l);
	}
	if (ret)
		pair_set_why("cannot hash the files of guest %d: %s", (int)pid,
		    strerror(-ret));
	return ret ? -1 : 0;
}

int pair_guest_crc(pid_t pid, uint32_t *crc)
{
	uint64_t bytes;
	int ret = guest_memory_crc(pid, crc, &bytes);

	if (ret)
		pair_set_why("cannot hash the memory of guest %d: %s", (int)pid,
		    strerror(-ret));
	return ret ? -1 : 0;
}

int pair_guest_crc_without(pid_t pid, int kind, uint32_t *crc)
{
	static uint8_t buf[1u << 20];
	uLong c = crc32(0L, Z_NULL, 0);
	struct layout l;
	int ret = layout_read(pid, &l);
	bool have = !ret;

	for (size_t i = 0; !ret && i < l.nr; i++) {
		const struct layout_map *m = &l.maps[i];

		if (!layout_is_ram(m) || (int)m->kind == kind)
			continue;
		for (uint64_t at = m->start; at < m->end && !ret; at += sizeof(buf)) {
			size_t len = m->end - at < sizeof(buf) ?
				     (size_t)(m->end - at) : sizeof(buf);
			struct iovec local = { buf, len };
			struct iovec remote = { (void *)(uintptr_t)at, len };

			if (process_vm_readv(pid, &local, 1, &remote, 1, 0) !=
			    (ssize_t)len)
				ret = -EIO;
			else
				c = crc32(c, buf, (uInt)len);
		}
	}
	if (have)
		layout_free(&l);
	if (ret) {
		pair_set_why("cannot hash the memory of guest %d: %s", (int)pid,
		    strerror(-ret));
		return -1;
	}
	*crc = (uint32_t)c;
	return 0;
}

int pair_layout_payload(pid_t pid, uint8_t **buf, size_t *len)
{
	struct layout l;
	uint64_t brk;
	int ret = layout_read(pid, &l);

	if (ret) {
		pair_set_why("cannot read the layout of guest %d: %s", (int)pid,
		    strerror(-ret));
		return -1;
	}
	/* the program break: the end of [heap], or where it would start */
	brk = l.stat[LS_START_BRK];
	for (size_t i = 0; i < l.nr; i++)
		if (l.maps[i].kind == LAYOUT_HEAP)
			brk = l.maps[i].end;
	ret = layout_encode(&l, brk, buf, len);
	layout_free(&l);
	if (ret)
		pair_set_why("cannot encode the layout of guest %d: %s", (int)pid,
		    strerror(-ret));
	return ret ? -1 : 0;
}

int pair_largest_anon(pid_t pid, uint64_t *start, uint64_t *len)
{
	struct layout l;
	int ret = layout_read(pid, &l);

	if (ret) {
		pair_set_why("cannot read the layout of guest %d: %s", (int)pid,
		    strerror(-ret));
		return -1;
	}
	*start = *len = 0;
	for (size_t i = 0; i < l.nr; i++)
		if (l.maps[i].kind == LAYOUT_ANON &&
		    l.maps[i].end - l.maps[i].start > *len) {
			*start = l.maps[i].start;
			*len = l.maps[i].end - l.maps[i].start;
		}
	layout_free(&l);
	if (!*len) {
		pair_set_why("guest %d has no anonymous mapping", (int)pid);
		return -1;
	}
	return 0;
}

