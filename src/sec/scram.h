/*
 * scram.h - what a server needs of SCRAM-SHA-256/512 (RFC 5802, RFC 7677) and of PLAIN
 * (RFC 4616): deriving the stored credential from a salted password, checking a password
 * against it, and the server side of the SCRAM exchange, as functions without I/O (the
 * caller supplies the server nonce and looks the user up); and the client side a broker
 * uses to log in to another broker (scram_client).
 * Owns: nothing past a call; the exchange state lives in a scram_server the caller holds.
 * Never: keeps a password or a salted password (only StoredKey and ServerKey), compares a
 * secret in variable time, or answers a message it could not parse completely.
 */
#ifndef BROOK_SEC_SCRAM_H
#define BROOK_SEC_SCRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Kafka's mechanism numbers (AlterUserScramCredentials, DescribeUserScramCredentials). */
typedef enum scram_mech { SCRAM_UNKNOWN = 0, SCRAM_SHA_256 = 1, SCRAM_SHA_512 = 2 } scram_mech;

#define SCRAM_KEY_MAX 64     /* SHA-512's output */
#define SCRAM_SALT_MAX 128   /* bytes of salt kept for a credential */
#define SCRAM_ITER_MIN 4096  /* Kafka's bounds on iterations (ScramMechanism) */
#define SCRAM_ITER_MAX 16384
#define SCRAM_USER_MAX 255   /* bytes of a user name */
#define SCRAM_MSG_MAX 1024   /* bytes of one client message */

typedef struct scram_cred {
    int32_t iterations;
    size_t salt_len;
    uint8_t salt[SCRAM_SALT_MAX];
    uint8_t stored_key[SCRAM_KEY_MAX];
    uint8_t server_key[SCRAM_KEY_MAX];
} scram_cred;

/* "SCRAM-SHA-256" / "SCRAM-SHA-512"; NULL for anything else. */
const char *scram_mech_name(scram_mech m);
/* The mechanism a SASL name names, SCRAM_UNKNOWN if none. */
scram_mech scram_mech_parse(const char *name);
/* Bytes of the mechanism's hash (32 or 64); 0 for SCRAM_UNKNOWN. */
size_t scram_key_len(scram_mech m);

/* The credential for a salted password (what AlterUserScramCredentials carries). Returns 0,
 * or -1 on a bad mechanism, salt length or salted-password length. */
int scram_cred_from_salted(scram_mech m, const uint8_t *salt, size_t salt_len,
                           int32_t iterations, const uint8_t *salted, size_t salted_len,
                           scram_cred *out);
/* The credential for a password: Hi(password, salt, iterations), then as above. */
int scram_cred_from_password(scram_mech m, const char *password, size_t password_len,
                             const uint8_t *salt, size_t salt_len, int32_t iterations,
                             scram_cred *out);
/* Whether password matches the credential (PLAIN against a SCRAM credential). */
bool scram_password_matches(scram_mech m, const scram_cred *c, const char *password,
                            size_t password_len);

/* PLAIN's message "authzid NUL user NUL password": user and password point into msg.
 * Returns 0, or -1 (with *why) when it is malformed or the authzid names another user. */
int sasl_plain_parse(const uint8_t *msg, size_t len, const char **user, size_t *user_len,
                     const char **password, size_t *password_len, const char **why);

/* The credential of user for mechanism m, or NULL. */
typedef const scram_cred *(*scram_lookup_fn)(void *ctx, const char *user, scram_mech m);

typedef enum scram_step {
    SCRAM_AWAIT_FIRST,
    SCRAM_AWAIT_FINAL,
    SCRAM_DONE,
    SCRAM_FAILED,
} scram_step;

typedef struct scram_server {
    scram_mech mech;
    scram_step step;
    char user[SCRAM_USER_MAX + 1];
    char gs2_header[64];
    char nonce[2 * SCRAM_MSG_MAX / 4];      /* client nonce + server nonce */
    char client_first_bare[SCRAM_MSG_MAX + 1];
    char server_first[SCRAM_MSG_MAX + 512];
    scram_cred cred;
} scram_server;

void scram_server_init(scram_server *s, scram_mech m);
/* Feeds one client message. On success writes the server's answer (NUL-terminated) to out
 * and returns 0; the exchange is over when s->step is SCRAM_DONE. On failure returns -1,
 * sets s->step to SCRAM_FAILED and *why to a message fit for the client (it never says
 * whether the user exists). server_nonce: printable, no ',' (only read on the first
 * message). */
int scram_server_feed(scram_server *s, const uint8_t *msg, size_t len, scram_lookup_fn lookup,
                      void *ctx, const char *server_nonce, char *out, size_t outcap,
                      size_t *out_len, const char **why);

/* The client side, for brokers logging in to each other (net/peer.c). */
typedef struct scram_client {
    scram_mech mech;
    char client_first_bare[SCRAM_MSG_MAX + 1];
    char cnonce[SCRAM_MSG_MAX / 4];
    uint8_t server_sig[SCRAM_KEY_MAX]; /* what the server-final message must carry */
} scram_client;

/* The client-first message of user with the client nonce cnonce (printable, no ',') into
 * out (NUL-terminated). Returns its length, or -1 when user or cnonce is unusable or it
 * does not fit cap. */
int scram_client_first(scram_client *cl, scram_mech m, const char *user, const char *cnonce,
                       char *out, size_t cap);
/* The client-final message answering the server-first message msg, its proof computed from
 * password (iterations outside SCRAM_ITER_MIN..SCRAM_ITER_MAX are refused: the server
 * chooses them). Returns its length, or -1 with *why. */
int scram_client_final(scram_client *cl, const char *password, const uint8_t *msg, size_t len,
                       char *out, size_t cap, const char **why);
/* Whether the server-final message msg proves the server knows the credential. */
bool scram_client_verify(const scram_client *cl, const uint8_t *msg, size_t len);

/* Base64 (standard alphabet, padded). Encode returns the length written (cap must hold
 * 4*ceil(n/3)+1); decode returns the bytes written or -1 on bad input or overflow. */
size_t sec_b64_encode(const uint8_t *in, size_t n, char *out, size_t cap);
int sec_b64_decode(const char *in, size_t n, uint8_t *out, size_t cap);

#endif
