/* test_txn_doc.c - docs/transactions.md shows the coordinator's transition table exactly as
 * the code checks it (txn_transition_allowed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "testutil.h"
#include "txn/coord.h"

#ifndef BROOK_SOURCE_DIR
#define BROOK_SOURCE_DIR "."
#endif

static void test_doc_table_matches_code(void)
{
    char *doc;
    if (!CHECK(fs_read_all(BROOK_SOURCE_DIR "/docs/transactions.md", &doc, NULL) == 0))
        return;
    unsigned from_doc[TXN_STATE_COUNT] = {0};
    bool seen[TXN_STATE_COUNT] = {0};
    CHECK_EQ_INT(tu_parse_state_table(doc, "<!-- transition-table:begin -->", "<!-- transition-table:end -->", txn_state_name, TXN_STATE_COUNT, from_doc, seen), 0);
    for (int to = 0; to < TXN_STATE_COUNT; to++) {
        CHECK(seen[to]);
        for (int from = 0; from < TXN_STATE_COUNT; from++)
            if (txn_transition_allowed(from, to) != (bool)((from_doc[to] >> from) & 1))
                CHECK(!"/docs/transactions.md and txn_transition_allowed() disagree");
    }
    free(doc);
}

TU_MAIN(TU_CASE(test_doc_table_matches_code))
