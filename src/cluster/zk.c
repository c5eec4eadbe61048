/* zk.c - see zk.h. One thread owns the session life cycle and the watches; the loop
 * thread only makes short synchronous writes on the same (thread-safe) handle. */
#ifndef THREADED
#define THREADED
#endif
#include "cluster/zk.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zookeeper/zookeeper.h>

#include "base/assert.h"
#include "base/clock.h"
#include "base/log.h"
#include "cluster/metadata.h"
#include "cluster/placement.h"
#include "proto/errors.h"

#define ZK_ROOT "/brook"
#define ZK_BROKERS ZK_ROOT "/brokers"
#define ZK_TOPICS ZK_ROOT "/topics"
#define ZK_CONTROLLER ZK_ROOT "/controller"
#define ZK_CONTROLLER_EPOCH ZK_ROOT "/controller_epoch"
#define ZK_CONFIG ZK_ROOT "/config"
#define ZK_BROKER_DEFAULTS ZK_CONFIG "/broker-defaults"
#define ZK_QUOTAS ZK_CONFIG "/client-quotas"
#define ZK_USERS ZK_CONFIG "/users"
#define ZK_ACLS ZK_ROOT "/acls"
/* Persistent: each broker's incarnation (its data directory's random id) as the controller
 * last settled it, so a controller elected after a whole-cluster crash still sees a broker
 * that came back on another data directory (wiped_since). */
#define ZK_INCARNATIONS ZK_ROOT "/incarnations"
#define ZK_INCARNATION_MAX 40
#define ZK_BUF (1 << 20)
#define ZK_RESOLVE_EVERY_MS 30000 /* at most one routine resolution of the servers per 30 s */
#define ZK_PATH_MAX 512
#define ZK_NAME_MAX 8192 /* paths of user and ACL znodes (an ACL binding is its name) */

struct zk_isr_req {
    char topic[256];
    int32_t partition, leader_epoch, min_isr;
    repl_set isr;
    int64_t frozen_hw;
    int16_t error;
    int32_t version;
};

struct zk_client {
    zk_config cfg;
    char *connect, *host, *incarnation, *internal[2];
    char *digest;            /* "user:password" or NULL */
    bool noauth_logged;      /* thread only: a NoAuth on the security znodes was logged */
    uv_loop_t *loop;
    uv_async_t async;
    zk_view_fn on_view;
    void *ctx;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;     /* thread wake-ups, and view publications */
    bool stop, dirty, expired;
    bool connected;          /* session state as last reported */
    zhandle_t *zh;           /* replaced by the thread after an expiry (under mu) */
    int loop_users;          /* loop-thread calls using zh now: it is not closed under them */
    cluster_view *current;   /* last published (under mu) */
    uint64_t delivered_seq;  /* loop thread: last seq handed to on_view */
    uint64_t seq;
    /* controller state (thread only) */
    bool is_controller;
    int32_t controller_epoch;
    int32_t epoch_version;   /* version of /brook/controller_epoch we wrote */
    char *buf;               /* thread's read buffer */
    char *lbuf;              /* loop thread's read buffer */
    struct { int32_t id; int64_t czxid; } evict[16]; /* dead processes to remove (under mu) */
    /* controller (thread only): each broker's incarnation as ZK_INCARNATIONS holds it,
     * read at the start of a term (known_loaded), to see a broker that came back on another
     * data directory (wiped_since) */
    struct zk_known_inc { int32_t id; char incarnation[ZK_INCARNATION_MAX]; } *known;
    int nknown;
    bool known_loaded;
    int nevict;
    struct zk_isr_req *isr_reqs;    /* ISR changes to make, then their answers (under mu) */
    size_t nisr_reqs;
    struct zk_isr_req *isr_done;
    size_t nisr_done;
    zk_isr_fn on_isr;
    bool shutting_down;      /* controlled shutdown asked (under mu): said in the registration */
    char admin[300];         /* admin listener "host:port" for the registration (under mu) */
    cv_endpoint eps[CV_ENDPOINTS_MAX]; /* the listeners the registration lists */
    bool admin_dirty;        /* admin changed since the registration last said it (under mu) */
    /* The lease (zk_lease_held). Under mu unless said otherwise. */
    uv_timer_t hb_timer;     /* loop thread: sends the heartbeats */
    int open_handles;        /* loop thread: async + timer, freed when both closed */
    bool hb_in_flight;       /* one heartbeat at a time */
    int64_t hb_sent_ms;      /* monotonic send time of the heartbeat in flight */
    int64_t lease_sent_ms;   /* monotonic send time of the newest answered heartbeat */
    int lease_ms;            /* how long an answer vouches: 3/4 of the negotiated timeout */
    uint64_t lease_min_seq;  /* first view read in this session (UINT64_MAX: none yet) */
    uint64_t session_gen;    /* bumped by each new session and each expiry */
    bool lease_was_held;     /* loop thread: for logging changes only */
};

static void wake(zk_client *z, bool dirty)
{
    pthread_mutex_lock(&z->mu);
    z->dirty |= dirty;
    pthread_cond_broadcast(&z->cond);
    pthread_mutex_unlock(&z->mu);
}

/* libzookeeper's completion thread calls this: only record and wake ours. */
static void watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    zk_client *z = ctx;
    if (type == ZOO_SESSION_EVENT) {
        pthread_mutex_lock(&z->mu);
        if (state == ZOO_EXPIRED_SESSION_STATE) {
            z->expired = true;
            z->lease_sent_ms = 0; /* others may take over now */
            z->lease_min_seq = UINT64_MAX;
            z->session_gen++;
        }
        z->connected = state == ZOO_CONNECTED_STATE;
        z->dirty = true;
        pthread_cond_broadcast(&z->cond);
        pthread_mutex_unlock(&z->mu);
        return;
    }
    wake(z, true);
}

bool zk_connected(zk_client *z)
{
    pthread_mutex_lock(&z->mu);
    bool c = z->connected && z->zh;
    pthread_mutex_unlock(&z->mu);
    return c;
}

/* ---- the lease ----
 * ZooKeeper expires a session no earlier than its timeout after it last heard from the
 * client, and only then can the controller give this node's partitions, and the
 * coordinators they carry, to another node. So an answer to a request sent at time t
 * vouches that nobody else leads what this node's view says it leads until t + timeout.
 * The loop thread sends a heartbeat (an exists on /brook) every sixth of the timeout (and
 * at once while it does not hold the lease) and holds the lease while the newest answer
 * was sent less than three quarters of the timeout ago: a node cut off from ZooKeeper, or
 * paused, stops acting as a coordinator before anyone else can start, instead of
 * answering from state that may have moved on (stale committed offsets). */

static void hb_done(int rc, const struct Stat *st, const void *data)
{
    (void)st;
    zk_client *z = (zk_client *)data;
    pthread_mutex_lock(&z->mu);
    if ((rc == ZOK || rc == ZNONODE) && z->hb_in_flight)
        z->lease_sent_ms = z->hb_sent_ms;
    z->hb_in_flight = false;
    pthread_mutex_unlock(&z->mu);
}

static zhandle_t *ready_handle(zk_client *z);
static void release_handle(zk_client *z);

/* Sends a heartbeat when none is in flight and either the last was sent a sixth of the
 * timeout ago or the lease is not held (a node that just connected gets it at once). */
static void heartbeat(zk_client *z)
{
    int64_t now = clock_mono_ms();
    bool held = zk_lease_held(z, now);
    pthread_mutex_lock(&z->mu);
    bool due = !z->hb_in_flight && (!held || now - z->hb_sent_ms >= z->lease_ms * 2 / 9); /* 1/6 */
    pthread_mutex_unlock(&z->mu);
    zhandle_t *zh = due ? ready_handle(z) : NULL;
    if (zh) {
        int timeout = zoo_recv_timeout(zh);
        pthread_mutex_lock(&z->mu);
        z->hb_in_flight = true;
        z->hb_sent_ms = now;
        if (timeout > 0)
            z->lease_ms = timeout * 3 / 4;
        pthread_mutex_unlock(&z->mu);
        if (zoo_aexists(zh, ZK_ROOT, 0, hb_done, z) != ZOK) {
            pthread_mutex_lock(&z->mu);
            z->hb_in_flight = false;
            pthread_mutex_unlock(&z->mu);
        }
        release_handle(z);
    }
    if (held != z->lease_was_held)
        LOG_INFO("zk", "%s", held ? "ZooKeeper lease held: acting as coordinator again"
                                  : "ZooKeeper lease lapsed: refusing coordinator requests "
                                    "until ZooKeeper answers (another node may have them)");
    z->lease_was_held = held;
}

static void on_hb_timer(uv_timer_t *t) { heartbeat(t->data); }

bool zk_lease_held(zk_client *z, int64_t now_ms)
{
    pthread_mutex_lock(&z->mu);
    bool held = z->lease_sent_ms > 0 && now_ms - z->lease_sent_ms < z->lease_ms &&
                z->delivered_seq >= z->lease_min_seq;
    pthread_mutex_unlock(&z->mu);
    return held;
}

/* The ACL of every znode this broker creates: open, or (zookeeper.set.acl) everything for
 * the identities the creating session authenticated as, and nothing for anyone else. */
static struct ACL_vector *node_acl(const zk_client *z)
{
    return z->cfg.set_acl ? &ZOO_CREATOR_ALL_ACL : &ZOO_OPEN_ACL_UNSAFE;
}

static void ensure_path(zk_client *z, zhandle_t *zh, const char *path)
{
    int rc = zoo_create(zh, path, NULL, -1, node_acl(z), 0, NULL, 0);
    if (rc != ZOK && rc != ZNODEEXISTS)
        LOG_WARN("zk", "cannot create %s: %s", path, zerror(rc));
}

/* Our registration's JSON (malloc'd, or NULL) with the given shutdown flag and admin. */
static char *registration_json(const zk_client *z, bool shutting_down, const char *admin)
{
    cv_broker self = {.id = z->cfg.node_id, .host = z->host, .port = z->cfg.port,
                      .incarnation = z->incarnation, .shutting_down = shutting_down,
                      .admin = (char *)admin, .eps = (cv_endpoint *)z->eps,
                      .neps = z->cfg.nendpoints};
    return cv_broker_json(&self);
}

/* Registers this broker. A znode with our id left by an earlier session of this same
 * data directory (a crash) is removed; one of another directory means a duplicate id. */
