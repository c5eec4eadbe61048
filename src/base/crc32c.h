/*
 * crc32c.h - CRC-32C (Castagnoli), the checksum of Kafka RecordBatch v2.
 *
 * Owns: the checksum. Uses the SSE4.2 instruction when the CPU has it, a table otherwise;
 * both give identical results (a unit test checks them against each other).
 */
#ifndef BROOK_BASE_CRC32C_H
#define BROOK_BASE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32C of data[0..len), continuing from crc (pass 0 to start). */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);
/* The portable table implementation, exposed for tests. */
uint32_t crc32c_sw(uint32_t crc, const void *data, size_t len);

#endif
