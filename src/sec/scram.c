/* scram.c - see scram.h. OpenSSL's libcrypto does the hashing (HMAC, PBKDF2, base64). */
#include "sec/scram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"

static const EVP_MD *mech_md(scram_mech m)
{
    switch (m) {
    case SCRAM_SHA_256: return EVP_sha256();
    case SCRAM_SHA_512: return EVP_sha512();
    case SCRAM_UNKNOWN: break;
    }
    return NULL;
}

const char *scram_mech_name(scram_mech m)
{
    switch (m) {
    case SCRAM_SHA_256: return "SCRAM-SHA-256";
    case SCRAM_SHA_512: return "SCRAM-SHA-512";
    case SCRAM_UNKNOWN: break;
    }
    return NULL;
}

scram_mech scram_mech_parse(const char *name)
{
    if (name && strcmp(name, "SCRAM-SHA-256") == 0)
        return SCRAM_SHA_256;
    if (name && strcmp(name, "SCRAM-SHA-512") == 0)
        return SCRAM_SHA_512;
    return SCRAM_UNKNOWN;
}

size_t scram_key_len(scram_mech m)
{
    return m == SCRAM_SHA_256 ? 32 : m == SCRAM_SHA_512 ? 64 : 0;
}

static void hmac(scram_mech m, const uint8_t *key, size_t klen, const void *data, size_t n,
                 uint8_t *out)
{
    unsigned int len = 0;
    uint8_t *r = HMAC(mech_md(m), key, (int)klen, data, n, out, &len);
    BROOK_ASSERT(r != NULL && len == scram_key_len(m));
}

static void hash(scram_mech m, const uint8_t *data, size_t n, uint8_t *out)
{
    unsigned int len = 0;
    int ok = EVP_Digest(data, n, out, &len, mech_md(m), NULL);
    BROOK_ASSERT(ok == 1 && len == scram_key_len(m));
}

int scram_cred_from_salted(scram_mech m, const uint8_t *salt, size_t salt_len,
                           int32_t iterations, const uint8_t *salted, size_t salted_len,
                           scram_cred *out)
{
    size_t kl = scram_key_len(m);
    if (kl == 0 || salted_len != kl || salt_len == 0 || salt_len > SCRAM_SALT_MAX)
        return -1;
    memset(out, 0, sizeof(*out));
    out->iterations = iterations;
    out->salt_len = salt_len;
    memcpy(out->salt, salt, salt_len);
    uint8_t client_key[SCRAM_KEY_MAX];
    hmac(m, salted, kl, "Client Key", 10, client_key);
    hash(m, client_key, kl, out->stored_key);
    hmac(m, salted, kl, "Server Key", 10, out->server_key);
    OPENSSL_cleanse(client_key, sizeof(client_key));
    return 0;
}

int scram_cred_from_password(scram_mech m, const char *password, size_t password_len,
                             const uint8_t *salt, size_t salt_len, int32_t iterations,
                             scram_cred *out)
{
    size_t kl = scram_key_len(m);
    if (kl == 0 || iterations <= 0 || salt_len == 0 || salt_len > SCRAM_SALT_MAX)
        return -1;
    uint8_t salted[SCRAM_KEY_MAX];
    if (PKCS5_PBKDF2_HMAC(password, (int)password_len, salt, (int)salt_len, iterations,
                          mech_md(m), (int)kl, salted) != 1)
        return -1;
    int rc = scram_cred_from_salted(m, salt, salt_len, iterations, salted, kl, out);
    OPENSSL_cleanse(salted, sizeof(salted));
    return rc;
}

bool scram_password_matches(scram_mech m, const scram_cred *c, const char *password,
                            size_t password_len)
{
    scram_cred try;
    if (scram_cred_from_password(m, password, password_len, c->salt, c->salt_len,
                                 c->iterations, &try) != 0)
        return false;
    bool ok = CRYPTO_memcmp(try.stored_key, c->stored_key, scram_key_len(m)) == 0;
    OPENSSL_cleanse(&try, sizeof(try));
    return ok;
}