static bool do_register(zk_client *z, zhandle_t *zh)
{
    char path[ZK_PATH_MAX];
    snprintf(path, sizeof(path), ZK_BROKERS "/%d", z->cfg.node_id);
    char admin[sizeof(z->admin)];
    pthread_mutex_lock(&z->mu);
    bool shutting = z->shutting_down;
    memcpy(admin, z->admin, sizeof(admin));
    z->admin_dirty = false; /* a failed registration is retried with the newest value */
    pthread_mutex_unlock(&z->mu);
    char *json = registration_json(z, shutting, admin);
    if (!json)
        return false;
    bool ok = false;
    for (int attempt = 0; attempt < 3 && !ok; attempt++) {
        int rc = zoo_create(zh, path, json, (int)strlen(json), node_acl(z),
                            ZOO_EPHEMERAL, NULL, 0);
        if (rc == ZOK) {
            ok = true;
            break;
        }
        if (rc != ZNODEEXISTS) {
            LOG_WARN("zk", "cannot register %s: %s", path, zerror(rc));
            break;
        }
        struct Stat st;
        int len = ZK_BUF;
        if (zoo_get(zh, path, 0, z->buf, &len, &st) != ZOK)
            continue;
        if (st.ephemeralOwner == zoo_client_id(zh)->client_id) {
            ok = true; /* already ours (a retried create) */
            break;
        }
        cv_broker b = {0};
        bool mine = len > 0 && cv_broker_parse(z->buf, (size_t)len, &b) == 0 &&
                    strcmp(b.incarnation, z->incarnation) == 0;
        cv_broker_clear(&b);
        if (!mine) {
            LOG_ERROR("zk", "node.id %d is registered by another broker (another data "
                      "directory); retrying until it goes away", z->cfg.node_id);
            break;
        }
        LOG_INFO("zk", "removing the registration our previous session left behind");
        zoo_delete(zh, path, st.version);
    }
    free(json);
    if (ok)
        LOG_INFO("zk", "registered as broker %d (%s:%d)", z->cfg.node_id, z->host, z->cfg.port);
    return ok;
}

/* Reads an int znode and its version; absent: value 0, version -1. */
static int read_epoch(zk_client *z, zhandle_t *zh, int32_t *value, int32_t *version)
{
    struct Stat st;
    int len = ZK_BUF - 1;
    int rc = zoo_get(zh, ZK_CONTROLLER_EPOCH, 0, z->buf, &len, &st);
    if (rc == ZNONODE) {
        *value = 0;
        *version = -1;
        return ZOK;
    }
    if (rc != ZOK)
        return rc;
    z->buf[len < 0 ? 0 : len] = '\0';
    *value = (int32_t)strtol(z->buf, NULL, 10);
    *version = st.version;
    return ZOK;
}

/* Takes the next controller epoch (version-checked increment). */
static bool bump_epoch(zk_client *z, zhandle_t *zh)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        int32_t value, version;
        if (read_epoch(z, zh, &value, &version) != ZOK)
            return false;
        char s[16];
        snprintf(s, sizeof(s), "%d", value + 1);
        struct Stat st;
        int rc = version < 0
                     ? zoo_create(zh, ZK_CONTROLLER_EPOCH, s, (int)strlen(s),
                                  node_acl(z), 0, NULL, 0)
                     : zoo_set2(zh, ZK_CONTROLLER_EPOCH, s, (int)strlen(s), version, &st);
        if (rc == ZOK) {
            z->controller_epoch = value + 1;
            z->epoch_version = version < 0 ? 0 : st.version;
            return true;
        }
        if (rc != ZBADVERSION && rc != ZNODEEXISTS)
            return false;
    }
    return false;
}

/* Tries to become controller when there is none. */
static void elect(zk_client *z, zhandle_t *zh)
{
    struct Stat st;
    if (zoo_exists(zh, ZK_CONTROLLER, 1, &st) == ZOK) {
        if (st.ephemeralOwner != zoo_client_id(zh)->client_id)
            z->is_controller = false;
        return;
    }
    z->is_controller = false;
    int32_t value, version;
    if (read_epoch(z, zh, &value, &version) != ZOK)
        return;
    char *json = cv_controller_json(z->cfg.node_id, value + 1);
    if (!json)
        return;
    int rc = zoo_create(zh, ZK_CONTROLLER, json, (int)strlen(json), node_acl(z),
                        ZOO_EPHEMERAL, NULL, 0);
    free(json);
    if (rc == ZOK && bump_epoch(z, zh)) {
        z->is_controller = true;
        LOG_INFO("zk", "elected controller (epoch %d)", z->controller_epoch);
    } else if (rc == ZOK) {
        LOG_WARN("zk", "won the election but cannot bump the controller epoch; resigning");
        zoo_delete(zh, ZK_CONTROLLER, -1);
    }
    zoo_exists(zh, ZK_CONTROLLER, 1, &st); /* watch it */
}

/* A read of a view's znode failed for another reason than the znode not being there: the
 * view must fail rather than leave the entry out. */
static bool view_read_failed(int rc)
{
    return rc != ZOK && rc != ZNONODE;
}

/* Reads one topic and its state (both watched) into *out. Returns ZOK (*out is the topic,
 * or NULL for a topic whose znode does not decode: logged and left out), ZNONODE (deleted
 * meanwhile: left out) or the ZooKeeper error that makes the whole view fail: a view
 * without a topic that exists, or with a topic but not its state, would tell every broker
 * the topic is gone or leaderless. */
static int read_topic(zk_client *z, zhandle_t *zh, const char *name, cv_topic **out)
{
    *out = NULL;
    char path[ZK_PATH_MAX];
    snprintf(path, sizeof(path), ZK_TOPICS "/%s", name);
    struct Stat st;
    int len = ZK_BUF;
    int rc = zoo_get(zh, path, 1, z->buf, &len, &st);
    if (rc != ZOK)
        return rc;
    cv_topic *t = calloc(1, sizeof(*t));
    if (!t || !(t->name = strdup(name)) || len <= 0 ||
        cv_topic_parse(z->buf, (size_t)len, t) != 0) {
        LOG_WARN("zk", "%s does not decode; ignoring the topic", path);
        cv_topic_free(t);
        return ZOK;
    }
    t->topic_version = st.version;
    snprintf(path, sizeof(path), ZK_TOPICS "/%s/state", name);
    len = ZK_BUF;
    rc = zoo_get(zh, path, 1, z->buf, &len, &st);
    if (rc == ZOK && len > 0 && cv_state_parse(z->buf, (size_t)len, t) == 0)
        t->state_version = st.version;
    else if (rc == ZNONODE)
        rc = zoo_exists(zh, path, 1, &st); /* be told when it appears */
    if (view_read_failed(rc)) {
        cv_topic_free(t);
        return rc;
    }
    *out = t;
    return ZOK;
}

/* Appends n bytes of p to *text (malloc'd, NUL-terminated; *len its length). */
static int text_append(char **text, size_t *len, const char *p, size_t n)
{
    char *t = realloc(*text, *len + n + 1);
    if (!t)
        return -1;
    memcpy(t + *len, p, n);
    *len += n;
    t[*len] = '\0';
    *text = t;
    return 0;
}

/* The children of path, watched; a missing path is watched for its creation and is empty. */
static int watched_children(zhandle_t *zh, const char *path, struct String_vector *kids)
{
    int rc = zoo_get_children(zh, path, 1, kids);
    if (rc == ZNONODE) {
        struct Stat st;
        rc = zoo_exists(zh, path, 1, &st);
        if (rc == ZOK) /* created meanwhile */
            return zoo_get_children(zh, path, 1, kids);
        if (rc == ZNONODE)
            return ZOK;
    }
    return rc;
}

/* An ACL binding's znode name from its line and back: the line's spaces become '.' and
 * base64's '/' becomes '_' (neither occurs in the line otherwise). */
static void acl_node_name(const char *line, char *out, size_t cap, bool encode)
{
    size_t i = 0;
    for (; line[i] && i + 1 < cap; i++) {
        char ch = line[i];
        out[i] = encode ? (ch == ' ' ? '.' : ch == '/' ? '_' : ch)
                        : (ch == '.' ? ' ' : ch == '_' ? '/' : ch);
    }
    out[i] = '\0';
}

/* A user's znode name: the name with every byte outside [A-Za-z0-9_@-] as %XX. */
static void user_node_name(const char *user, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)user; *p && o + 4 < cap; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '_' || *p == '@' || *p == '-') {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
}

/* One text znode (watched even while absent, so that its first write anywhere reaches
 * every broker) into *out (malloc'd; left NULL when the znode does not exist). Returns the
 * ZooKeeper code: a failed read (not ZNONODE) must fail the view, or a view without the
 * text would clear every broker's copy. */
static int read_text(zk_client *z, zhandle_t *zh, const char *path, char **out)
{
    struct Stat st;
    int rc = zoo_exists(zh, path, 1, &st);
    if (rc != ZOK)
        return rc;
    int len = ZK_BUF - 1;
    rc = zoo_get(zh, path, 1, z->buf, &len, NULL);
    if (rc != ZOK)
        return rc;
    z->buf[len >= 0 ? len : 0] = '\0';
    return (*out = strdup(z->buf)) != NULL ? ZOK : ZSYSTEMERROR;
}

/* Reads every user's credential lines and every ACL binding into v (watched). */
static int read_security(zk_client *z, zhandle_t *zh, cluster_view *v)
{
    struct String_vector kids = {0};
    size_t slen = 0, alen = 0;
    int rc = ZSYSTEMERROR;
    if (text_append(&v->scram_text, &slen, "", 0) != 0 ||
        text_append(&v->acl_text, &alen, "", 0) != 0 ||
        (rc = watched_children(zh, ZK_USERS, &kids)) != ZOK)
        goto out;
    for (int i = 0; i < kids.count; i++) {
        char path[ZK_NAME_MAX];
        snprintf(path, sizeof(path), ZK_USERS "/%s", kids.data[i]);
        int len = ZK_BUF - 1;
        rc = zoo_get(zh, path, 1, z->buf, &len, NULL);
        if (rc == ZNONODE) /* deleted meanwhile: the children watch fires again */
            continue;
        if (rc != ZOK)
            goto out;
        if (len > 0 && (text_append(&v->scram_text, &slen, z->buf, (size_t)len) != 0 ||
                        text_append(&v->scram_text, &slen, "\n", 1) != 0)) {
            rc = ZSYSTEMERROR;
            goto out;
        }
    }
    deallocate_String_vector(&kids);
    memset(&kids, 0, sizeof(kids));
    if ((rc = watched_children(zh, ZK_ACLS, &kids)) != ZOK)
        goto out;
    for (int i = 0; i < kids.count; i++) {
        char line[ZK_NAME_MAX];
        acl_node_name(kids.data[i], line, sizeof(line), false);
        if (text_append(&v->acl_text, &alen, line, strlen(line)) != 0 ||
            text_append(&v->acl_text, &alen, "\n", 1) != 0) {
            rc = ZSYSTEMERROR;
            goto out;
        }
    }
out:
    deallocate_String_vector(&kids);
    if (rc == ZNOAUTH && !z->noauth_logged) /* retried every pass: said once */
        LOG_ERROR("zk", "ZooKeeper refuses to show the users or the ACL bindings (NoAuth): "
                  "zookeeper.digest.username/password must be those the cluster's znodes "
                  "were created with");
    z->noauth_logged = rc == ZNOAUTH;
    return rc;
}

