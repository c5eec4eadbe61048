#!/usr/bin/python3
"""A node that ZooKeeper no longer answers stops acting as a coordinator before another node
could take its coordinators over (src/cluster/zk.c, "the lease"), on a 3-node cluster, on
the raw Kafka protocol (raw_kafka.py).

Found by the chaos campaign (docs/reliability.md): a node cut off from ZooKeeper kept
answering OffsetFetch from its cached group state after its session had expired and
another node had taken the offsets partition over, so a consumer read committed offsets
~1150 lower than the ones committed since.

1. A transactional id and a group coordinated by node N: InitProducerId answers NONE.
2. A short lapse: ZooKeeper is paused (SIGSTOP) until N's log says its lease lapsed; an
   OffsetFetch sent then waits (coordinator.lease.wait.ms) instead of being refused, and is
   answered NONE once ZooKeeper resumes (SIGCONT) and the lease is back. (Refused at once,
   requests were retried by clients after newer ones: librdkafka's refused auto-commit
   landed after the commit it made at close, and the group kept the older offsets.)
3. A long lapse: ZooKeeper is paused for 3/4 of the session timeout and a margin: node N
   answers InitProducerId and OffsetFetch with COORDINATOR_LOAD_IN_PROGRESS once they have
   waited coordinator.lease.wait.ms (FindCoordinator still names it), and its log says the
   lease lapsed. Produce (acks=all) to a partition N leads still succeeds: a leader needs
   its followers, not ZooKeeper, to acknowledge.
4. ZooKeeper resumes (SIGCONT): within a bounded time InitProducerId answers NONE again
   and the log says the lease is held."""

import os
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import run_main  # noqa: E402
import cluster_harness  # noqa: E402
from cluster_harness import (NodeConns, cluster_test_main, dump_log_lines,  # noqa: E402
                             log_contains, log_count, wait_topic_led)
from raw_txn_v2 import offset_fetch  # noqa: E402
from raw_kafka import (COORD_RETRIABLE, COORDINATOR_LOAD_IN_PROGRESS,  # noqa: E402
                       COORDINATOR_NOT_AVAILABLE, NONE, NOT_COORDINATOR, PRODUCE_RETRIABLE,
                       record_batch)

TOPIC = "lease"
PARTS = 3
WAIT_S = 5.0  # coordinator.lease.wait.ms
CONFIG = {"transaction.state.log.num.partitions": 3, "offsets.topic.num.partitions": 3,
          "coordinator.lease.wait.ms": int(WAIT_S * 1000)}
LAPSED = "ZooKeeper lease lapsed"
ANSWER_WITHIN = 15.0
RETRY_FOR = 20.0
BACK_WITHIN = 45.0

T0 = time.monotonic()


def log(msg):
    print(f"[{time.monotonic() - T0:7.2f}s] {msg}", flush=True)


def retrying(what, fn, retriable):
    return cluster_harness.retrying(what, fn, retriable, RETRY_FOR, log)


def dump_logs(c, why):
    dump_log_lines(c, why, lambda ln: "[zk]" in ln or "WARN" in ln or "ERROR" in ln)


def fetch_error(conn, group, part):
    """The error OffsetFetch v1 of TOPIC/part in group answers (per partition)."""
    return offset_fetch(conn, group, TOPIC, [part])[part][1]


def coordinated_by(conns, key_type, node, prefix):
    """A key of key_type (0 group, 1 transactional id) whose coordinator is node."""
    for i in range(300):
        key = f"{prefix}-{i}"
        err, n, _ = retrying("FindCoordinator", lambda: conns(node).find_coordinator(key, key_type),
                             (COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE))
        if err == NONE and n == node:
            return key
    return None


