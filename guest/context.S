/*
 * context.S - save and resume a guest's register context (x86-64 SysV).
 *
 * struct colo_context (context.h, which checks these offsets):
 *    0 rbx    8 rbp   16 r12   24 r13   32 r14   40 r15
 *   48 rsp (the caller's, after we return)   56 rip (our return address)
 *   64 mxcsr (4 bytes)
 *   68 x87 environment (28 bytes, fnstenv): control word at 68, status
 *      word at 72, tag word at 76, last instruction and operand pointers
 *   96 end
 */
	.text

	.globl	colo_context_save
	.type	colo_context_save, @function
colo_context_save:
	movq	%rbx, 0(%rdi)
	movq	%rbp, 8(%rdi)
	movq	%r12, 16(%rdi)
	movq	%r13, 24(%rdi)
	movq	%r14, 32(%rdi)
	movq	%r15, 40(%rdi)
	leaq	8(%rsp), %rdx		/* the caller's rsp after we return */
	movq	%rdx, 48(%rdi)
	movq	(%rsp), %rdx		/* our return address */
	movq	%rdx, 56(%rdi)
	stmxcsr	64(%rdi)
	fnstenv	68(%rdi)		/* this masks all x87 exceptions... */
	fldenv	68(%rdi)		/* ...so put the environment back */
	xorl	%eax, %eax
	ret
	.size	colo_context_save, .-colo_context_save

	.globl	colo_context_restore
	.type	colo_context_restore, @function
colo_context_restore:
	movq	0(%rdi), %rbx
	movq	8(%rdi), %rbp
	movq	16(%rdi), %r12
	movq	24(%rdi), %r13
	movq	32(%rdi), %r14
	movq	40(%rdi), %r15
	ldmxcsr	64(%rdi)
	fldenv	68(%rdi)
	movq	48(%rdi), %rsp
	movl	$1, %eax
	jmpq	*56(%rdi)
	.size	colo_context_restore, .-colo_context_restore

	.globl	colo_call_on_stack
	.type	colo_call_on_stack, @function
colo_call_on_stack:
	movq	%rdi, %rsp
	andq	$-16, %rsp
	xorl	%ebp, %ebp
	callq	*%rsi
	ud2
	.size	colo_call_on_stack, .-colo_call_on_stack

	.section .note.GNU-stack, "", @progbits
