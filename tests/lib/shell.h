/*
 * shell.h - run a shell line and keep what it printed, for tests and
 * benchmarks that drive coloctl as an operator would.
 */
#ifndef COLO_TESTS_SHELL_H
#define COLO_TESTS_SHELL_H

#include <stdarg.h>
#include <stddef.h>

/*
 * Run "{ PRELUDE LINE; } 2>&1" with /bin/sh, LINE made from fmt; its
 * output (both streams) goes into out, cut at len - 1 bytes. Returns the
 * exit status, or -1 if it could not run or did not exit.
 */
int shell_run(char *out, size_t len, const char *prelude, const char *fmt,
	      ...) __attribute__((format(printf, 4, 5)));
int shell_runv(char *out, size_t len, const char *prelude, const char *fmt,
	       va_list ap);

#endif /* COLO_TESTS_SHELL_H */
