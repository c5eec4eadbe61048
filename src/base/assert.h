/*
 * assert.h - invariant checks that stay on in release builds.
 *
 * Owns: BROOK_ASSERT (cheap, always on) and BROOK_DEBUG_ASSERT (expensive, debug only).
 * Never: hides control flow other than aborting the process; a failed assertion is a bug,
 * never a way to report bad input (bad input gets an error code).
 */
#ifndef BROOK_BASE_ASSERT_H
#define BROOK_BASE_ASSERT_H

#include <stdio.h>
#include <stdlib.h>

void brook_assert_fail(const char *expr, const char *file, int line, const char *func)
    __attribute__((noreturn));

#define BROOK_ASSERT(expr)                                                                     \
    do {                                                                                       \
        if (__builtin_expect(!(expr), 0))                                                      \
            brook_assert_fail(#expr, __FILE__, __LINE__, __func__);                            \
    } while (0)

#ifdef BROOK_DEBUG
#define BROOK_DEBUG_ASSERT(expr) BROOK_ASSERT(expr)
#else
#define BROOK_DEBUG_ASSERT(expr) ((void)0)
#endif

#define BROOK_UNUSED(x) ((void)(x))
#define BROOK_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
