/*
 * stream/tables.h - the tables a pipeline joins against: each is the latest value per key
 * of a topic (a record with no value deletes its key), kept in memory by the runtime.
 *
 * Owns: the key/value maps and their memory. Never: reads a topic itself (the runtime feeds
 * it records), or orders anything: the last record fed for a key wins.
 */
#ifndef BROOK_STREAM_TABLES_H
#define BROOK_STREAM_TABLES_H

#include <stddef.h>
#include <stdint.h>

#define STREAM_MAX_TABLES 8

typedef struct stream_tables stream_tables;

stream_tables *stream_tables_new(void);
void stream_tables_free(stream_tables *ts);
/* Declares table `name` (copied). Its index, or -1 when there are STREAM_MAX_TABLES. */
int stream_tables_add(stream_tables *ts, const char *name);
/* The index of `name`, or -1. */
int stream_tables_find(const stream_tables *ts, const char *name);
/* Sets (value non-NULL, copied) or deletes (value NULL) key in table idx. 0, or -1 when out
 * of memory. */
int stream_tables_put(stream_tables *ts, int idx, const void *key, size_t key_len,
                      const void *value, size_t value_len);
/* The value of key in table `table`, borrowed until the next put; NULL when absent. The
 * signature is stream/ops.h's st_lookup_fn (ctx: the stream_tables). */
const char *stream_tables_lookup(void *ctx, const char *table, const char *key,
                                 size_t key_len, size_t *value_len);
/* Keys held in table idx. */
size_t stream_tables_size(const stream_tables *ts, int idx);

#endif
