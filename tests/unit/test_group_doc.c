/* test_group_doc.c - docs/groups.md shows the group state machine's transition table
 * exactly as the code checks it (group_transition_allowed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "group/group.h"
#include "testutil.h"

static int state_by_name(const char *name, size_t len)
{
    for (int s = 0; s < GROUP_STATE_COUNT; s++)
        if (strlen(group_state_name(s)) == len && strncmp(group_state_name(s), name, len) == 0)
            return s;
    return -1;
}

static void test_doc_table_matches_code(void)
{
    char *doc;
    if (!CHECK(fs_read_all(BROOK_SOURCE_DIR "/docs/groups.md", &doc, NULL) == 0))
        return;
    char *begin = strstr(doc, "<!-- group-table:begin -->");
    char *end = strstr(doc, "<!-- group-table:end -->");
    if (!CHECK(begin && end && begin < end)) {
        free(doc);
        return;
    }
    bool seen[GROUP_STATE_COUNT] = {0};
    unsigned from_doc[GROUP_STATE_COUNT] = {0};
    for (char *line = strstr(begin, "\n| "); line && line < end; line = strstr(line + 1, "\n| ")) {
        char *p = line + 3, *bar = strchr(p, '|');
        while (bar && bar > p && bar[-1] == ' ')
            bar--;
        int to = state_by_name(p, (size_t)(bar - p));
        if (to < 0)
            continue;
        seen[to] = true;
        char *q = strchr(p, '|') + 1, *eol = strchr(q, '\n');
        while (q < eol && *q != '|') {
            while (*q == ' ' || *q == ',')
                q++;
            char *w = q;
            while (q < eol && *q != ',' && *q != ' ' && *q != '|')
                q++;
            int from = state_by_name(w, (size_t)(q - w));
            if (from >= 0)
                from_doc[to] |= 1u << from;
        }
    }
    for (int to = 0; to < GROUP_STATE_COUNT; to++) {
        CHECK(seen[to]);
        for (int from = 0; from < GROUP_STATE_COUNT; from++)
            if (group_transition_allowed(from, to) != (bool)((from_doc[to] >> from) & 1))
                CHECK(!"docs/groups.md and group_transition_allowed() disagree");
    }
    free(doc);
}

TU_MAIN(TU_CASE(test_doc_table_matches_code))
