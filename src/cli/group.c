/*
 * group.c - `brook group list|describe|delete|reset-offsets` over the Kafka Admin API; see
 * group.h.
 *
 * One producer-type handle serves every call (admin requests need no consumer). A first
 * metadata round trip checks that the broker answers, so an unreachable address is one
 * clear error instead of a timeout per call; librdkafka's own logging is turned down and
 * its last error (error_cb) is quoted instead. Member assignments come decoded from
 * librdkafka (ConsumerProtocolAssignment: version, [topic [partition]], user data). For a
 * group librdkafka 2.0 will not describe (protocol type other than "consumer", or an
 * assignment it cannot parse, which fails its whole answer), the raw DescribeGroups answer
 * (rd_kafka_list_groups) is used instead and consumer assignments are decoded here.
 * The lag of a partition is its high watermark (what a read_uncommitted consumer can reach,
 * as Kafka's tools report it) minus the committed offset, never below 0.
 * reset-offsets refuses a group with members (as Kafka's tool does: their commits would undo
 * the reset), plans new offsets clamped to each partition's watermarks, and commits them
 * only with --execute (AlterConsumerGroupOffsets, which the broker also refuses for a
 * non-member of an active group).
 */
#include "cli/group.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/client.h"
#include "cli/kafka.h"
#include "cli/table.h"

/* Widest a table column grows before its values overflow it (they are never cut). */
#define GRP_COL_MAX 48

typedef struct grp_args {
    const char *bootstrap;
    int64_t timeout_ms;
    bool json;
} grp_args;

/* ---------------- the group model ---------------- */

/* One assigned partition; the topic is owned. */
typedef struct grp_tp {
    char *topic;
    int32_t partition;
} grp_tp;

typedef struct grp_member {
    char *member_id, *instance_id, *client_id, *host; /* owned; NULL when unknown */
    grp_tp *parts; /* the assignment, when decoded */
    int nparts;
    bool decoded; /* false: the assignment bytes are not a consumer assignment */
    int raw_len;  /* their size, when not decoded */
} grp_member;

/* A described group, from the Admin API (DescribeConsumerGroups) or, when librdkafka cannot
 * give it there, from the raw DescribeGroups answer (rd_kafka_list_groups). Strings owned. */
typedef struct grp_info {
    char *group, *state;
    char *protocol_type; /* "consumer", "connect", ...; "" for a simple group */
    char *assignor;      /* the protocol chosen; NULL when none */
    int coord_id;        /* -1 when unknown */
    char *coord_host;
    int coord_port;
    grp_member *members;
    int nmembers;
    bool not_found; /* the broker does not know it (Dead) */
    char *error;    /* it could not be described: why */
} grp_info;

static char *dup_str(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void info_free(grp_info *g)
{
    for (int m = 0; g->members && m < g->nmembers; m++) {
        grp_member *mb = &g->members[m];
        for (int i = 0; i < mb->nparts; i++)
            free(mb->parts[i].topic);
        free(mb->parts);
        free(mb->member_id);
        free(mb->instance_id);
        free(mb->client_id);
        free(mb->host);
    }
    free(g->members);
    free(g->group);
    free(g->state);
    free(g->protocol_type);
    free(g->assignor);
    free(g->coord_host);
    free(g->error);
    memset(g, 0, sizeof(*g));
}

static void infos_free(grp_info *gs, size_t n)
{
    for (size_t i = 0; gs && i < n; i++)
        info_free(&gs[i]);
    free(gs);
}

static bool info_simple(const grp_info *g)
{
    return g->protocol_type && g->protocol_type[0] == '\0';
}

/* ---------------- ConsumerProtocolAssignment ---------------- */

typedef struct grp_reader {
    const uint8_t *p;
    size_t n, o;
    bool bad;
} grp_reader;

static bool rd_has(grp_reader *r, size_t k)
{
    if (r->bad || r->n - r->o < k)
        r->bad = true;
    return !r->bad;
}

static int16_t rd_i16(grp_reader *r)
{
    if (!rd_has(r, 2))
        return -1;
    uint16_t v = (uint16_t)((unsigned)r->p[r->o] << 8 | r->p[r->o + 1]);
    r->o += 2;
    return (int16_t)v;
}

static int32_t rd_i32(grp_reader *r)
{
    if (!rd_has(r, 4))
        return -1;
    uint32_t v = (uint32_t)r->p[r->o] << 24 | (uint32_t)r->p[r->o + 1] << 16 |
                 (uint32_t)r->p[r->o + 2] << 8 | r->p[r->o + 3];
    r->o += 4;
    return (int32_t)v;
}

/* Decodes a ConsumerProtocolAssignment: version int16, [topic string, [partition int32]],
 * user data bytes (nullable). Fields after the user data (a newer version) are ignored, as
 * Kafka does; no bytes at all is an empty assignment (none given yet). Returns 0 with *out
 * (owned, *nout entries), or -1 when the bytes are not such an assignment or out of
 * memory. */
static int decode_assignment(const uint8_t *p, size_t n, grp_tp **out, int *nout)
{
    *out = NULL;
    *nout = 0;
    if (n == 0)
        return 0;
    grp_reader r = {p, n, 0, false};
    int16_t version = rd_i16(&r);
    int32_t ntopics = rd_i32(&r);
    if (r.bad || version < 0 || ntopics < 0 || (size_t)ntopics > n / 6)
        return -1;
    /* Validate and count first, then copy. */
    grp_reader c = r;
    size_t total = 0;
    for (int32_t t = 0; t < ntopics; t++) {
        int16_t tl = rd_i16(&c);
        if (tl < 0 || !rd_has(&c, (size_t)tl))
            return -1;
        c.o += (size_t)tl;
        int32_t np = rd_i32(&c);
        if (c.bad || np < 0 || !rd_has(&c, (size_t)np * 4))
            return -1;
        c.o += (size_t)np * 4;
        total += (size_t)np;
    }
    if (c.o < c.n) {
        int32_t ul = rd_i32(&c);
        if (c.bad || ul < -1 || (ul > 0 && !rd_has(&c, (size_t)ul)))
            return -1;
    }
    grp_tp *tps = calloc(total ? total : 1, sizeof(*tps));
    if (!tps)
        return -1;
    int k = 0;
    for (int32_t t = 0; t < ntopics; t++) {
        size_t tl = (size_t)rd_i16(&r);
        const char *name = (const char *)r.p + r.o;
        r.o += tl;
        int32_t np = rd_i32(&r);
        for (int32_t i = 0; i < np; i++) {
            tps[k].topic = strndup(name, tl);
            tps[k].partition = rd_i32(&r);
            if (!tps[k].topic) {
                for (int j = 0; j < k; j++)
                    free(tps[j].topic);
                free(tps);
                return -1;
            }
            k++;
        }
    }
    *out = tps;
    *nout = k;
    return 0;
}

/* ---------------- describing ---------------- */

static const rd_kafka_ConsumerGroupDescription_t *
find_desc(const rd_kafka_ConsumerGroupDescription_t **descs, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(rd_kafka_ConsumerGroupDescription_group_id(descs[i]), id) == 0)
            return descs[i];
    return NULL;
}

