/* compact.c - see compact.h for the rules, the files and the crash-safety argument.
 *
 * Layout: the cleaner-state file; the pure pass (key map, producers, record decisions,
 * batch rewriting); planning; the job (worker thread: read, decide, write temporaries);
 * its completion on the loop (check, commit, swap); the compactor (libuv glue); recovery. */
#include "storage/compact.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uthash.h>

#include "base/assert.h"
#include "base/crc32c.h"
#include "base/buf.h"
#include "base/fsutil.h"
#include "base/limits.h"
#include "base/log.h"
#include "proto/compress.h"
#include "storage/pstate.h"

#define STATE_FILE "cleaner-state"
#define STATE_HEAD "brook-cleaner-state 1"
#define TMP_SUFFIX ".cleaned"
#define READ_CHUNK (1u << 20)
#define WRITE_FLUSH (1u << 20)
#define TXN_ENTRY_SIZE 24

static int64_t sat_add(int64_t a, int64_t b)
{
    return b > 0 && a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* ---------------- the cleaner-state file ---------------- */

void cmp_state_init(cmp_state *st)
{
    memset(st, 0, sizeof(*st));
    st->first_dirty = -1;
    st->due_ms = INT64_MAX;
}

void cmp_state_free(cmp_state *st)
{
    free(st->segs);
    free(st->markers);
    cmp_state_init(st);
}

/* Appends (offset, ms) to a growable array; offsets must ascend. Returns 0 or -ENOMEM. */
static int times_push(cmp_time **v, size_t *n, size_t *cap, int64_t offset, int64_t ms)
{
    cmp_time *nv = array_grow(*v, cap, *n, sizeof(*nv), 16);
    if (!nv)
        return -ENOMEM;
    *v = nv;
    (*v)[(*n)++] = (cmp_time){offset, ms};
    return 0;
}

static const cmp_time *times_find(const cmp_time *v, size_t n, int64_t offset)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v[mid].offset < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && v[lo].offset == offset ? &v[lo] : NULL;
}

/* One decimal integer token at *pp (after spaces); advances past it. */
static bool take_i64(const char **pp, int64_t *out)
{
    const char *p = *pp;
    while (*p == ' ')
        p++;
    char *end;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    if (end == p || errno != 0)
        return false;
    *out = v;
    *pp = end;
    return true;
}

/* One line of the file (without its newline) into st. Returns 0 or -1. */
static int state_line(const char *line, cmp_state *st, size_t *segcap, size_t *mcap)
{
    static const char *const words[] = {"first-dirty", "due", "segment", "marker"};
    for (int w = 0; w < 4; w++) {
        size_t n = strlen(words[w]);
        if (strncmp(line, words[w], n) != 0 || line[n] != ' ')
            continue;
        const char *p = line + n;
        int64_t a, b = 0;
        if (!take_i64(&p, &a) || (w >= 2 && !take_i64(&p, &b)) || *p != '\0')
            return -1;
        if (w == 0)
            st->first_dirty = a;
        else if (w == 1)
            st->due_ms = a;
        else {
            cmp_time **v = w == 2 ? &st->segs : &st->markers;
            size_t *cnt = w == 2 ? &st->nsegs : &st->nmarkers;
            if (*cnt > 0 && (*v)[*cnt - 1].offset >= a)
                return -1;
            if (times_push(v, cnt, w == 2 ? segcap : mcap, a, b) != 0)
                return -1;
        }
        return 0;
    }
    return -1;
}

int cmp_state_parse(const char *text, cmp_state *out)
{
    cmp_state_init(out);
    size_t segcap = 0, mcap = 0;
    bool head = false;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char line[160];
        if (n >= sizeof(line))
            goto bad;
        memcpy(line, p, n);
        line[n] = '\0';
        p += n + (nl ? 1 : 0);
        if (n == 0)
            continue;
        if (!head) {
            if (strcmp(line, STATE_HEAD) != 0)
                goto bad;
            head = true;
        } else if (state_line(line, out, &segcap, &mcap) != 0) {
            goto bad;
        }
    }
    if (head)
        return 0;
bad:
    cmp_state_free(out);
    return -1;
}

void cmp_state_encode(const cmp_state *st, wr *w)
{
    char line[96];
    int n = snprintf(line, sizeof(line), "%s\nfirst-dirty %" PRId64 "\ndue %" PRId64 "\n",
                     STATE_HEAD, st->first_dirty, st->due_ms);
    wr_raw(w, line, (size_t)n);
    for (size_t i = 0; i < st->nsegs; i++) {
        n = snprintf(line, sizeof(line), "segment %" PRId64 " %" PRId64 "\n", st->segs[i].offset,
                     st->segs[i].ms);
        wr_raw(w, line, (size_t)n);
    }
    for (size_t i = 0; i < st->nmarkers; i++) {
        n = snprintf(line, sizeof(line), "marker %" PRId64 " %" PRId64 "\n",
                     st->markers[i].offset, st->markers[i].ms);
        wr_raw(w, line, (size_t)n);
    }
}

/* ---------------- the pass ---------------- */

typedef struct key_ent {
    UT_hash_handle hh;
    int64_t offset; /* the key's latest offset among readable, not aborted records */
    uint32_t count; /* such records of the key in the range, saturating at 2 */
    uint32_t klen;
    uint8_t key[];
} key_ent;

typedef struct pid_ent {
    UT_hash_handle hh;
    int64_t pid;
    int64_t last_data;   /* base offset of its last data batch in the range; -1: none */
    int64_t last_marker; /* offset of its last marker in the range; -1: none */
    uint32_t txn_in;     /* phase 2: its transactional batches since its last marker */
    uint32_t txn_kept;   /* ... of which the output keeps (possibly emptied) */
} pid_ent;

typedef struct seg_ent {
    int64_t base;
    int64_t first_clean_ms; /* from the old state; -1: this pass cleans it first */
} seg_ent;

struct cmp_pass {
    cmp_params p;
    const cmp_state *old;
    aborted_txn *ab; /* sorted by (pid, first offset) */
    size_t nab;
    key_ent *keys;
    size_t map_bytes;
    pid_ent *pids;
    seg_ent *segs;
    size_t nsegs, segs_cap;
    size_t cur;      /* phase 2: the segment being filtered */
    bool filtering;  /* phase 2 has begun */
    bool seg_changed; /* phase 2: the segment's output differs from its input */
    /* phase 2: the run of removed batches whose filler is not written yet */
    bool run_open;
    int64_t run_base, run_last;
    int32_t run_epoch;
    uint64_t run_pos;
    uint32_t run_batches;
    size_t run_first_len;
    uint8_t run_first[RB_HEADER_SIZE]; /* its first batch, when header-only */
    bool opaque;     /* an unreadable batch that is not aborted: no tombstone may go */
    cmp_time *markers; /* the new state's markers */
    size_t nmarkers, markers_cap;
    int64_t *gone;   /* ABORT markers removed */
    size_t ngone, gone_cap;
    int64_t due_ms;
    cmp_counts counts;
};

static int cmp_ab(const void *a, const void *b)
{
    const aborted_txn *x = a, *y = b;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    return x->first_offset < y->first_offset ? -1 : x->first_offset > y->first_offset;
}

cmp_pass *cmp_pass_new(const cmp_params *p, const aborted_txn *aborted, size_t naborted,
                       const cmp_state *old)
{
    cmp_pass *ps = calloc(1, sizeof(*ps));
    if (!ps)
        return NULL;
    ps->p = *p;
    ps->old = old;
    ps->due_ms = INT64_MAX;
    if (naborted > 0) {
        ps->ab = malloc(naborted * sizeof(*ps->ab));
        if (!ps->ab) {
            free(ps);
            return NULL;
        }
        memcpy(ps->ab, aborted, naborted * sizeof(*ps->ab));
        qsort(ps->ab, naborted, sizeof(*ps->ab), cmp_ab);
        ps->nab = naborted;
    }
    return ps;
}

void cmp_pass_free(cmp_pass *ps)
{
    if (!ps)
        return;
    key_ent *k, *kt;
    HASH_ITER(hh, ps->keys, k, kt)
    {
        HASH_DEL(ps->keys, k);
        free(k);
    }
    pid_ent *e, *et;
    HASH_ITER(hh, ps->pids, e, et)
    {
        HASH_DEL(ps->pids, e);
        free(e);
    }
    free(ps->ab);
    free(ps->segs);
    free(ps->markers);
    free(ps->gone);
    free(ps);
}

