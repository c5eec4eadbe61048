#!/usr/bin/python3
"""A produce waiting for replication when its partition's leadership moves (#12's seed
20261206 duplicates, docs/reliability.md): the answer must say "possibly persisted"
(REQUEST_TIMED_OUT), not NOT_LEADER_OR_FOLLOWER, which librdkafka takes for "not persisted"
and, after an epoch bump, sends again under new sequence numbers (written twice).

Three nodes; the controller is C, the topic's one partition has replicas [A, C, B] (A leads)
with replica.lag.time.max.ms long enough that nobody leaves the ISR during the test:
 1. B is paused (SIGSTOP): an acks=all produce to A is appended there (and fetched by C) but
    cannot reach the high watermark, so it waits.
 2. A is stopped (SIGTERM): its controlled shutdown hands the partition to C, and A answers
    the waiting produce: REQUEST_TIMED_OUT (7).
 3. B resumes: the record is committed under C after all, exactly once, which is why the
    answer had to be "possibly persisted".
"""

import contextlib
import os
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Check, run_main, wait_until  # noqa: E402
import cluster_harness  # noqa: E402
from cluster_harness import Cluster, metadata, partition_state  # noqa: E402
from raw_kafka import Conn, record_batch  # noqa: E402

TOPIC = "moving"
REQUEST_TIMED_OUT = 7


@contextlib.contextmanager
def handover_cluster(name, topic):
    """Three nodes that keep every replica in the ISR for a minute; `topic`'s one partition
    has replicas [A, C, B] where C is the controller, so that C is the next preferred
    leader when A leaves. Yields (cluster, A, B, C) once A leads with the full ISR."""
    cfg = {"replica.lag.time.max.ms": 60000, "min.insync.replicas": 2,
           "default.replication.factor": 3, "admin.listeners": "",
           "transaction.state.log.num.partitions": 3, "offsets.topic.num.partitions": 3}
    with Cluster(3, config=cfg, name=name) as c:
        ctrl = metadata(c.nodes[0].bootstrap)["controller"]
        a, b = [n for n in c.nodes if n.node_id != ctrl][:2]
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": c.bootstrap_all})
        admin.create_topics([NewTopic(topic, 1, replica_assignment=[[a.node_id, ctrl,
                                                                     b.node_id]])])[topic].result()
        wait_until(lambda: (lambda st: st and st[1] == a.node_id and len(st[3]) == 3)(
            partition_state(a.bootstrap, topic).get(0)), 30, interval=0.2,
            what=f"{topic} led by {a.node_id} with a full ISR")
        yield c, a, b, c.node(ctrl)


def main():
    ck = Check("produce_leader_move")
    if cluster_harness.skip_without_cluster_support():
        return 77
    # (B, paused below, still looks fine to the controller: C takes over from A)
    with handover_cluster("leader-move", TOPIC) as (c, a, b, cn):
        ctrl = cn.node_id
        with Conn(a.bootstrap) as k:  # one record committed first: the partition works
            ck.eq(k.produce(TOPIC, 0, record_batch(-1, -1, -1, [b"before"]))[0], 0,
                  "a first record is committed with every replica up")
        os.kill(b.proc.pid, signal.SIGSTOP)
        answer = {}

        def produce():
            with Conn(a.bootstrap, answer_within=60.0) as k:
                answer["err"] = k.produce(TOPIC, 0, record_batch(-1, -1, -1, [b"in-doubt"]),
                                          timeout_ms=60000)[0]
        try:
            t = threading.Thread(target=produce, daemon=True)
            t.start()
            time.sleep(1.5)
            ck(t.is_alive(), "the produce waits while B is paused (no answer yet)")
            stopper = threading.Thread(target=a.stop, daemon=True)
            stopper.start()  # controlled shutdown: C takes the partition over
            t.join(45)
            ck.eq(answer.get("err"), REQUEST_TIMED_OUT,
                  "the waiting produce is answered REQUEST_TIMED_OUT (possibly persisted)")
            stopper.join(45)
        finally:
            os.kill(b.proc.pid, signal.SIGCONT)
        st = wait_until(lambda: (lambda s: s if s and s[1] == ctrl else None)(
            partition_state(cn.bootstrap, TOPIC).get(0)), 30, interval=0.2,
            what=f"{TOPIC} led by {ctrl}")
        ck(st[1] == ctrl, f"C leads now: {st}")

        def read_all():
            with Conn(cn.bootstrap) as k:
                f = k.fetch(TOPIC, 0, 0)
            if f["error"] != 0 or f["high_watermark"] < 2:
                return None
            return [r[2] for batch in f["batches"] for r in batch["records"]]
        values = wait_until(read_all, 30, interval=0.3, what="both records committed under C")
        ck.eq(values, [b"before", b"in-doubt"],
              "the record answered REQUEST_TIMED_OUT is committed after all, once")
    return ck.done()


if __name__ == "__main__":
    run_main(main)
