/*
 * stream/pg.c - the PostgreSQL participant (libpq): upsert, PREPARE, COMMIT PREPARED.
 */
#include "stream/pg.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"

#define PG_MAX_COLUMNS 64
#define PG_STMT "brook_upsert"

struct pg_sink {
    PGconn *conn;
    char *conninfo;
    char *pipeline;
    int32_t task;
    char *sql;                        /* the upsert statement, prepared on each connection */
    char *columns[PG_MAX_COLUMNS];    /* output field names = column names */
    int ncolumns;
    bool open;                        /* BEGIN sent, not yet prepared or rolled back */
    bool rows;                        /* rows written in the open interval */
    int inflight;                     /* statements sent in pipeline mode, results unread */
};

/* An interval's statements go out in libpq's pipeline mode (no round trip per row); their
 * results are read every PG_PIPELINE_DRAIN statements (so neither side's buffers fill up)
 * and before the interval prepares or commits, where a refused row fails the interval. */
#define PG_PIPELINE_DRAIN 256

void pg_gid(char *out, size_t cap, const char *pipeline, int32_t task, int64_t seq,
            int64_t gen)
{
    snprintf(out, cap, "brook_%.120s_%" PRId32 "_%" PRId64 "_%" PRId64, pipeline, task, seq,
             gen);
}

/* Copies libpq's message (trimmed of its newline) after `what` into err. */
static void pg_error(char *err, size_t errlen, const char *what, const char *msg)
{
    size_t n = msg ? strlen(msg) : 0;
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    snprintf(err, errlen, "PostgreSQL: %s: %.*s", what, (int)n, msg ? msg : "");
}

/* Runs a statement without parameters that returns no rows (or any: ignored). */
static int pg_exec(pg_sink *s, const char *sql, const char *what, char *err, size_t errlen)
{
    PGresult *r = PQexec(s->conn, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        pg_error(err, errlen, what, PQerrorMessage(s->conn));
        rc = -1;
    }
    PQclear(r);
    return rc;
}

/* Splits a comma-separated list of names (blanks trimmed) into out[]. -1 when empty or
 * too long. The strings are malloc'd. */
static int split_names(const char *list, char **out, int max)
{
    int n = 0;
    const char *p = list;
    while (p && *p) {
        const char *c = strchr(p, ',');
        const char *e = c ? c : p + strlen(p);
        while (p < e && *p == ' ')
            p++;
        const char *q = e;
        while (q > p && q[-1] == ' ')
            q--;
        if (q == p || n == max)
            return -1;
        out[n++] = strndup(p, (size_t)(q - p));
        p = c ? c + 1 : NULL;
    }
    return n > 0 ? n : -1;
}

static void free_names(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
}

static bool in_names(char **v, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(v[i], name) == 0)
            return true;
    return false;
}

/* Appends a quoted identifier to a growing string; -1 when libpq refuses it. */
static int append_ident(PGconn *c, char **buf, size_t *len, const char *name)
{
    char *q = PQescapeIdentifier(c, name, strlen(name));
    if (!q)
        return -1;
    size_t n = strlen(q);
    char *nb = realloc(*buf, *len + n + 1);
    if (!nb) {
        PQfreemem(q);
        return -1;
    }
    memcpy(nb + *len, q, n + 1);
    *buf = nb;
    *len += n;
    PQfreemem(q);
    return 0;
}

static int append_text(char **buf, size_t *len, const char *text)
{
    size_t n = strlen(text);
    char *nb = realloc(*buf, *len + n + 1);
    if (!nb)
        return -1;
    memcpy(nb + *len, text, n + 1);
    *buf = nb;
    *len += n;
    return 0;
}

/* INSERT INTO t (c...) VALUES ($1...) [ON CONFLICT (k...) DO UPDATE SET c = EXCLUDED.c]. */
static char *build_sql(PGconn *c, const char *table, char **cols, int ncols, char **keys,
                       int nkeys)
{
    char *b = NULL;
    size_t n = 0;
    int bad = append_text(&b, &n, "INSERT INTO ") | append_ident(c, &b, &n, table) |
              append_text(&b, &n, " (");
    for (int i = 0; i < ncols; i++)
        bad |= append_text(&b, &n, i ? ", " : "") | append_ident(c, &b, &n, cols[i]);
    bad |= append_text(&b, &n, ") VALUES (");
    for (int i = 0; i < ncols; i++) {
        char ph[16];
        snprintf(ph, sizeof ph, "%s$%d", i ? ", " : "", i + 1);
        bad |= append_text(&b, &n, ph);
    }
    bad |= append_text(&b, &n, ")");
    if (nkeys > 0) {
        bad |= append_text(&b, &n, " ON CONFLICT (");
        for (int i = 0; i < nkeys; i++)
            bad |= append_text(&b, &n, i ? ", " : "") | append_ident(c, &b, &n, keys[i]);
        int updates = 0;
        for (int i = 0; i < ncols; i++) {
            if (in_names(keys, nkeys, cols[i]))
                continue;
            bad |= append_text(&b, &n, updates++ ? ", " : ") DO UPDATE SET ") |
                   append_ident(c, &b, &n, cols[i]) | append_text(&b, &n, " = EXCLUDED.") |
                   append_ident(c, &b, &n, cols[i]);
        }
        if (updates == 0)
            bad |= append_text(&b, &n, ") DO NOTHING");
    }
    if (bad) {
        free(b);
        return NULL;
    }
    return b;
}

