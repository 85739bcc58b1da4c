/*
 * test_context.c - the guest's context switch (guest/context.S) keeps
 * every register a resumed guest relies on.
 *
 * A probe written in assembly loads known values into the callee-saved
 * registers, MXCSR and the x87 control and status words, saves the
 * context, clobbers all of them (and moves the stack pointer), restores
 * the context and writes down what it finds. Each register must come
 * back; the values are chosen so that a context switch that skipped any
 * one of them shows it.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "context.h"

/* What the probe loads, or finds; offsets are the probe's (checked). */
struct regs {
	uint64_t rbx, rbp, r12, r13, r14, r15;	/* callee-saved */
	uint64_t rsp;			/* found: stack pointer */
	uint32_t mxcsr;			/* SSE control and status */
	uint16_t fcw;			/* x87 control word */
	uint16_t fsw;			/* x87 status word */
};

struct probe {
	struct regs in;			/* loaded before colo_context_save */
	struct regs clobber;		/* loaded before colo_context_restore */
	struct regs after_save;		/* found when save first returns */
	struct regs out;		/* found when the restore resumes */
	struct colo_x87_env env_in;	/* x87 environment with in's words */
	struct colo_x87_env env_clobber; /* and with clobber's */
	uint64_t rsp_before;		/* stack pointer at the save */
	uint32_t saves;			/* times save returned 0 */
	uint32_t ret;			/* what save returned the second time */
	struct colo_context ctx;	/* the saved context */
};

#define R_MXCSR		56
#define R_FCW		60
#define R_FSW		62
#define P_IN		0
#define P_CLOBBER	64
#define P_AFTER		128
#define P_OUT		192
#define P_ENV_IN	256
#define P_ENV_CLOBBER	284
#define P_RSP_BEFORE	312
#define P_SAVES		320
#define P_RET		324
#define P_CTX		328

_Static_assert(offsetof(struct regs, mxcsr) == R_MXCSR, "R_MXCSR");
_Static_assert(offsetof(struct regs, fcw) == R_FCW, "R_FCW");
_Static_assert(offsetof(struct regs, fsw) == R_FSW, "R_FSW");
_Static_assert(sizeof(struct regs) == 64, "struct regs");
_Static_assert(offsetof(struct probe, clobber) == P_CLOBBER, "P_CLOBBER");
_Static_assert(offsetof(struct probe, after_save) == P_AFTER, "P_AFTER");
_Static_assert(offsetof(struct probe, out) == P_OUT, "P_OUT");
_Static_assert(offsetof(struct probe, env_in) == P_ENV_IN, "P_ENV_IN");
_Static_assert(offsetof(struct probe, env_clobber) == P_ENV_CLOBBER, "P_ENV_CLOBBER");
_Static_assert(offsetof(struct probe, rsp_before) == P_RSP_BEFORE, "P_RSP_BEFORE");
_Static_assert(offsetof(struct probe, saves) == P_SAVES, "P_SAVES");
_Static_assert(offsetof(struct probe, ret) == P_RET, "P_RET");
_Static_assert(offsetof(struct probe, ctx) == P_CTX, "P_CTX");

#define S(x)	#x
#define STR(x)	S(x)

/* Store the registers of struct regs at off(%rdi). */
#define STORE_REGS(off) \
	"movq %rbx, " STR(off) "+0(%rdi)\n\t" \
	"movq %rbp, " STR(off) "+8(%rdi)\n\t" \
	"movq %r12, " STR(off) "+16(%rdi)\n\t" \
	"movq %r13, " STR(off) "+24(%rdi)\n\t" \
	"movq %r14, " STR(off) "+32(%rdi)\n\t" \
	"movq %r15, " STR(off) "+40(%rdi)\n\t" \
	"movq %rsp, " STR(off) "+48(%rdi)\n\t" \
	"stmxcsr " STR(off) "+" STR(R_MXCSR) "(%rdi)\n\t" \
	"fnstcw " STR(off) "+" STR(R_FCW) "(%rdi)\n\t" \
	"fnstsw " STR(off) "+" STR(R_FSW) "(%rdi)\n\t"

