#!/usr/bin/python3
"""FindCoordinator names a stand-in while the coordinator partition has no live leader
(docs/reliability.md, "send_offsets_to_transaction can stall"; src/broker/cluster.c
cluster_coordinator_named).

COORDINATOR_NOT_AVAILABLE there is truthful, but librdkafka 2.15 retries it only as often
as the request's retries allow and then waits for some broker connection to come up, never
for its timeout: a send_offsets_to_transaction made during a failover could hang for good
(chaos seed 94). Brook now names the live replica likeliest to lead the partition next; it
refuses the coordinator requests themselves (COORDINATOR_NOT_AVAILABLE or NOT_COORDINATOR)
until it leads, and clients retry those within their timeouts.

Two nodes A and B; both internal topics have one partition on both nodes (RF 2) and
min.insync.replicas 1:
 1. B is paused (SIGSTOP) until A takes it out of both ISRs (A alone is at min ISR, so B
    is not eligible either), then SIGKILLed.
 2. A is SIGKILLed and B started alone: B (now controller) finds no live eligible replica,
    so both coordinator partitions have no leader and B is their only live replica.
 3. FindCoordinator asked of B names B for a group and for a transactional id (it answered
    COORDINATOR_NOT_AVAILABLE before), and B refuses the group's OffsetFetch (retriable):
    the stand-in does not act as the coordinator.
 4. A restarts, is elected again, and FindCoordinator names A, where OffsetFetch works.
"""

import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import run_main, wait_until  # noqa: E402
from cluster_harness import cluster_test_main, dump_log_lines, partition_state  # noqa: E402
from raw_kafka import Conn  # noqa: E402

OFFSETS = "__consumer_offsets"
TXN_LOG = "__transaction_state"
GROUP = "stand-in-group"
TXN_ID = "stand-in-txn"
NOT_HERE = (15, 16)  # COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR: clients retry both
T0 = time.monotonic()


def log(msg):
    print(f"[{time.monotonic() - T0:7.2f}s] {msg}", flush=True)


def state(node, topic):
    """(error, leader, replicas, isr) of topic/0 asked of node, or None."""
    try:
        return partition_state(node.bootstrap, topic).get(0)
    except (OSError, ConnectionError, ValueError):
        return None


def wait_state(node, topic, pred, what):
    return wait_until(lambda: (lambda s: s if s and pred(s) else None)(state(node, topic)),
                      45, interval=0.2, what=what)


def offset_fetch_error(node):
    with Conn(node.bootstrap) as k:
        return k.offset_fetch_stable(GROUP, "stand-in-topic", [0])[0]


def scenario(ck, c):
    for topic in (OFFSETS, TXN_LOG):
        st = wait_state(c.nodes[0], topic, lambda s: s[1] > 0 and len(s[3]) == 2,
                        f"{topic}-0 led with both replicas in sync")
        ck.eq(st[2], [1, 2], f"{topic}-0 replicas")
    a = c.node(wait_state(c.nodes[0], OFFSETS, lambda s: s[1] > 0, "a leader")[1])
    b = next(n for n in c.nodes if n is not a)
    log(f"{OFFSETS}-0 led by {a.node_id}; pausing {b.node_id}")
    os.kill(b.proc.pid, signal.SIGSTOP)
    try:
        for topic in (OFFSETS, TXN_LOG):
            wait_state(a, topic, lambda s: s[1] == a.node_id and s[3] == [a.node_id],
                       f"{topic}-0 led by A alone in sync")
    finally:
        b.kill()
    log(f"SIGKILL {a.node_id}, start {b.node_id} alone")
    a.kill()
    b.start()
    for topic in (OFFSETS, TXN_LOG):
        st = wait_state(b, topic, lambda s: s[1] == -1,
                        f"{topic}-0 without a leader once A's session expired")
        ck.eq(st[2], [1, 2], f"{topic}-0 replicas while offline")
    with Conn(b.bootstrap) as k:
        for key, kt in ((GROUP, 0), (TXN_ID, 1)):
            err, node, _ = k.find_coordinator(key, kt)
            ck.eq((err, node), (0, b.node_id),
                  f"FindCoordinator({key!r}) with no leader: the live replica (error, node)")
    err = offset_fetch_error(b)
    ck(err in NOT_HERE, f"OffsetFetch at the stand-in: error {err}, expected one of {NOT_HERE}")
    log(f"restarting {a.node_id}")
    a.start()
    wait_state(b, OFFSETS, lambda s: s[1] == a.node_id, f"{OFFSETS}-0 led by A again")
    with Conn(b.bootstrap) as k:
        err, node, _ = k.find_coordinator(GROUP, 0)
    ck.eq((err, node), (0, a.node_id), "FindCoordinator once A leads (error, node)")
    wait_until(lambda: offset_fetch_error(a) == 0, 30, interval=0.2,
               what="OffsetFetch answered by A once loaded")


def main():
    cfg = {"min.insync.replicas": 1, "zookeeper.session.timeout.ms": 4000,
           "replica.lag.time.max.ms": 2000,
           "offsets.topic.num.partitions": 1, "transaction.state.log.num.partitions": 1,
           "offsets.topic.replication.factor": 2,
           "transaction.state.log.replication.factor": 2, "admin.listeners": ""}
    return cluster_test_main("coordinator_stand_in", "stand-in", cfg, scenario,
                             lambda c, why: dump_log_lines(c, why, lambda ln: "[zk]" in ln),
                             log, T0, nodes=2)


if __name__ == "__main__":
    run_main(main)
