#!/usr/bin/python3
"""A transaction coordinator that a participant fences by coordinator epoch stops acting
(issue: "markers carry the coordinator epoch and participants refuse those from an older
one"), on a 3-node cluster, on the raw Kafka protocol (raw_kafka.py).

A participant learns a coordinator epoch from the markers written for a producer. Here a
"newer coordinator" is stood in for by a WriteTxnMarkers sent by hand with a coordinator
epoch far above any real one; the real coordinator (epoch: its __transaction_state
partition's leader epoch) is then the replaced one. For a participant led by another node
(BrookPrepareTxn v1 over the network) and for one led by the coordinator's own node (a
local call):

1. InitProducerId, AddPartitionsToTxn(P), a transactional batch to P (offset b).
2. The forged COMMIT marker (coordinator epoch 1000000) to P's leader: written (b+1).
3. The producer writes again to P (its coordinator still has P in the transaction): b+2,
   open, the last stable offset stays at b+2.
4. EndTxn(commit) to the coordinator: its prepare carries its real, older epoch; P
   refuses it (TRANSACTION_COORDINATOR_FENCED), so the coordinator stops acting for the
   transactional id's log partition: EndTxn is answered NOT_COORDINATOR (16), later
   requests COORDINATOR_LOAD_IN_PROGRESS (14), and nothing more is written to P (high
   watermark b+3, last stable offset b+2, also after a pause), with the node's log saying
   why. Without coordinator epochs the commit would go through.

The two cases use transactional ids of different __transaction_state partitions (a
fenced coordinator gives up the whole log partition).

A marker with an epoch no coordinator can have yet is refused by default (such a one can
only be forged; integration_cluster_verify phase 6): the nodes here run with the failpoint
BROOK_FAILPOINT_ANY_COORDINATOR_EPOCH=1, which takes every epoch as possible, so that the
forged marker can stand in for a newer coordinator."""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import run_main  # noqa: E402
import cluster_harness  # noqa: E402
from cluster_harness import (NodeConns, cluster_test_main, dump_log_lines,  # noqa: E402
                             log_contains, wait_topic_led)
from raw_kafka import (COORD_RETRIABLE, COORDINATOR_LOAD_IN_PROGRESS,  # noqa: E402
                       COORDINATOR_NOT_AVAILABLE, NONE, NOT_COORDINATOR, PRODUCE_RETRIABLE,
                       READ_COMMITTED, READ_UNCOMMITTED, record_batch)

TOPIC = "cce"
PARTS = 6
TXN_PARTS = 6
CONFIG = {"transaction.state.log.num.partitions": TXN_PARTS, "offsets.topic.num.partitions": 3}
ANSWER_WITHIN = 15.0
RETRY_FOR = 15.0
FORGED_EPOCH = 1000000

T0 = time.monotonic()


def log(msg):
    print(f"[{time.monotonic() - T0:7.2f}s] {msg}", flush=True)


def txn_partition(tid):
    return cluster_harness.txn_partition(tid, TXN_PARTS)


def retrying(what, fn, retriable):
    return cluster_harness.retrying(what, fn, retriable, RETRY_FOR, log)


def write_marker(conn, pid, epoch, partition, coordinator_epoch):
    """WriteTxnMarkers v0: one COMMIT marker for TOPIC/partition -> its error code."""
    errs = conn.write_txn_marker(TOPIC, partition, pid, epoch, True, coordinator_epoch)
    return errs[0] if len(errs) == 1 else None


def dump_logs(c, why):
    dump_log_lines(c, why, lambda ln: "[txn]" in ln or "[cluster]" in ln or "WARN" in ln
                   or "ERROR" in ln)