static cluster_view *read_view(zk_client *z, zhandle_t *zh)
{
    cluster_view *v = cv_new();
    struct String_vector kids = {0};
    if (!v || zoo_get_children(zh, ZK_BROKERS, 1, &kids) != ZOK)
        goto fail;
    for (int i = 0; i < kids.count; i++) {
        char path[ZK_PATH_MAX];
        snprintf(path, sizeof(path), ZK_BROKERS "/%s", kids.data[i]);
        int len = ZK_BUF;
        cv_broker b = {0};
        struct Stat bst;
        /* Watched: a registration's data changes when its broker begins a controlled
         * shutdown. */
        int rc = zoo_get(zh, path, 1, z->buf, &len, &bst);
        if (view_read_failed(rc)) /* not "gone meanwhile": the view would miss it */
            goto fail;
        if (rc == ZOK && len > 0 && cv_broker_parse(z->buf, (size_t)len, &b) == 0 &&
            cv_add_broker(v, b.id, b.host, b.port, b.incarnation) == 0) {
            cv_broker_set_czxid(v, b.id, bst.czxid);
            cv_broker_set_shutting_down(v, b.id, b.shutting_down);
            bool oom = cv_broker_set_admin(v, b.id, b.admin) != 0 ||
                       cv_broker_set_endpoints(v, b.id, b.eps, b.neps) != 0;
            /* Only this session's own registration: a process restarted on a wiped data
             * directory used to act on the registration its predecessor's session left
             * (until that session expired), leading in the old epoch with an empty log,
             * and its followers truncated every acknowledged record to match it (an
             * adversarial hunt, session 37). */
            v->registered |= b.id == z->cfg.node_id &&
                             bst.ephemeralOwner == zoo_client_id(zh)->client_id;
            if (oom) { /* a view without a broker's listeners would send clients astray */
                cv_broker_clear(&b);
                goto fail;
            }
        }
        cv_broker_clear(&b);
    }
    deallocate_String_vector(&kids);
    struct Stat st;
    int crc = zoo_exists(zh, ZK_CONTROLLER, 1, &st);
    if (crc == ZOK) {
        int len = ZK_BUF;
        crc = zoo_get(zh, ZK_CONTROLLER, 1, z->buf, &len, NULL);
        if (crc == ZOK && len > 0)
            cv_controller_parse(z->buf, (size_t)len, &v->controller, &v->controller_epoch);
    }
    if (view_read_failed(crc)) /* a view with no controller would start an election */
        goto fail;
    if (view_read_failed(read_text(z, zh, ZK_BROKER_DEFAULTS, &v->broker_defaults)) ||
        view_read_failed(read_text(z, zh, ZK_QUOTAS, &v->quota_text)) ||
        view_read_failed(read_security(z, zh, v)))
        goto fail;
    if (zoo_get_children(zh, ZK_TOPICS, 1, &kids) != ZOK)
        goto fail;
    for (int i = 0; i < kids.count; i++) {
        cv_topic *t;
        if (view_read_failed(read_topic(z, zh, kids.data[i], &t)))
            goto fail;
        if (t)
            HASH_ADD_KEYPTR(hh, v->topics, t->name, strlen(t->name), t);
    }
    deallocate_String_vector(&kids);
    return v;
fail:
    deallocate_String_vector(&kids);
    cv_unref(v);
    return NULL;
}


/* A topic's min.insync.replicas: its override, else the broker default. */
static int32_t topic_min_isr(const zk_client *z, const cv_topic *t)
{
    return cv_topic_min_isr(t, z->cfg.min_isr);
}

/* The creation id of broker id's registration in v (0: not registered). */
static int64_t registration_of(const cluster_view *v, int32_t id)
{
    const cv_broker *b = id >= 0 ? cv_broker_find(v, id) : NULL;
    return b ? b->czxid : 0;
}

/* The controller's change of p's ISR to isr: the recorded frozen high watermark stays
 * only while the ISR stays below min_isr; when the controller itself takes it below min it
 * does not know the leader's high watermark, and the leader records it (repl.h). */
static void set_isr(cv_part *p, const repl_set *isr, int32_t min_isr)
{
    if (min_isr > p->nreplicas) /* as the leader applies it (effective_min_isr) */
        min_isr = p->nreplicas;
    p->frozen_hw = repl_frozen_hw_after(p->isr.n, isr->n, min_isr, p->frozen_hw, -1);
    p->isr = *isr;
}

/* A live leader's ISR loses its dead members at once (Kafka's controller does the same on
 * a broker failure): waiting for the leader to drop them after replica.lag.time.max.ms
 * would hold the high watermark, hence every acks=all write, that long. A member dropped
 * with the ISR below min.insync.replicas joins the ELR (it holds every commit). */
static bool drop_dead_members(const cv_topic *t, int32_t i, cv_part *p, const repl_set *live,
                              int32_t min_isr)
{
    repl_set isr = {0}, elr = p->elr;
    for (int k = 0; k < p->isr.n; k++)
        if (repl_set_has(live, p->isr.id[k]))
            repl_set_add(&isr, p->isr.id[k]);
    if (isr.n == p->isr.n)
        return false;
    for (int k = 0; k < p->isr.n && isr.n < min_isr; k++)
        if (!repl_set_has(live, p->isr.id[k]))
            repl_set_add(&elr, p->isr.id[k]);
    if (isr.n >= min_isr)
        elr.n = 0;
    LOG_INFO("zk", "%s-%d: ISR %d -> %d (dead members dropped; leader %d, epoch %d)", t->name, i,
             p->isr.n, isr.n, p->leader, p->leader_epoch);
    set_isr(p, &isr, min_isr);
    p->elr = elr;
    return true;
}

/* Controlled shutdown (repl_shutdown_move): leadership and ISR places of brokers that
 * asked to leave cleanly move away while they still run. Returns true when p changed. */
static bool shutdown_moves(const cluster_view *v, const cv_topic *t, int32_t i, cv_part *p,
                           const repl_set *reps, const repl_set *live, const repl_set *shutting,
                           int32_t min_isr)
{
    repl_election e;
    if (shutting->n == 0 ||
        !repl_shutdown_move(reps, p->leader, &p->isr, &p->elr, live, shutting, min_isr, &e))
        return false;
    if (e.leader != p->leader) {
        LOG_INFO("zk", "%s-%d: leader %d -> %d (epoch %d, isr %d, elr %d): controlled shutdown "
                 "of %d", t->name, i, p->leader, e.leader, p->leader_epoch + 1, e.isr.n, e.elr.n,
                 p->leader);
        p->leader = e.leader;
        p->leader_czxid = registration_of(v, e.leader);
        p->leader_epoch++;
    } else {
        LOG_INFO("zk", "%s-%d: ISR %d -> %d (leader %d, epoch %d): replicas in controlled "
                 "shutdown leave it", t->name, i, p->isr.n, e.isr.n, p->leader, p->leader_epoch);
    }
    set_isr(p, &e.isr, min_isr);
    p->elr = e.elr;
    return true;
}

/* The incarnation ZK_INCARNATIONS holds for broker id ("" when none). */
static const char *known_incarnation(const zk_client *z, int32_t id)
{
    for (int k = 0; k < z->nknown; k++)
        if (z->known[k].id == id)
            return z->known[k].incarnation;
    return "";
}

/* Whether registered broker id runs on another data directory than the one the controller
 * last settled for it (known_incarnation; the random id a data directory keeps), i.e. a
 * wiped or replaced disk: its log lacks what it held in the ISRs it is still in. A restart
 * on the same directory is not: its log is the one it had (sync mode: all it
 * acknowledged). Kept in ZooKeeper, so a controller elected after a whole-cluster crash
 * sees it too (KIP-966's broker epochs serve the same end). */
static bool wiped_since(const zk_client *z, const cluster_view *v, int32_t id)
{
    const cv_broker *b = id >= 0 ? cv_broker_find(v, id) : NULL;
    if (!b || !b->incarnation || !*b->incarnation || !z->known_loaded)
        return false;
    const char *known = known_incarnation(z, id);
    return *known && strcmp(known, b->incarnation) != 0;
}

static repl_set without_wiped(const zk_client *z, const cluster_view *v, const repl_set *s);

/* Followers of p's ISR whose broker came back on another data directory since the last
 * reconcile leave it (the leader's is reconcile_partition's; a last member stays): elected
 * from the ISR on its empty log, it would make the others truncate acknowledged records to
 * match it (an adversarial hunt, session 37: all three
 * nodes SIGKILLed, one data directory wiped, 90 acknowledged records gone). It rejoins
 * once it has caught up, as Kafka's controller handles a bounced broker. Best effort: a
 * controller elected after the restart did not see the old registration. */
static bool drop_restarted_followers(const zk_client *z, const cluster_view *v,
                                     const cv_topic *t, int32_t i, cv_part *p, int32_t min_isr)
{
    repl_set isr = p->isr, elr = without_wiped(z, v, &p->elr);
    for (int k = 0; k < p->isr.n; k++) {
        int32_t id = p->isr.id[k];
        if (id != p->leader && isr.n > 1 && wiped_since(z, v, id))
            repl_set_remove(&isr, id);
    }
    if (isr.n == p->isr.n && elr.n == p->elr.n)
        return false;
    /* The ELR means "holds every committed record": not so for an empty log either (one
     * kept there was elected from it after a whole-cluster crash). */
    LOG_INFO("zk", "%s-%d: ISR %d -> %d, ELR %d -> %d (members back on a new data directory "
             "leave them until caught up; leader %d, epoch %d)", t->name, i, p->isr.n, isr.n,
             p->elr.n, elr.n, p->leader, p->leader_epoch);
    set_isr(p, &isr, min_isr);
    p->elr = elr;
    return true;
}

/* Reads ZK_INCARNATIONS into z->known at the start of a controller term. On an error
 * nothing counts as wiped until a later pass reads it. */
static void load_known_incarnations(zk_client *z, zhandle_t *zh)
{
    struct String_vector kids = {0};
    int rc = zoo_get_children(zh, ZK_INCARNATIONS, 0, &kids);
    if (rc != ZOK && rc != ZNONODE) {
        LOG_WARN("zk", "cannot read %s: %s (will retry)", ZK_INCARNATIONS, zerror(rc));
        return;
    }
    z->nknown = 0;
    struct zk_known_inc *n = kids.count > 0
        ? realloc(z->known, sizeof(*z->known) * (size_t)kids.count) : z->known;
    bool ok = kids.count == 0 || n != NULL;
    if (n)
        z->known = n;
    for (int i = 0; ok && i < kids.count; i++) {
        char path[ZK_PATH_MAX], val[ZK_INCARNATION_MAX];
        int len = (int)sizeof(val) - 1;
        long id = strtol(kids.data[i], NULL, 10);
        snprintf(path, sizeof(path), ZK_INCARNATIONS "/%s", kids.data[i]);
        rc = zoo_get(zh, path, 0, val, &len, NULL);
        if (rc == ZNONODE)
            continue;
        ok = rc == ZOK && len >= 0 && id >= 0 && id <= INT32_MAX;
        if (!ok)
            break;
        val[len] = '\0';
        z->known[z->nknown].id = (int32_t)id;
        snprintf(z->known[z->nknown].incarnation, ZK_INCARNATION_MAX, "%s", val);
        z->nknown++;
    }
    deallocate_String_vector(&kids);
    z->known_loaded = ok;
    if (!ok)
        LOG_WARN("zk", "cannot read the incarnations under %s (will retry)", ZK_INCARNATIONS);
}

/* Whether broker id is in an ISR with other members, or in an ELR, anywhere in v: a wiped
 * broker's new incarnation is settled only once it is in none (drop_restarted_followers
 * and the leader election took it out), so that no later controller takes its empty log
 * for a full one. */
static bool in_shared_isr(const cluster_view *v, int32_t id)
{
    for (const cv_topic *t = v->topics; t; t = t->hh.next)
        for (int32_t i = 0; i < t->nparts; i++)
            if ((t->parts[i].isr.n > 1 && repl_set_has(&t->parts[i].isr, id)) ||
                repl_set_has(&t->parts[i].elr, id))
                return true;
    return false;
}

