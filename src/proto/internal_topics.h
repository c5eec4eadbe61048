/*
 * internal_topics.h - Kafka's two internal topics (its Topic.isInternal).
 *
 * Owns: their names and the test for them. __consumer_offsets is the group coordinator's
 * log, __transaction_state the transaction coordinator's; no client may produce to them,
 * delete them, add partitions to them or delete their records. Every other name is a user
 * topic, "__" prefixed or not (Debezium's __debezium-heartbeat.* topics, for one), and
 * must never be treated as internal.
 */
#ifndef BROOK_PROTO_INTERNAL_TOPICS_H
#define BROOK_PROTO_INTERNAL_TOPICS_H

#include <stdbool.h>
#include <string.h>

#define KAFKA_GROUP_LOG_TOPIC "__consumer_offsets"
#define KAFKA_TXN_LOG_TOPIC "__transaction_state"

static inline bool kafka_topic_internal(const char *name)
{
    return strcmp(name, KAFKA_GROUP_LOG_TOPIC) == 0 || strcmp(name, KAFKA_TXN_LOG_TOPIC) == 0;
}

#endif
