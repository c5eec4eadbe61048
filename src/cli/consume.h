/*
 * consume.h - `brook consume`: read records of a topic as a group member (committing what it
 * printed) or from chosen partitions, offsets or a time, and print them with a format or as
 * JSON lines.
 *
 * Owns: the consumer handle of one run, the record formatting and the stop conditions
 * (--count, --until-end, the idle --timeout-ms).
 * Never: creates a topic, or commits offsets without --group; it is an ordinary librdkafka
 * consumer.
 */
#ifndef BROOK_CLI_CONSUME_H
#define BROOK_CLI_CONSUME_H

#include <stdio.h>

/* Runs the command on argv (the words after it). Exit code: 0, 1 failed, 2 usage. */
int cli_consume_main(int argc, char **argv);
void cli_consume_usage(FILE *out);

#endif
