/*
 * test_sec_tls.c - sec/tls.h without sockets: ssl.principal.mapping.rules (DEFAULT, RULE
 * with groups, /L and /U, escaped slashes, first match wins, no match, bad lists), the RFC
 * 2253 form of a certificate's subject, and whole sessions between a client and a server
 * tls_conn shuttled through memory: mutual TLS with the client's principal, data both ways
 * (one record larger than a TLS record), close_notify, data queued before the handshake,
 * garbage refused, a client certificate missing where required, and the start-up errors
 * that name the key and the file.
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sec/tls.h"
#include "testutil.h"

static void test_mapping_rules(void)
{
    char out[256];
    const char *dn = "CN=alice,OU=eng,O=Brook";
    CHECK_EQ_INT(tls_principal_map(NULL, dn, out, sizeof(out)), TLS_OK);
    CHECK_EQ_STR(out, dn);
    CHECK_EQ_INT(tls_principal_map("DEFAULT", dn, out, sizeof(out)), TLS_OK);
    CHECK_EQ_STR(out, dn);
    CHECK_EQ_INT(tls_principal_map("RULE:^CN=([^,]+).*$/$1/", dn, out, sizeof(out)), TLS_OK);
    CHECK_EQ_STR(out, "alice");
    CHECK_EQ_INT(tls_principal_map("RULE:^CN=([^,]+),OU=([^,]+).*$/$2-$1/U", dn, out,
                                   sizeof(out)), TLS_OK);
    CHECK_EQ_STR(out, "ENG-ALICE");
    CHECK_EQ_INT(tls_principal_map("RULE:^CN=(.*),O=Brook$/$1/L", "CN=Bob,O=Brook", out,
                                   sizeof(out)), TLS_OK);
    CHECK_EQ_STR(out, "bob");
    /* the first rule that matches wins; a rule that does not match the whole DN is skipped */
    CHECK_EQ_INT(tls_principal_map("RULE:^CN=([^,]+),OU=ops.*$/ops-$1/, RULE:OU=eng/x/,\n"
                                   "  RULE:^CN=([^,]+).*$/$1@brook/,DEFAULT",
                                   dn, out, sizeof(out)), TLS_OK);
    CHECK_EQ_STR(out, "alice@brook");
    /* an escaped slash in a pattern and a replacement */
    CHECK_EQ_INT(tls_principal_map("RULE:^CN=a\\/b$/x\\/y/", "CN=a/b", out, sizeof(out)),
                 TLS_OK);
    CHECK_EQ_STR(out, "x/y");
    CHECK_EQ_INT(tls_principal_map("RULE:^CN=bob$/bob/", dn, out, sizeof(out)),
                 TLS_ERR_NO_RULE);
    CHECK_EQ_INT(tls_principal_map("DEFAULT", dn, out, 5), TLS_ERR_NOMEM);
    CHECK(tls_rules_valid("DEFAULT"));
    CHECK(tls_rules_valid("RULE:^CN=([^,]+).*$/$1/L,DEFAULT"));
    CHECK(!tls_rules_valid(""));
    CHECK(!tls_rules_valid("RULE:^CN=(.*$/$1/"));  /* does not compile */
    CHECK(!tls_rules_valid("RULE:^CN=.*$/x"));     /* no closing slash */
    CHECK(!tls_rules_valid("RULE:^CN=.*$/x/Q"));   /* an unknown flag */
    CHECK(!tls_rules_valid("DEFAULTS"));
    CHECK(!tls_rules_valid("SOMETHING"));
}

/* ---------------- certificates made in memory ---------------- */

/* A self-signed certificate (its own CA) with subject O=Brook, OU=ou, CN=cn, written with
 * its key as one PEM file at path (a keystore) and as the certificate alone at ca_path. */
static bool make_cert(const char *cn, const char *ou, const char *path, const char *ca_path)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    bool ok = false;
    if (!key || !x)
        goto out;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"Brook", -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_ASC, (const unsigned char *)ou, -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, n);
    X509_set_pubkey(x, key);
    if (X509_sign(x, key, EVP_sha256()) <= 0)
        goto out;
    FILE *f = fopen(path, "w"), *g = fopen(ca_path, "w");
    ok = f && g && PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) &&
         PEM_write_X509(f, x) && PEM_write_X509(g, x);
    if (f)
        fclose(f);
    if (g)
        fclose(g);
