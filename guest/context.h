/*
 * context.h - the register context a guest is stopped and resumed with.
 *
 * glibc's setjmp/longjmp cannot move a context between processes: they
 * mangle the saved pointers with a per-process guard. These save the
 * callee-saved registers, stack pointer, return address, MXCSR and the
 * x87 environment (control word, status word and the rest) as they are,
 * into a struct that lives in guest memory, so a checkpoint carries it to
 * the other guest with everything else. The x87 data registers are not
 * saved: the ABI has the x87 stack empty at every call.
 */
#ifndef COLO_GUEST_CONTEXT_H
#define COLO_GUEST_CONTEXT_H

#include <stddef.h>
#include <stdint.h>

/* The 28-byte x87 environment as fnstenv stores it in 64-bit mode (its
 * 32-bit protected-mode layout; Intel SDM vol. 1, 8.1.10). */
struct colo_x87_env {
	uint16_t fcw;		/* control word: exception masks, precision, rounding */
	uint16_t pad0;		/* reserved */
	uint16_t fsw;		/* status word: exception flags, condition codes, TOP */
	uint16_t pad1;		/* reserved */
	uint16_t ftw;		/* tag word: all empty (0xffff) at a call */
	uint16_t pad2;		/* reserved */
	uint32_t fip;		/* last x87 instruction pointer (offset) */
	uint16_t fcs;		/* its code segment */
	uint16_t fop;		/* its opcode (11 bits) */
	uint32_t fdp;		/* last x87 operand pointer (offset) */
	uint16_t fds;		/* its data segment */
	uint16_t pad3;		/* reserved */
};

/* Offsets are context.S's: keep both in step (checked below). */
struct colo_context {
	uint64_t rbx;		/*  0 */
	uint64_t rbp;		/*  8 */
	uint64_t r12;		/* 16 */
	uint64_t r13;		/* 24 */
	uint64_t r14;		/* 32 */
	uint64_t r15;		/* 40 */
	uint64_t rsp;		/* 48: stack pointer after colo_context_save returns */
	uint64_t rip;		/* 56: where colo_context_save returns to */
	uint32_t mxcsr;		/* 64: SSE control and status */
	struct colo_x87_env x87;	/* 68: x87 control, status and tag words */
};

_Static_assert(offsetof(struct colo_context, rsp) == 48, "context.S: rsp at 48");
_Static_assert(offsetof(struct colo_context, mxcsr) == 64, "context.S: mxcsr at 64");
_Static_assert(offsetof(struct colo_context, x87) == 68, "context.S: x87 env at 68");
_Static_assert(sizeof(struct colo_x87_env) == 28, "fnstenv stores 28 bytes");

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
