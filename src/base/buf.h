/*
 * buf.h - bounds-checked readers and growable writers for wire and disk formats.
 *
 * Owns: big-endian integers, zigzag varints, and Kafka's classic and compact (flexible)
 * strings, bytes and arrays. A reader latches its first error: every getter after an
 * underflow returns zero, so a decoder checks `rd.err` once at the end (and in loops).
 * Never: reads past the bytes it was given, or allocates for a reader.
 *
 * Ownership: a reader borrows its bytes; slices it returns point into them. A writer owns
 * its heap buffer until wr_take() hands it to the caller; wr_free() releases it.
 */
#ifndef BROOK_BASE_BUF_H
#define BROOK_BASE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A borrowed byte range; len < 0 means null (Kafka nullable string/bytes). */
typedef struct kslice {
    const uint8_t *p;
    int32_t len;
} kslice;

#define KSLICE_NULL ((kslice){NULL, -1})
static inline kslice kslice_cstr(const char *s)
{
    return (kslice){(const uint8_t *)s, s ? (int32_t)strlen(s) : -1};
}
static inline bool kslice_eq_cstr(kslice s, const char *c)
{
    size_t n = strlen(c);
    return s.len >= 0 && (size_t)s.len == n && memcmp(s.p, c, n) == 0;
}

enum rd_err { RD_OK = 0, RD_UNDERFLOW = 1, RD_BAD_LENGTH = 2, RD_BAD_VARINT = 3 };

typedef struct rd {
    const uint8_t *p;
    size_t len;
    size_t off;
    int err;  /* enum rd_err, sticky */
    bool flex; /* compact strings/arrays and tagged fields */
} rd;

static inline void rd_init(rd *r, const void *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->off = 0;
    r->err = RD_OK;
    r->flex = false;
}
static inline size_t rd_remaining(const rd *r) { return r->err ? 0 : r->len - r->off; }
static inline const uint8_t *rd_cur(const rd *r) { return r->p + r->off; }

int8_t rd_i8(rd *r);
int16_t rd_i16(rd *r);
int32_t rd_i32(rd *r);
int64_t rd_i64(rd *r);
uint32_t rd_u32(rd *r);
bool rd_bool(rd *r);
/* Unsigned LEB128 (Kafka UNSIGNED_VARINT), at most 5 bytes. */
uint32_t rd_uvarint(rd *r);
/* Zigzag varint / varlong (record fields). */
int32_t rd_varint(rd *r);
int64_t rd_varlong(rd *r);
/* Skips n bytes. */
void rd_skip(rd *r, size_t n);
/* Borrows n raw bytes; returns NULL on underflow. */
const uint8_t *rd_raw(rd *r, size_t n);
/* STRING / NULLABLE_STRING, or COMPACT_* when r->flex. */
kslice rd_str(rd *r);
/* BYTES / NULLABLE_BYTES, or COMPACT_* when r->flex. */
kslice rd_bytes(rd *r);
/* Array count: int32 (-1 = null) or compact uvarint (0 = null). Returns -1 for null.
 * A count larger than the remaining bytes (min_elem_size each) or BROOK_ARRAY_MAX latches
 * RD_BAD_LENGTH, so a decoder never allocates for a lie. */
int32_t rd_array(rd *r, size_t min_elem_size);
/* Skips a tagged-field buffer when r->flex (no-op otherwise). */
void rd_tags(rd *r);

/* A range of a file that goes to the socket in place of bytes (sendfile). A handler that
 * wants a BYTES field sent from a file gives the writer a table of spans (wr_set_spans) and
 * points the field's kslice at one of them ({(const uint8_t *)&spans[i], spans[i].len});
 * wr_bytes then writes the length prefix and records a splice at that point instead of
 * copying. fd is borrowed: the network layer dups it when it takes the response. The span
 * is only valid while *guard == guard_val (a count the log bumps when it truncates): the
 * network layer checks that before sending each piece and closes the connection otherwise. */
typedef struct wr_file_span {
    int fd;
    uint64_t pos;
    size_t len;
    const uint64_t *guard;
    uint64_t guard_val;
} wr_file_span;
typedef struct wr_splice {
    size_t at; /* the span goes out before buffer byte `at` */
    wr_file_span span;
} wr_splice;

typedef struct wr {
    uint8_t *p;
    size_t len;
    size_t cap;
    bool oom;
    bool flex;
    const wr_file_span *spans; /* borrowed stand-ins table (wr_set_spans), or NULL */
    size_t nspans;
    wr_splice *splices; /* owned; in buffer order */
    size_t nsplices, splices_cap;
    uint64_t spliced; /* bytes the splices add to the message */
} wr;

void wr_init(wr *w, size_t initial_cap);
/* Frees the buffer and the splices. */
void wr_free(wr *w);
/* Lets wr_bytes recognise kslices that point into spans[0..n) (borrowed; NULL, 0: none). */
void wr_set_spans(wr *w, const wr_file_span *spans, size_t n);
/* Transfers the buffer to the caller (free() it); the writer is empty afterwards. Not for a
 * writer with splices (asserted): the network layer reads those in place. */
uint8_t *wr_take(wr *w, size_t *len_out);
void wr_reserve(wr *w, size_t extra);
void wr_raw(wr *w, const void *p, size_t n);
void wr_i8(wr *w, int8_t v);
void wr_i16(wr *w, int16_t v);
void wr_i32(wr *w, int32_t v);
void wr_i64(wr *w, int64_t v);
void wr_u32(wr *w, uint32_t v);
void wr_bool(wr *w, bool v);
void wr_uvarint(wr *w, uint32_t v);
void wr_varint(wr *w, int32_t v);
void wr_varlong(wr *w, int64_t v);
void wr_str(wr *w, kslice s);
void wr_cstr(wr *w, const char *s); /* NULL writes a null string */
void wr_bytes(wr *w, kslice b);
/* Array header for n elements (n < 0: null). */
void wr_array(wr *w, int32_t n);
/* An empty tagged-field buffer when w->flex. */
void wr_tags(wr *w);
/* Overwrites 4 bytes at off with a big-endian value (for length prefixes). */
void wr_put_i32_at(wr *w, size_t off, int32_t v);

/* Endian helpers on raw memory. */
static inline uint16_t be16_get(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t be32_get(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t be64_get(const uint8_t *p)
{
    return (uint64_t)be32_get(p) << 32 | be32_get(p + 4);
}
static inline void be16_put(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void be64_put(uint8_t *p, uint64_t v)
{
    be32_put(p, (uint32_t)(v >> 32));
    be32_put(p + 4, (uint32_t)v);
}

/* Room for element n of an array of `elem`-byte elements holding *cap: returns v when
 * n < *cap, else v grown (doubled, at least `first`) with *cap updated; NULL when out of
 * memory (v and *cap unchanged, still the caller's). */
void *array_grow(void *v, size_t *cap, size_t n, size_t elem, size_t first);

#endif
