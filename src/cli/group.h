/*
 * group.h - `brook group list|describe|delete|reset-offsets`: inspect, remove and rewind
 * consumer groups through the Kafka Admin API (librdkafka: ListConsumerGroups,
 * DescribeConsumerGroups, ListConsumerGroupOffsets, DeleteGroups,
 * AlterConsumerGroupOffsets) plus per-partition watermarks for the lag and the clamping.
 *
 * Owns: the tables and JSON documents printed for groups, members, assignments, committed
 * offsets and lag. Never: links broker internals; it is an ordinary Kafka client.
 */
#ifndef BROOK_CLI_GROUP_H
#define BROOK_CLI_GROUP_H

#include <stdio.h>

/* Runs `brook group <argv...>` where argv[0] is the subcommand. Returns the exit code: 0 on
 * success, 1 when the broker could not be reached or refused, 2 on a usage error. */
int cli_group_main(int argc, char **argv);

/* Prints the usage of every group subcommand on out. */
void cli_group_usage(FILE *out);

#endif
