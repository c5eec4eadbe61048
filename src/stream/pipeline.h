/*
 * stream/pipeline.h - the pipeline file of `brook run`: a Java-style properties file
 * (docs/stream.md has every key).
 *
 * Owns: parsing and validating the file into a stream_pipeline. Never: connects to
 * anything; the operator lines are checked by building a topology (stream/ops.h).
 */
#ifndef BROOK_STREAM_PIPELINE_H
#define BROOK_STREAM_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STREAM_MAX_OPS 64
#define STREAM_MAX_CLIENT_PROPS 32
#define STREAM_MAX_PIPELINE_TABLES 8

typedef struct stream_pipeline {
    char *name;              /* pipeline.name: [A-Za-z0-9-], names gids, files, topics */
    char *bootstrap;         /* bootstrap.servers (or --bootstrap) */
    char *source_topic;      /* source.topic */
    char *group;             /* source.group (default: the name) */
    char *ops[STREAM_MAX_OPS]; /* op.1 ... op.N, in order, no gaps */
    size_t nops;
    char *sink_topic;        /* sink.topic (optional) */
    char *pg_conninfo;       /* sink.postgres (optional) */
    char *pg_table, *pg_columns, *pg_key;
    char *files_dir;         /* sink.files.dir (optional) */
    char *dlq_topic;         /* dead.letter.topic (default <name>-dlq) */
    char *changelog_topic;   /* state.changelog.topic (default <name>-changelog) */
    char *progress_topic;    /* progress.topic (default <name>-progress) */
    int64_t commit_interval_ms;
    int64_t transaction_timeout_ms;
    int32_t replication_factor; /* of the topics `brook run` creates (-1: broker default) */
    int32_t max_recoveries;  /* recovery.max.attempts: in a row without a commit, then exit */
    bool exactly_once;       /* processing.guarantee: exactly_once (default), at_least_once */
    char *table_names[STREAM_MAX_PIPELINE_TABLES];  /* table.<name>.topic=<topic>: joins */
    char *table_topics[STREAM_MAX_PIPELINE_TABLES];
    int ntables;
    char *client_keys[STREAM_MAX_CLIENT_PROPS]; /* client.<key>=<value>: librdkafka */
    char *client_values[STREAM_MAX_CLIENT_PROPS];
    int nclient;
} stream_pipeline;

/* Parses and validates the file. 0, or -1 with err naming the key or line. On success
 * free with stream_pipeline_free (also safe after a failure). */
int stream_pipeline_load(const char *path, stream_pipeline *p, char *err, size_t errlen);
int stream_pipeline_parse(const char *text, stream_pipeline *p, char *err, size_t errlen);
void stream_pipeline_free(stream_pipeline *p);

/* The same one key at a time (libbrook-stream's brook_stream_set): init sets the defaults,
 * set takes one key (0, or -1 with err naming it; nothing changed), check validates and
 * fills the defaults derived from the name (as load does after the last line). */
void stream_pipeline_init(stream_pipeline *p);
int stream_pipeline_set(stream_pipeline *p, const char *key, const char *value, char *err,
                        size_t errlen);
int stream_pipeline_check(stream_pipeline *p, char *err, size_t errlen);
/* Whether s is a valid pipeline.name (else STREAM_NAME_RULE says why). */
bool stream_pipeline_valid_name(const char *s);
#define STREAM_NAME_RULE                                                                       \
    "pipeline.name: 1 to 64 letters, digits or '-' are required (it names transactions, "   \
    "files and topics)"

#endif
