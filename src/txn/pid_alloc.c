/* pid_alloc.c - see pid_alloc.h. */
#include "txn/pid_alloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "base/log.h"

int pid_alloc_open(pid_alloc *a, const char *data_dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/producer-ids", data_dir);
    a->path = strdup(path);
    if (!a->path)
        return -ENOMEM;
    a->next = a->block_end = PID_ALLOC_FIRST;
    char *text;
    int rc = fs_read_all(path, &text, NULL);
    if (rc == -ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    char *end;
    long long v = strtoll(text, &end, 10);
    bool ok = end != text && v >= PID_ALLOC_FIRST;
    free(text);
    if (!ok) {
        LOG_ERROR("txn", "%s is corrupt; refusing to reuse producer ids", path);
        return -EINVAL;
    }
    a->next = a->block_end = v; /* ids below v may have been handed out: skip them */
    return 0;
}

int64_t pid_alloc_next(pid_alloc *a)
{
    if (a->next >= a->block_end) {
        char text[32];
        int64_t end = a->block_end + PID_ALLOC_BLOCK;
        int n = snprintf(text, sizeof(text), "%" PRId64 "\n", end);
        int rc = fs_write_atomic(a->path, text, (size_t)n);
        if (rc != 0) {
            LOG_ERROR("txn", "cannot persist producer id block: %s", strerror(-rc));
            return -1;
        }
        a->block_end = end;
    }
    return a->next++;
}

void pid_alloc_close(pid_alloc *a)
{
    free(a->path);
    a->path = NULL;
}
