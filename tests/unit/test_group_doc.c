/* test_group_doc.c - docs/groups.md shows the group state machine's transition table
 * exactly as the code checks it (group_transition_allowed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "group/group.h"
#include "testutil.h"

static void test_doc_table_matches_code(void)
{
    char *doc;
    if (!CHECK(fs_read_all(BROOK_SOURCE_DIR "/docs/groups.md", &doc, NULL) == 0))
        return;
    unsigned from_doc[GROUP_STATE_COUNT] = {0};
    bool seen[GROUP_STATE_COUNT] = {0};
    CHECK_EQ_INT(tu_parse_state_table(doc, "<!-- group-table:begin -->", "<!-- group-table:end -->", group_state_name, GROUP_STATE_COUNT, from_doc, seen), 0);
    for (int to = 0; to < GROUP_STATE_COUNT; to++) {
        CHECK(seen[to]);
        for (int from = 0; from < GROUP_STATE_COUNT; from++)
            if (group_transition_allowed(from, to) != (bool)((from_doc[to] >> from) & 1))
                CHECK(!"/docs/groups.md and group_transition_allowed() disagree");
    }
    free(doc);
}

TU_MAIN(TU_CASE(test_doc_table_matches_code))
