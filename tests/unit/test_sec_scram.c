/*
 * test_sec_scram.c - SCRAM and PLAIN as the server checks them (sec/scram.h) and the
 * credential store (sec/creds.h): RFC 7677's SCRAM-SHA-256 example exchange byte for byte,
 * a SCRAM-SHA-512 exchange computed with the client's formulas, wrong proofs, nonces and
 * channel-binding headers, unknown users, librdkafka's doubled nonce, saslname escapes,
 * PLAIN's message forms, and the credentials file (round trip, no secret in it, a damaged
 * file refused).
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "sec/creds.h"
#include "sec/scram.h"
#include "testutil.h"

/* RFC 7677 section 3. */
#define RFC_USER "user"
#define RFC_PASSWORD "pencil"
#define RFC_SALT "W22ZaJ0SNY7soEsUEjb6gQ=="
#define RFC_CFIRST "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
#define RFC_SNONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define RFC_SFIRST "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define RFC_CFINAL_WO "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define RFC_PROOF "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC_SFINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

typedef struct one_user {
    const char *name;
    scram_mech mech;
    scram_cred cred;
} one_user;

static const scram_cred *lookup(void *ctx, const char *user, scram_mech m)
{
    const one_user *u = ctx;
    return strcmp(user, u->name) == 0 && m == u->mech ? &u->cred : NULL;
}

static one_user rfc_user(void)
{
    one_user u = {RFC_USER, SCRAM_SHA_256, {0}};
    uint8_t salt[32];
    int n = sec_b64_decode(RFC_SALT, strlen(RFC_SALT), salt, sizeof(salt));
    CHECK_EQ_INT(n, 16);
    CHECK_EQ_INT(scram_cred_from_password(SCRAM_SHA_256, RFC_PASSWORD, strlen(RFC_PASSWORD),
                                          salt, (size_t)n, 4096, &u.cred),
                 0);
    return u;
}

static int feed(scram_server *s, const char *msg, one_user *u, char *out, const char **why)
{
    size_t len = 0;
    return scram_server_feed(s, (const uint8_t *)msg, strlen(msg), lookup, u, RFC_SNONCE, out,
                             1024, &len, why);
}

static void test_rfc7677_exchange(void)
{
    one_user u = rfc_user();
    scram_server s;
    scram_server_init(&s, SCRAM_SHA_256);
    char out[1024];
    const char *why = NULL;
    CHECK_EQ_INT(feed(&s, RFC_CFIRST, &u, out, &why), 0);
    CHECK_EQ_STR(out, RFC_SFIRST);
    CHECK_EQ_INT(s.step, SCRAM_AWAIT_FINAL);
    CHECK_EQ_INT(feed(&s, RFC_CFINAL_WO ",p=" RFC_PROOF, &u, out, &why), 0);
    CHECK_EQ_STR(out, RFC_SFINAL);
    CHECK_EQ_INT(s.step, SCRAM_DONE);
    CHECK_EQ_STR(s.user, "user");
    /* nothing more is accepted */
    CHECK_EQ_INT(feed(&s, RFC_CFINAL_WO ",p=" RFC_PROOF, &u, out, &why), -1);
    CHECK_EQ_INT(s.step, SCRAM_FAILED);
}

/* A doubled nonce (librdkafka before 2.6.1) with the proof of the undoubled message fails:
 * the proof covers the message as sent. */
static void test_doubled_client_nonce_needs_its_own_proof(void)
{
    one_user u = rfc_user();
    scram_server s;
    scram_server_init(&s, SCRAM_SHA_256);
    char out[1024];
    const char *why = NULL;
    CHECK_EQ_INT(feed(&s, RFC_CFIRST, &u, out, &why), 0);
    /* the proof covers the message as sent, so the RFC's proof no longer fits */
    CHECK_EQ_INT(feed(&s, "c=biws,r=rOprNGfwEbeRWgbNEkqOrOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)"
                          "hNlF$k0,p=" RFC_PROOF, &u, out, &why),
                 -1);
    CHECK(strstr(why, "invalid credentials") != NULL);
}