int sasl_plain_parse(const uint8_t *msg, size_t len, const char **user, size_t *user_len,
                     const char **password, size_t *password_len, const char **why)
{
    const uint8_t *nul1 = memchr(msg, 0, len);
    const uint8_t *nul2 = nul1 ? memchr(nul1 + 1, 0, len - (size_t)(nul1 + 1 - msg)) : NULL;
    if (!nul1 || !nul2) {
        *why = "Invalid SASL/PLAIN response: expected 3 tokens";
        return -1;
    }
    size_t authz_len = (size_t)(nul1 - msg);
    *user = (const char *)nul1 + 1;
    *user_len = (size_t)(nul2 - nul1 - 1);
    *password = (const char *)nul2 + 1;
    *password_len = len - (size_t)(nul2 + 1 - msg);
    if (*user_len == 0 || *password_len == 0) {
        *why = *user_len == 0 ? "Authentication failed: username not specified"
                              : "Authentication failed: password not specified";
        return -1;
    }
    if (memchr(*password, 0, *password_len)) {
        *why = "Invalid SASL/PLAIN response: expected 3 tokens";
        return -1;
    }
    if (authz_len > 0 && (authz_len != *user_len || memcmp(msg, *user, authz_len) != 0)) {
        *why = "Authentication failed: Client requested an authorization id that is "
               "different from username";
        return -1;
    }
    return 0;
}

/* ---- base64 ---------------------------------------------------------------------------- */

size_t sec_b64_encode(const uint8_t *in, size_t n, char *out, size_t cap)
{
    BROOK_ASSERT(cap >= 4 * ((n + 2) / 3) + 1);
    return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

int sec_b64_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
    if (n % 4 != 0 || n / 4 * 3 > cap + 2)
        return -1;
    if (n == 0)
        return 0;
    uint8_t tmp[3 * (SCRAM_MSG_MAX / 4) + 3];
    if (n / 4 * 3 > sizeof(tmp))
        return -1;
    int got = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)n);
    if (got < 0)
        return -1;
    /* EVP_DecodeBlock counts the padding as zero bytes */
    size_t pad = (in[n - 1] == '=') + (n >= 2 && in[n - 2] == '=');
    size_t len = (size_t)got - pad;
    if (len > cap)
        return -1;
    memcpy(out, tmp, len);
    return (int)len;
}

/* ---- the exchange ---------------------------------------------------------------------- */

/* Splits off the next comma-separated attribute of [*p, end): "k=value". */
static bool next_attr(const char **p, const char *end, char *key, const char **val,
                      size_t *vlen)
{
    const char *s = *p;
    if (s >= end || end - s < 2 || s[1] != '=')
        return false;
    const char *comma = memchr(s, ',', (size_t)(end - s));
    const char *stop = comma ? comma : end;
    *key = s[0];
    *val = s + 2;
    *vlen = (size_t)(stop - s - 2);
    *p = comma ? comma + 1 : end;
    return true;
}

/* A SCRAM saslname ("=2C" for ',' and "=3D" for '=') into a C string. */
static bool decode_saslname(const char *v, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = v[i];
        if (ch == '=') {
            if (i + 2 >= n) /* "=2C" and "=3D" need two more bytes */
                return false;
            if (v[i + 1] == '2' && v[i + 2] == 'C')
                ch = ',';
            else if (v[i + 1] == '3' && v[i + 2] == 'D')
                ch = '=';
            else
                return false;
            i += 2;
        } else if (ch == ',' || ch == '\0') {
            return false;
        }
        if (o + 1 >= cap)
            return false;
        out[o++] = ch;
    }
    out[o] = '\0';
    return o > 0;
}

static bool printable_nonce(const char *v, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (v[i] < 0x21 || v[i] > 0x7e || v[i] == ',')
            return false;
    return true;
}

static int fail(scram_server *s, const char **why, const char *msg)
{
    s->step = SCRAM_FAILED;
    *why = msg;
    return -1;
}

