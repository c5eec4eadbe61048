/* h_sasl.c - SASL on SASL_PLAINTEXT listeners (SaslHandshake v1, SaslAuthenticate 0-2 with
 * PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512) and the SCRAM credential APIs (KIP-554).
 * docs/security.md has the states and what each answer means. On one node the credentials
 * are the data directory's file; in a ZooKeeper cluster AlterUserScramCredentials writes
 * each user's znode (alter_in_zk) and every node's set follows the views (sec_cluster.h).
 *
 * A connection's authentication state hangs off its net_conn (net_conn_data). The
 * exchange itself is sec/scram.c's, without I/O; this file keeps the per-connection state
 * machine:
 *   NEED_HANDSHAKE --SaslHandshake(enabled mechanism)--> NEED_TOKEN
 *   NEED_TOKEN --PLAIN ok / SCRAM final ok--> DONE;  NEED_TOKEN --SCRAM first--> SCRAM_FINAL
 *   any failure --> FAILED: answered (after connection.failed.authentication.delay.ms) and
 *   the connection closed after the answer.
 * SaslHandshake v0 (clients before SaslAuthenticate) is followed by the mechanism's tokens
 * as bare size-prefixed frames without a Kafka header (raw), answered the same way; a
 * failure there closes the connection without an answer, as Kafka does.
 * Re-authentication (KIP-368) is not offered: SessionLifetimeMs is 0. */
#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/log.h"
#include "broker/broker.h"
#include "broker/sec_cluster.h"
#include "cluster/zk.h"
#include "proto/errors.h"
#include "proto/sec_msgs.h"

#define SASL_ZK_ATTEMPTS 5 /* concurrent changes of one user's znode before giving up */

typedef enum auth_state {
    AUTH_NEED_HANDSHAKE,
    AUTH_NEED_TOKEN,
    AUTH_SCRAM_FINAL,
    AUTH_DONE,
    AUTH_FAILED,
} auth_state;

/* A connection's SASL state. Re-authentication (KIP-368) runs the handshake again on an
 * authenticated connection: `reauth` is set from that handshake until it ends, during which
 * `principal` is still the session's; it must come out the same (same mechanism, same
 * principal), else the connection closes. */
typedef struct conn_auth {
    auth_state st;
    bool plain;         /* PLAIN; else SCRAM with scram.mech */
    bool raw;           /* after a v0 handshake: tokens come as bare frames */
    bool reauth;        /* re-authenticating (principal: the session being renewed) */
    scram_server scram;
    char principal[SCRAM_USER_MAX + 6]; /* "User:name" once authenticated */
    char mech[24];      /* the session's mechanism */
    uint64_t expires;   /* the session's end, loop time in ms (0: never) */
} conn_auth;

static const broker_listener *listener_of(const req_ctx *c)
{
    int i = net_conn_listener(c->nr->conn);
    BROOK_ASSERT(i >= 0 && i < c->b->cfg.nlst);
    return &c->b->cfg.lst[i];
}

void broker_listener_address(const broker *b, int i, const char **host, int *port)
{
    BROOK_ASSERT(i >= 0 && i < b->cfg.nlst);
    const broker_listener *l = &b->cfg.lst[i];
    *host = l->adv_host;
    *port = l->adv_explicit && l->adv_port != 0 ? l->adv_port : b->ports[i];
}

void broker_self_address(const req_ctx *c, const char **host, int *port)
{
    int i = net_conn_listener(c->nr->conn);
    broker_listener_address(c->b, i >= 0 && i < c->b->cfg.nlst ? i : 0, host, port);
}

md_broker broker_node_address(const req_ctx *c, const cv_broker *nb)
{
    int i = net_conn_listener(c->nr->conn);
    const char *name = i >= 0 && i < c->b->cfg.nlst ? c->b->cfg.lst[i].name : NULL;
    const cv_endpoint *e = cv_broker_endpoint(nb, name);
    return e ? (md_broker){nb->id, e->host, e->port, NULL}
             : (md_broker){nb->id, nb->host, nb->port, NULL};
}

static conn_auth *auth_of(req_ctx *c)
{
    conn_auth *a = net_conn_data(c->nr->conn);
    if (!a && (a = calloc(1, sizeof(*a))) != NULL)
        net_conn_set_data(c->nr->conn, a, free);
    return a;
}