static void info_from_desc(grp_info *g, const rd_kafka_ConsumerGroupDescription_t *d)
{
    bool simple = rd_kafka_ConsumerGroupDescription_is_simple_consumer_group(d);
    const char *assignor = rd_kafka_ConsumerGroupDescription_partition_assignor(d);
    const rd_kafka_Node_t *node = rd_kafka_ConsumerGroupDescription_coordinator(d);
    g->state = dup_str(rd_kafka_consumer_group_state_name(
        rd_kafka_ConsumerGroupDescription_state(d)));
    /* librdkafka describes only groups of protocol type "consumer" (or none: simple). */
    g->protocol_type = dup_str(simple ? "" : "consumer");
    g->assignor = assignor && *assignor ? dup_str(assignor) : NULL;
    g->coord_id = node ? rd_kafka_Node_id(node) : -1;
    g->coord_host = node ? dup_str(rd_kafka_Node_host(node)) : NULL;
    g->coord_port = node ? rd_kafka_Node_port(node) : 0;
    size_t nm = rd_kafka_ConsumerGroupDescription_member_count(d);
    g->members = calloc(nm ? nm : 1, sizeof(*g->members));
    if (!g->members)
        return;
    for (size_t m = 0; m < nm; m++) {
        const rd_kafka_MemberDescription_t *md = rd_kafka_ConsumerGroupDescription_member(d, m);
        const rd_kafka_topic_partition_list_t *l =
            rd_kafka_MemberAssignment_partitions(rd_kafka_MemberDescription_assignment(md));
        grp_member *mb = &g->members[g->nmembers++];
        mb->member_id = dup_str(rd_kafka_MemberDescription_consumer_id(md));
        mb->instance_id = dup_str(rd_kafka_MemberDescription_group_instance_id(md));
        mb->client_id = dup_str(rd_kafka_MemberDescription_client_id(md));
        mb->host = dup_str(rd_kafka_MemberDescription_host(md));
        mb->decoded = true;
        int cnt = l ? l->cnt : 0;
        mb->parts = calloc(cnt ? (size_t)cnt : 1, sizeof(*mb->parts));
        for (int i = 0; mb->parts && i < cnt; i++) {
            mb->parts[mb->nparts].topic = dup_str(l->elems[i].topic);
            mb->parts[mb->nparts].partition = l->elems[i].partition;
            if (mb->parts[mb->nparts].topic)
                mb->nparts++;
        }
    }
}

static void info_from_raw(grp_info *g, const struct rd_kafka_group_info *gi)
{
    if (gi->err == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND ||
        (gi->err == RD_KAFKA_RESP_ERR_NO_ERROR && gi->state && strcmp(gi->state, "Dead") == 0)) {
        g->not_found = true;
        return;
    }
    if (gi->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        g->error = dup_str(rd_kafka_err2str(gi->err));
        return;
    }
    g->state = dup_str(gi->state ? gi->state : "Unknown");
    g->protocol_type = dup_str(gi->protocol_type ? gi->protocol_type : "");
    g->assignor = gi->protocol && *gi->protocol ? dup_str(gi->protocol) : NULL;
    g->coord_id = gi->broker.id;
    g->coord_host = dup_str(gi->broker.host);
    g->coord_port = gi->broker.port;
    bool consumer = strcmp(g->protocol_type, "consumer") == 0;
    g->members = calloc(gi->member_cnt > 0 ? (size_t)gi->member_cnt : 1, sizeof(*g->members));
    for (int m = 0; g->members && m < gi->member_cnt; m++) {
        const struct rd_kafka_group_member_info *mi = &gi->members[m];
        grp_member *mb = &g->members[g->nmembers++];
        mb->member_id = dup_str(mi->member_id);
        mb->client_id = dup_str(mi->client_id);
        mb->host = dup_str(mi->client_host);
        size_t len = mi->member_assignment_size > 0 ? (size_t)mi->member_assignment_size : 0;
        mb->decoded = consumer && decode_assignment(mi->member_assignment, len, &mb->parts,
                                                    &mb->nparts) == 0;
        mb->raw_len = (int)len;
    }
}

/* Describes one group with the raw DescribeGroups answer; why: what the Admin API said. */
static void describe_raw(cli_client *cl, grp_info *g, const char *why)
{
    const struct rd_kafka_group_list *gl = NULL;
    rd_kafka_resp_err_t e = rd_kafka_list_groups(cl->rk, g->group, &gl, (int)cl->timeout_ms);
    const struct rd_kafka_group_info *gi = NULL;
    for (int i = 0; e == RD_KAFKA_RESP_ERR_NO_ERROR && gl && i < gl->group_cnt; i++)
        if (strcmp(gl->groups[i].group, g->group) == 0)
            gi = &gl->groups[i];
    if (gi) {
        info_from_raw(g, gi);
    } else {
        char msg[2048];
        snprintf(msg, sizeof(msg), "%s; DescribeGroups: %s", why,
                 e != RD_KAFKA_RESP_ERR_NO_ERROR ? rd_kafka_err2str(e) : "not in the answer");
        g->error = dup_str(msg);
    }
    if (gl)
        rd_kafka_group_list_destroy(gl);
}

/* Describes groups ids[0..n): the result has n entries in the same order (free with
 * infos_free), or is NULL after printing why. */
