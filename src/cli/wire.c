/*
 * wire.c - one blocking Kafka connection for the CLI; see wire.h.
 *
 * Framing: a 4-byte big-endian size, then the request header (api key, version,
 * correlation id, client id; v2 adds an empty tag buffer) and the body. The answer is a size,
 * the correlation id (checked), a tag buffer when the request was flexible (ApiVersions
 * excepted), and the body handed back.
 */
#include "cli/wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "cli/kafka.h"
#include "cli/sock.h"
#include "sec/scram.h"

#define WIRE_CLIENT_ID "brook-cli"
#define WIRE_API_VERSIONS 18
#define WIRE_API_SASL_HANDSHAKE 17
#define WIRE_API_SASL_AUTHENTICATE 36

/* ---- transport: the socket, or TLS on it ---- */

/* Waits (poll, bounded by deadline) for what a TLS call that returned rc wants. Returns 0
 * to call again, or -1 with errno (ETIMEDOUT, ECONNRESET, EPROTO for a TLS error). */
static int tls_wait(cli_wire *w, int rc, int64_t deadline)
{
    int e = SSL_get_error(w->ssl, rc);
    short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (!ev) {
        errno = e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL ? ECONNRESET : EPROTO;
        return -1;
    }
    int64_t left = deadline - cli_now_ms();
    struct pollfd pf = {.fd = w->fd, .events = ev};
    int pr = left > 0 ? poll(&pf, 1, (int)left) : 0;
    if (pr == 0) {
        errno = ETIMEDOUT;
        return -1;
    }
    return pr < 0 && errno != EINTR ? -1 : 0;
}

/* All n bytes through TLS (SSL_write_ex when writing, else SSL_read_ex into p), waiting as
 * the session asks. Returns 0 or -1 with errno. */
static int tls_all(cli_wire *w, uint8_t *p, size_t n, bool writing, int64_t deadline)
{
    for (size_t off = 0, done; off < n;) {
        int rc = writing ? SSL_write_ex(w->ssl, p + off, n - off, &done)
                         : SSL_read_ex(w->ssl, p + off, n - off, &done);
        if (rc == 1)
            off += done;
        else if (tls_wait(w, rc, deadline) != 0)
            return -1;
    }
    return 0;
}

/* Sends the niov buffers in order: in plaintext with one sendmsg when the socket takes
 * them all (a request's header and body in one segment for the broker to read). */
static int wire_sendv(cli_wire *w, struct iovec *iov, int niov, int64_t deadline)
{
    if (!w->ssl)
        return cli_sock_sendv_all(w->fd, iov, niov, deadline);
    for (int i = 0; i < niov; i++)
        if (tls_all(w, iov[i].iov_base, iov[i].iov_len, true, deadline) != 0)
            return -1;
    return 0;
}

#define WIRE_RBUF_BYTES (64u << 10)

/* Plaintext: n bytes into p, first from what an earlier recv brought; a short rest is
 * read into the buffer with whatever else has come, a long one straight into p. */
static int plain_recv(cli_wire *w, uint8_t *p, size_t n, int64_t deadline)
{
    size_t take = w->rbuf_len - w->rbuf_off < n ? w->rbuf_len - w->rbuf_off : n;
    if (take > 0)
        memcpy(p, w->rbuf + w->rbuf_off, take);
    w->rbuf_off += take;
    p += take;
    n -= take;
    if (n == 0)
        return 0;
    if (n >= WIRE_RBUF_BYTES / 2)
        return cli_sock_recv_exact(w->fd, p, n, deadline);
    if (!w->rbuf && !(w->rbuf = malloc(WIRE_RBUF_BYTES)))
        return cli_sock_recv_exact(w->fd, p, n, deadline);
    w->rbuf_off = w->rbuf_len = 0;
    ssize_t got = cli_sock_recv_some(w->fd, w->rbuf, n, WIRE_RBUF_BYTES, deadline);
    if (got < 0)
        return -1;
    memcpy(p, w->rbuf, n);
    w->rbuf_off = n;
    w->rbuf_len = (size_t)got;
    return 0;
}