/* Load the callee-saved registers, MXCSR and x87 environment. */
#define LOAD_REGS(off, env) \
	"movq " STR(off) "+0(%rdi), %rbx\n\t" \
	"movq " STR(off) "+8(%rdi), %rbp\n\t" \
	"movq " STR(off) "+16(%rdi), %r12\n\t" \
	"movq " STR(off) "+24(%rdi), %r13\n\t" \
	"movq " STR(off) "+32(%rdi), %r14\n\t" \
	"movq " STR(off) "+40(%rdi), %r15\n\t" \
	"ldmxcsr " STR(off) "+" STR(R_MXCSR) "(%rdi)\n\t" \
	"fldenv " STR(env) "(%rdi)\n\t"

/*
 * void ctx_probe(struct probe *p): the caller's callee-saved registers,
 * MXCSR and x87 environment are kept on the stack and put back at the
 * end, so the C around it never sees the test values.
 */
void ctx_probe(struct probe *p);
__asm__(
	".pushsection .bss\n\t"
	".balign 8\n"
	"ctx_probe_cur:\n\t"		/* p, while the registers are in use */
	".zero 8\n\t"
	".popsection\n\t"
	".pushsection .text\n\t"
	".globl ctx_probe\n\t"
	".hidden ctx_probe\n\t"
	".type ctx_probe, @function\n"
	"ctx_probe:\n\t"
	"pushq %rbx\n\t"
	"pushq %rbp\n\t"
	"pushq %r12\n\t"
	"pushq %r13\n\t"
	"pushq %r14\n\t"
	"pushq %r15\n\t"
	"subq $40, %rsp\n\t"		/* caller's MXCSR at 0, x87 env at 4 */
	"stmxcsr 0(%rsp)\n\t"
	"fnstenv 4(%rsp)\n\t"
	"fldenv 4(%rsp)\n\t"
	"movq %rdi, ctx_probe_cur(%rip)\n\t"
	LOAD_REGS(P_IN, P_ENV_IN)
	"movq %rsp, " STR(P_RSP_BEFORE) "(%rdi)\n\t"
	"leaq " STR(P_CTX) "(%rdi), %rdi\n\t"
	"call colo_context_save\n\t"
	"movq ctx_probe_cur(%rip), %rdi\n\t"
	"testl %eax, %eax\n\t"
	"jnz 1f\n\t"
	/* saved: note what save left, clobber everything, restore */
	STORE_REGS(P_AFTER)
	"incl " STR(P_SAVES) "(%rdi)\n\t"
	LOAD_REGS(P_CLOBBER, P_ENV_CLOBBER)
	"subq $512, %rsp\n\t"		/* the restore must put rsp back */
	"leaq " STR(P_CTX) "(%rdi), %rdi\n\t"
	"call colo_context_restore\n\t"
	"ud2\n"
	"1:\n\t"
	/* resumed: note what came back, then the caller's state again */
	STORE_REGS(P_OUT)
	"movl %eax, " STR(P_RET) "(%rdi)\n\t"
	"ldmxcsr 0(%rsp)\n\t"
	"fldenv 4(%rsp)\n\t"
	"addq $40, %rsp\n\t"
	"popq %r15\n\t"
	"popq %r14\n\t"
	"popq %r13\n\t"
	"popq %r12\n\t"
	"popq %rbp\n\t"
	"popq %rbx\n\t"
	"ret\n\t"
	".size ctx_probe, .-ctx_probe\n\t"
	".popsection\n");

/* The current x87 environment with control word fcw and status word fsw. */
static void x87_env(struct colo_x87_env *env, uint16_t fcw, uint16_t fsw)
{
	__asm__ volatile("fnstenv %0\n\tfldenv %0" : "+m"(*env));
	env->fcw = fcw;
	env->fsw = fsw;
}

static struct probe probe;

/*
 * Values no register holds by chance, and that differ from their clobbers
 * in every field: MXCSR rounding toward zero with the PE and ZE flags
 * set; x87 rounding toward zero, 64-bit precision, the invalid-operation
 * exception unmasked (so a save that leaves fnstenv's masking in place
 * shows too); x87 status with C0, C2, C3, PE and ZE set (masked, nothing
 * pending). The clobbers leave nothing pending under either control word
 * either, so a restore that mixes the two fails on a value, not a SIGFPE.
 */
