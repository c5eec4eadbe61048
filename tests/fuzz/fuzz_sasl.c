/*
 * fuzz_sasl.c - libFuzzer target for the SASL exchanges a client drives before it is
 * authenticated (sec/scram.h): the SCRAM server state machine fed two client messages
 * (client-first, client-final) of either mechanism, PLAIN's message parser, and base64.
 * Input: byte 0 picks the mechanism (bit 0) and byte 1 where the first message ends; the
 * rest is the two messages. The server knows one user, "user" with password "pencil", and
 * uses a fixed server nonce, so a seed can hold a whole valid exchange.
 * Invariants besides memory safety: a successful feed writes a NUL-terminated answer that
 * fits; a failed one leaves the state FAILED with a message; DONE only after two
 * successful feeds; PLAIN's user and password lie inside the input.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sec/scram.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static scram_cred g_cred[3];
static bool g_ready;

static const scram_cred *lookup(void *ctx, const char *user, scram_mech m)
{
    (void)ctx;
    return strcmp(user, "user") == 0 && (m == SCRAM_SHA_256 || m == SCRAM_SHA_512) ? &g_cred[m]
                                                                                   : NULL;
}

static void setup(void)
{
    static const uint8_t salt[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    for (int m = SCRAM_SHA_256; m <= SCRAM_SHA_512; m++)
        if (scram_cred_from_password((scram_mech)m, "pencil", 6, salt, sizeof(salt), 4096,
                                     &g_cred[m]) != 0)
            abort();
    g_ready = true;
}

/* One feed; checks the invariants of its result. Returns whether it succeeded. */
static bool feed(scram_server *s, const uint8_t *msg, size_t len)
{
    char out[SCRAM_MSG_MAX + 512];
    size_t out_len = 0;
    const char *why = NULL;
    int rc = scram_server_feed(s, msg, len, lookup, NULL, "fuzzServerNonce", out, sizeof(out),
                               &out_len, &why);
    if (rc == 0 && (out_len >= sizeof(out) || out[out_len] != '\0' || strlen(out) != out_len))
        abort();
    if (rc != 0 && (s->step != SCRAM_FAILED || !why))
        abort();
    return rc == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_ready)
        setup();
    if (size < 2)
        return 0;
    scram_mech m = data[0] & 1 ? SCRAM_SHA_512 : SCRAM_SHA_256;
    const uint8_t *rest = data + 2;
    size_t n = size - 2, first = data[1] < n ? data[1] : n;
    scram_server s;
    scram_server_init(&s, m);
    bool ok1 = feed(&s, rest, first);
    bool ok2 = ok1 && feed(&s, rest + first, n - first);
    if (s.step == SCRAM_DONE && !(ok1 && ok2))
        abort();
    const char *user, *pw, *why;
    size_t ul, pl;
    if (sasl_plain_parse(data, size, &user, &ul, &pw, &pl, &why) == 0 &&
        ((const uint8_t *)user < data || (const uint8_t *)user + ul > data + size ||
         (const uint8_t *)pw < data || (const uint8_t *)pw + pl > data + size))
        abort();
    uint8_t dec[256];
    int dl = sec_b64_decode((const char *)data, size, dec, sizeof(dec));
    if (dl > (int)sizeof(dec))
        abort();
    return 0;
}