static int wire_recv(cli_wire *w, uint8_t *p, size_t n, int64_t deadline)
{
    return w->ssl ? tls_all(w, p, n, false, deadline) : plain_recv(w, p, n, deadline);
}

/* The property, or dflt when the client properties do not set it. */
static const char *prop_or(const char *key, const char *dflt)
{
    const char *v = cli_kafka_prop(key);
    return v ? v : dflt;
}

/* The newest OpenSSL error (or what) into err. */
static void tls_error(char *err, size_t errlen, const char *what, const char *arg)
{
    char why[256] = "";
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, why, sizeof(why));
    snprintf(err, errlen, "%s%s%s%s%s", what, arg ? " " : "", arg ? arg : "", why[0] ? ": " : "",
             why);
    ERR_clear_error();
}

/* OpenSSL's passphrase callback: ssl.key.password, or none (never a prompt on the terminal,
 * which OpenSSL's default callback would show for an encrypted key). */
static int key_password(char *buf, int size, int rwflag, void *u)
{
    (void)rwflag;
    const char *pw = u;
    int n = pw ? (int)strlen(pw) : 0;
    if (!pw || n >= size)
        return 0;
    memcpy(buf, pw, (size_t)n);
    return n;
}

/* The client TLS context from the ssl.* properties. NULL with err naming the property. */
static SSL_CTX *tls_ctx(char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        tls_error(err, errlen, "TLS", NULL);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    const char *ca = cli_kafka_prop("ssl.ca.location");
    const char *cert = cli_kafka_prop("ssl.certificate.location");
    const char *key = prop_or("ssl.key.location", cert);
    bool verify = strcasecmp(prop_or("enable.ssl.certificate.verification", "true"), "false");
    struct stat st;
    bool ca_dir = ca && stat(ca, &st) == 0 && S_ISDIR(st.st_mode); /* a hashed directory */
    SSL_CTX_set_default_passwd_cb(ctx, key_password);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, (void *)cli_kafka_prop("ssl.key.password"));
    if (ca ? SSL_CTX_load_verify_locations(ctx, ca_dir ? NULL : ca, ca_dir ? ca : NULL) != 1
           : SSL_CTX_set_default_verify_paths(ctx) != 1)
        tls_error(err, errlen, "ssl.ca.location", ca ? ca : "(the system's)");
    else if (!cert && cli_kafka_prop("ssl.key.location"))
        snprintf(err, errlen, "ssl.key.location needs ssl.certificate.location (the client "
                 "certificate it belongs to)");
    else if (cert && SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
        tls_error(err, errlen, "ssl.certificate.location", cert);
    else if (cert && SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
        tls_error(err, errlen, "ssl.key.location", key);
    else {
        SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
        return ctx;
    }
    SSL_CTX_free(ctx);
    return NULL;
}

/* TLS on the connected socket: the broker's certificate checked against ssl.ca.location and,
 * unless ssl.endpoint.identification.algorithm is none (librdkafka's default is https),
 * against the host name or IP address dialled. Returns 0 or -1 with err. */
static int tls_start(cli_wire *w, const char *host, int64_t deadline, char *err, size_t errlen)
{
    if (!(w->ssl_ctx = tls_ctx(err, errlen)))
        return -1;
    if (!(w->ssl = SSL_new(w->ssl_ctx)) || SSL_set_fd(w->ssl, w->fd) != 1) {
        tls_error(err, errlen, "TLS", NULL);
        return -1;
    }
    unsigned char ip[16];
    bool is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
    if (!is_ip)
        SSL_set_tlsext_host_name(w->ssl, host);
    if (strcasecmp(prop_or("ssl.endpoint.identification.algorithm", "https"), "https") == 0 &&
        (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(w->ssl), host)
               : SSL_set1_host(w->ssl, host)) != 1) {
        tls_error(err, errlen, "TLS: cannot check the certificate against", host);
        return -1;
    }
    int rc;
    while ((rc = SSL_connect(w->ssl)) != 1) {
        int saved = SSL_get_error(w->ssl, rc);
        if (saved != SSL_ERROR_WANT_READ && saved != SSL_ERROR_WANT_WRITE) {
            long vr = SSL_get_verify_result(w->ssl);
            if (vr != X509_V_OK) {
                ERR_clear_error();
                snprintf(err, errlen, "TLS handshake with %s: the broker's certificate: %s",
                         w->addr, X509_verify_cert_error_string(vr));
            } else {
                tls_error(err, errlen, "TLS handshake with", w->addr);
            }
            return -1;
        }
        if (tls_wait(w, rc, deadline) != 0) {
            snprintf(err, errlen, "TLS handshake with %s: %s", w->addr, strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* ---- SASL ---- */

/* One SaslAuthenticate v1 round: sends msg, returns the broker's bytes (malloc'd in *resp,
 * borrowed by *out). Returns 0, or -1 with err (the broker's message on a refusal). */
static int sasl_round(cli_wire *w, const void *msg, size_t len, uint8_t **resp, kslice *out,
                      char *err, size_t errlen)
{
    wr b;
    wr_init(&b, len + 8);
    wr_bytes(&b, (kslice){(const uint8_t *)msg, (int32_t)len});
    size_t n = 0;
    int rc = b.oom ? -1
                   : cli_wire_call(w, WIRE_API_SASL_AUTHENTICATE, 1, false, b.p, b.len, resp,
                                   &n, err, errlen);
    wr_free(&b);
    if (rc != 0)
        return -1;
    rd r;
    rd_init(&r, *resp, n);
    int16_t code = rd_i16(&r);
    kslice why = rd_str(&r);
    *out = rd_bytes(&r);
    int64_t lifetime_ms = rd_i64(&r); /* v1: the session's lifetime, 0 for none */
    if (r.err) {
        snprintf(err, errlen, "%s sent a malformed SaslAuthenticate answer", w->addr);
        return -1;
    }
    /* log in again at 85% of it, as librdkafka does at about that point */
    w->reauth_at_ms = code == 0 && lifetime_ms > 0 ? cli_now_ms() + lifetime_ms * 85 / 100 : 0;
    if (code != 0) {
        snprintf(err, errlen, "SASL authentication failed at %s: %.*s (error %d)", w->addr,
                 why.len > 0 ? (int)why.len : 0, why.len > 0 ? (const char *)why.p : "",
                 code);
        return -1;
    }
    return 0;
}

/* SaslHandshake v1 for mech; -1 with err naming what the broker offers instead. */
static int sasl_handshake(cli_wire *w, const char *mech, char *err, size_t errlen)
{
    wr b;
    wr_init(&b, 32);
    wr_cstr(&b, mech);
    uint8_t *resp = NULL;
    size_t n = 0;
    int rc = b.oom ? -1
                   : cli_wire_call(w, WIRE_API_SASL_HANDSHAKE, 1, false, b.p, b.len, &resp, &n,
                                   err, errlen);
    wr_free(&b);
    if (rc != 0)
        return -1;
    rd r;
    rd_init(&r, resp, n);
    int16_t code = rd_i16(&r);
    char offered[200] = "";
    int32_t k = rd_array(&r, 2);
    for (int32_t i = 0; i < k && !r.err; i++) {
        kslice m = rd_str(&r);
        size_t at = strlen(offered);
        if (m.len > 0 && at + (size_t)m.len + 2 < sizeof(offered))
            snprintf(offered + at, sizeof(offered) - at, "%s%.*s", at ? ", " : "", (int)m.len,
                     (const char *)m.p);
    }
    free(resp);
    if (r.err || code != 0) {
        snprintf(err, errlen, "%s does not take sasl.mechanism %s (it offers: %s)", w->addr,
                 mech, offered[0] ? offered : "none");
        return -1;
    }
    return 0;
}

/* SCRAM's three messages; the server's final one must prove it knows the credential. */
static int sasl_scram(cli_wire *w, scram_mech m, const char *user, const char *pw, char *err,
                      size_t errlen)
{
    uint8_t raw[18];
    char cnonce[32], msg[SCRAM_MSG_MAX + 1];
    const char *why = "";
    scram_client cl;
    if (RAND_bytes(raw, sizeof(raw)) != 1 ||
        sec_b64_encode(raw, sizeof(raw), cnonce, sizeof(cnonce)) == 0) {
        snprintf(err, errlen, "SCRAM: no random nonce");
        return -1;
    }
    int len = scram_client_first(&cl, m, user, cnonce, msg, sizeof(msg));
    if (len < 0) {
        snprintf(err, errlen, "SCRAM: sasl.username '%s' cannot be used", user);
        return -1;
    }
    uint8_t *resp = NULL;
    kslice in;
    int rc = sasl_round(w, msg, (size_t)len, &resp, &in, err, errlen);
    if (rc == 0 && (len = scram_client_final(&cl, pw, in.p, in.len > 0 ? (size_t)in.len : 0,
                                             msg, sizeof(msg), &why)) < 0) {
        snprintf(err, errlen, "SCRAM with %s: %s", w->addr, why);
        rc = -1;
    }
    free(resp);
    resp = NULL;
    if (rc == 0)
        rc = sasl_round(w, msg, (size_t)len, &resp, &in, err, errlen);
    if (rc == 0 && !scram_client_verify(&cl, in.p, in.len > 0 ? (size_t)in.len : 0)) {
        snprintf(err, errlen, "SCRAM with %s: the broker's signature does not verify (not the "
                 "broker that holds the credential?)", w->addr);
        rc = -1;
    }
    free(resp);
    return rc;
}

/* The SASL login of security.protocol SASL_*: PLAIN or SCRAM-SHA-256/512 as sasl.mechanism
 * (or librdkafka's sasl.mechanisms) says, with sasl.username and sasl.password. */
static int sasl_login(cli_wire *w, char *err, size_t errlen)
{
    const char *mech = prop_or("sasl.mechanism", prop_or("sasl.mechanisms", "GSSAPI"));
    const char *user = cli_kafka_prop("sasl.username"), *pw = cli_kafka_prop("sasl.password");
    scram_mech sm = scram_mech_parse(mech);
    if (strcmp(mech, "PLAIN") != 0 && sm == SCRAM_UNKNOWN) {
        snprintf(err, errlen, "sasl.mechanism %s: brook's own connections speak PLAIN, "
                 "SCRAM-SHA-256 and SCRAM-SHA-512", mech);
        return -1;
    }
    if (!user || !pw) {
        snprintf(err, errlen, "security.protocol %s needs sasl.username and sasl.password",
                 prop_or("security.protocol", ""));
        return -1;
    }
    if (sasl_handshake(w, mech, err, errlen) != 0)
        return -1;
    if (sm != SCRAM_UNKNOWN)
        return sasl_scram(w, sm, user, pw, err, errlen);
    size_t ul = strlen(user), pl = strlen(pw);
    char *plain = malloc(ul + pl + 2);
    if (!plain) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    plain[0] = '\0'; /* no authorization id: the user's own */
    memcpy(plain + 1, user, ul + 1);
    memcpy(plain + 2 + ul, pw, pl);
    uint8_t *resp = NULL;
    kslice in;
    int rc = sasl_round(w, plain, ul + pl + 2, &resp, &in, err, errlen);
    OPENSSL_cleanse(plain, ul + pl + 2);
    free(plain);
    free(resp);
    return rc;
}

int cli_wire_connect(cli_wire *w, const char *hostport, int64_t timeout_ms, char *err,
                     size_t errlen)
{
    memset(w, 0, sizeof(*w));
    w->fd = -1;
    w->next_corr = 1;
    w->timeout_ms = timeout_ms;
    snprintf(w->addr, sizeof(w->addr), "%s", hostport);
    char host[CLI_HOST_MAX], port[CLI_PORT_MAX];
    if (cli_split_hostport(hostport, host, sizeof(host), port, sizeof(port)) != 0) {
        snprintf(err, errlen, "'%s' is not HOST:PORT", hostport);
        return -1;
    }
    int64_t deadline = cli_now_ms() + timeout_ms;
    w->fd = cli_sock_connect(host, port, deadline, err, errlen);
    if (w->fd < 0)
        return -1;
    const char *proto = prop_or("security.protocol", "PLAINTEXT");
    bool tls = strcasecmp(proto, "SSL") == 0 || strcasecmp(proto, "SASL_SSL") == 0;
    bool sasl = strcasecmp(proto, "SASL_PLAINTEXT") == 0 || strcasecmp(proto, "SASL_SSL") == 0;
    if (!tls && !sasl && strcasecmp(proto, "PLAINTEXT") != 0) {
        snprintf(err, errlen, "security.protocol '%s' is not PLAINTEXT, SSL, SASL_PLAINTEXT or "
                 "SASL_SSL", proto);
        return -1;
    }
    if (tls && tls_start(w, host, deadline, err, errlen) != 0)
        return -1;
    return sasl ? sasl_login(w, err, errlen) : 0;
}

/* The frame's size prefix and request header (caller frees out) for a body of body_len
 * bytes, which is sent after it as it is. */
static void encode_header(wr *out, int16_t api_key, int16_t api_version, bool flexible,
                          int32_t corr, size_t body_len)
{
    wr_init(out, 64);
    wr_i32(out, 0); /* size, patched below */
    wr_i16(out, api_key);
    wr_i16(out, api_version);
    wr_i32(out, corr);
    wr_cstr(out, WIRE_CLIENT_ID); /* the client id is a non-compact string in v1 and v2 */
    if (flexible)
        wr_uvarint(out, 0); /* the header's empty tag buffer */
    wr_put_i32_at(out, 0, (int32_t)(out->len - 4 + body_len));
}

/* Reads one answer frame into *frame (malloc'd). Returns 0 or -1 with why in err. */
static int read_frame(cli_wire *w, int64_t deadline, uint8_t **frame, size_t *len, char *err,
                      size_t errlen)
{
    uint8_t hdr[4];
    if (wire_recv(w, hdr, 4, deadline) != 0) {
        snprintf(err, errlen, "reading from %s: %s", w->addr,
                 errno == ETIMEDOUT ? "timed out (--timeout-ms)" : strerror(errno));
        return -1;
    }
    uint32_t n = be32_get(hdr);
    if (n < 4 || n > CLI_WIRE_FRAME_MAX) {
        snprintf(err, errlen, "%s sent a frame of %u bytes (not a Kafka broker?)", w->addr, n);
        return -1;
    }
    uint8_t *p = malloc(n);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (wire_recv(w, p, n, deadline) != 0) {
        snprintf(err, errlen, "reading from %s: %s", w->addr,
                 errno == ETIMEDOUT ? "timed out (--timeout-ms)" : strerror(errno));
        free(p);
        return -1;
    }
    *frame = p;
    *len = n;
    return 0;
}

bool cli_wire_reauth_due(const cli_wire *w)
{
    return w->reauth_at_ms > 0 && !w->in_login && cli_now_ms() >= w->reauth_at_ms;
}

bool cli_wire_readable(cli_wire *w, int timeout_ms)
{
    if ((w->ssl && SSL_pending(w->ssl) > 0) || w->rbuf_off < w->rbuf_len)
        return true;
    struct pollfd p = {.fd = w->fd, .events = POLLIN};
    int n;
    do
        n = poll(&p, 1, timeout_ms);
    while (n < 0 && errno == EINTR);
    return n > 0;
}

int cli_wire_send(cli_wire *w, int16_t api_key, int16_t api_version, bool flexible,
                  const uint8_t *body, size_t body_len, int32_t *corr_out, char *err,
                  size_t errlen)
{
    if (w->fd < 0) {
        snprintf(err, errlen, "not connected");
        return -1;
    }
    if (cli_wire_reauth_due(w) && w->inflight == 0) {
        w->in_login = true;
        int rc = sasl_login(w, err, errlen);
        w->in_login = false;
        if (rc != 0)
            return -1;
    }
    if (body_len > CLI_WIRE_FRAME_MAX) {
        snprintf(err, errlen, "a request of %zu bytes is too large", body_len);
        return -1;
    }
    int64_t deadline = cli_now_ms() + w->timeout_ms;
    int32_t corr = w->next_corr++;
    wr hdr;
    encode_header(&hdr, api_key, api_version, flexible, corr, body_len);
    struct iovec iov[2] = {{.iov_base = hdr.p, .iov_len = hdr.len},
                           {.iov_base = (void *)body, .iov_len = body_len}};
    int rc = hdr.oom ? (errno = ENOMEM, -1) : wire_sendv(w, iov, 2, deadline);
    wr_free(&hdr);
    if (rc != 0) {
        snprintf(err, errlen, "sending to %s: %s", w->addr, strerror(errno));
        return -1;
    }
    *corr_out = corr;
    w->inflight++;
    return 0;
}

int cli_wire_recv(cli_wire *w, int32_t corr, bool flexible, uint8_t **resp, size_t *resp_len,
                  char *err, size_t errlen)
{
    uint8_t *frame = NULL;
    size_t n = 0;
    if (read_frame(w, cli_now_ms() + w->timeout_ms, &frame, &n, err, errlen) != 0)
        return -1;
    w->inflight--;
    rd r;
    rd_init(&r, frame, n);
    r.flex = flexible;
    int32_t got = rd_i32(&r);
    rd_tags(&r);
    if (r.err || got != corr) {
        snprintf(err, errlen, "%s answered correlation id %d to request %d", w->addr, got, corr);
        free(frame);
        return -1;
    }
    size_t off = r.off;
    memmove(frame, frame + off, n - off);
    *resp = frame;
    *resp_len = n - off;
    return 0;
}

int cli_wire_call(cli_wire *w, int16_t api_key, int16_t api_version, bool flexible,
                  const uint8_t *body, size_t body_len, uint8_t **resp, size_t *resp_len,
                  char *err, size_t errlen)
{
    int32_t corr;
    if (cli_wire_send(w, api_key, api_version, flexible, body, body_len, &corr, err,
                      errlen) != 0)
        return -1;
    return cli_wire_recv(w, corr, flexible && api_key != WIRE_API_VERSIONS, resp, resp_len,
                         err, errlen);
}

void cli_wire_close(cli_wire *w)
{
    if (w->ssl)
        SSL_free(w->ssl);
    if (w->ssl_ctx)
        SSL_CTX_free(w->ssl_ctx);
    w->ssl = NULL;
    w->ssl_ctx = NULL;
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    free(w->rbuf);
    w->rbuf = NULL;
    w->rbuf_off = w->rbuf_len = 0;
}

int cli_wire_request(const char *hostport, int64_t timeout_ms, int16_t api_key,
                     int16_t api_version, bool flexible, wr *body, uint8_t **resp, rd *r,
                     char *err, size_t errlen)
{
    cli_wire w = {.fd = -1};
    size_t len = 0;
    int rc = -1;
    *resp = NULL;
    if (body->oom)
        snprintf(err, errlen, "out of memory");
    else if (cli_wire_connect(&w, hostport, timeout_ms, err, errlen) == 0)
        rc = cli_wire_call(&w, api_key, api_version, flexible, body->p, body->len, resp, &len,
                           err, errlen);
    cli_wire_close(&w);
    wr_free(body);
    if (rc == 0) {
        rd_init(r, *resp, len);
        r->flex = flexible;
    }
    return rc;
}

char *cli_wire_dup_str(struct rd *r)
{
    kslice k = rd_str(r);
    if (k.len < 0)
        return NULL;
    char *s = malloc((size_t)k.len + 1);
    if (s) {
        memcpy(s, k.p, (size_t)k.len);
        s[k.len] = '\0';
    }
    return s;
}