static grp_info *describe_infos(cli_client *cl, const char **ids, size_t n)
{
    grp_info *out = calloc(n ? n : 1, sizeof(*out));
    rd_kafka_AdminOptions_t *o =
        out ? cli_client_admin_options(cl, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS) : NULL;
    if (!o) {
        if (!out)
            fprintf(stderr, "%s: out of memory\n", cl->cmd);
        free(out);
        return NULL;
    }
    rd_kafka_DescribeConsumerGroups(cl->rk, ids, n, o, cl->q);
    rd_kafka_AdminOptions_destroy(o);
    char err[1536] = "";
    rd_kafka_event_t *ev = cli_client_admin_wait(cl, "DescribeConsumerGroups", err, sizeof(err));
    const rd_kafka_DescribeConsumerGroups_result_t *res =
        ev ? rd_kafka_event_DescribeConsumerGroups_result(ev) : NULL;
    size_t ndescs = 0;
    const rd_kafka_ConsumerGroupDescription_t **descs =
        res ? rd_kafka_DescribeConsumerGroups_result_groups(res, &ndescs) : NULL;
    for (size_t i = 0; i < n; i++) {
        grp_info *g = &out[i];
        g->coord_id = -1;
        g->group = dup_str(ids[i]);
        if (!g->group)
            continue; /* out of memory: no state, shown as unknown */
        const rd_kafka_ConsumerGroupDescription_t *d = find_desc(descs, ndescs, ids[i]);
        const rd_kafka_error_t *derr = d ? rd_kafka_ConsumerGroupDescription_error(d) : NULL;
        if (d && !derr) {
            info_from_desc(g, d);
            if (rd_kafka_ConsumerGroupDescription_state(d) == RD_KAFKA_CONSUMER_GROUP_STATE_DEAD)
                g->not_found = true;
        } else if (derr && rd_kafka_error_code(derr) == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) {
            g->not_found = true;
        } else {
            /* librdkafka gives up on groups whose protocol type is not "consumer" (Kafka
             * Connect's, say), and on an assignment it cannot parse (which fails the whole
             * answer): ask again for the raw DescribeGroups answer and decode it here. */
            describe_raw(cl, g, derr ? rd_kafka_error_string(derr)
                                     : ev ? "not in the DescribeConsumerGroups answer" : err);
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    return out;
}

/* ---------------- formatting ---------------- */

static const char *or_dash(const char *s)
{
    return s && *s ? s : "-";
}

static void fmt_i64(int64_t v, char *out, size_t cap)
{
    if (v < 0)
        snprintf(out, cap, "-");
    else
        snprintf(out, cap, "%" PRId64, v);
}

static int col_width(int cur, const char *s)
{
    int n = (int)strlen(s);
    if (n > GRP_COL_MAX)
        n = GRP_COL_MAX;
    return n > cur ? n : cur;
}

/* A member's assignment for the table: "t-0,t-1,u-3", "-" when empty, or what the bytes
 * are when they are not a consumer assignment. NULL when out of memory. */
static char *fmt_assignment(const grp_info *g, const grp_member *mb)
{
    if (!mb->decoded) {
        char buf[160];
        if (g->protocol_type && strcmp(g->protocol_type, "consumer") == 0)
            snprintf(buf, sizeof(buf), "(%d bytes, not a consumer assignment)", mb->raw_len);
        else
            snprintf(buf, sizeof(buf), "(%d bytes of protocol type %s)", mb->raw_len,
                     or_dash(g->protocol_type));
        return strdup(buf);
    }
    size_t cap = 2;
    for (int i = 0; i < mb->nparts; i++)
        cap += strlen(mb->parts[i].topic) + 14;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < mb->nparts; i++) {
        int n = snprintf(out + used, cap - used, "%s%s-%d", i ? "," : "", mb->parts[i].topic,
                         (int)mb->parts[i].partition);
        if (n < 0 || (size_t)n >= cap - used)
            break;
        used += (size_t)n;
    }
    if (used == 0)
        snprintf(out, cap, "-");
    return out;
}

static bool add_i64_or_null(cJSON *o, const char *k, int64_t v)
{
    return v < 0 ? cJSON_AddNullToObject(o, k) != NULL
                 : cJSON_AddNumberToObject(o, k, (double)v) != NULL;
}

static bool add_str_or_null(cJSON *o, const char *k, const char *v)
{
    return v ? cJSON_AddStringToObject(o, k, v) != NULL : cJSON_AddNullToObject(o, k) != NULL;
}

/* Prints j unformatted with a newline and frees it. Returns 0, or 1 when out of memory. */
static int print_json(const char *cmd, cJSON *j)
{
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!text) {
        fprintf(stderr, "%s: out of memory\n", cmd);
        return 1;
    }
    fputs(text, stdout);
    fputc('\n', stdout);
    free(text);
    return 0;
}

/* ---------------- list ---------------- */

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmd_list(cli_client *cl)
{
    rd_kafka_AdminOptions_t *o = cli_client_admin_options(cl, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS);
    if (!o)
        return 1;
    rd_kafka_ListConsumerGroups(cl->rk, o, cl->q);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_event_t *ev = cli_client_admin_wait(cl, "ListConsumerGroups", NULL, 0);
    if (!ev)
        return 1;
    int rc = 1;
    const char **ids = NULL;
    grp_info *infos = NULL;
    cJSON *arr = NULL;
    const rd_kafka_ListConsumerGroups_result_t *res = rd_kafka_event_ListConsumerGroups_result(ev);
    size_t nvalid = 0, nerrs = 0;
    const rd_kafka_ConsumerGroupListing_t **valid =
        res ? rd_kafka_ListConsumerGroups_result_valid(res, &nvalid) : NULL;
    const rd_kafka_error_t **errs = res ? rd_kafka_ListConsumerGroups_result_errors(res, &nerrs)
                                        : NULL;
    for (size_t i = 0; i < nerrs; i++)
        fprintf(stderr, "%s: a broker could not list its groups: %s\n", cl->cmd,
                rd_kafka_error_string(errs[i]));
    if (!res || (nerrs > 0 && nvalid == 0))
        goto out;
    ids = calloc(nvalid ? nvalid : 1, sizeof(*ids));
    if (!ids) {
        fprintf(stderr, "%s: out of memory\n", cl->cmd);
        goto out;
    }
    for (size_t i = 0; i < nvalid; i++)
        ids[i] = rd_kafka_ConsumerGroupListing_group_id(valid[i]);
    qsort(ids, nvalid, sizeof(*ids), cmp_str_ptr);
    /* The listing has names only (ListGroups before v4 has no state): describe them all for
     * state, members and assignor. */
    if (nvalid > 0 && !(infos = describe_infos(cl, ids, nvalid)))
        goto out;
    if (cl->json && !(arr = cJSON_CreateArray())) {
        fprintf(stderr, "%s: out of memory\n", cl->cmd);
        goto out;
    }
    int gw = (int)strlen("GROUP"), shown = 0;
    for (size_t i = 0; i < nvalid; i++)
        gw = col_width(gw, ids[i]);
    bool ok = true;
    for (size_t i = 0; i < nvalid && ok; i++) {
        const grp_info *g = &infos[i];
        if (g->not_found) /* deleted since the listing */
            continue;
        if (g->error)
            fprintf(stderr, "%s: describing %s: %s\n", cl->cmd, ids[i], g->error);
        bool known = !g->error && g->state;
        const char *ptype = known ? g->protocol_type : NULL;
        int64_t members = known ? g->nmembers : -1;
        if (arr) {
            cJSON *j = cJSON_CreateObject();
            ok = j && cJSON_AddItemToArray(arr, j) && cJSON_AddStringToObject(j, "group", ids[i]) &&
                 add_str_or_null(j, "state", known ? g->state : NULL) &&
                 add_str_or_null(j, "protocol_type", ptype) &&
                 cJSON_AddBoolToObject(j, "simple", known && info_simple(g)) &&
                 add_i64_or_null(j, "members", members) &&
                 add_str_or_null(j, "assignor", known ? g->assignor : NULL);
            if (!j)
                ok = false;
        } else {
            if (shown++ == 0)
                printf("%-*s  %-19s  %-7s  %-8s  %s\n", gw, "GROUP", "STATE", "MEMBERS", "TYPE",
                       "ASSIGNOR");
            char nm[24];
            fmt_i64(members, nm, sizeof(nm));
            printf("%-*s  %-19s  %-7s  %-8s  %s\n", gw, ids[i], known ? g->state : "-", nm,
                   !known ? "-" : info_simple(g) ? "simple" : ptype, or_dash(g->assignor));
        }
    }
    if (arr) {
        if (!ok) {
            fprintf(stderr, "%s: out of memory\n", cl->cmd);
            goto out;
        }
        rc = print_json(cl->cmd, arr);
        arr = NULL;
    } else {
        if (shown == 0)
            printf("no groups\n");
        rc = 0;
    }
out:
    cJSON_Delete(arr);
    infos_free(infos, nvalid);
    free(ids);
    rd_kafka_event_destroy(ev);
    return rc;
}

/* ---------------- describe ---------------- */

/* One row of `describe`'s offsets table: a partition committed or assigned (or both). */
typedef struct grp_row {
    const char *topic; /* borrowed */
    int32_t partition;
    int64_t committed; /* -1: none */
    int64_t log_end;   /* -1: unknown */
    int member;        /* index into the group's members, -1: unassigned */
} grp_row;

