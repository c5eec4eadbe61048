/* test_proto_schema.c - the table-driven codec (proto/schema.h) on a made-up message that
 * uses every field kind: versions in and out, defaults, nullability by version, arrays of
 * structs with their own tag buffers, integer and string arrays, UUIDs, tagged fields
 * (known, unknown, left out at their default), classic and flexible encodings. Bytes are
 * compared with ones written by hand; every cut of an encoding is refused; a lying array
 * count is refused before anything is allocated. Ids in proto/ident.h's form (arrays of
 * them) and nullable structs kept by pointer, too; and the kinds responses lean on: C
 * strings, embedded and tagged structs, tagged arrays, constants, fields only the decoder
 * initialises, and nulls written empty where a version does not allow them. */
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "proto/schema.h"
#include "proto_testutil.h"
#include "testutil.h"

typedef struct part {
    int32_t index;
    kslice meta; /* v1+, nullable from v2 */
} part;

typedef struct msg {
    int16_t code;
    kslice name;      /* nullable from v3 */
    int64_t since;    /* v2+, default -1 */
    uint8_t id[16];   /* v3+ */
    int32_t nparts;
    part *parts;
    int32_t nnums;
    int32_t *nums;    /* v1+, nullable from v3 */
    int32_t nlabels;
    kslice *labels;
    int64_t hint;     /* tag 3 in flexible versions (3+), default 0 */
    kslice note;      /* tag 5 (3+) */
} msg;

static const pf_field g_part_fields[] = {
    PF_F("Index", PF_I32, 0, PF_LAST, part, index),
    PF_FN("Meta", PF_STR, 1, PF_LAST, 2, part, meta),
};
static const pf_schema g_part = PF_SCHEMA("Part", part, g_part_fields);

static const pf_field g_msg_fields[] = {
    PF_F("Code", PF_I16, 0, PF_LAST, msg, code),
    PF_FN("Name", PF_STR, 0, PF_LAST, 3, msg, name),
    PF_FD("Since", PF_I64, 2, PF_LAST, msg, since, -1),
    PF_F("Id", PF_UUID, 3, PF_LAST, msg, id),
    PF_FA("Parts", PF_STRUCTS, 0, PF_LAST, PF_NEVER, msg, parts, nparts, &g_part),
    PF_FA("Nums", PF_I32S, 1, PF_LAST, 3, msg, nums, nnums, NULL),
    PF_FA("Labels", PF_STRS, 0, 2, PF_NEVER, msg, labels, nlabels, NULL),
    PF_FT("Hint", PF_I64, 3, PF_LAST, 3, msg, hint, 0),
    {"Note", PF_STR, 3, PF_LAST, PF_NEVER, 5, offsetof(msg, note), 0, 0, NULL},
};
static const pf_schema g_msg = PF_SCHEMA("Msg", msg, g_msg_fields);

