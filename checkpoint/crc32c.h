/*
 * crc32c.h - CRC-32C (Castagnoli), the checksum of every colo_proto
 * record.
 *
 * The CPU's crc32 instruction (SSE4.2) computes it 8 bytes at a time,
 * three streams interleaved; a table does it on a CPU without one. Both
 * give the same value: crc32c(0, "123456789", 9) is 0xe3069283.
 */
#ifndef COLO_CRC32C_H
#define COLO_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* crc extended by buf[0, len); start with crc = 0. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* The table implementation alone, for tests comparing the two. */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);

/* Which implementation crc32c() runs: "sse4.2" or "table". */
const char *crc32c_impl(void);

#endif /* COLO_CRC32C_H */
