#!/usr/bin/python3
"""A producer's batch refused by the old leader as leadership moves, and its next batch
arriving at the new leader first (#12's last duplicates, chaos seed 20261209 in session 25,
docs/reliability.md): the gap must be answered with a retriable error (NOT_ENOUGH_REPLICAS),
not OUT_OF_ORDER_SEQUENCE_NUMBER, which makes librdkafka bump its epoch and renumber batches
of other partitions it holds as possibly persisted (written twice). librdkafka 2.15.1 does
send that way: its debug log showed a NOT_LEADER_FOR_PARTITION answer from the old leader
and, 2 ms later, the next batch refused OUT_OF_ORDER by the new one.

Three nodes; the controller is C, the topic's one partition has replicas [A, C, B] (A leads):
 1. An idempotent producer's batch 0 is committed at A (so C's replica holds it).
 2. A is stopped (SIGTERM): its controlled shutdown hands the partition to C. (Batch 1 is
    the one the old leader refused.)
 3. Batch 2 goes to C, which leads now and holds batch 0 only: NOT_ENOUGH_REPLICAS (45,
    OUT_OF_ORDER, before the change).
 4. The producer sends batch 1, then batch 2: both written; a gap after that is the
    producer's own (it has written through C): OUT_OF_ORDER as before.
 5. The partition reads the three values once each.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Check, run_main, wait_until  # noqa: E402
import cluster_harness  # noqa: E402
from cluster_harness import partition_state  # noqa: E402
from raw_kafka import Conn, record_batch  # noqa: E402
from test_produce_leader_move import handover_cluster  # noqa: E402

TOPIC = "refused-gap"
NOT_LEADER_OR_FOLLOWER = 6
NOT_ENOUGH_REPLICAS = 19
OUT_OF_ORDER = 45


def main():
    ck = Check("produce_refused_gap")
    if cluster_harness.skip_without_cluster_support():
        return 77
    with handover_cluster("refused-gap", TOPIC) as (c, a, b, cn):
        ctrl = cn.node_id
        with Conn(a.bootstrap) as k:
            err, pid, epoch = k.init_producer_id()
            ck.eq(err, 0, "InitProducerId")

            def batch(seq):
                return record_batch(pid, epoch, seq, [f"v{seq}".encode()])
            ck.eq(k.produce(TOPIC, 0, batch(0))[0], 0,
                  "batch 0 is committed at A with every replica in sync")
        a.stop()  # controlled shutdown: C takes the partition over
        wait_until(lambda: (lambda s: s and s[1] == ctrl)(
            partition_state(cn.bootstrap, TOPIC).get(0)), 30, interval=0.2,
            what=f"{TOPIC} led by {ctrl}")
        with Conn(cn.bootstrap) as k:
            # C may be named leader a moment before it takes the epoch: NOT_LEADER then
            def second():
                e = k.produce(TOPIC, 0, batch(2))[0]
                return None if e == NOT_LEADER_OR_FOLLOWER else e
            ck.eq(wait_until(second, 30, interval=0.2, what="an answer from C as leader"),
                  NOT_ENOUGH_REPLICAS, "batch 2 at the new leader C before batch 1: "
                  "NOT_ENOUGH_REPLICAS (retriable), not OUT_OF_ORDER_SEQUENCE_NUMBER (45)")
            ck.eq(k.produce(TOPIC, 0, batch(1))[0], 0, "batch 1 sent again is written")
            ck.eq(k.produce(TOPIC, 0, batch(2))[0], 0, "then batch 2")
            ck.eq(k.produce(TOPIC, 0, batch(4))[0], OUT_OF_ORDER,
                  "a gap of a producer that wrote through C: OUT_OF_ORDER_SEQUENCE_NUMBER")
            f = k.fetch(TOPIC, 0, 0)
        values = [r[2] for bt in f["batches"] for r in bt["records"]]
        ck.eq(values, [b"v0", b"v1", b"v2"], "the partition holds each value once, in order")
    return ck.done()


if __name__ == "__main__":
    run_main(main)
