/*
 * shell.c - run a shell line and keep what it printed.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "shell.h"

int shell_runv(char *out, size_t len, const char *prelude, const char *fmt,
	       va_list ap)
{
	char cmd[4096], line[1024];
	FILE *f;
	int n, status;
	bool cut = false;

	n = snprintf(cmd, sizeof(cmd), "{ %s", prelude ? prelude : "");
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return -1;
	vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
	strncat(cmd, "; } 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	if (len)
		out[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		size_t have = len ? strlen(out) : 0;

		if (len && have + strlen(line) >= len && !cut) {
			fprintf(stderr, "shell: output of '%.80s' is longer than "
				"its %zu-byte buffer: the rest is dropped\n",
				cmd, len);
			cut = true;
		}
		if (len)
			strncat(out, line, len - have - 1);
	}
	status = pclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int shell_run(char *out, size_t len, const char *prelude, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = shell_runv(out, len, prelude, fmt, ap);
	va_end(ap);
	return ret;
}
