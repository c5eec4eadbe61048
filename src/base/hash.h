/*
 * hash.h - FNV-1a, the one non-cryptographic hash the modules share (fingerprints and
 * transient indexes).
 *
 * Owns: nothing; pure functions. Never: a defence against chosen keys (callers that index
 * client input bound their probing or accept the cost).
 */
#ifndef BROOK_BASE_HASH_H
#define BROOK_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV1A_INIT 1469598103934665603ULL

/* h extended by n bytes at p. */
static inline uint64_t hash_fnv1a(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

#endif