static int cmp_row(const void *a, const void *b)
{
    const grp_row *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c != 0 ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

static grp_row *find_row(grp_row *rows, size_t n, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < n; i++)
        if (rows[i].partition == partition && strcmp(rows[i].topic, topic) == 0)
            return &rows[i];
    return NULL;
}

/* Committed offsets of the group (every partition it has one for). On success *out is the
 * event (destroy it) and *parts the list inside it (NULL when none). */
static int fetch_offsets(cli_client *cl, const char *id, rd_kafka_event_t **out,
                         const rd_kafka_topic_partition_list_t **parts)
{
    rd_kafka_ListConsumerGroupOffsets_t *req = rd_kafka_ListConsumerGroupOffsets_new(id, NULL);
    rd_kafka_AdminOptions_t *o =
        cli_client_admin_options(cl, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS);
    if (!req || !o) {
        if (req)
            rd_kafka_ListConsumerGroupOffsets_destroy(req);
        if (o)
            rd_kafka_AdminOptions_destroy(o);
        return 1;
    }
    rd_kafka_ListConsumerGroupOffsets(cl->rk, &req, 1, o, cl->q);
    rd_kafka_ListConsumerGroupOffsets_destroy(req);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_event_t *ev = cli_client_admin_wait(cl, "ListConsumerGroupOffsets", NULL, 0);
    if (!ev)
        return 1;
    const rd_kafka_ListConsumerGroupOffsets_result_t *res =
        rd_kafka_event_ListConsumerGroupOffsets_result(ev);
    size_t n = 0;
    const rd_kafka_group_result_t **gr =
        res ? rd_kafka_ListConsumerGroupOffsets_result_groups(res, &n) : NULL;
    if (!gr || n != 1) {
        fprintf(stderr, "%s: unexpected answer to ListConsumerGroupOffsets\n", cl->cmd);
        rd_kafka_event_destroy(ev);
        return 1;
    }
    const rd_kafka_error_t *e = rd_kafka_group_result_error(gr[0]);
    if (e) {
        fprintf(stderr, "%s: committed offsets of %s: %s\n", cl->cmd, id,
                rd_kafka_error_string(e));
        rd_kafka_event_destroy(ev);
        return 1;
    }
    *parts = rd_kafka_group_result_partitions(gr[0]);
    *out = ev;
    return 0;
}

/* The rows of the offsets table: committed partitions and assigned ones, sorted. Returns
 * NULL (with *n = 0) when there is none or out of memory (*oom set). */
static grp_row *build_rows(const grp_info *g, const rd_kafka_topic_partition_list_t *committed,
                           size_t *n, bool *oom)
{
    size_t cap = committed ? (size_t)committed->cnt : 0;
    for (int m = 0; m < g->nmembers; m++)
        cap += (size_t)g->members[m].nparts;
    *n = 0;
    *oom = false;
    if (cap == 0)
        return NULL;
    grp_row *rows = calloc(cap, sizeof(*rows));
    if (!rows) {
        *oom = true;
        return NULL;
    }
    for (int i = 0; committed && i < committed->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &committed->elems[i];
        if (p->err != RD_KAFKA_RESP_ERR_NO_ERROR || p->offset < 0)
            continue;
        rows[(*n)++] = (grp_row){p->topic, p->partition, p->offset, -1, -1};
    }
    for (int m = 0; m < g->nmembers; m++) {
        const grp_member *mb = &g->members[m];
        for (int i = 0; i < mb->nparts; i++) {
            grp_row *r = find_row(rows, *n, mb->parts[i].topic, mb->parts[i].partition);
            if (!r) {
                r = &rows[(*n)++];
                *r = (grp_row){mb->parts[i].topic, mb->parts[i].partition, -1, -1, -1};
            }
            r->member = m;
        }
    }
    qsort(rows, *n, sizeof(*rows), cmp_row);
    return rows;
}

/* Fills log_end of every row from the partition's high watermark (-1 when unavailable,
 * with a warning: the topic may have been deleted). */
static void fill_log_ends(cli_client *cl, grp_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int64_t lo = -1, hi = -1;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
            cl->rk, rows[i].topic, rows[i].partition, &lo, &hi, (int)cl->timeout_ms);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, "%s: log end offset of %s-%d: %s\n", cl->cmd, rows[i].topic,
                    (int)rows[i].partition, rd_kafka_err2str(e));
            continue;
        }
        rows[i].log_end = hi;
    }
}

static int64_t row_lag(const grp_row *r)
{
    if (r->committed < 0 || r->log_end < 0)
        return -1;
    return r->log_end > r->committed ? r->log_end - r->committed : 0;
}

static bool member_json(cJSON *members, const grp_member *mb)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(members, o)) {
        cJSON_Delete(o);
        return false;
    }
    bool ok = add_str_or_null(o, "member_id", mb->member_id) &&
              add_str_or_null(o, "instance_id", mb->instance_id) &&
              add_str_or_null(o, "client_id", mb->client_id) &&
              add_str_or_null(o, "host", mb->host);
    if (ok && !mb->decoded)
        return cJSON_AddNullToObject(o, "assignment") &&
               cJSON_AddNumberToObject(o, "assignment_bytes", mb->raw_len);
    cJSON *as = ok ? cJSON_AddArrayToObject(o, "assignment") : NULL;
    for (int i = 0; as && i < mb->nparts; i++) {
        cJSON *p = cJSON_CreateObject();
        if (!p || !cJSON_AddItemToArray(as, p)) {
            cJSON_Delete(p);
            return false;
        }
        if (!cJSON_AddStringToObject(p, "topic", mb->parts[i].topic) ||
            !cJSON_AddNumberToObject(p, "partition", mb->parts[i].partition))
            return false;
    }
    return as != NULL;
}