/* Whether a transactional batch of pid at offset belongs to an aborted transaction: the
 * last aborted range of pid starting at or before it runs past it. */
static bool is_aborted(const cmp_pass *ps, int64_t pid, int64_t offset)
{
    size_t lo = 0, hi = ps->nab;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const aborted_txn *e = &ps->ab[mid];
        if (e->pid < pid || (e->pid == pid && e->first_offset <= offset))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && ps->ab[lo - 1].pid == pid && offset < ps->ab[lo - 1].last_offset;
}

static pid_ent *pid_find(const cmp_pass *ps, int64_t pid)
{
    pid_ent *e = NULL;
    HASH_FIND(hh, ps->pids, &pid, sizeof(pid), e);
    return e;
}

static pid_ent *pid_get(cmp_pass *ps, int64_t pid)
{
    pid_ent *e = pid_find(ps, pid);
    if (e)
        return e;
    e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->pid = pid;
    e->last_data = e->last_marker = -1;
    HASH_ADD(hh, ps->pids, pid, sizeof(e->pid), e);
    return e;
}

/* One record of a records section: its bytes (length prefix included) and what a pass
 * decides on. */
typedef struct rec_view {
    const uint8_t *raw;
    size_t raw_len;
    int32_t delta;
    const uint8_t *key;
    int32_t klen; /* -1: null key */
    bool tombstone;
} rec_view;

/* The next record of a section. Returns 1, 0 at its end, -1 when it does not frame. */
static int rec_next(rd *r, rec_view *v)
{
    if (rd_remaining(r) == 0)
        return 0;
    size_t start = r->off;
    int32_t len = rd_varint(r);
    if (r->err || len < 0 || (size_t)len > rd_remaining(r))
        return -1;
    rd body;
    rd_init(&body, rd_cur(r), (size_t)len);
    rd_skip(r, (size_t)len);
    (void)rd_i8(&body);      /* attributes */
    (void)rd_varlong(&body); /* timestamp delta */
    v->delta = rd_varint(&body);
    v->klen = rd_varint(&body);
    if (body.err || v->klen < -1)
        return -1;
    v->key = v->klen > 0 ? rd_raw(&body, (size_t)v->klen) : rd_cur(&body);
    int32_t vlen = rd_varint(&body);
    if (body.err || vlen < -1)
        return -1;
    if (vlen > 0)
        rd_skip(&body, (size_t)vlen);
    if (body.err || r->err)
        return -1; /* the headers' bytes after the value are kept as they are */
    v->tombstone = vlen < 0;
    v->raw = r->p + start;
    v->raw_len = r->off - start;
    return 1;
}

/* A section holds exactly the header's record count, each framing, with offset deltas
 * strictly increasing within [0, lastOffsetDelta] (a cleaned batch has gaps). */
static bool section_ok(const rb_header *h, const uint8_t *sec, size_t len)
{
    rd r;
    rd_init(&r, sec, len);
    int32_t n = 0, prev = -1;
    rec_view v;
    int rc;
    while ((rc = rec_next(&r, &v)) == 1) {
        if (v.delta <= prev || v.delta > h->last_offset_delta || n == INT32_MAX)
            return false;
        prev = v.delta;
        n++;
    }
    return rc == 0 && n == h->records_count;
}

/* The records section of batch b as plain bytes: borrowed from b when uncompressed, else
 * decompressed into *owned (the caller frees). Returns 0, 1 when it cannot be read (too
 * large, corrupt, not framing: an opaque batch), or -ENOMEM. */
static int section_get(const cmp_pass *ps, const uint8_t *b, size_t len, const rb_header *h,
                       const uint8_t **sec, size_t *slen, uint8_t **owned)
{
    *owned = NULL;
    *sec = b + RB_HEADER_SIZE;
    *slen = len - RB_HEADER_SIZE;
    int codec = h->attributes & RB_ATTR_CODEC_MASK;
    if (h->records_count < 0 || h->last_offset_delta < 0 || codec >= RB_CODEC_COUNT)
        return 1;
    if (codec != RB_CODEC_NONE && h->records_count > 0) {
        int rc = rb_codec_decompress(codec, b + RB_HEADER_SIZE, len - RB_HEADER_SIZE,
                                     ps->p.max_inflated, owned, slen);
        if (rc == RB_ERR_NOMEM)
            return -ENOMEM;
        if (rc != 0)
            return 1;
        *sec = *owned;
    }
    if (!section_ok(h, *sec, *slen)) {
        free(*owned);
        *owned = NULL;
        return 1;
    }
    return 0;
}

int cmp_pass_scan_segment(cmp_pass *ps, int64_t base)
{
    BROOK_ASSERT(!ps->filtering);
    BROOK_ASSERT(ps->nsegs == 0 || ps->segs[ps->nsegs - 1].base < base);
    seg_ent *grown = array_grow(ps->segs, &ps->segs_cap, ps->nsegs, sizeof(*grown), 16);
    if (!grown)
        return -ENOMEM;
    ps->segs = grown;
    const cmp_time *t = ps->old ? times_find(ps->old->segs, ps->old->nsegs, base) : NULL;
    ps->segs[ps->nsegs++] = (seg_ent){base, t ? t->ms : -1};
    return 0;
}

/* Records key's record at offset in the map. Returns 0 or -ENOMEM. */
static int map_note(cmp_pass *ps, const uint8_t *key, int32_t klen, int64_t offset)
{
    key_ent *e = NULL;
    HASH_FIND(hh, ps->keys, key, (unsigned)klen, e);
    if (e) {
        e->offset = offset;
        if (e->count < 2)
            e->count++;
        return 0;
    }
    e = malloc(sizeof(*e) + (size_t)klen);
    if (!e)
        return -ENOMEM;
    memset(&e->hh, 0, sizeof(e->hh));
    e->offset = offset;
    e->count = 1;
    e->klen = (uint32_t)klen;
    memcpy(e->key, key, (size_t)klen);
    HASH_ADD_KEYPTR(hh, ps->keys, e->key, e->klen, e);
    ps->map_bytes += sizeof(*e) + (size_t)klen + 16; /* + uthash's bucket share */
    return 0;
}

int cmp_pass_scan(cmp_pass *ps, const uint8_t *batch, size_t len)
{
    BROOK_ASSERT(ps->nsegs > 0 && !ps->filtering);
    rb_header h;
    if (rb_parse_header(batch, len, &h) != RB_OK)
        return -EBADMSG;
    pid_ent *pe = NULL;
    if (h.producer_id >= 0 && !(pe = pid_get(ps, h.producer_id)))
        return -ENOMEM;
    if (h.attributes & RB_ATTR_CONTROL) {
        if (pe)
            pe->last_marker = h.base_offset;
        return 0;
    }
    if (pe)
        pe->last_data = h.base_offset;
    if (pe && (h.attributes & RB_ATTR_TRANSACTIONAL) && is_aborted(ps, h.producer_id,
                                                                    h.base_offset))
        return 0; /* never anyone's latest value */
    const uint8_t *sec;
    size_t slen;
    uint8_t *owned;
    int rc = section_get(ps, batch, len, &h, &sec, &slen, &owned);
    if (rc != 0) {
        if (rc == 1)
            ps->opaque = true;
        return rc == 1 ? 0 : rc;
    }
    rd r;
    rd_init(&r, sec, slen);
    rec_view v;
    while (rc == 0 && rec_next(&r, &v) == 1) {
        int64_t off = h.base_offset + v.delta;
        if (off >= ps->p.log_start_offset && v.klen >= 0)
            rc = map_note(ps, v.key, v.klen, off);
    }
    free(owned);
    return rc;
}

size_t cmp_pass_map_bytes(const cmp_pass *ps) { return ps->map_bytes; }

int cmp_pass_filter_segment(cmp_pass *ps, int64_t base)
{
    BROOK_ASSERT(!ps->run_open);
    if (!ps->filtering) {
        ps->filtering = true;
        ps->cur = 0;
    } else {
        ps->cur++;
    }
    BROOK_ASSERT(ps->cur < ps->nsegs && ps->segs[ps->cur].base == base);
    ps->seg_changed = false;
    return 0;
}

/* Writes the header's length and CRC-32C for a batch of total bytes at b. */
static void batch_seal(uint8_t *b, size_t total)
{
    be32_put(b + RB_OFF_LENGTH, (uint32_t)(total - RB_LOG_OVERHEAD));
    be32_put(b + RB_OFF_CRC, crc32c(0, b + RB_OFF_ATTRIBUTES, total - RB_OFF_ATTRIBUTES));
}

