/*
 * test_ocf_agent.c - ha/colo, the Pacemaker OCF resource agent, on one
 * host without a cluster: Debian's ocf-tester runs its whole sequence,
 * then every action is run by hand with the OCF environment Pacemaker
 * would give it and its exact return code checked; the meta-data is
 * checked against the OCF schemas shipped with resource-agents.
 *
 * The daemon's guest is memstress (no network). Its colo.conf listens on
 * a free loopback port and names an unused one as the peer, so a
 * promoted instance is a primary that keeps connecting: a fresh primary,
 * since as a secondary it never received a copy. The agent keeps its
 * state file in the test's directory (HA_RSCTMP). Whatever a test
 * started is stopped at teardown by the pids status names, also when the
 * test failed half way.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pair_lib.h"

/* OCF return codes (ocf-returncodes of resource-agents) */
enum {
	OCF_SUCCESS = 0,
	OCF_ERR_GENERIC = 1,
	OCF_ERR_ARGS = 2,
	OCF_ERR_UNIMPLEMENTED = 3,
	OCF_ERR_INSTALLED = 5,
	OCF_ERR_CONFIGURED = 6,
	OCF_NOT_RUNNING = 7,
	OCF_RUNNING_PROMOTED = 8,
};

#define OCF_TESTER	"/usr/sbin/ocf-tester"
#define OCF_ROOT	"/usr/lib/ocf"
#define RA_DATADIR	"/usr/share/resource-agents"	/* ra-api-1.dtd, metadata.rng */
#define GUEST_ARGS	"--ram 16 --wss 1 --rate 100 --tick 5"

static char agent_path[PATH_MAX];	/* ha/colo of this source tree */

/* The daemon of $D/node, whatever role it has now: tracked by pid (and
 * its guest), so teardown ends it if the test does not. */
static void track_node(const char *node)
{
	double pid = pair_status_num(node, "pid");
	double guest = pair_status_num(node, "guest_pid");

	if (pid > 0)
		pair_track((pid_t)pid);
	if (guest > 0)
		pair_track((pid_t)guest);
}

/*
 * $D/sec: memstress, the dirty log's auto choice, listen on a free
 * loopback port, the peer an unused one (a primary keeps connecting);
 * its control socket and log in $D.
 */
static int setup(void **state)
{
	char lines[128];
	int listen_port, peer_port;
	struct pair_role r = { .conf = "[ram]\ndirty_log = auto\n" };

	pair_setup(state);
	listen_port = pair_free_port();
	peer_port = pair_free_port();
	while (peer_port == listen_port && listen_port > 0)
		peer_port = pair_free_port();
	if (listen_port < 0 || peer_port < 0) {
		fprintf(stderr, "%s\n", pair_why);
		return -1;
	}
	snprintf(lines, sizeof(lines), "listen = 127.0.0.1:%d\npeer = 127.0.0.1:%d",
		 listen_port, peer_port);
	if (pair_write_conf("sec", lines, GUEST_ARGS, &r)) {
		fprintf(stderr, "%s\n", pair_why);
		return -1;
	}
	return pair_run("mkdir -p $D/rsctmp");
}

static int teardown(void **state)
{
	track_node("sec");			/* what the last action left running */
	return pair_teardown(state);
}

/*
 * Run the agent's action with the environment Pacemaker gives an agent
 * (env: more NAME=VALUE words, later ones win); its output in pair_out,
 * its exit status returned.
 */
static int agent(const char *env, const char *action)
{
	return pair_run("env OCF_ROOT=" OCF_ROOT " OCF_RESOURCE_INSTANCE=colo "
			"OCF_RESKEY_config=$D/sec OCF_RESKEY_coloctl=$C "
			"HA_RSCTMP=$D/rsctmp %s %s %s", env, agent_path, action);
}

/* The action returns want, or the test fails with what it printed. */
#define expect_action(env, action, want) do {				\
	int rc_ = agent(env, action);					\
	if (rc_ != (want))						\
		fail_msg("ha/colo %s (%s) returned %d, expected %d:\n%s",	\
			 action, env, rc_, want, pair_out);		\
} while (0)

