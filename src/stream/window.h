/*
 * stream/window.h - the keyed aggregate state of a stream topology: per group key, the
 * accumulators of its open windows (tumbling, hopping or session) or of its running
 * aggregate, the watermark, the order in which windows become final, the dirty set that
 * feeds the changelog, and an undo log so that a record refused half-way changes nothing.
 *
 * Changelog keys: "a|<key>" (running aggregate), "w|<key>|<start>" (tumbling and hopping
 * windows), "s|<key>|<start>" (sessions), ST_WATERMARK_KEY; <start> in decimal ms, <key>
 * the group key's bytes (the start is after the last '|', so a key may contain '|').
 * Values: {"aggs":[...]} for "a|", {"end":<ms>,"aggs":[...]} for windows and sessions,
 * {"max_event_ms":<ms>} for the watermark; per aggregate, count and sum are a number, min
 * and max a number or null (no value yet), avg [sum, count]. Numbers print so that they
 * read back to the same double (sx_format_number), which makes a restore exact.
 *
 * Owns: the groups (uthash by key), their windows and accumulators, the close-order heap,
 * the dirty set (uthash by changelog key), the undo log.
 * Never: evaluates expressions or builds outputs (stream/ops.c does, through the callbacks),
 * does I/O, or emits a window twice.
 */
#ifndef BROOK_STREAM_WINDOW_H
#define BROOK_STREAM_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stream/ops.h"

typedef enum { SW_NONE, SW_TUMBLING, SW_HOPPING, SW_SESSION } sw_kind;
typedef enum { SW_COUNT, SW_SUM, SW_MIN, SW_MAX, SW_AVG } sw_agg;

typedef struct sw_spec {
    sw_kind kind;      /* SW_NONE: one running aggregate per key, no watermark */
    int64_t size_ms;   /* tumbling, hopping */
    int64_t advance_ms; /* hopping (tumbling: = size_ms) */
    int64_t gap_ms;    /* session */
    int64_t lateness_ms;
    size_t naggs;
    sw_agg aggs[ST_AGGS_MAX];
} sw_spec;

typedef struct sw_acc {
    double a;  /* count; sum; min or max; avg: the sum */
    double b;  /* avg: the count */
    bool has;  /* min, max: a value was seen */
} sw_acc;

/* One aggregate input of one record: the value, or absent (null: skipped). */
typedef struct sw_in {
    double v;
    bool present;
} sw_in;

/* A window as the callbacks see it (all borrowed, valid during the callback). */
typedef struct sw_view {
    const char *key; /* NUL-terminated too */
    size_t key_len;
    int64_t start_ms, end_ms; /* SW_NONE: 0, 0 */
    const sw_acc *acc;        /* spec.naggs of them */
} sw_view;

/* Called for each window a record updated (after the update) or that became final (before
 * it is deleted); -1 (the callback's error) stops the caller, which then rolls back. */
typedef int (*sw_fn)(void *ctx, const sw_view *w);

typedef struct sw_store sw_store;

/* A store for spec (copied); NULL when out of memory. */
sw_store *sw_new(const sw_spec *spec);
void sw_free(sw_store *s);
/* Drops all state, the dirty set and the undo log. */
void sw_reset(sw_store *s);

/* Brackets one input record's changes: after sw_begin, sw_rollback undoes everything since
 * (state, watermark, dirty set), sw_commit keeps it. */
void sw_begin(sw_store *s);
void sw_commit(sw_store *s);
void sw_rollback(sw_store *s);

/* Adds one record (group key, event time, one input per aggregate) inside sw_begin/commit.
 * Calls touched for each updated window, in start order. Returns 0, 1 when the record is
 * late (nothing changed), -1 when touched failed (its message), an aggregate overflowed or
 * memory ran out (err set); then roll back. */
int sw_add(sw_store *s, const char *key, size_t key_len, int64_t t_ms, const sw_in *in,
           sw_fn touched, void *ctx, char *err, size_t errlen);
/* Emits and deletes the windows final at the watermark, by end, key, start; calls final
 * for each before deleting it. 0, or -1 (then roll back). */
int sw_close(sw_store *s, sw_fn final, void *ctx, char *err, size_t errlen);

/* The value of aggregate i in acc: false when it is null (min/max/avg of no values). */
bool sw_result(const sw_spec *spec, const sw_acc *acc, size_t i, double *out);

/* The max event time seen minus the lateness; INT64_MIN when none (or SW_NONE). */
int64_t sw_watermark(const sw_store *s);
/* Live changelog entries: windows (or running aggregates) plus the watermark entry. */
uint64_t sw_entries(const sw_store *s);

/* See st_drain_changelog and st_restore. */
int sw_drain(sw_store *s, st_records *out);
int sw_restore(sw_store *s, const char *key, size_t key_len, const char *value,
               size_t value_len, char *err, size_t errlen);

/* n bytes of s (NULs included) in a new NUL-terminated buffer; NULL when out of memory. */
char *sw_dup_bytes(const char *s, size_t n);

#endif