static cJSON *describe_json(const grp_info *g, const grp_row *rows, size_t nrows)
{
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return NULL;
    bool ok = cJSON_AddStringToObject(j, "group", g->group) &&
              add_str_or_null(j, "state", g->state) &&
              add_str_or_null(j, "protocol_type", g->protocol_type) &&
              cJSON_AddBoolToObject(j, "simple", info_simple(g)) &&
              add_str_or_null(j, "assignor", g->assignor);
    if (ok && g->coord_id >= 0) {
        cJSON *c = cJSON_AddObjectToObject(j, "coordinator");
        ok = c && cJSON_AddNumberToObject(c, "id", g->coord_id) &&
             add_str_or_null(c, "host", g->coord_host) &&
             cJSON_AddNumberToObject(c, "port", g->coord_port);
    } else if (ok) {
        ok = cJSON_AddNullToObject(j, "coordinator") != NULL;
    }
    cJSON *members = ok ? cJSON_AddArrayToObject(j, "members") : NULL;
    for (int m = 0; members && ok && m < g->nmembers; m++)
        ok = member_json(members, &g->members[m]);
    cJSON *offs = ok && members ? cJSON_AddArrayToObject(j, "offsets") : NULL;
    for (size_t i = 0; offs && ok && i < nrows; i++) {
        const grp_row *r = &rows[i];
        const grp_member *mb = r->member >= 0 ? &g->members[r->member] : NULL;
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(offs, o);
        if (!ok) {
            cJSON_Delete(o);
            break;
        }
        ok = cJSON_AddStringToObject(o, "topic", r->topic) &&
             cJSON_AddNumberToObject(o, "partition", r->partition) &&
             add_i64_or_null(o, "committed", r->committed) &&
             add_i64_or_null(o, "log_end_offset", r->log_end) &&
             add_i64_or_null(o, "lag", row_lag(r)) &&
             add_str_or_null(o, "member_id", mb ? mb->member_id : NULL) &&
             add_str_or_null(o, "client_id", mb ? mb->client_id : NULL);
    }
    if (!ok || !offs) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

static int describe_text(const grp_info *g, const grp_row *rows, size_t nrows)
{
    printf("Group:        %s\n", g->group);
    printf("State:        %s\n", or_dash(g->state));
    printf("Type:         %s\n", info_simple(g) ? "simple (offsets only, no members)"
                                                : or_dash(g->protocol_type));
    printf("Assignor:     %s\n", or_dash(g->assignor));
    if (g->coord_id >= 0)
        printf("Coordinator:  %d (%s:%d)\n", g->coord_id, or_dash(g->coord_host), g->coord_port);
    printf("Members:      %d\n", g->nmembers);
    int nm = g->nmembers;
    char **assigned = calloc(nm ? (size_t)nm : 1, sizeof(*assigned));
    if (!assigned) {
        fprintf(stderr, "brook group describe: out of memory\n");
        return 1;
    }
    int mw = (int)strlen("MEMBER ID"), cw = (int)strlen("CLIENT ID"), hw = (int)strlen("HOST");
    for (int m = 0; m < nm; m++) {
        const grp_member *mb = &g->members[m];
        mw = col_width(mw, or_dash(mb->member_id));
        cw = col_width(cw, or_dash(mb->client_id));
        hw = col_width(hw, or_dash(mb->host));
        assigned[m] = fmt_assignment(g, mb);
    }
    if (nm > 0)
        printf("\n%-*s  %-*s  %-*s  %s\n", mw, "MEMBER ID", cw, "CLIENT ID", hw, "HOST",
               "ASSIGNMENT");
    for (int m = 0; m < nm; m++) {
        const grp_member *mb = &g->members[m];
        printf("%-*s  %-*s  %-*s  %s\n", mw, or_dash(mb->member_id), cw, or_dash(mb->client_id),
               hw, or_dash(mb->host), or_dash(assigned[m]));
        free(assigned[m]);
    }
    free(assigned);
    if (nrows == 0) {
        printf("\nno committed offsets and no assigned partitions\n");
        return 0;
    }
    int tw = (int)strlen("TOPIC");
    for (size_t i = 0; i < nrows; i++)
        tw = col_width(tw, rows[i].topic);
    printf("\n%-*s  %9s  %12s  %12s  %10s  %s\n", tw, "TOPIC", "PARTITION", "COMMITTED",
           "LOG END", "LAG", "CLIENT ID");
    for (size_t i = 0; i < nrows; i++) {
        const grp_row *r = &rows[i];
        char c[24], e[24], l[24];
        fmt_i64(r->committed, c, sizeof(c));
        fmt_i64(r->log_end, e, sizeof(e));
        fmt_i64(row_lag(r), l, sizeof(l));
        const char *client = r->member >= 0 ? or_dash(g->members[r->member].client_id) : "-";
        printf("%-*s  %9d  %12s  %12s  %10s  %s\n", tw, r->topic, (int)r->partition, c, e, l,
               client);
    }
    return 0;
}

static int cmd_describe(cli_client *cl, const char *id)
{
    rd_kafka_event_t *oev = NULL;
    size_t nrows = 0;
    grp_row *rows = NULL;
    int rc = 1;
    grp_info *g = describe_infos(cl, &id, 1);
    if (!g)
        return 1;
    if (g->not_found) {
        fprintf(stderr, "%s: no such group '%s'\n", cl->cmd, id);
        goto out;
    }
    if (g->error || !g->state) {
        fprintf(stderr, "%s: cannot describe '%s': %s\n", cl->cmd, id,
                g->error ? g->error : "out of memory");
        goto out;
    }
    const rd_kafka_topic_partition_list_t *committed = NULL;
    if (fetch_offsets(cl, id, &oev, &committed) != 0)
        goto out;
    bool oom = false;
    rows = build_rows(g, committed, &nrows, &oom);
    if (oom) {
        fprintf(stderr, "%s: out of memory\n", cl->cmd);
        goto out;
    }
    fill_log_ends(cl, rows, nrows);
    if (cl->json) {
        cJSON *j = describe_json(g, rows, nrows);
        if (!j)
            fprintf(stderr, "%s: out of memory\n", cl->cmd);
        rc = j ? print_json(cl->cmd, j) : 1;
    } else {
        rc = describe_text(g, rows, nrows);
    }
out:
    free(rows);
    if (oev)
        rd_kafka_event_destroy(oev);
    infos_free(g, 1);
    return rc;
}

/* ---------------- delete ---------------- */

static int cmd_delete(cli_client *cl, const char *id)
{
    rd_kafka_DeleteGroup_t *del = rd_kafka_DeleteGroup_new(id);
    rd_kafka_AdminOptions_t *o = cli_client_admin_options(cl, RD_KAFKA_ADMIN_OP_DELETEGROUPS);
    if (!del || !o) {
        if (del)
            rd_kafka_DeleteGroup_destroy(del);
        if (o)
            rd_kafka_AdminOptions_destroy(o);
        return 1;
    }
    rd_kafka_DeleteGroups(cl->rk, &del, 1, o, cl->q);
    rd_kafka_DeleteGroup_destroy(del);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_event_t *ev = cli_client_admin_wait(cl, "DeleteGroups", NULL, 0);
    if (!ev)
        return 1;
    int rc = 1;
    const rd_kafka_DeleteGroups_result_t *res = rd_kafka_event_DeleteGroups_result(ev);
    size_t n = 0;
    const rd_kafka_group_result_t **gr = res ? rd_kafka_DeleteGroups_result_groups(res, &n) : NULL;
    if (!gr || n != 1) {
        fprintf(stderr, "%s: unexpected answer to DeleteGroups\n", cl->cmd);
        goto out;
    }
    const rd_kafka_error_t *e = rd_kafka_group_result_error(gr[0]);
    rd_kafka_resp_err_t code = e ? rd_kafka_error_code(e) : RD_KAFKA_RESP_ERR_NO_ERROR;
    if (code == RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP) {
        fprintf(stderr, "%s: cannot delete '%s': the group still has active members "
                "(NON_EMPTY_GROUP); stop its consumers first\n", cl->cmd, id);
    } else if (code == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) {
        fprintf(stderr, "%s: no such group '%s' (GROUP_ID_NOT_FOUND)\n", cl->cmd, id);
    } else if (e) {
        fprintf(stderr, "%s: cannot delete '%s': %s (%s)\n", cl->cmd, id,
                rd_kafka_error_string(e), rd_kafka_error_name(e));
    } else if (cl->json) {
        cJSON *j = cJSON_CreateObject();
        if (j && (!cJSON_AddStringToObject(j, "group", id) ||
                  !cJSON_AddBoolToObject(j, "deleted", true))) {
            cJSON_Delete(j);
            j = NULL;
        }
        rc = print_json(cl->cmd, j);
    } else {
        printf("deleted group %s (its committed offsets are gone too)\n", id);
        rc = 0;
    }
out:
    rd_kafka_event_destroy(ev);
    return rc;
}

/* ---------------- reset-offsets ---------------- */

typedef struct rst_args {
    struct cli_list topics; /* T or T:P,P */
    bool all_topics, to_earliest, to_latest, dry_run, execute;
    bool to_offset_seen, shift_seen;
    int64_t to_offset, shift_by;
    const char *to_datetime;
} rst_args;

/* One partition of the plan. The topic is owned. */
typedef struct rst_row {
    char *topic;
    int32_t partition;
    int64_t current; /* committed, -1: none */
    int64_t target;  /* the new offset */
} rst_row;

typedef struct rst_plan {
    rst_row *rows;
    size_t n, cap;
} rst_plan;

static void plan_free(rst_plan *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->rows[i].topic);
    free(p->rows);
    memset(p, 0, sizeof(*p));
}

