/*
 * fuzz_tls.c - libFuzzer target for what a client sends first to a TLS listener: bytes fed
 * to a server session (sec/tls.h) through its memory BIO, as server.c does, and the
 * principal mapping rules.
 * Input: byte 0 picks the mode; the rest is the payload.
 *   mode & 3 == 0: the payload as is (garbage, plaintext Kafka, anything);
 *   mode & 3 == 1: a real ClientHello (made at start by a client session) XOR the payload,
 *                  so that small inputs stay close to a valid handshake;
 *   mode & 3 == 2: the same, then the payload again as further records;
 *   mode & 3 == 3: ssl.principal.mapping.rules (the payload, at most 64 bytes) applied to
 *                  a fixed DN.
 * The payload is fed in chunks of (mode >> 2) + 1 bytes, reading after each.
 * Invariants besides memory safety: once a read fails, every later read fails too; the
 * server never reaches an established session from bytes no client produced (a
 * handshake needs the client's Finished, which depends on secrets the input cannot know);
 * a successful mapping fits its buffer and is NUL-terminated.
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sec/tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static tls_ctx *g_server;
static uint8_t *g_hello;
static size_t g_hello_len;

/* A self-signed keystore in a temporary file, for the server context. */
static bool make_keystore(char *path)
{
    int fd = mkstemp(path);
    if (fd < 0)
        return false;
    close(fd);
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    FILE *f = fopen(path, "w");
    bool ok = key && x && f;
    if (ok) {
        X509_set_version(x, 2);
        X509_gmtime_adj(X509_getm_notBefore(x), -60);
        X509_gmtime_adj(X509_getm_notAfter(x), 86400);
        X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                                   (const unsigned char *)"fuzz", -1, -1, 0);
        X509_set_issuer_name(x, X509_get_subject_name(x));
        X509_set_pubkey(x, key);
        ok = X509_sign(x, key, EVP_sha256()) > 0 &&
             PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) && PEM_write_X509(f, x);
    }
    if (f)
        fclose(f);
    X509_free(x);
    EVP_PKEY_free(key);
    return ok;
}

static void init(void)
{
    char path[] = "/tmp/brook-fuzz-tls-XXXXXX";
    char err[400];
    if (!make_keystore(path))
        abort();
    tls_config sc = {.keystore_location = path, .truststore_location = path,
                     .client_auth = TLS_CLIENT_AUTH_REQUESTED,
                     .principal_rules = "RULE:^CN=([^,]+)$/$1/L,DEFAULT"};
    g_server = tls_ctx_new(&sc, true, err, sizeof(err));
    tls_config cc = {.truststore_location = path};
    tls_ctx *client = tls_ctx_new(&cc, false, err, sizeof(err));
    unlink(path);
    if (!g_server || !client)
        abort();
    tls_conn *c = tls_conn_new(client, "localhost");
    g_hello = tls_conn_take_out(c, &g_hello_len);
    if (!g_hello)
        abort();
    tls_conn_free(c);
    tls_ctx_free(client);
}

static void check_rules(const uint8_t *p, size_t n)
{
    char rules[65], out[64];
    n = n > 64 ? 64 : n;
    memcpy(rules, p, n);
    rules[n] = '\0';
    bool valid = tls_rules_valid(rules);
    int rc = tls_principal_map(rules, "CN=alice,OU=eng,O=Brook", out, sizeof(out));
    if (rc == TLS_OK && strlen(out) >= sizeof(out))
        abort();
    if (valid && rc == TLS_ERR_RULES)
        abort(); /* a list that parses applies */
}

/* Feeds p in chunks, reading after each; checks that a dead session stays dead. */
static void feed(tls_conn *s, const uint8_t *p, size_t n, size_t chunk, bool *dead)
{
    uint8_t buf[4096];
    for (size_t off = 0; off < n; off += chunk) {
        size_t len = n - off < chunk ? n - off : chunk;
        if (tls_conn_feed(s, p + off, len) != TLS_OK)
            abort();
        size_t got;
        int rc;
        while ((rc = tls_conn_read(s, buf, sizeof(buf), &got)) == TLS_OK)
            ;
        if (*dead && rc == TLS_AGAIN)
            abort();
        *dead = *dead || rc != TLS_AGAIN;
        size_t out_len;
        free(tls_conn_take_out(s, &out_len));
        if (tls_conn_established(s))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_server)
        init();
    if (size < 1)
        return 0;
    unsigned mode = data[0];
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    if ((mode & 3) == 3) {
        check_rules(p, n);
        return 0;
    }
    size_t chunk = (mode >> 2) + 1;
    tls_conn *s = tls_conn_new(g_server, NULL);
    if (!s)
        return 0;
    bool dead = false;
    if ((mode & 3) == 0) {
        feed(s, p, n, chunk, &dead);
    } else {
        uint8_t *hello = malloc(g_hello_len);
        if (!hello)
            abort();
        for (size_t i = 0; i < g_hello_len; i++)
            hello[i] = g_hello[i] ^ (i < n ? p[i] : 0);
        feed(s, hello, g_hello_len, chunk, &dead);
        free(hello);
        if ((mode & 3) == 2)
            feed(s, p, n, chunk, &dead);
    }
    tls_conn_free(s);
    return 0;
}
