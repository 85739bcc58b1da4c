/*
 * kv_pair.c - a protected kvstore in a test's lab (kv_pair.h).
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "guests.h"
#include "kv_pair.h"
#include "net_lab.h"
#include "pair_lib.h"
#include "resp_compare.h"
#include "shell.h"

#define FORM_SECS	30

char kv_out[65536];

void kv_pair_start(unsigned delay_ms, const char *pri_net,
		   const char *sec_net)
{
	struct kv_pair_opts o = {
		.delay_ms = delay_ms, .pri_net = pri_net, .sec_net = sec_net,
	};

	kv_pair_start_opts(&o);
}

void kv_pair_start_opts(const struct kv_pair_opts *o)
{
	char kv[PATH_MAX], lines[128], pri_conf[1024], sec_conf[1024];
	struct pair_role sec = { .program = kv, .conf = sec_conf,
				 .heartbeat_timeout_ms = o->heartbeat_ms };
	struct pair_role pri = { .program = kv, .conf = pri_conf,
				 .heartbeat_timeout_ms = o->heartbeat_ms };
	const char *args = "--port 6379";

	guest_binary("kvstore", kv, sizeof(kv));
	snprintf(sec_conf, sizeof(sec_conf), "[net]\nguest_ip = %s\n"
		 "guest_gateway = %s\n%s", LAB_GUEST_IP, LAB_GATEWAY,
		 o->sec_net ? o->sec_net : "");
	snprintf(lines, sizeof(lines), "listen = %s:%d", LAB_SEC_REPL_IP,
		 LAB_REPL_PORT);
	pair_must(pair_write_conf("sec", lines, args, &sec));
	pair_must(pair_run("%s %s $C -c $D/sec start-secondary", lab_ns("sec"),
			   o->sec_prefix ? o->sec_prefix : "") ?
		  (pair_set_why("start-secondary: %s", pair_out), -1) : 0);
	snprintf(pri_conf, sizeof(pri_conf), "[net]\nbridge = br0\n"
		 "guest_ip = %s\nguest_gateway = %s\n%s", LAB_GUEST_IP,
		 LAB_GATEWAY, o->pri_net ? o->pri_net : "");
	snprintf(lines, sizeof(lines), "peer = %s:%d\ncheckpoint_delay_ms = %u",
		 LAB_SEC_REPL_IP, LAB_REPL_PORT, o->delay_ms);
	pair_must(pair_write_conf("pri", lines, args, &pri));
	pair_must(pair_run("%s %s $C -c $D/pri start-primary", lab_ns("pri"),
			   o->pri_prefix ? o->pri_prefix : "") ?
		  (pair_set_why("start-primary: %s", pair_out), -1) : 0);
	pair_must(pair_wait_num("pri", "checkpoints", 3, FORM_SECS));
	pair_must(pair_protecting("pri"));
	pair_must(pair_protecting("sec"));
}

int kv_cli(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	return lab_sh("client", kv_out, sizeof(kv_out),
		      "redis-cli -h %s -p %d %s", LAB_GUEST_IP, KV_PORT, line);
}

void kv_cli_expect(const char *want, const char *cmd)
{
	int ret = kv_cli("%s", cmd);

	print_message("redis-cli %s -> %s", cmd, kv_out);
	if (ret != 0 || strcmp(kv_out, want) != 0)
		fail_msg("redis-cli %s exited %d with '%s', expected '%s'", cmd,
			 ret, kv_out, want);
}

int kv_lab_setup(void **state)
{
	if (pair_setup(state))
		return -1;
	if (lab_up()) {
		fprintf(stderr, "%s\n", pair_why);
		return -1;
	}
	return 0;
}

int kv_lab_teardown(void **state)
{
	int ret = pair_teardown(state);

	if (lab_down()) {
		fprintf(stderr, "%s\n", pair_why);
		ret = -1;
	}
	return ret;
}

#define REDIS_PORT	6390

/* In the client namespace: the script against both servers. */
static int compare_in_client(void *opaque)
{
	struct resp_compare_result res;
	char redis[32], guest[32];
	int ret;

	(void)opaque;
	snprintf(redis, sizeof(redis), "127.0.0.1:%d", REDIS_PORT);
	snprintf(guest, sizeof(guest), "%s:%d", LAB_GUEST_IP, KV_PORT);
	ret = resp_compare(redis, guest, "tests/data/kv_commands.txt", &res);
	if (ret)
		fprintf(stderr, "%s\n", res.diff);
	else
		printf("%u steps, %u replies byte-equal, %u by shape, %u closes\n",
		       res.steps, res.replies, res.shapes, res.closes);
	fflush(stdout);
	return ret ? 1 : 0;
}

void kv_replies_equal_redis(void)
{
	int ret;

	ret = shell_run(kv_out, sizeof(kv_out), "", "tests/lab/colo-lab.sh "
			"spawn %s client redis-server --port %d --bind 127.0.0.1 "
			"--save \"\" --appendonly no --databases 1 --dir %s",
			lab_prefix, REDIS_PORT, pair_dir);
	if (ret != 0)
		fail_msg("redis-server did not start in the lab: %s", kv_out);
	pair_sleep_ms(500);
	ret = lab_in("client", compare_in_client, NULL);
	if (ret != 0)
		fail_msg("the guest's replies differ from redis-server's (see "
			 "above), exit %d", ret);
}
