/* test_txn_record.c - the transaction-log record (txn_record_encode / txn_coord_load):
 * round trip with the transaction sequence and the transactions-v2 fields, records of
 * versions 0 and 1 (before they existed) still load, and every truncation is refused. */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "txn/coord.h"
#include "testutil.h"

static void test_round_trip_and_v0(void)
{
    txn_participant parts[2] = {{TXN_PART_PARTITION, "orders", 3, false},
                                {TXN_PART_GROUP, "g1", -1, false}};
    txn_image im = {.pid = 4242, .prev_pid = -1, .epoch = 7, .prev_epoch = 6,
                    .timeout_ms = 60000, .state = TXN_PREPARE_COMMIT, .start_ms = 1000,
                    .update_ms = 2000, .nparts = 2, .parts = parts, .txn_seq = 19,
                    .tv2 = true, .next_pid = 5151};
    uint8_t *rec;
    size_t len;
    CHECK_EQ_INT(txn_record_encode(&im, &rec, &len), 0);
    txn_coord_config cfg = {.max_timeout_ms = 900000};
    txn_coord c;
    txn_coord_init(&c, &cfg);
    CHECK_EQ_INT(txn_coord_load(&c, (const uint8_t *)"tx", 2, rec, len), 0);
    txn_meta *t = txn_coord_find(&c, "tx");
    CHECK(t != NULL);
    if (t) {
        CHECK_EQ_INT(t->txn_seq, 19);
        CHECK_EQ_INT(t->pid, 4242);
        CHECK_EQ_INT(t->state, TXN_PREPARE_COMMIT);
        CHECK_EQ_INT(t->nparts, 2);
        CHECK(t->tv2);
        CHECK_EQ_INT(t->next_pid, 5151);
    }
    for (size_t n = 0; n < len; n++)
        CHECK(txn_coord_load(&c, (const uint8_t *)"tx", 2, rec, n) != 0);
    /* Version 1: without tv2 and next_pid (9 bytes); version 0 also without the sequence. */
    uint8_t *v1 = malloc(len - 9);
    memcpy(v1, rec, len - 9);
    v1[0] = 0;
    v1[1] = 1;
    CHECK_EQ_INT(txn_coord_load(&c, (const uint8_t *)"v1", 2, v1, len - 9), 0);
    t = txn_coord_find(&c, "v1");
    CHECK(t != NULL && t->txn_seq == 19 && !t->tv2 && t->next_pid == -1);
    free(v1);
    uint8_t *v0 = malloc(len - 17);
    memcpy(v0, rec, len - 17);
    v0[0] = 0;
    v0[1] = 0;
    CHECK_EQ_INT(txn_coord_load(&c, (const uint8_t *)"old", 3, v0, len - 17), 0);
    t = txn_coord_find(&c, "old");
    CHECK(t != NULL && t->txn_seq == 0 && t->epoch == 7 && !t->tv2);
    /* A tv2 flag other than 0 or 1 is refused. */
    rec[len - 9] = 2;
    CHECK(txn_coord_load(&c, (const uint8_t *)"bad", 3, rec, len) != 0);
    rec[len - 9] = 1;
    /* A version from the future is refused. */
    rec[1] = 9;
    CHECK(txn_coord_load(&c, (const uint8_t *)"new", 3, rec, len) != 0);
    free(v0);
    free(rec);
    txn_coord_free(&c);
}

TU_MAIN(TU_CASE(test_round_trip_and_v0))
