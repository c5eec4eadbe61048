#!/usr/bin/python3
"""A leader elected while its ISR is below min.insync.replicas cuts its unacknowledged tail
(#12's second duplicate path, docs/reliability.md and src/repl/repl.h "frozen HW").

Three nodes, min.insync.replicas 2, one RF 3 partition led by the controller A:
 1. Two records are committed with every replica up (high watermark 2).
 2. B and C are paused (SIGSTOP): the ISR shrinks to A alone, and A records its high
    watermark (2) in the partition state as the frozen one.
 3. Three acks=1 records are appended at A (offsets 2-4): durable there, above the high
    watermark, so never acknowledged to an acks=all producer.
 4. A is SIGKILLed and restarted while B and C stay paused: the controller (A again)
    elects A in a new epoch with the ISR still below min, and A cuts its log back to 2
    before it starts the epoch (its log says so).
 5. B and C resume and rejoin; an acks=all record lands at offset 2, where the tail was,
    and the partition reads exactly the two committed records and that one.
Before the cut, A kept the tail, committed it once the ISR grew back, and a producer that
had meanwhile sent those records again under new sequence numbers had them twice.

Then the same cut without a restart (chaos seed 20261207): A loses its ZooKeeper session
while it leads alone and a transaction's commit marker waits on the frozen high watermark.
 6. A transaction coordinated by A writes two records to a second partition (min.insync 2,
    led by A, full ISR); B and C are paused and the commit sent at once: the decision is
    logged (the transaction log needs one replica) and the marker appended at A, where the
    frozen high watermark then holds it (EndTxn is answered once markers are committed).
 7. A is paused past its session timeout and resumed alone: same process, new session,
    new epoch, ISR below min, so the marker is cut with the tail.
 8. B and C resume: the coordinator must have written the marker again in the new epoch,
    so read_committed sees both records. The marker used to be dropped instead (the
    replica still counted as leading when its waits failed, so it was not re-sent) and
    the transaction stayed open for ever: the last stable offset never moved again.
"""

import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Check, run_main, wait_until  # noqa: E402
import cluster_harness  # noqa: E402
from cluster_harness import (Cluster, log_contains, metadata, partition_state,  # noqa: E402
                             retrying)
from raw_kafka import READ_COMMITTED, READ_UNCOMMITTED, Conn, record_batch  # noqa: E402

TOPIC = "lone"
TXN_TOPIC = "lone-txn"
SESSION_MS = 4000
# Coordinator answers retried: NOT_AVAILABLE, LOAD_IN_PROGRESS, NOT_COORDINATOR, CONCURRENT.
COORDINATOR_BUSY = (15, 14, 16, 51)
T0 = time.monotonic()


def log(msg):
    print(f"[{time.monotonic() - T0:7.2f}s] {msg}", flush=True)


def state(node, topic=TOPIC):
    """(error, leader, replicas, isr) of topic/0 asked of node, or None."""
    try:
        return partition_state(node.bootstrap, topic, timeout=2.0).get(0)
    except (OSError, ConnectionError, ValueError):
        return None


def read_all(node, topic=TOPIC, isolation=READ_UNCOMMITTED):
    with Conn(node.bootstrap) as k:
        f = k.fetch(topic, 0, 0, isolation=isolation)
    if f["error"] != 0:
        return None
    return f["high_watermark"], [r[2] for b in f["batches"] for r in b["records"]
                                 if not b["control"]]


def txn_id_coordinated_by(node):
    """A transactional id whose coordinator is `node` (FindCoordinator), or None."""
    with Conn(node.bootstrap) as k:
        for i in range(200):
            tid = f"lone-txn-{i}"
            err, coord, _ = k.find_coordinator(tid)
            if err == 0 and coord == node.node_id:
                return tid
    return None


def cut_without_restart(ck, admin, a, b, cc):
    """Steps 6-8 of the module comment."""
    from confluent_kafka.admin import NewTopic
    admin.create_topics([NewTopic(TXN_TOPIC, 1, replica_assignment=[[a.node_id, b.node_id,
                                                                     cc.node_id]],
                                  config={"min.insync.replicas": "2"})])[TXN_TOPIC].result()
    wait_until(lambda: (lambda st: st and st[1] == a.node_id and len(st[3]) == 3)(
        state(a, TXN_TOPIC)), 30, interval=0.2, what=f"{TXN_TOPIC} led by {a.node_id}")
    tid = wait_until(lambda: txn_id_coordinated_by(a), 30, interval=0.5,
                     what=f"a transactional id coordinated by {a.node_id}")
    with Conn(a.bootstrap, answer_within=15.0) as k:
        err, pid, epoch = retrying("InitProducerId", lambda: k.init_producer_id(tid),
                                   COORDINATOR_BUSY, 20, log)
        ck.eq(err, 0, f"InitProducerId {tid}")
        ck.eq(retrying("AddPartitionsToTxn", lambda: k.add_partitions_to_txn(
            tid, pid, epoch, TXN_TOPIC, [0]).get(0, -1), COORDINATOR_BUSY, 20, log), 0,
            "AddPartitionsToTxn")
        e, off, _ = k.produce(TXN_TOPIC, 0, record_batch(pid, epoch, 0, [b"txn-0", b"txn-1"],
                                                         transactional=True),
                              transactional_id=tid)
        ck.eq((e, off), (0, 0), "transactional records (error, offset)")
    paused = [b, cc]
    for n in paused:
        os.kill(n.proc.pid, signal.SIGSTOP)
    committer = Conn(a.bootstrap, answer_within=60.0)
    try:
        # EndTxn is answered once the markers are committed: send it, read the answer later.
        committer.send(26, 1, Conn.end_txn_body(tid, pid, epoch, True))
        wait_until(lambda: log_contains(a.log_path, f"{TXN_TOPIC}-0: high watermark 2 below "
                                        "log end 3"), 30, interval=0.3,
                   what="the commit marker appended at A above the frozen high watermark")
        with Conn(a.bootstrap) as k:
            ck.eq(k.list_offset(TXN_TOPIC, 0), (0, 2), "the high watermark stays at 2")
        log(f"pausing {a.node_id} past its ZooKeeper session ({SESSION_MS} ms)")
        os.kill(a.proc.pid, signal.SIGSTOP)
        try:
            time.sleep(SESSION_MS / 1000 * 2.5)
        finally:
            os.kill(a.proc.pid, signal.SIGCONT)
        wait_until(lambda: log_contains(a.log_path, f"{TXN_TOPIC}-0: elected with the ISR "
                                        "below min (1 of 2): cutting the unacknowledged tail 3 -> 2"),
                   45, interval=0.3, what="the same process cuts the marker with its tail")
    finally:
        for n in paused:
            os.kill(n.proc.pid, signal.SIGCONT)
    try:
        r, _ = committer.answer("EndTxn v1 (commit)")
        ck.eq(Conn.end_txn_parse(r), 0, "EndTxn(commit) answered once the marker is committed")
    finally:
        committer.close()
    got = wait_until(lambda: (lambda r: r if r and r[1] else None)(
        read_all(a, TXN_TOPIC, READ_COMMITTED)), 60, interval=0.5,
        what="the committed transaction readable with read_committed")
    ck.eq(got[1], [b"txn-0", b"txn-1"], "read_committed sees the transaction's records")
    ck(not log_contains(a.log_path, "lost with the partition's leadership"),
       "no marker or prepare was dropped with the leadership")


