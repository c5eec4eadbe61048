/* broker.c - wiring one node together and the order of a loop turn:
 *   1. poll: read requests; Produce appends into the page cache (log_append);
 *   2. prepare (end of turn): every log written this turn goes to the flush thread as
 *      one fdatasync job (group commit);
 *   3. the flush thread's completion (uv_async) moves durable offsets, then parked
 *      produces are answered and parked fetches re-evaluated.
 * An ack therefore always follows the fdatasync that covers its batch (sync mode). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/limits.h"
#include "base/log.h"
#include "broker/admin.h"
#include "broker/broker.h"
#include "storage/compact.h"

void broker_dispatch(void *ctx, net_request *nr);

void broker_on_progress(broker *b)
{
    replica_on_progress(b); /* high watermarks first: produces and fetches wait on them */
    produce_on_progress(b);
    inter_on_progress(b);
    if (b->txn_started)
        txn_service_progress(&b->txn, clock_wall_ms());
    if (b->group_started)
        group_service_progress(&b->grp, group_now_ms());
    fetch_on_progress(b);
}

void broker_forget_partition(broker *b, partition *p)
{
    b->route_gen++;
    replica_forget_partition(b, p);
    produce_forget_partition(b, p);
    fetch_forget_partition(b, p);
    inter_forget_partition(b, p);
    if (b->txn_started)
        txn_service_forget_partition(&b->txn, p);
    if (b->group_started)
        group_service_forget_partition(&b->grp, p);
}

static void on_group_tick(uv_timer_t *t)
{
    broker *b = t->data;
    group_service_tick(&b->grp, group_now_ms());
}

/* Creates an internal topic on first start. */
static int ensure_internal_topic(broker *b, const char *name, int32_t partitions)
{
    if (md_find(&b->md, kslice_cstr(name)))
        return 0;
    const char *msg;
    int16_t err = broker_topic_create(b, kslice_cstr(name), partitions, 0, NULL, NULL, false, &msg);
    if (err != 0) {
        LOG_ERROR("broker", "cannot create %s: %s", name, msg ? msg : "?");
        return -EIO;
    }
    return 0;
}

/* The group coordinator: its offsets topic, then replay. */
static int start_groups(broker *b)
{
    int rc = ensure_internal_topic(b, GROUP_LOG_TOPIC, b->cfg.offsets_partitions);
    if (rc != 0)
        return rc;
    group_config gc = {.min_session_timeout_ms = b->cfg.group_min_session_ms,
                       .max_session_timeout_ms = b->cfg.group_max_session_ms,
                       .initial_rebalance_delay_ms = b->cfg.group_initial_delay_ms,
                       .cg_session_timeout_ms = b->cfg.group_consumer_session_ms,
                       .cg_heartbeat_interval_ms = b->cfg.group_consumer_heartbeat_ms};
    rc = group_service_start(&b->grp, &gc, b->store, &b->md, group_on_action, b, b->clustered,
                             group_now_ms());
    if (rc != 0) {
        LOG_ERROR("broker", "group coordinator failed to start: %s", strerror(-rc));
        return rc;
    }
    b->group_started = true;
    b->txn.group_marker = group_txn_marker;
    b->txn.group_ctx = b;
    uv_timer_init(b->loop, &b->group_timer);
    b->group_timer.data = b;
    uv_timer_start(&b->group_timer, on_group_tick, 100, 100);
    return 0;
}

static void on_txn_tick(uv_timer_t *t)
{
    broker *b = t->data;
    txn_service_tick(&b->txn, clock_wall_ms());
}

