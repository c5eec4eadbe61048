/*
 * admin.h - the admin HTTP listener of brookd (admin.listeners): the cluster, its topics,
 * groups and transactions made visible (and transactions repairable), Prometheus metrics,
 * and the web console that shows them.
 *
 *   GET  /, /console/, /console/NAME   the web console (web/, built into the binary;
 *                                      admin_assets.h): ETag + 304, 404 for unknown files
 *   GET  /v1/cluster                   this node, cluster id, mode, controller, every node
 *                                      with its Kafka and admin addresses (admin_console.h)
 *   GET  /v1/topics                    every topic's partitions: leader, replicas, ISR, and
 *                                      the offsets and size of those this node hosts
 *   GET  /v1/groups                    groups this node coordinates: members, assignments,
 *                                      committed offsets and lag (admin_groups.h)
 *   GET  /v1/transactions              every transactional id (JSON array, sorted by id)
 *   GET  /v1/transactions/{id}         one of them (404 if unknown)
 *   POST /v1/transactions/{id}/abort   aborts an Ongoing transaction, fencing its producer
 *                                      (200 {"error":"NONE"}, or 409 with the Kafka error)
 *   GET  /metrics                      Prometheus text format
 * HEAD works wherever GET does. {id} is percent-encoded. Errors are JSON objects
 * {"error": NAME, "message": text}. Everything but the console's files says
 * "Access-Control-Allow-Origin: *": one node's console reads every node's documents and
 * posts an abort to the coordinator's listener (a CORS simple request, no preflight).
 * docs/admin.md has every field.
 *
 * Owns: the routes and the JSON and metric documents they build.
 * Never: changes a transaction except through txn_service_admin_abort(), or anything else.
 */
#ifndef BROOK_BROKER_ADMIN_H
#define BROOK_BROKER_ADMIN_H

#include "broker/broker.h"

/* Starts the listener when admin.listeners is set (logging "admin ready listener=HOST:PORT")
 * and resets the broker's latency histograms. In a cluster the bound address then goes into
 * this broker's ZooKeeper registration (zk_set_admin), where other nodes' consoles find it.
 * Returns 0, or a libuv error when the address cannot be bound. */
int admin_start(broker *b);
/* Closes the listener and its connections (idempotent). */
void admin_stop(broker *b);

#endif