const char *broker_principal(const req_ctx *c)
{
    const conn_auth *a = net_conn_data(c->nr->conn);
    if (a && (a->st == AUTH_DONE || a->reauth)) /* on SASL_SSL the SASL identity wins */
        return a->principal;
    const char *tls = net_conn_tls_principal(c->nr->conn);
    return tls ? tls : "User:ANONYMOUS";
}

bool broker_auth_allows(req_ctx *c)
{
    if (!broker_secproto_sasl(listener_of(c)->proto))
        return true;
    int16_t k = c->h.api_key;
    if (k == API_API_VERSIONS || k == API_SASL_HANDSHAKE || k == API_SASL_AUTHENTICATE)
        return true;
    const conn_auth *a = net_conn_data(c->nr->conn);
    if (!a || a->st != AUTH_DONE)
        return false;
    if (a->expires && uv_now(c->b->loop) >= a->expires) {
        LOG_INFO("sasl", "%s: the SASL session of %s expired (connections.max.reauth.ms) "
                 "without re-authentication", net_conn_peer(c->nr->conn), a->principal);
        return false;
    }
    return true;
}

static bool mechanism_enabled(const broker *b, const char *mech)
{
    size_t n = strlen(mech);
    for (const char *p = b->cfg.sasl_mechanisms; p && *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, mech, n) == 0)
            return true;
        p += len + (p[len] == ',');
    }
    return false;
}

/* The enabled mechanisms as the handshake lists them, in the request's arena. */
static int enabled_list(req_ctx *c, kslice **out)
{
    const char *list = c->b->cfg.sasl_mechanisms ? c->b->cfg.sasl_mechanisms : "";
    int n = 0;
    for (const char *p = list; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ','))
        n++;
    kslice *v = arena_alloc(&c->nr->arena, sizeof(*v) * (size_t)(n ? n : 1));
    if (!v)
        return -1;
    int i = 0;
    for (const char *p = list; *p && i < n;) {
        size_t len = strcspn(p, ",");
        v[i++] = (kslice){(const uint8_t *)p, (int32_t)len};
        p += len + (p[len] == ',');
    }
    *out = v;
    return n;
}

static void finish(req_ctx *c)
{
    resp_end(&c->nr->resp);
    net_request_done(c->nr);
}

void handle_sasl_handshake(req_ctx *c)
{
    sasl_handshake_req q;
    if (sasl_handshake_req_decode(&c->body, c->h.api_version, &c->nr->arena, &q) != 0 ||
        !q.mechanism) {
        broker_reply_malformed(c, "SaslHandshake");
        return;
    }
    sasl_handshake_resp m = {0};
    kslice *mechs = NULL;
    int n = enabled_list(c, &mechs);
    conn_auth *a = auth_of(c);
    if (n < 0 || !a) {
        net_request_fail(c->nr, "out of memory");
        return;
    }
    m.nmechanisms = n;
    m.mechanisms = mechs;
    /* KIP-368: a new handshake on an authenticated connection, when sessions expire, starts
     * a re-authentication (v1+, as the clients that do it send) */
    bool reauth = a->st == AUTH_DONE && c->b->cfg.max_reauth_ms > 0 && !a->raw &&
                  c->h.api_version >= 1;
    if (reauth && strcmp(q.mechanism, a->mech) != 0) {
        m.error_code = KERR_UNSUPPORTED_SASL_MECHANISM;
        a->st = AUTH_FAILED;
        c->nr->close_after = true;
        LOG_INFO("sasl", "%s re-authenticating %s with %s, not the session's %s",
                 net_conn_peer(c->nr->conn), a->principal, q.mechanism, a->mech);
    } else if (!broker_secproto_sasl(listener_of(c)->proto) ||
               (a->st != AUTH_NEED_HANDSHAKE && !reauth)) {
        /* Kafka: a handshake on a listener without SASL, or a second one */
        m.error_code = KERR_ILLEGAL_SASL_STATE;
        c->nr->close_after = broker_secproto_sasl(listener_of(c)->proto);
    } else if (!mechanism_enabled(c->b, q.mechanism)) {
        m.error_code = KERR_UNSUPPORTED_SASL_MECHANISM;
        a->st = AUTH_FAILED;
        c->nr->close_after = true;
        LOG_INFO("sasl", "%s asked for SASL mechanism %s, which is not enabled",
                 net_conn_peer(c->nr->conn), q.mechanism);
    } else {
        a->plain = strcmp(q.mechanism, "PLAIN") == 0;
        a->raw = c->h.api_version == 0;
        a->reauth = reauth;
        snprintf(a->mech, sizeof(a->mech), "%s", q.mechanism);
        scram_server_init(&a->scram, a->plain ? SCRAM_UNKNOWN : scram_mech_parse(q.mechanism));
        a->st = AUTH_NEED_TOKEN;
    }
    resp_begin(&c->nr->resp, &c->h);
    sasl_handshake_resp_encode(&c->nr->resp, c->h.api_version, &m);
    finish(c);
}

