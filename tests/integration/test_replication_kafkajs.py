#!/usr/bin/python3
"""Replication under leader SIGKILLs with a kafkajs 2.2.4 idempotent producer (issue #11:
"acks=all producers from librdkafka and kafkajs"; test_replication.py covers librdkafka).

A real 3-node cluster over a real ZooKeeper; topic "repkjsN": 3 partitions, replication
factor 3, min.insync.replicas 2 (broker default), auto.leader.rebalance.enable on (so a
restarted node takes its preferred partitions back: more leader changes under load).

1. Every partition has replicas and ISR {1,2,3} (the first of the names repkjs0, repkjs1, ...
   whose partitions' leaders are the 3 nodes, so the kills hit every node).
2. js/repl_producer_kafkajs.js: one kafkajs producer (idempotent: true, maxInFlightRequests
   1, acks -1, unlimited retries as kafkajs requires) writes numbered records "P:N" to all
   3 partitions, one send loop per partition; a send failed anyway is sent again with the
   same records (same sequence numbers).  It logs every acknowledgement with its base offset.
3. Nine times (partitions 0, 1, 2, three rounds): once the partition has a full ISR, its leader is
   SIGKILLed at a random moment under load; a new leader from the ISR must show in Metadata
   within 5 s and kafkajs's writes to that partition must be acknowledged again within 20 s;
   the node is restarted and the cluster is ready and the ISR full again before the next.
4. The producer is stopped (bounded); every send ended.  Every acknowledged record is read
   back with librdkafka (confluent-kafka, a second client) exactly once, at the offset it
   was acknowledged at (the base offset of its batch + its index: a retried duplicate must
   get its original offset), in send order per partition, and the partitions hold nothing
   else than records this producer sent, none twice, offsets contiguous.
5. The script's `fresh` mode (the chaos campaign's): with a loop for a partition the topic
   lacks, that loop's failed sends are given up (never sent again) and the other loops'
   acknowledged records are stored once.

BROOK_REPL_KJS_SEED replays the kill timing.  Every wait is bounded; everything started is
stopped.  Exit 77 (skipped) without node/kafkajs or cluster support."""

import os
import random
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Check, kafkajs_node, run_main  # noqa: E402
import cluster_harness  # noqa: E402
from cluster_harness import Cluster, partition_state, require_cluster_support  # noqa: E402
from test_replication import wait_for  # noqa: E402

JS = os.path.join(HERE, "js")
NODE = shutil.which("node") or shutil.which("nodejs")
TOPIC = "repkjs"
NPARTS = 3
KILLS = [0, 1, 2] * 3
CONFIG = {"default.replication.factor": 3, "min.insync.replicas": 2,
          "replica.lag.time.max.ms": 2000, "num.partitions": NPARTS,
          "transaction.state.log.num.partitions": 3, "offsets.topic.num.partitions": 3}
T0 = time.monotonic()


def state_of(c, p):
    return cluster_harness.state_of(c, TOPIC, p)


def log(msg):
    print(f"[repl-kafkajs] {time.monotonic() - T0:7.2f}s {msg}", flush=True)


class AckLog:
    """The script's ack log, parsed incrementally: acks[p] = [(base, first_n, count)]."""

    def __init__(self, path):
        self.path = path
        self.pos = 0
        self.acks = {p: [] for p in range(NPARTS)}
        self.errors = []
        self.done = None
        self.latencies = []

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except FileNotFoundError:
            return self
        end = data.rfind(b"\n")
        if end < 0:
            return self
        self.pos += end + 1
        for line in data[:end].decode().splitlines():
            kind, _, rest = line.partition(" ")
            if kind == "A":
                p, base, first, count, ms = map(int, rest.split())
                self.acks[p].append((base, first, count))
                self.latencies.append(ms)
            elif kind == "E":
                self.errors.append(rest)
            elif kind == "D":
                self.done = rest
        return self

    def acked_records(self, p):
        return sum(c for _, _, c in self.acks[p])


def full_isr(c, p):
    s = state_of(c, p)
    return s if s and s[1] > 0 and len(s[3]) == 3 else None