/* The batch's header alone, records count 0 and no codec (Kafka's empty batch): base
 * offset, last offset delta, producer, sequence and timestamps stay. */
static void emit_empty(wr *out, const uint8_t *b)
{
    uint8_t e[RB_HEADER_SIZE];
    memcpy(e, b, RB_HEADER_SIZE);
    uint16_t attr = be16_get(e + RB_OFF_ATTRIBUTES);
    be16_put(e + RB_OFF_ATTRIBUTES, (uint16_t)(attr & ~RB_ATTR_CODEC_MASK));
    be32_put(e + RB_OFF_RECORDS_COUNT, 0);
    batch_seal(e, RB_HEADER_SIZE);
    wr_raw(out, e, RB_HEADER_SIZE);
}

/* The empty batch standing for a run of removed batches: offsets [base, last], the run's
 * leader epoch, no producer, no timestamp (-1), no records. */
static void emit_filler(wr *out, int64_t base, int64_t last, int32_t epoch)
{
    uint8_t e[RB_HEADER_SIZE];
    memset(e, 0, sizeof(e));
    be64_put(e + RB_OFF_BASE_OFFSET, (uint64_t)base);
    be32_put(e + RB_OFF_LEADER_EPOCH, (uint32_t)epoch);
    e[RB_OFF_MAGIC] = 2;
    be32_put(e + RB_OFF_LAST_OFFSET_DELTA, (uint32_t)(last - base));
    be64_put(e + RB_OFF_BASE_TIMESTAMP, UINT64_MAX);
    be64_put(e + RB_OFF_MAX_TIMESTAMP, UINT64_MAX);
    be64_put(e + RB_OFF_PRODUCER_ID, UINT64_MAX);
    be16_put(e + RB_OFF_PRODUCER_EPOCH, 0xffff);
    be32_put(e + RB_OFF_BASE_SEQUENCE, 0xffffffffu);
    batch_seal(e, RB_HEADER_SIZE);
    wr_raw(out, e, RB_HEADER_SIZE);
}

/* The output appended by this call stands for the input from pos on (the first such). */
static void step_from(cmp_step *st, uint64_t pos)
{
    if (st->from_pos == UINT64_MAX)
        st->from_pos = pos;
}

/* Writes the pending run's filler; a run of one batch that is that very filler (from an
 * earlier pass) leaves the segment unchanged. */
static void run_flush(cmp_pass *ps, wr *out, cmp_step *st)
{
    if (!ps->run_open)
        return;
    step_from(st, ps->run_pos);
    size_t at = out->len;
    emit_filler(out, ps->run_base, ps->run_last, ps->run_epoch);
    bool same = !out->oom && ps->run_batches == 1 && ps->run_first_len == RB_HEADER_SIZE &&
                memcmp(out->p + at, ps->run_first, RB_HEADER_SIZE) == 0;
    if (!same)
        ps->seg_changed = true;
    ps->run_open = false;
}

/* A batch that goes: it joins the pending run (a new one starts at a leader epoch change,
 * so the epoch history a walk of the headers rebuilds stays right). */
static void run_add(cmp_pass *ps, const uint8_t *b, size_t len, const rb_header *h,
                    uint64_t pos, wr *out, cmp_step *st)
{
    if (ps->run_open && (h->leader_epoch != ps->run_epoch ||
                         rb_last_offset(h) - ps->run_base > INT32_MAX))
        run_flush(ps, out, st);
    if (!ps->run_open) {
        ps->run_open = true;
        ps->run_base = h->base_offset;
        ps->run_epoch = h->leader_epoch;
        ps->run_pos = pos;
        ps->run_batches = 0;
        ps->run_first_len = len;
        if (len == RB_HEADER_SIZE)
            memcpy(ps->run_first, b, RB_HEADER_SIZE);
    }
    ps->run_last = rb_last_offset(h);
    ps->run_batches++;
    ps->counts.batches_removed++;
}

/* A batch that stays (as it was when same, else as written by the caller after this). */
static void kept_begin(cmp_pass *ps, uint64_t pos, bool same, wr *out, cmp_step *st)
{
    run_flush(ps, out, st);
    step_from(st, pos);
    if (!same)
        ps->seg_changed = true;
}

/* The record batch's rebuilt form: only the records in recs (raw, in order; count of
 * them), compressed with the batch's codec. Returns 0 or -errno (-ENOMEM, -EFBIG, -EIO:
 * the codec failed). */
static int emit_rebuilt(wr *out, const uint8_t *b, const uint8_t *recs, size_t rlen,
                        int32_t count)
{
    int codec = be16_get(b + RB_OFF_ATTRIBUTES) & RB_ATTR_CODEC_MASK;
    uint8_t *nb;
    size_t nlen;
    if (codec == RB_CODEC_NONE) {
        nlen = RB_HEADER_SIZE + rlen;
        nb = malloc(nlen);
        if (!nb)
            return -ENOMEM;
        memcpy(nb + RB_HEADER_SIZE, recs, rlen);
    } else {
        int rc = rb_codec_compress(codec, recs, rlen, RB_HEADER_SIZE, &nb, &nlen);
        if (rc != 0)
            return rc == RB_ERR_NOMEM ? -ENOMEM : rc == RB_ERR_TOO_BIG ? -EFBIG : -EIO;
    }
    if (nlen - RB_LOG_OVERHEAD > INT32_MAX) {
        free(nb);
        return -EFBIG;
    }
    memcpy(nb, b, RB_HEADER_SIZE);
    be32_put(nb + RB_OFF_RECORDS_COUNT, (uint32_t)count);
    batch_seal(nb, nlen);
    wr_raw(out, nb, nlen);
    free(nb);
    return 0;
}

/* Whether a readable record of a batch that is not aborted survives. A tombstone kept
 * only for delete.retention.ms (or for an older record of its key, removed now) sets the
 * due time of the pass that may remove it. */
static bool keep_record(cmp_pass *ps, const seg_ent *seg, int64_t offset, const rec_view *v)
{
    if (offset < ps->p.log_start_offset)
        return false;
    if (v->klen < 0)
        return true; /* keyless (written before the topic was compacted): kept */
    key_ent *e = NULL;
    HASH_FIND(hh, ps->keys, v->key, (unsigned)v->klen, e);
    if (!e)
        return true;
    if (e->offset != offset)
        return false;
    if (!v->tombstone || ps->opaque)
        return true;
    int64_t at = sat_add(seg->first_clean_ms >= 0 ? seg->first_clean_ms : ps->p.now_ms,
                         ps->p.delete_retention_ms);
    if (e->count == 1 && seg->first_clean_ms >= 0 && at <= ps->p.now_ms)
        return false;
    if (at < ps->due_ms)
        ps->due_ms = at;
    return true;
}

static int gone_push(cmp_pass *ps, int64_t offset)
{
    int64_t *grown = array_grow(ps->gone, &ps->gone_cap, ps->ngone, sizeof(*grown), 16);
    if (!grown)
        return -ENOMEM;
    ps->gone = grown;
    ps->gone[ps->ngone++] = offset;
    return 0;
}

/* A COMMIT/ABORT marker (compact.h's rule). */
static int filter_marker(cmp_pass *ps, const uint8_t *b, size_t len, const rb_header *h,
                         uint64_t pos, wr *out, cmp_step *st)
{
    pid_ent *pe = h->producer_id >= 0 ? pid_find(ps, h->producer_id) : NULL;
    int32_t coordinator_epoch;
    int type = h->records_count == 1 ? rb_control_parse(b, len, &coordinator_epoch, NULL) : -1;
    if (type < 0 || !pe) {
        kept_begin(ps, pos, true, out, st);
        wr_raw(out, b, len);
        return 0;
    }
    uint32_t in = pe->txn_in, kept = pe->txn_kept;
    pe->txn_in = pe->txn_kept = 0;
    bool forced = pe->last_marker == h->base_offset;
    int64_t since = -1; /* -1: its transaction still has batches */
    if (in == 0) {
        const cmp_time *t = ps->old ? times_find(ps->old->markers, ps->old->nmarkers,
                                                 h->base_offset)
                                    : NULL;
        since = t ? t->ms : ps->p.now_ms;
    } else if (kept == 0) {
        since = ps->p.now_ms; /* its last batches go now */
    }
    int64_t at = since >= 0 ? sat_add(since, ps->p.delete_retention_ms) : INT64_MAX;
    if (in == 0 && !forced && at <= ps->p.now_ms) {
        if (type == RB_CONTROL_ABORT && gone_push(ps, h->base_offset) != 0)
            return -ENOMEM;
        ps->counts.markers_removed++;
        run_add(ps, b, len, h, pos, out, st);
        return 0;
    }
    kept_begin(ps, pos, true, out, st);
    wr_raw(out, b, len);
    if (since >= 0) {
        if (times_push(&ps->markers, &ps->nmarkers, &ps->markers_cap, h->base_offset, since))
            return -ENOMEM;
        if (!forced && at < ps->due_ms)
            ps->due_ms = at;
    }
    return 0;
}