/* Appends topic/partition with no target yet. Returns 0, or 1 after printing. */
static int plan_add(rst_plan *p, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->rows[i].partition == partition && strcmp(p->rows[i].topic, topic) == 0)
            return 0;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        rst_row *rows = realloc(p->rows, cap * sizeof(*rows));
        if (!rows)
            goto oom;
        p->rows = rows;
        p->cap = cap;
    }
    char *t = strdup(topic);
    if (!t)
        goto oom;
    p->rows[p->n++] = (rst_row){t, partition, -1, -1};
    return 0;
oom:
    fprintf(stderr, "brook group reset-offsets: out of memory\n");
    return 1;
}

/* Adds the partitions one --topic names: "T" (all of T's) or "T:P,P". Returns 0, 1 after
 * printing a failure (no such topic or partition) or 2 after printing a usage error. */
static int plan_add_spec(cli_client *cl, rst_plan *p, const char *spec)
{
    const char *colon = strchr(spec, ':');
    char topic[256];
    size_t tl = colon ? (size_t)(colon - spec) : strlen(spec);
    if (tl == 0 || tl >= sizeof(topic) || (colon && colon[1] == '\0')) {
        fprintf(stderr, "%s: --topic '%s': expected TOPIC or TOPIC:P,P\n", cl->cmd, spec);
        return 2;
    }
    memcpy(topic, spec, tl);
    topic[tl] = '\0';
    int nparts = cli_kafka_topic_partitions(cl->rk, topic);
    if (nparts < 0)
        return 1;
    if (nparts == 0) {
        fprintf(stderr, "%s: topic %s does not exist (UNKNOWN_TOPIC_OR_PART)\n", cl->cmd, topic);
        return 1;
    }
    for (int i = 0; !colon && i < nparts; i++)
        if (plan_add(p, topic, i) != 0)
            return 1;
    for (const char *s = colon ? colon + 1 : NULL; s && *s;) {
        char num[16];
        size_t len = strcspn(s, ",");
        int64_t part = -1;
        if (len == 0 || len >= sizeof(num)) {
            fprintf(stderr, "%s: --topic '%s': bad partition list\n", cl->cmd, spec);
            return 2;
        }
        memcpy(num, s, len);
        num[len] = '\0';
        if (cli_parse_i64(num, 0, INT32_MAX, &part) != 0) {
            fprintf(stderr, "%s: --topic '%s': '%s' is not a partition\n", cl->cmd, spec, num);
            return 2;
        }
        if (part >= nparts) {
            fprintf(stderr, "%s: topic %s has %d partitions; there is no partition %" PRId64
                    " (UNKNOWN_TOPIC_OR_PART)\n", cl->cmd, topic, nparts, part);
            return 1;
        }
        if (plan_add(p, topic, (int32_t)part) != 0)
            return 1;
        s += len;
        if (*s == ',')
            s++;
    }
    return 0;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Resolves --to-datetime for every row by ListOffsets by time; a partition with no record at
 * or after the time goes to its end (hi of the row's watermarks in his[]). Returns 0 or 1. */
static int plan_by_time(cli_client *cl, rst_plan *p, int64_t ts_ms, const int64_t *his)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)p->n);
    for (size_t i = 0; i < p->n; i++)
        rd_kafka_topic_partition_list_add(l, p->rows[i].topic, p->rows[i].partition)->offset =
            ts_ms;
    rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(cl->rk, l, (int)cl->timeout_ms);
    int rc = 0;
    for (size_t i = 0; e == RD_KAFKA_RESP_ERR_NO_ERROR && i < p->n && rc == 0; i++) {
        const rd_kafka_topic_partition_t *tp =
            rd_kafka_topic_partition_list_find(l, p->rows[i].topic, p->rows[i].partition);
        if (!tp || tp->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, "%s: offset by time of %s-%d: %s\n", cl->cmd, p->rows[i].topic,
                    (int)p->rows[i].partition, tp ? rd_kafka_err2name(tp->err) : "no answer");
            rc = 1;
        } else {
            p->rows[i].target = tp->offset >= 0 ? tp->offset : his[i];
        }
    }
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        char why[768];
        cli_client_explain(cl, e, why, sizeof(why));
        fprintf(stderr, "%s: offsets by time: %s\n", cl->cmd, why);
        rc = 1;
    }
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

/* Sets every row's target from the chosen --to-* / --shift-by, clamped to the partition's
 * [low, high] watermarks. Returns 0 or 1 after printing. */
static int plan_targets(cli_client *cl, rst_plan *p, const rst_args *ra)
{
    int64_t *his = calloc(p->n ? p->n : 1, sizeof(*his));
    if (!his) {
        fprintf(stderr, "%s: out of memory\n", cl->cmd);
        return 1;
    }
    int rc = 0;
    for (size_t i = 0; i < p->n && rc == 0; i++) {
        rst_row *r = &p->rows[i];
        int64_t lo = -1, hi = -1;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(cl->rk, r->topic, r->partition,
                                                                 &lo, &hi, (int)cl->timeout_ms);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            char why[768];
            cli_client_explain(cl, e, why, sizeof(why));
            fprintf(stderr, "%s: watermarks of %s-%d: %s\n", cl->cmd, r->topic,
                    (int)r->partition, why);
            rc = 1;
            break;
        }
        his[i] = hi;
        if (ra->to_earliest) {
            r->target = lo;
        } else if (ra->to_latest) {
            r->target = hi;
        } else if (ra->to_offset_seen) {
            r->target = clamp64(ra->to_offset, lo, hi);
        } else if (ra->shift_seen) {
            if (r->current < 0) {
                fprintf(stderr, "%s: cannot shift %s-%d: the group has no committed offset "
                        "there\n", cl->cmd, r->topic, (int)r->partition);
                rc = 1;
            }
            r->target = clamp64(r->current + ra->shift_by, lo, hi);
        }
    }
    int64_t ts = 0;
    if (rc == 0 && ra->to_datetime && cli_parse_time_ms(ra->to_datetime, &ts) == 0)
        rc = plan_by_time(cl, p, ts, his);
    free(his);
    return rc;
}

/* Refuses a group with members: Kafka resets offsets of an Empty (or unknown) group only.
 * Returns 0 when the group may be reset, or 1 after printing. */