def main():
    ck = Check("lone_leader_cut")
    if cluster_harness.skip_without_cluster_support():
        return 77
    # The internal topics need one replica (min.insync 1); the two test topics need two.
    cfg = {"replica.lag.time.max.ms": 2000, "min.insync.replicas": 1,
           "zookeeper.session.timeout.ms": SESSION_MS,
           "default.replication.factor": 3, "admin.listeners": "", "cluster.min.brokers": 1,
           "transaction.state.log.num.partitions": 3, "offsets.topic.num.partitions": 3}
    with Cluster(3, config=cfg, name="lone-cut") as c:
        ctrl = metadata(c.nodes[0].bootstrap)["controller"]
        a = c.node(ctrl)
        b, cc = [n for n in c.nodes if n.node_id != ctrl]
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": c.bootstrap_all})
        admin.create_topics([NewTopic(TOPIC, 1, replica_assignment=[[a.node_id, b.node_id,
                                                                     cc.node_id]],
                                      config={"min.insync.replicas": "2"})])[TOPIC].result()
        wait_until(lambda: (lambda st: st and st[1] == a.node_id and len(st[3]) == 3)(state(a)),
                   30, interval=0.2, what=f"{TOPIC} led by {a.node_id} with a full ISR")
        with Conn(a.bootstrap) as k:
            for i in range(2):
                ck.eq(k.produce(TOPIC, 0, record_batch(-1, -1, -1, [b"committed-%d" % i]))[:2],
                      (0, i), f"committed record {i} (error, offset)")
        log(f"controller and leader {a.node_id}; pausing {b.node_id} and {cc.node_id}")
        paused = [b, cc]
        for n in paused:
            os.kill(n.proc.pid, signal.SIGSTOP)
        try:
            st = wait_until(lambda: (lambda s: s if s and s[3] == [a.node_id] else None)(state(a)),
                            30, interval=0.2, what="the ISR shrunk to the leader alone")
            log(f"ISR shrunk: {st}")
            time.sleep(1.5)  # the leader's record of its frozen high watermark reaches ZooKeeper
            with Conn(a.bootstrap) as k:
                for i in range(3):
                    e, off, _ = k.produce(TOPIC, 0, record_batch(-1, -1, -1, [b"tail-%d" % i]),
                                          acks=1)
                    ck.eq((e, off), (0, 2 + i), f"acks=1 tail record {i} (error, offset)")
                ck.eq(k.list_offset(TOPIC, 0), (0, 2), "the high watermark stays at 2")
            log(f"SIGKILL and restart of {a.node_id}, {b.node_id} and {cc.node_id} still paused")
            a.crash_restart()
            wait_until(lambda: log_contains(a.log_path, "cutting the unacknowledged tail 5 -> 2"),
                       45, interval=0.3, what="the restarted leader cuts its tail back to 2")
            st = wait_until(lambda: (lambda s: s if s and s[1] == a.node_id else None)(state(a)),
                            30, interval=0.2, what=f"{a.node_id} leads again")
            log(f"led again: {st}")
        finally:
            for n in paused:
                os.kill(n.proc.pid, signal.SIGCONT)
        wait_until(lambda: (lambda s: s and len(s[3]) == 3)(state(a)), 45, interval=0.3,
                   what="every replica back in the ISR")
        with Conn(a.bootstrap, answer_within=15.0) as k:
            e, off, _ = k.produce(TOPIC, 0, record_batch(-1, -1, -1, [b"after"]))
        ck.eq((e, off), (0, 2), "an acks=all record after the heal lands where the tail was")
        got = wait_until(lambda: (lambda r: r if r and r[0] >= 3 else None)(read_all(a)), 30,
                         interval=0.3, what="the partition readable to offset 3")
        ck.eq(got, (3, [b"committed-0", b"committed-1", b"after"]),
              "the partition holds the committed records and the new one, no tail")
        cut_without_restart(ck, admin, a, b, cc)
    log("done")
    return ck.done()


if __name__ == "__main__":
    run_main(main)
