#!/usr/bin/python3
"""A Jepsen-style fault campaign against a replicated Brook cluster (issue #12).

Starts a real ZooKeeper and an N-node Brook cluster on loopback (tests/integration's
cluster_harness), runs concurrent client workloads for --seconds while a nemesis injects
faults on a schedule drawn from --seed, then heals everything, waits for the cluster to
settle, reads all data back and checks it. Every run prints its seed; the same seed gives
the same schedule and the same workload choices (the targets a fault picks by role, such
as "the leader of partition 2", depend on the cluster's state at that moment).

Faults (each on one node, the leader of a partition, the node leading a transaction
coordinator, a minority, a majority or all nodes; ZooKeeper faults on ZooKeeper):
  kill     SIGKILL, restarted after the fault's duration
  pause    SIGSTOP for longer than the session and replica lag timeouts, then SIGCONT
  zk-kill  ZooKeeper SIGKILLed, restarted after the duration
  zk-pause ZooKeeper SIGSTOPped, then SIGCONT
  isolate  the node's network cut off from everything (other nodes, ZooKeeper, clients):
           each node runs in its own network namespace on a bridge the harness makes
           (--netns; root and iproute2 needed), and the fault takes its link down
  power    a power cut: SIGKILL, then every file the node wrote is cut back to what it had
           fsynced (the LD_PRELOAD shim tests/chaos/powerloss.c records that; its path in
           BROOK_POWERLOSS_LIB), restarted after the duration
A fault every 2-6 s, in mixes that rotate every ~20 s, with quiet periods between.

Workloads (librdkafka through python3-confluent-kafka):
  queue  idempotent acks=all producers writing unique values to the partitions of topic
         "queue" (RF 3, min.insync.replicas 2), each acknowledged (partition, offset) kept
  txn    a transactional producer: each transaction writes 1-3 values to each of 1-3
         partitions of topic "txn" and commits or aborts (chosen by the seed); outcomes
         kept (committed, aborted, or unknown when commit raised a non-fatal error)

Checker (Jepsen's definitions as reference), counting:
  lost              acknowledged queue values not read back (an acknowledgement without an
                    offset, librdkafka's implicit ack, is checked for presence only and
                    counted as acked_without_offset, not an anomaly)
  duplicated        values read back more than once
  inconsistent      acknowledged values read at another offset than acknowledged
  unexpected        values read that no producer sent
  reordered         per producer and partition, acknowledged values read out of order
  aborted_read      values of aborted transactions seen by a read_committed reader
  torn              transactions seen in part by a read_committed reader
  lost_commit       committed transactions not seen at all
The run fails (exit 1) when any count is not 0, and prints a JSON summary either way.

  python3 tests/chaos/chaos.py --seconds 60 --seed 7        # CI's slice (ctest chaos_short)
  make chaos CHAOS_SECONDS=600                              # long, random seed
Everything started is stopped; every wait is bounded."""

import argparse
import atexit
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from brook_harness import find_brookd  # noqa: E402
import cluster_harness  # noqa: E402
from cluster_harness import Cluster, require_cluster_support  # noqa: E402

QUEUE, TXN = "queue", "txn"
NPARTS = 6
SESSION_MS = 4000   # zookeeper.session.timeout.ms of the nodes
LAG_MS = 3000       # replica.lag.time.max.ms
CONFIG = {"default.replication.factor": 3, "min.insync.replicas": 2,
          "replica.lag.time.max.ms": LAG_MS, "num.partitions": NPARTS,
          "transaction.state.log.num.partitions": 3, "offsets.topic.num.partitions": 3,
          "auto.create.topics.enable": "false"}
MIXES = [("kill",), ("pause",), ("kill", "pause"), ("zk-kill", "zk-pause"),
         ("kill", "pause", "zk-pause"), ("power",), ("power", "pause"), ("isolate",),
         ("isolate", "kill", "zk-pause")]
TARGETS = ["one", "leader", "coordinator", "minority", "majority", "all"]