/* The surviving records of a readable data batch: counted (*kept) and, with keep_out,
 * copied raw into keep_out. */
static void select_records(cmp_pass *ps, const seg_ent *seg, const rb_header *h,
                           const uint8_t *sec, size_t slen, int32_t *kept, wr *keep_out)
{
    rd r;
    rd_init(&r, sec, slen);
    rec_view v;
    *kept = 0;
    while (rec_next(&r, &v) == 1) {
        if (!keep_record(ps, seg, h->base_offset + v.delta, &v)) {
            if (!keep_out && v.tombstone && v.klen >= 0)
                ps->counts.tombstones_removed++;
            continue;
        }
        (*kept)++;
        if (keep_out)
            wr_raw(keep_out, v.raw, v.raw_len);
    }
}

int cmp_pass_filter(cmp_pass *ps, const uint8_t *batch, size_t len, uint64_t pos, wr *out,
                    cmp_step *st)
{
    BROOK_ASSERT(ps->filtering);
    st->from_pos = UINT64_MAX;
    rb_header h;
    int rc = 0;
    if (rb_parse_header(batch, len, &h) != RB_OK)
        return -EBADMSG;
    const seg_ent *seg = &ps->segs[ps->cur];
    ps->counts.batches_in++;
    if (h.attributes & RB_ATTR_CONTROL) {
        rc = filter_marker(ps, batch, len, &h, pos, out, st);
        st->changed = ps->seg_changed;
        return rc;
    }
    pid_ent *pe = h.producer_id >= 0 ? pid_find(ps, h.producer_id) : NULL;
    bool txn = pe && (h.attributes & RB_ATTR_TRANSACTIONAL);
    bool aborted = txn && is_aborted(ps, h.producer_id, h.base_offset);
    /* Kept even when empty: replaying it restores the producer's sequence (compact.h). */
    bool retain = pe && pe->last_data == h.base_offset;
    const uint8_t *sec;
    size_t slen;
    uint8_t *owned;
    int sc = section_get(ps, batch, len, &h, &sec, &slen, &owned);
    if (sc < 0)
        return sc;
    uint64_t n = h.records_count > 0 ? (uint64_t)h.records_count : 0;
    ps->counts.records_in += n;
    int32_t kept = 0;
    if (aborted)
        ps->counts.aborted_removed += n;
    else if (sc == 1)
        kept = h.records_count; /* unreadable: kept whole */
    else
        select_records(ps, seg, &h, sec, slen, &kept, NULL);
    ps->counts.records_removed += n - (uint64_t)kept;
    bool stays = true;
    if (!aborted && kept == h.records_count && kept > 0) {
        kept_begin(ps, pos, true, out, st);
        wr_raw(out, batch, len);
    } else if (kept > 0) {
        wr keep;
        wr_init(&keep, slen);
        select_records(ps, seg, &h, sec, slen, &kept, &keep);
        kept_begin(ps, pos, false, out, st);
        rc = keep.oom ? -ENOMEM : emit_rebuilt(out, batch, keep.p, keep.len, kept);
        wr_free(&keep);
    } else if (retain) {
        bool empty_already = h.records_count == 0;
        kept_begin(ps, pos, empty_already, out, st);
        if (empty_already) {
            wr_raw(out, batch, len);
        } else {
            emit_empty(out, batch);
            ps->counts.batches_emptied++;
        }
    } else {
        run_add(ps, batch, len, &h, pos, out, st);
        stays = false;
    }
    if (txn) {
        pe->txn_in++;
        pe->txn_kept += stays;
    }
    free(owned);
    st->changed = ps->seg_changed;
    return rc;
}

int cmp_pass_end_segment(cmp_pass *ps, wr *out, cmp_step *st)
{
    st->from_pos = UINT64_MAX;
    run_flush(ps, out, st);
    st->changed = ps->seg_changed;
    return out->oom ? -ENOMEM : 0;
}

int cmp_pass_finish(cmp_pass *ps, int64_t range_end, cmp_state *ns)
{
    cmp_state_init(ns);
    ns->first_dirty = range_end;
    ns->due_ms = ps->due_ms;
    size_t n = ps->filtering ? ps->cur + 1 : 0;
    if (n > 0 && !(ns->segs = malloc(n * sizeof(*ns->segs))))
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        int64_t t = ps->segs[i].first_clean_ms;
        ns->segs[i] = (cmp_time){ps->segs[i].base, t >= 0 ? t : ps->p.now_ms};
    }
    ns->nsegs = n;
    if (ps->nmarkers > 0) {
        ns->markers = malloc(ps->nmarkers * sizeof(*ns->markers));
        if (!ns->markers) {
            cmp_state_free(ns);
            return -ENOMEM;
        }
        memcpy(ns->markers, ps->markers, ps->nmarkers * sizeof(*ns->markers));
        ns->nmarkers = ps->nmarkers;
    }
    return 0;
}

const int64_t *cmp_pass_gone_aborts(const cmp_pass *ps, size_t *n_out)
{
    *n_out = ps->ngone;
    return ps->gone;
}

cmp_counts cmp_pass_counts(const cmp_pass *ps) { return ps->counts; }

/* ---------------- planning ---------------- */

/* The log's cleaner summary, from cleaner-state (missing or unreadable: all dirty). */
static void load_summary(plog *l)
{
    l->clean_loaded = true;
    l->clean_first_dirty = -1;
    l->clean_due_ms = INT64_MAX;
    char path[PATH_MAX], *text;
    snprintf(path, sizeof(path), "%s/%s", l->dir, STATE_FILE);
    if (fs_read_all(path, &text, NULL) != 0)
        return;
    cmp_state st;
    if (cmp_state_parse(text, &st) == 0) {
        l->clean_first_dirty = st.first_dirty;
        l->clean_due_ms = st.due_ms;
        cmp_state_free(&st);
    } else {
        LOG_WARN("storage", "%s: %s unreadable; every segment counts as dirty", l->name,
                 STATE_FILE);
    }
    free(text);
}

void cmp_plan_log(plog *l, int64_t hw, int64_t now_ms, cmp_plan *out)
{
    memset(out, 0, sizeof(*out));
    if (!l->cfg.compact || l->failed || l->job || l->nsegs < 2)
        return;
    if (!l->clean_loaded)
        load_summary(l);
    if (now_ms < l->clean_retry_ms)
        return;
    int64_t bound = log_last_stable_offset(l, hw);
    int64_t active = l->segs[l->nsegs - 1]->base_offset;
    out->bound = bound < active ? bound : active;
    int64_t oldest_dirty = -1;
    size_t k = 0;
    for (; k + 1 < l->nsegs; k++) {
        const segment *s = l->segs[k];
        if (s->next_offset > out->bound || s == l->unsynced)
            break; /* (an unsynced segment is replaced only once its fdatasync is done) */
        int64_t lag = l->cfg.min_compaction_lag_ms;
        if (lag > 0 && s->max_ts >= 0 && now_ms - s->max_ts < lag)
            break; /* too young, and everything after it */
        out->total_bytes += s->size;
        if (s->base_offset >= l->clean_first_dirty) {
            out->dirty_bytes += s->size;
            if (oldest_dirty < 0)
                oldest_dirty = s->created_ms;
        }
    }
    out->nsegs = k;
    if (k == 0)
        return;
    double ratio = out->total_bytes ? (double)out->dirty_bytes / (double)out->total_bytes : 0;
    if (out->dirty_bytes > 0 && ratio >= l->cfg.min_cleanable_ratio)
        out->priority = ratio;
    bool lagging = out->dirty_bytes > 0 && oldest_dirty >= 0 &&
                   now_ms - oldest_dirty >= l->cfg.max_compaction_lag_ms;
    if (lagging || now_ms >= l->clean_due_ms)
        out->priority = 2.0;
}