static void test_refusals(void)
{
    static const struct {
        const char *first, *final, *why_has;
    } cases[] = {
        {"p=tls-unique,,n=user,r=abc", NULL, "channel binding"},
        {"x,,n=user,r=abc", NULL, "first message"},
        {"n,,n=mallory,r=abc", NULL, "Invalid user credentials"},
        {"n,,r=abc", NULL, "no user name"},
        {"n,,n=user", NULL, "no nonce"},
        {"n,a=other,n=user,r=abc", NULL, "authorization id"},
        {"n,,n=user,r=abc,tokenauth=true", NULL, "delegation tokens"},
        {"n,,n=us=2Xer,r=abc", NULL, "no user name"},
        {RFC_CFIRST, "c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=" RFC_PROOF,
         "channel binding"},
        {RFC_CFIRST, "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k1,p=" RFC_PROOF,
         "nonce"},
        {RFC_CFIRST, RFC_CFINAL_WO, "no proof"},
        {RFC_CFIRST, RFC_CFINAL_WO ",p=AAAA", "bad proof"},
        {RFC_CFIRST, RFC_CFINAL_WO ",p=eHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
         "invalid credentials"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        one_user u = rfc_user();
        scram_server s;
        scram_server_init(&s, SCRAM_SHA_256);
        char out[1024];
        const char *why = NULL;
        int rc = feed(&s, cases[i].first, &u, out, &why);
        if (cases[i].final) {
            if (!CHECK_EQ_INT(rc, 0))
                continue;
            rc = feed(&s, cases[i].final, &u, out, &why);
        }
        CHECK_EQ_INT(rc, -1);
        CHECK_EQ_INT(s.step, SCRAM_FAILED);
        if (CHECK(why != NULL) && !CHECK(strstr(why, cases[i].why_has) != NULL))
            fprintf(stderr, "case %zu: %s\n", i, why);
    }
}

/* SCRAM-SHA-512 end to end, the client side computed here with libcrypto; a user name
 * with ',' and '=' travels escaped. doubled: the final nonce repeats the client's in front,
 * as librdkafka before 2.6.1 sends it (accepted, as Kafka 3.8.1+ does). */
static void sha512_exchange(bool doubled)
{
    const char *pw = "s3cret";
    uint8_t salt[20];
    memset(salt, 7, sizeof(salt));
    one_user u = {"a,b=c", SCRAM_SHA_512, {0}};
    CHECK_EQ_INT(scram_cred_from_password(SCRAM_SHA_512, pw, strlen(pw), salt, sizeof(salt),
                                          4096, &u.cred),
                 0);
    scram_server s;
    scram_server_init(&s, SCRAM_SHA_512);
    char sfirst[1024];
    const char *why = NULL;
    const char *bare = "n=a=2Cb=3Dc,r=CLIENTNONCE";
    char first[256];
    snprintf(first, sizeof(first), "n,,%s", bare);
    if (!CHECK_EQ_INT(feed(&s, first, &u, sfirst, &why), 0))
        return;
    CHECK_EQ_STR(s.user, "a,b=c");
    char final_wo[256];
    snprintf(final_wo, sizeof(final_wo), "c=biws,r=%sCLIENTNONCE%s", doubled ? "CLIENTNONCE" : "",
             RFC_SNONCE);
    uint8_t salted[64], ckey[64], stored[64], sig[64], proof[64];
    unsigned int len = 0;
    PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt, sizeof(salt), 4096, EVP_sha512(), 64, salted);
    HMAC(EVP_sha512(), salted, 64, (const uint8_t *)"Client Key", 10, ckey, &len);
    EVP_Digest(ckey, 64, stored, &len, EVP_sha512(), NULL);
    char auth[2048];
    snprintf(auth, sizeof(auth), "%s,%s,%s", bare, sfirst, final_wo);
    HMAC(EVP_sha512(), stored, 64, (const uint8_t *)auth, strlen(auth), sig, &len);
    for (int i = 0; i < 64; i++)
        proof[i] = ckey[i] ^ sig[i];
    char p64[128], final[512], out[1024];
    sec_b64_encode(proof, 64, p64, sizeof(p64));
    snprintf(final, sizeof(final), "%s,p=%s", final_wo, p64);
    CHECK_EQ_INT(feed(&s, final, &u, out, &why), 0);
    CHECK_EQ_INT(s.step, SCRAM_DONE);
    uint8_t skey[64], ssig[64];
    HMAC(EVP_sha512(), salted, 64, (const uint8_t *)"Server Key", 10, skey, &len);
    HMAC(EVP_sha512(), skey, 64, (const uint8_t *)auth, strlen(auth), ssig, &len);
    char want[128] = "v=";
    sec_b64_encode(ssig, 64, want + 2, sizeof(want) - 2);
    CHECK_EQ_STR(out, want);
    /* PLAIN against the same credential */
    CHECK(scram_password_matches(SCRAM_SHA_512, &u.cred, pw, strlen(pw)));
    CHECK(!scram_password_matches(SCRAM_SHA_512, &u.cred, "s3cres", 6));
}