static void run_probe(void)
{
	const struct regs in = {
		.rbx = 0x0123456789abcdefull, .rbp = 0x1122334455667788ull,
		.r12 = 0xa5a5a5a5a5a5a5a5ull, .r13 = 0x5a5a5a5a5a5a5a5aull,
		.r14 = 0xdeadbeefcafef00dull, .r15 = 0x0f1e2d3c4b5a6978ull,
		.mxcsr = 0x7fa4, .fcw = 0x0f7e, .fsw = 0x4524,
	};
	const struct regs clobber = {
		.rbx = ~in.rbx, .rbp = ~in.rbp, .r12 = ~in.r12, .r13 = ~in.r13,
		.r14 = ~in.r14, .r15 = ~in.r15,
		.mxcsr = 0x3f80, .fcw = 0x027f, .fsw = 0x0210,
	};

	memset(&probe, 0, sizeof(probe));
	memset(&probe.ctx, 0xcc, sizeof(probe.ctx));	/* nothing saved yet */
	probe.in = in;
	probe.clobber = clobber;
	x87_env(&probe.env_in, in.fcw, in.fsw);
	x87_env(&probe.env_clobber, clobber.fcw, clobber.fsw);
	ctx_probe(&probe);
}

#define CHECK_REG(field, fmt) do { \
	if (probe.out.field != probe.in.field) \
		fail_msg("%s: expected " fmt " after the restore, found " fmt \
			 " (the clobber was " fmt ")", #field, probe.in.field, \
			 probe.out.field, probe.clobber.field); \
} while (0)

/* Every register comes back, and the save really happened once. */
static void test_restore_brings_back_every_register(void **state)
{
	(void)state;
	run_probe();
	assert_int_equal(probe.saves, 1);
	assert_int_equal(probe.ret, 1);
	CHECK_REG(rbx, "%#" PRIx64);
	CHECK_REG(rbp, "%#" PRIx64);
	CHECK_REG(r12, "%#" PRIx64);
	CHECK_REG(r13, "%#" PRIx64);
	CHECK_REG(r14, "%#" PRIx64);
	CHECK_REG(r15, "%#" PRIx64);
	CHECK_REG(mxcsr, "%#x");
	CHECK_REG(fcw, "%#x");
	CHECK_REG(fsw, "%#x");
	if (probe.out.rsp != probe.rsp_before)
		fail_msg("rsp: expected %#" PRIx64 " after the restore, found %#"
			 PRIx64,
			 probe.rsp_before, probe.out.rsp);
}

/* What the context holds is what the registers held at the save. */
static void test_save_stores_every_register(void **state)
{
	const struct colo_context *c = &probe.ctx;

	(void)state;
	run_probe();
	assert_int_equal(c->rbx, probe.in.rbx);
	assert_int_equal(c->rbp, probe.in.rbp);
	assert_int_equal(c->r12, probe.in.r12);
	assert_int_equal(c->r13, probe.in.r13);
	assert_int_equal(c->r14, probe.in.r14);
	assert_int_equal(c->r15, probe.in.r15);
	assert_int_equal(c->rsp, probe.rsp_before);
	assert_int_equal(c->mxcsr, probe.in.mxcsr);
	assert_int_equal(c->x87.fcw, probe.in.fcw);
	assert_int_equal(c->x87.fsw, probe.in.fsw);
	assert_int_equal(c->x87.ftw, 0xffff);	/* the x87 stack is empty */
}

/* Saving changes nothing: fnstenv masks every x87 exception, and the
 * save must put the guest's control word back. */
static void test_save_leaves_registers_alone(void **state)
{
	(void)state;
	run_probe();
	assert_int_equal(probe.after_save.rbx, probe.in.rbx);
	assert_int_equal(probe.after_save.r15, probe.in.r15);
	assert_int_equal(probe.after_save.rsp, probe.rsp_before);
	assert_int_equal(probe.after_save.mxcsr, probe.in.mxcsr);
	assert_int_equal(probe.after_save.fcw, probe.in.fcw);
	assert_int_equal(probe.after_save.fsw, probe.in.fsw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_restore_brings_back_every_register),
		cmocka_unit_test(test_save_stores_every_register),
		cmocka_unit_test(test_save_leaves_registers_alone),
	};

	return cmocka_run_group_tests_name("context", tests, NULL, NULL);
}