static int client_first(scram_server *s, const char *m, size_t len, scram_lookup_fn lookup,
                        void *ctx, const char *snonce, char *out, size_t outcap,
                        size_t *out_len, const char **why)
{
    const char *end = m + len, *p = m;
    /* gs2-header: "n," or "y," then an optional "a=authzid", then "," */
    if (len < 3 || (m[0] != 'n' && m[0] != 'y') || m[1] != ',')
        return fail(s, why, m[0] == 'p' ? "Invalid SCRAM client first message: channel "
                                          "binding is not supported"
                                        : "Invalid SCRAM client first message");
    p = m + 2;
    const char *authz = NULL;
    size_t authz_len = 0;
    if (p < end && *p == 'a') {
        char k;
        if (!next_attr(&p, end, &k, &authz, &authz_len))
            return fail(s, why, "Invalid SCRAM client first message");
    } else if (p < end && *p == ',') {
        p++;
    } else {
        return fail(s, why, "Invalid SCRAM client first message");
    }
    size_t gs2_len = (size_t)(p - m);
    if (gs2_len >= sizeof(s->gs2_header))
        return fail(s, why, "Invalid SCRAM client first message");
    memcpy(s->gs2_header, m, gs2_len);
    s->gs2_header[gs2_len] = '\0';
    const char *bare = p;
    char k;
    const char *v;
    size_t vn;
    if (!next_attr(&p, end, &k, &v, &vn) || k != 'n' ||
        !decode_saslname(v, vn, s->user, sizeof(s->user)))
        return fail(s, why, "Invalid SCRAM client first message: no user name");
    if (authz) {
        char az[SCRAM_USER_MAX + 1];
        if (!decode_saslname(authz, authz_len, az, sizeof(az)) || strcmp(az, s->user) != 0)
            return fail(s, why, "Authentication failed: Client requested an authorization id "
                                "that is different from username");
    }
    const char *cnonce;
    size_t cn;
    if (!next_attr(&p, end, &k, &cnonce, &cn) || k != 'r' || !printable_nonce(cnonce, cn))
        return fail(s, why, "Invalid SCRAM client first message: no nonce");
    /* extensions (Kafka's "tokenauth=true" names a delegation token: Brook has none) */
    while (p < end) {
        const char *eq = memchr(p, '=', (size_t)(end - p));
        const char *comma = memchr(p, ',', (size_t)(end - p));
        if (!eq || (comma && comma < eq))
            return fail(s, why, "Invalid SCRAM client first message: bad extension");
        if ((size_t)(eq - p) == 9 && memcmp(p, "tokenauth", 9) == 0)
            return fail(s, why, "Authentication failed: delegation tokens are not supported");
        p = comma ? comma + 1 : end;
    }
    size_t snl = strlen(snonce);
    if (cn + snl >= sizeof(s->nonce) || (size_t)(end - bare) >= sizeof(s->client_first_bare))
        return fail(s, why, "Invalid SCRAM client first message: too long");
    const scram_cred *c = lookup(ctx, s->user, s->mech);
    if (!c)
        return fail(s, why, "Authentication failed: Invalid user credentials");
    s->cred = *c;
    memcpy(s->nonce, cnonce, cn);
    memcpy(s->nonce + cn, snonce, snl);
    s->nonce[cn + snl] = '\0';
    memcpy(s->client_first_bare, bare, (size_t)(end - bare));
    s->client_first_bare[end - bare] = '\0';
    char salt64[4 * ((SCRAM_SALT_MAX + 2) / 3) + 1];
    sec_b64_encode(c->salt, c->salt_len, salt64, sizeof(salt64));
    int n = snprintf(s->server_first, sizeof(s->server_first), "r=%s,s=%s,i=%d", s->nonce,
                     salt64, c->iterations);
    BROOK_ASSERT(n > 0 && (size_t)n < sizeof(s->server_first));
    if ((size_t)n >= outcap)
        return fail(s, why, "SCRAM answer too long");
    memcpy(out, s->server_first, (size_t)n + 1);
    *out_len = (size_t)n;
    s->step = SCRAM_AWAIT_FINAL;
    return 0;
}

