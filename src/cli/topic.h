/*
 * topic.h - `brook topic create|list|describe|delete|alter`.
 */
#ifndef BROOK_CLI_TOPIC_H
#define BROOK_CLI_TOPIC_H

#include <stdio.h>

/* Runs the command on argv (the words after it). Exit code: 0, 1 failed, 2 usage. */
int cli_topic_main(int argc, char **argv);
void cli_topic_usage(FILE *out);

#endif
