/* tls.c - see tls.h. */
#include "sec/tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/assert.h"
#include "base/regex.h"

/* $0..$9 in a mapping rule's replacement. */
#define TLS_RULE_GROUPS 10
/* Bytes of one ssl.cipher.suites translation (OpenSSL's names, ':'-separated). */
#define TLS_CIPHER_LIST_MAX 4096

struct tls_ctx {
    SSL_CTX *ssl;
    bool server;
    bool verify_hostname;
    char *rules; /* ssl.principal.mapping.rules, NULL: DEFAULT */
    uint64_t ok, failed;
};

struct tls_conn {
    tls_ctx *t;
    SSL *ssl;
    BIO *net_in;  /* ciphertext from the socket, read by the session */
    BIO *net_out; /* ciphertext from the session, for the socket */
    uint8_t *pending; /* plaintext written before the handshake was done */
    size_t pending_len, pending_cap;
    bool established, dead;
    bool has_principal;
    char principal[TLS_PRINCIPAL_MAX];
    char error[TLS_ERROR_MAX];
};

/* ---------------- contexts ---------------- */

static bool unset(const char *s) { return !s || !*s; }

/* The password callback: never a terminal prompt, only ssl.key.password (or nothing). */
static int password_cb(char *buf, int size, int rwflag, void *u)
{
    BROOK_UNUSED(rwflag);
    const char *pw = u ? u : "";
    size_t n = strlen(pw);
    if (size <= 0 || n >= (size_t)size)
        return 0;
    memcpy(buf, pw, n);
    return (int)n;
}

/* The first queued OpenSSL error as text ("unknown" if none), clearing the queue. */
static const char *ossl_reason(char *buf, size_t cap)
{
    unsigned long e = ERR_peek_last_error();
    if (e == 0)
        snprintf(buf, cap, "unknown error");
    else
        ERR_error_string_n(e, buf, cap);
    ERR_clear_error();
    return buf;
}

/* Whether path opens for reading; err names the key and the file otherwise. */
static bool file_readable(const char *key, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "config key '%s': cannot read %s: %s", key, path,
                 strerror(errno));
        return false;
    }
    fclose(f);
    return true;
}

static bool type_is_pem(const char *key, const char *type, char *err, size_t errlen)
{
    if (unset(type) || strcasecmp(type, "PEM") == 0)
        return true;
    snprintf(err, errlen, "config key '%s': '%s' is not supported (PEM only)", key, type);
    return false;
}

/* ssl.keystore.*: the certificate chain and the private key from one PEM file. */
static int load_keystore(tls_ctx *t, const tls_config *c, char *err, size_t errlen)
{
    const char *pre = c->key_prefix ? c->key_prefix : "ssl.";
    char key[160], why[160];
    snprintf(key, sizeof(key), "%skeystore.type", pre);
    if (!type_is_pem(key, c->keystore_type, err, errlen))
        return -1;
    snprintf(key, sizeof(key), "%skeystore.location", pre);
    if (unset(c->keystore_location)) {
        if (!t->server)
            return 0; /* a client without a certificate of its own */
        snprintf(err, errlen, "config key '%s': unset (an SSL listener needs a PEM file with "
                 "its private key and certificate chain)", key);
        return -1;
    }
    const char *loc = c->keystore_location;
    if (!file_readable(key, loc, err, errlen))
        return -1;
    SSL_CTX_set_default_passwd_cb_userdata(t->ssl, (void *)(c->key_password ? c->key_password
                                                                            : ""));
    int rc = -1;
    ERR_clear_error();
    if (SSL_CTX_use_certificate_chain_file(t->ssl, loc) != 1) {
        snprintf(err, errlen, "config key '%s': no certificate in %s (%s)", key, loc,
                 ossl_reason(why, sizeof(why)));
    } else if (SSL_CTX_use_PrivateKey_file(t->ssl, loc, SSL_FILETYPE_PEM) != 1) {
        if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH)
            snprintf(err, errlen, "config key '%s': the private key in %s does not match its "
                     "certificate", key, loc);
        else
            snprintf(err, errlen, "config key '%s': cannot load the private key in %s "
                     "(missing, or %skey.password wrong or unset): %s", key, loc, pre,
                     ossl_reason(why, sizeof(why)));
    } else if (SSL_CTX_check_private_key(t->ssl) != 1) {
        snprintf(err, errlen, "config key '%s': the private key in %s does not match its "
                 "certificate", key, loc);
    } else {
        rc = 0;
    }
    SSL_CTX_set_default_passwd_cb_userdata(t->ssl, NULL);
    ERR_clear_error();
    return rc;
}