/* The daemon of node's colo.conf is a role, in state (NULL: any). */
static void expect_role_of(const char *node, const char *role,
			   const char *state)
{
	char got[64];

	pair_must(pair_status_str(node, "role", got, sizeof(got)));
	if (strcmp(got, role))
		fail_msg("the daemon of %s is a %s, expected a %s", node, got,
			 role);
	if (state) {
		pair_must(pair_status_str(node, "state", got, sizeof(got)));
		if (strcmp(got, state))
			fail_msg("the %s of %s is in state %s, expected %s",
				 role, node, got, state);
	}
}

static void expect_role(const char *role, const char *state)
{
	expect_role_of("sec", role, state);
}

/* --- the agent as a file -------------------------------------------------- */

/* POSIX sh, shellcheck clean where shellcheck is installed, mode 755. */
static void test_agent_is_posix_sh(void **state)
{
	(void)state;
	if (access(agent_path, X_OK))
		fail_msg("%s is not executable (it must be mode 755)", agent_path);
	if (pair_run("sh -n %s", agent_path))
		fail_msg("sh -n %s:\n%s", agent_path, pair_out);
	if (pair_run("command -v shellcheck >/dev/null") == 0 &&
	    pair_run("shellcheck -s sh %s", agent_path))
		fail_msg("shellcheck -s sh %s:\n%s", agent_path, pair_out);
}

/* meta-data: well-formed, valid against the DTD ocf-tester uses and
 * against resource-agents' metadata.rng; OCF 1.1; the actions and roles
 * Pacemaker needs for a promotable clone. */
static void test_meta_data(void **state)
{
	static const char *const needles[] = {
		"<resource-agent name=\"colo\" version=\"1.1\">",
		"<version>1.1</version>",
		"<parameter name=\"config\" unique=\"1\" required=\"1\">",
		"<parameter name=\"coloctl\"",
		"interval=\"9s\" role=\"Promoted\"",
		"interval=\"10s\" role=\"Unpromoted\"",
		"<action name=\"start\"", "<action name=\"stop\"",
		"<action name=\"promote\"", "<action name=\"demote\"",
		"<action name=\"notify\"", "<action name=\"reload\"",
		"<action name=\"meta-data\"", "<action name=\"validate-all\"",
	};

	(void)state;
	expect_action("", "meta-data", OCF_SUCCESS);
	for (size_t i = 0; i < sizeof(needles) / sizeof(needles[0]); i++)
		pair_must(pair_expect(needles[i]));
	/* no environment at all, as crm_resource --show-metadata runs it */
	if (pair_run("env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin %s meta-data "
		     "| xmllint --noout -", agent_path))
		fail_msg("meta-data is not well-formed XML:\n%s", pair_out);
	if (pair_run("cd " RA_DATADIR " && %s meta-data | xmllint --noout "
		     "--valid -", agent_path))
		fail_msg("meta-data does not conform to " RA_DATADIR
			 "/ra-api-1.dtd:\n%s", pair_out);
	if (access(RA_DATADIR "/metadata.rng", R_OK) == 0 &&
	    pair_run("cd " RA_DATADIR " && %s meta-data | xmllint --noout "
		     "--relaxng metadata.rng -", agent_path))
		fail_msg("meta-data does not conform to " RA_DATADIR
			 "/metadata.rng:\n%s", pair_out);
}

/* --- ocf-tester ------------------------------------------------------------ */

/*
 * Debian's ocf-tester: meta-data (also as nobody), validate-all, probes,
 * start, monitor, notify, promote and demote twice over, stop, starting a
 * started and stopping a stopped resource, reload. Every step must pass.
 */
