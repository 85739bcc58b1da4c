/*
 * context.h - the register context a guest is stopped and resumed with.
 *
 * glibc's setjmp/longjmp cannot move a context between processes: they
 * mangle the saved pointers with a per-process guard. These save the
 * callee-saved registers, stack pointer, return address, MXCSR and the x87
 * control word as they are, into a struct that lives in guest memory, so a
 * checkpoint carries it to the other guest with everything else.
 */
#ifndef COLO_GUEST_CONTEXT_H
#define COLO_GUEST_CONTEXT_H

#include <stdint.h>

struct colo_context {
	uint64_t rbx, rbp, r12, r13, r14, r15;
	uint64_t rsp;		/* stack pointer after colo_context_save returns */
	uint64_t rip;		/* where colo_context_save returns to */
	uint32_t mxcsr;
	uint16_t fpucw;
	uint16_t pad;
};

/* 0 when the context was saved; 1 when colo_context_restore() resumed it
 * (possibly in another process that holds a copy of this memory). */
int colo_context_save(struct colo_context *ctx) __attribute__((returns_twice));

/* Resume ctx: colo_context_save() returns 1 there. */
void colo_context_restore(const struct colo_context *ctx)
	__attribute__((noreturn));

/* Switch to the stack ending at stack_top and call fn, which must never
 * return. */
void colo_call_on_stack(void *stack_top, void (*fn)(void))
	__attribute__((noreturn));

#endif /* COLO_GUEST_CONTEXT_H */
