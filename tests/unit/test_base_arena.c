/*
 * test_base_arena.c - request-scoped arenas (base/arena.h): zeroed, 16-byte aligned
 * allocations, blocks that grow for large requests, strndup, and reuse after arena_free.
 */
#include <stdint.h>
#include <string.h>

#include "base/arena.h"
#include "base/limits.h"
#include "testutil.h"

static void test_alignment_and_zeroing(void)
{
    arena a;
    arena_init(&a);
    int misaligned = 0, dirty = 0;
    for (size_t n = 0; n < 300; n++) {
        uint8_t *p = arena_alloc(&a, n);
        if (!CHECK(p != NULL))
            break;
        misaligned += ((uintptr_t)p % 16) != 0;
        for (size_t i = 0; i < n; i++)
            dirty += p[i] != 0;
        memset(p, 0xab, n); /* later allocations must come back zeroed anyway */
    }
    CHECK_EQ_INT(misaligned, 0);
    CHECK_EQ_INT(dirty, 0);
    arena_free(&a);
}

static void test_large_and_many(void)
{
    arena a;
    arena_init(&a);
    /* Bigger than any block so far: gets a block of its own size or more. */
    size_t big = 3 * BROOK_ARENA_BLOCK + 5;
    uint8_t *p = arena_alloc(&a, big);
    if (CHECK(p != NULL)) {
        memset(p, 1, big);
        CHECK(p[big - 1] == 1);
    }
    /* Earlier allocations stay valid while later blocks are added. */
    uint32_t *first = arena_alloc(&a, sizeof(uint32_t));
    *first = 0xfeedbeef;
    for (int i = 0; i < 10000; i++) {
        uint8_t *q = arena_alloc(&a, 100);
        if (!q)
            break;
        memset(q, 0xcd, 100);
    }
    CHECK_EQ_U64(*first, 0xfeedbeef);
    p = arena_alloc(&a, (size_t)8 << 20);
    CHECK(p != NULL);
    arena_free(&a);

    /* Usable again after a free, and freeing twice is harmless. */
    p = arena_alloc(&a, 10);
    CHECK(p != NULL);
    arena_free(&a);
    arena_free(&a);
}

static void test_strndup(void)
{
    arena a;
    arena_init(&a);
    char *s = arena_strndup(&a, "topic-name-and-more", 10);
    CHECK_EQ_STR(s, "topic-name");
    char *e = arena_strndup(&a, NULL, 0);
    CHECK_EQ_STR(e, "");
    static const char bin[] = {'a', '\0', 'b'};
    char *b = arena_strndup(&a, bin, 3);
    CHECK(b[0] == 'a' && b[1] == '\0' && b[2] == 'b' && b[3] == '\0');
    arena_free(&a);
}

/* arena_alloc_raw: aligned and usable like arena_alloc (the caller fills it), and the
 * zeroed allocations around it stay zeroed. */
static void test_raw(void)
{
    arena a;
    arena_init(&a);
    for (int i = 0; i < 50; i++) {
        size_t n = (size_t)(1 + (i * 7919) % (3 << 20)); /* up to 3 MiB: new blocks too */
        uint8_t *r = arena_alloc_raw(&a, n);
        CHECK(r && ((uintptr_t)r & 15) == 0);
        memset(r, 0xAB, n);
        uint8_t *z = arena_alloc(&a, 64);
        CHECK(z && ((uintptr_t)z & 15) == 0);
        for (int k = 0; z && k < 64; k++)
            CHECK_EQ_INT(z[k], 0);
        CHECK(r[n - 1] == 0xAB);
    }
    arena_free(&a);
}

TU_MAIN(TU_CASE(test_alignment_and_zeroing), TU_CASE(test_large_and_many), TU_CASE(test_strndup),
        TU_CASE(test_raw))
