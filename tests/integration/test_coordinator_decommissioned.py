#!/usr/bin/python3
"""send_offsets_to_transaction after the group's coordinator died and left Metadata
(librdkafka#5511, open in 2.15.1; docs/reliability.md, the seed-94 stall).

librdkafka caches a group's coordinator. Since 2.10 it decommissions a broker that leaves
Metadata, which a dead node does (in Kafka and in Brook). A coordinator request that finds
the cached coordinator down waits for some broker's connection to go up or down before it
looks the coordinator up again; a decommissioned handle never changes state, so with every
other connection steady the request, and send_offsets_to_transaction (which waits for it
with no timeout), hangs for good. CI's chaos slice met it. The workaround the campaign uses
is a client setting: connections.max.idle.ms closes idle connections, each close is a state
change, and a producer stuck in that call has only idle connections.

Three nodes, RF 3, one offsets partition (so every group has the same coordinator):
 1. With connections.max.idle.ms=3000: a transaction commits offsets of group A (its
    coordinator is now cached), the coordinator is SIGKILLed, and once the client has
    decommissioned it the next transaction's send_offsets_to_transaction must complete
    and the transaction commit (within 30 s); the committed offset is read back.
 2. The dead node restarts and rejoins. Without the setting, the same steps with group B:
    the call is expected to hang (reported, not asserted: a librdkafka that fixed #5511
    would complete it, and this test then says so).
"""

import logging
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import run_main, suite_librdkafka, wait_until  # noqa: E402
from cluster_harness import cluster_test_main, dump_log_lines, partition_state  # noqa: E402
from raw_kafka import Conn  # noqa: E402

T0 = time.monotonic()
OUT, IN = "decom-out", "decom-in"
_keep = []  # clients of a hung call: never destroyed (rd_kafka_destroy would wait on it)


def log(msg):
    print(f"[{time.monotonic() - T0:7.2f}s] {msg}", flush=True)


def coordinator(node, group):
    """The node FindCoordinator asked of node names for group, or None."""
    try:
        with Conn(node.bootstrap) as k:
            err, coord, _ = k.find_coordinator(group, 0)
        return coord if err == 0 else None
    except (OSError, ConnectionError, ValueError):
        return None


class TxnClient:
    """A transactional producer (debug log in logpath) and a consumer of group, whose
    metadata goes into each transaction's offsets."""

    def __init__(self, c, tid, group, idle_ms, logpath):
        from confluent_kafka import Consumer, Producer
        self.logpath = logpath
        lg = logging.getLogger(tid)
        lg.addHandler(logging.FileHandler(logpath, "w"))
        lg.setLevel(logging.DEBUG)
        conf = {"bootstrap.servers": c.bootstrap_all, "transactional.id": tid,
                "topic.metadata.refresh.interval.ms": 1000, "debug": "broker,eos"}
        if idle_ms:
            conf["connections.max.idle.ms"] = idle_ms
        self.p = Producer(conf, logger=lg)
        self.p.init_transactions(30)
        self.consumer = Consumer({"bootstrap.servers": c.bootstrap_all, "group.id": group})
        self.md = self.consumer.consumer_group_metadata()
        _keep.append(self)

    def txn(self, offset):
        from confluent_kafka import TopicPartition
        self.p.begin_transaction()
        for part in range(3):
            self.p.produce(OUT, b"v%d" % offset, partition=part)
        self.p.send_offsets_to_transaction([TopicPartition(IN, 0, offset)], self.md, 30)
        self.p.commit_transaction(30)

    def decommissioned(self, node_id):
        """Whether the client has decommissioned its handle of node_id (not a bootstrap
        handle: those are decommissioned once the nodes' ids are known). Polls: the
        client's log lines reach the logger from poll()."""
        self.p.poll(0)
        with open(self.logpath, errors="replace") as f:
            return f"/{node_id}: Decommissioning this broker" in f.read()

    def txn_within(self, offset, seconds):
        """Runs txn(offset) on a thread; (seconds it took, None) or (None, error), or
        (None, "hung") when it has not returned within seconds (the thread is left)."""
        out = {}

        def run():
            t0 = time.monotonic()
            try:
                self.txn(offset)
                out["took"] = time.monotonic() - t0
            except Exception as e:  # noqa: BLE001 - reported as the outcome
                out["err"] = str(e)
        th = threading.Thread(target=run, daemon=True)
        th.start()
        th.join(seconds)
        if th.is_alive():
            return None, "hung"
        return out.get("took"), out.get("err")