static void test_sha512_exchange_and_escapes(void) { sha512_exchange(false); }
static void test_sha512_doubled_client_nonce(void) { sha512_exchange(true); }

static void test_plain_parse(void)
{
    const char *user, *pw, *why = NULL;
    size_t ul, pl;
    CHECK_EQ_INT(sasl_plain_parse((const uint8_t *)"\0bob\0pw", 7, &user, &ul, &pw, &pl, &why), 0);
    CHECK(ul == 3 && memcmp(user, "bob", 3) == 0 && pl == 2 && memcmp(pw, "pw", 2) == 0);
    CHECK_EQ_INT(sasl_plain_parse((const uint8_t *)"bob\0bob\0pw", 10, &user, &ul, &pw, &pl, &why),
                 0);
    CHECK_EQ_INT(sasl_plain_parse((const uint8_t *)"eve\0bob\0pw", 10, &user, &ul, &pw, &pl, &why),
                 -1);
    CHECK(strstr(why, "authorization id") != NULL);
    CHECK_EQ_INT(sasl_plain_parse((const uint8_t *)"\0bob", 4, &user, &ul, &pw, &pl, &why), -1);
    CHECK_EQ_INT(sasl_plain_parse((const uint8_t *)"\0\0pw", 4, &user, &ul, &pw, &pl, &why), -1);
    CHECK_EQ_INT(sasl_plain_parse((const uint8_t *)"\0bob\0", 5, &user, &ul, &pw, &pl, &why), -1);
    CHECK_EQ_INT(sasl_plain_parse((const uint8_t *)"\0bob\0p\0w", 8, &user, &ul, &pw, &pl, &why),
                 -1);
}

static void test_cred_from_salted_checks(void)
{
    uint8_t salt[8] = {1}, sp[64] = {2};
    scram_cred c;
    CHECK_EQ_INT(scram_cred_from_salted(SCRAM_SHA_256, salt, 8, 4096, sp, 32, &c), 0);
    CHECK_EQ_INT(scram_cred_from_salted(SCRAM_SHA_256, salt, 8, 4096, sp, 64, &c), -1);
    CHECK_EQ_INT(scram_cred_from_salted(SCRAM_SHA_512, salt, 0, 4096, sp, 64, &c), -1);
    CHECK_EQ_INT(scram_cred_from_salted(SCRAM_UNKNOWN, salt, 8, 4096, sp, 32, &c), -1);
    CHECK_EQ_INT(scram_mech_parse("SCRAM-SHA-512"), SCRAM_SHA_512);
    CHECK_EQ_INT(scram_mech_parse("PLAIN"), SCRAM_UNKNOWN);
    CHECK_EQ_STR(scram_mech_name(SCRAM_SHA_256), "SCRAM-SHA-256");
}

