/*
 * proto_testutil.h - helpers for the protocol codec tests (test_proto_msgs.c,
 * test_proto_fetch12.c): requests written by hand after a request header, the robustness
 * check every request goes through (every cut refused, no byte substitution reads past the
 * end, on exact-size heap copies so AddressSanitizer sees any overread), and a byte builder
 * for the expected bytes of a response, written independently of wr_*.
 */
#ifndef BROOK_TESTS_PROTO_TESTUTIL_H
#define BROOK_TESTS_PROTO_TESTUTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "proto/api.h"
#include "proto/msgs.h"
#include "testutil.h"

/* ---- requests ---- */

/* Starts a request in w: header v1, or v2 (a tag buffer after the client id, and w->flex
 * set for the body) when the version is flexible. The correlation id is 1000 + version. */
static inline void req_start(wr *w, int16_t key, int16_t version)
{
    wr_init(w, 64);
    wr_i16(w, key);
    wr_i16(w, version);
    wr_i32(w, 1000 + version);
    wr_cstr(w, "test-client");
    if (api_is_flexible(key, version)) {
        w->flex = true;
        wr_tags(w); /* request header v2 */
    }
}

/* Header and body of a request through the generic entry point, on an exact-size heap
 * copy of the first n bytes (byte `pos` replaced by `val` when pos < n). */
static inline int decode_copy(const wr *w, size_t n, size_t pos, uint8_t val, size_t *off_out)
{
    uint8_t *p = malloc(n ? n : 1);
    if (n)
        memcpy(p, w->p, n);
    if (pos < n)
        p[pos] = val;
    rd r;
    rd_init(&r, p, n);
    req_header h;
    arena a;
    arena_init(&a);
    int rc = -1;
    if (req_header_decode(&r, &h) == 0 && api_version_supported(h.api_key, h.api_version))
        rc = msgs_decode_any(h.api_key, h.api_version, &r, &a);
    *off_out = r.off;
    arena_free(&a);
    free(p);
    return rc;
}

/* The whole request in w through the generic entry point: its decoder's result. */
static inline int decode_whole(const wr *w)
{
    size_t off;
    return decode_copy(w, w->len, SIZE_MAX, 0, &off);
}

/* The whole request decodes to its last byte; every shorter cut is refused; no byte
 * substitution makes the decoder read past the end. */
static inline void check_robust(const wr *w, const char *what)
{
    size_t off = 0;
    if (!CHECK_EQ_INT(decode_copy(w, w->len, SIZE_MAX, 0, &off), 0) || !CHECK_EQ_INT(off, w->len))
        printf("  (%s: the whole request)\n", what);
    int accepted = 0;
    for (size_t n = 0; n < w->len; n++) {
        if (decode_copy(w, n, SIZE_MAX, 0, &off) != -1 && accepted++ < 3)
            printf("  %s: accepted when cut to %zu of %zu bytes\n", what, n, w->len);
    }
    CHECK_EQ_INT(accepted, 0);
    static const uint8_t vals[] = {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff};
    int overran = 0;
    for (size_t pos = 0; pos < w->len; pos++)
        for (size_t v = 0; v < sizeof(vals); v++)
            if (decode_copy(w, w->len, pos, vals[v], &off) == 0 && off > w->len)
                overran++;
    CHECK_EQ_INT(overran, 0);
}

/* The request-level fields of a Fetch request at version v, written by hand in the order of
 * Kafka's FetchRequest schema: replica id, max wait, min and max bytes, isolation level,
 * then the session id and epoch from v7. */
static inline void write_fetch_head(wr *w, int16_t v, const fetch_req *head)
{
    wr_i32(w, head->replica_id);
    wr_i32(w, head->max_wait_ms);
    wr_i32(w, head->min_bytes);
    wr_i32(w, head->max_bytes);
    wr_i8(w, head->isolation_level);
    if (v >= 7) {
        wr_i32(w, head->session_id);
        wr_i32(w, head->session_epoch);
    }
}

/* The request-level fields of a decoded Fetch request are those of want (its topics, rack
 * and cluster id are not compared). */
static inline bool check_fetch_head(const fetch_req *got, const fetch_req *want)
{
    bool ok = CHECK_EQ_INT(got->replica_id, want->replica_id);
    ok &= CHECK_EQ_INT(got->max_wait_ms, want->max_wait_ms);
    ok &= CHECK_EQ_INT(got->min_bytes, want->min_bytes);
    ok &= CHECK_EQ_INT(got->max_bytes, want->max_bytes);
    ok &= CHECK_EQ_INT(got->isolation_level, want->isolation_level);
    ok &= CHECK_EQ_INT(got->session_id, want->session_id);
    ok &= CHECK_EQ_INT(got->session_epoch, want->session_epoch);
    return ok;
}

/* ---- expected bytes, big-endian, written out by hand ---- */

/* w holds exactly the n bytes at want; says what otherwise. */
static inline bool check_bytes(const wr *w, const uint8_t *want, size_t n, const char *what)
{
    bool ok = CHECK(!w->oom);
    ok &= CHECK_EQ_INT(w->len, n);
    ok &= CHECK_EQ_MEM(w->p, want, n < w->len ? n : w->len);
    if (!ok)
        printf("  (%s)\n", what);
    return ok;
}

/* A literal byte layout of a message at one version. */
typedef struct lit_bytes {
    const uint8_t *bytes;
    size_t n;
    int16_t v;
} lit_bytes;

typedef struct bb {
    uint8_t b[2048];
    size_t n;
} bb;

static inline void b8(bb *x, unsigned v) { x->b[x->n++] = (uint8_t)v; }
static inline void b16(bb *x, int v)
{
    b8(x, ((unsigned)v >> 8) & 0xff);
    b8(x, (unsigned)v & 0xff);
}
static inline void b32(bb *x, int64_t v)
{
    for (int s = 24; s >= 0; s -= 8)
        b8(x, (unsigned)(((uint64_t)v >> s) & 0xff));
}
static inline void b64(bb *x, int64_t v)
{
    for (int s = 56; s >= 0; s -= 8)
        b8(x, (unsigned)(((uint64_t)v >> s) & 0xff));
}
/* A classic nullable string: int16 length (-1 for NULL), then the bytes. */
static inline void bstr(bb *x, const char *s)
{
    if (!s) {
        b16(x, -1);
        return;
    }
    b16(x, (int)strlen(s));
    memcpy(x->b + x->n, s, strlen(s));
    x->n += strlen(s);
}
/* A compact string shorter than 127 bytes: its length + 1 in one byte, then the bytes. */
static inline void bcstr(bb *x, const char *s)
{
    b8(x, (unsigned)strlen(s) + 1);
    memcpy(x->b + x->n, s, strlen(s));
    x->n += strlen(s);
}

/* w holds exactly the bytes of want; says what otherwise. */
static inline bool check_body(const wr *w, const bb *want, const char *what)
{
    return check_bytes(w, want->b, want->n, what);
}

#endif
