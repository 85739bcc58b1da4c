/*
 * raw_syscall.h - system calls without libc, for the pause path.
 *
 * While a guest is paused its memory is being overwritten with another
 * guest's: libc's state (errno in TLS, stdio, malloc) may change under the
 * command loop at any moment. So the loop makes system calls directly and
 * gets -errno back in the return value.
 */
#ifndef COLO_GUEST_RAW_SYSCALL_H
#define COLO_GUEST_RAW_SYSCALL_H

static inline long raw_syscall6(long n, long a1, long a2, long a3, long a4,
				long a5, long a6)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8),
			   "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

#define raw_syscall3(n, a, b, c)	raw_syscall6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)

#endif /* COLO_GUEST_RAW_SYSCALL_H */
