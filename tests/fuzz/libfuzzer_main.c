/*
 * libfuzzer_main.c - libFuzzer's entry points for one target, compiled
 * once per target by make fuzz with -DFUZZ_TARGET=fuzz_NAME (fuzz.h).
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"

#ifndef FUZZ_TARGET
#error "compile with -DFUZZ_TARGET=fuzz_NAME"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return FUZZ_TARGET(data, size);
}
