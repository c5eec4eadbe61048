/* test_txn_record.c - the transaction-log record (txn_record_encode / txn_coord_load):
 * round trip with the transaction sequence, records of version 0 (before it existed)
 * still load, and every truncation is refused. */
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
                    .update_ms = 2000, .nparts = 2, .parts = parts, .txn_seq = 19};
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
    }
    for (size_t n = 0; n < len; n++)
        CHECK(txn_coord_load(&c, (const uint8_t *)"tx", 2, rec, n) != 0);
    /* Version 0: the same record without the trailing sequence. */
    uint8_t *v0 = malloc(len - 8);
    memcpy(v0, rec, len - 8);
    v0[0] = 0;
    v0[1] = 0;
    CHECK_EQ_INT(txn_coord_load(&c, (const uint8_t *)"old", 3, v0, len - 8), 0);
    t = txn_coord_find(&c, "old");
    CHECK(t != NULL && t->txn_seq == 0 && t->epoch == 7);
    /* A version from the future is refused. */
    rec[1] = 9;
    CHECK(txn_coord_load(&c, (const uint8_t *)"new", 3, rec, len) != 0);
    free(v0);
    free(rec);
    txn_coord_free(&c);
}

TU_MAIN(TU_CASE(test_round_trip_and_v0))
