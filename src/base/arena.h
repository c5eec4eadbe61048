/*
 * arena.h - request-scoped memory (nginx pools): many small allocations, one free.
 *
 * Owns: its blocks. Everything allocated from an arena lives until arena_free().
 * Never: frees single objects.
 */
#ifndef BROOK_BASE_ARENA_H
#define BROOK_BASE_ARENA_H

#include <stddef.h>
#include <stdint.h>

typedef struct arena_block arena_block;
typedef struct arena {
    arena_block *head;
    size_t next_size;
} arena;

void arena_init(arena *a);
/* Zeroed memory, 16-byte aligned; NULL only when the process is out of memory. */
void *arena_alloc(arena *a, size_t n);
/* The same without the zeroing, for a buffer the caller fills whole before reading it
 * (a fetch's log read: megabytes that a memset would only touch twice). */
void *arena_alloc_raw(arena *a, size_t n);
/* An array of n zeroed elements of size bytes; NULL when n <= 0 (nothing to hold) or when
 * out of memory. */
static inline void *arena_array(arena *a, int32_t n, size_t size)
{
    return n > 0 ? arena_alloc(a, size * (size_t)n) : NULL;
}
/* Copies n bytes into the arena and NUL-terminates them. */
char *arena_strndup(arena *a, const void *p, size_t n);
void arena_free(arena *a);

#endif