/* The transaction coordinator: its log topic (created on first start), then replay. */
static int start_txn(broker *b)
{
    int erc = ensure_internal_topic(b, TXN_LOG_TOPIC, b->cfg.txn_log_partitions);
    if (erc != 0)
        return erc;
    txn_coord_config tc = {.max_timeout_ms = b->cfg.txn_max_timeout_ms, .coordinator_epoch = 0};
    int rc = txn_service_start(&b->txn, &tc, b->cfg.data_dir, b->store, &b->md, txn_reply, b,
                               clock_wall_ms());
    if (rc != 0) {
        LOG_ERROR("broker", "transaction coordinator failed to start: %s", strerror(-rc));
        return rc;
    }
    b->txn_started = true;
    uv_timer_init(b->loop, &b->txn_timer);
    b->txn_timer.data = b;
    uint64_t every = (uint64_t)b->cfg.txn_abort_interval_ms;
    uv_timer_start(&b->txn_timer, on_txn_tick, every, every);
    return 0;
}

static void on_durable(void *ctx) { broker_on_progress(ctx); }

/* Accounts the turn that ends now (from the previous prepare to this one, less the wait
 * in the poll): a long one held every client of this node for that long. */
static void loop_turn_account(broker *b)
{
    uint64_t now = uv_hrtime(), idle = uv_metrics_idle_time(b->loop);
    uint64_t wall = now - b->loop_stats.last_ns, idled = idle - b->loop_stats.idle_last_ns;
    bool first = b->loop_stats.last_ns == 0;
    b->loop_stats.last_ns = now;
    b->loop_stats.idle_last_ns = idle;
    if (first)
        return;
    uint64_t busy = wall > idled ? wall - idled : 0;
    b->loop_stats.turns++;
    b->loop_stats.busy_ns += busy;
    if (busy > b->loop_stats.max_busy_ns)
        b->loop_stats.max_busy_ns = busy;
    if (busy < (uint64_t)BROOK_LOOP_STALL_MS * 1000000)
        return;
    b->loop_stats.stalls++;
    if (busy >= (uint64_t)BROOK_LOOP_WARN_MS * 1000000 &&
        now - b->loop_stats.warned_ns >= (uint64_t)BROOK_LOOP_WARN_EVERY_MS * 1000000) {
        b->loop_stats.warned_ns = now;
        LOG_WARN("broker", "the event loop was busy for %llu ms in one turn: every client of "
                 "this node waited (%llu turns of %d ms or more since start)",
                 (unsigned long long)(busy / 1000000), (unsigned long long)b->loop_stats.stalls,
                 BROOK_LOOP_STALL_MS);
    }
}

static void on_prepare(uv_prepare_t *h)
{
    broker *b = h->data;
    loop_turn_account(b);
    /* Followers' parked fetches read to the log end: wake them for this turn's appends
     * now, so they copy while this node fsyncs (both fsyncs in parallel). Only after an
     * append: a parked fetch's check walks all its partitions. */
    uint64_t gen = store_append_gen(b->store);
    if (b->replicas && gen != b->prepare_append_gen) {
        b->prepare_append_gen = gen;
        fetch_on_progress(b);
    }
    store_before_poll(b->store);
}

/* Retention and time-based rolls, every log.retention.check.interval.ms. */
static void on_retention(uv_timer_t *t)
{
    broker *b = t->data;
    int64_t now = clock_wall_ms();
    for (topic *tp = b->md.topics; tp; tp = tp->hh.next)
        for (int32_t i = 0; i < tp->npartitions; i++) {
            plog *l = tp->parts[i]->log;
            if (log_maybe_roll_by_time(l, now) != LOG_OK)
                LOG_ERROR("broker", "%s: roll failed", l->name);
            if (log_apply_retention(l, now) < 0)
                LOG_ERROR("broker", "%s: retention failed", l->name);
        }
}

static compact_config cleaner_config(const broker *b)
{
    return (compact_config){.enable = b->cfg.log_cleaner_enable,
                            .dedupe_buffer_bytes = (uint64_t)b->cfg.log_cleaner_dedupe_buffer_size,
                            .backoff_ms = b->cfg.log_cleaner_backoff_ms};
}

/* The log cleaner (storage/compact.h): of the compacted partitions this node holds, the
 * one whose cleaning is most wanted (dirtiest, or overdue) goes to the worker pool; one
 * pass at a time. Followers clean their own copies, as Kafka's do. */