static void test_creds_file(void)
{
    char dir[] = "/tmp/brook-creds-XXXXXX";
    if (!CHECK(mkdtemp(dir) != NULL))
        return;
    char err[256];
    sec_creds s;
    CHECK_EQ_INT(sec_creds_load(&s, dir, err, sizeof(err)), 0); /* no file yet */
    CHECK_EQ_INT(s.n, 0);
    uint8_t salt[16] = {9, 8, 7};
    scram_cred a, b;
    CHECK_EQ_INT(scram_cred_from_password(SCRAM_SHA_256, "pw-a", 4, salt, 16, 4096, &a), 0);
    CHECK_EQ_INT(scram_cred_from_password(SCRAM_SHA_512, "pw-b", 4, salt, 16, 8192, &b), 0);
    CHECK_EQ_INT(sec_creds_put(&s, "alice", SCRAM_SHA_256, &a), 0);
    CHECK_EQ_INT(sec_creds_put(&s, "bob with spaces", SCRAM_SHA_512, &b), 0);
    CHECK_EQ_INT(sec_creds_put(&s, "alice", SCRAM_SHA_256, &a), 0); /* replaces */
    CHECK_EQ_INT(s.n, 2);
    CHECK_EQ_INT(sec_creds_save(&s), 0);
    sec_creds_free(&s);

    CHECK_EQ_INT(sec_creds_load(&s, dir, err, sizeof(err)), 0);
    CHECK_EQ_INT(s.n, 2);
    const scram_cred *got = sec_creds_find(&s, "bob with spaces", SCRAM_SHA_512);
    if (CHECK(got != NULL)) {
        CHECK_EQ_INT(got->iterations, 8192);
        CHECK_EQ_MEM(got->stored_key, b.stored_key, 64);
        CHECK_EQ_MEM(got->server_key, b.server_key, 64);
    }
    CHECK(sec_creds_find(&s, "alice", SCRAM_SHA_512) == NULL);
    CHECK(sec_creds_check_password(&s, "alice", "pw-a", 4));
    CHECK(!sec_creds_check_password(&s, "alice", "pw-b", 4));
    CHECK(!sec_creds_check_password(&s, "carol", "pw-a", 4));
    CHECK_EQ_INT(sec_creds_remove(&s, "alice", SCRAM_SHA_256), 0);
    CHECK_EQ_INT(sec_creds_remove(&s, "alice", SCRAM_SHA_256), -1);
    sec_creds_free(&s);

    char path[300], *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/%s", dir, SEC_CREDS_FILE);
    if (CHECK_EQ_INT(fs_read_all(path, &text, &len), 0)) {
        CHECK(strstr(text, "pw-a") == NULL && strstr(text, "pw-b") == NULL);
        free(text);
    }
    /* a damaged line stops the load, naming the file and the line */
    CHECK_EQ_INT(fs_write_atomic(path, "# x\nYWxpY2U= 1 4096 AAAA\n", 24), 0);
    CHECK_EQ_INT(sec_creds_load(&s, dir, err, sizeof(err)), -1);
    CHECK(strstr(err, "line 2") != NULL);
    sec_creds_free(&s);
    CHECK_EQ_INT(fs_write_atomic(path, "YWxpY2U= 9 4096 AAAA AAAA AAAA\n", 31), 0);
    CHECK_EQ_INT(sec_creds_load(&s, dir, err, sizeof(err)), -1);
    sec_creds_free(&s);
    CHECK_EQ_INT(fs_remove_tree(dir), 0);
}

/* The client side reproduces RFC 7677's messages byte for byte, and checks the signature. */
static void test_client_rfc7677(void)
{
    scram_client cl;
    char out[1024];
    const char *why = NULL;
    int n = scram_client_first(&cl, SCRAM_SHA_256, RFC_USER, "rOprNGfwEbeRWgbNEkqO", out,
                               sizeof(out));
    CHECK(n > 0 && strcmp(out, RFC_CFIRST) == 0);
    n = scram_client_final(&cl, RFC_PASSWORD, (const uint8_t *)RFC_SFIRST, strlen(RFC_SFIRST),
                           out, sizeof(out), &why);
    CHECK(n > 0 && strcmp(out, RFC_CFINAL_WO ",p=" RFC_PROOF) == 0);
    CHECK(scram_client_verify(&cl, (const uint8_t *)RFC_SFINAL, strlen(RFC_SFINAL)));
    const char *bad = "v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
    CHECK(!scram_client_verify(&cl, (const uint8_t *)bad, strlen(bad)));
    /* a server nonce that does not extend ours, and too many iterations, are refused */
    scram_client_first(&cl, SCRAM_SHA_256, RFC_USER, "abc", out, sizeof(out));
    CHECK(scram_client_final(&cl, "pw", (const uint8_t *)RFC_SFIRST, strlen(RFC_SFIRST), out,
                             sizeof(out), &why) < 0);
    const char *many = "r=abcd,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=100000";
    CHECK(scram_client_final(&cl, "pw", (const uint8_t *)many, strlen(many), out, sizeof(out),
                             &why) < 0 &&
          strstr(why, "iteration") != NULL);
}

