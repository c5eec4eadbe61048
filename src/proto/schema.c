/* schema.c - see schema.h. */
#include "proto/schema.h"

#include <string.h>

#include "base/assert.h"
#include "proto/ident.h"

static bool in_version(const pf_field *f, int16_t v) { return v >= f->vmin && v <= f->vmax; }

static void *at(void *base, size_t off) { return (char *)base + off; }
static const void *cat(const void *base, size_t off) { return (const char *)base + off; }

static bool is_array(int type)
{
    return type == PF_STRUCTS || type == PF_I32S || type == PF_I64S || type == PF_STRS ||
           type == PF_IDENTS;
}

/* The smallest encoding of one element of s at version v: what an array count is checked
 * against (so a lying count is refused before anything is allocated). */
static size_t min_size(const pf_schema *s, int16_t v, bool flex)
{
    size_t n = flex && !s->untagged ? 1 : 0; /* its tag buffer */
    for (int i = 0; i < s->nfields; i++) {
        const pf_field *f = &s->fields[i];
        if (!in_version(f, v) || f->tag >= 0)
            continue;
        switch (f->type) {
        case PF_BOOL:
        case PF_I8: n += 1; break;
        case PF_I16: n += 2; break;
        case PF_I32: n += 4; break;
        case PF_I64: n += 8; break;
        case PF_UUID: n += 16; break;
        case PF_STR:
        case PF_CSTR:
        case PF_IDENT: n += flex ? 1 : 2; break;
        case PF_STRUCT: n += min_size(f->elem, v, flex); break;
        case PF_STRUCTP: n += v >= f->null_from ? 1 : min_size(f->elem, v, flex); break;
        default: n += flex ? 1 : 4; break; /* bytes and arrays */
        }
    }
    return n;
}

static void set_int(void *p, int type, int64_t x)
{
    switch (type) {
    case PF_BOOL: *(bool *)p = x != 0; break;
    case PF_I8: *(int8_t *)p = (int8_t)x; break;
    case PF_I16: *(int16_t *)p = (int16_t)x; break;
    case PF_I32: *(int32_t *)p = (int32_t)x; break;
    case PF_I64: *(int64_t *)p = x; break;
    default: BROOK_ASSERT(0);
    }
}

static int64_t get_int(const void *p, int type)
{
    switch (type) {
    case PF_BOOL: return *(const bool *)p;
    case PF_I8: return *(const int8_t *)p;
    case PF_I16: return *(const int16_t *)p;
    case PF_I32: return *(const int32_t *)p;
    case PF_I64: return *(const int64_t *)p;
    default: BROOK_ASSERT(0);
    }
    return 0;
}

/* A field absent from this version reads as its default. */
static void set_default(const pf_field *f, void *out)
{
    if (f->off == PF_NOSTORE)
        return;
    void *p = at(out, f->off);
    switch (f->type) {
    case PF_CSTR:
    case PF_IDENT:
    case PF_STRUCTP: *(const void **)p = NULL; break;
    case PF_STRUCT:
        for (int i = 0; i < f->elem->nfields; i++)
            set_default(&f->elem->fields[i], p);
        break;
    case PF_STR:
    case PF_BYTES: *(kslice *)p = KSLICE_NULL; break;
    case PF_UUID: memset(p, 0, 16); break;
    case PF_STRUCTS:
    case PF_I32S:
    case PF_I64S:
    case PF_STRS:
    case PF_IDENTS:
        *(void **)p = NULL;
        *(int32_t *)at(out, f->count_off) = 0;
        break;
    default: set_int(p, f->type, f->dflt); break;
    }
}

static void refuse(rd *r)
{
    if (!r->err)
        r->err = RD_BAD_LENGTH;
}