def case(ck, c, conns, leaders, tid, coord, p, label):
    log(f"[{label}] transactional id {tid} (log partition {txn_partition(tid)}), coordinator "
        f"node {coord}, participant {TOPIC}/{p} led by node {leaders[p]}")
    xc, pc = conns(coord), conns(leaders[p])

    def offsets():
        e1, hw = pc.list_offset(TOPIC, p, READ_UNCOMMITTED)
        e2, lso = pc.list_offset(TOPIC, p, READ_COMMITTED)
        ck.eq((e1, e2), (NONE, NONE), f"[{label}] ListOffsets errors")
        return hw, lso

    def produce(seq, value):
        rb = record_batch(pid, epoch, seq, [value], transactional=True)
        e, base, _ = retrying("Produce", lambda: pc.produce(TOPIC, p, rb, "Produce",
                                                            transactional_id=tid),
                              PRODUCE_RETRIABLE)
        return e, base

    e, pid, epoch = retrying("InitProducerId", lambda: xc.init_producer_id(tid, 60000, version=1),
                             COORD_RETRIABLE)
    ck.eq(e, NONE, f"[{label}] InitProducerId")
    ck.eq(retrying("AddPartitionsToTxn",
                   lambda: xc.add_partitions_to_txn(tid, pid, epoch, TOPIC, [p]), ()),
          {p: NONE}, f"[{label}] AddPartitionsToTxn")
    e, b = produce(0, b"first")
    ck.eq(e, NONE, f"[{label}] first transactional batch")
    ck.eq(write_marker(pc, pid, epoch, p, FORGED_EPOCH), NONE,
          f"[{label}] the forged newer coordinator's COMMIT marker")
    ck.eq(produce(1, b"second"), (NONE, b + 2), f"[{label}] second transactional batch")
    ck.eq(offsets(), (b + 3, b + 2), f"[{label}] (HW, LSO) with the second transaction open")

    t = time.monotonic()
    e = xc.end_txn(tid, pid, epoch, True)
    log(f"  EndTxn(commit) -> error {e} after {time.monotonic() - t:.2f}s")
    ck.eq(e, NOT_COORDINATOR, f"[{label}] EndTxn(commit) of the fenced coordinator")
    e = xc.end_txn(tid, pid, epoch, True)
    ck.eq(e, COORDINATOR_LOAD_IN_PROGRESS, f"[{label}] EndTxn again: the log partition is not loaded")
    ck.eq(offsets(), (b + 3, b + 2), f"[{label}] (HW, LSO) after the refused commit")
    time.sleep(1.5)
    ck.eq(offsets(), (b + 3, b + 2), f"[{label}] (HW, LSO) 1.5 s later: nothing retried")
    ck(log_contains(c.node(coord).log_path, "no longer acting for that partition's transactional ids"),
       f"[{label}] node {coord}'s log says it stopped acting")


def scenario(ck, c):
    conns = NodeConns(c, b"brook-cce", ANSWER_WITHIN)
    try:
        ck.eq(conns(1).create_topic(TOPIC, PARTS), NONE, f"CreateTopics {TOPIC}")
        leaders = wait_topic_led(c, TOPIC, PARTS)
        log(f"{TOPIC} leaders {leaders}")
        remote = local = None
        for i in range(400):
            tid = f"cce-{i}"
            err, node, _ = retrying("FindCoordinator", lambda: conns(1).find_coordinator(tid, 1),
                                    (COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE))
            if err:
                continue
            other = [p for p in sorted(leaders) if leaders[p] != node]
            same = [p for p in sorted(leaders) if leaders[p] == node]
            if remote is None and other:
                remote = (tid, node, other[0])
            elif (local is None and same and remote is not None
                  and txn_partition(tid) != txn_partition(remote[0])):
                local = (tid, node, same[0])
            if remote and local:
                break
        ck(remote is not None and local is not None,
           "transactional ids with a remote and a local participant")
        case(ck, c, conns, leaders, *remote, "remote participant")
        case(ck, c, conns, leaders, *local, "local participant")
    finally:
        conns.close()


def main():
    os.environ["BROOK_FAILPOINT_ANY_COORDINATOR_EPOCH"] = "1"  # the nodes inherit it
    return cluster_test_main("cluster_coordinator_epoch", "cce", CONFIG, scenario, dump_logs, log, T0)


if __name__ == "__main__":
    run_main(main)
