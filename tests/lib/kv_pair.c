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

#include <cmocka.h>

#include "guests.h"
#include "kv_pair.h"
#include "net_lab.h"
#include "pair_lib.h"

#define FORM_SECS	30

char kv_out[16384];

void kv_pair_start(unsigned delay_ms, const char *pri_net,
		   const char *sec_net)
{
	char kv[PATH_MAX], lines[128], pri_conf[512], sec_conf[512];
	struct pair_role sec = { .program = kv, .conf = sec_conf };
	struct pair_role pri = { .program = kv, .conf = pri_conf };
	const char *args = "--port 6379";

	guest_binary("kvstore", kv, sizeof(kv));
	snprintf(sec_conf, sizeof(sec_conf), "[net]\nguest_ip = %s\n"
		 "guest_gateway = %s\n%s", LAB_GUEST_IP, LAB_GATEWAY, sec_net);
	snprintf(lines, sizeof(lines), "listen = %s:%d", LAB_SEC_REPL_IP,
		 LAB_REPL_PORT);
	pair_must(pair_write_conf("sec", lines, args, &sec));
	pair_must(pair_run("%s $C -c $D/sec start-secondary", lab_ns("sec")) ?
		  (pair_set_why("start-secondary: %s", pair_out), -1) : 0);
	snprintf(pri_conf, sizeof(pri_conf), "[net]\nbridge = br0\n"
		 "guest_ip = %s\nguest_gateway = %s\n%s", LAB_GUEST_IP,
		 LAB_GATEWAY, pri_net);
	snprintf(lines, sizeof(lines), "peer = %s:%d\ncheckpoint_delay_ms = %u",
		 LAB_SEC_REPL_IP, LAB_REPL_PORT, delay_ms);
	pair_must(pair_write_conf("pri", lines, args, &pri));
	pair_must(pair_run("%s $C -c $D/pri start-primary", lab_ns("pri")) ?
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
