/*
 * cluster.h - `brook cluster ...`.
 *
 * `placement`: what consistent-hash placement does for a given node set and partition
 * count: load per node, and how many partitions move when a node joins or leaves. Uses the
 * broker's own placement code (src/cluster/placement.c, which is pure: no broker state), so
 * the numbers are the ones a cluster would get.
 * `status`: a running cluster as Metadata shows it: nodes, the controller, every
 * partition's leader, and how many coordinator partitions each node leads.
 * `up` / `down`: a local cluster (cluster_up.h).
 */
#ifndef BROOK_CLI_CLUSTER_H
#define BROOK_CLI_CLUSTER_H

#include <stdio.h>

int cli_cluster_main(int argc, char **argv);
void cli_cluster_usage(FILE *out);

#endif