static const scram_cred *lookup_cred(void *ctx, const char *user, scram_mech m)
{
    return sec_creds_find(ctx, user, m);
}

typedef struct auth_delay {
    uv_timer_t t;
    net_request *nr;
} auth_delay;

static void on_delay_closed(uv_handle_t *h) { free(h->data); }

static void on_delay(uv_timer_t *t)
{
    auth_delay *d = t->data;
    net_request_done(d->nr);
    t->data = d;
    uv_close((uv_handle_t *)t, on_delay_closed);
}

/* A refusal leaves after connection.failed.authentication.delay.ms (Kafka's brake on
 * password guessing), then the connection closes. */
static void finish_failed(req_ctx *c)
{
    resp_end(&c->nr->resp);
    c->nr->close_after = true;
    int32_t ms = c->b->cfg.auth_fail_delay_ms;
    auth_delay *d = ms > 0 && !c->b->stopping ? calloc(1, sizeof(*d)) : NULL;
    if (!d) {
        net_request_done(c->nr);
        return;
    }
    d->nr = c->nr;
    uv_timer_init(c->b->loop, &d->t);
    d->t.data = d;
    uv_timer_start(&d->t, on_delay, (uint64_t)ms, 0);
}

/* The login succeeded as `user`: the connection's principal, unless it re-authenticates a
 * session of another principal (KIP-368 forbids the change: -1 and why). */
static int authenticated(conn_auth *a, const char *user, const char **why)
{
    char who[sizeof(a->principal)];
    snprintf(who, sizeof(who), "User:%s", user);
    if (a->reauth && strcmp(who, a->principal) != 0) {
        *why = "Authentication failed: re-authentication must keep the session's principal";
        return -1;
    }
    memcpy(a->principal, who, sizeof(who));
    a->st = AUTH_DONE;
    a->reauth = false;
    return 0;
}

/* One PLAIN or SCRAM message: 0 and the answer's bytes in resp (arena), or -1 and why. */
static int auth_step(req_ctx *c, conn_auth *a, kslice in, kslice *resp, const char **why)
{
    *resp = (kslice){(const uint8_t *)"", 0};
    if (in.len <= 0) {
        *why = "Authentication failed: empty SASL message";
        return -1;
    }
    if (a->plain) {
        const char *user, *pw;
        size_t ul, pl;
        if (sasl_plain_parse(in.p, (size_t)in.len, &user, &ul, &pw, &pl, why) != 0)
            return -1;
        char name[SCRAM_USER_MAX + 1];
        if (ul > SCRAM_USER_MAX || memchr(user, 0, ul)) {
            *why = "Authentication failed: Invalid username or password";
            return -1;
        }
        memcpy(name, user, ul);
        name[ul] = '\0';
        if (!sec_creds_check_password(&c->b->creds, name, pw, pl)) {
            *why = "Authentication failed: Invalid username or password";
            return -1;
        }
        return authenticated(a, name, why);
    }
    uint8_t rnd[18];
    char nonce[32];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        *why = "Authentication failed: no randomness for the server nonce";
        return -1;
    }
    sec_b64_encode(rnd, sizeof(rnd), nonce, sizeof(nonce));
    size_t cap = sizeof(a->scram.server_first) + 16, len = 0;
    char *out = arena_alloc(&c->nr->arena, cap);
    if (!out) {
        *why = "out of memory";
        return -1;
    }
    if (scram_server_feed(&a->scram, in.p, (size_t)in.len, lookup_cred,
                          &c->b->creds, nonce, out, cap, &len, why) != 0)
        return -1;
    *resp = (kslice){(const uint8_t *)out, (int32_t)len};
    if (a->scram.step == SCRAM_DONE) {
        if (authenticated(a, a->scram.user, why) != 0)
            return -1;
    } else {
        a->st = AUTH_SCRAM_FINAL;
    }
    return 0;
}

