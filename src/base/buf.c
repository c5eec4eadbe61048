/* buf.c - see buf.h. */
#include "base/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/limits.h"

static inline bool rd_need(rd *r, size_t n)
{
    if (r->err)
        return false;
    if (r->len - r->off < n) {
        r->err = RD_UNDERFLOW;
        return false;
    }
    return true;
}

int8_t rd_i8(rd *r)
{
    if (!rd_need(r, 1))
        return 0;
    return (int8_t)r->p[r->off++];
}

int16_t rd_i16(rd *r)
{
    if (!rd_need(r, 2))
        return 0;
    int16_t v = (int16_t)be16_get(r->p + r->off);
    r->off += 2;
    return v;
}

int32_t rd_i32(rd *r) { return (int32_t)rd_u32(r); }

uint32_t rd_u32(rd *r)
{
    if (!rd_need(r, 4))
        return 0;
    uint32_t v = be32_get(r->p + r->off);
    r->off += 4;
    return v;
}

int64_t rd_i64(rd *r)
{
    if (!rd_need(r, 8))
        return 0;
    int64_t v = (int64_t)be64_get(r->p + r->off);
    r->off += 8;
    return v;
}

bool rd_bool(rd *r) { return rd_i8(r) != 0; }

static uint64_t rd_uvarint_n(rd *r, int max_bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < max_bytes; i++) {
        if (!rd_need(r, 1))
            return 0;
        uint8_t b = r->p[r->off++];
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80))
            return v;
    }
    r->err = RD_BAD_VARINT;
    return 0;
}

uint32_t rd_uvarint(rd *r)
{
    uint64_t v = rd_uvarint_n(r, 5);
    if (v > UINT32_MAX) {
        r->err = RD_BAD_VARINT;
        return 0;
    }
    return (uint32_t)v;
}

int32_t rd_varint(rd *r)
{
    uint64_t v = rd_uvarint_n(r, 5);
    if (v > UINT32_MAX) {
        r->err = RD_BAD_VARINT;
        return 0;
    }
    uint32_t u = (uint32_t)v;
    return (int32_t)((u >> 1) ^ -(u & 1));
}

int64_t rd_varlong(rd *r)
{
    uint64_t u = rd_uvarint_n(r, 10);
    return (int64_t)((u >> 1) ^ -(u & 1));
}

void rd_skip(rd *r, size_t n)
{
    if (rd_need(r, n))
        r->off += n;
}

const uint8_t *rd_raw(rd *r, size_t n)
{
    if (!rd_need(r, n))
        return NULL;
    const uint8_t *p = r->p + r->off;
    r->off += n;
    return p;
}

static kslice rd_slice(rd *r, int64_t len)
{
    if (r->err)
        return KSLICE_NULL;
    if (len < 0)
        return KSLICE_NULL;
    if (len > INT32_MAX) {
        r->err = RD_BAD_LENGTH;
        return KSLICE_NULL;
    }
    const uint8_t *p = rd_raw(r, (size_t)len);
    if (!p)
        return KSLICE_NULL;
    return (kslice){p, (int32_t)len};
}

kslice rd_str(rd *r)
{
    if (r->flex)
        return rd_slice(r, (int64_t)rd_uvarint(r) - 1);
    return rd_slice(r, rd_i16(r));
}

kslice rd_bytes(rd *r)
{
    if (r->flex)
        return rd_slice(r, (int64_t)rd_uvarint(r) - 1);
    return rd_slice(r, rd_i32(r));
}

int32_t rd_array(rd *r, size_t min_elem_size)
{
    int64_t n = r->flex ? (int64_t)rd_uvarint(r) - 1 : rd_i32(r);
    if (r->err || n < 0)
        return -1;
    if (min_elem_size == 0)
        min_elem_size = 1;
    if (n > BROOK_ARRAY_MAX || (uint64_t)n * min_elem_size > rd_remaining(r)) {
        r->err = RD_BAD_LENGTH;
        return -1;
    }
    return (int32_t)n;
}

void rd_tags(rd *r)
{
    if (!r->flex)
        return;
    uint32_t n = rd_uvarint(r);
    for (uint32_t i = 0; i < n && !r->err; i++) {
        (void)rd_uvarint(r); /* tag */
        uint32_t size = rd_uvarint(r);
        rd_skip(r, size);
    }
}

void wr_init(wr *w, size_t initial_cap)
{
    memset(w, 0, sizeof(*w));
    w->len = 0;
    w->oom = false;
    w->flex = false;
    w->cap = initial_cap ? initial_cap : 256;
    w->p = malloc(w->cap);
    if (!w->p) {
        w->cap = 0;
        w->oom = true;
    }
}

void wr_free(wr *w)
{
    free(w->p);
    free(w->splices);
    w->p = NULL;
    w->splices = NULL;
    w->len = w->cap = w->nsplices = w->splices_cap = 0;
    w->spliced = 0;
}

void wr_set_spans(wr *w, const wr_file_span *spans, size_t n)
{
    w->spans = spans;
    w->nspans = n;
}

