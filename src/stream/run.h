/*
 * stream/run.h - `brook run pipeline.conf`: the exactly-once stream runtime on librdkafka.
 *
 * Owns: the consumer group membership of a pipeline's instance, one task per assigned
 * input partition (its transactional producer, topology, PostgreSQL and file
 * participants), and the driving of each task's commit protocol (stream/commit.h).
 * Never: links broker internals (it is a Kafka client like any other), or decides a
 * commit anywhere but at the broker.
 */
#ifndef BROOK_STREAM_RUN_H
#define BROOK_STREAM_RUN_H

#include <stdio.h>

int stream_run_main(int argc, char **argv);
void stream_run_usage(FILE *out);

#endif
