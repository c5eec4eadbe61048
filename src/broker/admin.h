/*
 * admin.h - the admin HTTP listener of brookd (admin.listeners): transactions made visible
 * and repairable, and Prometheus metrics.
 *
 *   GET  /v1/transactions              every transactional id (JSON array, sorted by id)
 *   GET  /v1/transactions/{id}         one of them (404 if unknown)
 *   POST /v1/transactions/{id}/abort   aborts an Ongoing transaction, fencing its producer
 *                                      (200 {"error":"NONE"}, or 409 with the Kafka error)
 *   GET  /metrics                      Prometheus text format
 * {id} is percent-encoded. Errors are JSON objects {"error": NAME, "message": text}.
 *
 * Owns: the routes and the JSON and metric documents they build.
 * Never: changes a transaction except through txn_service_admin_abort().
 */
#ifndef BROOK_BROKER_ADMIN_H
#define BROOK_BROKER_ADMIN_H

#include "broker/broker.h"

/* Starts the listener when admin.listeners is set (logging "admin ready listener=HOST:PORT")
 * and resets the broker's latency histograms. Returns 0, or a libuv error when the address
 * cannot be bound. */
int admin_start(broker *b);
/* Closes the listener and its connections (idempotent). */
void admin_stop(broker *b);

#endif