static void test_ocf_tester(void **state)
{
	int rc;

	(void)state;
	if (access(OCF_TESTER, X_OK))
		fail_msg("no " OCF_TESTER ": install resource-agents "
			 "(mk/deps.sh does, as root)");
	/* without -v it prints each failed step ("* rc=N: what") and, for
	 * a step it cannot go on after, what the agent printed */
	rc = pair_run("HA_RSCTMP=$D/rsctmp " OCF_TESTER " -n colo "
		      "-o config=$D/sec -o coloctl=$C %s", agent_path);
	if (rc != 0 || !strstr(pair_out, " passed all tests") ||
	    strstr(pair_out, "* rc=") || strstr(pair_out, "Tests failed")) {
		fprintf(stderr, "ocf-tester exited with %d; its output:\n%s\n",
			rc, pair_out);
		pair_run("echo '-- the end of $D/sec.log:'; tail -n 20 $D/sec.log");
		fprintf(stderr, "%s\n", pair_out);
		fail_msg("ocf-tester failed");
	}
	/* it stopped what it started */
	if (pair_run("$C -c $D/sec status") != 2)
		fail_msg("a daemon still runs after ocf-tester:\n%s", pair_out);
}

/* --- every action by hand ----------------------------------------------------- */

/*
 * The life of an instance: not running, started as the secondary,
 * promoted (no copy anywhere: a fresh primary), demoted back to a
 * secondary, stopped.
 */
static void test_actions(void **state)
{
	(void)state;
	expect_action("", "validate-all", OCF_SUCCESS);
	expect_action("", "monitor", OCF_NOT_RUNNING);
	expect_action("OCF_RESKEY_CRM_meta_interval=0", "monitor", OCF_NOT_RUNNING);

	expect_action("", "start", OCF_SUCCESS);
	track_node("sec");
	expect_role("secondary", "waiting");
	expect_action("", "monitor", OCF_SUCCESS);
	expect_action("", "start", OCF_SUCCESS);	/* already running */

	expect_action("", "promote", OCF_SUCCESS);
	track_node("sec");
	expect_role("primary", NULL);
	expect_action("", "monitor", OCF_RUNNING_PROMOTED);
	expect_action("OCF_RESKEY_CRM_meta_interval=0", "monitor",
		      OCF_RUNNING_PROMOTED);	/* a probe says the same */
	expect_action("", "promote", OCF_SUCCESS);	/* already the primary */

	expect_action("", "demote", OCF_SUCCESS);
	track_node("sec");
	expect_role("secondary", "waiting");
	expect_action("", "monitor", OCF_SUCCESS);
	expect_action("", "demote", OCF_SUCCESS);	/* already a secondary */

	expect_action("OCF_RESKEY_CRM_meta_notify_type=post "
		      "OCF_RESKEY_CRM_meta_notify_operation=start", "notify",
		      OCF_SUCCESS);
	expect_action("", "reload", OCF_SUCCESS);

	expect_action("", "stop", OCF_SUCCESS);
	if (pair_run("$C -c $D/sec status") != 2)
		fail_msg("a daemon still answers after stop:\n%s", pair_out);
	expect_action("", "monitor", OCF_NOT_RUNNING);
	expect_action("", "stop", OCF_SUCCESS);	/* stopping a stopped one */
	expect_action("", "migrate_to", OCF_ERR_UNIMPLEMENTED);
}

/* fresh_start=false: a secondary without a copy is not promoted. */
static void test_no_fresh_start(void **state)
{
	(void)state;
	expect_action("", "start", OCF_SUCCESS);
	track_node("sec");
	expect_action("OCF_RESKEY_fresh_start=false", "promote", OCF_ERR_GENERIC);
	pair_must(pair_expect("fresh_start is false"));
	expect_role("secondary", "waiting");
	expect_action("", "stop", OCF_SUCCESS);
}

/*
 * validate-all, and start, refuse what cannot work, each with the code
 * Pacemaker's recovery needs: the parameter missing is wrong on every
 * node (fatal); coloctl or colo.conf missing here, or a colo.conf that
 * coloctl refuses, is this node's problem (hard: the other node's
 * instance goes on). A probe where colo.conf is missing says not running.
 */