def scenario(ck, c):
    conns = NodeConns(c, b"brook-lease", ANSWER_WITHIN)
    zk_pid = c.zk.proc.pid
    paused = False
    try:
        ck.eq(conns(1).create_topic(TOPIC, PARTS, replication=3), NONE, f"CreateTopics {TOPIC}")
        leaders = wait_topic_led(c, TOPIC, PARTS)
        node = tid = group = part = None
        for n in sorted({ld for ld in leaders.values()}):
            tid = coordinated_by(conns, 1, n, "lease-txn")
            group = coordinated_by(conns, 0, n, "lease-group")
            if tid is not None and group is not None:
                node, part = n, min(p for p in leaders if leaders[p] == n)
                break
        ck(node is not None, f"a node leading a {TOPIC} partition and coordinating a "
           f"transactional id and a group (leaders {leaders})")
        log(f"node {node}: leads {TOPIC}/{part}, coordinates {tid!r} and {group!r}")
        conn = conns(node)
        e, _, _ = retrying("InitProducerId", lambda: conn.init_producer_id(tid, 60000, version=1),
                           COORD_RETRIABLE)
        ck.eq(e, NONE, "[1] InitProducerId with ZooKeeper up")
        ck.eq(retrying("OffsetFetch", lambda: fetch_error(conn, group, part),
                       COORD_RETRIABLE), NONE, "[1] OffsetFetch with ZooKeeper up")

        log(f"[2] SIGSTOP ZooKeeper (pid {zk_pid}) until node {node}'s lease lapses")
        path = c.node(node).log_path
        lapsed = log_count(path, LAPSED)
        os.kill(zk_pid, signal.SIGSTOP)
        paused = True
        deadline = time.monotonic() + c.session_timeout_ms / 1000 + 5
        while log_count(path, LAPSED) == lapsed and time.monotonic() < deadline:
            time.sleep(0.05)
        ck(log_count(path, LAPSED) > lapsed, f"[2] node {node}'s log says its lease lapsed")
        got = {}

        def held_fetch():
            t0 = time.monotonic()
            got["err"] = fetch_error(conn, group, part)
            got["s"] = time.monotonic() - t0

        th = threading.Thread(target=held_fetch)
        th.start()
        time.sleep(0.5)
        os.kill(zk_pid, signal.SIGCONT)
        paused = False
        th.join(ANSWER_WITHIN + 5)
        log(f"[2] OffsetFetch sent without the lease: {got}")
        ck.eq(got.get("err"), NONE, "[2] OffsetFetch sent during a short lapse, answered "
              "once ZooKeeper resumed")
        ck(got.get("s", 0) >= 0.4, "[2] that OffsetFetch waited for the lease")

        # Wait until the lease is back before the long lapse.
        e, _, _ = retrying("InitProducerId", lambda: conn.init_producer_id(tid, 60000, version=1),
                           COORD_RETRIABLE)
        ck.eq(e, NONE, "[2] InitProducerId after the short lapse")
        lapse_s = c.session_timeout_ms * 0.75 / 1000 + 2.0
        log(f"[3] SIGSTOP ZooKeeper (pid {zk_pid}) for {lapse_s:.1f}s")
        os.kill(zk_pid, signal.SIGSTOP)
        paused = True
        time.sleep(lapse_s)
        # FindCoordinator still names the node (src/broker/cluster.c says why); the
        # coordinator requests themselves are refused once they have waited.
        ck.eq(conn.find_coordinator(tid, 1)[:2], (NONE, node),
              "[3] FindCoordinator(transactional id) without the lease names the node")
        t0 = time.monotonic()
        ck.eq(conn.init_producer_id(tid, 60000, version=1)[0], COORDINATOR_LOAD_IN_PROGRESS,
              "[3] InitProducerId without the lease")
        waited = time.monotonic() - t0
        ck(WAIT_S - 0.5 <= waited < ANSWER_WITHIN,
           f"[3] it was refused after waiting coordinator.lease.wait.ms ({waited:.1f}s)")
        ck.eq(fetch_error(conn, group, part), COORDINATOR_LOAD_IN_PROGRESS,
              "[3] OffsetFetch without the lease")
        rb = record_batch(-1, -1, -1, [b"while ZooKeeper is paused"])
        e, _, _ = conn.produce(TOPIC, part, rb, "Produce (acks=all) without ZooKeeper")
        ck.eq(e, NONE, f"[3] Produce to {TOPIC}/{part} (acks=all) while ZooKeeper is paused")

        log("[4] SIGCONT ZooKeeper")
        os.kill(zk_pid, signal.SIGCONT)
        paused = False
        deadline = time.monotonic() + BACK_WITHIN
        e = None
        while time.monotonic() < deadline:
            e = conn.init_producer_id(tid, 60000, version=1)[0]
            if e == NONE:
                break
            ck(e in COORD_RETRIABLE + (NOT_COORDINATOR,), f"[4] a retriable answer ({e})")
            time.sleep(0.2)
        log(f"[4] InitProducerId -> {e} {time.monotonic() - deadline + BACK_WITHIN:.1f}s "
            "after SIGCONT")
        ck.eq(e, NONE, f"[4] InitProducerId within {BACK_WITHIN}s of ZooKeeper resuming")
        ck(log_contains(c.node(node).log_path, "ZooKeeper lease held"),
           f"[4] node {node}'s log says its lease is held again")
        e, _, _ = retrying("Produce", lambda: conns(node).produce(
            TOPIC, part, record_batch(-1, -1, -1, [b"after"]), "Produce after"),
            PRODUCE_RETRIABLE)
        ck.eq(e, NONE, "[4] Produce after ZooKeeper resumed")
    finally:
        if paused:
            os.kill(zk_pid, signal.SIGCONT)
        conns.close()


def main():
    return cluster_test_main("cluster_zk_lease", "lease", CONFIG, scenario, dump_logs, log, T0)


if __name__ == "__main__":
    run_main(main)