/* A session starts (or is renewed): with connections.max.reauth.ms it ends that long from
 * now, and SaslAuthenticate v1+ tells the client so that it re-authenticates before. */
static void start_session(const broker *b, conn_auth *a, int16_t version,
                          sasl_auth_resp *m)
{
    int64_t ms = b->cfg.max_reauth_ms;
    a->expires = ms > 0 ? uv_now(b->loop) + (uint64_t)ms : 0;
    if (ms > 0 && m && version >= 1)
        m->session_lifetime_ms = ms;
}

void handle_sasl_authenticate(req_ctx *c)
{
    sasl_auth_req q;
    if (sasl_auth_req_decode(&c->body, c->h.api_version, &c->nr->arena, &q) != 0) {
        broker_reply_malformed(c, "SaslAuthenticate");
        return;
    }
    conn_auth *a = auth_of(c);
    if (!a) {
        net_request_fail(c->nr, "out of memory");
        return;
    }
    sasl_auth_resp m = {.auth_bytes = {(const uint8_t *)"", 0}};
    bool sasl = broker_secproto_sasl(listener_of(c)->proto);
    resp_begin(&c->nr->resp, &c->h);
    if (!sasl || a->raw || (a->st != AUTH_NEED_TOKEN && a->st != AUTH_SCRAM_FINAL)) {
        m.error_code = KERR_ILLEGAL_SASL_STATE;
        m.error_message = !sasl ? "SaslAuthenticate on a listener without SASL"
                          : a->st == AUTH_DONE ? "Already authenticated (re-authentication "
                                                 "starts with a SaslHandshake)"
                                               : "SaslAuthenticate before SaslHandshake";
        sasl_auth_resp_encode(&c->nr->resp, c->h.api_version, &m);
        c->nr->close_after = sasl;
        finish(c);
        return;
    }
    const char *why = NULL;
    bool renewing = a->reauth;
    if (auth_step(c, a, q.auth_bytes, &m.auth_bytes, &why) != 0) {
        a->st = AUTH_FAILED;
        a->reauth = false;
        m.error_code = KERR_SASL_AUTHENTICATION_FAILED;
        m.error_message = why;
        m.auth_bytes = (kslice){(const uint8_t *)"", 0};
        LOG_INFO("sasl", "authentication from %s failed (%s): %s", net_conn_peer(c->nr->conn),
                 a->plain ? "PLAIN" : scram_mech_name(a->scram.mech), why);
        sasl_auth_resp_encode(&c->nr->resp, c->h.api_version, &m);
        finish_failed(c);
        return;
    }
    if (a->st == AUTH_DONE) {
        if (renewing)
            LOG_INFO("sasl", "%s re-authenticated as %s", net_conn_peer(c->nr->conn),
                     a->principal);
        else
            LOG_DEBUG("sasl", "%s authenticated as %s", net_conn_peer(c->nr->conn),
                      a->principal);
        start_session(c->b, a, c->h.api_version, &m);
    }
    sasl_auth_resp_encode(&c->nr->resp, c->h.api_version, &m);
    finish(c);
}

bool broker_sasl_raw_token(broker *b, net_request *nr)
{
    conn_auth *a = net_conn_data(nr->conn);
    if (!a || !a->raw || (a->st != AUTH_NEED_TOKEN && a->st != AUTH_SCRAM_FINAL))
        return false;
    req_ctx c = {.b = b, .nr = nr};
    kslice in = {nr->frame, (int32_t)nr->len}, out;
    const char *why = NULL;
    if (auth_step(&c, a, in, &out, &why) != 0) {
        a->st = AUTH_FAILED;
        LOG_INFO("sasl", "authentication from %s failed (%s, SaslHandshake v0): %s",
                 net_conn_peer(nr->conn), a->plain ? "PLAIN" : scram_mech_name(a->scram.mech),
                 why);
        net_request_fail(nr, "SASL authentication failed");
        return true;
    }
    if (a->st == AUTH_DONE) /* a v0 client cannot renew: its connection ends with the session */
        start_session(b, a, 0, NULL);
    wr_i32(&nr->resp, out.len);
    wr_raw(&nr->resp, out.p, (size_t)out.len);
    net_request_done(nr);
    return true;
}