out:
    X509_free(x);
    EVP_PKEY_free(key);
    return ok;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    *len = 0;
    if (!f)
        return NULL;
    char *b = calloc(1, 65536);
    *len = b ? fread(b, 1, 65535, f) : 0;
    fclose(f);
    return b;
}

static void test_subject_dn(void)
{
    char ks[] = "/tmp/brook-tls-unit-XXXXXX";
    int fd = mkstemp(ks);
    if (!CHECK(fd >= 0))
        return;
    close(fd);
    char ca[64];
    snprintf(ca, sizeof(ca), "%s.ca", ks);
    if (CHECK(make_cert("alice, the first", "eng", ks, ca))) {
        size_t len = 0;
        char *pem = slurp(ca, &len), dn[256];
        CHECK_EQ_INT(tls_cert_subject_dn(pem, len, dn, sizeof(dn)), TLS_OK);
        CHECK_EQ_STR(dn, "CN=alice\\, the first,OU=eng,O=Brook"); /* RFC 2253: reversed */
        CHECK_EQ_INT(tls_cert_subject_dn("junk", 4, dn, sizeof(dn)), TLS_ERR_PROTO);
        free(pem);
    }
    unlink(ks);
    unlink(ca);
}

/* ---------------- sessions through memory ---------------- */

/* Moves ciphertext between the two sessions until neither has any, reading plaintext on
 * each side into its buffer. Returns the last result of each side's read. */
static void shuttle(tls_conn *a, tls_conn *b, char *abuf, size_t *alen, char *bbuf,
                    size_t *blen, int *arc, int *brc)
{
    *arc = *brc = TLS_AGAIN;
    for (int round = 0; round < 50; round++) {
        size_t n1, n2, got;
        uint8_t *o1 = tls_conn_take_out(a, &n1), *o2 = tls_conn_take_out(b, &n2);
        if (o1)
            tls_conn_feed(b, o1, n1);
        if (o2)
            tls_conn_feed(a, o2, n2);
        free(o1);
        free(o2);
        while ((*brc = tls_conn_read(b, (uint8_t *)bbuf + *blen, 65536 - *blen, &got)) == TLS_OK)
            *blen += got;
        while ((*arc = tls_conn_read(a, (uint8_t *)abuf + *alen, 65536 - *alen, &got)) == TLS_OK)
            *alen += got;
        if (n1 == 0 && n2 == 0 && round > 0)
            return;
    }
}