/* ---------------- the job ---------------- */

typedef struct job_seg {
    segment *seg; /* identity, checked at the commit */
    int64_t base, next_offset;
    uint64_t size;
    bool rewritten;
    uint64_t new_size;
} job_seg;

typedef struct cmp_job {
    uv_work_t req;
    compactor *c;        /* NULL for compact_run_sync */
    plog *log;           /* NULL once the log was closed or destroyed */
    char *remove_dir;    /* the log was destroyed: the directory to remove when done */
    char *name;
    int dirfd;           /* the partition directory, whatever it is renamed to */
    uint64_t cut_gen;    /* the log's at the start: a truncation since voids the pass */
    job_seg *segs;
    size_t nsegs, nused; /* planned; used (the key map may end the range early) */
    cmp_params params;
    int32_t index_interval;
    uint64_t map_cap;
    aborted_txn *aborted; /* marker order */
    size_t naborted;
    int cancel;          /* set by the loop (atomic) */
    /* results (worker) */
    int err;             /* 0 or -errno */
    bool fsync_failed;
    const char *what;
    int64_t *gone;
    size_t ngone;
    int64_t first_dirty, due_ms;
    cmp_counts counts;
    uint64_t bytes_in, bytes_out;
} cmp_job;

static void job_detach(void *job, const char *dir_to_remove)
{
    cmp_job *j = job;
    j->log = NULL;
    __atomic_store_n(&j->cancel, 1, __ATOMIC_RELEASE);
    if (dir_to_remove && !(j->remove_dir = strdup(dir_to_remove)))
        LOG_WARN("storage", "%s: out of memory; %s is removed at the next start", j->name,
                 dir_to_remove);
}

static bool job_cancelled(cmp_job *j) { return __atomic_load_n(&j->cancel, __ATOMIC_ACQUIRE); }

static void job_free(cmp_job *j)
{
    if (j->dirfd >= 0)
        close(j->dirfd);
    free(j->segs);
    free(j->aborted);
    free(j->gone);
    free(j->name);
    free(j->remove_dir);
    free(j);
}

/* Snapshots what the worker needs of l (loop thread). */
static cmp_job *job_new(plog *l, const cmp_plan *plan, int64_t now_ms, uint64_t map_cap)
{
    BROOK_ASSERT(plan->nsegs > 0 && plan->nsegs < l->nsegs && !l->job);
    cmp_job *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->dirfd = -1;
    j->name = strdup(l->name);
    j->segs = calloc(plan->nsegs, sizeof(*j->segs));
    if (!j->name || !j->segs)
        goto fail;
    j->nsegs = plan->nsegs;
    j->dirfd = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (j->dirfd < 0)
        goto fail;
    /* The worker opens each closed segment by name when it reads it (one descriptor at a
     * time, not one more per segment); a change of the log meanwhile voids the pass. */
    for (size_t i = 0; i < plan->nsegs; i++) {
        segment *s = l->segs[i];
        j->segs[i] = (job_seg){s, s->base_offset, s->next_offset, s->size, false, 0};
    }
    j->cut_gen = l->cut_gen;
    size_t n = 0;
    for (size_t i = 0; i < l->naborted; i++)
        n += l->aborted[i].first_offset < plan->bound;
    if (n > 0 && !(j->aborted = malloc(n * sizeof(*j->aborted))))
        goto fail;
    for (size_t i = 0; i < l->naborted; i++)
        if (l->aborted[i].first_offset < plan->bound)
            j->aborted[j->naborted++] = l->aborted[i];
    j->params = (cmp_params){.now_ms = now_ms,
                             .delete_retention_ms = l->cfg.delete_retention_ms,
                             .log_start_offset = l->log_start_offset,
                             .max_inflated = BROOK_COMPACT_INFLATE_MAX};
    j->index_interval = l->cfg.index_interval_bytes;
    j->map_cap = map_cap;
    j->log = l;
    l->job = j;
    l->job_detach = job_detach;
    return j;
fail:
    LOG_WARN("storage", "%s: cannot start a cleaning pass: %s", l->name, strerror(errno));
    job_free(j);
    return NULL;
}

/* Sequential whole-batch reader over a closed segment (worker). */
typedef struct seg_reader {
    int fd;
    uint64_t size, pos;
    uint8_t *buf;
    size_t cap, have, off;
} seg_reader;

/* Opens closed segment js of the job for reading. Returns 0 or -errno (-ENOENT: the
 * segment was deleted meanwhile). */
static int reader_open(seg_reader *r, int dirfd, const job_seg *js)
{
    char name[48];
    snprintf(name, sizeof(name), "%020" PRId64 ".log", js->base);
    *r = (seg_reader){.fd = -1, .size = js->size, .cap = READ_CHUNK};
    r->buf = malloc(r->cap);
    if (!r->buf)
        return -ENOMEM;
    if ((r->fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC)) < 0) {
        int rc = -errno;
        free(r->buf);
        r->buf = NULL;
        return rc;
    }
    return 0;
}

static void reader_close(seg_reader *r)
{
    if (r->fd >= 0)
        close(r->fd);
    free(r->buf);
    r->fd = -1;
    r->buf = NULL;
}

/* The next whole batch, CRC-checked: 1 with *b and *len (valid until the next call), 0 at
 * the end, -EIO on a read error, -EBADMSG when the bytes do not check (a closed segment
 * never has a torn or damaged batch: the job stops). */
static int reader_next(seg_reader *r, const uint8_t **b, size_t *len)
{
    for (;;) {
        size_t avail = r->have - r->off;
        if (avail >= RB_LOG_OVERHEAD) {
            int32_t blen = (int32_t)be32_get(r->buf + r->off + RB_OFF_LENGTH);
            if (blen < RB_HEADER_SIZE - RB_LOG_OVERHEAD)
                return -EBADMSG;
            size_t total = RB_LOG_OVERHEAD + (size_t)blen;
            if (avail >= total) {
                rb_header h;
                size_t t;
                if (rb_check_stored(r->buf + r->off, total, &h, &t) != RB_OK)
                    return -EBADMSG;
                *b = r->buf + r->off;
                *len = total;
                r->off += total;
                return 1;
            }
            if (total > r->cap) {
                uint8_t *nb = realloc(r->buf, total);
                if (!nb)
                    return -ENOMEM;
                r->buf = nb;
                r->cap = total;
            }
        }
        if (r->pos >= r->size)
            return avail == 0 ? 0 : -EBADMSG;
        memmove(r->buf, r->buf + r->off, avail);
        r->have = avail;
        r->off = 0;
        size_t want = r->cap - r->have;
        if (want > r->size - r->pos)
            want = (size_t)(r->size - r->pos);
        ssize_t got = pread(r->fd, r->buf + r->have, want, (off_t)r->pos);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -EIO;
        r->have += (size_t)got;
        r->pos += (uint64_t)got;
    }
}


static void tmp_name(char *out, size_t n, int64_t base, const char *ext)
{
    snprintf(out, n, "%020" PRId64 ".%s" TMP_SUFFIX, base, ext);
}

/* The sparse indexes of a rewritten segment, as log.c's seg_note_batch builds them (plus
 * the final time entry a roll adds). */
typedef struct idx_builder {
    int64_t base;
    int32_t interval;
    uint64_t since;
    int64_t max_ts, last_ts, last_offset;
    wr idx, tidx;
} idx_builder;

static void ib_init(idx_builder *ib, int64_t base, int32_t interval)
{
    *ib = (idx_builder){.base = base, .interval = interval, .max_ts = -1, .last_ts = -1,
                        .last_offset = -1};
    wr_init(&ib->idx, 256);
    wr_init(&ib->tidx, 256);
}

static void ib_time(idx_builder *ib, int64_t rel)
{
    uint8_t e[12];
    be64_put(e, (uint64_t)ib->max_ts);
    be32_put(e + 8, (uint32_t)rel);
    wr_raw(&ib->tidx, e, sizeof(e));
    ib->last_ts = ib->max_ts;
}

static void ib_note(idx_builder *ib, const uint8_t *b, uint64_t pos, uint64_t len)
{
    rb_header h;
    (void)rb_parse_header(b, RB_HEADER_SIZE, &h);
    if (h.max_timestamp > ib->max_ts)
        ib->max_ts = h.max_timestamp;
    if (ib->since >= (uint64_t)ib->interval) {
        uint8_t e[8];
        be32_put(e, (uint32_t)(h.base_offset - ib->base));
        be32_put(e + 4, (uint32_t)pos);
        wr_raw(&ib->idx, e, sizeof(e));
        ib->since = 0;
        if (ib->max_ts > ib->last_ts)
            ib_time(ib, h.base_offset - ib->base);
    }
    ib->since += len;
    ib->last_offset = rb_last_offset(&h);
}

