/*
 * admin_groups.h - consumer group metrics for the admin listener's /metrics (admin.c).
 *
 *   brook_groups{state}                                 groups by state (gauge)
 *   brook_group_members{group}                          members of each group (gauge)
 *   brook_group_generation{group}                       current generation (gauge)
 *   brook_group_rebalances_total                        rebalances started (counter)
 *   brook_group_committed_offset{group,topic,partition} committed offset (gauge)
 *   brook_group_lag{group,topic,partition}              high watermark - committed, >= 0
 *
 * Owns: reading the group coordinator's in-memory state for these samples.
 * Never: changes a group, or waits for I/O (a scrape is one walk over groups and offsets).
 */
#ifndef BROOK_BROKER_ADMIN_GROUPS_H
#define BROOK_BROKER_ADMIN_GROUPS_H

#include "base/buf.h"
#include "broker/broker.h"

/* Appends the group metrics above to w, groups sorted by id and offsets by topic and
 * partition. Without a running group coordinator only the zero-valued totals appear. */
void admin_group_metrics(broker *b, wr *w);

#endif
