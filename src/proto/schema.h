/*
 * schema.h - messages described as field tables, the way Kafka's message JSON describes
 * them, read and written by one generic codec: adding a version that adds, drops, tags or
 * makes nullable a field is a change to the message's table, not to code.
 *
 * A table lists the fields in wire order, each with the versions it is sent in, from which
 * version it may be null, its tag in flexible versions (or none), and where it lives in
 * the C struct the caller decodes into or encodes from (offsetof). Arrays of structs point
 * to the element's table. A field absent from a version reads as its default.
 * Owns: nothing past the call (decoded strings and arrays point into the request bytes or
 * the caller's arena).
 * A null string or bytes given to the encoder for a version where the field may not be
 * null is written empty (a peer could not read a null there).
 * Never: reads past the end (every length is checked by rd_*, every array count against
 * the bytes left before anything is allocated), accepts a null where the table does not
 * allow one, or leaves bytes unread (pf_decode_message refuses trailing bytes).
 */
#ifndef BROOK_PROTO_SCHEMA_H
#define BROOK_PROTO_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"

enum pf_type {
    PF_BOOL,    /* bool */
    PF_I8,      /* int8_t */
    PF_I16,     /* int16_t */
    PF_I32,     /* int32_t */
    PF_I64,     /* int64_t */
    PF_STR,     /* kslice: STRING (len < 0: null) */
    PF_BYTES,   /* kslice: BYTES */
    PF_UUID,    /* uint8_t[16] */
    PF_STRUCTS, /* int32_t count at count_off, element pointer at off, elements: elem */
    PF_I32S,    /* int32_t count at count_off, int32_t * at off */
    PF_I64S,    /* int32_t count at count_off, int64_t * at off */
    PF_STRS,    /* int32_t count at count_off, kslice * at off */
    PF_CSTR,    /* const char * (NULL: null); decoded into the arena, NUL-terminated */
    PF_STRUCT,  /* one struct of type elem embedded at off (Kafka's struct-typed fields) */
    PF_IDENT,   /* const char * in proto/ident.h's internal form (group, member,
                 * transactional ids): written back as on the wire, decoded into the arena */
    PF_IDENTS,  /* int32_t count at count_off, const char ** at off: PF_IDENT elements,
                 * never null (NULL written as "") */
    PF_STRUCTP, /* const pointer to one struct of type elem (NULL: null): Kafka's nullable
                 * struct field, from null_from an int8 before it (-1 null, 1 present);
                 * decoded into the arena */
};

#define PF_LAST 0x7fff  /* vmax: every version from vmin on */
#define PF_NEVER 0x7fff /* null_from: never null */
#define PF_NOSTORE ((size_t)-1) /* off of a constant field: nothing stored (PF_FK) */

typedef struct pf_schema pf_schema;

typedef struct pf_field {
    const char *name;      /* Kafka's field name, for messages and tests */
    uint8_t type;          /* enum pf_type */
    int16_t vmin, vmax;    /* versions it is in */
    int16_t null_from;     /* strings, bytes, arrays: nullable from this version */
    int32_t tag;           /* >= 0: a tagged field of flexible versions; -1: in line */
    size_t off;            /* where it lives */
    size_t count_off;      /* arrays: where the element count lives (int32_t, -1: null) */
    int64_t dflt;          /* integers and bools absent from a version */
    const pf_schema *elem; /* PF_STRUCTS */
} pf_field;

struct pf_schema {
    const char *name;
    size_t size; /* of one element (PF_STRUCTS) */
    int nfields;
    const pf_field *fields;
    bool untagged; /* no tag buffer even in flexible versions (PF_SCHEMA_UNTAGGED) */
};

/* Field constructors, in the order of pf_field. */
#define PF_F(name, type, vmin, vmax, st, member)                                              \
    {name, type, vmin, vmax, PF_NEVER, -1, offsetof(st, member), 0, 0, NULL}