/* Connects (again) and prepares the upsert; the session's lock_timeout keeps a row locked
 * by someone else's prepared transaction from stalling the task for ever (the interval
 * fails, aborts, and recovery resolves what is in doubt). */
static int pg_connect(pg_sink *s, char *err, size_t errlen)
{
    if (s->conn)
        PQfinish(s->conn);
    s->open = s->rows = false;
    s->inflight = 0;
    s->conn = PQconnectdb(s->conninfo);
    if (PQstatus(s->conn) != CONNECTION_OK) {
        pg_error(err, errlen, "cannot connect", PQerrorMessage(s->conn));
        return -1;
    }
    if (pg_exec(s, "SET lock_timeout = '10s'", "SET lock_timeout", err, errlen) != 0)
        return -1;
    PGresult *r = PQprepare(s->conn, PG_STMT, s->sql, s->ncolumns, NULL);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        pg_error(err, errlen, "the sink statement is refused", PQerrorMessage(s->conn));
        rc = -1;
    }
    PQclear(r);
    return rc;
}

/* PREPARE TRANSACTION fails only at the end of an interval when max_prepared_transactions
 * is 0; finding it at start gives the operator the reason before any work is done. */
static int check_can_prepare(pg_sink *s, char *err, size_t errlen)
{
    PGresult *r = PQexec(s->conn, "SHOW max_prepared_transactions");
    int rc = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        pg_error(err, errlen, "SHOW max_prepared_transactions", PQerrorMessage(s->conn));
        rc = -1;
    } else if (strtol(PQgetvalue(r, 0, 0), NULL, 10) <= 0) {
        snprintf(err, errlen, "PostgreSQL cannot take part in two-phase commit: "
                              "max_prepared_transactions is %s (set it above 0 in "
                              "postgresql.conf and restart the server)", PQgetvalue(r, 0, 0));
        rc = -1;
    }
    PQclear(r);
    return rc;
}

pg_sink *pg_sink_open(const pg_sink_conf *conf, char *err, size_t errlen)
{
    pg_sink *s = calloc(1, sizeof *s);
    char *keys[PG_MAX_COLUMNS];
    int nkeys = 0;
    if (!s)
        goto oom;
    s->conninfo = strdup(conf->conninfo);
    s->pipeline = strdup(conf->pipeline);
    s->task = conf->task;
    s->ncolumns = split_names(conf->columns, s->columns, PG_MAX_COLUMNS);
    if (s->ncolumns < 0) {
        s->ncolumns = 0;
        snprintf(err, errlen, "sink.postgres.columns: a comma-separated list of at most %d "
                              "names is needed", PG_MAX_COLUMNS);
        goto fail;
    }
    if (conf->key && *conf->key) {
        nkeys = split_names(conf->key, keys, PG_MAX_COLUMNS);
        if (nkeys < 0) {
            nkeys = 0;
            snprintf(err, errlen, "sink.postgres.key: a comma-separated list of names");
            goto fail;
        }
        for (int i = 0; i < nkeys; i++)
            if (!in_names(s->columns, s->ncolumns, keys[i])) {
                snprintf(err, errlen, "sink.postgres.key: %s is not one of the columns",
                         keys[i]);
                goto fail;
            }
    }
    /* Identifiers are quoted by the server's rules, so a connection comes first. */
    s->conn = PQconnectdb(s->conninfo);
    if (PQstatus(s->conn) != CONNECTION_OK) {
        pg_error(err, errlen, "cannot connect", PQerrorMessage(s->conn));
        goto fail;
    }
    s->sql = build_sql(s->conn, conf->table, s->columns, s->ncolumns, keys, nkeys);
    if (!s->sql) {
        snprintf(err, errlen, "sink.postgres: cannot quote the table or column names");
        goto fail;
    }
    if (check_can_prepare(s, err, errlen) != 0 || pg_connect(s, err, errlen) != 0)
        goto fail;
    free_names(keys, nkeys);
    return s;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    free_names(keys, nkeys);
    pg_sink_close(s);
    return NULL;
}

