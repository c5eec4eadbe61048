/*
 * tls.h - TLS for the Kafka listeners and the inter-broker connections, on OpenSSL with
 * memory BIOs: the caller moves ciphertext between the socket and the session, so the
 * module never touches a socket, never blocks and never starts a thread.
 *
 * Owns: the SSL_CTX built from Kafka's ssl.* keys (a tls_ctx, one per listener and one for
 * the inter-broker client side), each connection's SSL session and its two memory BIOs (a
 * tls_conn), the plaintext a client queues before its handshake is done, the peer's
 * principal (User:<subject DN in RFC 2253 form>, mapped by ssl.principal.mapping.rules),
 * and the handshake counters of its context.
 * Never: reads or writes a socket, interprets Kafka frames, or lets a session through
 * whose peer certificate failed verification or whose DN no mapping rule matched.
 *
 * Data flow of a connection: bytes read from the socket go to tls_conn_feed(); then
 * tls_conn_read() is called until it stops returning TLS_OK (it runs the handshake first);
 * plaintext to send goes to tls_conn_write(); after each of those calls whatever
 * tls_conn_take_out() returns is written to the socket, in that order. Renegotiation is
 * off (TLS 1.2) and absent (TLS 1.3).
 */
#ifndef BROOK_SEC_TLS_H
#define BROOK_SEC_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Results (0 or negative). */
#define TLS_OK 0
#define TLS_AGAIN (-1)         /* tls_conn_read: needs more bytes from the socket */
#define TLS_EOF (-2)           /* the peer sent close_notify */
#define TLS_ERR_HANDSHAKE (-3) /* the handshake failed (tls_conn_error says why) */
#define TLS_ERR_PROTO (-4)     /* a TLS error after the handshake */
#define TLS_ERR_NOMEM (-5)
#define TLS_ERR_NO_RULE (-6)   /* no ssl.principal.mapping.rules rule matches the DN */
#define TLS_ERR_RULES (-7)     /* ssl.principal.mapping.rules does not parse */

#define TLS_PRINCIPAL_MAX 512 /* bytes of "User:<name>" kept per connection */
#define TLS_ERROR_MAX 200     /* bytes of a connection's error text */

typedef enum tls_client_auth {
    TLS_CLIENT_AUTH_NONE,
    TLS_CLIENT_AUTH_REQUESTED,
    TLS_CLIENT_AUTH_REQUIRED,
} tls_client_auth;

/* Kafka's ssl.* keys of one listener (or of the inter-broker client), all borrowed for
 * the call of tls_ctx_new. NULL or "" means unset. */
typedef struct tls_config {
    const char *keystore_type;     /* "PEM" (the only type) */
    const char *keystore_location; /* PEM: the private key and the certificate chain */
    const char *key_password;      /* for an encrypted private key */
    const char *truststore_type;   /* "PEM" */
    const char *truststore_location; /* PEM CA bundle; unset: the system's CAs */
    tls_client_auth client_auth;   /* server side only */
    const char *enabled_protocols; /* "TLSv1.2,TLSv1.3" (unset: both) */
    const char *cipher_suites;     /* IANA names, either version; unset: OpenSSL's default */
    const char *principal_rules;   /* server side: ssl.principal.mapping.rules */
    bool verify_hostname;          /* client side: ssl.endpoint.identification.algorithm */
    const char *key_prefix;        /* "ssl." or "listener.name.x.ssl.": for messages */
} tls_config;

typedef struct tls_ctx tls_ctx;
typedef struct tls_conn tls_conn;

/* Builds a server (server=true) or client context. Returns NULL with err naming the key
 * and the file on any problem (unreadable file, bad password, key not matching the
 * certificate, no certificate in the truststore, an unknown protocol or cipher suite, bad
 * mapping rules). */
tls_ctx *tls_ctx_new(const tls_config *cfg, bool server, char *err, size_t errlen);
void tls_ctx_free(tls_ctx *t);
/* Handshakes completed and failed on the context's connections since it was made. */
void tls_ctx_counts(const tls_ctx *t, uint64_t *ok, uint64_t *failed);
/* Parses "required", "requested" or "none"; -1 otherwise. */
int tls_client_auth_parse(const char *s, tls_client_auth *out);

/* A session on t (borrowed: must outlive it). Client side: peer_host (copied) is what the
 * server certificate must name when the context verifies host names (an IP address is
 * checked against the IP SANs), and the ClientHello is queued at once. NULL: no memory. */
tls_conn *tls_conn_new(tls_ctx *t, const char *peer_host);
void tls_conn_free(tls_conn *c);
/* Hands bytes read from the socket to the session (copied). TLS_OK or TLS_ERR_NOMEM. */
int tls_conn_feed(tls_conn *c, const uint8_t *p, size_t n);
/* Runs the handshake, then decrypts into buf: TLS_OK with *got > 0, TLS_AGAIN, TLS_EOF,
 * or an error (TLS_ERR_HANDSHAKE, TLS_ERR_PROTO, TLS_ERR_NO_RULE, TLS_ERR_NOMEM). After
 * an error the session is dead: send what tls_conn_take_out gives (an alert) and close. */
int tls_conn_read(tls_conn *c, uint8_t *buf, size_t cap, size_t *got);
/* Encrypts all of p (copied), or keeps it until the handshake is done. TLS_OK, or an
 * error as above. */
int tls_conn_write(tls_conn *c, const uint8_t *p, size_t n);
/* Queues a close_notify alert (then send tls_conn_take_out's bytes and close). */
void tls_conn_close_notify(tls_conn *c);
/* The ciphertext waiting to go to the socket, as a malloc'd buffer the caller owns; NULL
 * when there is none (or no memory: *len is then nonzero and the connection must close). */
uint8_t *tls_conn_take_out(tls_conn *c, size_t *len);
bool tls_conn_established(const tls_conn *c);
/* "User:<mapped DN>" of a verified client certificate, or NULL (no certificate). */
const char *tls_conn_principal(const tls_conn *c);
/* Why the session failed, for logs ("" if it did not). */
const char *tls_conn_error(const tls_conn *c);
/* The negotiated protocol and cipher ("TLSv1.3 TLS_AES_256_GCM_SHA384"), for logs. */
void tls_conn_describe(const tls_conn *c, char *out, size_t cap);

/* ssl.principal.mapping.rules on a DN: DEFAULT keeps it, RULE:pattern/replacement/[LU]
 * (the pattern matches the whole DN; $1.. in the replacement are its groups; L or U
 * lower- or upper-cases the result); the first matching rule wins. rules NULL or "" is
 * DEFAULT. Returns TLS_OK with out filled, TLS_ERR_NO_RULE, TLS_ERR_RULES or
 * TLS_ERR_NOMEM (out too small). */
int tls_principal_map(const char *rules, const char *dn, char *out, size_t cap);
/* Whether rules parse (each pattern compiles). */
bool tls_rules_valid(const char *rules);
/* The subject DN of a PEM certificate in RFC 2253 form (as a client certificate's DN is
 * written before mapping), for tests. Returns TLS_OK, TLS_ERR_PROTO (no certificate) or
 * TLS_ERR_NOMEM (out too small). */
int tls_cert_subject_dn(const char *pem, size_t len, char *out, size_t cap);
/* Name of a TLS_* result. */
const char *tls_result_name(int rc);

#endif