#define PF_FD(name, type, vmin, vmax, st, member, dflt)                                       \
    {name, type, vmin, vmax, PF_NEVER, -1, offsetof(st, member), 0, dflt, NULL}
#define PF_FN(name, type, vmin, vmax, null_from, st, member)                                  \
    {name, type, vmin, vmax, null_from, -1, offsetof(st, member), 0, 0, NULL}
#define PF_FA(name, type, vmin, vmax, null_from, st, member, count, elem)                     \
    {name, type, vmin, vmax, null_from, -1, offsetof(st, member), offsetof(st, count), 0, elem}
#define PF_FT(name, type, vmin, vmax, tag, st, member, dflt)                                  \
    {name, type, vmin, vmax, PF_NEVER, tag, offsetof(st, member), 0, dflt, NULL}
/* A field in the struct but never on the wire: the decoder sets it to dflt (a response
 * field the handler fills, kept in the request's struct). Not for arrays. */
#define PF_LOCAL(name, type, st, member, dflt)                                                \
    {name, type, 1, 0, PF_NEVER, -1, offsetof(st, member), 0, dflt, NULL}
/* The same for an embedded struct: each of its fields at its table's default. */
#define PF_LOCALS(name, st, member, elem)                                                     \
    {name, PF_STRUCT, 1, 0, PF_NEVER, -1, offsetof(st, member), 0, 0, elem}
/* An integer field with no place in the struct: decoded and dropped, encoded as k (a
 * throttle time Brook never sets, a field Brook ignores). Also an array Brook always sends
 * empty (k 0) or null (k -1), in responses only. */
#define PF_FK(name, type, vmin, vmax, k)                                                      \
    {name, type, vmin, vmax, PF_NEVER, -1, PF_NOSTORE, 0, k, NULL}
/* A struct-typed field (PF_STRUCT), in line or (tag >= 0) tagged: a tagged one is left out
 * while every field of it is at its default. */
#define PF_FS(name, vmin, vmax, tag, st, member, elem)                                        \
    {name, PF_STRUCT, vmin, vmax, PF_NEVER, tag, offsetof(st, member), 0, 0, elem}
/* A tagged array, left out while empty. */
#define PF_FAT(name, type, vmin, vmax, tag, st, member, count, elem)                          \
    {name, type, vmin, vmax, PF_NEVER, tag, offsetof(st, member), offsetof(st, count), 0, elem}
/* A struct-typed field kept by pointer (PF_STRUCTP), nullable from null_from. */
#define PF_FSN(name, vmin, vmax, null_from, st, member, elem)                                 \
    {name, PF_STRUCTP, vmin, vmax, null_from, -1, offsetof(st, member), 0, 0, elem}
#define PF_SCHEMA(name, st, fields)                                                           \
    {name, sizeof(st), (int)(sizeof(fields) / sizeof((fields)[0])), fields, false}
/* A struct whose elements carry no tag buffer of their own even when flexible (not Kafka's
 * rule: Brook's private tagged fields that predate the tables are written that way). */
#define PF_SCHEMA_UNTAGGED(name, st, fields)                                                  \
    {name, sizeof(st), (int)(sizeof(fields) / sizeof((fields)[0])), fields, true}

/* Decodes the fields of s present in version v from r into out (flexibility: r->flex, set by
 * the caller from the API's flexible versions), then the tag buffer of a flexible version.
 * Returns 0, or -1 (r->err set) on anything short, lying or null where not allowed. */
int pf_decode(rd *r, int16_t v, arena *a, const pf_schema *s, void *out);
/* pf_decode of a whole message: also -1 when bytes are left over. */
int pf_decode_message(rd *r, int16_t v, arena *a, const pf_schema *s, void *out);
/* Encodes the fields of s present in version v from in (flexibility: w->flex). */
void pf_encode(wr *w, int16_t v, const pf_schema *s, const void *in);

#endif
