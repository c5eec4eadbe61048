/*
 * cli/run.h - `brook run PIPELINE.conf`: the command line of the stream runtime, a user of
 * libbrook-stream's public API (stream/brook_stream.h) like any other.
 *
 * Owns: the flags, the signal handlers of the process. Never: reaches past the public API.
 */
#ifndef BROOK_CLI_RUN_H
#define BROOK_CLI_RUN_H

#include <stdio.h>

int cli_run_main(int argc, char **argv);
void cli_run_usage(FILE *out);

#endif
