/*
 * fuzz_record.c - libFuzzer target for RecordBatch v2 checks (proto/record.h).
 *
 * The input is one produced batch (rb_validate) and also a stored log (rb_check_stored,
 * walked batch after batch the way recovery does). Invariants checked besides memory
 * safety:
 *  - a batch that validates also passes the stored-log check, with the same size;
 *  - the broker's in-place patches (base offset and leader epoch, LogAppendTime) keep a
 *    valid batch valid;
 *  - a stored batch's size is at least a header and never beyond the bytes given.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rb_header h;
    size_t stored = 0;
    int v = rb_validate(data, size, &h);
    int s = rb_check_stored(data, size, &h, &stored);
    if (s == RB_OK && (stored < RB_HEADER_SIZE || stored > size))
        abort();
    if (v == RB_OK) {
        if (s != RB_OK || stored != size)
            abort();
        uint8_t *copy = malloc(size);
        if (!copy)
            return 0;
        memcpy(copy, data, size);
        rb_set_base_offset(copy, 1234567, 3);
        if (rb_validate(copy, size, &h) != RB_OK || h.base_offset != 1234567)
            abort();
        rb_set_log_append_time(copy, size, 1700000000000);
        if (rb_validate(copy, size, &h) != RB_OK || h.max_timestamp != 1700000000000)
            abort();
        free(copy);
    }
    if (rb_result_name(v) == NULL || rb_result_name(s) == NULL)
        abort();

    size_t off = 0;
    while (off < size && rb_check_stored(data + off, size - off, &h, &stored) == RB_OK)
        off += stored;
    if (off > size)
        abort();
    return 0;
}
