/*
 * log_batches.h - record batches for storage tests: n one-record-each values from a
 * producer (pid, epoch, first sequence), transactional or not, and their append to a log.
 */
#ifndef BROOK_TESTS_LOG_BATCHES_H
#define BROOK_TESTS_LOG_BATCHES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/buf.h"
#include "base/crc32c.h"
#include "proto/record.h"
#include "storage/log.h"

/* A batch of n records from (pid, epoch) starting at seq; transactional when txn. */
static inline size_t make_batch(uint8_t **out, int64_t pid, int16_t epoch, int32_t seq, int n,
                                bool txn)
{
    const char *vals[16];
    for (int i = 0; i < n && i < 16; i++)
        vals[i] = "x";
    size_t len = rb_build_simple(out, n, NULL, vals, 1000);
    uint8_t *b = *out;
    be64_put(b + RB_OFF_PRODUCER_ID, (uint64_t)pid);
    be16_put(b + RB_OFF_PRODUCER_EPOCH, (uint16_t)epoch);
    be32_put(b + RB_OFF_BASE_SEQUENCE, (uint32_t)seq);
    if (txn)
        be16_put(b + RB_OFF_ATTRIBUTES, RB_ATTR_TRANSACTIONAL);
    be32_put(b + RB_OFF_CRC, crc32c(0, b + RB_OFF_ATTRIBUTES, len - RB_OFF_ATTRIBUTES));
    return len;
}

/* Appends make_batch(...) as the leader; its base offset, or a negative log_result. */
static inline int64_t log_put(plog *l, int64_t pid, int16_t epoch, int32_t seq, int n, bool txn)
{
    uint8_t *b;
    size_t len = make_batch(&b, pid, epoch, seq, n, txn);
    rb_header h;
    rb_validate(b, len, &h);
    int64_t base = -1;
    int rc = log_append(l, b, len, &h, 1000, &base);
    free(b);
    return rc == LOG_OK ? base : rc;
}

#endif
