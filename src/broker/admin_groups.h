/*
 * admin_groups.h - consumer groups on the admin listener (admin.c): the metrics of
 * /metrics and the JSON document of GET /v1/groups (the web console's Groups page), built
 * from one walk over the group coordinator's groups.
 *
 *   brook_groups{state}                                 groups by state (gauge)
 *   brook_group_members{group}                          members of each group (gauge)
 *   brook_group_generation{group}                       current generation (gauge)
 *   brook_group_rebalances_total                        rebalances started (counter)
 *   brook_group_committed_offset{group,topic,partition} committed offset (gauge)
 *   brook_group_lag{group,topic,partition}              high watermark - committed, >= 0
 *
 * /v1/groups: {"node_id", "groups": [{group, state, protocol_type, protocol, generation,
 * leader, members: [{member_id, instance_id, client_id, host, assignment}], offsets:
 * [{topic, partition, committed, high_watermark, lag, commit_ms}]}]}; lag and
 * high_watermark are null for a partition whose log is not on this node.
 *
 * Owns: reading the group coordinator's in-memory state for these samples.
 * Never: changes a group, or waits for I/O (a scrape is one walk over groups and offsets).
 */
#ifndef BROOK_BROKER_ADMIN_GROUPS_H
#define BROOK_BROKER_ADMIN_GROUPS_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "base/buf.h"
#include "broker/broker.h"

/* Appends the group metrics above to w, groups sorted by id and offsets by topic and
 * partition. Without a running group coordinator only the zero-valued totals appear. */
void admin_group_metrics(broker *b, wr *w);
/* The /v1/groups document (groups this node coordinates, sorted as above); NULL when out
 * of memory. */
cJSON *admin_groups_json(broker *b);
/* A member's assignment (ConsumerProtocolAssignment v0+: version, [topic, [partition]],
 * user data) as a JSON array of {"topic", "partition"}; NULL when the bytes are not one
 * (another protocol type, or malformed) or out of memory. Pure: reads only p[0..len). */
cJSON *admin_assignment_json(const uint8_t *p, int32_t len);

#endif