static void cleaner_pick(broker *b)
{
    if (!b->cleaner || b->stopping || compactor_busy(b->cleaner))
        return;
    compact_config cc = cleaner_config(b);
    compactor_configure(b->cleaner, &cc);
    if (!cc.enable)
        return;
    int64_t now = clock_wall_ms();
    partition *best = NULL;
    cmp_plan best_plan = {0};
    for (topic *t = b->md.topics; t; t = t->hh.next) {
        if (!t->parts || !t->logcfg.compact)
            continue;
        for (int32_t i = 0; i < t->npartitions; i++) {
            partition *p = t->parts[i];
            if (!p || !p->log || p->dropping || !cluster_is_replica(b, p))
                continue;
            cmp_plan plan;
            cmp_plan_log(p->log, store_high_watermark(b->store, p), now, &plan);
            if (plan.priority > best_plan.priority) {
                best = p;
                best_plan = plan;
            }
        }
    }
    if (!best)
        return;
    int rc = compactor_run(b->cleaner, best->log, &best_plan, now);
    if (rc != 0)
        LOG_WARN("broker", "%s: cannot start the log cleaner: %s", best->log->name,
                 strerror(-rc));
}

static void on_cleaner_tick(uv_timer_t *t)
{
    broker *b = t->data;
    int64_t every = b->cfg.log_cleaner_backoff_ms > 10 ? b->cfg.log_cleaner_backoff_ms : 10;
    uv_timer_set_repeat(t, (uint64_t)every); /* a dynamic change takes effect here */
    cleaner_pick(b);
}

static void on_cleaner_idle(void *ctx) { cleaner_pick(ctx); }