/* ssl.truststore.*: the CAs a peer certificate must chain to (unset: the system's). */
static int load_truststore(tls_ctx *t, const tls_config *c, char *err, size_t errlen)
{
    const char *pre = c->key_prefix ? c->key_prefix : "ssl.";
    char key[160], why[160];
    snprintf(key, sizeof(key), "%struststore.type", pre);
    if (!type_is_pem(key, c->truststore_type, err, errlen))
        return -1;
    snprintf(key, sizeof(key), "%struststore.location", pre);
    if (unset(c->truststore_location)) {
        SSL_CTX_set_default_verify_paths(t->ssl);
        return 0;
    }
    const char *loc = c->truststore_location;
    if (!file_readable(key, loc, err, errlen))
        return -1;
    if (SSL_CTX_load_verify_locations(t->ssl, loc, NULL) != 1) {
        snprintf(err, errlen, "config key '%s': no CA certificate in %s (%s)", key, loc,
                 ossl_reason(why, sizeof(why)));
        return -1;
    }
    if (t->server) { /* the CA names a server sends in its CertificateRequest */
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(loc);
        if (names)
            SSL_CTX_set_client_CA_list(t->ssl, names);
    }
    ERR_clear_error();
    return 0;
}

/* ssl.enabled.protocols: TLSv1.2 and/or TLSv1.3 (older ones are not offered). */
static int set_protocols(tls_ctx *t, const tls_config *c, char *err, size_t errlen)
{
    const char *list = unset(c->enabled_protocols) ? "TLSv1.2,TLSv1.3" : c->enabled_protocols;
    int lo = 0, hi = 0;
    for (const char *p = list; *p;) {
        p += strspn(p, " ,");
        size_t n = strcspn(p, " ,");
        if (n == 0)
            break;
        int v = n == 7 && strncmp(p, "TLSv1.2", 7) == 0   ? TLS1_2_VERSION
                : n == 7 && strncmp(p, "TLSv1.3", 7) == 0 ? TLS1_3_VERSION
                                                          : 0;
        if (!v) {
            snprintf(err, errlen, "config key '%senabled.protocols': '%.*s' is not TLSv1.2 or "
                     "TLSv1.3", c->key_prefix ? c->key_prefix : "ssl.", (int)n, p);
            return -1;
        }
        lo = lo == 0 || v < lo ? v : lo;
        hi = v > hi ? v : hi;
        p += n;
    }
    if (!lo) {
        snprintf(err, errlen, "config key '%senabled.protocols': empty",
                 c->key_prefix ? c->key_prefix : "ssl.");
        return -1;
    }
    SSL_CTX_set_min_proto_version(t->ssl, lo);
    SSL_CTX_set_max_proto_version(t->ssl, hi);
    return 0;
}

/* Appends name to a ':'-separated list; false when it does not fit. */
static bool list_add(char *list, size_t cap, const char *name)
{
    size_t used = strlen(list);
    int n = snprintf(list + used, cap - used, "%s%s", used ? ":" : "", name);
    return n >= 0 && (size_t)n < cap - used;
}

/* ssl.cipher.suites: IANA (Kafka's) or OpenSSL names; TLS 1.3 suites and older ones are
 * configured apart in OpenSSL, and a version left without a suite is turned off. */