/* Writes each registered broker's incarnation to ZK_INCARNATIONS where it is new (first
 * seen) or, for a broker back on another data directory, once that is settled
 * (in_shared_isr). Called after the reconcile's writes succeeded. */
static void settle_incarnations(zk_client *z, zhandle_t *zh, const cluster_view *v)
{
    for (int k = 0; k < v->nbrokers && z->known_loaded; k++) {
        const cv_broker *b = &v->brokers[k];
        const char *known = known_incarnation(z, b->id);
        if (!b->incarnation || !*b->incarnation || strcmp(known, b->incarnation) == 0 ||
            (*known && in_shared_isr(v, b->id)))
            continue;
        char path[ZK_PATH_MAX];
        snprintf(path, sizeof(path), ZK_INCARNATIONS "/%d", b->id);
        int len = (int)strlen(b->incarnation);
        int rc = zoo_set(zh, path, b->incarnation, len, -1);
        if (rc == ZNONODE)
            rc = zoo_create(zh, path, b->incarnation, len, node_acl(z), 0, NULL, 0);
        if (rc != ZOK) {
            LOG_WARN("zk", "cannot record broker %d's incarnation: %s (will retry)", b->id,
                     zerror(rc));
            continue;
        }
        if (*known)
            LOG_INFO("zk", "broker %d on its new data directory is out of every shared ISR; "
                     "its incarnation is recorded", b->id);
        z->known_loaded = false; /* re-read at the next pass: one source of truth */
    }
}

/* s without the brokers back on another data directory (wiped_since). */
static repl_set without_wiped(const zk_client *z, const cluster_view *v, const repl_set *s)
{
    repl_set out = {0};
    for (int k = 0; k < s->n; k++)
        if (!wiped_since(z, v, s->id[k]))
            repl_set_add(&out, s->id[k]);
    return out;
}

/* repl_elect among the replicas whose logs are theirs: a broker back on another data
 * directory (a wiped or replaced disk) has an empty log, so another member of the ISR or
 * ELR leads, and the wiped one leaves the ISR until it has caught up as a follower (as
 * Kafka's controller treats a bounced broker as a failed one). While the members that hold
 * the data are all down the partition stays without a leader: electing the empty log
 * would make them truncate acknowledged records when they return (an adversarial hunt,
 * session 37; after a whole-cluster crash too, since ZK_INCARNATIONS). Only when the ISR
 * and ELR name no other replica, nothing worth waiting for, may a wiped one lead. A
 * restart on the same directory keeps its place. */
static repl_election elect_clean(const zk_client *z, const cluster_view *v,
                                 const repl_set *reps, const cv_part *p, const repl_set *avail,
                                 int32_t min_isr)
{
    repl_set isr = without_wiped(z, v, &p->isr), elr = without_wiped(z, v, &p->elr);
    repl_set clean_live = without_wiped(z, v, avail);
    repl_election e = repl_elect(reps, &isr, &elr, &clean_live, min_isr);
    if (e.leader >= 0 || (isr.n == p->isr.n && elr.n == p->elr.n))
        return e; /* no wiped member involved: repl_elect's answer as it is */
    if (isr.n == 0 && elr.n == 0)
        return repl_elect(reps, &p->isr, &p->elr, avail, min_isr);
    return (repl_election){-1, p->isr, p->elr}; /* logged as "leader N -> -1" */
}

/* The controller's decision for one partition (repl_elect): a new leader when its leader
 * is gone, a new epoch when its leader restarted (its registration is not the one it was
 * elected under: its old epoch may have lost records its followers hold), leadership back
 * to the preferred replica once that is in sync, and the moves of a controlled shutdown.
 * Brokers in controlled shutdown (`shutting`, a subset of `live`) are chosen as leaders
 * only when no other replica can lead. Returns true when p changed. */
static bool reconcile_partition(const zk_client *z, const cluster_view *v, const cv_topic *t,
                                int32_t i, cv_part *p, const repl_set *live,
                                const repl_set *shutting, int32_t min_isr, bool prefer_leaders)
{
    bool dropped = drop_restarted_followers(z, v, t, i, p, min_isr);
    bool leader_live = p->leader >= 0 && repl_set_has(live, p->leader);
    int64_t reg = registration_of(v, p->leader);
    bool bump = leader_live && p->leader_czxid != 0 && reg != p->leader_czxid;
    if (leader_live && p->leader_czxid == 0) { /* written before this was recorded */
        p->leader_czxid = reg;
        return true;
    }
    repl_set reps = {0}, avail = *live;
    for (int32_t k = 0; k < p->nreplicas; k++)
        repl_set_add(&reps, p->replicas[k]);
    for (int k = 0; k < shutting->n; k++)
        repl_set_remove(&avail, shutting->id[k]);
    int32_t pref = p->replicas[0];
    bool prefer = prefer_leaders && leader_live && p->leader != pref &&
                  repl_set_has(&avail, pref) && repl_set_has(&p->isr, pref);
    if (leader_live && !bump && !prefer) {
        bool changed = drop_dead_members(t, i, p, live, min_isr) || dropped;
        return shutdown_moves(v, t, i, p, &reps, live, shutting, min_isr) || changed;
    }
    repl_election e = {pref, p->isr, p->elr};
    if (!prefer || (bump && wiped_since(z, v, p->leader)))
        e = elect_clean(z, v, &reps, p, &avail, min_isr);
    if (!prefer && e.leader < 0 && shutting->n > 0) /* only a leaving broker can lead */
        e = elect_clean(z, v, &reps, p, live, min_isr);
    if (e.leader == p->leader && !bump && repl_set_equal(&e.isr, &p->isr) &&
        repl_set_equal(&e.elr, &p->elr))
        return shutdown_moves(v, t, i, p, &reps, live, shutting, min_isr) || dropped;
    LOG_INFO("zk", "%s-%d: leader %d -> %d (epoch %d, isr %d, elr %d)%s", t->name, i, p->leader,
             e.leader, p->leader_epoch + 1, e.isr.n, e.elr.n,
             bump ? " after its restart" : prefer ? " (preferred)" : "");
    p->leader = e.leader;
    p->leader_czxid = registration_of(v, e.leader);
    set_isr(p, &e.isr, min_isr);
    p->elr = e.elr;
    p->leader_epoch++;
    shutdown_moves(v, t, i, p, &reps, live, shutting, min_isr);
    return true;
}

/* Writes one topic's state, fenced by the controller epoch znode's version. */
static int write_state(zk_client *z, zhandle_t *zh, const cv_topic *t)
{
    char *json = cv_state_json(t, z->controller_epoch);
    if (!json)
        return ZSYSTEMERROR;
    char path[ZK_PATH_MAX];
    snprintf(path, sizeof(path), ZK_TOPICS "/%s/state", t->name);
    zoo_op_t ops[2];
    zoo_op_result_t res[2];
    struct Stat st;
    zoo_check_op_init(&ops[0], ZK_CONTROLLER_EPOCH, z->epoch_version);
    if (t->state_version < 0)
        zoo_create_op_init(&ops[1], path, json, (int)strlen(json), node_acl(z), 0,
                           NULL, 0);
    else
        zoo_set_op_init(&ops[1], path, json, (int)strlen(json), t->state_version, &st);
    int rc = zoo_multi(zh, 2, ops, res);
    free(json);
    if (rc != ZOK && res[0].err != ZOK) {
        LOG_WARN("zk", "controller epoch %d is stale; resigning", z->controller_epoch);
        z->is_controller = false;
    }
    return rc;
}

/* Moves leaders to match live brokers. Returns true if it wrote anything. */
static bool reconcile_leaders(zk_client *z, zhandle_t *zh, cluster_view *v)
{
    bool wrote = false, failed = false;
    repl_set live, shutting;
    cv_live_sets(v, &live, &shutting);
    /* A registration of this node's id that its own session did not make is a dead
     * predecessor's (a crash; ZooKeeper drops it when that session expires): electing it
     * would name a process that is gone, or this one on a log it may not have. */
    if (!v->registered) {
        repl_set_remove(&live, z->cfg.node_id);
        repl_set_remove(&shutting, z->cfg.node_id);
    }
    if (!z->known_loaded)
        load_known_incarnations(z, zh);
    if (!z->known_loaded)
        return false; /* no election without knowing which data directories are new */
    for (cv_topic *t = v->topics; t && z->is_controller; t = t->hh.next) {
        bool change = t->state_version < 0;
        int32_t min_isr = topic_min_isr(z, t);
        for (int32_t i = 0; i < t->nparts; i++)
            change = reconcile_partition(z, v, t, i, &t->parts[i], &live, &shutting, min_isr,
                                         z->cfg.prefer_leaders) || change;
        if (change) {
            int rc = write_state(z, zh, t);
            if (rc != ZOK)
                LOG_WARN("zk", "%s: state write failed: %s (will re-read)", t->name, zerror(rc));
            failed = failed || rc != ZOK;
            wrote = true;
        }
    }
    if (z->is_controller && !failed)
        settle_incarnations(z, zh, v);
    else if (!z->is_controller)
        z->known_loaded = false; /* a later term reads them again */
    return wrote;
}

static int16_t create_topic(zk_client *z, zhandle_t *zh, const cluster_view *v,
                            const char *name, int32_t nparts, int32_t rf, int nconfigs,
                            char *const *keys, char *const *values, const int32_t *replicas,
                            const char **msg, uint8_t *id_out);

/* The controller gives a topic znode written before topic ids (no "id") a new one, once:
 * written at the znode's version, so a concurrent change wins and a later pass retries.
 * Returns true if it wrote anything. */
static bool assign_topic_ids(zk_client *z, zhandle_t *zh, cluster_view *v)
{
    bool wrote = false;
    for (cv_topic *t = v->topics; t && z->is_controller; t = t->hh.next) {
        if (!md_id_is_zero(t->id) || md_new_id(t->id) != 0)
            continue;
        t->id_assigned = true; /* nodes keep what they hold of it: not a new topic */
        char *json = cv_topic_json(t);
        char path[ZK_PATH_MAX];
        snprintf(path, sizeof(path), ZK_TOPICS "/%s", t->name);
        int rc = json ? zoo_set(zh, path, json, (int)strlen(json), t->topic_version)
                      : ZSYSTEMERROR;
        free(json);
        if (rc == ZOK)
            LOG_INFO("zk", "topic %s had no topic id: gave it one", t->name);
        else
            LOG_WARN("zk", "%s: writing its new topic id failed: %s (will retry)", t->name,
                     zerror(rc));
        wrote = true;
    }
    return wrote;
}

/* The controller creates the internal topics once enough brokers are up. */
static bool ensure_internal(zk_client *z, zhandle_t *zh, cluster_view *v)
{
    if (v->nbrokers < z->cfg.min_brokers)
        return false;
    bool wrote = false;
    for (int i = 0; i < 2; i++) {
        if (!z->internal[i] || cv_topic_find(v, z->internal[i], strlen(z->internal[i])))
            continue;
        const char *msg;
        /* Kafka's rule: the configured factor, at most the nodes there are now; and
         * min.insync.replicas 2 where there are replicas enough. */
        int32_t rf = z->cfg.internal_rf[i] < v->nbrokers ? z->cfg.internal_rf[i] : v->nbrokers;
        if (rf < 1)
            rf = 1;
        char misr[16];
        snprintf(misr, sizeof(misr), "%d", rf < 2 ? rf : 2);
        char *keys[1] = {"min.insync.replicas"}, *values[1] = {misr};
        int16_t err = create_topic(z, zh, v, z->internal[i], z->cfg.internal_parts[i], rf, 1,
                                   keys, values, NULL, &msg, NULL);
        if (err == KERR_NONE)
            LOG_INFO("zk", "created internal topic %s (%d partitions over %d brokers)",
                     z->internal[i], z->cfg.internal_parts[i], v->nbrokers);
        wrote = true;
    }
    return wrote;
}