void pg_sink_close(pg_sink *s)
{
    if (!s)
        return;
    if (s->conn)
        PQfinish(s->conn); /* an open, unprepared transaction dies with the session */
    free_names(s->columns, s->ncolumns);
    free(s->sql);
    free(s->conninfo);
    free(s->pipeline);
    free(s);
}

bool pg_sink_pending(const pg_sink *s)
{
    return s->open && s->rows;
}

/* Reads every result sent so far (a Sync ends the batch; inside the interval's explicit
 * transaction it commits nothing). 0, or -1 with the first refusal in err; the session is
 * then out of pipeline mode unless the connection is lost. */
static int pipeline_drain(pg_sink *s, char *err, size_t errlen)
{
    if (PQpipelineStatus(s->conn) == PQ_PIPELINE_OFF)
        return 0;
    int rc = 0;
    if (!PQpipelineSync(s->conn)) {
        pg_error(err, errlen, "sending rows", PQerrorMessage(s->conn));
        return -1;
    }
    /* Each statement's results end with a NULL; the batch with PGRES_PIPELINE_SYNC. A lost
     * connection ends the loop too (bounded by what was sent). */
    for (int nulls = 0; nulls <= s->inflight + 2;) {
        PGresult *r = PQgetResult(s->conn);
        if (!r) {
            nulls++;
            if (PQstatus(s->conn) != CONNECTION_OK)
                break;
            continue;
        }
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            s->inflight = 0;
            return rc == 0 && PQexitPipelineMode(s->conn) ? 0 : (rc ? rc : -1);
        }
        if (st == PGRES_FATAL_ERROR && rc == 0) {
            pg_error(err, errlen, "a row is refused", PQresultErrorMessage(r));
            rc = -1;
        }
        PQclear(r);
    }
    if (rc == 0)
        pg_error(err, errlen, "reading results", PQerrorMessage(s->conn));
    s->inflight = 0;
    return -1;
}

void pg_sink_rollback_open(pg_sink *s)
{
    if (!s->open)
        return;
    char err[256];
    if (pipeline_drain(s, err, sizeof err) != 0 &&
        PQpipelineStatus(s->conn) != PQ_PIPELINE_OFF) {
        PQreset(s->conn); /* a lost session rolls back by itself */
    } else if (pg_exec(s, "ROLLBACK", "ROLLBACK", err, sizeof err) != 0) {
        PQreset(s->conn);
    }
    s->open = s->rows = false;
}

int pg_sink_commit_open(pg_sink *s, char *err, size_t errlen)
{
    if (!s->open)
        return 0;
    if (pipeline_drain(s, err, errlen) != 0) {
        pg_sink_rollback_open(s);
        return -1;
    }
    int rc = pg_exec(s, "COMMIT", "COMMIT", err, errlen);
    s->open = s->rows = false;
    return rc;
}

/* The text of one JSON value as a statement parameter; NULL for null or missing.
 * *tmp receives memory to free (numbers, nested values). */
static const char *param_text(const cJSON *v, char **tmp)
{
    *tmp = NULL;
    if (!v || cJSON_IsNull(v))
        return NULL;
    if (cJSON_IsString(v))
        return v->valuestring;
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v) ? "true" : "false";
    if (cJSON_IsNumber(v)) {
        char b[64];
        double d = v->valuedouble;
        if (d == (double)(int64_t)d && d > -9007199254740992.0 && d < 9007199254740992.0)
            snprintf(b, sizeof b, "%" PRId64, (int64_t)d);
        else
            snprintf(b, sizeof b, "%.17g", d);
        *tmp = strdup(b);
        return *tmp;
    }
    *tmp = cJSON_PrintUnformatted(v);
    return *tmp;
}