/* ---------------- DescribeUserScramCredentials / AlterUserScramCredentials ---------------- */

static void describe_one(const sec_creds *s, arena *ar, scram_user_result *r)
{
    r->infos = arena_alloc(ar, sizeof(*r->infos) * 2);
    for (int mech = SCRAM_SHA_256; r->infos && mech <= SCRAM_SHA_512; mech++) {
        const scram_cred *cr = sec_creds_find(s, r->user, (scram_mech)mech);
        if (cr)
            r->infos[r->ninfos++] = (scram_cred_info){(int8_t)mech, cr->iterations};
    }
    if (r->ninfos == 0) {
        r->error_code = KERR_RESOURCE_NOT_FOUND;
        r->error_message = "Attempt to describe a user credential that does not exist";
    }
}

/* The results of every user with a credential (a null or empty Users list). */
static int describe_all(req_ctx *c, describe_scram_resp *m)
{
    const sec_creds *s = &c->b->creds;
    scram_user_result *r = arena_alloc(&c->nr->arena, sizeof(*r) * (size_t)(s->n ? s->n : 1));
    if (!r)
        return -1;
    int n = 0;
    for (int i = 0; i < s->n; i++) {
        int j = 0;
        while (j < n && strcmp(r[j].user, s->v[i].user) != 0)
            j++;
        if (j < n)
            continue;
        r[n] = (scram_user_result){.user = s->v[i].user};
        describe_one(s, &c->nr->arena, &r[n++]);
    }
    m->results = r;
    m->nresults = n;
    return 0;
}

void handle_describe_user_scram(req_ctx *c)
{
    describe_scram_req q;
    if (describe_scram_req_decode(&c->body, c->h.api_version, &c->nr->arena, &q) != 0) {
        broker_reply_malformed(c, "DescribeUserScramCredentials");
        return;
    }
    describe_scram_resp m = {0};
    if (c->b->clustered)
        cluster_refresh_now(c->b); /* a change made through another node just now: shown */
    if (!broker_may_cluster(c, ACL_OP_DESCRIBE)) {
        m.error_code = KERR_CLUSTER_AUTHORIZATION_FAILED; /* the request-level error */
        m.error_message = "not authorized to describe SCRAM credentials";
    } else if (q.nusers <= 0) {
        if (describe_all(c, &m) != 0) {
            net_request_fail(c->nr, "out of memory");
            return;
        }
    } else {
        m.results = arena_alloc(&c->nr->arena, sizeof(*m.results) * (size_t)q.nusers);
        if (!m.results) {
            net_request_fail(c->nr, "out of memory");
            return;
        }
        m.nresults = q.nusers;
        for (int i = 0; i < q.nusers; i++) {
            scram_user_result *r = &m.results[i];
            *r = (scram_user_result){.user = q.users[i].name ? q.users[i].name : ""};
            bool dup = false;
            for (int j = 0; j < q.nusers; j++)
                dup |= j != i && q.users[j].name && strcmp(q.users[j].name, r->user) == 0;
            if (dup) {
                r->error_code = KERR_DUPLICATE_RESOURCE;
                r->error_message = "Cannot describe SCRAM credentials for the same user twice "
                                   "in a single request";
            } else {
                describe_one(&c->b->creds, &c->nr->arena, r);
            }
        }
    }
    resp_begin(&c->nr->resp, &c->h);
    describe_scram_resp_encode(&c->nr->resp, c->h.api_version, &m);
    finish(c);
}

/* Kafka's checks of one upsertion (ControllerApis / ScramControlManager). */
static int16_t check_upsertion(const scram_upsertion *u, const char **why)
{
    scram_mech mech = (scram_mech)u->mechanism;
    if (scram_key_len(mech) == 0) {
        *why = "Unknown SCRAM mechanism";
        return KERR_UNSUPPORTED_SASL_MECHANISM;
    }
    if (u->iterations < SCRAM_ITER_MIN || u->iterations > SCRAM_ITER_MAX) {
        *why = u->iterations < SCRAM_ITER_MIN ? "Too few iterations" : "Too many iterations";
        return KERR_UNACCEPTABLE_CREDENTIAL;
    }
    if (u->salt.len <= 0 || u->salt.len > SCRAM_SALT_MAX ||
        u->salted_password.len != (int32_t)scram_key_len(mech)) {
        *why = u->salt.len <= 0 || u->salt.len > SCRAM_SALT_MAX
                   ? "The salt must have 1 to 128 bytes"
                   : "The salted password has the wrong length for its mechanism";
        return KERR_UNACCEPTABLE_CREDENTIAL;
    }
    return KERR_NONE;
}