/* Publishes v, read in session generation gen: only a view read in the current session
 * can start its lease (one read before an expiry may already be stale). */
static void publish(zk_client *z, cluster_view *v, uint64_t gen)
{
    pthread_mutex_lock(&z->mu);
    v->seq = ++z->seq;
    if (z->lease_min_seq == UINT64_MAX && gen == z->session_gen)
        z->lease_min_seq = v->seq;
    cluster_view *old = z->current;
    z->current = v;
    pthread_cond_broadcast(&z->cond);
    pthread_mutex_unlock(&z->mu);
    cv_unref(old);
    uv_async_send(&z->async);
}

/* Opens a new session; waits (bounded) for it to connect. */
static zhandle_t *open_session(zk_client *z)
{
    zhandle_t *zh = zookeeper_init(z->connect, watcher, z->cfg.session_timeout_ms, NULL, z, 0);
    if (!zh) {
        LOG_ERROR("zk", "cannot start a ZooKeeper session with %s: %s", z->connect,
                  strerror(errno));
        return NULL;
    }
    /* The client resolves the server names again each time it polls its socket, by
     * default: a getaddrinfo (with a netlink dump) per request, ~90 in a burst when the
     * view is read. Names of ZooKeeper servers change rarely; a lost connection still
     * resolves them anew. */
    if (zoo_set_servers_resolution_delay(zh, ZK_RESOLVE_EVERY_MS) != ZOK)
        LOG_WARN("zk", "cannot rate-limit the ZooKeeper client's name resolution");
    /* Queued before any other request of the session, and sent again by the client
     * library after each reconnect. */
    if (z->digest && zoo_add_auth(zh, "digest", z->digest, (int)strlen(z->digest), NULL,
                                  NULL) != ZOK)
        LOG_ERROR("zk", "cannot add the ZooKeeper digest identity to the session");
    pthread_mutex_lock(&z->mu);
    z->zh = zh;
    z->expired = false;
    z->hb_in_flight = false; /* the old handle, closed, answers nothing more */
    z->lease_sent_ms = 0;    /* a new session vouches for nothing before it answers... */
    z->lease_min_seq = UINT64_MAX; /* ...and before a view read in it is delivered */
    z->session_gen++;
    pthread_mutex_unlock(&z->mu);
    return zh;
}

/* Removes the registrations (or the controller znode) of processes the loop found dead:
 * each only if it is still the one the loop saw (same creation id; for the controller,
 * still owned by that broker), so a node that already came back keeps its new one. */
static void do_evictions(zk_client *z, zhandle_t *zh)
{
    pthread_mutex_lock(&z->mu);
    int n = z->nevict;
    __typeof__(z->evict[0]) ev[16];
    memcpy(ev, z->evict, sizeof(ev[0]) * (size_t)n);
    z->nevict = 0;
    pthread_mutex_unlock(&z->mu);
    for (int i = 0; i < n; i++) {
        char path[ZK_PATH_MAX];
        struct Stat st;
        int len = ZK_BUF;
        if (ev[i].czxid < 0) {
            int32_t id = -1, epoch;
            if (zoo_get(zh, ZK_CONTROLLER, 0, z->buf, &len, &st) == ZOK && len > 0 &&
                cv_controller_parse(z->buf, (size_t)len, &id, &epoch) == 0 && id == ev[i].id) {
                LOG_WARN("zk", "controller %d is gone (its connections are refused); "
                         "removing its znode so another node is elected", id);
                zoo_delete(zh, ZK_CONTROLLER, st.version);
            }
            continue;
        }
        snprintf(path, sizeof(path), ZK_BROKERS "/%d", ev[i].id);
        if (zoo_exists(zh, path, 0, &st) == ZOK && st.czxid == ev[i].czxid) {
            LOG_WARN("zk", "broker %d is gone (its connections are refused); removing its "
                     "registration so its partitions fail over", ev[i].id);
            zoo_delete(zh, path, st.version);
        }
    }
}

void zk_evict(zk_client *z, int32_t id, int64_t czxid)
{
    pthread_mutex_lock(&z->mu);
    bool dup = false;
    for (int i = 0; i < z->nevict; i++)
        dup = dup || (z->evict[i].id == id && z->evict[i].czxid == czxid);
    if (!dup && z->nevict < (int)(sizeof(z->evict) / sizeof(z->evict[0]))) {
        z->evict[z->nevict].id = id;
        z->evict[z->nevict++].czxid = czxid;
    }
    z->dirty = true;
    pthread_cond_broadcast(&z->cond);
    pthread_mutex_unlock(&z->mu);
}

static void do_isr_changes(zk_client *z, zhandle_t *zh);

/* Keeps our registration saying what it should: once a controlled shutdown is asked,
 * that it is leaving (the controller then moves our leadership and ISR places away); and
 * the admin listener's address, which is bound after the registration is first made. A
 * version-checked write of our own ephemeral znode; a registration made anew after a
 * session expiry says both from the start. */
static void update_registration(zk_client *z, zhandle_t *zh, const char *path)
{
    char admin[sizeof(z->admin)];
    pthread_mutex_lock(&z->mu);
    bool want = z->shutting_down, admin_dirty = z->admin_dirty;
    memcpy(admin, z->admin, sizeof(admin));
    pthread_mutex_unlock(&z->mu);
    if (!want && !admin_dirty)
        return;
    struct Stat st;
    int len = ZK_BUF;
    cv_broker b = {0};
    if (zoo_get(zh, path, 0, z->buf, &len, &st) != ZOK || len <= 0 ||
        st.ephemeralOwner != zoo_client_id(zh)->client_id ||
        cv_broker_parse(z->buf, (size_t)len, &b) != 0)
        return; /* not registered now: the registration will say it (do_register) */
    bool said = b.shutting_down;
    bool admin_said = strcmp(b.admin ? b.admin : "", admin) == 0;
    cv_broker_clear(&b);
    if ((said || !want) && admin_said) {
        pthread_mutex_lock(&z->mu);
        z->admin_dirty = strcmp(z->admin, admin) != 0; /* changed again meanwhile? */
        pthread_mutex_unlock(&z->mu);
        return;
    }
    char *json = registration_json(z, want || said, admin);
    int rc = json ? zoo_set(zh, path, json, (int)strlen(json), st.version) : ZSYSTEMERROR;
    free(json);
    if (rc == ZOK && want && !said)
        LOG_INFO("zk", "registration says: controlled shutdown");
    else if (rc == ZOK)
        LOG_INFO("zk", "registration says: admin listener %s", admin[0] ? admin : "(none)");
    else
        LOG_WARN("zk", "cannot update our registration: %s (retrying)", zerror(rc));
    if (rc != ZOK)
        return;
    pthread_mutex_lock(&z->mu);
    z->admin_dirty = strcmp(z->admin, admin) != 0;
    pthread_mutex_unlock(&z->mu);
}

void zk_set_admin(zk_client *z, const char *admin)
{
    pthread_mutex_lock(&z->mu);
    snprintf(z->admin, sizeof(z->admin), "%s", admin ? admin : "");
    z->admin_dirty = true;
    z->dirty = true;
    pthread_cond_broadcast(&z->cond);
    pthread_mutex_unlock(&z->mu);
}

void zk_shutdown_announce(zk_client *z)
{
    pthread_mutex_lock(&z->mu);
    z->shutting_down = true;
    z->dirty = true;
    pthread_cond_broadcast(&z->cond);
    pthread_mutex_unlock(&z->mu);
}

/* One pass: (re)open the session if needed, register, elect, read, act, publish. */
static void step(zk_client *z)
{
    pthread_mutex_lock(&z->mu);
    bool expired = z->expired, connected = z->connected;
    zhandle_t *zh = z->zh;
    uint64_t gen = z->session_gen;
    z->dirty = false;
    pthread_mutex_unlock(&z->mu);
    if (expired && zh) {
        LOG_WARN("zk", "ZooKeeper session expired; starting a new one and re-registering");
        pthread_mutex_lock(&z->mu);
        z->zh = NULL;
        z->connected = false;
        while (z->loop_users > 0) /* a topic change in flight on the loop thread */
            pthread_cond_wait(&z->cond, &z->mu);
        pthread_mutex_unlock(&z->mu);
        zookeeper_close(zh);
        zh = NULL;
        z->is_controller = false;
    }
    if (!zh) {
        open_session(z);
        return; /* the CONNECTED event wakes us */
    }
    if (!connected)
        return;
    ensure_path(z, zh, ZK_ROOT);
    ensure_path(z, zh, ZK_BROKERS);
    ensure_path(z, zh, ZK_TOPICS);
    ensure_path(z, zh, ZK_INCARNATIONS);
    struct Stat st;
    char path[ZK_PATH_MAX];
    snprintf(path, sizeof(path), ZK_BROKERS "/%d", z->cfg.node_id);
    do_evictions(z, zh);
    do_isr_changes(z, zh);
    if (zoo_exists(zh, path, 0, &st) != ZOK ||
        st.ephemeralOwner != zoo_client_id(zh)->client_id)
        do_register(z, zh);
    else
        update_registration(z, zh, path);
    elect(z, zh);
    cluster_view *v = read_view(z, zh);
    if (!v) {
        struct timespec pause = {0, 200 * 1000000L}; /* a failed read: retry soon, not hot */
        nanosleep(&pause, NULL);
        wake(z, true);
        return;
    }
    bool wrote = false;
    if (z->is_controller) {
        wrote = ensure_internal(z, zh, v);          /* all run: no short circuit */
        wrote = assign_topic_ids(z, zh, v) || wrote;
        wrote = reconcile_leaders(z, zh, v) || wrote;
    }
    if (wrote) {
        cv_unref(v); /* re-read what we wrote */
        v = read_view(z, zh);
        if (!v)
            return;
    }
    publish(z, v, gen);
}

static void *thread_main(void *arg)
{
    zk_client *z = arg;
    pthread_mutex_lock(&z->mu);
    while (!z->stop) {
        if (!z->dirty && !z->expired) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts); /* the clock z->cond waits on */
            ts.tv_sec += 10; /* a periodic pass: retries a failed registration, re-reads */
            pthread_cond_timedwait(&z->cond, &z->mu, &ts);
            if (z->stop)
                break;
        }
        pthread_mutex_unlock(&z->mu);
        step(z);
        pthread_mutex_lock(&z->mu);
    }
    pthread_mutex_unlock(&z->mu);
    return NULL;
}

/* Loop thread: hands the newest view to the broker once. */
static void deliver(zk_client *z)
{
    pthread_mutex_lock(&z->mu);
    cluster_view *v = z->current;
    if (v)
        cv_ref(v);
    pthread_mutex_unlock(&z->mu);
    if (v && v->seq > z->delivered_seq) {
        z->delivered_seq = v->seq;
        z->on_view(z->ctx, v);
        heartbeat(z); /* the first view of a session: take the lease now */
    }
    cv_unref(v);
}