static int client_final(scram_server *s, const char *m, size_t len, char *out, size_t outcap,
                        size_t *out_len, const char **why)
{
    const char *end = m + len, *p = m, *v;
    size_t vn;
    char k;
    /* c=base64(gs2-header): no channel binding data, so exactly the header sent first */
    char gs2_64[sizeof(s->gs2_header) * 2];
    size_t gl = sec_b64_encode((const uint8_t *)s->gs2_header, strlen(s->gs2_header), gs2_64,
                               sizeof(gs2_64));
    if (!next_attr(&p, end, &k, &v, &vn) || k != 'c' || vn != gl || memcmp(v, gs2_64, gl))
        return fail(s, why, "Invalid SCRAM client final message: channel binding mismatch");
    /* The nonce must end with the one the server sent (Kafka's check since 3.8.1): librdkafka
     * before 2.6.1 sends its own nonce once more in front (librdkafka #4895). The proof
     * covers the message as sent, so the extra prefix gains an attacker nothing. */
    size_t nl = strlen(s->nonce);
    if (!next_attr(&p, end, &k, &v, &vn) || k != 'r' || vn < nl ||
        memcmp(v + vn - nl, s->nonce, nl) != 0)
        return fail(s, why, "Invalid SCRAM client final message: nonce mismatch");
    const char *proof_at = NULL;
    while (p < end) {
        const char *attr = p;
        if (!next_attr(&p, end, &k, &v, &vn))
            return fail(s, why, "Invalid SCRAM client final message");
        if (k == 'p') {
            proof_at = attr;
            if (p != end)
                return fail(s, why, "Invalid SCRAM client final message: proof not last");
        }
    }
    if (!proof_at || proof_at == m)
        return fail(s, why, "Invalid SCRAM client final message: no proof");
    size_t kl = scram_key_len(s->mech);
    uint8_t proof[SCRAM_KEY_MAX];
    if (sec_b64_decode(v, vn, proof, sizeof(proof)) != (int)kl)
        return fail(s, why, "Invalid SCRAM client final message: bad proof");
    /* AuthMessage = client-first-bare "," server-first "," client-final-without-proof */
    size_t without = (size_t)(proof_at - 1 - m);
    size_t bl = strlen(s->client_first_bare), sl = strlen(s->server_first);
    char auth[sizeof(s->client_first_bare) + sizeof(s->server_first) + SCRAM_MSG_MAX + 2];
    if (bl + sl + without + 2 > sizeof(auth))
        return fail(s, why, "Invalid SCRAM client final message: too long");
    memcpy(auth, s->client_first_bare, bl);
    auth[bl] = ',';
    memcpy(auth + bl + 1, s->server_first, sl);
    auth[bl + 1 + sl] = ',';
    memcpy(auth + bl + sl + 2, m, without);
    size_t al = bl + sl + 2 + without;
    uint8_t sig[SCRAM_KEY_MAX], client_key[SCRAM_KEY_MAX], stored[SCRAM_KEY_MAX];
    hmac(s->mech, s->cred.stored_key, kl, auth, al, sig);
    for (size_t i = 0; i < kl; i++)
        client_key[i] = proof[i] ^ sig[i];
    hash(s->mech, client_key, kl, stored);
    bool ok = CRYPTO_memcmp(stored, s->cred.stored_key, kl) == 0;
    OPENSSL_cleanse(client_key, sizeof(client_key));
    if (!ok)
        return fail(s, why, "Authentication failed during authentication due to invalid "
                            "credentials with SASL mechanism");
    uint8_t server_sig[SCRAM_KEY_MAX];
    hmac(s->mech, s->cred.server_key, kl, auth, al, server_sig);
    char sig64[4 * ((SCRAM_KEY_MAX + 2) / 3) + 1];
    sec_b64_encode(server_sig, kl, sig64, sizeof(sig64));
    int n = snprintf(out, outcap, "v=%s", sig64);
    if (n < 0 || (size_t)n >= outcap)
        return fail(s, why, "SCRAM answer too long");
    *out_len = (size_t)n;
    s->step = SCRAM_DONE;
    return 0;
}

void scram_server_init(scram_server *s, scram_mech m)
{
    memset(s, 0, sizeof(*s));
    s->mech = m;
    s->step = SCRAM_AWAIT_FIRST;
}

int scram_server_feed(scram_server *s, const uint8_t *msg, size_t len, scram_lookup_fn lookup,
                      void *ctx, const char *server_nonce, char *out, size_t outcap,
                      size_t *out_len, const char **why)
{
    *out_len = 0;
    if (scram_key_len(s->mech) == 0)
        return fail(s, why, "Unsupported SASL mechanism");
    if (len == 0 || len > SCRAM_MSG_MAX || memchr(msg, 0, len))
        return fail(s, why, "Invalid SCRAM message");
    const char *m = (const char *)msg;
    switch (s->step) {
    case SCRAM_AWAIT_FIRST:
        return client_first(s, m, len, lookup, ctx, server_nonce, out, outcap, out_len, why);
    case SCRAM_AWAIT_FINAL: return client_final(s, m, len, out, outcap, out_len, why);
    case SCRAM_DONE:
    case SCRAM_FAILED: break;
    }
    return fail(s, why, "Unexpected SCRAM message after the exchange ended");
}

/* ---- the client side ------------------------------------------------------------------- */

