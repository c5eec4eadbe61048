/*
 * configs.h - `brook config describe|set`: topic and broker configs over DescribeConfigs and
 * IncrementalAlterConfigs.
 *
 * Owns: the config subcommands' arguments and output.
 * Never: links broker internals; it speaks the Kafka protocol like any client.
 */
#ifndef BROOK_CLI_CONFIGS_H
#define BROOK_CLI_CONFIGS_H

#include <stdio.h>

/* Runs the command on argv (the words after it). Exit code: 0, 1 failed, 2 usage. */
int cli_configs_main(int argc, char **argv);
void cli_configs_usage(FILE *out);

#endif