static void deliver_isr(zk_client *z);

static void on_async(uv_async_t *a)
{
    deliver(a->data);
    deliver_isr(a->data);
}

zk_client *zk_start(uv_loop_t *loop, const zk_config *cfg, zk_view_fn on_view, void *ctx)
{
    zk_client *z = calloc(1, sizeof(*z));
    if (!z)
        return NULL;
    z->cfg = *cfg;
    z->connect = strdup(cfg->connect);
    z->host = strdup(cfg->host);
    z->incarnation = strdup(cfg->incarnation);
    z->digest = cfg->digest && *cfg->digest ? strdup(cfg->digest) : NULL;
    z->cfg.digest = NULL; /* the caller's: z->digest is the copy */
    BROOK_ASSERT(cfg->nendpoints >= 0 && cfg->nendpoints <= CV_ENDPOINTS_MAX);
    if (cfg->nendpoints > 0)
        memcpy(z->eps, cfg->endpoints, sizeof(z->eps[0]) * (size_t)cfg->nendpoints);
    z->cfg.endpoints = NULL; /* the caller's: z->eps is the copy */
    for (int i = 0; i < 2; i++)
        z->internal[i] = cfg->internal_names[i] ? strdup(cfg->internal_names[i]) : NULL;
    z->buf = malloc(ZK_BUF);
    z->lbuf = malloc(ZK_BUF);
    z->loop = loop;
    z->on_view = on_view;
    z->ctx = ctx;
    BROOK_ASSERT(z->connect && z->host && z->incarnation && z->buf && z->lbuf);
    pthread_mutex_init(&z->mu, NULL);
    /* Timed waits on the monotonic clock: a step of the wall clock (NTP, an operator, the
     * chaos campaign's clock faults) must neither stretch nor cut them. */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&z->cond, &ca);
    pthread_condattr_destroy(&ca);
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    uv_async_init(loop, &z->async, on_async);
    z->async.data = z;
    z->lease_ms = cfg->session_timeout_ms * 3 / 4; /* until a session negotiates its own */
    z->lease_min_seq = UINT64_MAX;
    uv_timer_init(loop, &z->hb_timer);
    z->hb_timer.data = z;
    uv_timer_start(&z->hb_timer, on_hb_timer, 0, 100); /* heartbeat() decides when to send */
    z->open_handles = 2;
    if (!open_session(z) || pthread_create(&z->thread, NULL, thread_main, z) != 0) {
        LOG_ERROR("zk", "cannot start the ZooKeeper client for %s", cfg->connect);
        return NULL; /* brookd exits: nothing to release carefully */
    }
    LOG_INFO("zk", "connecting to ZooKeeper at %s (session timeout %d ms)", z->connect,
             cfg->session_timeout_ms);
    return z;
}

static void on_closed(uv_handle_t *h)
{
    zk_client *z = h->data;
    if (--z->open_handles > 0)
        return;
    cv_unref(z->current);
    free(z->connect);
    free(z->host);
    free(z->incarnation);
    free(z->known);
    free(z->digest);
    free(z->internal[0]);
    free(z->internal[1]);
    free(z->buf);
    free(z->lbuf);
    free(z->isr_reqs);
    free(z->isr_done);
    pthread_mutex_destroy(&z->mu);
    pthread_cond_destroy(&z->cond);
    free(z);
}

void zk_stop(zk_client *z)
{
    pthread_mutex_lock(&z->mu);
    z->stop = true;
    pthread_cond_broadcast(&z->cond);
    pthread_mutex_unlock(&z->mu);
    pthread_join(z->thread, NULL);
    if (z->zh)
        zookeeper_close(z->zh); /* ends the session: our ephemeral znodes go now */
    z->zh = NULL;
    uv_close((uv_handle_t *)&z->hb_timer, on_closed);
    uv_close((uv_handle_t *)&z->async, on_closed);
}

bool zk_refresh_sync(zk_client *z, int timeout_ms)
{
    pthread_mutex_lock(&z->mu);
    uint64_t want = z->seq + 1;
    z->dirty = true;
    pthread_cond_broadcast(&z->cond);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* the clock z->cond waits on */
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (z->seq < want && !z->stop)
        if (pthread_cond_timedwait(&z->cond, &z->mu, &ts) != 0)
            break;
    bool got = z->seq >= want;
    pthread_mutex_unlock(&z->mu);
    deliver(z);
    return got;
}

/* ---- topic changes (loop thread) ---- */

/* A connected handle, or NULL (the caller answers a retriable error). A handle returned
 * must be given back with release_handle(): the session thread does not close it before. */
static zhandle_t *ready_handle(zk_client *z)
{
    pthread_mutex_lock(&z->mu);
    zhandle_t *zh = z->connected ? z->zh : NULL;
    if (zh)
        z->loop_users++;
    pthread_mutex_unlock(&z->mu);
    return zh;
}

static void release_handle(zk_client *z)
{
    pthread_mutex_lock(&z->mu);
    z->loop_users--;
    pthread_cond_broadcast(&z->cond);
    pthread_mutex_unlock(&z->mu);
}

/* Node ids of live brokers from v, or (NULL) from the newest published view. */
static size_t live_ids(zk_client *z, const cluster_view *v, int32_t **out)
{
    if (!v)
        pthread_mutex_lock(&z->mu);
    const cluster_view *cv = v ? v : z->current;
    size_t n = cv ? (size_t)cv->nbrokers : 0;
    *out = calloc(n ? n : 1, sizeof(int32_t));
    for (size_t i = 0; *out && i < n; i++)
        (*out)[i] = cv->brokers[i].id;
    if (!v)
        pthread_mutex_unlock(&z->mu);
    return *out ? n : 0;
}

/* Partitions from `from` on, their replicas filled in: all in the ISR, the first
 * leading epoch 0. */
static void start_parts(cv_topic *t, int32_t from, int32_t rf)
{
    for (int32_t i = from; i < t->nparts; i++) {
        cv_part *p = &t->parts[i];
        p->nreplicas = rf;
        p->leader = p->replicas[0];
        p->leader_epoch = 0;
        p->isr.n = p->elr.n = 0;
        for (int32_t k = 0; k < rf; k++)
            repl_set_add(&p->isr, p->replicas[k]);
    }
}

/* Fills a new topic's (or new partitions') replica lists, rf each, from the ring of live
 * brokers (bounded load); every replica starts in the ISR, the first leads epoch 0.
 * Returns 0, -1 on failure, -2 when rf is more than the live brokers. */
static int place(zk_client *z, const cluster_view *v, cv_topic *t, int32_t from, int32_t rf)
{
    int32_t *ids;
    size_t n = live_ids(z, v, &ids);
    ring r;
    int rc = -1;
    if (rf < 1 || rf > REPL_MAX_REPLICAS || (size_t)rf > n)
        rc = -2;
    else if (ring_build(&r, ids, n, PLACEMENT_VNODES_DEFAULT) == 0) {
        placement pl;
        char *names[1] = {t->name};
        if (from == 0 && placement_init(&pl, &r, names, &t->nparts, 1, rf) == 0) {
            for (int32_t i = 0; i < t->nparts; i++)
                for (int32_t k = 0; k < rf; k++)
                    t->parts[i].replicas[k] = pl.replicas[(size_t)i * (size_t)rf + (size_t)k];
            placement_free(&pl);
            rc = 0;
        } else if (from > 0) {
            rc = 0;
            for (int32_t i = from; i < t->nparts; i++)
                if (ring_replicas(&r, t->name, i, t->parts[i].replicas, (size_t)rf) !=
                    (size_t)rf)
                    rc = -1;
        }
        ring_free(&r);
    }
    if (rc == 0)
        start_parts(t, from, rf);
    free(ids);
    return rc;
}

/* Partition `from` on of a topic get the replica lists given (replicas: (nparts - from) x
 * rf, checked for duplicates by the caller): every id must be a live broker's. Returns 0,
 * -1 (out of memory) or -3. */
static int place_given(zk_client *z, const cluster_view *v, cv_topic *t, int32_t from,
                       int32_t rf, const int32_t *replicas)
{
    int32_t *ids;
    size_t n = live_ids(z, v, &ids);
    int rc = ids ? 0 : -1;
    for (int32_t i = from; rc == 0 && i < t->nparts; i++)
        for (int32_t k = 0; rc == 0 && k < rf; k++) {
            int32_t id = replicas[(size_t)(i - from) * (size_t)rf + (size_t)k];
            bool live = false;
            for (size_t j = 0; j < n; j++)
                live = live || ids[j] == id;
            if (!live)
                rc = -3;
            t->parts[i].replicas[k] = id;
        }
    if (rc == 0)
        start_parts(t, from, rf);
    free(ids);
    return rc;
}

static cv_topic *topic_alloc(const char *name, int32_t nparts, int32_t rf)
{
    cv_topic *t = calloc(1, sizeof(*t));
    if (!t || !(t->name = strdup(name)) || !(t->parts = calloc((size_t)nparts, sizeof(cv_part)))) {
        cv_topic_free(t);
        return NULL;
    }
    t->nparts = nparts;
    for (int32_t i = 0; i < nparts; i++)
        if (!(t->parts[i].replicas = calloc((size_t)(rf > 0 ? rf : 1), sizeof(int32_t)))) {
            cv_topic_free(t);
            return NULL;
        }
    return t;
}

static int16_t zerr_to_kafka(int rc)
{
    switch (rc) {
    case ZOK: return KERR_NONE;
    case ZNODEEXISTS: return KERR_TOPIC_ALREADY_EXISTS;
    case ZNONODE: return KERR_UNKNOWN_TOPIC_OR_PARTITION;
    default: return KERR_REQUEST_TIMED_OUT;
    }
}

static int16_t create_topic(zk_client *z, zhandle_t *zh, const cluster_view *v,
                            const char *name, int32_t nparts, int32_t rf, int nconfigs,
                            char *const *keys, char *const *values, const int32_t *replicas,
                            const char **msg, uint8_t *id_out)
{
    if (rf < 0)
        rf = z->cfg.default_rf > 0 ? z->cfg.default_rf : 1;
    cv_topic *t = topic_alloc(name, nparts, rf);
    *msg = NULL;
    if (!t)
        return KERR_UNKNOWN_SERVER_ERROR;
    bool idok = md_new_id(t->id) == 0;
    if (idok && id_out)
        memcpy(id_out, t->id, 16);
    t->nconfigs = nconfigs;
    t->config_keys = (char **)keys;
    t->config_values = (char **)values;
    int prc = !idok ? -1 : replicas ? place_given(z, v, t, 0, rf, replicas) : place(z, v, t, 0, rf);
    char *tj = prc == 0 ? cv_topic_json(t) : NULL;
    char *sj = tj ? cv_state_json(t, 0) : NULL;
    t->nconfigs = 0;
    t->config_keys = t->config_values = NULL;
    cv_topic_free(t);
    if (!sj) {
        free(tj);
        if (prc == -3) {
            *msg = "the replica assignment names a broker that is not registered";
            return KERR_INVALID_REPLICA_ASSIGNMENT;
        }
        *msg = prc == -2 ? "replication factor larger than the live brokers"
                         : "no live brokers to place the topic on";
        return KERR_INVALID_REPLICATION_FACTOR;
    }
    char tpath[ZK_PATH_MAX], spath[ZK_PATH_MAX];
    snprintf(tpath, sizeof(tpath), ZK_TOPICS "/%s", name);
    snprintf(spath, sizeof(spath), ZK_TOPICS "/%s/state", name);
    zoo_op_t ops[2];
    zoo_op_result_t res[2];
    zoo_create_op_init(&ops[0], tpath, tj, (int)strlen(tj), node_acl(z), 0, NULL, 0);
    zoo_create_op_init(&ops[1], spath, sj, (int)strlen(sj), node_acl(z), 0, NULL, 0);
    int rc = zoo_multi(zh, 2, ops, res);
    free(tj);
    free(sj);
    if (rc == ZNODEEXISTS)
        *msg = "topic already exists";
    else if (rc != ZOK) {
        LOG_WARN("zk", "creating topic %s failed: %s", name, zerror(rc));
        *msg = "ZooKeeper write failed";
    }
    return zerr_to_kafka(rc);
}