/* The i-th alteration of q (deletions first): its user and mechanism. */
static void alteration(const alter_scram_req *q, int i, const char **name, int8_t *mech)
{
    if (i < q->ndeletions) {
        *name = q->deletions[i].name;
        *mech = q->deletions[i].mechanism;
    } else {
        *name = q->upsertions[i - q->ndeletions].name;
        *mech = q->upsertions[i - q->ndeletions].mechanism;
    }
    if (!*name)
        *name = "";
}

/* Kafka's checks of every alteration of one user, before any is applied: KERR_NONE, or the
 * first refusal (the user's alterations are then all left out). */
static int16_t check_user(const sec_creds *s, const alter_scram_req *q, const char *user,
                          const char **why)
{
    int n = q->ndeletions + q->nupsertions;
    if (!*user) {
        *why = "Username must not be empty";
        return KERR_UNACCEPTABLE_CREDENTIAL;
    }
    if (strlen(user) > SCRAM_USER_MAX) {
        *why = "Username is too long";
        return KERR_UNACCEPTABLE_CREDENTIAL;
    }
    for (int i = 0; i < n; i++) {
        const char *name;
        int8_t mech;
        alteration(q, i, &name, &mech);
        if (strcmp(name, user) != 0)
            continue;
        for (int j = i + 1; j < n; j++) {
            const char *n2;
            int8_t m2;
            alteration(q, j, &n2, &m2);
            if (m2 == mech && strcmp(n2, user) == 0) {
                *why = "A user credential cannot be altered twice in the same request";
                return KERR_DUPLICATE_RESOURCE;
            }
        }
        if (scram_key_len((scram_mech)mech) == 0) {
            *why = "Unknown SCRAM mechanism";
            return KERR_UNSUPPORTED_SASL_MECHANISM;
        }
        if (i < q->ndeletions && !sec_creds_find(s, user, (scram_mech)mech)) {
            *why = "Attempt to delete a user credential that does not exist";
            return KERR_RESOURCE_NOT_FOUND;
        }
        int16_t err = i < q->ndeletions ? KERR_NONE
                                        : check_upsertion(&q->upsertions[i - q->ndeletions], why);
        if (err != KERR_NONE)
            return err;
    }
    return KERR_NONE;
}

/* Applies every (checked) alteration of user to s. Returns 0 or -ENOMEM. */
static int apply_user(sec_creds *s, const alter_scram_req *q, const char *user)
{
    for (int i = 0; i < q->ndeletions + q->nupsertions; i++) {
        const char *name;
        int8_t mech;
        alteration(q, i, &name, &mech);
        if (strcmp(name, user) != 0)
            continue;
        if (i < q->ndeletions) {
            sec_creds_remove(s, user, (scram_mech)mech);
            continue;
        }
        const scram_upsertion *u = &q->upsertions[i - q->ndeletions];
        scram_cred cr;
        if (scram_cred_from_salted((scram_mech)mech, u->salt.p, (size_t)u->salt.len,
                                   u->iterations, u->salted_password.p,
                                   (size_t)u->salted_password.len, &cr) != 0 ||
            sec_creds_put(s, user, (scram_mech)mech, &cr) != 0)
            return -ENOMEM;
    }
    return 0;
}

/* One attempt of alter_in_zk on the user's lines as read (text, may be NULL): the new
 * lines in *next (malloc'd), or a refusal. */
static int16_t alter_text(const alter_scram_req *q, const char *user, char *text, char **next,
                          const char **why)
{
    sec_creds s = {0};
    int16_t err = KERR_NONE;
    size_t len;
    *next = NULL;
    if (text && sec_creds_parse(&s, text) != 0) {
        *why = "the user's credentials in ZooKeeper do not parse";
        err = KERR_UNKNOWN_SERVER_ERROR;
    } else if ((err = check_user(&s, q, user, why)) != KERR_NONE) {
        /* refused as on one node */
    } else if (apply_user(&s, q, user) != 0 || !(*next = sec_creds_format(&s, user, &len))) {
        *why = "out of memory";
        err = KERR_UNKNOWN_SERVER_ERROR;
    }
    sec_creds_free(&s);
    return err;
}

