/*
 * test_includes.c - the folders' dependency rule is enforced: the tree
 * keeps it, and a forbidden include is named (mk/check-includes.sh,
 * which make check runs before the tests).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "shell.h"

static char out[8192], root[64];

static int run(const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = shell_runv(out, sizeof(out), "", fmt, ap);
	va_end(ap);
	assert_true(ret >= 0);
	return ret;
}

static void expect(const char *needle)
{
	if (!strstr(out, needle))
		fail_msg("output lacks '%s':\n%s", needle, out);
}

static void put(const char *path, const char *text)
{
	char full[256];
	FILE *f;

	snprintf(full, sizeof(full), "%s/%s", root, path);
	f = fopen(full, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_tree_keeps_the_rule(void **state)
{
	(void)state;
	if (run("mk/check-includes.sh ."))
		fail_msg("the tree breaks the dependency rule:\n%s", out);
}

/* A pipeline file that reaches up into daemon/, and a guest that reaches
 * into vmm/ beyond its contract: both named, with the rule. */
static void test_forbidden_include_named(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/colo-includes-%d", (int)getpid());
	assert_int_equal(run("rm -rf %s && mkdir -p %s/checkpoint %s/vmm "
			     "%s/daemon %s/guest %s/primary", root, root, root,
			     root, root, root), 0);
	put("daemon/config.h", "\n");
	put("vmm/layout.h", "\n");
	put("vmm/guest_abi.h", "\n");
	put("checkpoint/ram_save.c", "#include <stdio.h>\n#include \"config.h\"\n");
	put("guest/runtime.c", "#include \"guest_abi.h\"\n#include \"layout.h\"\n");
	put("primary/primary.c", "#include \"config.h\"\n#include \"layout.h\"\n");
	assert_int_equal(run("mk/check-includes.sh %s", root), 1);
	expect("checkpoint/ram_save.c includes daemon/config.h; checkpoint/ "
	       "may include only: nothing of ours");
	expect("guest/runtime.c includes vmm/layout.h");
	if (strstr(out, "primary/primary.c"))
		fail_msg("primary/ may include daemon/ and vmm/:\n%s", out);
	if (strstr(out, "guest_abi.h;"))
		fail_msg("the guest may include guest_abi.h:\n%s", out);
	run("rm -rf %s", root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree_keeps_the_rule),
		cmocka_unit_test(test_forbidden_include_named),
	};

	return cmocka_run_group_tests_name("includes", tests, NULL, NULL);
}
