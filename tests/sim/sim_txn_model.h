/*
 * sim_txn_model.h - what the transaction simulators (sim_txn.c, sim_repl_txn.c) both say the
 * same way: the results a client transaction ends with, and the header of a client's
 * transactional batch as the partition's producer state sees it. Header only; each
 * simulator includes it once.
 */
#ifndef BROOK_SIM_TXN_MODEL_H
#define BROOK_SIM_TXN_MODEL_H

#include <stdint.h>
#include <string.h>

#include "proto/record.h"

/* How a client transaction ended (the oracle's view); names for the trace. */
enum txn_result { R_OPEN = 0, R_COMMITTED, R_ABORTED, R_FAILED, R_ABANDONED };
static const char *g_result_names[] = {"open", "committed", "aborted", "failed", "abandoned"};

/* The header of a transactional batch of `count` records: (pid, epoch), first sequence seq. */
static inline void sim_txn_batch_header(rb_header *h, int64_t pid, int16_t epoch, int32_t seq,
                                        int32_t count)
{
    memset(h, 0, sizeof(*h));
    h->magic = 2;
    h->attributes = RB_ATTR_TRANSACTIONAL;
    h->producer_id = pid;
    h->producer_epoch = epoch;
    h->base_sequence = seq;
    h->last_offset_delta = count - 1;
    h->records_count = count;
}

#endif