static int set_ciphers(tls_ctx *t, const tls_config *c, char *err, size_t errlen)
{
    if (unset(c->cipher_suites))
        return 0;
    const char *pre = c->key_prefix ? c->key_prefix : "ssl.";
    SSL *probe = NULL;
    SSL_CTX *all = SSL_CTX_new(TLS_method());
    if (!all || SSL_CTX_set_cipher_list(all, "ALL:COMPLEMENTOFALL") != 1 ||
        !(probe = SSL_new(all))) {
        SSL_CTX_free(all);
        snprintf(err, errlen, "config key '%scipher.suites': out of memory", pre);
        return -1;
    }
    STACK_OF(SSL_CIPHER) *known = SSL_get_ciphers(probe);
    char l12[TLS_CIPHER_LIST_MAX] = "", l13[TLS_CIPHER_LIST_MAX] = "";
    int rc = 0;
    for (const char *p = c->cipher_suites; *p && rc == 0;) {
        p += strspn(p, " ,");
        size_t n = strcspn(p, " ,");
        if (n == 0)
            break;
        const SSL_CIPHER *found = NULL;
        for (int i = 0; i < sk_SSL_CIPHER_num(known) && !found; i++) {
            const SSL_CIPHER *s = sk_SSL_CIPHER_value(known, i);
            const char *std = SSL_CIPHER_standard_name(s), *own = SSL_CIPHER_get_name(s);
            if ((std && strlen(std) == n && strncmp(std, p, n) == 0) ||
                (strlen(own) == n && strncmp(own, p, n) == 0))
                found = s;
        }
        bool v13 = found && strcmp(SSL_CIPHER_get_version(found), "TLSv1.3") == 0;
        if (!found || !list_add(v13 ? l13 : l12, TLS_CIPHER_LIST_MAX, SSL_CIPHER_get_name(found))) {
            snprintf(err, errlen, "config key '%scipher.suites': '%.*s' is not a cipher suite "
                     "this OpenSSL offers", pre, (int)n, p);
            rc = -1;
        }
        p += n;
    }
    SSL_free(probe);
    SSL_CTX_free(all);
    if (rc != 0)
        return rc;
    if (*l12 ? SSL_CTX_set_cipher_list(t->ssl, l12) != 1
             : SSL_CTX_set_min_proto_version(t->ssl, TLS1_3_VERSION) != 1) {
        snprintf(err, errlen, "config key '%scipher.suites': OpenSSL refused '%s'", pre, l12);
        return -1;
    }
    SSL_CTX_set_ciphersuites(t->ssl, l13);
    if (!*l13)
        SSL_CTX_set_max_proto_version(t->ssl, TLS1_2_VERSION);
    if (SSL_CTX_get_min_proto_version(t->ssl) > SSL_CTX_get_max_proto_version(t->ssl)) {
        snprintf(err, errlen, "config key '%scipher.suites': no suite for an enabled protocol "
                 "(%senabled.protocols)", pre, pre);
        return -1;
    }
    ERR_clear_error();
    return 0;
}

int tls_client_auth_parse(const char *s, tls_client_auth *out)
{
    if (unset(s) || strcmp(s, "none") == 0)
        *out = TLS_CLIENT_AUTH_NONE;
    else if (strcmp(s, "requested") == 0)
        *out = TLS_CLIENT_AUTH_REQUESTED;
    else if (strcmp(s, "required") == 0)
        *out = TLS_CLIENT_AUTH_REQUIRED;
    else
        return -1;
    return 0;
}