def kill_leaders(ck, c, acklog, rng):
    elected, resumed = [], []
    for k, p in enumerate(KILLS):
        wait_for(f"partition {p} led with a full ISR", lambda: full_isr(c, p), 60)
        time.sleep(rng.uniform(0.3, 2.0))  # a random moment under load
        st = wait_for(f"partition {p} led with a full ISR", lambda: full_isr(c, p), 30)
        leader = st[1]
        before = acklog.poll().acked_records(p)
        t0 = time.monotonic()
        c.node(leader).kill()
        wait_for(f"a new leader of partition {p}", lambda: (
            (s := state_of(c, p)) and s[1] > 0 and s[1] != leader), 30, step=0.02)
        elected.append(time.monotonic() - t0)
        wait_for(f"a kafkajs write to partition {p} acknowledged after the kill",
                 lambda: acklog.poll().acked_records(p) > before, 60, step=0.02)
        resumed.append(time.monotonic() - t0)
        log(f"kill {k + 1}/{len(KILLS)}: partition {p}'s leader node {leader}: new leader in "
            f"Metadata after {elected[-1]:.2f}s, next kafkajs ack after {resumed[-1]:.2f}s")
        c.node(leader).start()
        c.wait_ready(60)
        for q in range(NPARTS):
            wait_for(f"partition {q} with a full ISR after node {leader}'s restart",
                     lambda: full_isr(c, q), 60)
    ck(max(elected) < 5.0, f"a new leader in Metadata within 5 s of every kill: {elected}")
    # kafkajs's own recovery (metadata refresh, retry backoff up to 1 s) comes on top.
    ck(max(resumed) < 20.0, f"kafkajs writes acknowledged again within 20 s of every kill: {resumed}")


def read_back(bootstrap, topic, nparts):
    """{partition: [(offset, value)]} from offset 0 to the high watermark, by librdkafka."""
    from ck_helpers import consumer, read_partition
    from test_txn_common import quiet_logger
    out = {}
    for p in range(nparts):
        cons = consumer(bootstrap, {"logger": quiet_logger()})
        try:
            out[p] = [(m.offset(), m.value().decode()) for m in
                      read_partition(cons, topic, p, 0, timeout=60)]
        finally:
            cons.close()
    return out


def check_read_back(ck, acklog, got):
    total = 0
    for p in range(NPARTS):
        recs = got[p]
        values = [v for _, v in recs]
        dups = len(values) - len(set(values))
        ck.eq(dups, 0, f"partition {p}: records stored twice")
        ck.eq([o for o, _ in recs], list(range(len(recs))), f"partition {p}: contiguous offsets from 0")
        foreign = [v for v in values if not v.startswith(f"{p}:")]
        ck.eq(foreign[:5], [], f"partition {p}: records this producer did not send there")
        at = dict(recs)
        wrong = []
        last = -1
        order_ok = True
        for base, first, count in acklog.acks[p]:
            for i in range(count):
                want = f"{p}:{first + i}"
                if at.get(base + i) != want:
                    wrong.append((base + i, want, at.get(base + i)))
                total += 1
            if base <= last:
                order_ok = False
            last = base + count - 1
        ck.eq(wrong[:5], [], f"partition {p}: acknowledged records at their acknowledged offsets "
              f"({len(wrong)} wrong of {acklog.acked_records(p)}) (offset, wanted, found)")
        ck(order_ok, f"partition {p}: acknowledgements in send order have increasing offsets")
        # Sent-order within the partition: the numbers read back only grow.
        nums = [int(v.split(":")[1]) for v in values if v.startswith(f"{p}:")]
        ck(nums == sorted(nums), f"partition {p}: records stored in send order")
    return total