int16_t zk_topic_create(zk_client *z, const char *name, int32_t nparts, int32_t rf, int nconfigs,
                        char *const *keys, char *const *values, const int32_t *replicas,
                        const char **msg, uint8_t *id_out)
{
    zhandle_t *zh = ready_handle(z);
    if (!zh) {
        *msg = "not connected to ZooKeeper";
        return KERR_REQUEST_TIMED_OUT;
    }
    int16_t err = create_topic(z, zh, NULL, name, nparts, rf, nconfigs, keys, values,
                               replicas, msg, id_out);
    release_handle(z);
    return err;
}

static cv_topic *load_topic(zk_client *z, zhandle_t *zh, const char *name, int *rc);

/* Deletes the topic znode only while it still has topic id `id`: its state znode and
 * itself in one multi-op fenced by the topic znode's version, so a topic deleted and
 * recreated under the same name meanwhile (a new id) is never the one deleted. */
static int16_t delete_topic_with_id(zk_client *z, zhandle_t *zh, const char *name,
                                    const uint8_t id[16])
{
    char tpath[ZK_PATH_MAX], spath[ZK_PATH_MAX];
    snprintf(tpath, sizeof(tpath), ZK_TOPICS "/%s", name);
    snprintf(spath, sizeof(spath), ZK_TOPICS "/%s/state", name);
    for (int attempt = 0; attempt < 3; attempt++) {
        int rc;
        cv_topic *t = load_topic(z, zh, name, &rc);
        if (!t)
            return rc == ZNONODE ? KERR_UNKNOWN_TOPIC_ID : zerr_to_kafka(rc);
        bool same = memcmp(t->id, id, 16) == 0;
        int32_t version = t->topic_version;
        bool has_state = t->state_version >= 0;
        cv_topic_free(t);
        if (!same)
            return KERR_UNKNOWN_TOPIC_ID;
        zoo_op_t ops[3];
        zoo_op_result_t res[3];
        int n = 0;
        zoo_check_op_init(&ops[n++], tpath, version);
        if (has_state)
            zoo_delete_op_init(&ops[n++], spath, -1);
        zoo_delete_op_init(&ops[n++], tpath, version);
        rc = zoo_multi(zh, n, ops, res);
        if (rc == ZOK)
            return KERR_NONE;
        if (rc != ZBADVERSION && rc != ZNONODE && rc != ZNOTEMPTY)
            return zerr_to_kafka(rc);
        /* changed meanwhile (a state appeared or went, the znode was rewritten): again */
    }
    return KERR_REQUEST_TIMED_OUT;
}

int16_t zk_topic_delete(zk_client *z, const char *name, const uint8_t *id)
{
    zhandle_t *zh = ready_handle(z);
    if (!zh)
        return KERR_REQUEST_TIMED_OUT;
    if (id) {
        int16_t err = delete_topic_with_id(z, zh, name, id);
        release_handle(z);
        return err;
    }
    char tpath[ZK_PATH_MAX], spath[ZK_PATH_MAX];
    snprintf(tpath, sizeof(tpath), ZK_TOPICS "/%s", name);
    snprintf(spath, sizeof(spath), ZK_TOPICS "/%s/state", name);
    int rc = zoo_delete(zh, spath, -1);
    if (rc == ZOK || rc == ZNONODE)
        rc = zoo_delete(zh, tpath, -1);
    release_handle(z);
    return zerr_to_kafka(rc);
}

/* Reads a topic for a read-modify-write on the loop thread. */
static cv_topic *load_topic(zk_client *z, zhandle_t *zh, const char *name, int *rc)
{
    char path[ZK_PATH_MAX];
    snprintf(path, sizeof(path), ZK_TOPICS "/%s", name);
    struct Stat st;
    int len = ZK_BUF;
    *rc = zoo_get(zh, path, 0, z->lbuf, &len, &st);
    if (*rc != ZOK)
        return NULL;
    cv_topic *t = calloc(1, sizeof(*t));
    if (!t || !(t->name = strdup(name)) || len <= 0 ||
        cv_topic_parse(z->lbuf, (size_t)len, t) != 0) {
        cv_topic_free(t);
        *rc = ZMARSHALLINGERROR;
        return NULL;
    }
    t->topic_version = st.version;
    snprintf(path, sizeof(path), ZK_TOPICS "/%s/state", name);
    len = ZK_BUF;
    if (zoo_get(zh, path, 0, z->lbuf, &len, &st) == ZOK && len > 0 &&
        cv_state_parse(z->lbuf, (size_t)len, t) == 0)
        t->state_version = st.version;
    return t;
}

int16_t zk_topic_add_partitions(zk_client *z, const char *name, int32_t count,
                                const int32_t *replicas, int32_t replicas_rf, const char **msg)
{
    zhandle_t *zh = ready_handle(z);
    *msg = NULL;
    if (!zh) {
        *msg = "not connected to ZooKeeper";
        return KERR_REQUEST_TIMED_OUT;
    }
    int rc;
    cv_topic *t = load_topic(z, zh, name, &rc);
    if (!t) {
        release_handle(z);
        return zerr_to_kafka(rc);
    }
    int16_t err = KERR_NONE;
    int32_t old = t->nparts;
    cv_part *np = count > old ? realloc(t->parts, sizeof(cv_part) * (size_t)count) : NULL;
    if (count <= old) {
        *msg = "the new partition count must be larger than the current one";
        err = KERR_INVALID_PARTITIONS;
    } else if (!np) {
        err = KERR_UNKNOWN_SERVER_ERROR;
    } else {
        t->parts = np;
        memset(np + old, 0, sizeof(cv_part) * (size_t)(count - old));
        t->nparts = count;
        int32_t rf = old > 0 ? t->parts[0].nreplicas : 1;
        for (int32_t i = old; i < count; i++)
            np[i].replicas = calloc((size_t)rf, sizeof(int32_t));
        int prc = !replicas              ? place(z, NULL, t, old, rf)
                  : replicas_rf != rf ? -4
                                      : place_given(z, NULL, t, old, rf, replicas);
        if (prc == -3)
            *msg = "the replica assignment names a broker that is not registered";
        else if (prc == -4)
            *msg = "the replica assignment's replication factor differs from the topic's";
        else if (prc == -2)
            *msg = "the topic's replication factor is larger than the brokers alive now";
        char *tj = prc == 0 ? cv_topic_json(t) : NULL;
        char *sj = tj ? cv_state_json(t, t->state_controller_epoch) : NULL;
        char tpath[ZK_PATH_MAX], spath[ZK_PATH_MAX];
        snprintf(tpath, sizeof(tpath), ZK_TOPICS "/%s", name);
        snprintf(spath, sizeof(spath), ZK_TOPICS "/%s/state", name);
        zoo_op_t ops[2];
        zoo_op_result_t res[2];
        struct Stat st1, st2;
        if (sj) {
            zoo_set_op_init(&ops[0], tpath, tj, (int)strlen(tj), t->topic_version, &st1);
            zoo_set_op_init(&ops[1], spath, sj, (int)strlen(sj), t->state_version, &st2);
            rc = zoo_multi(zh, 2, ops, res);
            err = rc == ZOK ? KERR_NONE
                  : rc == ZBADVERSION ? KERR_REQUEST_TIMED_OUT : zerr_to_kafka(rc);
            if (rc == ZBADVERSION)
                *msg = "the topic changed concurrently; retry";
        } else {
            /* -2: as Kafka answers new partitions a replication factor the live brokers
             * cannot hold (it used to be UNKNOWN_SERVER_ERROR with no message) */
            err = prc == -3 || prc == -4 ? KERR_INVALID_REPLICA_ASSIGNMENT
                  : prc == -2            ? KERR_INVALID_REPLICATION_FACTOR
                                         : KERR_UNKNOWN_SERVER_ERROR;
        }
        free(tj);
        free(sj);
    }
    cv_topic_free(t);
    release_handle(z);
    return err;
}

int16_t zk_topic_set_configs(zk_client *z, const char *name, int n, char *const *keys,
                             char *const *values, const char **msg)
{
    zhandle_t *zh = ready_handle(z);
    *msg = NULL;
    if (!zh) {
        *msg = "not connected to ZooKeeper";
        return KERR_REQUEST_TIMED_OUT;
    }
    int rc;
    cv_topic *t = load_topic(z, zh, name, &rc);
    if (!t) {
        release_handle(z);
        return zerr_to_kafka(rc);
    }
    for (int i = 0; i < t->nconfigs; i++) {
        free(t->config_keys[i]);
        free(t->config_values[i]);
    }
    int old = t->nconfigs;
    t->nconfigs = n;
    char **ok = t->config_keys, **ov = t->config_values;
    t->config_keys = (char **)keys;
    t->config_values = (char **)values;
    char *tj = cv_topic_json(t);
    t->config_keys = ok;
    t->config_values = ov;
    t->nconfigs = 0;
    (void)old;
    char path[ZK_PATH_MAX];
    snprintf(path, sizeof(path), ZK_TOPICS "/%s", name);
    rc = tj ? zoo_set(zh, path, tj, (int)strlen(tj), t->topic_version) : ZSYSTEMERROR;
    release_handle(z);
    free(tj);
    cv_topic_free(t);
    if (rc == ZBADVERSION) {
        *msg = "the topic changed concurrently; retry";
        return KERR_REQUEST_TIMED_OUT;
    }
    return zerr_to_kafka(rc);
}

static const char *text_path(zk_text which)
{
    return which == ZK_TEXT_QUOTAS ? ZK_QUOTAS : ZK_BROKER_DEFAULTS;
}

int16_t zk_text_get(zk_client *z, zk_text which, char **text, int32_t *version)
{
    zhandle_t *zh = ready_handle(z);
    *text = NULL;
    *version = -1;
    if (!zh)
        return KERR_REQUEST_TIMED_OUT;
    int len = ZK_BUF - 1;
    struct Stat st;
    char *buf = malloc(ZK_BUF);
    int rc = buf ? zoo_get(zh, text_path(which), 0, buf, &len, &st) : ZSYSTEMERROR;
    release_handle(z);
    if (rc == ZOK) {
        buf[len >= 0 ? len : 0] = '\0';
        *text = buf;
        *version = st.version;
        return KERR_NONE;
    }
    free(buf);
    return rc == ZNONODE ? KERR_NONE : zerr_to_kafka(rc);
}

