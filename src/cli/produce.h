/*
 * produce.h - `brook produce`.
 */
#ifndef BROOK_CLI_PRODUCE_H
#define BROOK_CLI_PRODUCE_H

#include <stdio.h>

/* Runs the command on argv (the words after it). Exit code: 0, 1 failed, 2 usage. */
int cli_produce_main(int argc, char **argv);
void cli_produce_usage(FILE *out);

#endif