static const uint8_t ID[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static msg sample(part *parts, int32_t *nums, kslice *labels)
{
    parts[0] = (part){7, kslice_cstr("m7")};
    parts[1] = (part){9, KSLICE_NULL};
    nums[0] = 1;
    nums[1] = -2;
    labels[0] = kslice_cstr("a");
    msg m = {.code = 5, .name = kslice_cstr("nm"), .since = 42, .nparts = 2, .parts = parts,
             .nnums = 2, .nums = nums, .nlabels = 1, .labels = labels, .hint = 77,
             .note = KSLICE_NULL};
    memcpy(m.id, ID, 16);
    return m;
}

/* The expected bytes of sample() at v (v2: classic, v3: flexible). */
static void expect(bb *x, int16_t v)
{
    bool flex = v >= 3;
    b16(x, 5);
    flex ? bcstr(x, "nm") : bstr(x, "nm");
    if (v >= 2)
        b64(x, 42);
    if (v >= 3)
        for (int i = 0; i < 16; i++)
            b8(x, ID[i]);
    flex ? b8(x, 3) : b32(x, 2);
    b32(x, 7);
    if (v >= 1)
        flex ? bcstr(x, "m7") : bstr(x, "m7");
    if (flex)
        b8(x, 0);
    b32(x, 9);
    if (v >= 1)
        flex ? b8(x, 0) : b16(x, -1); /* null meta */
    if (flex)
        b8(x, 0);
    if (v >= 1) {
        flex ? b8(x, 3) : b32(x, 2);
        b32(x, 1);
        b32(x, -2);
    }
    if (v <= 2) {
        b32(x, 1);
        bstr(x, "a");
    }
    if (flex) { /* one tag: Hint (Note is at its default, null) */
        b8(x, 1);
        b8(x, 3);
        b8(x, 8);
        b64(x, 77);
    }
}

static void test_encode_bytes(void)
{
    part parts[2];
    int32_t nums[2];
    kslice labels[1];
    msg m = sample(parts, nums, labels);
    for (int16_t v = 2; v <= 3; v++) {
        wr w;
        wr_init(&w, 64);
        w.flex = v >= 3;
        pf_encode(&w, v, &g_msg, &m);
        bb x = {.n = 0};
        expect(&x, v);
        check_body(&w, &x, v == 2 ? "Msg v2 (classic)" : "Msg v3 (flexible)");
        wr_free(&w);
    }
}

/* Decodes buf at v; checks the fields of sample() present at v and the defaults of the
 * others. */
static void check_decoded(const uint8_t *buf, size_t len, int16_t v)
{
    rd r;
    rd_init(&r, buf, len);
    r.flex = v >= 3;
    arena a;
    arena_init(&a);
    msg m;
    memset(&m, 0xab, sizeof(m));
    if (CHECK_EQ_INT(pf_decode_message(&r, v, &a, &g_msg, &m), 0)) {
        CHECK_EQ_INT(m.code, 5);
        CHECK_SLICE(m.name, "nm");
        CHECK_EQ_INT(m.since, v >= 2 ? 42 : -1); /* the default below v2 */
        static const uint8_t zero[16];
        CHECK(memcmp(m.id, v >= 3 ? ID : zero, 16) == 0);
        if (CHECK_EQ_INT(m.nparts, 2)) {
            CHECK_EQ_INT(m.parts[1].index, 9);
            CHECK(m.parts[1].meta.len < 0);
            if (v >= 1)
                CHECK_SLICE(m.parts[0].meta, "m7");
        }
        CHECK_EQ_INT(m.nnums, v >= 1 ? 2 : 0);
        if (v >= 1 && m.nnums == 2)
            CHECK_EQ_INT(m.nums[1], -2);
        CHECK_EQ_INT(m.nlabels, v <= 2 ? 1 : 0);
        CHECK_EQ_INT(m.hint, v >= 3 ? 77 : 0);
        CHECK(m.note.len < 0);
    }
    arena_free(&a);
}

static void test_round_trips_and_cuts(void)
{
    part parts[2];
    int32_t nums[2];
    kslice labels[1];
    msg m = sample(parts, nums, labels);
    for (int16_t v = 0; v <= 3; v++) {
        if (v < 2)
            parts[1].meta = kslice_cstr(""); /* not nullable below v2 */
        else
            parts[1].meta = KSLICE_NULL;
        wr w;
        wr_init(&w, 64);
        w.flex = v >= 3;
        pf_encode(&w, v, &g_msg, &m);
        if (v >= 2)
            check_decoded(w.p, w.len, v);
        for (size_t n = 0; n < w.len; n++) { /* every cut refused */
            rd r;
            rd_init(&r, w.p, n);
            r.flex = v >= 3;
            arena a;
            arena_init(&a);
            msg out;
            if (!CHECK_EQ_INT(pf_decode_message(&r, v, &a, &g_msg, &out), -1))
                printf("  v%d accepted when cut to %zu of %zu bytes\n", v, n, w.len);
            arena_free(&a);
        }
        wr_free(&w);
    }
}

static void test_nulls_tags_and_lies(void)
{
    arena a;
    msg m;
    rd r;
    /* A null name below v3 is refused; from v3 it is read as null. */
    bb x = {.n = 0};
    b16(&x, 1);
    b16(&x, -1);
    b64(&x, 3);
    b32(&x, 0);
    b32(&x, 0);
    b32(&x, 0);
    rd_init(&r, x.b, x.n);
    arena_init(&a);
    CHECK_EQ_INT(pf_decode_message(&r, 2, &a, &g_msg, &m), -1);
    arena_free(&a);
    bb y = {.n = 0};
    b16(&y, 1);
    b8(&y, 0); /* null name */
    b64(&y, 3);
    for (int i = 0; i < 16; i++)
        b8(&y, 0);
    b8(&y, 1);  /* no parts */
    b8(&y, 0);  /* null nums: nullable from v3 */
    b8(&y, 3);  /* three tags: */
    b8(&y, 9);  /* an unknown one, skipped */
    b8(&y, 2);
    b16(&y, 0x1234);
    b8(&y, 5);  /* Note */
    b8(&y, 3);
    b8(&y, 3);
    b8(&y, 'h');
    b8(&y, 'i');
    b8(&y, 3);  /* Hint */
    b8(&y, 8);
    b64(&y, -5);
    rd_init(&r, y.b, y.n);
    r.flex = true;
    arena_init(&a);
    if (CHECK_EQ_INT(pf_decode_message(&r, 3, &a, &g_msg, &m), 0)) {
        CHECK(m.name.len < 0);
        CHECK_EQ_INT(m.nnums, -1);
        CHECK_SLICE(m.note, "hi");
        CHECK_EQ_INT(m.hint, -5);
    }
    arena_free(&a);
    /* A known tag whose size does not match its value is refused. */
    y.b[y.n - 9] = 9; /* Hint's size */
    rd_init(&r, y.b, y.n);
    r.flex = true;
    arena_init(&a);
    CHECK_EQ_INT(pf_decode_message(&r, 3, &a, &g_msg, &m), -1);
    arena_free(&a);
    /* A lying count (a million parts in a few bytes) allocates nothing. */
    bb z = {.n = 0};
    b16(&z, 1);
    bstr(&z, "n");
    b64(&z, 0);
    b32(&z, 1000000);
    b32(&z, 1);
    rd_init(&r, z.b, z.n);
    arena_init(&a);
    CHECK_EQ_INT(pf_decode_message(&r, 2, &a, &g_msg, &m), -1);
    CHECK(a.head == NULL);
    arena_free(&a);
    /* Trailing bytes after a whole message are refused by pf_decode_message only. */
    bb t = {.n = 0};
    b16(&t, 1);
    bstr(&t, "n");
    b32(&t, 0);
    b32(&t, 0);
    b8(&t, 0xee);
    rd_init(&r, t.b, t.n);
    arena_init(&a);
    CHECK_EQ_INT(pf_decode(&r, 0, &a, &g_msg, &m), 0);
    CHECK_EQ_INT(rd_remaining(&r), 1);
    rd_init(&r, t.b, t.n);
    CHECK_EQ_INT(pf_decode_message(&r, 0, &a, &g_msg, &m), -1);
    arena_free(&a);
}

/* PF_IDENTS (ids in proto/ident.h's form) and PF_STRUCTP (Kafka's nullable struct: an int8
 * marker before it from null_from, v1 here; below, the struct alone). */
typedef struct box {
    int32_t nids;
    const char **ids;
} box;
typedef struct holder {
    const box *b;
} holder;
static const pf_field g_box_fields[] = {
    PF_FA("Ids", PF_IDENTS, 0, PF_LAST, PF_NEVER, box, ids, nids, NULL),
};
static const pf_schema g_box = PF_SCHEMA("Box", box, g_box_fields);
static const pf_field g_holder_fields[] = {
    PF_FSN("Box", 0, PF_LAST, 1, holder, b, &g_box),
};
static const pf_schema g_holder = PF_SCHEMA("Holder", holder, g_holder_fields);

static void test_idents_and_nullable_structs(void)
{
    const char *ids[] = {"a\xc0\x80" "b", NULL}; /* "a\0b" inside; NULL is written as "" */
    box b = {2, ids};
    holder h = {&b};
    for (int16_t v = 0; v <= 1; v++) {
        bb x = {.n = 0};
        if (v >= 1)
            b8(&x, 1); /* present */
        b8(&x, 3); /* two ids */
        b8(&x, 4); /* "a\0b" on the wire: three bytes */
        b8(&x, 'a');
        b8(&x, 0);
        b8(&x, 'b');
        b8(&x, 1); /* "" */
        b8(&x, 0); /* the box's tags */
        b8(&x, 0);
        wr w;
        wr_init(&w, 16);
        w.flex = true;
        pf_encode(&w, v, &g_holder, &h);
        check_body(&w, &x, "Holder (present)");
        wr_free(&w);
        rd r;
        rd_init(&r, x.b, x.n);
        r.flex = true;
        arena a;
        arena_init(&a);
        holder out;
        if (CHECK_EQ_INT(pf_decode_message(&r, v, &a, &g_holder, &out), 0) && CHECK(out.b) &&
            CHECK_EQ_INT(out.b->nids, 2)) {
            CHECK(strcmp(out.b->ids[0], "a\xc0\x80" "b") == 0);
            CHECK(strcmp(out.b->ids[1], "") == 0);
        }
        for (size_t n = 0; n < x.n; n++) { /* every cut refused */
            rd_init(&r, x.b, n);
            r.flex = true;
            CHECK_EQ_INT(pf_decode_message(&r, v, &a, &g_holder, &out), -1);
        }
        arena_free(&a);
    }
    /* Null from v1: the marker -1 alone, read back as NULL. */
    holder none = {NULL};
    bb y = {.n = 0};
    b8(&y, 0xff);
    b8(&y, 0);
    wr w;
    wr_init(&w, 16);
    w.flex = true;
    pf_encode(&w, 1, &g_holder, &none);
    check_body(&w, &y, "Holder (null)");
    wr_free(&w);
    rd r;
    rd_init(&r, y.b, y.n);
    r.flex = true;
    arena a;
    arena_init(&a);
    holder out = {&b};
    CHECK_EQ_INT(pf_decode_message(&r, 1, &a, &g_holder, &out), 0);
    CHECK(out.b == NULL);
    /* A null id is refused (Kafka's string arrays hold no null). */
    bb z = {.n = 0};
    b8(&z, 1);
    b8(&z, 2);
    b8(&z, 0);
    b8(&z, 0);
    b8(&z, 0);
    rd_init(&r, z.b, z.n);
    r.flex = true;
    CHECK_EQ_INT(pf_decode_message(&r, 1, &a, &g_holder, &out), -1);
    arena_free(&a);
}

/* PF_CSTR, PF_IDENT, PF_STRUCT (in line and tagged), PF_FAT, PF_FK (an integer and an empty
 * array), PF_LOCAL/PF_LOCALS, and the rule that a null in a version where the field may not
 * be null goes out empty. Flexible from v1. */
typedef struct pt {
    int32_t x;
    int64_t y;
} pt;
typedef struct rich {
    const char *label; /* nullable from v2 */
    const char *who;   /* an id in the internal form */
    kslice blob;       /* nullable from v2 */
    pt inline_pt;
    pt tagged_pt; /* tag 0 (v1+), left out at {-1, -1} */
    int32_t nlist;
    int32_t *list; /* tag 1 (v1+), left out while empty */
    int16_t local; /* never on the wire: 9 after a decode */
    pt local_pt;   /* never on the wire: {-1, -1} after a decode */
} rich;
static const pf_field g_pt_fields[] = {
    PF_FD("X", PF_I32, 0, PF_LAST, pt, x, -1),
    PF_FD("Y", PF_I64, 0, PF_LAST, pt, y, -1),
};
static const pf_schema g_pt = PF_SCHEMA("Pt", pt, g_pt_fields);
static const pf_field g_rich_fields[] = {
    PF_FK("Throttle", PF_I32, 0, PF_LAST, 250),
    PF_FN("Label", PF_CSTR, 0, PF_LAST, 2, rich, label),
    PF_F("Who", PF_IDENT, 0, PF_LAST, rich, who),
    PF_FN("Blob", PF_BYTES, 0, PF_LAST, 2, rich, blob),
    PF_FS("Inline", 0, PF_LAST, -1, rich, inline_pt, &g_pt),
    PF_FK("Empty", PF_I32S, 0, PF_LAST, 0),
    PF_FS("Tagged", 1, PF_LAST, 0, rich, tagged_pt, &g_pt),
    PF_FAT("List", PF_I32S, 1, PF_LAST, 1, rich, list, nlist, NULL),
    PF_LOCAL("Local", PF_I16, rich, local, 9),
    PF_LOCALS("LocalPt", rich, local_pt, &g_pt),
};
static const pf_schema g_rich = PF_SCHEMA("Rich", rich, g_rich_fields);

/* rich's bytes at v with a null label and blob, who "a\0b", inline {1, 2}; tagged: with the
 * tagged struct {3, 4} and the list {5}. */
static void expect_rich(bb *x, int16_t v, bool tagged)
{
    bool flex = v >= 1;
    b32(x, 250);
    if (v >= 2)
        b8(x, 0); /* null label */
    else
        flex ? b8(x, 1) : b16(x, 0); /* not nullable here: "" */
    flex ? b8(x, 4) : b16(x, 3);
    b8(x, 'a');
    b8(x, 0);
    b8(x, 'b');
    if (v >= 2)
        b8(x, 0); /* null blob */
    else
        flex ? b8(x, 1) : b32(x, 0); /* empty bytes */
    b32(x, 1);
    b64(x, 2);
    if (flex)
        b8(x, 0); /* the struct's tags */
    flex ? b8(x, 1) : b32(x, 0); /* Empty */
    if (!flex)
        return;
    if (!tagged) {
        b8(x, 0);
        return;
    }
    b8(x, 2);
    b8(x, 0);  /* Tagged */
    b8(x, 13); /* X, Y, its tag buffer */
    b32(x, 3);
    b64(x, 4);
    b8(x, 0);
    b8(x, 1); /* List */
    b8(x, 5);
    b8(x, 2);
    b32(x, 5);
}

static void test_response_kinds(void)
{
    int32_t five = 5;
    for (int16_t v = 0; v <= 2; v++)
        for (int tagged = 0; tagged <= 1; tagged++) {
            rich m = {.label = NULL, .who = "a\xc0\x80" "b", .blob = KSLICE_NULL,
                      .inline_pt = {1, 2}, .tagged_pt = {-1, -1}};
            if (tagged) {
                m.tagged_pt = (pt){3, 4};
                m.nlist = 1;
                m.list = &five;
            }
            bb x = {.n = 0};
            expect_rich(&x, v, tagged);
            wr w;
            wr_init(&w, 16);
            w.flex = v >= 1;
            pf_encode(&w, v, &g_rich, &m);
            char what[32];
            snprintf(what, sizeof(what), "Rich v%d%s", v, tagged ? " tagged" : "");
            check_body(&w, &x, what);
            wr_free(&w);

            rd r;
            rd_init(&r, x.b, x.n);
            r.flex = v >= 1;
            arena a;
            arena_init(&a);
            rich out;
            memset(&out, 0x5a, sizeof(out));
            if (CHECK_EQ_INT(pf_decode_message(&r, v, &a, &g_rich, &out), 0)) {
                if (v >= 2)
                    CHECK(out.label == NULL);
                else
                    CHECK(out.label && strcmp(out.label, "") == 0);
                CHECK(out.who && strcmp(out.who, "a\xc0\x80" "b") == 0);
                CHECK_EQ_INT(out.blob.len, v >= 2 ? -1 : 0);
                CHECK(out.inline_pt.x == 1 && out.inline_pt.y == 2);
                bool t = tagged && v >= 1;
                CHECK(out.tagged_pt.x == (t ? 3 : -1) && out.tagged_pt.y == (t ? 4 : -1));
                CHECK_EQ_INT(out.nlist, t ? 1 : 0);
                if (t && out.nlist == 1)
                    CHECK_EQ_INT(out.list[0], 5);
                CHECK_EQ_INT(out.local, 9);
                CHECK(out.local_pt.x == -1 && out.local_pt.y == -1);
            }
            for (size_t n = 0; n < x.n; n++) { /* every cut refused */
                rd_init(&r, x.b, n);
                r.flex = v >= 1;
                CHECK_EQ_INT(pf_decode_message(&r, v, &a, &g_rich, &out), -1);
            }
            arena_free(&a);
        }
}

TU_MAIN(TU_CASE(test_encode_bytes), TU_CASE(test_round_trips_and_cuts),
        TU_CASE(test_nulls_tags_and_lies), TU_CASE(test_idents_and_nullable_structs),
        TU_CASE(test_response_kinds))
