/*
 * topic.h - `brook topic create|list|describe|delete|alter`.
 *
 * Owns: the topic subcommands, and the config change both `topic alter` and `config set`
 * send (IncrementalAlterConfigs).
 * Never: links broker internals; it speaks the Kafka protocol like any client.
 */
#ifndef BROOK_CLI_TOPIC_H
#define BROOK_CLI_TOPIC_H

#include <stdint.h>
#include <stdio.h>

#include "cli/client.h"
#include "cli/topic_wire.h"

/* Runs the command on argv (the words after it). Exit code: 0, 1 failed, 2 usage. */
int cli_topic_main(int argc, char **argv);
void cli_topic_usage(FILE *out);

/* Sets (sets: "KEY=VALUE" items) and deletes (back to the default) configs of a topic
 * (type TW_RES_TOPIC, sent to any broker: it applies the change cluster-wide) or of broker
 * broker_id (TW_RES_BROKER, sent to that broker) with IncrementalAlterConfigs. Returns 0;
 * 1 after printing the broker's refusal (Kafka's error name and message), "unknown topic",
 * or a transport error; 2 after printing an item that is not KEY=VALUE. */
int cli_topic_alter_configs(cli_client *cl, int8_t type, const char *name, const tw_list *sets,
                            const tw_list *deletes, int32_t broker_id);

#endif