static void ib_free(idx_builder *ib)
{
    wr_free(&ib->idx);
    wr_free(&ib->tidx);
}

/* Creates (truncating) one temporary file; returns the fd or -errno. */
static int tmp_open(cmp_job *j, int64_t base, const char *ext)
{
    char name[64];
    tmp_name(name, sizeof(name), base, ext);
    int fd = openat(j->dirfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    return fd >= 0 ? fd : -errno;
}

/* Writes and fsyncs one small temporary file. */
static int tmp_write_small(cmp_job *j, int64_t base, const char *ext, const void *p, size_t n)
{
    int fd = tmp_open(j, base, ext);
    if (fd < 0)
        return fd;
    int rc = fs_pwrite_all(fd, p, n, 0);
    if (rc == 0 && fdatasync(fd) != 0) {
        rc = -errno;
        j->fsync_failed = true;
    }
    close(fd);
    return rc;
}

/* The .txnindex of a rewritten segment: its aborted transactions whose marker stays. */
static int write_txnindex(cmp_job *j, cmp_pass *ps, const job_seg *js)
{
    size_t ngone;
    const int64_t *gone = cmp_pass_gone_aborts(ps, &ngone);
    wr w;
    wr_init(&w, 256);
    size_t g = 0;
    for (size_t i = 0; i < j->naborted; i++) {
        const aborted_txn *a = &j->aborted[i];
        while (g < ngone && gone[g] < a->last_offset)
            g++;
        if (a->last_offset < js->base || a->last_offset >= js->next_offset ||
            (g < ngone && gone[g] == a->last_offset))
            continue;
        uint8_t b[TXN_ENTRY_SIZE];
        be64_put(b, (uint64_t)a->pid);
        be64_put(b + 8, (uint64_t)a->first_offset);
        be64_put(b + 16, (uint64_t)a->last_offset);
        wr_raw(&w, b, sizeof(b));
    }
    int rc = w.oom ? -ENOMEM : tmp_write_small(j, js->base, "txnindex", w.p, w.len);
    wr_free(&w);
    return rc;
}

/* Copies the first n bytes of the old segment (batches the pass left as they were) into
 * the new file. */
static int copy_prefix(int from, int to, uint64_t n)
{
    uint8_t *buf = malloc(READ_CHUNK);
    if (!buf)
        return -ENOMEM;
    int rc = 0;
    for (uint64_t pos = 0; pos < n && rc == 0;) {
        size_t want = n - pos < READ_CHUNK ? (size_t)(n - pos) : READ_CHUNK;
        ssize_t got = pread(from, buf, want, (off_t)pos);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            rc = -EIO;
            break;
        }
        rc = fs_pwrite_all(to, buf, (size_t)got, pos);
        pos += (uint64_t)got;
    }
    free(buf);
    return rc;
}

/* Feeds the batches of [p, p+n) (output stored at file position pos) to the index. */
static void ib_note_all(idx_builder *ib, const uint8_t *p, size_t n, uint64_t pos)
{
    for (size_t off = 0; off + RB_HEADER_SIZE <= n;) {
        size_t total = RB_LOG_OVERHEAD + be32_get(p + off + RB_OFF_LENGTH);
        ib_note(ib, p + off, pos + off, total);
        off += total;
    }
}

/* Where rewrite_segment's output stands. While the output is identical to the input it
 * is not kept (positions are the input's); at the first difference the file is created
 * and the identical prefix copied from the old segment. */
typedef struct seg_writer {
    int fd;
    uint64_t flushed; /* bytes in the file */
    uint64_t pos;     /* output bytes so far, flushed or in `out` */
} seg_writer;

/* Takes the bytes a filter call appended at out[before..]. */
static int take_output(cmp_job *j, job_seg *js, int in_fd, idx_builder *ib, seg_writer *sw,
                       wr *out, size_t before, const cmp_step *st)
{
    size_t produced = out->len - before;
    if (produced == 0)
        return 0;
    uint64_t at = sw->fd < 0 ? st->from_pos : sw->pos;
    ib_note_all(ib, out->p + before, produced, at);
    sw->pos = at + produced;
    if (sw->fd < 0 && !st->changed) {
        out->len = before; /* identical so far: the old file holds these bytes */
        return 0;
    }
    int rc = 0;
    if (sw->fd < 0) {
        if ((sw->fd = tmp_open(j, js->base, "log")) < 0) {
            rc = sw->fd;
            j->what = "create";
            return rc;
        }
        if ((rc = copy_prefix(in_fd, sw->fd, at)) != 0)
            return rc;
        sw->flushed = at;
        memmove(out->p, out->p + before, produced);
        out->len = produced;
    }
    if (out->len >= WRITE_FLUSH) {
        rc = fs_pwrite_all(sw->fd, out->p, out->len, sw->flushed);
        sw->flushed += out->len;
        out->len = 0;
    }
    return rc;
}

/* Phase 2 over one segment. The new file is created at the first batch that changes
 * (everything before is copied as it was); a segment nothing changes in gets no file. */
static int rewrite_segment(cmp_job *j, cmp_pass *ps, job_seg *js)
{
    seg_reader rdr;
    int rc = cmp_pass_filter_segment(ps, js->base);
    if (rc == 0)
        rc = reader_open(&rdr, j->dirfd, js);
    if (rc != 0)
        return rc;
    idx_builder ib;
    ib_init(&ib, js->base, j->index_interval);
    wr out;
    wr_init(&out, 64 * 1024);
    seg_writer sw = {.fd = -1};
    uint64_t in_pos = 0;
    const uint8_t *b;
    size_t len;
    cmp_step st;
    while (rc == 0 && (rc = reader_next(&rdr, &b, &len)) == 1) {
        rc = job_cancelled(j) ? -ECANCELED : 0;
        size_t before = out.len;
        if (rc == 0)
            rc = cmp_pass_filter(ps, b, len, in_pos, &out, &st);
        if (rc == 0)
            rc = out.oom ? -ENOMEM : take_output(j, js, rdr.fd, &ib, &sw, &out, before, &st);
        in_pos += len;
    }
    if (rc == 0) {
        size_t before = out.len;
        rc = cmp_pass_end_segment(ps, &out, &st);
        if (rc == 0)
            rc = take_output(j, js, rdr.fd, &ib, &sw, &out, before, &st);
    }
    if (rc == 0 && sw.fd >= 0 && out.len > 0)
        rc = fs_pwrite_all(sw.fd, out.p, out.len, sw.flushed);
    if (rc == 0 && sw.fd >= 0) {
        if (fdatasync(sw.fd) != 0 || fsync(j->dirfd) != 0) {
            rc = -errno;
            j->fsync_failed = true;
            j->what = "fsync";
        }
    }
    if (sw.fd >= 0)
        close(sw.fd);
    if (rc == 0 && sw.fd >= 0) {
        /* The .log.cleaned is named durably: now its companions (compact.h). */
        if (ib.max_ts > ib.last_ts && ib.last_offset >= js->base)
            ib_time(&ib, ib.last_offset - js->base);
        rc = ib.idx.oom || ib.tidx.oom ? -ENOMEM : 0;
        if (rc == 0)
            rc = tmp_write_small(j, js->base, "index", ib.idx.p, ib.idx.len);
        if (rc == 0)
            rc = tmp_write_small(j, js->base, "timeindex", ib.tidx.p, ib.tidx.len);
        if (rc == 0)
            rc = write_txnindex(j, ps, js);
        js->rewritten = rc == 0;
        js->new_size = sw.pos;
    }
    if (rc != 0 && !j->what)
        j->what = "rewrite";
    wr_free(&out);
    ib_free(&ib);
    reader_close(&rdr);
    return rc;
}