static int check_inactive(cli_client *cl, const char *id)
{
    grp_info *g = describe_infos(cl, &id, 1);
    if (!g)
        return 1;
    int rc = 0;
    if (g->not_found) {
        rc = 0;
    } else if (g->error || !g->state) {
        fprintf(stderr, "%s: cannot describe '%s': %s\n", cl->cmd, id,
                g->error ? g->error : "out of memory");
        rc = 1;
    } else if (g->nmembers > 0 || (strcmp(g->state, "Empty") != 0 &&
                                   strcmp(g->state, "Dead") != 0)) {
        fprintf(stderr, "%s: group %s is active (state %s, %d members): stop its consumers "
                "first\n", cl->cmd, id, g->state, g->nmembers);
        rc = 1;
    }
    infos_free(g, 1);
    return rc;
}

/* Builds the plan's rows and their committed offsets. Returns 0, 1 or 2 after printing. */
static int plan_build(cli_client *cl, const char *id, const rst_args *ra, rst_plan *p)
{
    rd_kafka_event_t *oev = NULL;
    const rd_kafka_topic_partition_list_t *committed = NULL;
    if (fetch_offsets(cl, id, &oev, &committed) != 0)
        return 1;
    int rc = 0;
    for (int i = 0; ra->all_topics && committed && i < committed->cnt && rc == 0; i++)
        if (committed->elems[i].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
            committed->elems[i].offset >= 0)
            rc = plan_add(p, committed->elems[i].topic, committed->elems[i].partition);
    for (int i = 0; i < ra->topics.n && rc == 0; i++)
        rc = plan_add_spec(cl, p, ra->topics.items[i]);
    if (rc == 0 && p->n == 0) {
        fprintf(stderr, "%s: group %s has no committed offsets; name topics with --topic\n",
                cl->cmd, id);
        rc = 1;
    }
    for (size_t i = 0; rc == 0 && i < p->n; i++) {
        const rd_kafka_topic_partition_t *c =
            committed ? rd_kafka_topic_partition_list_find(
                            (rd_kafka_topic_partition_list_t *)committed, p->rows[i].topic,
                            p->rows[i].partition)
                      : NULL;
        p->rows[i].current = c && c->err == RD_KAFKA_RESP_ERR_NO_ERROR ? c->offset : -1;
    }
    rd_kafka_event_destroy(oev);
    return rc;
}

/* Commits the plan with AlterConsumerGroupOffsets. Returns 0 or 1 after printing. */
static int plan_execute(cli_client *cl, const char *id, const rst_plan *p)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)p->n);
    for (size_t i = 0; i < p->n; i++)
        rd_kafka_topic_partition_list_add(l, p->rows[i].topic, p->rows[i].partition)->offset =
            p->rows[i].target;
    rd_kafka_AlterConsumerGroupOffsets_t *req = rd_kafka_AlterConsumerGroupOffsets_new(id, l);
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_AdminOptions_t *o =
        cli_client_admin_options(cl, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS);
    if (!req || !o) {
        if (req)
            rd_kafka_AlterConsumerGroupOffsets_destroy(req);
        if (o)
            rd_kafka_AdminOptions_destroy(o);
        return 1;
    }
    rd_kafka_AlterConsumerGroupOffsets(cl->rk, &req, 1, o, cl->q);
    rd_kafka_AlterConsumerGroupOffsets_destroy(req);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_event_t *ev = cli_client_admin_wait(cl, "AlterConsumerGroupOffsets", NULL, 0);
    if (!ev)
        return 1;
    int rc = 1;
    const rd_kafka_AlterConsumerGroupOffsets_result_t *res =
        rd_kafka_event_AlterConsumerGroupOffsets_result(ev);
    size_t n = 0;
    const rd_kafka_group_result_t **gr =
        res ? rd_kafka_AlterConsumerGroupOffsets_result_groups(res, &n) : NULL;
    const rd_kafka_error_t *e = gr && n == 1 ? rd_kafka_group_result_error(gr[0]) : NULL;
    const rd_kafka_topic_partition_list_t *parts =
        gr && n == 1 ? rd_kafka_group_result_partitions(gr[0]) : NULL;
    if (!gr || n != 1) {
        fprintf(stderr, "%s: unexpected answer to AlterConsumerGroupOffsets\n", cl->cmd);
    } else if (e) {
        fprintf(stderr, "%s: committing offsets of %s: %s (%s)\n", cl->cmd, id,
                rd_kafka_error_name(e), rd_kafka_error_string(e));
    } else {
        rc = 0;
        for (int i = 0; parts && i < parts->cnt; i++) {
            const rd_kafka_topic_partition_t *tp = &parts->elems[i];
            if (tp->err == RD_KAFKA_RESP_ERR_NO_ERROR)
                continue;
            bool active = tp->err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID ||
                          tp->err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
                          tp->err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS;
            fprintf(stderr, "%s: committing %s-%d: %s (%s)%s\n", cl->cmd, tp->topic,
                    (int)tp->partition, rd_kafka_err2name(tp->err), rd_kafka_err2str(tp->err),
                    active ? ": the group is active; stop its consumers first" : "");
            rc = 1;
        }
    }
    rd_kafka_event_destroy(ev);
    return rc;
}

static int plan_print(cli_client *cl, const char *id, const rst_plan *p, bool executed)
{
    if (cl->json) {
        cJSON *j = cJSON_CreateObject();
        bool ok = j && cJSON_AddStringToObject(j, "group", id) &&
                  cJSON_AddBoolToObject(j, "executed", executed);
        cJSON *arr = ok ? cJSON_AddArrayToObject(j, "offsets") : NULL;
        ok = ok && arr;
        for (size_t i = 0; ok && i < p->n; i++) {
            cJSON *o = cJSON_CreateObject();
            ok = o && cJSON_AddItemToArray(arr, o);
            if (!ok) {
                cJSON_Delete(o);
                break;
            }
            ok = cJSON_AddStringToObject(o, "topic", p->rows[i].topic) &&
                 cJSON_AddNumberToObject(o, "partition", p->rows[i].partition) &&
                 add_i64_or_null(o, "current", p->rows[i].current) &&
                 cJSON_AddNumberToObject(o, "new", (double)p->rows[i].target);
        }
        if (!ok) {
            cJSON_Delete(j);
            j = NULL;
        }
        return print_json(cl->cmd, j);
    }
    static const char *const heads[] = {"TOPIC", ">PARTITION", ">CURRENT", ">NEW"};
    cli_table *t = cli_table_new(4, heads);
    for (size_t i = 0; t && i < p->n; i++) {
        char part[16], cur[24], tgt[24];
        snprintf(part, sizeof(part), "%d", (int)p->rows[i].partition);
        fmt_i64(p->rows[i].current, cur, sizeof(cur));
        fmt_i64(p->rows[i].target, tgt, sizeof(tgt));
        const char *cells[] = {p->rows[i].topic, part, cur, tgt};
        cli_table_push(&t, cells);
    }
    return cli_table_done(t, cl->cmd);
}