tls_ctx *tls_ctx_new(const tls_config *cfg, bool server, char *err, size_t errlen)
{
    tls_ctx *t = calloc(1, sizeof(*t));
    if (!t || !(t->ssl = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()))) {
        free(t);
        snprintf(err, errlen, "TLS: out of memory");
        return NULL;
    }
    t->server = server;
    t->verify_hostname = cfg->verify_hostname;
    SSL_CTX_set_default_passwd_cb(t->ssl, password_cb);
    SSL_CTX_set_options(t->ssl, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(t->ssl, SSL_MODE_RELEASE_BUFFERS);
    int verify = SSL_VERIFY_PEER;
    if (server)
        verify = cfg->client_auth == TLS_CLIENT_AUTH_REQUIRED
                     ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                 : cfg->client_auth == TLS_CLIENT_AUTH_REQUESTED ? SSL_VERIFY_PEER
                                                                 : SSL_VERIFY_NONE;
    SSL_CTX_set_verify(t->ssl, verify, NULL);
    if (server && !unset(cfg->principal_rules)) {
        if (!tls_rules_valid(cfg->principal_rules)) {
            snprintf(err, errlen, "config key 'ssl.principal.mapping.rules': '%s' is not a "
                     "list of DEFAULT and RULE:pattern/replacement/[LU] (POSIX extended "
                     "patterns)", cfg->principal_rules);
            goto fail;
        }
        if (!(t->rules = strdup(cfg->principal_rules))) {
            snprintf(err, errlen, "TLS: out of memory");
            goto fail;
        }
    }
    if (load_keystore(t, cfg, err, errlen) != 0 || load_truststore(t, cfg, err, errlen) != 0 ||
        set_protocols(t, cfg, err, errlen) != 0 || set_ciphers(t, cfg, err, errlen) != 0)
        goto fail;
    return t;
fail:
    tls_ctx_free(t);
    ERR_clear_error();
    return NULL;
}

void tls_ctx_free(tls_ctx *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ssl);
    free(t->rules);
    free(t);
}

void tls_ctx_counts(const tls_ctx *t, uint64_t *ok, uint64_t *failed)
{
    *ok = t ? t->ok : 0;
    *failed = t ? t->failed : 0;
}

/* ---------------- the subject DN and the mapping rules ---------------- */

/* name in RFC 2253 form (most specific first: CN=alice,OU=eng,O=Brook), as Java's
 * X500Principal.getName() writes it for Kafka's default principal. */
static int dn_format(X509_NAME *name, char *out, size_t cap)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (!b)
        return TLS_ERR_NOMEM;
    int rc = TLS_ERR_NOMEM;
    if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0) {
        size_t n = BIO_ctrl_pending(b);
        if (n < cap && BIO_read(b, out, (int)n) == (int)n) {
            out[n] = '\0';
            rc = TLS_OK;
        }
    }
    BIO_free(b);
    return rc;
}

int tls_cert_subject_dn(const char *pem, size_t len, char *out, size_t cap)
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    int rc = x ? dn_format(X509_get_subject_name(x), out, cap) : TLS_ERR_PROTO;
    X509_free(x);
    BIO_free(b);
    ERR_clear_error();
    return rc;
}

typedef struct map_rule {
    bool is_default;
    char *pattern, *replacement; /* malloc'd, "\/" already turned into "/" */
    char casing;                 /* 'L', 'U' or 0 */
} map_rule;

static void rule_clear(map_rule *r)
{
    free(r->pattern);
    free(r->replacement);
    memset(r, 0, sizeof(*r));
}

/* Copies up to the next unescaped '/' (which *pp is left on), unescaping "\/". */
static char *rule_part(const char **pp)
{
    const char *p = *pp;
    size_t n = 0;
    while (p[n] && p[n] != '/')
        n += p[n] == '\\' && p[n + 1] ? 2 : 1;
    if (p[n] != '/')
        return NULL;
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\\' && p[i + 1] == '/')
            i++;
        s[o++] = p[i];
    }
    s[o] = '\0';
    *pp = p + n;
    return s;
}

/* The next rule of a list (separated by commas and/or whitespace, as Kafka's parser):
 * 1 with *r filled (rule_clear it), 0 at the end, -1 on a syntax error. */
