/*
 * stream/ops.h - a stream task's record processing: a pipeline of record operators (filter,
 * map, project, flat_map, key_by, join, call), then optionally one aggregate, windowed (tumbling,
 * hopping, session) or not, then optionally more record operators on the aggregate's
 * results. The operator lines' grammar and the semantics are in docs/stream.md
 * ("Operators").
 *
 * Keyed state (the aggregates per key and window, and the watermark; stream/window.h) is
 * the topology's and is mirrored to a changelog: st_drain_changelog hands out what changed
 * since the last drain, st_restore reads it back. A topology restored from the changelog and
 * fed the rest of the input produces byte for byte the outputs of one that never stopped;
 * the same input always produces the same outputs in the same order (results of windows
 * closing together come by window end, then key, then window start). Joins read tables the
 * runtime keeps (st_topology_set_lookup) as they are when a record is processed, so these
 * two hold for a topology with joins when its tables hold the same values.
 *
 * Owns: the topology (the operators, parsed once, and its window store), the counters.
 * Never: does I/O, reads a clock (event time comes from the records), or lets a bad record
 * change anything but the `in` counter (a record st_process refuses leaves the state, the
 * dirty set, the watermark and the other counters as they were).
 */
#ifndef BROOK_STREAM_OPS_H
#define BROOK_STREAM_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Operator lines in one topology. */
#define ST_OPS_MAX 64
/* Aggregates in one aggregate line. */
#define ST_AGGS_MAX 32
/* Fields in one map or project line. */
#define ST_FIELDS_MAX 64
/* Records one input record may become in flight (flat_map fan-out), and windows of one
 * record (hopping: size / advance). */
#define ST_FANOUT_MAX 100000
#define ST_HOP_WINDOWS_MAX 1000
/* Longest duration (window size, advance, gap, lateness): 366 days. */
#define ST_DURATION_MAX_MS (366LL * 24 * 3600 * 1000)
/* The changelog key of the watermark entry. */
#define ST_WATERMARK_KEY "__watermark"

typedef struct st_topology st_topology;

typedef struct st_record { /* an output or changelog record; freed with st_records_clear */
    char *key;             /* NULL: no key */
    size_t key_len;
    char *value;           /* JSON text; NULL: tombstone (changelog deletion) */
    size_t value_len;
    int64_t ts_ms;
} st_record;

typedef struct st_records {
    st_record *v;
    size_t n, cap;
} st_records;

/* Frees every record's key and value and empties r (keeping nothing allocated). */
void st_records_clear(st_records *r);
/* Appends a record, taking ownership of key and value (malloc'd or NULL) even when it fails
 * (out of memory: -1). */
int st_records_take(st_records *r, char *key, size_t key_len, char *value, size_t value_len,
                    int64_t ts_ms);
/* Frees the records from index n on (n <= r->n). */
void st_records_truncate(st_records *r, size_t n);

/* Builds a topology from operator lines (the pipeline file's op.1, op.2, ... values, in
 * order; borrowed). NULL with err ("op.N: problem") on error. */
st_topology *st_topology_new(const char *const *ops, size_t nops, char *err, size_t errlen);
void st_topology_free(st_topology *t);

/* Processes one input record (all borrowed; key NULL: no key; json NULL: a tombstone, which
 * is skipped and counted as filtered). Outputs are appended to `out`. Returns 0, or -1 with
 * err when the record is bad (malformed JSON, an expression error on it): the state is then
 * unchanged and nothing is appended. Late records are dropped and counted, not errors. */
int st_process(st_topology *t, const char *key, size_t key_len, const char *json,
               size_t json_len, int64_t ts_ms, st_records *out, char *err, size_t errlen);
/* The state changes since the last call, as changelog records appended to `out` in key
 * order (key = state key, value = the entry's JSON, NULL value = deleted, ts_ms = 0);
 * clears the dirty set. Returns the number of records appended, or -1 when out of memory
 * (the dirty set is then kept). */
int st_drain_changelog(st_topology *t, st_records *out);
/* Restores one changelog record (borrowed); a NULL value deletes. The entry is not dirty
 * afterwards (it is already in the changelog). 0, or -1 with err. */
int st_restore(st_topology *t, const char *key, size_t key_len, const char *value,
               size_t value_len, char *err, size_t errlen);
/* Drops all state and the dirty set (before a restore after an abort); keeps the counters. */
void st_reset(st_topology *t);

/* in: records given to st_process (bad ones too); out: outputs appended; dropped_late: late
 * records dropped; filtered: records dropped by a filter (before or after the aggregate) and
 * input tombstones; state_entries: live changelog entries (windows or running aggregates,
 * and the watermark); watermark_ms: INT64_MIN before any event time (or without a window). */
typedef struct st_stats {
    uint64_t in, out, dropped_late, filtered, state_entries;
    int64_t watermark_ms;
} st_stats;
void st_stats_get(const st_topology *t, st_stats *s);

/* Whether the topology aggregates in windows (and so keeps a watermark). */
bool st_topology_windowed(const st_topology *t);

/* The runtime's tables (for the join lines): returns the value (JSON text, borrowed until
 * the next call) of `key` (key_len bytes, NUL-terminated) in table `table`, setting
 * *value_len, or NULL when absent. Called only from st_process, during the call. */
typedef const char *(*st_lookup_fn)(void *ctx, const char *table, const char *key,
                                    size_t key_len, size_t *value_len);
/* Sets the tables' lookup (fn NULL: none). Without one, st_process on a topology with join
 * lines returns -1 with err "op.N (join): no table <name>" (N, name: the first join line). */
void st_topology_set_lookup(st_topology *t, st_lookup_fn fn, void *ctx);
/* The table names the topology's join lines use (for the runtime to check against its
 * config), each once, in the order of their first join line: returns their count and
 * stores the first min(count, max) in names (borrowed; valid as long as the topology). */
size_t st_topology_tables(const st_topology *t, const char **names, size_t max);

/* The runtime's functions (for the call lines; libbrook-stream's C operators): runs function
 * `name` on one record (borrowed), appending what it makes to out (values must be JSON text;
 * none: the record is dropped and counted as filtered). Returns 0, or -1 with err (the record
 * is then bad: nothing it made is kept). It must be deterministic, like every operator, for
 * the restore guarantee above to hold. */
typedef int (*st_call_fn)(void *ctx, const char *name, const st_record *in, st_records *out,
                          char *err, size_t errlen);
/* Sets the functions (fn NULL: none; a call line then fails each record with "no function
 * <name>"). */
void st_topology_set_call(st_topology *t, st_call_fn fn, void *ctx);
/* The function names the call lines use, each once (as st_topology_tables). */
size_t st_topology_calls(const st_topology *t, const char **names, size_t max);

#endif
