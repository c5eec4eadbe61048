/*
 * consume.h - `brook consume`.
 */
#ifndef BROOK_CLI_CONSUME_H
#define BROOK_CLI_CONSUME_H

#include <stdio.h>

/* Runs the command on argv (the words after it). Exit code: 0, 1 failed, 2 usage. */
int cli_consume_main(int argc, char **argv);
void cli_consume_usage(FILE *out);

#endif