static void test_validate(void **state)
{
	(void)state;
	expect_action("OCF_RESKEY_config=", "validate-all", OCF_ERR_CONFIGURED);
	pair_must(pair_expect("the config parameter is not set"));
	expect_action("OCF_RESKEY_config=colo.conf", "validate-all",
		      OCF_ERR_CONFIGURED);
	pair_must(pair_expect("is not an absolute path"));

	expect_action("OCF_RESKEY_config=$D/missing.conf", "validate-all",
		      OCF_ERR_INSTALLED);
	pair_must(pair_expect("cannot read"));
	expect_action("OCF_RESKEY_config=$D/missing.conf", "start",
		      OCF_ERR_INSTALLED);
	expect_action("OCF_RESKEY_config=$D/missing.conf "
		      "OCF_RESKEY_CRM_meta_interval=0", "monitor", OCF_NOT_RUNNING);
	expect_action("OCF_RESKEY_config=$D/missing.conf", "stop", OCF_SUCCESS);

	assert_int_equal(pair_run("printf '[control]\\nsocket = %%s\\n[ram]\\n"
				  "bogus = 1\\n' $D/bad.sock > $D/bad.conf"), 0);
	expect_action("OCF_RESKEY_config=$D/bad.conf", "validate-all",
		      OCF_ERR_ARGS);
	pair_must(pair_expect("unknown key 'bogus' in [ram]"));
	expect_action("OCF_RESKEY_config=$D/bad.conf", "start", OCF_ERR_ARGS);

	expect_action("OCF_RESKEY_coloctl=$D/no-coloctl", "validate-all",
		      OCF_ERR_INSTALLED);
	pair_must(pair_expect("no coloctl program at"));
	expect_action("OCF_RESKEY_coloctl=$D/no-coloctl", "start",
		      OCF_ERR_INSTALLED);
	expect_action("OCF_RESKEY_coloctl=$D/no-coloctl "
		      "OCF_RESKEY_CRM_meta_interval=0", "monitor", OCF_NOT_RUNNING);
	expect_action("", "validate-all", OCF_SUCCESS);
}

/*
 * A daemon that hangs (SIGSTOP): monitor says it failed, not that it is
 * not running (its pid still runs); stop ends it by pid within the
 * action's timeout, its guest too.
 */
static void test_hung_daemon(void **state)
{
	double pid, guest;
	int64_t t0, ms;

	(void)state;
	expect_action("", "start", OCF_SUCCESS);
	track_node("sec");
	pid = pair_status_num("sec", "pid");
	guest = pair_status_num("sec", "guest_pid");
	assert_true(pid > 0 && guest > 0);
	pair_must(pair_sigstop((pid_t)pid));
	expect_action("", "monitor", OCF_ERR_GENERIC);
	pair_must(pair_expect("does not answer on its control socket"));
	t0 = pair_now_ms();
	expect_action("OCF_RESKEY_CRM_meta_timeout=10000", "stop", OCF_SUCCESS);
	ms = pair_now_ms() - t0;
	print_message("stop of a hung daemon took %lld ms (timeout 10000)\n",
		      (long long)ms);
	assert_true(ms < 10000);
	assert_false(pair_alive((pid_t)pid));
	assert_false(pair_alive((pid_t)guest));
	expect_action("", "monitor", OCF_NOT_RUNNING);
}

/* --- two instances, as on two nodes ------------------------------------------ */

/*
 * What Pacemaker adds for an instance of a promotable clone, with
 * crm_attribute replaced by a script that logs its arguments to
 * $D/scores ("INSTANCE ARGS" lines): the agent sets promotion scores only
 * inside such a clone.
 */
#define CLONE_ENV "OCF_RESKEY_CRM_meta_clone_max=2 " \
	"OCF_RESKEY_CRM_meta_clone_node_max=1 " \
	"OCF_RESKEY_CRM_meta_promotable=true " \
	"OCF_RESKEY_CRM_meta_promoted_max=1 OCF_RESKEY_CRM_meta_master_max=1 " \
	"OCF_RESKEY_crm_feature_set=3.16.2 HA_SBIN_DIR=$D/sbin"

/* The agent on node "pri" (instance colo:0) or "sec" (colo:1), each with
 * its colo.conf, in the clone's environment and env. */
