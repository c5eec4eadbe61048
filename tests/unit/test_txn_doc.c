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

static int state_by_name(const char *name, size_t len)
{
    for (int s = 0; s < TXN_STATE_COUNT; s++)
        if (strlen(txn_state_name(s)) == len && strncmp(txn_state_name(s), name, len) == 0)
            return s;
    return -1;
}

static void test_doc_table_matches_code(void)
{
    char *doc;
    if (!CHECK(fs_read_all(BROOK_SOURCE_DIR "/docs/transactions.md", &doc, NULL) == 0))
        return;
    char *begin = strstr(doc, "<!-- transition-table:begin -->");
    char *end = strstr(doc, "<!-- transition-table:end -->");
    if (!CHECK(begin && end && begin < end)) {
        free(doc);
        return;
    }
    bool seen[TXN_STATE_COUNT] = {0};
    unsigned doc_from[TXN_STATE_COUNT] = {0};
    for (char *line = strstr(begin, "\n| "); line && line < end; line = strstr(line + 1, "\n| ")) {
        char *p = line + 3, *bar = strchr(p, '|');
        while (bar && bar > p && bar[-1] == ' ')
            bar--;
        int to = state_by_name(p, (size_t)(bar - p));
        if (to < 0)
            continue; /* the header row */
        seen[to] = true;
        char *q = strchr(p, '|') + 1, *eol = strchr(q, '\n');
        while (q < eol) {
            while (*q == ' ' || *q == ',')
                q++;
            char *w = q;
            while (q < eol && *q != ',' && *q != ' ' && *q != '|')
                q++;
            int from = state_by_name(w, (size_t)(q - w));
            if (from >= 0)
                doc_from[to] |= 1u << from;
            if (*q == '|')
                break;
        }
    }
    for (int to = 0; to < TXN_STATE_COUNT; to++) {
        CHECK(seen[to]);
        for (int from = 0; from < TXN_STATE_COUNT; from++) {
            bool code = txn_transition_allowed(from, to);
            bool in_doc = (doc_from[to] >> from) & 1;
            if (code != in_doc)
                CHECK(!"docs/transactions.md and txn_transition_allowed() disagree");
        }
    }
    free(doc);
}

TU_MAIN(TU_CASE(test_doc_table_matches_code))