uint8_t *wr_take(wr *w, size_t *len_out)
{
    BROOK_ASSERT(w->nsplices == 0);
    uint8_t *p = w->p;
    *len_out = w->len;
    w->p = NULL;
    w->len = w->cap = 0;
    return p;
}

void wr_reserve(wr *w, size_t extra)
{
    if (w->oom || w->len + extra <= w->cap)
        return;
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->len + extra)
        cap *= 2;
    uint8_t *p = realloc(w->p, cap);
    if (!p) {
        w->oom = true;
        return;
    }
    w->p = p;
    w->cap = cap;
}

void wr_raw(wr *w, const void *p, size_t n)
{
    wr_reserve(w, n);
    if (w->oom || n == 0)
        return;
    memcpy(w->p + w->len, p, n);
    w->len += n;
}

void wr_i8(wr *w, int8_t v) { wr_raw(w, &v, 1); }
void wr_bool(wr *w, bool v) { wr_i8(w, v ? 1 : 0); }

void wr_i16(wr *w, int16_t v)
{
    uint8_t b[2];
    be16_put(b, (uint16_t)v);
    wr_raw(w, b, 2);
}

void wr_i32(wr *w, int32_t v) { wr_u32(w, (uint32_t)v); }

void wr_u32(wr *w, uint32_t v)
{
    uint8_t b[4];
    be32_put(b, v);
    wr_raw(w, b, 4);
}

void wr_i64(wr *w, int64_t v)
{
    uint8_t b[8];
    be64_put(b, (uint64_t)v);
    wr_raw(w, b, 8);
}

static void wr_uvarint64(wr *w, uint64_t v)
{
    uint8_t b[10];
    int n = 0;
    while (v >= 0x80) {
        b[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b[n++] = (uint8_t)v;
    wr_raw(w, b, (size_t)n);
}

void wr_uvarint(wr *w, uint32_t v) { wr_uvarint64(w, v); }
/* Zigzag on unsigned values: shifting a negative signed value is undefined behaviour. */
void wr_varint(wr *w, int32_t v) { wr_uvarint64(w, ((uint32_t)v << 1) ^ (uint32_t)(v >> 31)); }
void wr_varlong(wr *w, int64_t v) { wr_uvarint64(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63)); }

void wr_str(wr *w, kslice s)
{
    if (w->flex)
        wr_uvarint(w, (uint32_t)(s.len + 1));
    else
        wr_i16(w, (int16_t)s.len);
    if (s.len > 0)
        wr_raw(w, s.p, (size_t)s.len);
}

void wr_cstr(wr *w, const char *s) { wr_str(w, kslice_cstr(s)); }

/* The span b stands for, when b points into the writer's spans table. Compared as
 * integers: b.p may point anywhere. */
static const wr_file_span *wr_span_of(const wr *w, kslice b)
{
    uintptr_t p = (uintptr_t)b.p, lo = (uintptr_t)w->spans;
    if (w->nspans == 0 || p < lo || p >= lo + w->nspans * sizeof(wr_file_span))
        return NULL;
    BROOK_ASSERT((p - lo) % sizeof(wr_file_span) == 0);
    return (const wr_file_span *)b.p;
}

/* Records that span goes out at the writer's current end. */
static void wr_add_splice(wr *w, const wr_file_span *span)
{
    if (w->oom)
        return;
    if (w->nsplices == w->splices_cap) {
        size_t cap = w->splices_cap ? w->splices_cap * 2 : 8;
        wr_splice *n = realloc(w->splices, cap * sizeof(*n));
        if (!n) {
            w->oom = true;
            return;
        }
        w->splices = n;
        w->splices_cap = cap;
    }
    w->splices[w->nsplices++] = (wr_splice){w->len, *span};
    w->spliced += span->len;
}

void wr_bytes(wr *w, kslice b)
{
    if (w->flex)
        wr_uvarint(w, (uint32_t)(b.len + 1));
    else
        wr_i32(w, b.len);
    const wr_file_span *span = b.len > 0 ? wr_span_of(w, b) : NULL;
    if (span) {
        BROOK_ASSERT(span->len == (size_t)b.len);
        wr_add_splice(w, span);
    } else if (b.len > 0) {
        wr_raw(w, b.p, (size_t)b.len);
    }
}

void wr_array(wr *w, int32_t n)
{
    if (w->flex)
        wr_uvarint(w, (uint32_t)(n + 1));
    else
        wr_i32(w, n);
}

void wr_tags(wr *w)
{
    if (w->flex)
        wr_uvarint(w, 0);
}

void wr_put_i32_at(wr *w, size_t off, int32_t v)
{
    if (w->oom)
        return;
    BROOK_ASSERT(off + 4 <= w->len);
    be32_put(w->p + off, (uint32_t)v);
}

void *array_grow(void *v, size_t *cap, size_t n, size_t elem, size_t first)
{
    if (n < *cap)
        return v;
    size_t nc = *cap ? *cap * 2 : first;
    if (nc <= n)
        nc = n + 1;
    void *nv = realloc(v, nc * elem);
    if (nv)
        *cap = nc;
    return nv;
}