static void decode_array(rd *r, int16_t v, arena *a, const pf_field *f, void *out)
{
    size_t elem = f->type == PF_I32S ? 4 : f->type == PF_I64S ? 8
                  : f->type == PF_STRS || f->type == PF_IDENTS ? (r->flex ? 1 : 2)
                                       : min_size(f->elem, v, r->flex);
    int32_t n = rd_array(r, elem);
    *(int32_t *)at(out, f->count_off) = n;
    *(void **)at(out, f->off) = NULL;
    if (n < 0) {
        if (v < f->null_from)
            refuse(r);
        return;
    }
    if (n == 0 || r->err)
        return;
    size_t size = f->type == PF_I32S ? sizeof(int32_t) : f->type == PF_I64S ? sizeof(int64_t)
                  : f->type == PF_STRS ? sizeof(kslice)
                  : f->type == PF_IDENTS ? sizeof(const char *) : f->elem->size;
    void *items = arena_alloc(a, size * (size_t)n);
    if (!items) {
        refuse(r);
        return;
    }
    memset(items, 0, size * (size_t)n);
    *(void **)at(out, f->off) = items;
    for (int32_t i = 0; i < n && !r->err; i++) {
        void *item = (char *)items + size * (size_t)i;
        switch (f->type) {
        case PF_I32S: *(int32_t *)item = rd_i32(r); break;
        case PF_I64S: *(int64_t *)item = rd_i64(r); break;
        case PF_STRS:
            *(kslice *)item = rd_str(r);
            if (((kslice *)item)->len < 0)
                refuse(r); /* Kafka's string arrays hold no null */
            break;
        case PF_IDENTS: {
            kslice s = rd_str(r);
            if (!r->err && (s.len < 0 || (*(const char **)item = ident_decode(a, s)) == NULL))
                refuse(r); /* no null, as above (or no memory) */
            break;
        }
        default: (void)pf_decode(r, v, a, f->elem, item); break;
        }
    }
}

/* A field with no place in the struct (PF_FK): read and dropped. An array of integers or
 * strings is skipped element by element; one of structs (no table to read them by) may only
 * be empty or null. */
static void skip_field(rd *r, const pf_field *f)
{
    switch (f->type) {
    case PF_BOOL:
    case PF_I8: (void)rd_i8(r); break;
    case PF_I16: (void)rd_i16(r); break;
    case PF_I32: (void)rd_i32(r); break;
    case PF_I64: (void)rd_i64(r); break;
    case PF_I32S:
    case PF_I64S:
    case PF_STRS:
    case PF_STRUCTS: {
        size_t size = f->type == PF_I32S ? 4 : f->type == PF_I64S ? 8 : r->flex ? 1 : 2;
        int32_t n = rd_array(r, size);
        if (n > 0 && f->type == PF_STRUCTS)
            refuse(r);
        for (int32_t i = 0; i < n && !r->err; i++)
            if (f->type == PF_STRS)
                (void)rd_str(r);
            else
                rd_skip(r, size);
        break;
    }
    default: BROOK_ASSERT(0); /* PF_FK is for integers and arrays */
    }
}

/* A string copied into the arena with a NUL (for fields kept as const char *), as it is
 * or (ident) in proto/ident.h's internal form. */
static void decode_cstr(rd *r, int16_t v, arena *a, const pf_field *f, const char **out)
{
    kslice s = rd_str(r);
    *out = NULL;
    if (r->err)
        return;
    if (s.len < 0) {
        if (v < f->null_from)
            refuse(r);
        return;
    }
    *out = f->type == PF_IDENT ? ident_decode(a, s) : arena_strndup(a, s.p, (size_t)s.len);
    if (!*out)
        refuse(r);
}

/* A struct kept by pointer (PF_STRUCTP): from null_from a marker first (negative: null, as
 * Kafka reads it), then the struct, into the arena. */
static void decode_structp(rd *r, int16_t v, arena *a, const pf_field *f, const void **out)
{
    *out = NULL;
    if ((v >= f->null_from && rd_i8(r) < 0) || r->err)
        return;
    void *item = arena_alloc(a, f->elem->size);
    if (!item) {
        refuse(r);
        return;
    }
    memset(item, 0, f->elem->size);
    (void)pf_decode(r, v, a, f->elem, item);
    *out = item;
}