static int agent_on(const char *node, const char *env, const char *action)
{
	return pair_run("env OCF_ROOT=" OCF_ROOT " OCF_RESOURCE_INSTANCE=colo:%d "
			"OCF_RESKEY_config=$D/%s OCF_RESKEY_coloctl=$C "
			"HA_RSCTMP=$D/rsctmp " CLONE_ENV " %s %s %s",
			strcmp(node, "pri") ? 1 : 0, node, env, agent_path, action);
}

#define expect_on(node, env, action, want) do {				\
	int rc_ = agent_on(node, env, action);				\
	if (rc_ != (want))						\
		fail_msg("ha/colo %s on %s (%s) returned %d, expected %d:\n%s", \
			 action, node, env, rc_, want, pair_out);	\
} while (0)

/* The last promotion score call for instance colo:N was args. */
static void expect_score(int instance, const char *args)
{
	char want[128];

	snprintf(want, sizeof(want), "colo:%d %s", instance, args);
	pair_run("grep '^colo:%d ' $D/scores | tail -n 1", instance);
	pair_out[strcspn(pair_out, "\n")] = '\0';
	if (strcmp(pair_out, want))
		fail_msg("the last promotion score of colo:%d is '%s', expected "
			 "'%s'", instance, pair_out, want);
}

/* Wait up to 20 s for node's secondary to hold a live copy. */
static void wait_copy(const char *node)
{
	int64_t end = pair_now_ms() + 20000;

	while (pair_protecting(node)) {
		if (pair_now_ms() > end)
			fail_msg("%s", pair_why);
		pair_sleep_ms(100);
	}
}

/* pri listens on one port and names sec's as its peer, and sec the
 * other way round: each can be either role. */
static int setup_two(void **state)
{
	char lines[128];
	int p0, p1;
	struct pair_role r = { .conf = "[ram]\ndirty_log = auto\n" };

	pair_setup(state);
	p0 = pair_free_port();
	p1 = pair_free_port();
	while (p1 == p0 && p0 > 0)
		p1 = pair_free_port();
	if (p0 < 0 || p1 < 0)
		return -1;
	snprintf(lines, sizeof(lines), "listen = 127.0.0.1:%d\npeer = "
		 "127.0.0.1:%d\ncheckpoint_delay_ms = 50", p0, p1);
	if (pair_write_conf("pri", lines, GUEST_ARGS, &r))
		return -1;
	snprintf(lines, sizeof(lines), "listen = 127.0.0.1:%d\npeer = "
		 "127.0.0.1:%d\ncheckpoint_delay_ms = 50", p1, p0);
	if (pair_write_conf("sec", lines, GUEST_ARGS, &r))
		return -1;
	return pair_run("mkdir -p $D/rsctmp $D/sbin && "
			"printf '#!/bin/sh\\necho \"$OCF_RESOURCE_INSTANCE $*\" "
			">> %s/scores\\n' > $D/sbin/crm_attribute && "
			"chmod 755 $D/sbin/crm_attribute", pair_dir);
}

static int teardown_two(void **state)
{
	track_node("pri");
	track_node("sec");
	return pair_teardown(state);
}

/*
 * Two instances as Pacemaker drives them: both start as secondaries
 * without a copy (a token score each); one is promoted to a fresh
 * primary and the other gets its copy (a high score, the primary the
 * highest). A switchover: demote leaves the other node's secondary its
 * copy (peer-lost), promote takes over from it with the same guest
 * process, the post-promote notification re-protects the new primary
 * with the demoted node's new secondary. Then a failover: the primary's
 * node dies (its daemon and guest killed, as fencing would), and the
 * other node's promote takes over from its copy; the node comes back
 * and is protected again on post-start. Last, a primary stopped without
 * a demote leaves the other node's secondary its copy (peer-lost).
 */