/* A whole SCRAM-SHA-512 exchange between the client and the server of this module. */
static void test_client_against_server(void)
{
    one_user u = {"a,b=c", SCRAM_SHA_512, {0}};
    const uint8_t salt[] = "0123456789abcdef";
    CHECK_EQ_INT(scram_cred_from_password(SCRAM_SHA_512, "pw", 2, salt, 16, 4096, &u.cred), 0);
    for (int wrong = 0; wrong < 2; wrong++) {
        scram_client cl;
        scram_server sv;
        char c1[1024], s1[1024], c2[1024], s2[1024];
        const char *why = NULL;
        size_t l1 = 0, l2 = 0;
        scram_server_init(&sv, SCRAM_SHA_512);
        int n = scram_client_first(&cl, SCRAM_SHA_512, u.name, "clientnonce", c1, sizeof(c1));
        CHECK(n > 0 && scram_server_feed(&sv, (const uint8_t *)c1, (size_t)n, lookup, &u,
                                         "servernonce", s1, sizeof(s1), &l1, &why) == 0);
        n = scram_client_final(&cl, wrong ? "px" : "pw", (const uint8_t *)s1, l1, c2,
                               sizeof(c2), &why);
        CHECK(n > 0);
        int rc = scram_server_feed(&sv, (const uint8_t *)c2, (size_t)n, lookup, &u,
                                   "servernonce", s2, sizeof(s2), &l2, &why);
        CHECK_EQ_INT(rc, wrong ? -1 : 0);
        if (!wrong)
            CHECK(scram_client_verify(&cl, (const uint8_t *)s2, l2));
    }
}

/* A cluster keeps one user's lines per znode: sec_creds_format of that user alone, parsed
 * back into another set, gives the same credential; other users' lines stay out. */
static void test_creds_text(void)
{
    sec_creds a = {0}, b = {0};
    scram_cred c1, c2;
    const uint8_t salt[] = "salt-salt";
    CHECK_EQ_INT(scram_cred_from_password(SCRAM_SHA_512, "p1", 2, salt, 9, 4096, &c1), 0);
    CHECK_EQ_INT(scram_cred_from_password(SCRAM_SHA_256, "p2", 2, salt, 9, 4096, &c2), 0);
    CHECK_EQ_INT(sec_creds_put(&a, "al ice", SCRAM_SHA_512, &c1), 0);
    CHECK_EQ_INT(sec_creds_put(&a, "bob", SCRAM_SHA_256, &c2), 0);
    size_t len = 0;
    char *text = sec_creds_format(&a, "al ice", &len);
    if (CHECK(text != NULL) && CHECK(len == strlen(text))) {
        CHECK(strstr(text, "p1") == NULL);
        CHECK_EQ_INT(sec_creds_parse(&b, text), 0);
        CHECK_EQ_INT(b.n, 1);
        CHECK(sec_creds_check_password(&b, "al ice", "p1", 2));
        CHECK(sec_creds_find(&b, "bob", SCRAM_SHA_256) == NULL);
    }
    free(text);
    char bad[] = "YWxpY2U= 2 4096\n";
    CHECK_EQ_INT(sec_creds_parse(&b, bad), -1);
    sec_creds_free(&a);
    sec_creds_free(&b);
}

TU_MAIN(TU_CASE(test_rfc7677_exchange), TU_CASE(test_client_rfc7677),
        TU_CASE(test_creds_text),
        TU_CASE(test_client_against_server),
        TU_CASE(test_doubled_client_nonce_needs_its_own_proof), TU_CASE(test_refusals),
        TU_CASE(test_sha512_exchange_and_escapes), TU_CASE(test_sha512_doubled_client_nonce),
        TU_CASE(test_plain_parse), TU_CASE(test_cred_from_salted_checks),
        TU_CASE(test_creds_file))