def committed(c, group):
    """group's committed offset of IN-0, asked by a new consumer."""
    from confluent_kafka import Consumer, TopicPartition
    cons = Consumer({"bootstrap.servers": c.bootstrap_all, "group.id": group})
    try:
        return cons.committed([TopicPartition(IN, 0)], timeout=30)[0].offset
    finally:
        cons.close()


def kill_coordinator(ck, c, cl, group):
    """SIGKILLs group's coordinator once cl has it cached; returns a live node after the
    coordinator moved and cl decommissioned the dead one."""
    coord = coordinator(c.nodes[0], group) or coordinator(c.nodes[1], group)
    ck(coord is not None, f"{group}: a coordinator")
    log(f"{group}: coordinator {coord}; SIGKILL")
    c.node(coord).kill()
    live = next(n for n in c.nodes if n.node_id != coord)
    new = wait_until(lambda: (lambda n: n if n and n != coord else None)(
        coordinator(live, group)), 60, 0.2, "the coordinator to move")
    log(f"{group}: coordinator now {new}")
    wait_until(lambda: cl.decommissioned(coord), 60, 0.2,
               "the client to decommission the dead node")
    return coord


def scenario(ck, c):
    with Conn(c.bootstrap) as k:
        ck.eq(k.create_topic(IN, 1, 3), 0, f"create {IN}")
        ck.eq(k.create_topic(OUT, 3, 3), 0, f"create {OUT}")
    tmp = c.tmp
    a = TxnClient(c, "decom-a", "decom-group-a", 3000, os.path.join(tmp, "client-a.log"))
    a.txn(1)
    dead = kill_coordinator(ck, c, a, "decom-group-a")
    took, err = a.txn_within(2, 30)
    ck(took is not None, f"with connections.max.idle.ms the next transaction commits: {err}")
    log(f"with the workaround: committed in {took}")
    ck.eq(committed(c, "decom-group-a"), 2, "decom-group-a's committed offset")

    c.node(dead).start()
    for topic in ("__consumer_offsets", OUT):
        wait_until(lambda: all(len(st[3]) == 3 for st in
                               partition_state(c.nodes[dead % 3].bootstrap, topic).values()),
                   60, 0.2, f"{topic} back in sync on three nodes")
    b = TxnClient(c, "decom-b", "decom-group-b", 0, os.path.join(tmp, "client-b.log"))
    b.txn(1)
    kill_coordinator(ck, c, b, "decom-group-b")
    took, err = b.txn_within(2, 20)
    if err == "hung":
        log("without it: send_offsets_to_transaction hung 20 s (librdkafka#5511 as expected)")
    else:
        log(f"without it: the transaction ended ({took} s, {err}): librdkafka#5511 fixed?")


def on_librdkafka_with_decommission():
    """Re-executes this test on librdkafka 2.15.1's build unless the loaded librdkafka
    decommissions brokers (2.10 and later); returns 77 (skipped) when there is none."""
    import confluent_kafka
    if confluent_kafka.libversion()[1] >= 0x020a0000:
        return None
    lib = suite_librdkafka()
    if not lib or os.environ.get("LD_LIBRARY_PATH") == lib:
        print(f"librdkafka {confluent_kafka.libversion()[0]} does not decommission brokers and "
              "the 2.15.1 build is not available: skipped", flush=True)
        return 77
    os.execve(sys.executable, [sys.executable] + sys.argv,
              dict(os.environ, LD_LIBRARY_PATH=lib))


def main():
    rc = on_librdkafka_with_decommission()
    if rc is not None:
        return rc
    import confluent_kafka
    log(f"librdkafka {confluent_kafka.libversion()[0]}")
    cfg = {"min.insync.replicas": 2, "zookeeper.session.timeout.ms": 4000,
           "replica.lag.time.max.ms": 2000, "offsets.topic.num.partitions": 1,
           "transaction.state.log.num.partitions": 1, "admin.listeners": ""}
    return cluster_test_main("coordinator_decommissioned", "decom", cfg, scenario,
                             lambda c, why: dump_log_lines(c, why, lambda ln: "[zk]" in ln),
                             log, T0)


if __name__ == "__main__":
    run_main(main)
