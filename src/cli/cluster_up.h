/*
 * cluster_up.h - `brook cluster up|down`: a whole cluster on this machine for trying out
 * cluster mode: one ZooKeeper server (Debian's package, run with java) and N brookd nodes,
 * each with its own data directory, log and pid file under one directory.
 *
 * Owns: the processes `up` starts, known afterwards only through the pid files in that
 * directory, so that `down` works from any shell. Never: signals a process whose command
 * line does not name the directory (a pid file can outlive its process, and pids are
 * reused); links broker internals (brookd is run as a program).
 */
#ifndef BROOK_CLI_CLUSTER_UP_H
#define BROOK_CLI_CLUSTER_UP_H

#include <stdio.h>

/* `brook cluster up ...` (argv after "up"). Returns the CLI exit code. */
int cli_cluster_up(int argc, char **argv);
/* `brook cluster down ...` (argv after "down"). Returns the CLI exit code. */
int cli_cluster_down(int argc, char **argv);
void cli_cluster_up_usage(FILE *out);

#endif
