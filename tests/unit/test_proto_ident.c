/* test_proto_ident.c - protocol ids held as C strings keep every byte: the internal form
 * of a wire string round-trips exactly (embedded NULs, 0xC0 bytes, random bytes), valid
 * UTF-8 is stored unchanged, and ids that differ only after a NUL stay different, as the
 * group and transaction coordinators need for group, member, client and transactional
 * ids. */
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "group/group.h"
#include "proto/ident.h"
#include "testutil.h"

/* wire -> internal -> wire through wr_ident (classic and compact strings). */
static bool round_trips(const uint8_t *p, int32_t len, bool flex)
{
    arena a;
    arena_init(&a);
    char *id = ident_decode(&a, (kslice){p, len});
    wr w;
    wr_init(&w, 16);
    w.flex = flex;
    wr_ident(&w, id);
    rd r;
    rd_init(&r, w.p, w.len);
    r.flex = flex;
    kslice back = rd_str(&r);
    bool ok = id && strlen(id) >= (size_t)len && !r.err && back.len == len &&
              (len == 0 || memcmp(back.p, p, (size_t)len) == 0) && rd_remaining(&r) == 0;
    wr_free(&w);
    arena_free(&a);
    return ok;
}

static void test_embedded_nul_round_trip(void)
{
    static const uint8_t tx[] = "tx\0a";            /* a transactional id */
    static const uint8_t client[] = "rdkafka\0x\0"; /* a client id ending in NUL */
    static const uint8_t esc[] = {0xC0, 0x80, 0x00, 0xC0, 0xC0, 'z', 0xC0};
    CHECK(round_trips(tx, 4, false));
    CHECK(round_trips(tx, 4, true));
    CHECK(round_trips(client, 10, false));
    CHECK(round_trips(esc, (int32_t)sizeof(esc), false));
    CHECK(round_trips(esc, (int32_t)sizeof(esc), true));
    CHECK(round_trips((const uint8_t *)"", 0, false));
}

static void test_random_bytes_round_trip(void)
{
    uint8_t buf[300];
    for (int iter = 0; iter < 2000; iter++) {
        int32_t len = (int32_t)(tu_rand() % sizeof(buf));
        for (int32_t i = 0; i < len; i++) {
            uint64_t r = tu_rand();
            /* bias towards the bytes that matter */
            buf[i] = r % 4 == 0 ? 0 : r % 4 == 1 ? 0xC0 : r % 4 == 2 ? 0x80 : (uint8_t)(r >> 8);
        }
        if (!CHECK(round_trips(buf, len, iter % 2 == 1)))
            return;
    }
}

static void test_valid_utf8_unchanged_and_null(void)
{
    arena a;
    arena_init(&a);
    const char *plain = "consumer-group.1_\xc3\xa9\xe2\x82\xac"; /* ASCII and UTF-8 */
    char *id = ident_decode(&a, kslice_cstr(plain));
    CHECK_EQ_STR(id, plain);
    CHECK(ident_decode(&a, KSLICE_NULL) == NULL);
    wr w;
    wr_init(&w, 8);
    wr_ident(&w, NULL);
    rd r;
    rd_init(&r, w.p, w.len);
    CHECK(rd_str(&r).len < 0);
    wr_free(&w);
    arena_free(&a);
}

/* Ids that differ only after a NUL must not collide anywhere ids are compared. */
static void test_ids_differing_after_nul_stay_distinct(void)
{
    arena a;
    arena_init(&a);
    char *x = ident_decode(&a, (kslice){(const uint8_t *)"tx\0a", 4});
    char *y = ident_decode(&a, (kslice){(const uint8_t *)"tx\0b", 4});
    char *z = ident_decode(&a, (kslice){(const uint8_t *)"tx", 2});
    CHECK(strcmp(x, y) != 0 && strcmp(x, z) != 0);
    /* Two groups in the coordinator, each with its own offsets. */
    group_config gc = {.min_session_timeout_ms = 1000, .max_session_timeout_ms = 60000};
    group_coord c;
    group_coord_init(&c, &gc);
    group_apply_offset(&c, x, -1, "t", 0, 1, -1, kslice_cstr(""), 0);
    group_apply_offset(&c, y, -1, "t", 0, 2, -1, kslice_cstr(""), 0);
    const group *gx = group_find(&c, x), *gy = group_find(&c, y);
    CHECK(gx && gy && gx != gy && group_find(&c, z) == NULL);
    CHECK(gx && group_offset(gx, "t", 0)->offset == 1);
    CHECK(gy && group_offset(gy, "t", 0)->offset == 2);
    group_coord_free(&c);
    arena_free(&a);
}

TU_MAIN(TU_CASE(test_embedded_nul_round_trip), TU_CASE(test_random_bytes_round_trip),
        TU_CASE(test_valid_utf8_unchanged_and_null),
        TU_CASE(test_ids_differing_after_nul_stay_distinct))