int pg_sink_row(pg_sink *s, const char *json, size_t len, char *err, size_t errlen)
{
    cJSON *obj = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(obj)) {
        cJSON_Delete(obj);
        snprintf(err, errlen, "sink.postgres: an output is not a JSON object");
        return -1;
    }
    if (!s->open) {
        if (!PQenterPipelineMode(s->conn) ||
            !PQsendQueryParams(s->conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0)) {
            pg_error(err, errlen, "BEGIN", PQerrorMessage(s->conn));
            cJSON_Delete(obj);
            s->open = true;
            pg_sink_rollback_open(s);
            return -1;
        }
        s->open = true;
        s->inflight = 1;
    }
    const char *vals[PG_MAX_COLUMNS];
    char *tmps[PG_MAX_COLUMNS];
    for (int i = 0; i < s->ncolumns; i++)
        vals[i] = param_text(cJSON_GetObjectItemCaseSensitive(obj, s->columns[i]), &tmps[i]);
    int rc = 0;
    if (!PQsendQueryPrepared(s->conn, PG_STMT, s->ncolumns, vals, NULL, NULL, 0)) {
        pg_error(err, errlen, "sending a row", PQerrorMessage(s->conn));
        rc = -1;
    } else if (++s->inflight >= PG_PIPELINE_DRAIN) {
        /* read what came back, then carry on in pipeline mode */
        rc = pipeline_drain(s, err, errlen);
        if (rc == 0 && !PQenterPipelineMode(s->conn)) {
            pg_error(err, errlen, "pipeline mode", PQerrorMessage(s->conn));
            rc = -1;
        }
    }
    for (int i = 0; i < s->ncolumns; i++)
        cJSON_free(tmps[i]);
    cJSON_Delete(obj);
    if (rc != 0)
        pg_sink_rollback_open(s);
    else
        s->rows = true;
    return rc;
}

/* Runs "<verb> '<gid>'" with the gid quoted as a literal. */
static int gid_command(pg_sink *s, const char *verb, int64_t seq, int64_t gen, char *err,
                       size_t errlen)
{
    char gid[200], sql[320];
    pg_gid(gid, sizeof gid, s->pipeline, s->task, seq, gen);
    char *lit = PQescapeLiteral(s->conn, gid, strlen(gid));
    if (!lit) {
        pg_error(err, errlen, verb, PQerrorMessage(s->conn));
        return -1;
    }
    snprintf(sql, sizeof sql, "%s %s", verb, lit);
    PQfreemem(lit);
    return pg_exec(s, sql, verb, err, errlen);
}

int pg_sink_prepare(pg_sink *s, int64_t seq, int64_t gen, char *err, size_t errlen)
{
    if (!pg_sink_pending(s)) {
        pg_sink_rollback_open(s);
        return 0;
    }
    if (pipeline_drain(s, err, errlen) != 0) { /* a refused row: nothing is prepared */
        pg_sink_rollback_open(s);
        return -1;
    }
    int rc = gid_command(s, "PREPARE TRANSACTION", seq, gen, err, errlen);
    /* Whatever happened, the session has no transaction open any more: PREPARE either
     * made it a prepared one or (on error) rolled it back. */
    s->open = s->rows = false;
    return rc;
}

int pg_sink_finish(pg_sink *s, int64_t seq, int64_t gen, bool commit, char *err,
                   size_t errlen)
{
    if (PQstatus(s->conn) != CONNECTION_OK && pg_connect(s, err, errlen) != 0)
        return -1;
    return gid_command(s, commit ? "COMMIT PREPARED" : "ROLLBACK PREPARED", seq, gen, err,
                       errlen);
}

/* Parses "<seq>_<generation>" after the task's gid prefix. */
static bool parse_gid_tail(const char *t, sc_in_doubt *out)
{
    char *end;
    long long seq = strtoll(t, &end, 10);
    if (end == t || *end != '_' || seq < 0)
        return false;
    const char *h = end + 1;
    long long gen = strtoll(h, &end, 10);
    if (end == h || *end || gen < 0)
        return false;
    out->seq = seq;
    out->gen = gen;
    return true;
}

int pg_sink_list_prepared(pg_sink *s, sc_in_doubt **out, char *err, size_t errlen)
{
    *out = NULL;
    if (PQstatus(s->conn) != CONNECTION_OK && pg_connect(s, err, errlen) != 0)
        return -1;
    pg_sink_rollback_open(s);
    char prefix[200];
    snprintf(prefix, sizeof prefix, "brook_%.120s_%" PRId32 "_", s->pipeline, s->task);
    const char *params[1] = {prefix};
    /* left() rather than LIKE: '_' is a LIKE wildcard. */
    PGresult *r = PQexecParams(s->conn,
                               "SELECT gid FROM pg_prepared_xacts WHERE database = "
                               "current_database() AND left(gid, length($1)) = $1",
                               1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_error(err, errlen, "reading pg_prepared_xacts", PQerrorMessage(s->conn));
        PQclear(r);
        return -1;
    }
    int n = PQntuples(r), k = 0;
    sc_in_doubt *v = calloc((size_t)n + 1, sizeof *v);
    if (!v) {
        PQclear(r);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (parse_gid_tail(PQgetvalue(r, i, 0) + strlen(prefix), &v[k]))
            k++;
    PQclear(r);
    *out = v;
    return k;
}