static int cmp_plan_row(const void *a, const void *b)
{
    const rst_row *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c != 0 ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

/* `reset-offsets`: plan, then commit with --execute. Returns the exit code. */
static int cmd_reset(cli_client *cl, const char *id, const rst_args *ra)
{
    rst_plan p = {0};
    int rc = check_inactive(cl, id);
    if (rc == 0)
        rc = plan_build(cl, id, ra, &p);
    if (rc == 0)
        rc = plan_targets(cl, &p, ra);
    if (rc == 0)
        qsort(p.rows, p.n, sizeof(*p.rows), cmp_plan_row);
    if (rc == 0 && ra->execute)
        rc = plan_execute(cl, id, &p);
    if (rc == 0)
        rc = plan_print(cl, id, &p, ra->execute);
    if (rc == 0 && !ra->execute)
        fprintf(stderr, "%s: %s: nothing changed; add --execute to commit these offsets\n",
                cl->cmd, ra->dry_run ? "dry run" : "no --execute");
    plan_free(&p);
    return rc;
}

/* Checks that exactly one target and at most one of --dry-run/--execute are given, and one
 * of --topic/--all-topics. Returns 0 or 2 after printing. */
static int check_reset_args(const char *cmd, const rst_args *ra)
{
    int targets = ra->to_earliest + ra->to_latest + ra->to_offset_seen + ra->shift_seen +
                  (ra->to_datetime != NULL);
    int64_t ts;
    const char *why = NULL;
    if (targets != 1)
        why = "give exactly one of --to-earliest, --to-latest, --to-offset N, --to-datetime "
              "TIME, --shift-by N";
    else if (ra->dry_run && ra->execute)
        why = "--dry-run and --execute exclude each other";
    else if ((ra->topics.n > 0) == ra->all_topics)
        why = "give --topic T[:P,P] (repeatable) or --all-topics";
    else if (ra->to_datetime && cli_parse_time_ms(ra->to_datetime, &ts) != 0)
        why = "--to-datetime takes ISO-8601 (2026-01-31T12:00:00Z) or ms since the epoch";
    if (why)
        fprintf(stderr, "%s: %s\n", cmd, why);
    return why ? 2 : 0;
}

/* ---------------- arguments ---------------- */

void cli_group_usage(FILE *out)
{
    fprintf(out,
            "brook group list [flags]            every consumer group: state, members\n"
            "brook group describe GROUP [flags]  members, assignments, committed offsets, lag\n"
            "brook group delete GROUP [flags]    delete an empty group and its offsets\n"
            "brook group reset-offsets GROUP (--topic T[:P,P]... | --all-topics) TARGET\n"
            "        [--dry-run | --execute] [flags]\n"
            "                                    move an inactive group's committed offsets;\n"
            "                                    shows the plan, commits only with --execute\n"
            "    TARGET: --to-earliest | --to-latest | --to-offset N | --to-datetime TIME |\n"
            "            --shift-by N   (clamped to each partition's [low, high] watermarks;\n"
            "            TIME is ISO-8601, 2026-01-31T12:00:00Z, or ms since the epoch)\n"
            "  flags:\n"
            "    --bootstrap HOST:PORT      a broker's Kafka listener (default 127.0.0.1:9092)\n"
            "    --timeout-ms N             give up on each request after N ms "
            "(default 10000)\n"
            "    --json                     print JSON instead of a table\n");
}

int cli_group_main(int argc, char **argv)
{
    if (argc < 1) {
        fprintf(stderr, "brook group: missing subcommand (list, describe, delete or "
                "reset-offsets)\n\n");
        cli_group_usage(stderr);
        return 2;
    }
    const char *sub = argv[0];
    bool reset = strcmp(sub, "reset-offsets") == 0;
    bool wants_id = strcmp(sub, "describe") == 0 || strcmp(sub, "delete") == 0 || reset;
    if (!wants_id && strcmp(sub, "list") != 0) {
        if (strcmp(sub, "help") != 0 && strcmp(sub, "--help") != 0 && strcmp(sub, "-h") != 0) {
            fprintf(stderr, "brook group: unknown subcommand '%s'\n\n", sub);
            cli_group_usage(stderr);
            return 2;
        }
        cli_group_usage(stdout);
        return 0;
    }
    grp_args a = {.bootstrap = NULL, .timeout_ms = CLI_TIMEOUT_DEFAULT_MS, .json = false};
    rst_args ra;
    memset(&ra, 0, sizeof(ra));
    const struct cli_opt opts[] = {
        {"bootstrap", CLI_OPT_STR, &a.bootstrap, 0, 0, NULL, NULL, "broker HOST:PORT"},
        {"timeout-ms", CLI_OPT_I64, &a.timeout_ms, 1, 3600000, NULL, NULL, "request timeout"},
        {"json", CLI_OPT_BOOL, &a.json, 0, 0, NULL, NULL, "print JSON"},
        /* reset-offsets only */
        {"topic", CLI_OPT_LIST, &ra.topics, 0, 0, NULL, NULL, "T or T:P,P"},
        {"all-topics", CLI_OPT_BOOL, &ra.all_topics, 0, 0, NULL, NULL, "every committed"},
        {"to-earliest", CLI_OPT_BOOL, &ra.to_earliest, 0, 0, NULL, NULL, "low watermark"},
        {"to-latest", CLI_OPT_BOOL, &ra.to_latest, 0, 0, NULL, NULL, "high watermark"},
        {"to-offset", CLI_OPT_I64, &ra.to_offset, 0, INT64_MAX, NULL, &ra.to_offset_seen, "N"},
        {"to-datetime", CLI_OPT_STR, &ra.to_datetime, 0, 0, NULL, NULL, "TIME"},
        {"shift-by", CLI_OPT_I64, &ra.shift_by, INT64_MIN / 2, INT64_MAX / 2, NULL,
         &ra.shift_seen, "N"},
        {"dry-run", CLI_OPT_BOOL, &ra.dry_run, 0, 0, NULL, NULL, "plan only"},
        {"execute", CLI_OPT_BOOL, &ra.execute, 0, 0, NULL, NULL, "commit the plan"},
    };
    size_t n_opts = reset ? sizeof(opts) / sizeof(opts[0]) : 3;
    int npos = 0;
    const char *id = NULL;
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "brook group %s", sub);
    /* The id is the one positional argument (after "--" it may start with dashes). */
    int prc = cli_args_parse_pos(cmd, argc - 1, argv + 1, opts, n_opts, &id, &npos);
    if (prc == 1) {
        cli_group_usage(stdout);
        return 0;
    }
    if (prc != 0)
        return 2;
    if (wants_id && npos != 1) {
        fprintf(stderr, "%s: expected one group id, got %d\n", cmd, npos);
        return 2;
    }
    if (!wants_id && npos != 0) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", cmd, id);
        return 2;
    }
    if (wants_id && id[0] == '\0') {
        fprintf(stderr, "%s: the group id is empty\n", cmd);
        return 2;
    }
    if (reset && check_reset_args(cmd, &ra) != 0)
        return 2;
    cli_client cl;
    int rc = cli_client_open(&cl, cmd, cli_bootstrap(a.bootstrap), a.timeout_ms,
                             RD_KAFKA_PRODUCER, NULL);
    cl.json = a.json;
    if (rc == 0) {
        if (strcmp(sub, "list") == 0)
            rc = cmd_list(&cl);
        else if (strcmp(sub, "describe") == 0)
            rc = cmd_describe(&cl, id);
        else if (reset)
            rc = cmd_reset(&cl, id, &ra);
        else
            rc = cmd_delete(&cl, id);
    }
    cli_client_close(&cl);
    return rc;
}
