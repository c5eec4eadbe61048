/*
 * completion.h - `brook completion bash`: prints a bash completion script.
 *
 * The script asks the binary itself for the words (`brook help`, `brook CMD --help`), so it
 * stays in step with the commands and flags without a list kept by hand; topic and group
 * names come from `brook topic list` / `brook group list` against $BROOK_BOOTSTRAP.
 * Never: talks to a broker itself.
 */
#ifndef BROOK_CLI_COMPLETION_H
#define BROOK_CLI_COMPLETION_H

#include <stdio.h>

int cli_completion_main(int argc, char **argv);
void cli_completion_usage(FILE *out);

#endif