static void on_signal(uv_signal_t *s, int signum)
{
    broker *b = s->data;
    LOG_INFO("broker", "received %s; shutting down", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    broker_shutdown_begin(b);
}

/* Opens every topic's partitions from the registry. */
static int open_topics(broker *b)
{
    int64_t now = clock_wall_ms();
    for (topic *t = b->md.topics; t; t = t->hh.next) {
        broker_topic_resolve(b, t);
        t->parts = calloc((size_t)t->npartitions, sizeof(partition *));
        if (!t->parts)
            return -ENOMEM;
        for (int32_t i = 0; i < t->npartitions; i++) {
            int rc = store_partition_open(b->store, t->name, i, &t->logcfg, now, &t->parts[i]);
            if (rc == LOG_OK)
                rc = replica_opened(b, t->parts[i]);
            if (rc != LOG_OK) {
                LOG_ERROR("broker", "cannot open %s-%d: %s", t->name, i, log_result_name(rc));
                return -EIO;
            }
        }
    }
    return 0;
}

/* One server per listener (listeners.h); [0] is b->srv and b->port. A listener whose
 * advertised port is unset or 0 advertises the port it bound. */
static int start_listeners(broker *b)
{
    b->limits = (net_limits){.max_total = b->cfg.max_connections,
                             .max_per_ip = b->cfg.max_connections_per_ip,
                             .overrides = b->cfg.max_connections_per_ip_overrides};
    for (int i = 0; i < b->cfg.nlst; i++) {
        broker_listener *l = &b->cfg.lst[i];
        net_opts no = {
            .host = l->host,
            .port = l->port,
            .max_frame_bytes = b->cfg.socket_request_max_bytes,
            .dispatch = broker_dispatch,
            .ctx = b,
            .listener = i,
            .limits = &b->limits,
            .idle_ms = b->cfg.connections_max_idle_ms,
            .tls = b->cfg.lst_tls[i],
        };
        int rc = net_server_start(b->loop, &no, &b->srvs[i], &b->ports[i]);
        if (rc != 0) {
            LOG_ERROR("broker", "cannot listen on %s:%d (listener %s): %s", l->host, l->port,
                      l->name, uv_strerror(rc));
            return rc;
        }
        if (i > 0)
            LOG_INFO("broker", "listener %s (%s) on %s:%d", l->name,
                     broker_secproto_name(l->proto), l->host, b->ports[i]);
    }
    b->srv = b->srvs[0];
    b->port = b->ports[0];
    if (b->cfg.adv_port == 0 || !b->cfg.lst[0].adv_explicit)
        b->cfg.adv_port = b->port;
    return 0;
}

int broker_start(broker *b, int64_t started_us)
{
    b->started_us = started_us;
    b->loop = uv_default_loop();
    /* Before the loop runs: the time it waits in the poll, for the turn accounting. */
    if (uv_loop_configure(b->loop, UV_METRICS_IDLE_TIME) != 0)
        LOG_WARN("broker", "libuv cannot measure the loop's idle time: loop stall metrics "
                 "count every turn as busy");
    log_set_node(b->cfg.node_id);
    char derr[512];
    if (broker_dyn_start(b, derr, sizeof(derr)) != 0) {
        LOG_ERROR("broker", "dynamic broker configs: %s", derr);
        return -EINVAL;
    }
    broker_topic_defaults(&b->cfg, &b->tdefaults);
    store_opts so = {
        .data_dir = b->cfg.data_dir,
        .flush_sync = b->cfg.flush_sync,
        .flush_interval_ms = b->cfg.log_flush_interval_ms,
        .flush_interval_bytes = b->cfg.log_flush_interval_bytes,
        .cache_keep_bytes = b->cfg.log_cache_keep_bytes,
        .reserve_segments = b->cfg.log_segment_reserve,
        .readahead_touch = b->cfg.fetch_readahead_touch,
        .zero_ahead = b->cfg.log_segment_zero_ahead,
        .on_durable = on_durable,
        .ctx = b,
    };
    bool clean;
    int rc = store_open(&so, b->loop, &b->store, &clean);
    if (rc != 0)
        return rc;
    if (sec_creds_load(&b->creds, b->cfg.data_dir, derr, sizeof(derr)) != 0) {
        LOG_ERROR("broker", "SCRAM credentials: %s", derr);
        return -EINVAL;
    }
    if (sec_acls_load(&b->acls, b->cfg.data_dir, derr, sizeof(derr)) != 0) {
        LOG_ERROR("broker", "ACLs: %s", derr);
        return -EINVAL;
    }
    if (broker_quota_start(b, derr, sizeof(derr)) != 0) {
        LOG_ERROR("broker", "client quotas: %s", derr);
        return -EINVAL;
    }
    LOG_INFO("broker", "data directory %s (%s previous shutdown)", b->cfg.data_dir,
             clean ? "clean" : "unclean or first");
    char err[256];
    if ((rc = md_load(&b->md, b->cfg.data_dir, err, sizeof(err))) != 0) {
        LOG_ERROR("broker", "%s", err);
        return rc;
    }
    /* A single node's registry is where its topic ids live: a topic kept from before ids
     * gets one now, kept from then on. In a cluster the topic znode's id rules (cluster.c). */
    if (!b->cfg.zookeeper_connect || !*b->cfg.zookeeper_connect) {
        int n = md_assign_missing_ids(&b->md);
        if (n < 0 || (n > 0 && (rc = md_save(&b->md)) != 0)) {
            LOG_ERROR("broker", "cannot give topic ids to the %d topics without one", n);
            return n < 0 ? -EIO : rc;
        }
        if (n > 0)
            LOG_INFO("broker", "gave topic ids to %d topics that had none", n);
    }
    if ((rc = open_topics(b)) != 0)
        return rc;
    if ((rc = cluster_init(b)) != 0)
        return rc;
    if ((rc = start_txn(b)) != 0 || (rc = start_groups(b)) != 0)
        return rc;
    if ((rc = start_listeners(b)) != 0)
        return rc;
    b->fetch_sessions = fsess_cache_new(b->cfg.fetch_session_slots, BROOK_FETCH_SESSION_EVICT_MS);
    if (!b->fetch_sessions)
        return UV_ENOMEM;
    uv_prepare_init(b->loop, &b->prepare);
    b->prepare.data = b;
    uv_prepare_start(&b->prepare, on_prepare);
    uv_timer_init(b->loop, &b->retention_timer);
    b->retention_timer.data = b;
    uint64_t every = (uint64_t)b->cfg.log_retention_check_interval_ms;
    uv_timer_start(&b->retention_timer, on_retention, every, every);
    compact_config cc = cleaner_config(b);
    if ((rc = compactor_start(b->loop, &cc, on_cleaner_idle, b, &b->cleaner)) != 0)
        return rc;
    uv_timer_init(b->loop, &b->cleaner_timer);
    b->cleaner_timer.data = b;
    every = (uint64_t)(cc.backoff_ms > 10 ? cc.backoff_ms : 10);
    uv_timer_start(&b->cleaner_timer, on_cleaner_tick, every, every);
    uv_signal_init(b->loop, &b->sig_term);
    uv_signal_init(b->loop, &b->sig_int);
    b->sig_term.data = b->sig_int.data = b;
    uv_signal_start(&b->sig_term, on_signal, SIGTERM);
    uv_signal_start(&b->sig_int, on_signal, SIGINT);
    signal(SIGPIPE, SIG_IGN);
    if (b->clustered) {
        /* The ready line waits for the registration in ZooKeeper (cluster.c). */
        if ((rc = cluster_start(b)) != 0)
            return rc;
        return admin_start(b);
    }
    LOG_INFO("broker", "brookd ready listener=%s:%d node.id=%d topics=%zu flush=%s startup_ms=%.1f",
             b->cfg.host, b->port, b->cfg.node_id, md_count(&b->md), b->cfg.log_flush_mode,
             (double)(clock_mono_us() - started_us) / 1000.0);
    /* After the Kafka ready line: tools take the first "ready listener=" line as Kafka's. */
    return admin_start(b);
}

/* Clean shutdown: stop taking requests, answer what is parked, make every log durable,
 * write the clean-shutdown marker, and let the loop run out. */
void broker_stop(broker *b)
{
    if (b->stopping)
        return;
    b->stopping = true;
    admin_stop(b);
    for (int i = 0; i < b->cfg.nlst; i++)
        if (b->srvs[i])
            net_server_stop(b->srvs[i]);
    cluster_stop(b);
    fetch_drain(b);
    produce_drain(b);
    inter_drain(b);
    if (b->group_started) {
        uv_close((uv_handle_t *)&b->group_timer, NULL);
        b->txn.group_marker = NULL;
        group_service_stop(&b->grp);
        b->group_started = false;
    }
    if (b->txn_started) {
        uv_close((uv_handle_t *)&b->txn_timer, NULL);
        txn_service_stop(&b->txn);
        b->txn_started = false;
    }
    if (b->cleaner) {
        /* A pass in flight is cancelled; its completion runs before the loop ends, after
         * the logs are closed below, and only removes its temporaries. */
        uv_close((uv_handle_t *)&b->cleaner_timer, NULL);
        compactor_stop(b->cleaner);
        b->cleaner = NULL;
    }
    size_t n = 0, k = 0;
    for (topic *t = b->md.topics; t; t = t->hh.next)
        n += (size_t)t->npartitions;
    partition **all = calloc(n ? n : 1, sizeof(*all));
    for (topic *t = b->md.topics; t && all; t = t->hh.next)
        for (int32_t i = 0; i < t->npartitions; i++)
            all[k++] = t->parts[i];
    if (!all) {
        LOG_ERROR("broker", "out of memory at shutdown; the next start will recover");
        exit(1);
    }
    store_close(b->store, all, k);
    free(all);
    md_free(&b->md);
    dyn_free(&b->dyn);
    quota_free(&b->quotas);
    fsess_cache_free(b->fetch_sessions);
    b->fetch_sessions = NULL;
    free(b->dyn_defaults_text);
    b->dyn_defaults_text = NULL;
    uv_prepare_stop(&b->prepare);
    uv_close((uv_handle_t *)&b->prepare, NULL);
    uv_close((uv_handle_t *)&b->retention_timer, NULL);
    uv_close((uv_handle_t *)&b->sig_term, NULL);
    uv_close((uv_handle_t *)&b->sig_int, NULL);
    LOG_INFO("broker", "shutdown complete");
}