def log(msg):
    print(f"[chaos {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ------------------------------------------------------------------ the nemesis

class Nemesis:
    """Draws the schedule from rng and applies it; heal() undoes whatever is in force.
    It runs on the main thread: the harness starts brokers with PR_SET_PDEATHSIG, which the
    kernel ties to the starting thread, so a broker restarted from a thread that then ends
    would be killed with it."""

    def __init__(self, c, rng, seconds, faults):
        self.c, self.rng, self.seconds = c, rng, seconds
        self.mixes = [m for m in MIXES if all(f in faults for f in m)] or [tuple(faults)]
        self.stopped, self.killed, self.isolated, self.zk_state = set(), set(), set(), "up"
        self.events, self.cut = [], []
        self.net = None  # a Net when the nodes run in network namespaces

    def schedule(self):
        """[(at_s, fault, target, duration_s)], drawn before the run starts."""
        out, t, mix_until, mix = [], 3.0, 0.0, None
        while t < self.seconds - 2:
            if t >= mix_until:
                mix = self.rng.choice(self.mixes)
                mix_until = t + self.rng.uniform(15, 25)
                t += self.rng.uniform(2, 4)  # a quiet period between mixes
                continue
            fault = self.rng.choice(mix)
            target = self.rng.choice(TARGETS) if not fault.startswith("zk") else "zk"
            base = (SESSION_MS + LAG_MS) / 1000 if "pause" in fault or fault == "isolate" else 1.0
            dur = round(self.rng.uniform(base, base + 3), 2)
            out.append((round(t, 2), fault, target, dur))
            t += dur + self.rng.uniform(2, 6)
        return out

    def nodes_for(self, target):
        ids = [n.node_id for n in self.c.nodes]
        up = [i for i in ids if i not in self.stopped and i not in self.killed]
        if target == "one":
            return [self.rng.choice(ids)]
        if target == "leader":
            p = self.rng.randrange(NPARTS)
            ld = leader_of(self.c, QUEUE, p)
            return [ld] if ld else [self.rng.choice(ids)]
        if target == "coordinator":
            ld = leader_of(self.c, "__transaction_state",
                           cluster_harness.txn_partition("chaos-txn", 3))
            return [ld] if ld else [self.rng.choice(ids)]
        if target == "minority":
            return self.rng.sample(ids, (len(ids) - 1) // 2)
        if target == "majority":
            return self.rng.sample(ids, len(ids) // 2 + 1)
        return ids if up else []

    def apply(self, fault, target, dur):
        if fault == "zk-kill":
            self.c.zk.kill()
            self.zk_state = "killed"
        elif fault == "zk-pause":
            self.c.zk.proc.send_signal(signal.SIGSTOP)
            self.zk_state = "stopped"
        else:
            for nid in self.nodes_for(target):
                n = self.c.node(nid)
                if nid in self.killed or nid in self.stopped or nid in self.isolated or \
                        not n.running():
                    continue
                if fault == "kill":
                    n.kill()
                    self.killed.add(nid)
                elif fault == "isolate":
                    self.net.isolate(nid, True)
                    self.isolated.add(nid)
                elif fault == "power":
                    n.kill()
                    self.killed.add(nid)
                    self.cut.append((nid, power_cut(n)))
                else:
                    n.proc.send_signal(signal.SIGSTOP)
                    self.stopped.add(nid)
        self.events.append((round(time.monotonic() - self.t0, 2), fault, target,
                            sorted(self.killed), sorted(self.stopped), self.zk_state))
        log(f"nemesis: {fault} {target} for {dur}s (killed {sorted(self.killed)}, "
            f"paused {sorted(self.stopped)}, isolated {sorted(self.isolated)}, "
            f"zk {self.zk_state})")
        time.sleep(dur)
        self.heal()

    def heal(self):
        if self.zk_state == "stopped":
            self.c.zk.proc.send_signal(signal.SIGCONT)
        elif self.zk_state == "killed":
            self.c.zk.start()
        self.zk_state = "up"
        for nid in sorted(self.stopped):
            self.c.node(nid).proc.send_signal(signal.SIGCONT)
        self.stopped.clear()
        for nid in sorted(self.isolated):
            self.net.isolate(nid, False)
        self.isolated.clear()
        for n in self.c.nodes:  # the killed ones, and any that died on its own
            if not n.running():
                n.start()
        self.killed.clear()

    def run(self):
        """Applies the schedule; returns when it is done and everything is healed."""
        self.plan = self.schedule()
        log(f"nemesis: {len(self.plan)} faults planned: "
            + ", ".join(f"{a}s {f}/{t}/{d}s" for a, f, t, d in self.plan))
        self.t0 = time.monotonic()
        for at, fault, target, dur in self.plan:
            wait = at - (time.monotonic() - self.t0)
            if wait > 0:
                time.sleep(wait)
            try:
                self.apply(fault, target, dur)
            except Exception as e:  # a fault that could not be made is logged, not fatal
                log(f"nemesis: {fault} {target} failed: {e!r}")
                self.heal()
        left = self.seconds - (time.monotonic() - self.t0)
        if left > 0:
            time.sleep(left)
        self.heal()


class Net:
    """A bridge in this namespace (ZooKeeper and the clients on its address) and one network
    namespace per node, joined to it by a veth pair; isolate() takes a node's link down
    (two-way: from the other nodes, ZooKeeper and the clients alike). Everything made is
    removed by close(), also at exit."""

    def __init__(self, n):
        tag = os.getpid() % 100000
        self.net = 10 + tag % 200  # 10.<net>.<sub>.0/24, distinct per run
        self.sub = tag // 200 % 250 + 1
        self.br = f"ckb{tag}"
        self.ns = {i: f"ck{tag}n{i}" for i in range(1, n + 1)}
        self.veth = {i: f"ck{tag}v{i}" for i in range(1, n + 1)}
        self.made = []
        atexit.register(self.close)
        try:
            self.build(n)
        except BaseException:
            self.close()
            raise

    def build(self, n):
        self.ip("link", "add", self.br, "type", "bridge")
        self.made.append(("link", self.br))
        self.ip("addr", "add", f"{self.host_ip()}/24", "dev", self.br)
        self.ip("link", "set", self.br, "up")
        for i in self.ns:
            ns, v = self.ns[i], self.veth[i]
            self.ip("netns", "add", ns)
            self.made.append(("netns", ns))
            self.ip("link", "add", v, "type", "veth", "peer", "name", v + "p")
            self.made.append(("link", v))
            self.ip("link", "set", v + "p", "netns", ns)
            self.ip("link", "set", v, "master", self.br, "up")
            self.ip("-n", ns, "addr", "add", f"{self.node_ip(i)}/24", "dev", v + "p")
            self.ip("-n", ns, "link", "set", v + "p", "up")
            self.ip("-n", ns, "link", "set", "lo", "up")

    def host_ip(self):
        return f"10.{self.net}.{self.sub}.1"

    def node_ip(self, i):
        return f"10.{self.net}.{self.sub}.{10 + i}"

    @staticmethod
    def ip(*args):
        subprocess.run(["ip", *args], check=True, timeout=20, capture_output=True)

    def isolate(self, i, cut):
        self.ip("link", "set", self.veth[i], "down" if cut else "up")

    def close(self):
        for kind, name in reversed(self.made):
            subprocess.run(["ip", kind, "del", name], timeout=20, capture_output=True)
        self.made = []


def netns_ok():
    """Whether this process may make network namespaces (root, iproute2)."""
    return os.geteuid() == 0 and shutil.which("ip") is not None


POWER_RECORD = struct.Struct("<qii496s")  # powerloss.c's pl_record


def power_cut(node):
    """After node's SIGKILL: truncates every file it wrote to the size it had last made
    durable (powerloss.c's records), as a power failure would leave it. Returns the bytes
    dropped."""
    dropped = 0
    with open(node.extra_env["BROOK_POWERLOSS_STATE"], "rb") as f:
        data = f.read()
    for off in range(0, len(data) - POWER_RECORD.size + 1, POWER_RECORD.size):
        durable, live, _pad, raw = POWER_RECORD.unpack_from(data, off)
        path = raw.split(b"\0", 1)[0].decode()
        if not live or not path:
            continue
        try:
            size = os.path.getsize(path)
        except OSError:
            continue
        if size > durable:
            os.truncate(path, durable)
            dropped += size - durable
    return dropped


def leader_of(c, topic, p):
    for n in c.nodes:
        if not n.running():
            continue
        try:
            st = cluster_harness.partition_state(n.bootstrap, topic, timeout=1.0)
            ld = st[p][1] if st and p in st else None
            if ld and ld > 0:
                return ld
        except Exception:
            continue
    return None


# ------------------------------------------------------------------ workloads

class QueueWorkload:
    """Idempotent acks=all producers; acked[value] = (partition, offset)."""

    def __init__(self, bootstrap, rng, producers=2):
        from confluent_kafka import Producer
        self.acked, self.failed, self.sent = {}, 0, set()
        self.halt = threading.Event()
        self.threads = []
        for i in range(producers):
            p = Producer({"bootstrap.servers": bootstrap, "acks": "all",
                          "enable.idempotence": True, "linger.ms": 5,
                          "message.timeout.ms": 60000, "retry.backoff.ms": 100,
                          "reconnect.backoff.max.ms": 1000,
                          "topic.metadata.refresh.interval.ms": 1000})
            seed = rng.randrange(1 << 30)
            self.threads.append(threading.Thread(target=self.run, args=(i, p, seed), daemon=True))

    def run(self, pid, prod, seed):
        rng = random.Random(seed)
        n = 0

        def report(err, msg):
            if err:
                self.failed += 1
            else:
                self.acked[msg.value()] = (msg.partition(), msg.offset())

        while not self.halt.is_set():
            v = b"q:%d:%d" % (pid, n)
            part = rng.randrange(NPARTS)
            try:
                prod.produce(QUEUE, value=v, partition=part, on_delivery=report)
                self.sent.add(v)
                n += 1
            except BufferError:
                prod.poll(0.05)
            prod.poll(0)
            time.sleep(0.002)
        prod.flush(90)

    def start(self):
        for t in self.threads:
            t.start()

    def stop(self):
        self.halt.set()
        for t in self.threads:
            t.join(120)


class TxnWorkload:
    """One transactional producer; outcome[txn] in committed/aborted/unknown, values[txn]
    the values it wrote."""

    def __init__(self, bootstrap, rng):
        self.bootstrap = bootstrap
        self.rng = random.Random(rng.randrange(1 << 30))
        self.outcome, self.values = {}, {}
        self.halt = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)

    def producer(self):
        from confluent_kafka import Producer
        p = Producer({"bootstrap.servers": self.bootstrap, "transactional.id": "chaos-txn",
                      "transaction.timeout.ms": 20000, "message.timeout.ms": 20000,
                      "reconnect.backoff.max.ms": 1000, "linger.ms": 2})
        p.init_transactions(30)
        return p

    def finish(self, p, name, commit):
        """Commits or aborts the open transaction `name`, retrying retriable errors; returns
        the producer to go on with, or None (a fatal error: its outcome stays unknown and
        the next producer's InitProducerId fences it)."""
        from confluent_kafka import KafkaException
        for _ in range(5):
            try:
                (p.commit_transaction if commit else p.abort_transaction)(30)
                self.outcome[name] = "committed" if commit else "aborted"
                return p
            except KafkaException as e:
                err = e.args[0]
                if err.txn_requires_abort() and commit:
                    return self.finish(p, name, False)
                if not err.retriable():
                    return None
                time.sleep(0.2)
        return None

    def run(self):
        from confluent_kafka import KafkaException
        p, k = None, 0
        while not self.halt.is_set():
            try:
                if p is None:
                    p = self.producer()
            except KafkaException:
                time.sleep(0.5)
                continue
            k += 1
            name = b"t%d" % k
            self.outcome[name] = "unknown"
            self.values[name] = vals = []
            try:
                p.begin_transaction()
                for part in self.rng.sample(range(NPARTS), self.rng.randint(1, 3)):
                    for j in range(self.rng.randint(1, 3)):
                        v = b"%s:%d:%d" % (name, part, j)
                        p.produce(TXN, value=v, partition=part)
                        vals.append(v)
            except (KafkaException, BufferError):
                p = self.finish(p, name, False)
                continue
            p = self.finish(p, name, self.rng.random() >= 0.25)

    def start(self):
        self.t.start()

    def stop(self):
        self.halt.set()
        self.t.join(120)


# ------------------------------------------------------------------ read back and check

def wait_stable(bootstrap, topic, timeout=90):
    """Bounded wait until every partition's last stable offset (ListOffsets as a
    read_committed consumer asks it) is its high watermark: every transaction decided,
    markers written (in-doubt ones are completed by the coordinators after the faults)."""
    from confluent_kafka import Consumer, TopicPartition
    cs = {iso: Consumer({"bootstrap.servers": bootstrap, "group.id": f"chaos-lso-{iso}",
                         "isolation.level": iso})
          for iso in ("read_committed", "read_uncommitted")}
    deadline = time.monotonic() + timeout
    try:
        while True:
            ends = {iso: [c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
                          for p in range(NPARTS)] for iso, c in cs.items()}
            if ends["read_committed"] == ends["read_uncommitted"]:
                return
            if time.monotonic() > deadline:
                log(f"{topic}: last stable offsets {ends['read_committed']} still below the "
                    f"high watermarks {ends['read_uncommitted']}")
                return
            time.sleep(0.5)
    finally:
        for c in cs.values():
            c.close()


def read_back(bootstrap, topic, committed_only, timeout=120):
    """[(partition, offset, value)] of every record up to each partition's end."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"chaos-read-{time.time_ns()}",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest",
                  "isolation.level": "read_committed" if committed_only else "read_uncommitted",
                  "enable.partition.eof": True})
    ends = {}
    for p in range(NPARTS):
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
        ends[p] = hi
    c.assign([TopicPartition(topic, p, 0) for p in range(NPARTS)])
    out, eof = [], set(p for p, hi in ends.items() if hi == 0)
    deadline = time.monotonic() + timeout
    while len(eof) < NPARTS and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == -191:  # _PARTITION_EOF
                if m.offset() >= ends[m.partition()] or committed_only:
                    eof.add(m.partition())
            continue
        out.append((m.partition(), m.offset(), m.value()))
    c.close()
    if len(eof) < NPARTS:
        raise AssertionError(f"{topic}: read back timed out ({sorted(eof)} at their end)")
    return out


EXAMPLES = {}  # anomaly -> up to 5 examples, for the summary


def note(counts, kind, example):
    counts[kind] += 1
    ex = EXAMPLES.setdefault(kind, [])
    if len(ex) < 5:
        ex.append(example)


def check_queue(q, got):
    counts = {"lost": 0, "duplicated": 0, "inconsistent": 0, "unexpected": 0, "reordered": 0,
              "acked_without_offset": 0}
    seen = {}
    for part, off, v in got:
        if v in seen:
            note(counts, "duplicated", f"{v.decode()} at {seen[v]} and {(part, off)}")
        else:
            seen[v] = (part, off)
        if v not in q.sent:
            note(counts, "unexpected", f"{v!r} at {(part, off)}")
    for v, where in q.acked.items():
        if v not in seen:
            note(counts, "lost", f"{v.decode()} acknowledged at {where}")
        elif where[1] is None:
            # librdkafka acknowledges a message without an offset when a later batch of the
            # same idempotent producer succeeded while this one's answer was lost (its
            # "implicit ack": the broker could only take the later sequence after this
            # one). Only its presence can be checked.
            counts["acked_without_offset"] += 1
        elif seen[v] != where:
            note(counts, "inconsistent",
                 f"{v.decode()} acknowledged at {where}, read at {seen[v]}")
    last = {}
    for part, off, v in sorted(got):
        if v not in q.acked:
            continue
        _, pid, n = v.split(b":")
        key = (part, pid)
        if key in last and int(n) < last[key]:
            note(counts, "reordered", f"{v.decode()} at {(part, off)} after n={last[key]}")
        last[key] = int(n)
    return counts


def check_txn(t, got):
    counts = {"aborted_read": 0, "torn": 0, "lost_commit": 0, "unknown_visible": 0}
    seen = {}
    for _part, _off, v in got:
        name = v.split(b":")[0]
        seen.setdefault(name, set()).add(v)
    for name, outcome in t.outcome.items():
        want = set(t.values.get(name, []))
        vis = seen.get(name, set())
        if outcome == "aborted" and vis:
            note(counts, "aborted_read", f"{name.decode()}: {len(vis)} of its values seen")
        elif vis and vis != want:
            note(counts, "torn", f"{name.decode()} ({outcome}): {len(vis)} of {len(want)} seen")
        elif outcome == "committed" and want and not vis:
            note(counts, "lost_commit", f"{name.decode()}: none of {len(want)} seen")
        elif outcome == "unknown" and vis:
            counts["unknown_visible"] += 1  # not an anomaly: reported for the record
    return counts


# ------------------------------------------------------------------ main

def settle(c, timeout=180):
    """Bounded wait until every node runs, answers and agrees on a leader for every
    partition of both topics (a node just restarted may refuse a connection or two)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            c.wait_ready(30)
            for topic in (QUEUE, TXN):
                cluster_harness.wait_topic_led(c, topic, NPARTS, timeout=30)
            return
        except Exception as e:
            if time.monotonic() > deadline:
                raise
            log(f"not settled yet: {str(e).splitlines()[0]}")
            time.sleep(1)


def create_topics(c):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": c.bootstrap_all})
    fs = admin.create_topics([NewTopic(QUEUE, NPARTS, 3), NewTopic(TXN, NPARTS, 3)],
                             operation_timeout=30)
    for f in fs.values():
        f.result(60)
    cluster_harness.wait_topic_led(c, QUEUE, NPARTS)
    cluster_harness.wait_topic_led(c, TXN, NPARTS)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--faults", default="kill,pause,zk-kill,zk-pause,power,isolate")
    ap.add_argument("--netns", action="store_true",
                    help="each node in its own network namespace (root): isolate faults")
    ap.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                    help="a broker config for every node (e.g. log.flush.mode=interval, "
                         "whose weaker promise a power cut of all nodes shows)")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 31)
    log(f"seed {seed} ({args.seconds:.0f}s, {args.nodes} nodes, faults {args.faults}); "
        f"rerun: python3 tests/chaos/chaos.py --seed {seed} --seconds {args.seconds:.0f}")
    brookd = find_brookd()
    require_cluster_support(brookd)
    config = dict(CONFIG, **dict(kv.split("=", 1) for kv in args.config))
    faults = args.faults.split(",")
    lib = os.path.abspath(os.environ.get("BROOK_POWERLOSS_LIB", ""))
    if "power" in faults and not os.path.exists(lib):
        log(f"no power-loss shim (BROOK_POWERLOSS_LIB={lib!r}): power faults left out")
        faults.remove("power")
    net = None
    if args.netns:
        if not netns_ok():
            log("--netns needs root and iproute2: isolate faults left out")
        else:
            try:
                net = Net(args.nodes)
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
                log(f"cannot make the network namespaces ({e}): isolate faults left out")
    if not net and "isolate" in faults:
        faults.remove("isolate")
    c = Cluster(args.nodes, brookd=brookd, config=config, name="chaos",
                session_timeout_ms=SESSION_MS)
    if net:
        c.zk.host = net.host_ip()
        for n in c.nodes:
            n.host = net.node_ip(n.node_id)
            n.argv_prefix = ("ip", "netns", "exec", net.ns[n.node_id])
    for n in c.nodes if "power" in faults else []:
        n.extra_env = {"LD_PRELOAD": lib,
                       "BROOK_POWERLOSS_STATE": os.path.join(c.tmp, f"node{n.node_id}.power")}
    with c:
        create_topics(c)
        # One random stream per part, each from the seed alone.
        q = QueueWorkload(c.bootstrap_all, random.Random(f"queue-{seed}"))
        t = TxnWorkload(c.bootstrap_all, random.Random(f"txn-{seed}"))
        nem = Nemesis(c, random.Random(f"nemesis-{seed}"), args.seconds, faults)
        nem.net = net
        q.start()
        t.start()
        nem.run()
        log("healed; waiting for the cluster to settle")
        settle(c)
        q.stop()
        t.stop()
        got_q = read_back(c.bootstrap_all, QUEUE, committed_only=False)
        wait_stable(c.bootstrap_all, TXN)
        got_t = read_back(c.bootstrap_all, TXN, committed_only=True)
    if net:
        net.close()
    counts = check_queue(q, got_q)
    counts.update(check_txn(t, got_t))
    outcomes = {o: sum(1 for v in t.outcome.values() if v == o)
                for o in ("committed", "aborted", "unknown")}
    summary = {"seed": seed, "seconds": args.seconds, "faults": len(nem.events),
               "power_cuts": [{"node": nid, "bytes_dropped": b} for nid, b in nem.cut],
               "queue": {"sent": len(q.sent), "acked": len(q.acked), "failed": q.failed,
                         "read": len(got_q)},
               "txn": dict(outcomes, read=len(got_t)), "anomalies": counts,
               "examples": EXAMPLES}
    print(json.dumps(summary, indent=1), flush=True)
    bad = {k: v for k, v in counts.items()
           if v and k not in ("unknown_visible", "acked_without_offset")}
    if not nem.events or not q.acked or not outcomes["committed"]:
        log("FAIL: the run did too little to check anything")
        return 1
    if bad:
        log(f"FAIL (seed {seed}): {bad}")
        return 1
    log(f"OK (seed {seed}): no anomaly in {len(q.acked)} acknowledged writes and "
        f"{outcomes['committed']} committed transactions under {len(nem.events)} faults")
    return 0


if __name__ == "__main__":
    sys.exit(main())