static void decode_field(rd *r, int16_t v, arena *a, const pf_field *f, void *out)
{
    if (f->off == PF_NOSTORE) {
        skip_field(r, f);
        return;
    }
    void *p = at(out, f->off);
    switch (f->type) {
    case PF_CSTR:
    case PF_IDENT: decode_cstr(r, v, a, f, (const char **)p); break;
    case PF_STRUCT: (void)pf_decode(r, v, a, f->elem, p); break;
    case PF_STRUCTP: decode_structp(r, v, a, f, (const void **)p); break;
    case PF_BOOL: *(bool *)p = rd_bool(r); break;
    case PF_I8: *(int8_t *)p = rd_i8(r); break;
    case PF_I16: *(int16_t *)p = rd_i16(r); break;
    case PF_I32: *(int32_t *)p = rd_i32(r); break;
    case PF_I64: *(int64_t *)p = rd_i64(r); break;
    case PF_UUID: {
        const uint8_t *b = rd_raw(r, 16);
        if (b)
            memcpy(p, b, 16);
        break;
    }
    case PF_STR:
    case PF_BYTES:
        *(kslice *)p = f->type == PF_STR ? rd_str(r) : rd_bytes(r);
        if (((kslice *)p)->len < 0 && v < f->null_from)
            refuse(r);
        break;
    default: decode_array(r, v, a, f, out); break;
    }
}

/* A flexible version's tag buffer: the tags s knows are decoded (each exactly its size),
 * the others skipped. */
static void decode_tags(rd *r, int16_t v, arena *a, const pf_schema *s, void *out)
{
    uint32_t n = rd_uvarint(r);
    for (uint32_t i = 0; i < n && !r->err; i++) {
        uint32_t tag = rd_uvarint(r);
        uint32_t size = rd_uvarint(r);
        if (r->err || size > rd_remaining(r)) {
            refuse(r);
            return;
        }
        const pf_field *known = NULL;
        for (int k = 0; k < s->nfields && !known; k++)
            if (s->fields[k].tag >= 0 && (uint32_t)s->fields[k].tag == tag &&
                in_version(&s->fields[k], v))
                known = &s->fields[k];
        if (known) {
            rd sub;
            rd_init(&sub, rd_cur(r), size);
            sub.flex = true;
            decode_field(&sub, v, a, known, out);
            if (sub.err || rd_remaining(&sub) != 0)
                refuse(r);
        }
        rd_skip(r, size);
    }
}

int pf_decode(rd *r, int16_t v, arena *a, const pf_schema *s, void *out)
{
    for (int i = 0; i < s->nfields; i++)
        set_default(&s->fields[i], out);
    for (int i = 0; i < s->nfields && !r->err; i++) {
        const pf_field *f = &s->fields[i];
        if (in_version(f, v) && f->tag < 0)
            decode_field(r, v, a, f, out);
    }
    if (r->flex && !s->untagged && !r->err)
        decode_tags(r, v, a, s, out);
    return r->err ? -1 : 0;
}

int pf_decode_message(rd *r, int16_t v, arena *a, const pf_schema *s, void *out)
{
    if (pf_decode(r, v, a, s, out) != 0)
        return -1;
    if (rd_remaining(r) != 0) {
        refuse(r);
        return -1;
    }
    return 0;
}

