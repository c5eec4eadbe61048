/*
 * admin_console.h - the JSON documents the web console reads from the admin listener
 * (admin.c routes them; docs/admin.md describes every field):
 *
 *   GET /v1/cluster  this node, the cluster id, single or cluster mode, the controller, and
 *                    every node (Kafka address, admin address, alive / shutting down)
 *   GET /v1/topics   every topic: partitions with leader, replicas and ISR, and for the
 *                    partitions this node hosts its log start, high watermark, last stable
 *                    offset, log end and size on disk (each row names the answering node)
 *
 * The console asks every live node for /v1/topics, /v1/groups and /v1/transactions and
 * merges the answers in the browser: each node only knows its own logs and coordinators.
 * Owns: building those two documents from the registry, the store and the cluster view.
 * Never: changes anything, or waits for I/O (each answer is one walk over memory).
 */
#ifndef BROOK_BROKER_ADMIN_CONSOLE_H
#define BROOK_BROKER_ADMIN_CONSOLE_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "broker/broker.h"

/* The /v1/cluster document; NULL when out of memory. */
cJSON *admin_cluster_json(broker *b);
/* The /v1/topics document; NULL when out of memory. */
cJSON *admin_topics_json(broker *b);
/* "host:port" of this node's admin listener as others should reach it: the bound port, and
 * the advertised Kafka host when the listener is bound to every address (0.0.0.0). Empty
 * when the listener is off. */
void admin_self_address(const broker *b, char *out, size_t cap);

#endif