int16_t zk_text_set(zk_client *z, zk_text which, const char *text, int32_t version)
{
    zhandle_t *zh = ready_handle(z);
    if (!zh)
        return KERR_REQUEST_TIMED_OUT;
    int rc;
    if (version < 0) {
        ensure_path(z, zh, ZK_CONFIG);
        rc = zoo_create(zh, text_path(which), text, (int)strlen(text), node_acl(z), 0, NULL,
                        0);
    } else {
        rc = zoo_set(zh, text_path(which), text, (int)strlen(text), version);
    }
    release_handle(z);
    if (rc == ZBADVERSION || rc == ZNODEEXISTS)
        return KERR_CONCURRENT_TRANSACTIONS; /* the caller reads again and retries */
    return zerr_to_kafka(rc);
}

int16_t zk_text_update(zk_client *z, zk_text which, zk_text_edit_fn edit, void *ctx,
                       bool *written)
{
    int16_t err = KERR_CONCURRENT_TRANSACTIONS;
    *written = false;
    for (int attempt = 0; attempt < 5 && err == KERR_CONCURRENT_TRANSACTIONS; attempt++) {
        char *text, *next = NULL;
        int32_t version;
        if ((err = zk_text_get(z, which, &text, &version)) != KERR_NONE)
            break;
        err = edit(ctx, text, &next);
        free(text);
        if (err != KERR_NONE || !next)
            break; /* refused, or nothing to write */
        err = zk_text_set(z, which, next, version);
        free(next);
        *written = err == KERR_NONE;
    }
    return err;
}

/* The number of partitions topic has in the newest published view (0: unknown). */
static int32_t known_partitions(zk_client *z, const char *topic)
{
    pthread_mutex_lock(&z->mu);
    const cv_topic *t = z->current ? cv_topic_find(z->current, topic, strlen(topic)) : NULL;
    int32_t n = t ? t->nparts : 0;
    pthread_mutex_unlock(&z->mu);
    return n;
}

/* Is broker id in controlled shutdown, as the newest published view says? */
static bool shutting_down(zk_client *z, int32_t id)
{
    pthread_mutex_lock(&z->mu);
    const cv_broker *b = z->current ? cv_broker_find(z->current, id) : NULL;
    bool sd = b && b->shutting_down;
    pthread_mutex_unlock(&z->mu);
    return sd;
}

/* One attempt: read the state, check the leadership, write it back version-checked. */
static int set_isr_once(zk_client *z, zhandle_t *zh, struct zk_isr_req *q, int32_t nparts)
{
    char path[ZK_PATH_MAX];
    snprintf(path, sizeof(path), ZK_TOPICS "/%s/state", q->topic);
    struct Stat st;
    int len = ZK_BUF;
    int rc = zoo_get(zh, path, 0, z->buf, &len, &st);
    if (rc != ZOK) {
        q->error = zerr_to_kafka(rc);
        return rc;
    }
    cv_topic *t = topic_alloc(q->topic, nparts, 1);
    for (int32_t i = 0; t && i < nparts; i++) {
        t->parts[i].leader = -1;
        t->parts[i].frozen_hw = -1;
    }
    if (!t || len <= 0 || cv_state_parse(z->buf, (size_t)len, t) != 0) {
        cv_topic_free(t);
        q->error = KERR_UNKNOWN_SERVER_ERROR;
        return ZSYSTEMERROR;
    }
    cv_part *p = &t->parts[q->partition];
    if (p->leader != z->cfg.node_id || p->leader_epoch != q->leader_epoch) {
        cv_topic_free(t);
        q->error = KERR_FENCED_LEADER_EPOCH; /* replaced: this node's view of it is stale */
        return ZOK;
    }
    for (int i = 0; i < q->isr.n; i++)
        if (!repl_set_has(&p->isr, q->isr.id[i]) && shutting_down(z, q->isr.id[i])) {
            cv_topic_free(t); /* a broker leaving cleanly never rejoins an ISR */
            q->error = KERR_INELIGIBLE_REPLICA;
            return ZOK;
        }
    /* The frozen high watermark: recorded by the leader when its ISR falls below min (or
     * when it finds it unrecorded below min), kept while the ISR stays below min, cleared
     * once it is back (cv_part). */
    p->frozen_hw = repl_frozen_hw_after(p->isr.n, q->isr.n, q->min_isr, p->frozen_hw,
                                        q->frozen_hw);
    p->isr = q->isr;
    if (q->isr.n >= q->min_isr)
        p->elr.n = 0;
    for (int i = 0; i < q->isr.n; i++)
        repl_set_remove(&p->elr, q->isr.id[i]);
    char *json = cv_state_json(t, t->state_controller_epoch);
    cv_topic_free(t);
    if (!json) {
        q->error = KERR_UNKNOWN_SERVER_ERROR;
        return ZSYSTEMERROR;
    }
    struct Stat wst;
    rc = zoo_set2(zh, path, json, (int)strlen(json), st.version, &wst);
    free(json);
    q->error = rc == ZOK ? KERR_NONE : zerr_to_kafka(rc);
    if (rc == ZOK)
        q->version = wst.version;
    return rc;
}

/* Session thread: makes the queued ISR changes and hands the answers to the loop. */
static void do_isr_changes(zk_client *z, zhandle_t *zh)
{
    pthread_mutex_lock(&z->mu);
    struct zk_isr_req *reqs = z->isr_reqs;
    size_t n = z->nisr_reqs;
    z->isr_reqs = NULL;
    z->nisr_reqs = 0;
    pthread_mutex_unlock(&z->mu);
    for (size_t i = 0; i < n; i++) {
        struct zk_isr_req *q = &reqs[i];
        int32_t nparts = known_partitions(z, q->topic);
        q->error = KERR_UNKNOWN_TOPIC_OR_PARTITION;
        q->version = -1;
        for (int attempt = 0; nparts > q->partition && attempt < 8; attempt++)
            if (set_isr_once(z, zh, q, nparts) != ZBADVERSION) /* else: another partition's */
                break;
        if (q->error == KERR_NONE)
            LOG_INFO("zk", "%s-%d: ISR now %d replica(s) (epoch %d)", q->topic, q->partition,
                     q->isr.n, q->leader_epoch);
    }
    if (n == 0)
        return;
    pthread_mutex_lock(&z->mu);
    struct zk_isr_req *d = realloc(z->isr_done, sizeof(*d) * (z->nisr_done + n));
    if (d) {
        memcpy(d + z->nisr_done, reqs, sizeof(*d) * n);
        z->isr_done = d;
        z->nisr_done += n;
    }
    pthread_mutex_unlock(&z->mu);
    free(reqs);
    uv_async_send(&z->async);
}

/* Loop thread: the answers of the session thread's ISR changes. */
static void deliver_isr(zk_client *z)
{
    pthread_mutex_lock(&z->mu);
    struct zk_isr_req *d = z->isr_done;
    size_t n = z->nisr_done;
    z->isr_done = NULL;
    z->nisr_done = 0;
    pthread_mutex_unlock(&z->mu);
    for (size_t i = 0; i < n && z->on_isr; i++)
        z->on_isr(z->ctx, d[i].topic, d[i].partition, d[i].leader_epoch, d[i].error,
                  d[i].version);
    free(d);
}

void zk_set_isr_callback(zk_client *z, zk_isr_fn on_isr) { z->on_isr = on_isr; }

bool zk_partition_set_isr(zk_client *z, const char *topic, int32_t partition,
                          int32_t leader_epoch, const repl_set *isr, int32_t min_isr,
                          int64_t frozen_hw)
{
    if (strlen(topic) >= sizeof(((struct zk_isr_req *)0)->topic))
        return false;
    pthread_mutex_lock(&z->mu);
    struct zk_isr_req *r = realloc(z->isr_reqs, sizeof(*r) * (z->nisr_reqs + 1));
    if (r) {
        z->isr_reqs = r;
        struct zk_isr_req *q = &r[z->nisr_reqs++];
        memset(q, 0, sizeof(*q));
        snprintf(q->topic, sizeof(q->topic), "%s", topic);
        q->partition = partition;
        q->leader_epoch = leader_epoch;
        q->min_isr = min_isr;
        q->isr = *isr;
        q->frozen_hw = frozen_hw;
        z->dirty = true;
        pthread_cond_broadcast(&z->cond);
    }
    pthread_mutex_unlock(&z->mu);
    return r != NULL;
}

/* ---- security state (loop thread) ---- */

int16_t zk_user_creds_get(zk_client *z, const char *user, char **text, int32_t *version)
{
    char path[ZK_NAME_MAX] = ZK_USERS "/";
    user_node_name(user, path + strlen(path), sizeof(path) - strlen(path));
    *text = NULL;
    *version = -1;
    zhandle_t *zh = ready_handle(z);
    if (!zh)
        return KERR_REQUEST_TIMED_OUT;
    int len = ZK_BUF - 1;
    struct Stat st;
    char *buf = malloc(ZK_BUF);
    int rc = buf ? zoo_get(zh, path, 0, buf, &len, &st) : ZSYSTEMERROR;
    release_handle(z);
    if (rc == ZOK) {
        buf[len >= 0 ? len : 0] = '\0';
        *text = buf;
        *version = st.version;
        return KERR_NONE;
    }
    free(buf);
    return rc == ZNONODE ? KERR_NONE : zerr_to_kafka(rc);
}

int16_t zk_user_creds_set(zk_client *z, const char *user, const char *text, int32_t version)
{
    char path[ZK_NAME_MAX] = ZK_USERS "/";
    user_node_name(user, path + strlen(path), sizeof(path) - strlen(path));
    zhandle_t *zh = ready_handle(z);
    if (!zh)
        return KERR_REQUEST_TIMED_OUT;
    int rc;
    if (version < 0) {
        ensure_path(z, zh, ZK_CONFIG);
        ensure_path(z, zh, ZK_USERS);
        rc = *text ? zoo_create(zh, path, text, (int)strlen(text), node_acl(z), 0, NULL, 0)
                   : ZOK;
    } else {
        rc = *text ? zoo_set(zh, path, text, (int)strlen(text), version)
                   : zoo_delete(zh, path, version);
    }
    release_handle(z);
    if (rc == ZBADVERSION || rc == ZNODEEXISTS || (rc == ZNONODE && version >= 0))
        return KERR_CONCURRENT_TRANSACTIONS; /* the caller reads again and retries */
    return zerr_to_kafka(rc);
}

int16_t zk_acl_put(zk_client *z, const char *line, bool add)
{
    char path[ZK_NAME_MAX] = ZK_ACLS "/";
    size_t pl = strlen(path);
    acl_node_name(line, path + pl, sizeof(path) - pl, true);
    zhandle_t *zh = ready_handle(z);
    if (!zh)
        return KERR_REQUEST_TIMED_OUT;
    int rc;
    if (add) {
        ensure_path(z, zh, ZK_ACLS);
        rc = zoo_create(zh, path, NULL, -1, node_acl(z), 0, NULL, 0);
    } else {
        rc = zoo_delete(zh, path, -1);
    }
    release_handle(z);
    if ((add && rc == ZNODEEXISTS) || (!add && rc == ZNONODE))
        rc = ZOK;
    return zerr_to_kafka(rc);
}