/* The old cleaner-state (missing or unreadable: empty). */
static void read_state(cmp_job *j, cmp_state *st)
{
    cmp_state_init(st);
    int fd = openat(j->dirfd, STATE_FILE, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat sb;
    char *text = NULL;
    if (fstat(fd, &sb) == 0 && sb.st_size < (1 << 30) && (text = malloc((size_t)sb.st_size + 1))) {
        ssize_t got = pread(fd, text, (size_t)sb.st_size, 0);
        if (got == sb.st_size) {
            text[got] = '\0';
            if (cmp_state_parse(text, st) != 0)
                cmp_state_init(st);
        }
    }
    free(text);
    close(fd);
}

/* Phase 1 over every planned segment, stopping after the one that fills the key map. */
static int scan_range(cmp_job *j, cmp_pass *ps)
{
    int rc = 0;
    for (size_t i = 0; i < j->nsegs && rc == 0; i++) {
        job_seg *js = &j->segs[i];
        seg_reader rdr;
        if ((rc = cmp_pass_scan_segment(ps, js->base)) != 0 ||
            (rc = reader_open(&rdr, j->dirfd, js)) != 0)
            break;
        const uint8_t *b;
        size_t len;
        while ((rc = reader_next(&rdr, &b, &len)) == 1) {
            if ((rc = cmp_pass_scan(ps, b, len)) != 0)
                break;
        }
        reader_close(&rdr);
        if (rc == 0 && job_cancelled(j))
            rc = -ECANCELED;
        if (rc != 0)
            break;
        j->nused = i + 1;
        j->bytes_in += js->size;
        if (cmp_pass_map_bytes(ps) > j->map_cap)
            break;
    }
    if (rc != 0 && !j->what)
        j->what = "scan";
    return rc;
}

/* The worker: everything but the commit. Touches only its own descriptors and files. */
static void job_work(cmp_job *j)
{
    cmp_state old, ns;
    read_state(j, &old);
    cmp_state_init(&ns);
    cmp_pass *ps = cmp_pass_new(&j->params, j->aborted, j->naborted, &old);
    int rc = ps ? scan_range(j, ps) : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < j->nused; i++) {
        rc = rewrite_segment(j, ps, &j->segs[i]);
        if (rc == 0)
            j->bytes_out += j->segs[i].rewritten ? j->segs[i].new_size : j->segs[i].size;
    }
    if (rc == 0)
        rc = cmp_pass_finish(ps, j->segs[j->nused - 1].next_offset, &ns);
    if (rc == 0) {
        wr w;
        wr_init(&w, 512);
        cmp_state_encode(&ns, &w);
        rc = w.oom ? -ENOMEM : 0;
        int fd = rc == 0 ? openat(j->dirfd, STATE_FILE TMP_SUFFIX,
                                  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)
                         : -1;
        if (rc == 0 && fd < 0)
            rc = -errno;
        if (rc == 0 && (rc = fs_pwrite_all(fd, w.p, w.len, 0)) == 0 &&
            (fdatasync(fd) != 0 || fsync(j->dirfd) != 0)) {
            rc = -errno;
            j->fsync_failed = true;
        }
        if (fd >= 0)
            close(fd);
        wr_free(&w);
        if (rc != 0 && !j->what)
            j->what = "state";
    }
    if (rc == 0) {
        size_t n;
        const int64_t *g = cmp_pass_gone_aborts(ps, &n);
        if (n > 0 && (j->gone = malloc(n * sizeof(*g))))
            memcpy(j->gone, g, n * sizeof(*g));
        else if (n > 0)
            rc = -ENOMEM;
        j->ngone = j->gone ? n : 0;
        j->first_dirty = ns.first_dirty;
        j->due_ms = ns.due_ms;
        j->counts = cmp_pass_counts(ps);
    }
    j->err = rc;
    cmp_state_free(&ns);
    cmp_state_free(&old);
    cmp_pass_free(ps);
}

/* ---------------- completion (loop thread) ---------------- */

/* Removes the job's temporaries: each segment's companions first and its .log.cleaned
 * last, so a crash in between never leaves companions that look committed. */
static void job_discard_files(cmp_job *j)
{
    static const char *const exts[] = {"index", "timeindex", "txnindex", "log"};
    char name[64];
    unlinkat(j->dirfd, STATE_FILE TMP_SUFFIX, 0);
    for (size_t i = 0; i < j->nsegs; i++)
        for (unsigned e = 0; e < BROOK_ARRAY_LEN(exts); e++) {
            tmp_name(name, sizeof(name), j->segs[i].base, exts[e]);
            unlinkat(j->dirfd, name, 0);
        }
}

/* Whether every segment the job read is still in the log as it was. */
static bool job_still_valid(const cmp_job *j, const plog *l)
{
    if (l->failed || !l->cfg.compact || l->nsegs <= j->nused || l->cut_gen != j->cut_gen ||
        l->log_start_offset < j->params.log_start_offset)
        return false;
    for (size_t i = 0; i < j->nused; i++) {
        const job_seg *js = &j->segs[i];
        const segment *s = l->segs[i];
        if (s != js->seg || s->base_offset != js->base || s->size != js->size ||
            s->next_offset != js->next_offset)
            return false;
    }
    return true;
}

static int rename_tmp(cmp_job *j, int64_t base, const char *ext)
{
    char from[64], to[64];
    tmp_name(from, sizeof(from), base, ext);
    snprintf(to, sizeof(to), "%020" PRId64 ".%s", base, ext);
    return renameat(j->dirfd, from, j->dirfd, to) == 0 ? 0 : -errno;
}

/* The commit (compact.h): every rewritten .log renamed in, the directory fsynced, then the
 * companions and the state, then the segments reopened. A failure after the first rename
 * fails the log and leaves the files to compact_recover_dir. Returns false when nothing
 * was renamed (the caller discards the temporaries). */
static bool job_commit(cmp_job *j, plog *l)
{
    size_t renamed = 0;
    int rc = 0;
    for (size_t i = 0; i < j->nused && rc == 0; i++)
        if (j->segs[i].rewritten && (rc = rename_tmp(j, j->segs[i].base, "log")) == 0)
            renamed++;
    if (rc != 0 && renamed == 0) {
        LOG_ERROR("storage", "%s: cannot rename a cleaned segment in: %s", l->name,
                  strerror(-rc));
        return false;
    }
    if (rc == 0 && renamed > 0 && fsync(j->dirfd) != 0)
        rc = -errno;
    static const char *const companions[] = {"index", "timeindex", "txnindex"};
    for (size_t i = 0; i < j->nused && rc == 0; i++)
        for (unsigned e = 0; e < BROOK_ARRAY_LEN(companions) && rc == 0; e++)
            if (j->segs[i].rewritten)
                rc = rename_tmp(j, j->segs[i].base, companions[e]);
    if (rc == 0 && renameat(j->dirfd, STATE_FILE TMP_SUFFIX, j->dirfd, STATE_FILE) != 0)
        rc = -errno;
    if (rc != 0) {
        LOG_ERROR("storage", "%s: committing a cleaning pass failed: %s; log is now read-only "
                  "(the next start finishes the swap)", l->name, strerror(-rc));
        l->failed = true;
        return true;
    }
    for (size_t i = 0; i < j->nused; i++)
        if (j->segs[i].rewritten &&
            log_segment_replaced(l, j->segs[i].base, j->gone, j->ngone) != LOG_OK)
            return true; /* the log failed, and said why */
    l->clean_loaded = true;
    l->clean_first_dirty = j->first_dirty;
    l->clean_due_ms = j->due_ms;
    return true;
}

/* On the loop when the worker is done (or the job was cancelled before it ran). Returns
 * whether the pass was applied. */
