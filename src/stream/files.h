/*
 * stream/files.h - a directory of files as a participant of a stream task's two-phase
 * commit.
 *
 * An interval's outputs are written, one JSON line each, to a hidden part file named by
 * the task, the interval's sequence number and the generation that prepared it; prepare fsyncs
 * it; commit renames it to its final name, "<pipeline>-<task>-<seq>.jsonl" (seq zero-padded
 * so names sort), and fsyncs the directory; roll back unlinks it. A reader that skips names
 * starting with "." never sees a partial or uncommitted file.
 *
 * Owns: the part file of the open interval, the file names. Never: decides commit or
 * roll back (the broker's progress record does), or renames an unsynced file.
 */
#ifndef BROOK_STREAM_FILES_H
#define BROOK_STREAM_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stream/commit.h"

typedef struct file_sink file_sink;

/* NULL with err when dir is not a writable directory. */
file_sink *file_sink_open(const char *dir, const char *pipeline, int32_t task, char *err,
                          size_t errlen);
void file_sink_close(file_sink *s); /* an unprepared part file is removed */

/* Appends one output line to the interval (seq, gen)'s part file, created on the first.
 * 0, or -1 with err. */
int file_sink_write(file_sink *s, int64_t seq, int64_t gen, const char *line, size_t len,
                    char *err, size_t errlen);
/* Whether the open interval wrote anything. */
bool file_sink_pending(const file_sink *s);
/* fsync of the part file (durable before the broker commit). 0, or -1 with err. */
int file_sink_prepare(file_sink *s, char *err, size_t errlen);
/* Commit (rename into place, fsync the directory) or roll back (unlink) the part file of
 * (seq, gen). Committing a part file that is gone is an error unless its final file exists
 * (a rename done before a crash). 0, or -1 with err. */
int file_sink_finish(file_sink *s, int64_t seq, int64_t gen, bool commit, char *err,
                     size_t errlen);
/* Drops the open interval's part file (an abort before prepare). */
void file_sink_rollback_open(file_sink *s);

/* The task's part files left in the directory; *out malloc'd. Count, or -1 with err. */
int file_sink_list_prepared(file_sink *s, sc_in_doubt **out, char *err, size_t errlen);

#endif
