/*
 * stream/pg.h - PostgreSQL as a participant of a stream task's two-phase commit (libpq).
 *
 * Each task has its own connection. An interval's rows are upserted inside one PostgreSQL
 * transaction which is then PREPAREd under a global id naming the pipeline, the task, the
 * interval's sequence number and the task's generation (stream/commit.h); after the
 * broker commit it is COMMIT PREPARED. At recovery every prepared transaction of the task
 * is listed from pg_prepared_xacts and committed or rolled back by the caller's rule.
 *
 * Owns: the connection, the statement text, the gid format. Never: decides whether to
 * commit (the broker's progress record does), or leaves a transaction open across calls
 * other than the interval's (a failed step rolls the open transaction back).
 */
#ifndef BROOK_STREAM_PG_H
#define BROOK_STREAM_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stream/commit.h"

typedef struct pg_sink pg_sink;

typedef struct pg_sink_conf {
    const char *conninfo; /* libpq connection string */
    const char *table;    /* the target table (an identifier, quoted when used) */
    const char *columns;  /* comma-separated output fields = column names */
    const char *key;      /* comma-separated conflict columns (upsert); NULL: plain insert */
    const char *pipeline; /* names the gids */
    int32_t task;
} pg_sink_conf;

/* Connects and checks the server can prepare (max_prepared_transactions > 0) and that
 * the table has the columns. NULL with the reason in err. */
pg_sink *pg_sink_open(const pg_sink_conf *conf, char *err, size_t errlen);
void pg_sink_close(pg_sink *s);

/* Upserts one output (a JSON object; the configured fields become the columns' text
 * values, JSON null or a missing field SQL NULL) into the interval's transaction, begun
 * on the first row. 0, or -1 with err (the transaction is then rolled back). */
int pg_sink_row(pg_sink *s, const char *json, size_t len, char *err, size_t errlen);
/* Whether rows were written in the open interval (else prepare/finish are no-ops). */
bool pg_sink_pending(const pg_sink *s);
/* PREPARE TRANSACTION under the gid of (seq, gen). 0, or -1 with err (rolled back). */
int pg_sink_prepare(pg_sink *s, int64_t seq, int64_t gen, char *err, size_t errlen);
/* COMMIT PREPARED / ROLLBACK PREPARED of (seq, gen). 0, or -1 with err. Finishing a gid
 * that is no longer prepared is an error (it was finished by someone else or never was). */
int pg_sink_finish(pg_sink *s, int64_t seq, int64_t gen, bool commit, char *err,
                   size_t errlen);
/* COMMIT of the open interval without two-phase commit (processing.guarantee=
 * at_least_once). 0 (also with nothing open), or -1 with err. */
int pg_sink_commit_open(pg_sink *s, char *err, size_t errlen);
/* Rolls back an open, unprepared interval (an abort before prepare); idempotent. */
void pg_sink_rollback_open(pg_sink *s);

/* Lists the task's prepared transactions (reconnecting if the connection was lost);
 * *out is malloc'd (free it). Returns the count, or -1 with err. */
int pg_sink_list_prepared(pg_sink *s, sc_in_doubt **out, char *err, size_t errlen);

/* The gid of (pipeline, task, seq, gen) into out (at most 200 bytes: PostgreSQL's limit). */
void pg_gid(char *out, size_t cap, const char *pipeline, int32_t task, int64_t seq,
            int64_t gen);

#endif