int scram_client_first(scram_client *cl, scram_mech m, const char *user, const char *cnonce,
                       char *out, size_t cap)
{
    memset(cl, 0, sizeof(*cl));
    cl->mech = m;
    size_t nl = strlen(cnonce);
    if (scram_key_len(m) == 0 || !printable_nonce(cnonce, nl) || nl >= sizeof(cl->cnonce) ||
        !*user || strlen(user) > SCRAM_USER_MAX)
        return -1;
    memcpy(cl->cnonce, cnonce, nl + 1);
    char name[3 * SCRAM_USER_MAX + 1]; /* saslname: ',' and '=' escaped */
    size_t o = 0;
    for (const char *p = user; *p; p++) {
        const char *esc = *p == ',' ? "=2C" : *p == '=' ? "=3D" : NULL;
        if (esc) {
            memcpy(name + o, esc, 3);
            o += 3;
        } else {
            name[o++] = *p;
        }
    }
    name[o] = '\0';
    int n = snprintf(cl->client_first_bare, sizeof(cl->client_first_bare), "n=%s,r=%s", name,
                     cnonce);
    if (n < 0 || (size_t)n >= sizeof(cl->client_first_bare))
        return -1;
    n = snprintf(out, cap, "n,,%s", cl->client_first_bare);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* The server-first message's nonce, salt and iterations. Returns 0 or -1 with *why. */
static int parse_server_first(const scram_client *cl, const char *m, size_t len,
                              const char **nonce, size_t *nonce_len, uint8_t *salt,
                              size_t *salt_len, long *iters, const char **why)
{
    const char *p = m, *end = m + len, *v;
    size_t vl;
    char key;
    char num[16];
    *why = "malformed server-first message";
    if (!next_attr(&p, end, &key, nonce, nonce_len) || key != 'r')
        return -1;
    size_t cl_len = strlen(cl->cnonce);
    if (*nonce_len <= cl_len || memcmp(*nonce, cl->cnonce, cl_len) != 0 ||
        !printable_nonce(*nonce, *nonce_len)) {
        *why = "the server's nonce does not extend ours";
        return -1;
    }
    if (!next_attr(&p, end, &key, &v, &vl) || key != 's')
        return -1;
    int sl = sec_b64_decode(v, vl, salt, SCRAM_SALT_MAX);
    if (sl <= 0 || !next_attr(&p, end, &key, &v, &vl) || key != 'i' || vl == 0 ||
        vl >= sizeof(num))
        return -1;
    *salt_len = (size_t)sl;
    memcpy(num, v, vl);
    num[vl] = '\0';
    char *stop;
    *iters = strtol(num, &stop, 10);
    if (*stop || *iters < SCRAM_ITER_MIN || *iters > SCRAM_ITER_MAX) {
        *why = "the server asks for an iteration count outside 4096..16384";
        return -1;
    }
    return 0;
}

int scram_client_final(scram_client *cl, const char *password, const uint8_t *msg, size_t len,
                       char *out, size_t cap, const char **why)
{
    const scram_mech m = cl->mech;
    const size_t kl = scram_key_len(m);
    const char *nonce;
    size_t nonce_len, salt_len;
    uint8_t salt[SCRAM_SALT_MAX], salted[SCRAM_KEY_MAX], client_key[SCRAM_KEY_MAX];
    uint8_t stored[SCRAM_KEY_MAX], sig[SCRAM_KEY_MAX], server_key[SCRAM_KEY_MAX];
    long iters;
    if (!msg || len > SCRAM_MSG_MAX) {
        *why = "the server-first message is missing or too long";
        return -1;
    }
    if (parse_server_first(cl, (const char *)msg, len, &nonce, &nonce_len, salt, &salt_len,
                           &iters, why) != 0)
        return -1;
    char auth[3 * SCRAM_MSG_MAX + 64];
    int wo = snprintf(auth, sizeof(auth), "%s,%.*s,c=biws,r=%.*s", cl->client_first_bare,
                      (int)len, (const char *)msg, (int)nonce_len, nonce);
    *why = "message too long";
    if (wo < 0 || (size_t)wo >= sizeof(auth))
        return -1;
    if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len, (int)iters,
                          mech_md(m), (int)kl, salted) != 1)
        return -1;
    hmac(m, salted, kl, "Client Key", 10, client_key);
    hash(m, client_key, kl, stored);
    hmac(m, stored, kl, auth, (size_t)wo, sig);
    for (size_t i = 0; i < kl; i++)
        client_key[i] ^= sig[i]; /* now the proof */
    hmac(m, salted, kl, "Server Key", 10, server_key);
    hmac(m, server_key, kl, auth, (size_t)wo, cl->server_sig);
    char proof[4 * ((SCRAM_KEY_MAX + 2) / 3) + 1];
    sec_b64_encode(client_key, kl, proof, sizeof(proof));
    OPENSSL_cleanse(salted, sizeof(salted));
    OPENSSL_cleanse(client_key, sizeof(client_key));
    OPENSSL_cleanse(server_key, sizeof(server_key));
    int n = snprintf(out, cap, "c=biws,r=%.*s,p=%s", (int)nonce_len, nonce, proof);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

bool scram_client_verify(const scram_client *cl, const uint8_t *msg, size_t len)
{
    const size_t kl = scram_key_len(cl->mech);
    uint8_t got[SCRAM_KEY_MAX];
    if (len < 2 || msg[0] != 'v' || msg[1] != '=')
        return false;
    int n = sec_b64_decode((const char *)msg + 2, len - 2, got, sizeof(got));
    return n == (int)kl && CRYPTO_memcmp(got, cl->server_sig, kl) == 0;
}