static int rule_next(const char **pp, map_rule *r)
{
    memset(r, 0, sizeof(*r));
    const char *p = *pp + strspn(*pp, " \t\r\n,");
    if (!*p)
        return 0;
    if (strncmp(p, "DEFAULT", 7) == 0) {
        r->is_default = true;
        p += 7;
    } else if (strncmp(p, "RULE:", 5) == 0) {
        p += 5;
        if (!(r->pattern = rule_part(&p)))
            return -1;
        p++;
        if (!(r->replacement = rule_part(&p))) {
            rule_clear(r);
            return -1;
        }
        p++;
        if (*p == 'L' || *p == 'U')
            r->casing = *p++;
    } else {
        return -1;
    }
    if (*p && !strchr(" \t\r\n,", *p)) {
        rule_clear(r);
        return -1;
    }
    *pp = p;
    return 1;
}

bool tls_rules_valid(const char *rules)
{
    const char *p = rules ? rules : "";
    map_rule r;
    int got, n = 0;
    while ((got = rule_next(&p, &r)) == 1) {
        regex_t rx;
        bool ok = r.is_default || regex_compile_safe(&rx, r.pattern, REG_EXTENDED) == 0;
        if (ok && !r.is_default)
            regfree(&rx);
        rule_clear(&r);
        if (!ok)
            return false;
        n++;
    }
    return got == 0 && n > 0;
}

/* Writes the replacement with $0..$9 taken from the match; "\x" is a literal x. */
static int rule_expand(const map_rule *r, const char *dn, const regmatch_t *m, char *out,
                       size_t cap)
{
    size_t o = 0;
    for (const char *p = r->replacement; *p; p++) {
        const char *src = p;
        size_t n = 1;
        if (*p == '$' && p[1] >= '0' && p[1] <= '9') {
            const regmatch_t *g = &m[p[1] - '0'];
            src = dn + (g->rm_so >= 0 ? g->rm_so : 0);
            n = g->rm_so >= 0 ? (size_t)(g->rm_eo - g->rm_so) : 0;
            p++;
        } else if (*p == '\\' && p[1]) {
            src = ++p;
        }
        if (o + n >= cap)
            return TLS_ERR_NOMEM;
        memcpy(out + o, src, n);
        o += n;
    }
    out[o] = '\0';
    for (char *q = out; r->casing && *q; q++)
        if (r->casing == 'L' && *q >= 'A' && *q <= 'Z')
            *q = (char)(*q - 'A' + 'a');
        else if (r->casing == 'U' && *q >= 'a' && *q <= 'z')
            *q = (char)(*q - 'a' + 'A');
    return TLS_OK;
}

/* Applies one rule: TLS_OK (out filled), TLS_ERR_NO_RULE (no match), or an error. */
static int rule_apply(const map_rule *r, const char *dn, char *out, size_t cap)
{
    if (r->is_default) {
        if (strlen(dn) >= cap)
            return TLS_ERR_NOMEM;
        memcpy(out, dn, strlen(dn) + 1);
        return TLS_OK;
    }
    regex_t rx;
    if (regex_compile_safe(&rx, r->pattern, REG_EXTENDED) != 0)
        return TLS_ERR_RULES;
    regmatch_t m[TLS_RULE_GROUPS];
    bool whole = regexec(&rx, dn, TLS_RULE_GROUPS, m, 0) == 0 && m[0].rm_so == 0 &&
                 (size_t)m[0].rm_eo == strlen(dn);
    regfree(&rx);
    return whole ? rule_expand(r, dn, m, out, cap) : TLS_ERR_NO_RULE;
}

int tls_principal_map(const char *rules, const char *dn, char *out, size_t cap)
{
    const char *p = unset(rules) ? "DEFAULT" : rules;
    map_rule r;
    int got, rc = TLS_ERR_NO_RULE;
    while (rc == TLS_ERR_NO_RULE && (got = rule_next(&p, &r)) == 1) {
        rc = rule_apply(&r, dn, out, cap);
        rule_clear(&r);
    }
    if (rc == TLS_ERR_NO_RULE && got < 0)
        rc = TLS_ERR_RULES;
    return rc;
}

