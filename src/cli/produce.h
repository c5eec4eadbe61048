/*
 * produce.h - `brook produce`: write the lines of stdin or a file as records to a topic, with
 * keys, headers, acks, idempotence, transactions and compression chosen by flags.
 *
 * Owns: the producer handle of one run, line reading and the summary it prints.
 * Never: creates a topic (a missing topic is an error, not an auto-create) or links broker
 * internals; it is an ordinary librdkafka producer.
 */
#ifndef BROOK_CLI_PRODUCE_H
#define BROOK_CLI_PRODUCE_H

#include <stdio.h>

/* Runs the command on argv (the words after it). Exit code: 0, 1 failed, 2 usage. */
int cli_produce_main(int argc, char **argv);
void cli_produce_usage(FILE *out);

#endif