static bool job_complete(cmp_job *j, compact_stats *st, int64_t min_gap_ms)
{
    plog *l = j->log;
    if (l) {
        l->job = NULL;
        l->job_detach = NULL;
    }
    bool applied = false, committed = false;
    if (!l) {
        /* closed or deleted meanwhile: nothing to apply */
    } else if (j->fsync_failed) {
        LOG_ERROR("storage", "%s: fsync failed while cleaning (%s); log is now read-only",
                  l->name, j->what ? j->what : "?");
        l->failed = true;
    } else if (j->err == -ENOENT) {
        LOG_INFO("storage", "%s: a segment went during a cleaning pass; discarded", l->name);
    } else if (j->err != 0) {
        if (j->err != -ECANCELED)
            LOG_WARN("storage", "%s: cleaning pass failed at %s: %s", l->name,
                     j->what ? j->what : "start", strerror(-j->err));
    } else if (!job_still_valid(j, l)) {
        LOG_INFO("storage", "%s: log changed during a cleaning pass; discarded", l->name);
    } else {
        committed = job_commit(j, l);
        applied = committed && !l->failed;
    }
    if (!committed)
        job_discard_files(j);
    if (l && applied) {
        /* A removal held back is retried no sooner than the backoff: no pass loops. */
        int64_t floor_ms = sat_add(j->params.now_ms, min_gap_ms);
        if (l->clean_due_ms < floor_ms)
            l->clean_due_ms = floor_ms;
        size_t rewritten = 0;
        for (size_t i = 0; i < j->nused; i++)
            rewritten += j->segs[i].rewritten;
        LOG_INFO("storage", "%s: cleaned %zu segments (%zu rewritten): %" PRIu64 " -> %" PRIu64
                 " bytes, %" PRIu64 " of %" PRIu64 " records removed (%" PRIu64 " aborted, %"
                 PRIu64 " tombstones), %" PRIu64 " markers removed",
                 l->name, j->nused, rewritten, j->bytes_in, j->bytes_out,
                 j->counts.records_removed, j->counts.records_in, j->counts.aborted_removed,
                 j->counts.tombstones_removed, j->counts.markers_removed);
        if (st) {
            st->passes++;
            st->segments_rewritten += rewritten;
            st->bytes_cleaned += j->bytes_in;
            st->bytes_freed += j->bytes_in - j->bytes_out;
            st->records_removed += j->counts.records_removed;
        }
    } else {
        if (l)
            l->clean_retry_ms = sat_add(j->params.now_ms, min_gap_ms > 1000 ? min_gap_ms : 1000);
        if (st)
            st->passes_failed++;
    }
    if (j->remove_dir) {
        int rc = fs_remove_tree(j->remove_dir);
        if (rc != 0)
            LOG_WARN("storage", "cannot remove %s: %s", j->remove_dir, strerror(-rc));
    }
    job_free(j);
    return applied;
}

/* ---------------- the compactor ---------------- */

struct compactor {
    uv_loop_t *loop;
    compact_config cfg;
    cmp_job *job;
    bool stopping;
    void (*on_idle)(void *ctx);
    void *ctx;
    compact_stats stats;
};

int compactor_start(uv_loop_t *loop, const compact_config *cfg, void (*on_idle)(void *ctx),
                    void *ctx, compactor **out)
{
    compactor *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->loop = loop;
    c->cfg = *cfg;
    c->on_idle = on_idle;
    c->ctx = ctx;
    *out = c;
    return 0;
}

void compactor_configure(compactor *c, const compact_config *cfg) { c->cfg = *cfg; }

bool compactor_busy(const compactor *c) { return c->job != NULL; }

compact_stats compactor_get_stats(const compactor *c) { return c->stats; }

static void on_work(uv_work_t *req) { job_work(req->data); }

static void on_work_done(uv_work_t *req, int status)
{
    cmp_job *j = req->data;
    compactor *c = j->c;
    if (status == UV_ECANCELED && j->err == 0)
        j->err = -ECANCELED;
    c->job = NULL;
    job_complete(j, &c->stats, c->cfg.backoff_ms);
    if (c->stopping) {
        free(c);
        return;
    }
    if (c->on_idle)
        c->on_idle(c->ctx);
}

int compactor_run(compactor *c, plog *l, const cmp_plan *plan, int64_t now_ms)
{
    if (c->job)
        return -EBUSY;
    if (c->stopping || !c->cfg.enable || plan->nsegs == 0)
        return -EINVAL;
    cmp_job *j = job_new(l, plan, now_ms, c->cfg.dedupe_buffer_bytes);
    if (!j)
        return -ENOMEM;
    j->c = c;
    j->req.data = j;
    int rc = uv_queue_work(c->loop, &j->req, on_work, on_work_done);
    if (rc != 0) {
        l->job = NULL;
        l->job_detach = NULL;
        job_discard_files(j);
        job_free(j);
        return rc;
    }
    c->job = j;
    return 0;
}

void compactor_stop(compactor *c)
{
    if (!c->job) {
        free(c);
        return;
    }
    c->stopping = true;
    __atomic_store_n(&c->job->cancel, 1, __ATOMIC_RELEASE);
    uv_cancel((uv_req_t *)&c->job->req); /* not started yet: its completion runs at once */
}

int compact_run_sync(plog *l, int64_t hw, int64_t now_ms, uint64_t dedupe_buffer_bytes,
                     compact_stats *st)
{
    compact_stats local = {0};
    cmp_plan plan;
    cmp_plan_log(l, hw, now_ms, &plan);
    if (plan.nsegs > 0) {
        cmp_job *j = job_new(l, &plan, now_ms, dedupe_buffer_bytes);
        if (!j)
            return -ENOMEM;
        job_work(j);
        int rc = j->err;
        bool failed_fsync = j->fsync_failed;
        if (!job_complete(j, &local, 0) && rc == 0)
            rc = failed_fsync ? -EIO : -EAGAIN;
        if (st)
            *st = local;
        return rc;
    }
    if (st)
        *st = local;
    return 0;
}

/* ---------------- recovery ---------------- */

/* Parses "<20 digits>.<ext>.cleaned"; *ext_out points into name. */
static bool parse_tmp(const char *name, int64_t *base, char *ext, size_t extlen)
{
    size_t n = strlen(name), sl = strlen(TMP_SUFFIX);
    if (n <= 21 + sl || name[20] != '.' || strcmp(name + n - sl, TMP_SUFFIX) != 0)
        return false;
    for (int i = 0; i < 20; i++)
        if (name[i] < '0' || name[i] > '9')
            return false;
    size_t el = n - sl - 21;
    if (el >= extlen)
        return false;
    memcpy(ext, name + 21, el);
    ext[el] = '\0';
    if (strcmp(ext, "log") && strcmp(ext, "index") && strcmp(ext, "timeindex") &&
        strcmp(ext, "txnindex"))
        return false;
    char num[21];
    memcpy(num, name, 20);
    num[20] = '\0';
    *base = strtoll(num, NULL, 10);
    return true;
}

typedef struct tmp_file {
    int64_t base;
    char ext[16];
} tmp_file;

static int cmp_tmp(const void *a, const void *b)
{
    const tmp_file *x = a, *y = b;
    if (x->base != y->base)
        return x->base < y->base ? -1 : 1;
    /* "log" last: companions are dealt with before it */
    return (strcmp(x->ext, "log") == 0) - (strcmp(y->ext, "log") == 0);
}

int compact_recover_dir(const char *dir, const char *name)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    tmp_file *v = NULL;
    size_t n = 0, cap = 0;
    bool changed = false;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, STATE_FILE TMP_SUFFIX) == 0) {
            char p[PATH_MAX];
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
            if (unlink(p) == 0)
                changed = true;
            continue;
        }
        tmp_file t;
        if (!parse_tmp(e->d_name, &t.base, t.ext, sizeof(t.ext)))
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            tmp_file *nv = realloc(v, nc * sizeof(*nv));
            if (!nv) {
                rc = -ENOMEM;
                break;
            }
            v = nv;
            cap = nc;
        }
        v[n++] = t;
    }
    closedir(d);
    if (rc == 0 && n > 0)
        qsort(v, n, sizeof(*v), cmp_tmp);
    for (size_t i = 0; rc == 0 && i < n;) {
        size_t k = i;
        bool has_log = false;
        while (k < n && v[k].base == v[i].base)
            has_log = has_log || strcmp(v[k++].ext, "log") == 0;
        char from[PATH_MAX], to[PATH_MAX], logp[PATH_MAX];
        snprintf(logp, sizeof(logp), "%s/%020" PRId64 ".log", dir, v[i].base);
        bool roll_forward = !has_log && access(logp, F_OK) == 0;
        for (size_t m = i; m < k && rc == 0; m++) {
            snprintf(from, sizeof(from), "%s/%020" PRId64 ".%s" TMP_SUFFIX, dir, v[m].base,
                     v[m].ext);
            snprintf(to, sizeof(to), "%s/%020" PRId64 ".%s", dir, v[m].base, v[m].ext);
            if (roll_forward ? rename(from, to) != 0 : unlink(from) != 0)
                rc = -errno;
            changed = true;
        }
        LOG_INFO("storage", "%s: %s the interrupted cleaning of segment %" PRId64, name,
                 roll_forward ? "finished" : "undid", v[i].base);
        i = k;
    }
    free(v);
    if (rc == 0 && changed)
        rc = fs_fsync_dir(dir);
    if (rc != 0)
        LOG_ERROR("storage", "%s: cannot recover an interrupted cleaning in %s: %s", name, dir,
                  strerror(-rc));
    return rc;
}