static void encode_field(wr *w, int16_t v, const pf_field *f, const void *in)
{
    if (f->off == PF_NOSTORE) {
        switch (f->type) {
        case PF_BOOL: wr_bool(w, f->dflt != 0); break;
        case PF_I8: wr_i8(w, (int8_t)f->dflt); break;
        case PF_I16: wr_i16(w, (int16_t)f->dflt); break;
        case PF_I32: wr_i32(w, (int32_t)f->dflt); break;
        case PF_I64: wr_i64(w, f->dflt); break;
        case PF_STRUCTS:
        case PF_I32S:
        case PF_I64S:
        case PF_STRS:
        case PF_IDENTS: wr_array(w, (int32_t)f->dflt); break; /* always empty (or null) */
        default: BROOK_ASSERT(0); /* PF_FK is for integers and empty arrays */
        }
        return;
    }
    const void *p = cat(in, f->off);
    switch (f->type) {
    case PF_CSTR:
    case PF_IDENT: {
        const char *c = *(const char *const *)p;
        if (!c && v < f->null_from)
            c = ""; /* not nullable here */
        if (f->type == PF_IDENT)
            wr_ident(w, c);
        else
            wr_cstr(w, c);
        break;
    }
    case PF_STRUCT: pf_encode(w, v, f->elem, p); break;
    case PF_STRUCTP: {
        const void *item = *(const void *const *)p;
        if (v >= f->null_from) {
            wr_i8(w, item ? 1 : -1);
            if (!item)
                break;
        }
        BROOK_ASSERT(item); /* a version where the struct may not be null */
        pf_encode(w, v, f->elem, item);
        break;
    }
    case PF_BOOL: wr_bool(w, *(const bool *)p); break;
    case PF_I8: wr_i8(w, *(const int8_t *)p); break;
    case PF_I16: wr_i16(w, *(const int16_t *)p); break;
    case PF_I32: wr_i32(w, *(const int32_t *)p); break;
    case PF_I64: wr_i64(w, *(const int64_t *)p); break;
    case PF_UUID: wr_raw(w, p, 16); break;
    case PF_STR: {
        kslice k = *(const kslice *)p;
        wr_str(w, k.len >= 0 || v >= f->null_from ? k : kslice_cstr("")); /* as PF_CSTR */
        break;
    }
    case PF_BYTES: {
        kslice k = *(const kslice *)p;
        wr_bytes(w, k.len >= 0 || v >= f->null_from ? k : (kslice){NULL, 0}); /* as PF_STR */
        break;
    }
    default: {
        int32_t n = *(const int32_t *)cat(in, f->count_off);
        const void *items = *(const void *const *)p;
        wr_array(w, n);
        for (int32_t i = 0; i < n; i++) {
            switch (f->type) {
            case PF_I32S: wr_i32(w, ((const int32_t *)items)[i]); break;
            case PF_I64S: wr_i64(w, ((const int64_t *)items)[i]); break;
            case PF_STRS: wr_str(w, ((const kslice *)items)[i]); break;
            case PF_IDENTS: {
                const char *c = ((const char *const *)items)[i];
                wr_ident(w, c ? c : "");
                break;
            }
            default:
                pf_encode(w, v, f->elem, (const char *)items + f->elem->size * (size_t)i);
                break;
            }
        }
        break;
    }
    }
}

/* Is a tagged field at its default (then it is left out, as Kafka does)? A struct is at its
 * default when every field of it is, an array when it is empty. */
static bool at_default(const pf_field *f, const void *in)
{
    if (f->off == PF_NOSTORE)
        return true;
    const void *p = cat(in, f->off);
    switch (f->type) {
    case PF_STR:
    case PF_BYTES: return ((const kslice *)p)->len < 0;
    case PF_CSTR:
    case PF_IDENT:
    case PF_STRUCTP: return *(const void *const *)p == NULL;
    case PF_UUID: {
        static const uint8_t zero[16];
        return memcmp(p, zero, 16) == 0;
    }
    case PF_STRUCT:
        for (int i = 0; i < f->elem->nfields; i++)
            if (!at_default(&f->elem->fields[i], p))
                return false;
        return true;
    default:
        if (is_array(f->type))
            return *(const int32_t *)cat(in, f->count_off) <= 0;
        return get_int(p, f->type) == f->dflt;
    }
}

void pf_encode(wr *w, int16_t v, const pf_schema *s, const void *in)
{
    int ntags = 0;
    for (int i = 0; i < s->nfields; i++) {
        const pf_field *f = &s->fields[i];
        if (!in_version(f, v))
            continue;
        if (f->tag < 0)
            encode_field(w, v, f, in);
        else if (w->flex && !at_default(f, in))
            ntags++;
    }
    if (!w->flex || s->untagged)
        return;
    wr_uvarint(w, (uint32_t)ntags);
    for (int i = 0; i < s->nfields && ntags > 0; i++) {
        const pf_field *f = &s->fields[i];
        if (!in_version(f, v) || f->tag < 0 || at_default(f, in))
            continue;
        wr val;
        wr_init(&val, 16);
        val.flex = true;
        encode_field(&val, v, f, in);
        wr_uvarint(w, (uint32_t)f->tag);
        wr_uvarint(w, (uint32_t)val.len);
        wr_raw(w, val.p, val.len);
        if (val.oom)
            w->oom = true;
        wr_free(&val);
    }
}