/* In a cluster: the user's alterations checked against and applied to what ZooKeeper holds
 * now, written back only if nobody changed it meanwhile (else read again, a few times). */
static int16_t alter_in_zk(broker *b, const alter_scram_req *q, const char *user,
                           const char **why)
{
    for (int attempt = 0; attempt < SASL_ZK_ATTEMPTS; attempt++) {
        char *text, *next;
        int32_t version;
        int16_t err = zk_user_creds_get(b->zk, user, &text, &version);
        if (err != KERR_NONE) {
            *why = "ZooKeeper cannot be read now; retry";
            return err;
        }
        err = alter_text(q, user, text, &next, why);
        free(text);
        if (err != KERR_NONE)
            return err;
        err = zk_user_creds_set(b->zk, user, next, version);
        free(next);
        if (err != KERR_CONCURRENT_TRANSACTIONS) {
            if (err != KERR_NONE)
                *why = "ZooKeeper cannot be written now; retry";
            return err;
        }
    }
    *why = "the user's credentials kept changing concurrently; retry";
    return KERR_REQUEST_TIMED_OUT;
}

void handle_alter_user_scram(req_ctx *c)
{
    alter_scram_req q;
    if (alter_scram_req_decode(&c->body, c->h.api_version, &c->nr->arena, &q) != 0) {
        broker_reply_malformed(c, "AlterUserScramCredentials");
        return;
    }
    /* one result per user, in the order users first appear (Kafka's answer) */
    int n = q.ndeletions + q.nupsertions;
    alter_scram_resp m = {0};
    m.results = arena_alloc(&c->nr->arena, sizeof(*m.results) * (size_t)(n ? n : 1));
    if (!m.results) {
        net_request_fail(c->nr, "out of memory");
        return;
    }
    bool changed = false;
    bool may = broker_may_cluster(c, ACL_OP_ALTER);
    for (int i = 0; i < n; i++) {
        const char *name, *why = NULL;
        int8_t mech;
        alteration(&q, i, &name, &mech);
        bool seen = false;
        for (int k = 0; k < m.nresults && !seen; k++)
            seen = strcmp(m.results[k].user, name) == 0;
        if (seen)
            continue;
        bool zk = c->b->clustered;
        int16_t err = !may ? KERR_CLUSTER_AUTHORIZATION_FAILED
                      : zk ? alter_in_zk(c->b, &q, name, &why)
                           : check_user(&c->b->creds, &q, name, &why);
        if (err == KERR_NONE && !zk && apply_user(&c->b->creds, &q, name) != 0) {
            err = KERR_UNKNOWN_SERVER_ERROR;
            why = "out of memory";
        }
        changed |= err == KERR_NONE;
        m.results[m.nresults++] =
            (scram_user_result){.user = name, .error_code = err, .error_message = why};
    }
    /* durable before answered: a refused write undoes every change of this request; in a
     * cluster ZooKeeper has them, and this node waits for the view that shows them */
    if (changed && c->b->clustered)
        sec_cluster_sync(c->b);
    int rc = changed && !c->b->clustered ? sec_creds_save(&c->b->creds) : 0;
    if (rc != 0) {
        LOG_ERROR("sasl", "cannot write %s: %s; SCRAM changes not made", c->b->creds.path,
                  strerror(-rc));
        char err[256];
        sec_creds_free(&c->b->creds);
        if (sec_creds_load(&c->b->creds, c->b->cfg.data_dir, err, sizeof(err)) != 0)
            LOG_ERROR("sasl", "%s", err);
        for (int i = 0; i < m.nresults; i++)
            if (m.results[i].error_code == KERR_NONE)
                m.results[i] = (scram_user_result){
                    .user = m.results[i].user, .error_code = KERR_UNKNOWN_SERVER_ERROR,
                    .error_message = "cannot write the credentials file (see the broker log)"};
    } else if (changed) {
        LOG_INFO("sasl", "SCRAM credentials changed (%d users and mechanisms stored)",
                 c->b->creds.n);
    }
    resp_begin(&c->nr->resp, &c->h);
    alter_scram_resp_encode(&c->nr->resp, c->h.api_version, &m);
    finish(c);
}