def check_fresh_mode(ck, c, admin):
    """The chaos campaign's `fresh` mode of the script: after a failed send its records are
    given up and the loop goes on with new ones on a new producer. Made to fail for good by
    a loop for a partition the topic does not have (kafkajs answers such a send with no
    metadata); the other loops must go on undisturbed and store every record once."""
    from confluent_kafka.admin import NewTopic
    topic = "repkjsfresh"
    for f in admin.create_topics([NewTopic(topic, NPARTS - 1, 3)]).values():
        f.result(30)
    wait_for(f"{topic}'s partitions led", lambda: (
        (s := partition_state(c.bootstrap, topic)) and len(s) == NPARTS - 1 and
        all(v[1] > 0 for v in s.values())), 30)
    path = os.path.join(c.tmp, "fresh-acks.log")
    proc = subprocess.Popen([NODE, os.path.join(JS, "repl_producer_kafkajs.js"), c.bootstrap_all,
                             topic, str(NPARTS), path, "f", "fresh"], cwd=JS,
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    fresh = AckLog(path)
    try:
        wait_for("three failed sends and acknowledged writes in fresh mode", lambda: (
            len(fresh.poll().errors) >= 3 and fresh.acked_records(0) >= 50), 60)
    finally:
        proc.stdin.write(b"stop\n")
        proc.stdin.close()
        try:
            rc = proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait(10)
    ck.eq(rc, 0, "fresh mode: the producer ended within 60 s, exit code")
    fresh.poll()
    failed = [int(e.split()[1]) for e in fresh.errors if e.split()[0] == str(NPARTS - 1)]
    ck(len(failed) >= 3 and failed == sorted(set(failed)),
       f"fresh mode: each failed send's records given up, never sent again: {failed[:6]}")
    ck(fresh.done is not None and "pending=0" in fresh.done, f"fresh mode: {fresh.done}")
    for p, recs in read_back(c.bootstrap_all, topic, NPARTS - 1).items():
        values = [v for _, v in recs]
        acked = {f"f:{p}:{first + i}" for _, first, n in fresh.acks[p] for i in range(n)}
        ck(len(acked) > 0 and acked <= set(values) and len(values) == len(set(values)),
           f"fresh mode: partition {p}'s {len(acked)} acknowledged records stored once "
           f"({len(values)} read)")


def main():
    if not NODE:
        print("node not found: skipped")
        return 77
    require_cluster_support(os.environ.get("BROOKD"))
    if not kafkajs_node(JS):
        return 77
    seed = int(os.environ.get("BROOK_REPL_KJS_SEED", "0")) or random.randrange(1, 1 << 30)
    log(f"seed {seed} (BROOK_REPL_KJS_SEED replays the kill timing)")
    rng = random.Random(seed)
    ck = Check("replication_kafkajs")
    with Cluster(3, config=CONFIG, name="replkjs") as c:
        c.wait_ready(60)
        from confluent_kafka.admin import AdminClient, NewTopic
        from test_txn_common import quiet_logger
        a = AdminClient({"bootstrap.servers": c.bootstrap_all, "logger": quiet_logger()})
        # Placement hashes the topic's name: take the first name whose 3 partitions'
        # (preferred) leaders are the 3 nodes, so the kills hit every node.
        global TOPIC
        for i in range(40):
            TOPIC = f"repkjs{i}"
            for f in a.create_topics([NewTopic(TOPIC, NPARTS, 3)]).values():
                f.result(30)
            st = wait_for(f"{TOPIC}'s partitions led with a full ISR", lambda: (
                (s := partition_state(c.bootstrap, TOPIC)) and len(s) == NPARTS and
                all(v[1] > 0 and len(v[3]) == 3 for v in s.values()) and s), 30)
            if sorted(v[1] for v in st.values()) == [1, 2, 3]:
                break
        log(f"topic {TOPIC}: leaders {[st[p][1] for p in range(NPARTS)]}")
        ck.eq(sorted(v[1] for v in st.values()), [1, 2, 3], f"{TOPIC}'s leaders are the 3 nodes")
        ck(all(v[2] == [1, 2, 3] and v[3] == [1, 2, 3] for v in st.values()),
           f"every partition has replicas and ISR {{1,2,3}}: {st}")
        c.wait_ready(60)

        ack_path = os.path.join(c.tmp, "acks.log")
        acklog = AckLog(ack_path)
        script_log = open(os.path.join(c.tmp, "producer.log"), "wb")
        proc = subprocess.Popen([NODE, os.path.join(JS, "repl_producer_kafkajs.js"), c.bootstrap_all,
                                 TOPIC, str(NPARTS), ack_path], cwd=JS, stdin=subprocess.PIPE,
                                stdout=script_log, stderr=subprocess.STDOUT)
        try:
            wait_for("the first acknowledged kafkajs writes", lambda: all(
                acklog.poll().acked_records(p) >= 50 for p in range(NPARTS)), 60)
            log("producing; killing leaders")
            kill_leaders(ck, c, acklog, rng)
            time.sleep(1.0)
            proc.stdin.write(b"stop\n")
            proc.stdin.close()
            try:
                rc = proc.wait(60)
            except subprocess.TimeoutExpired:
                rc = None
            ck.eq(rc, 0, "the kafkajs producer ended (every send finished) within 60 s, exit code")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            script_log.close()
            with open(os.path.join(c.tmp, "producer.log"), "rb") as f:
                sys.stdout.write(f.read().decode("utf-8", "replace"))
        acklog.poll()
        log(f"producer: {acklog.done}; {len(acklog.errors)} failed sends (sent again)"
            + (f", e.g. {acklog.errors[:3]}" if acklog.errors else ""))
        ck(acklog.done is not None and "pending=0" in acklog.done,
           f"every send ended, acknowledged or failed: {acklog.done}")
        lat = sorted(acklog.latencies)
        log(f"send latency ms: p50 {lat[len(lat) // 2]}, p99 {lat[len(lat) * 99 // 100]}, max {lat[-1]}")
        total_acked = sum(acklog.acked_records(p) for p in range(NPARTS))
        ck(total_acked >= 1000, f"enough acknowledged records to mean something ({total_acked})")
        c.wait_ready(60)
        got = read_back(c.bootstrap_all, TOPIC, NPARTS)
        n = check_read_back(ck, acklog, got)
        log(f"{n} acknowledged records read back by librdkafka once, at their offsets, in order "
            f"(partitions hold {[len(got[p]) for p in range(NPARTS)]})")
        check_fresh_mode(ck, c, a)
        log("fresh mode: failed sends given up, the other partitions' records stored once")
    return ck.done()


if __name__ == "__main__":
    run_main(main)
