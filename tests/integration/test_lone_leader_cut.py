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
"""

import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Check, find_brookd, run_main, wait_until  # noqa: E402
import cluster_harness  # noqa: E402
from cluster_harness import Cluster, log_contains, metadata, partition_state  # noqa: E402
from raw_kafka import Conn, record_batch  # noqa: E402

TOPIC = "lone"
T0 = time.monotonic()


def log(msg):
    print(f"[{time.monotonic() - T0:7.2f}s] {msg}", flush=True)


def state(node):
    """(error, leader, replicas, isr) of TOPIC/0 asked of node, or None."""
    try:
        return partition_state(node.bootstrap, TOPIC, timeout=2.0).get(0)
    except (OSError, ConnectionError, ValueError):
        return None


def read_all(node):
    with Conn(node.bootstrap) as k:
        f = k.fetch(TOPIC, 0, 0)
    if f["error"] != 0:
        return None
    return f["high_watermark"], [r[2] for b in f["batches"] for r in b["records"]]


def main():
    ck = Check("lone_leader_cut")
    try:
        cluster_harness.require_cluster_support(find_brookd())
    except Exception as e:
        print(f"skipped: {e}")
        return 77
    cfg = {"replica.lag.time.max.ms": 2000, "min.insync.replicas": 2,
           "default.replication.factor": 3, "admin.listeners": "", "cluster.min.brokers": 1,
           "transaction.state.log.num.partitions": 3, "offsets.topic.num.partitions": 3}
    with Cluster(3, config=cfg, name="lone-cut") as c:
        ctrl = metadata(c.nodes[0].bootstrap)["controller"]
        a = c.node(ctrl)
        b, cc = [n for n in c.nodes if n.node_id != ctrl]
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": c.bootstrap_all})
        admin.create_topics([NewTopic(TOPIC, 1, replica_assignment=[[a.node_id, b.node_id,
                                                                     cc.node_id]])])[TOPIC].result()
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
    log("done")
    return ck.done()


if __name__ == "__main__":
    run_main(main)
