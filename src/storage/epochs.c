/* epochs.c - see epochs.h. */
#include "storage/epochs.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"

void eh_free(epoch_history *h)
{
    free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}

int32_t eh_latest(const epoch_history *h) { return h->n ? h->v[h->n - 1].epoch : -1; }

int32_t eh_epoch_at(const epoch_history *h, int64_t offset)
{
    for (size_t i = h->n; i > 0; i--)
        if (h->v[i - 1].start_offset <= offset)
            return h->v[i - 1].epoch;
    return -1;
}

static int push(epoch_history *h, epoch_entry e)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 8;
        epoch_entry *n = realloc(h->v, cap * sizeof(*n));
        if (!n)
            return -1;
        h->v = n;
        h->cap = cap;
    }
    h->v[h->n++] = e;
    return 0;
}

int eh_assign(epoch_history *h, int32_t epoch, int64_t start)
{
    if (epoch < 0)
        return 0;
    if (h->n && h->v[h->n - 1].epoch == epoch && h->v[h->n - 1].start_offset <= start)
        return 0; /* more of the latest epoch */
    /* Kafka's rule: entries of this epoch or newer, or starting at or after `start`, are
     * not backed by the log (a takeover that wrote nothing, then a follower's copy of an
     * older leader's records at the same place): they go. */
    while (h->n && (h->v[h->n - 1].epoch >= epoch || h->v[h->n - 1].start_offset >= start))
        h->n--;
    return push(h, (epoch_entry){epoch, start}) == 0 ? 1 : -1;
}

int eh_truncate(epoch_history *h, int64_t end)
{
    size_t n = h->n;
    while (h->n && h->v[h->n - 1].start_offset >= end)
        h->n--;
    return h->n != n;
}

void eh_end_offset(const epoch_history *h, int32_t epoch, int64_t log_end, int32_t *epoch_out,
                   int64_t *end_out)
{
    *epoch_out = -1;
    *end_out = -1;
    if (epoch < 0 || h->n == 0)
        return;
    if (epoch == h->v[h->n - 1].epoch) {
        *epoch_out = epoch;
        *end_out = log_end;
        return;
    }
    /* The first entry with a larger epoch ends the answer's epoch. */
    size_t hi = 0;
    while (hi < h->n && h->v[hi].epoch <= epoch)
        hi++;
    if (hi == h->n)
        return; /* newer than anything known */
    *end_out = h->v[hi].start_offset;
    *epoch_out = hi == 0 ? epoch : h->v[hi - 1].epoch;
}

char *eh_format(const epoch_history *h, size_t *len_out)
{
    size_t cap = 32 + h->n * 34, len = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    for (size_t i = 0; i < h->n; i++)
        len += (size_t)snprintf(out + len, cap - len, "%" PRId32 " %" PRId64 "\n", h->v[i].epoch,
                                h->v[i].start_offset);
    out[len] = '\0';
    *len_out = len;
    return out;
}

int eh_parse(const char *text, size_t len, epoch_history *out)
{
    epoch_history h = {0};
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break; /* a line without its newline is torn */
        char line[64];
        size_t n = (size_t)(nl - p);
        long long e, s;
        char extra;
        if (n >= sizeof(line))
            goto bad;
        memcpy(line, p, n);
        line[n] = '\0';
        if (sscanf(line, "%lld %lld%c", &e, &s, &extra) != 2 || e < 0 || e > INT32_MAX || s < 0)
            goto bad;
        if (h.n && (e <= h.v[h.n - 1].epoch || s < h.v[h.n - 1].start_offset))
            goto bad;
        if (push(&h, (epoch_entry){(int32_t)e, (int64_t)s}) != 0)
            goto bad;
        p = nl + 1;
    }
    if (p != end)
        goto bad;
    eh_free(out);
    *out = h;
    return 0;
bad:
    eh_free(&h);
    return -1;
}

int eh_save(const epoch_history *h, const char *path)
{
    size_t len;
    char *text = eh_format(h, &len);
    if (!text)
        return -ENOMEM;
    int rc = fs_write_atomic(path, text, len);
    free(text);
    return rc;
}

int eh_load(epoch_history *h, const char *path)
{
    char *text;
    size_t len;
    int rc = fs_read_all(path, &text, &len);
    if (rc != 0)
        return rc == -ENOENT ? -ENOENT : rc;
    rc = eh_parse(text, len, h) == 0 ? 0 : -EINVAL;
    free(text);
    return rc;
}