/* ---------------- sessions ---------------- */

tls_conn *tls_conn_new(tls_ctx *t, const char *peer_host)
{
    tls_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->t = t;
    c->ssl = SSL_new(t->ssl);
    c->net_in = BIO_new(BIO_s_mem());
    c->net_out = BIO_new(BIO_s_mem());
    if (!c->ssl || !c->net_in || !c->net_out) {
        BIO_free(c->net_in);
        BIO_free(c->net_out);
        SSL_free(c->ssl);
        free(c);
        return NULL;
    }
    SSL_set_bio(c->ssl, c->net_in, c->net_out); /* the session owns both now */
    if (t->server) {
        SSL_set_accept_state(c->ssl);
        return c;
    }
    SSL_set_connect_state(c->ssl);
    if (peer_host && *peer_host) {
        ASN1_OCTET_STRING *ip = a2i_IPADDRESS(peer_host);
        if (!ip)
            SSL_set_tlsext_host_name(c->ssl, peer_host);
        if (t->verify_hostname && ip)
            X509_VERIFY_PARAM_set1_ip(SSL_get0_param(c->ssl), ASN1_STRING_get0_data(ip),
                                      (size_t)ASN1_STRING_length(ip));
        else if (t->verify_hostname)
            SSL_set1_host(c->ssl, peer_host);
        ASN1_OCTET_STRING_free(ip);
    }
    ERR_clear_error();
    SSL_do_handshake(c->ssl); /* queues the ClientHello */
    ERR_clear_error();
    return c;
}

void tls_conn_free(tls_conn *c)
{
    if (!c)
        return;
    SSL_free(c->ssl);
    free(c->pending);
    free(c);
}

int tls_conn_feed(tls_conn *c, const uint8_t *p, size_t n)
{
    if (n == 0)
        return TLS_OK;
    return BIO_write(c->net_in, p, (int)n) == (int)n ? TLS_OK : TLS_ERR_NOMEM;
}

/* Marks the session dead with rc, keeping a message for the logs. */
static int conn_fail(tls_conn *c, int rc, const char *what)
{
    char why[160];
    long vr = SSL_get_verify_result(c->ssl);
    ossl_reason(why, sizeof(why));
    if (vr != X509_V_OK)
        snprintf(c->error, sizeof(c->error), "%s: %s (certificate: %s)", what, why,
                 X509_verify_cert_error_string(vr));
    else
        snprintf(c->error, sizeof(c->error), "%s: %s", what, why);
    if (!c->dead && !c->established)
        c->t->failed++;
    c->dead = true;
    return rc;
}

/* Encrypts p into net_out (the handshake is done). */
static int conn_encrypt(tls_conn *c, const uint8_t *p, size_t n)
{
    ERR_clear_error();
    size_t off = 0;
    while (off < n) {
        size_t w = 0;
        if (SSL_write_ex(c->ssl, p + off, n - off, &w) != 1)
            return conn_fail(c, TLS_ERR_PROTO, "TLS write failed");
        off += w;
    }
    return TLS_OK;
}

/* The handshake just finished: the peer's principal, then what was queued before. */
static int conn_established(tls_conn *c)
{
    c->established = true;
    X509 *peer = c->t->server ? SSL_get1_peer_certificate(c->ssl) : NULL;
    if (peer) {
        char dn[TLS_PRINCIPAL_MAX] = "(a subject too long to name)",
             name[TLS_PRINCIPAL_MAX - 5];
        int rc = dn_format(X509_get_subject_name(peer), dn, sizeof(dn));
        X509_free(peer);
        if (rc == TLS_OK)
            rc = tls_principal_map(c->t->rules, dn, name, sizeof(name));
        if (rc != TLS_OK) {
            snprintf(c->error, sizeof(c->error), "client certificate %.100s: %s", dn,
                     rc == TLS_ERR_NO_RULE ? "no ssl.principal.mapping.rules rule matches"
                                           : tls_result_name(rc));
            c->t->failed++;
            c->dead = true;
            return rc;
        }
        memcpy(c->principal, "User:", 5);
        memcpy(c->principal + 5, name, strlen(name) + 1);
        c->has_principal = true;
    }
    c->t->ok++;
    if (c->pending_len > 0) {
        int rc = conn_encrypt(c, c->pending, c->pending_len);
        free(c->pending);
        c->pending = NULL;
        c->pending_len = c->pending_cap = 0;
        return rc;
    }
    return TLS_OK;
}