static void test_sessions(void)
{
    char srv_ks[] = "/tmp/brook-tls-unit-XXXXXX";
    int fd = mkstemp(srv_ks);
    if (!CHECK(fd >= 0))
        return;
    close(fd);
    char srv_ca[64], cli_ks[64], cli_ca[64], err[400];
    snprintf(srv_ca, sizeof(srv_ca), "%s.sca", srv_ks);
    snprintf(cli_ks, sizeof(cli_ks), "%s.cks", srv_ks);
    snprintf(cli_ca, sizeof(cli_ca), "%s.cca", srv_ks);
    if (!CHECK(make_cert("broker", "ops", srv_ks, srv_ca)) ||
        !CHECK(make_cert("alice", "eng", cli_ks, cli_ca)))
        goto out;
    tls_config sc = {.keystore_location = srv_ks, .truststore_location = cli_ca,
                     .client_auth = TLS_CLIENT_AUTH_REQUIRED,
                     .principal_rules = "RULE:^CN=([^,]+),OU=eng.*$/$1/,DEFAULT"};
    tls_config cc = {.keystore_location = cli_ks, .truststore_location = srv_ca};
    tls_config anon = {.truststore_location = srv_ca};
    tls_ctx *s = tls_ctx_new(&sc, true, err, sizeof(err));
    tls_ctx *c = tls_ctx_new(&cc, false, err, sizeof(err));
    tls_ctx *a = tls_ctx_new(&anon, false, err, sizeof(err));
    if (!CHECK(s && c && a))
        goto free_ctx;

    /* mutual TLS, a request queued before the handshake, answers both ways */
    tls_conn *sv = tls_conn_new(s, NULL), *cl = tls_conn_new(c, "broker");
    char *sbuf = calloc(1, 65536), *cbuf = calloc(1, 65536);
    size_t slen = 0, clen = 0;
    int src, crc;
    CHECK_EQ_INT(tls_conn_write(cl, (const uint8_t *)"hello", 5), TLS_OK);
    shuttle(cl, sv, cbuf, &clen, sbuf, &slen, &crc, &src);
    CHECK(tls_conn_established(sv) && tls_conn_established(cl));
    CHECK_EQ_STR(tls_conn_principal(sv), "User:alice");
    CHECK_EQ_INT((int)slen, 5);
    CHECK(memcmp(sbuf, "hello", 5) == 0);
    char big[40000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)('a' + i % 26);
    CHECK_EQ_INT(tls_conn_write(sv, (const uint8_t *)big, sizeof(big)), TLS_OK);
    shuttle(cl, sv, cbuf, &clen, sbuf, &slen, &crc, &src);
    CHECK_EQ_INT((int)clen, (int)sizeof(big));
    CHECK(memcmp(cbuf, big, sizeof(big)) == 0);
    tls_conn_close_notify(cl);
    shuttle(cl, sv, cbuf, &clen, sbuf, &slen, &crc, &src);
    CHECK_EQ_INT(src, TLS_EOF);
    tls_conn_free(sv);
    tls_conn_free(cl);

    /* no client certificate where one is required */
    sv = tls_conn_new(s, NULL);
    cl = tls_conn_new(a, NULL);
    slen = clen = 0;
    shuttle(cl, sv, cbuf, &clen, sbuf, &slen, &crc, &src);
    CHECK(src == TLS_ERR_HANDSHAKE || src == TLS_ERR_PROTO); /* PROTO: read again, dead */
    CHECK(!tls_conn_established(sv));
    CHECK(strstr(tls_conn_error(sv), "TLS handshake failed") != NULL);
    CHECK(strstr(tls_conn_error(sv), "certificate") != NULL);
    tls_conn_free(sv);
    tls_conn_free(cl);

    /* garbage: a plaintext Kafka request */
    sv = tls_conn_new(s, NULL);
    size_t got;
    const uint8_t req[] = {0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 1, 255, 255};
    CHECK_EQ_INT(tls_conn_feed(sv, req, sizeof(req)), TLS_OK);
    CHECK_EQ_INT(tls_conn_read(sv, (uint8_t *)sbuf, 100, &got), TLS_ERR_HANDSHAKE);
    CHECK_EQ_INT(tls_conn_read(sv, (uint8_t *)sbuf, 100, &got), TLS_ERR_PROTO); /* stays dead */
    tls_conn_free(sv);
    uint64_t ok, failed;
    tls_ctx_counts(s, &ok, &failed);
    CHECK_EQ_INT((int)ok, 1);
    CHECK_EQ_INT((int)failed, 2);
    free(sbuf);
    free(cbuf);
free_ctx:
    tls_ctx_free(s);
    tls_ctx_free(c);
    tls_ctx_free(a);

    /* start-up errors name the key and the file */
    tls_config bad = {.keystore_location = "/nonexistent/k.pem", .key_prefix =
                                                                     "listener.name.x.ssl."};
    CHECK(tls_ctx_new(&bad, true, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "listener.name.x.ssl.keystore.location") && strstr(err, "/nonexistent"));
    tls_config mix = {.keystore_location = srv_ca};
    CHECK(tls_ctx_new(&mix, true, err, sizeof(err)) == NULL); /* a certificate, no key */
    CHECK(strstr(err, "private key") != NULL);
    tls_config proto = {.keystore_location = srv_ks, .enabled_protocols = "TLSv1.1"};
    CHECK(tls_ctx_new(&proto, true, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "ssl.enabled.protocols") != NULL);
    tls_config ciph = {.keystore_location = srv_ks, .cipher_suites = "TLS_NOPE"};
    CHECK(tls_ctx_new(&ciph, true, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "ssl.cipher.suites") != NULL);
    tls_config only13 = {.keystore_location = srv_ks, .cipher_suites = "TLS_AES_128_GCM_SHA256"};
    tls_ctx *t13 = tls_ctx_new(&only13, true, err, sizeof(err));
    CHECK(t13 != NULL);
    tls_ctx_free(t13);
    tls_config rules = {.keystore_location = srv_ks, .principal_rules = "RULE:x"};
    CHECK(tls_ctx_new(&rules, true, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "ssl.principal.mapping.rules") != NULL);
out:
    unlink(srv_ks);
    unlink(srv_ca);
    unlink(cli_ks);
    unlink(cli_ca);
}

TU_MAIN(TU_CASE(test_mapping_rules), TU_CASE(test_subject_dn), TU_CASE(test_sessions))
