#!/usr/bin/python3
"""An offset commit that arrives on a connection opened before its node gave up a
coordinator partition is dropped with the connection (src/broker/cluster.c,
cluster_drop_stale_conn), on a 2-node cluster, on the raw Kafka protocol.

Found by the chaos campaign (chaos_fresh, seed 243552082, docs/reliability.md): a client
whose path to the group coordinator was cut closed that connection and committed again,
newer offsets, at the coordinator that took over; its kernel kept retransmitting the old
OffsetCommit, which reached the first node once it was coordinator again and moved the
group's offsets 7,500 back. Here the same bytes are sent late on purpose:

1. Group G's coordinator is node N; OffsetCommit of offset 100 on connection `old` to N.
2. N is paused (SIGSTOP) until the other node A coordinates G; offset 200 committed there.
   (min.insync.replicas is 1 on the offsets topic, so either node can go on alone.)
3. N resumes (SIGCONT), gives up the offsets partition (its log says so) and catches up.
4. A is SIGKILLed: N coordinates G again and a new connection reads 200.
5. The late commit of 100 on `old`: N closes the connection without answering (without
   the fix it answered NONE and the group went back to 100), a new connection to N still
   reads 200, and N's log names the closed connection."""

import os
import signal
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import run_main  # noqa: E402
import cluster_harness  # noqa: E402
from cluster_harness import (cluster_test_main, dump_log_lines, log_contains,  # noqa: E402
                             state_of)
from raw_kafka import (COORD_RETRIABLE, NONE, NOT_COORDINATOR, Conn, Reader,  # noqa: E402
                       incremental_alter_configs, s16)
from raw_txn_v2 import offset_fetch  # noqa: E402

TOPIC = "stale"
OFFSETS = "__consumer_offsets"
CONFIG = {"offsets.topic.num.partitions": 1, "transaction.state.log.num.partitions": 1}
ANSWER_WITHIN = 15.0
RETRY_FOR = 30.0
STALE = "opened before this node gave up a coordinator partition"

T0 = time.monotonic()


def log(msg):
    print(f"[{time.monotonic() - T0:7.2f}s] {msg}", flush=True)


def dump_logs(c, why):
    dump_log_lines(c, why, lambda ln: "[zk]" in ln or "[cluster]" in ln or "[group]" in ln
                   or "WARN" in ln or "ERROR" in ln)


def offset_commit(conn, group, offset):
    """OffsetCommit v2 of TOPIC/0 (generation -1: a group without members) -> error."""
    body = (s16(group) + struct.pack(">i", -1) + s16(b"") + struct.pack(">q", -1)
            + struct.pack(">i", 1) + s16(TOPIC) + struct.pack(">i", 1)
            + struct.pack(">iq", 0, offset) + s16(b""))
    rd = Reader(conn.request(8, 2, body, "OffsetCommit v2")[0])
    rd.take(">i")
    rd.string()
    rd.take(">i")
    return rd.take(">ih")[1]


def coordinator(c, node, group):
    """The node id FindCoordinator(group) asked of `node` names; None if it cannot say."""
    try:
        with Conn(c.node(node).bootstrap, answer_within=ANSWER_WITHIN) as conn:
            err, n, _ = conn.find_coordinator(group, 0)
            return n if err == NONE else None
    except (OSError, ConnectionError, AssertionError):
        return None


def wait_for(what, fn, timeout=RETRY_FOR):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout}s")


def commit_at(c, node, group, offset):
    """OffsetCommit on a new connection to node, retried while the coordinator settles."""
    def once():
        with Conn(c.node(node).bootstrap, answer_within=ANSWER_WITHIN) as conn:
            return offset_commit(conn, group, offset)
    return cluster_harness.retrying("OffsetCommit", once, COORD_RETRIABLE + (NOT_COORDINATOR,),
                                    RETRY_FOR, log)


def committed_at(c, node, group):
    """(offset, error) of TOPIC/0 in group, OffsetFetch on a new connection to node."""
    with Conn(c.node(node).bootstrap, answer_within=ANSWER_WITHIN) as conn:
        return offset_fetch(conn, group, TOPIC, [0])[0]


def scenario(ck, c):
    group = "stale-conn"
    with Conn(c.node(1).bootstrap, answer_within=ANSWER_WITHIN) as conn:
        ck.eq(conn.create_topic(TOPIC, 1, replication=2), NONE, f"CreateTopics {TOPIC}")
        # Two replicas of the offsets topic, each able to go on alone (a 2-node cluster
        # gets min.insync.replicas 2 there).
        ck.eq(incremental_alter_configs(conn, 2, OFFSETS, [("min.insync.replicas", 0, "1")])[0],
              NONE, f"min.insync.replicas=1 on {OFFSETS}")
    n = wait_for("a coordinator for the group", lambda: coordinator(c, 1, group))
    a = 3 - n
    log(f"[1] node {n} coordinates {group!r}; node {a} is the other")
    old = Conn(c.node(n).bootstrap, answer_within=ANSWER_WITHIN)
    paused = False
    try:
        ck.eq(offset_commit(old, group, 100), NONE, "[1] commit 100 on `old`")
        os.kill(c.node(n).proc.pid, signal.SIGSTOP)
        paused = True
        log(f"[2] node {n} paused until node {a} coordinates the group")
        wait_for(f"node {a} coordinating", lambda: coordinator(c, a, group) == a,
                 timeout=c.session_timeout_ms / 1000 + RETRY_FOR)
        ck.eq(commit_at(c, a, group, 200), NONE, f"[2] commit 200 at node {a}")
        os.kill(c.node(n).proc.pid, signal.SIGCONT)
        paused = False
        log(f"[3] node {n} resumed; waiting until it is back in the offsets partition's ISR")
        wait_for(f"node {n} giving up {OFFSETS}-0", lambda: log_contains(
            c.node(n).log_path, f"{OFFSETS}-0: no longer led here"))
        wait_for(f"node {n} in the ISR of {OFFSETS}-0",
                 lambda: (state_of(c, OFFSETS, 0) or (0, 0, [], []))[3] == [1, 2])
        log(f"[4] SIGKILL node {a}")
        c.node(a).kill()
        wait_for(f"node {n} coordinating again", lambda: coordinator(c, n, group) == n)
        got = cluster_harness.retrying("OffsetFetch", lambda: committed_at(c, n, group)[1],
                                       COORD_RETRIABLE + (NOT_COORDINATOR,), RETRY_FOR, log)
        ck.eq(got, NONE, f"[4] OffsetFetch at node {n}")
        ck.eq(committed_at(c, n, group), (200, NONE), f"[4] node {n} holds 200")
        log("[5] the late commit of 100 on `old`")
        try:
            err = offset_commit(old, group, 100)
            ck(False, f"[5] the late commit on `old` was answered ({err}), not dropped")
        except ConnectionError:
            ck(True, "[5] the late commit's connection was closed without an answer")
        ck.eq(committed_at(c, n, group), (200, NONE), f"[5] node {n} still holds 200")
        ck(log_contains(c.node(n).log_path, STALE), f"[5] node {n}'s log says why it closed")
    finally:
        if paused:
            os.kill(c.node(n).proc.pid, signal.SIGCONT)
        old.close()


def main():
    return cluster_test_main("cluster_stale_conn", "stale", CONFIG, scenario, dump_logs, log,
                             T0, nodes=2)


if __name__ == "__main__":
    run_main(main)
