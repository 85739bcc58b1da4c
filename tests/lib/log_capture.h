/*
 * log_capture.h - keep what the code under test says at warning level
 * and above, to check that a refusal or a fault is told, and how.
 */
#ifndef COLO_TESTS_LOG_CAPTURE_H
#define COLO_TESTS_LOG_CAPTURE_H

/* Forget what was kept and keep warnings and errors from now on (one
 * line each, up to a few KiB; later lines are dropped). */
void log_capture_start(void);

/* What was kept since log_capture_start(), "" if nothing. */
const char *log_captured(void);

/* Keep nothing more (the log hook is removed). */
void log_capture_stop(void);

#endif /* COLO_TESTS_LOG_CAPTURE_H */