int tls_conn_read(tls_conn *c, uint8_t *buf, size_t cap, size_t *got)
{
    *got = 0;
    if (c->dead)
        return TLS_ERR_PROTO;
    BROOK_ASSERT(cap > 0);
    ERR_clear_error();
    if (!c->established) {
        int r = SSL_do_handshake(c->ssl);
        if (r != 1) {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                return TLS_AGAIN;
            return conn_fail(c, TLS_ERR_HANDSHAKE, "TLS handshake failed");
        }
        int rc = conn_established(c);
        if (rc != TLS_OK)
            return rc;
    }
    size_t n = 0;
    int r = SSL_read_ex(c->ssl, buf, cap, &n);
    if (r == 1) {
        *got = n;
        return TLS_OK;
    }
    switch (SSL_get_error(c->ssl, r)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        return TLS_AGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return TLS_EOF;
    default:
        return conn_fail(c, TLS_ERR_PROTO, "TLS read failed");
    }
}

int tls_conn_write(tls_conn *c, const uint8_t *p, size_t n)
{
    if (c->dead)
        return TLS_ERR_PROTO;
    if (c->established)
        return conn_encrypt(c, p, n);
    if (c->pending_len + n > c->pending_cap) {
        size_t cap = c->pending_cap ? c->pending_cap : 4096;
        while (cap < c->pending_len + n)
            cap *= 2;
        uint8_t *grown = realloc(c->pending, cap);
        if (!grown)
            return TLS_ERR_NOMEM;
        c->pending = grown;
        c->pending_cap = cap;
    }
    memcpy(c->pending + c->pending_len, p, n);
    c->pending_len += n;
    return TLS_OK;
}

void tls_conn_close_notify(tls_conn *c)
{
    if (c->dead || !c->established)
        return;
    ERR_clear_error();
    SSL_shutdown(c->ssl);
    ERR_clear_error();
}

uint8_t *tls_conn_take_out(tls_conn *c, size_t *len)
{
    size_t n = BIO_ctrl_pending(c->net_out);
    *len = n;
    if (n == 0)
        return NULL;
    uint8_t *b = malloc(n);
    if (!b)
        return NULL;
    int r = BIO_read(c->net_out, b, (int)n);
    BROOK_ASSERT(r == (int)n);
    return b;
}

bool tls_conn_established(const tls_conn *c) { return c->established && !c->dead; }

const char *tls_conn_principal(const tls_conn *c)
{
    return c->has_principal ? c->principal : NULL;
}

const char *tls_conn_error(const tls_conn *c) { return c->error; }

void tls_conn_describe(const tls_conn *c, char *out, size_t cap)
{
    const SSL_CIPHER *ci = SSL_get_current_cipher(c->ssl);
    snprintf(out, cap, "%s %s", SSL_get_version(c->ssl), ci ? SSL_CIPHER_get_name(ci) : "-");
}

const char *tls_result_name(int rc)
{
    switch (rc) {
    case TLS_OK:
        return "ok";
    case TLS_AGAIN:
        return "again";
    case TLS_EOF:
        return "closed by the peer (close_notify)";
    case TLS_ERR_HANDSHAKE:
        return "handshake failed";
    case TLS_ERR_PROTO:
        return "TLS error";
    case TLS_ERR_NOMEM:
        return "out of memory";
    case TLS_ERR_NO_RULE:
        return "no mapping rule matches";
    case TLS_ERR_RULES:
        return "bad mapping rules";
    default:
        return "?";
    }
}