static void test_two_nodes(void **state)
{
	double guest, pid;

	(void)state;
	if (pair_run("$C failover --help >/dev/null 2>&1"))
		skip();			/* a coloctl without failover */
	expect_on("pri", "", "start", OCF_SUCCESS);
	expect_on("sec", "", "start", OCF_SUCCESS);
	track_node("pri");
	track_node("sec");
	expect_score(0, "-p -v 1");
	expect_score(1, "-p -v 1");

	/* nobody holds a copy: a fresh primary */
	expect_on("pri", "", "promote", OCF_SUCCESS);
	track_node("pri");
	expect_score(0, "-p -v 1000");
	wait_copy("sec");
	expect_on("sec", "", "monitor", OCF_SUCCESS);
	expect_score(1, "-p -v 100");
	expect_on("pri", "", "monitor", OCF_RUNNING_PROMOTED);

	/* switchover: demote pri, promote sec from its copy */
	guest = pair_status_num("sec", "guest_pid");
	expect_on("pri", "", "demote", OCF_SUCCESS);
	track_node("pri");
	expect_role_of("pri", "secondary", "waiting");
	pair_must(pair_wait_state("sec", "peer-lost", 5000));
	expect_on("sec", "", "monitor", OCF_SUCCESS);
	expect_score(1, "-p -v 50");
	expect_on("sec", "", "promote", OCF_SUCCESS);
	expect_role_of("sec", "primary", "solo");
	if (pair_status_num("sec", "guest_pid") != guest)
		fail_msg("the new primary runs another guest than its copy "
			 "(%.0f, was %.0f)", pair_status_num("sec", "guest_pid"),
			 guest);
	expect_on("sec", "", "monitor", OCF_RUNNING_PROMOTED);
	expect_score(1, "-p -v 1000");
	expect_on("sec", "OCF_RESKEY_CRM_meta_notify_type=post "
		  "OCF_RESKEY_CRM_meta_notify_operation=promote "
		  "OCF_RESKEY_CRM_meta_notify_promote_uname=node-b", "notify",
		  OCF_SUCCESS);
	pair_must(pair_expect("coloctl protect"));
	wait_copy("pri");
	expect_on("pri", "", "monitor", OCF_SUCCESS);
	expect_score(0, "-p -v 100");

	/* failover: sec's node dies; pri takes over from its copy */
	guest = pair_status_num("pri", "guest_pid");
	pid = pair_status_num("sec", "pid");
	assert_true(pid > 0);
	if (pair_run("kill -9 %.0f %.0f", pid, pair_status_num("sec", "guest_pid")))
		fail_msg("kill: %s", pair_out);
	pair_must(pair_wait_state("pri", "peer-lost", 5000));
	expect_on("sec", "", "monitor", OCF_NOT_RUNNING);
	expect_on("pri", "", "promote", OCF_SUCCESS);
	expect_role_of("pri", "primary", "solo");
	assert_true(pair_status_num("pri", "guest_pid") == guest);
	expect_on("pri", "", "monitor", OCF_RUNNING_PROMOTED);

	/* the fenced node comes back: a secondary, protected on post-start */
	expect_on("sec", "", "monitor", OCF_NOT_RUNNING);
	expect_on("sec", "", "start", OCF_SUCCESS);
	track_node("sec");
	expect_on("pri", "OCF_RESKEY_CRM_meta_notify_type=post "
		  "OCF_RESKEY_CRM_meta_notify_operation=start", "notify",
		  OCF_SUCCESS);
	wait_copy("sec");

	/* a primary stopped (not demoted) still leaves the copy alone */
	expect_on("pri", "", "stop", OCF_SUCCESS);
	expect_score(0, "-p -D");
	pair_must(pair_wait_state("sec", "peer-lost", 5000));
	expect_on("pri", "", "monitor", OCF_NOT_RUNNING);
	expect_on("sec", "", "stop", OCF_SUCCESS);
	expect_score(1, "-p -D");
	expect_on("sec", "", "monitor", OCF_NOT_RUNNING);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_agent_is_posix_sh, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_meta_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ocf_tester, setup, teardown),
		cmocka_unit_test_setup_teardown(test_actions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_fresh_start, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_validate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hung_daemon, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_nodes, setup_two,
						teardown_two),
	};

	if (pair_init("ocf"))
		return 1;
	/* ha/colo of the tree make check runs in (the repository root) */
	if (!realpath("ha/colo", agent_path)) {
		fprintf(stderr, "no ha/colo here: run from the source tree "
			"(make check does)\n");
		return 1;
	}
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("ocf_agent", tests, NULL, NULL);
}
