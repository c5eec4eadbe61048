#!/usr/bin/python3
"""Cross-node transactions in a 3-node cluster over ZooKeeper (issue #5's test list),
with python3-confluent-kafka (librdkafka) clients and read_committed / read_uncommitted
readers assigned to every partition.

Cluster A (no fault injection):

1. Transactions spanning all three nodes: a 6-partition topic whose leaders (Metadata)
   cover nodes 1, 2 and 3; three producers whose coordinators are nodes 1, 2 and 3 each
   run commit, abort, commit, abort, commit (aborted ones flushed first), every
   transaction writing to all 6 partitions.  read_committed sees every committed record
   exactly once and nothing aborted; read_uncommitted also sees every aborted record (the
   ABORT markers hide them, not their absence); ListOffsets(latest) is the same at both
   isolation levels (nothing left open).
4. A ZooKeeper restart (stop + start on the same port and data dir) loses no cluster state:
   every node still lists the topic with a live leader for every partition, the data of 1
   reads back the same, and a new transaction over all nodes commits and reads back.
5. ZooKeeper session expiry: one brookd is SIGSTOPped for longer than the session timeout
   (the others drop it from Metadata), then SIGCONTed; within a bounded time it is listed by
   every node again with its partitions led, its log says its session expired and it
   re-registered, and it serves: Metadata from it, produce to / consume from partitions it
   leads, a transaction it coordinates.

Cluster B (every node with debug.txn.marker.delay.ms=3000: a coordinator holds its
markers to other nodes for 3 s after the decision is durable):

2. The coordinator's node is SIGKILLed between the decision and the markers: a transaction
   whose coordinator is node 2 writes to all 6 partitions, commit_transaction() runs in a
   thread; once the coordinator's admin API shows PrepareCommit, node 2 is SIGKILLed (the
   other nodes' partitions are then checked to still hold the transaction open: the kill
   landed before the markers) and restarted.  Within a bounded time read_committed shows
   the whole transaction on every partition exactly once and no partition is left with an
   open transaction; a fresh producer with the same transactional.id initialises and
   commits a new transaction.
3. A participant is SIGKILLed after it prepared: coordinator node 3, the participant killed
   is node 1 (leads some of the partitions); killed at PrepareCommit, restarted; the
   transaction is whole, nothing twice.  Then the abort path: a transaction is aborted and
   node 1 SIGKILLed at PrepareAbort; after its restart nothing of it is visible to
   read_committed (but all of it to read_uncommitted), no partition stays blocked, and a
   later transaction commits.

Node logs are in the clusters' temp dirs (BROOK_KEEP_TMP=1 keeps them); on failure their
relevant lines are printed.  Every wait is bounded."""

import json
import os
import signal
import struct
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import BrokerError, Check, find_brookd, run_main  # noqa: E402
from cluster_harness import (Cluster, coordinator_address, metadata,  # noqa: E402
                             require_cluster_support)
from test_txn_common import (READ_COMMITTED, READ_UNCOMMITTED, list_offsets,  # noqa: E402
                             quiet_logger)

from confluent_kafka import KafkaError, KafkaException, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
from ck_helpers import consumer  # noqa: E402

PARTS = 6
BASE_CONFIG = {
    "transaction.state.log.num.partitions": 6,
    "offsets.topic.num.partitions": 3,
    "transaction.abort.timed.out.transaction.cleanup.interval.ms": 1000,
}
MARKER_DELAY_MS = 3000
RESOLVE_TIMEOUT = 45.0      # a crashed transaction must be whole within this (s)
T0 = time.monotonic()


def log(msg):
    print(f"[{time.monotonic() - T0:7.2f}s] {msg}", flush=True)


# --------------------------------------------------------------------- cluster helpers
def node_by_address(c, address):
    for n in c.nodes:
        if n.port and n.bootstrap == address:
            return n.node_id
    raise AssertionError(f"{address} is none of the nodes {[n.bootstrap for n in c.nodes]}")


def live_bootstrap(c):
    return ",".join(n.bootstrap for n in c.nodes if n.running())


def any_live(c):
    return next(n.bootstrap for n in c.nodes if n.running())


def leaders(c, topic, via=None):
    """{partition: leader node id} from Metadata asked of `via` (default: first live node)."""
    md = metadata(via or any_live(c))
    t = md["topics"].get(topic)
    if not t:
        return {}
    return {p: leader for p, (err, leader) in t["partitions"].items()}


def create_topic(c, topic, parts):
    admin = AdminClient({"bootstrap.servers": c.bootstrap_all, "logger": quiet_logger()})
    fs = admin.create_topics([NewTopic(topic, parts, 1)], operation_timeout=15)
    for f in fs.values():
        f.result(timeout=30)
    # Every node must know it with a live leader for every partition before clients use it.
    deadline = time.monotonic() + 30
    while True:
        ok = True
        for n in c.nodes:
            ld = leaders(c, topic, via=n.bootstrap)
            if len(ld) != parts or any(v not in (1, 2, 3) for v in ld.values()):
                ok = False
        if ok:
            return leaders(c, topic)
        if time.monotonic() > deadline:
            raise BrokerError(f"topic {topic} not led on every node after 30s")
        time.sleep(0.1)


def coordinator_node(c, txn_id):
    return node_by_address(c, coordinator_address(any_live(c), txn_id, key_type=1))


def txn_id_on(c, prefix, node_id):
    """A transactional id whose coordinator is node_id."""
    for i in range(500):
        tid = f"{prefix}-{i}"
        if coordinator_node(c, tid) == node_id:
            return tid
    raise AssertionError(f"no transactional id {prefix}-N coordinated by node {node_id}")


def admin_txn(node, txn_id, timeout=2.0):
    """The coordinator's view of txn_id from node's admin API (dict), None if unknown or
    the node cannot be reached."""
    url = f"http://{node.admin_address()}/v1/transactions/{urllib.parse.quote(txn_id, safe='')}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return json.loads(r.read().decode())
    except (urllib.error.URLError, OSError, ValueError):
        return None


BATCH_COUNTERS = ("brook_txn_marker_requests_total", "brook_txn_markers_sent_total",
                  "brook_txn_prepare_requests_total", "brook_txn_prepares_sent_total")


def batch_counters(node, timeout=2.0):
    """(WriteTxnMarkers requests sent, markers in them, BrookPrepareTxn requests sent,
    prepares in them) from node's /metrics."""
    with urllib.request.urlopen(f"http://{node.admin_address()}/metrics", timeout=timeout) as r:
        text = r.read().decode()
    got = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in BATCH_COUNTERS:
            got[name] = int(float(value))
    return tuple(got[n] for n in BATCH_COUNTERS)


def relevant_log_lines(path, n=60):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return "(no log)"
    keep = [ln for ln in lines if any(k in ln for k in
            ("cluster", "zk", "txn", "harness", "ready", "WARN", "ERROR", "session"))]
    return "\n".join(keep[-n:])


def dump_logs(c, why):
    print(f"===== {why}: node logs (relevant lines) from {c.tmp} =====", file=sys.stderr)
    for n in c.nodes:
        print(f"--- node {n.node_id}: {n.log_path} ---\n{relevant_log_lines(n.log_path)}",
              file=sys.stderr)
    print(f"--- zookeeper tail ---\n{c.zk.log_tail(20)}\n=====", file=sys.stderr, flush=True)


# --------------------------------------------------------------------- clients
def producer_conf(bootstrap, txn_id=None, extra=None):
    conf = {"bootstrap.servers": bootstrap, "linger.ms": 5, "message.timeout.ms": 60000,
            "socket.timeout.ms": 10000, "request.timeout.ms": 10000,
            "reconnect.backoff.ms": 20, "reconnect.backoff.max.ms": 500,
            "log.connection.close": False, "logger": quiet_logger()}
    if txn_id:
        conf.update({"transactional.id": txn_id, "transaction.timeout.ms": 120000})
    conf.update(extra or {})
    if os.environ.get("BROOK_RDKAFKA_DEBUG"):
        conf["debug"] = os.environ["BROOK_RDKAFKA_DEBUG"]
    return conf


def txn_producer(bootstrap, txn_id):
    p = Producer(producer_conf(bootstrap, txn_id))
    p.init_transactions(30)
    return p


def produce_all(p, topic, values_by_part):
    for part, values in sorted(values_by_part.items()):
        for v in values:
            p.produce(topic, value=v, key=v.split(b"|")[0], partition=part)
    p.poll(0)
    left = p.flush(30)
    if left:
        raise AssertionError(f"{left} records not delivered after 30s")


def plan(tag, parts, per_part=2):
    """{partition: [values]} for one transaction: per_part records on each partition."""
    return {p: [f"{tag}|p{p}|{i}".encode() for i in range(per_part)] for p in parts}


def read_topic(bootstrap, topic, parts, isolation, timeout=30.0):
    """{partition: [(offset, value)]} of every partition from 0 to EOF (the LSO for
    read_committed), read by one consumer assigned to all of them."""
    c = consumer(bootstrap, {"isolation.level": isolation, "logger": quiet_logger()})
    out = {p: [] for p in parts}
    eof = set()
    try:
        c.assign([TopicPartition(topic, p, 0) for p in parts])
        deadline = time.monotonic() + timeout
        while eof != set(parts):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic} {isolation}: no EOF on {sorted(set(parts) - eof)} "
                                   f"after {timeout}s")
            for m in c.consume(num_messages=10000, timeout=0.5):
                err = m.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        eof.add(m.partition())
                        continue
                    raise KafkaException(err)
                if m.topic() == topic and m.partition() in out:
                    out[m.partition()].append((m.offset(), m.value()))
                    eof.discard(m.partition())
    finally:
        c.close()
    return out


def values_of(data, prefix):
    """{partition: [value]} restricted to values starting with prefix (bytes)."""
    return {p: [v for _, v in recs if v.startswith(prefix)] for p, recs in data.items()}


def read_until(c, topic, parts, isolation, pred, timeout, what):
    """Reads until pred(data) holds or timeout; returns (data, seconds).  Read errors
    (a node still starting) are retried until the deadline."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    data, last_err = None, None
    while True:
        try:
            data = read_topic(live_bootstrap(c), topic, parts, isolation, timeout=15)
            last_err = None
            if pred(data):
                return data, time.monotonic() - t0
        except (KafkaException, TimeoutError) as e:
            last_err = e
        if time.monotonic() > deadline:
            log(f"{what}: not reached after {timeout}s (last read error: {last_err!r})")
            if data is None:
                raise AssertionError(f"{what}: could not read {topic} within {timeout}s: {last_err!r}")
            return data, None
        time.sleep(0.5)


def lso_hw(c, topic, part):
    """(LSO, HW) of topic/part asked of its leader."""
    ld = leaders(c, topic)[part]
    addr = c.node(ld).bootstrap
    (e1, lso) = list_offsets(addr, topic, [part], READ_COMMITTED)[part]
    (e2, hw) = list_offsets(addr, topic, [part], READ_UNCOMMITTED)[part]
    if e1 or e2:
        raise AssertionError(f"ListOffsets {topic}/{part} on node {ld}: errors {e1}, {e2}")
    return lso, hw


def wait_no_open_txn(ck, c, topic, parts, timeout, what):
    """Bounded wait until LSO == HW on every partition (nothing left open)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            offs = {p: lso_hw(c, topic, p) for p in parts}
        except (OSError, ConnectionError, struct.error, AssertionError, BrokerError) as e:
            offs = {"error": repr(e)}
        open_ = {p: v for p, v in offs.items() if p == "error" or v[0] != v[1]}
        if not open_ or time.monotonic() > deadline:
            ck.eq(open_, {}, f"{what}: partitions whose LSO != HW (LSO, HW)")
            return
        time.sleep(0.2)


def check_exactly(ck, data, prefix, want, what, forbid=None):
    """want: {partition: [values]} that must each appear exactly once (and nothing else with
    `prefix`); forbid: values that must not appear at all."""
    got = values_of(data, prefix)
    for p in sorted(data):
        g = sorted(got.get(p, []))
        ck.eq(g, sorted(want.get(p, [])), f"{what}: partition {p} records of {prefix.decode()}")
        if forbid:
            bad = [v for _, v in data[p] if v in forbid]
            ck.eq(bad, [], f"{what}: partition {p} forbidden records")


class Ender(threading.Thread):
    """Runs commit_transaction() or abort_transaction() off the main thread."""

    def __init__(self, p, commit, timeout=90):
        super().__init__(daemon=True, name="commit" if commit else "abort")
        self.p, self.commit, self.timeout = p, commit, timeout
        self.result = None
        self.seconds = None

    def run(self):
        t0 = time.monotonic()
        try:
            (self.p.commit_transaction if self.commit else self.p.abort_transaction)(self.timeout)
            self.result = "ok"
        except KafkaException as e:
            err = e.args[0]
            self.result = f"{err.name()}: {err.str()} (fatal={err.fatal()}, retriable={err.retriable()}, " \
                          f"abortable={err.txn_requires_abort()})"
        except Exception as e:  # noqa: BLE001
            self.result = repr(e)
        self.seconds = time.monotonic() - t0


def wait_state(node, txn_id, states, timeout, interval=0.01, too_late=()):
    """Polls node's admin API until the transaction's state is one of `states`; returns the
    transaction object, or raises with the last one seen (at once if it is in `too_late`)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        t = admin_txn(node, txn_id, timeout=1.0)
        if t is not None:
            last = t
            if t.get("state") in states:
                return t
            if t.get("state") in too_late:
                raise AssertionError(f"{txn_id}: already {t['state']} on node {node.node_id} "
                                     f"before {states} was seen (the window was missed): {t}")
        time.sleep(interval)
    raise AssertionError(f"{txn_id}: state not in {states} within {timeout}s on node "
                         f"{node.node_id}; last seen {last}")


def log_says(node, *needles):
    try:
        with open(node.log_path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return False
    return all(n in text for n in needles)


# --------------------------------------------------------------------- cluster A
def scenario_all_nodes(ck, c, topic):
    """1: commits and aborts over partitions on all three nodes."""
    ld = create_topic(c, topic, PARTS)
    log(f"[1] {topic} leaders {ld}")
    ck.eq(sorted(set(ld.values())), [1, 2, 3], "partition leaders cover all three nodes")
    parts = list(range(PARTS))
    committed, aborted = {p: [] for p in parts}, {p: [] for p in parts}
    outcomes = []
    for coord in (1, 2, 3):
        tid = txn_id_on(c, f"ctx-s1-c{coord}", coord)
        p = txn_producer(c.bootstrap_all, tid)
        for n in range(5):
            commit = n % 2 == 0
            recs = plan(f"s1|c{coord}|t{n}", parts, per_part=3)
            p.begin_transaction()
            produce_all(p, topic, recs)
            if commit:
                p.commit_transaction(30)
            else:
                p.abort_transaction(30)
            for q, vs in recs.items():
                (committed if commit else aborted)[q].extend(vs)
            outcomes.append("C" if commit else "A")
        log(f"[1] producer {tid} (coordinator node {coord}): {''.join(outcomes[-5:])}")
    # Each transaction's prepares (commits only) and markers for one node (its two
    # partitions there) are decided in one loop turn and go in one request: twice as many
    # entries as requests.
    reqs, marks, preqs, preps = map(sum, zip(*(batch_counters(n) for n in c.nodes)))
    log(f"[1] to other nodes: {marks} markers in {reqs} WriteTxnMarkers requests, "
        f"{preps} prepares in {preqs} BrookPrepareTxn requests")
    ck(reqs > 0 and marks >= 2 * reqs,
       f"[1] markers for one node share a request ({marks} markers, {reqs} requests)")
    ck(preqs > 0 and preps >= 2 * preqs,
       f"[1] prepares for one node share a request ({preps} prepares, {preqs} requests)")
    ck.eq(outcomes.count("C"), 9, "nine transactions committed")
    ck.eq(outcomes.count("A"), 6, "six transactions aborted")

    rc = read_topic(c.bootstrap_all, topic, parts, "read_committed")
    ru = read_topic(c.bootstrap_all, topic, parts, "read_uncommitted")
    forbid = {v for vs in aborted.values() for v in vs}
    check_exactly(ck, rc, b"s1|", committed, "[1] read_committed", forbid=forbid)
    both = {q: committed[q] + aborted[q] for q in parts}
    check_exactly(ck, ru, b"s1|", both, "[1] read_uncommitted (committed + aborted)")
    for q in parts:
        # Offsets strictly increase and committed records keep their send order.
        offs = [o for o, _ in rc[q]]
        ck.eq(offs, sorted(set(offs)), f"[1] partition {q}: read_committed offsets increase")
        ck.eq([v for _, v in rc[q]], committed[q], f"[1] partition {q}: committed records in order")
    wait_no_open_txn(ck, c, topic, parts, 10, "[1] after commits and aborts")
    return committed


def scenario_zk_restart(ck, c, topic, committed_before):
    """4: ZooKeeper stop + start on the same port and data dir."""
    parts = list(range(PARTS))
    before = leaders(c, topic)
    rc = c.zk.restart()
    log(f"[4] ZooKeeper restarted (stop exit code {rc})")
    c.wait_ready(timeout=60)
    for n in c.nodes:
        md = metadata(n.bootstrap)
        t = md["topics"].get(topic)
        ck(t is not None, f"[4] node {n.node_id} still lists {topic} after the ZooKeeper restart")
        ck.eq(t["error"], 0, f"[4] node {n.node_id}: {topic} error code")
        ck.eq({p: l for p, (e, l) in t["partitions"].items()}, before,
              f"[4] node {n.node_id}: {topic} leaders unchanged")
        ck.eq(sorted(md["brokers"]), [1, 2, 3], f"[4] node {n.node_id} lists every broker")
    data = read_topic(c.bootstrap_all, topic, parts, "read_committed")
    check_exactly(ck, data, b"s1|", committed_before, "[4] data of [1] after the ZooKeeper restart")

    tid = txn_id_on(c, "ctx-s4", 2)
    p = txn_producer(c.bootstrap_all, tid)
    recs = plan("s4|t0", parts)
    p.begin_transaction()
    produce_all(p, topic, recs)
    p.commit_transaction(30)
    data, _ = read_until(c, topic, parts, "read_committed",
                         lambda d: all(len(values_of(d, b"s4|")[q]) >= 2 for q in parts), 20,
                         "[4] new transaction visible")
    check_exactly(ck, data, b"s4|", recs, "[4] transaction after the ZooKeeper restart")


def scenario_session_expiry(ck, c, topic):
    """5: SIGSTOP a node past its session timeout, SIGCONT, it re-registers and serves."""
    parts = list(range(PARTS))
    victim = c.node(3)
    others = [n for n in c.nodes if n is not victim]
    ld = leaders(c, topic)
    mine = [p for p, l in ld.items() if l == victim.node_id]
    ck(mine, f"[5] node 3 leads some partition of {topic} ({ld})")
    session_s = c.session_timeout_ms / 1000.0
    stop_for = session_s * 1.5 + 2.0
    pid = victim.proc.pid
    dropped = None
    log(f"[5] SIGSTOP node 3 (pid {pid}) for {stop_for:.1f}s (session timeout {session_s}s)")
    os.kill(pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < stop_for:
            if dropped is None:
                try:
                    if all(victim.node_id not in metadata(n.bootstrap, timeout=2)["brokers"]
                           for n in others):
                        dropped = time.monotonic() - t0
                except (OSError, ConnectionError, struct.error):
                    pass
            time.sleep(0.2)
    finally:
        os.kill(pid, signal.SIGCONT)
    log(f"[5] SIGCONT node 3; the others had dropped it after "
        f"{'%.1fs' % dropped if dropped is not None else 'never'}")
    ck(dropped is not None, "[5] the other nodes dropped node 3 while it was stopped (session expired)")
    ck(victim.running(), "[5] node 3 survived SIGSTOP/SIGCONT")
    t0 = time.monotonic()
    c.wait_ready(timeout=60)
    log(f"[5] node 3 listed by every node again after {time.monotonic() - t0:.1f}s")
    ck(True, "[5] every node lists node 3 again and every partition is led")
    ck.eq(leaders(c, topic, via=victim.bootstrap), ld, "[5] node 3's Metadata: same leaders")
    ok = False
    deadline = time.monotonic() + 15
    while not ok and time.monotonic() < deadline:
        ok = log_says(victim, "session expired", "re-registering")
        time.sleep(0.2)
    ck(ok, "[5] node 3's log says its session expired and it is re-registering")

    # Produce to its partitions through it, read them back from it.
    prod = Producer(producer_conf(victim.bootstrap, extra={"acks": "all", "enable.idempotence": True}))
    sent = {p: [f"s5|plain|p{p}|{i}".encode() for i in range(5)] for p in mine}
    errors = []
    for p, vs in sent.items():
        for v in vs:
            prod.produce(topic, value=v, partition=p,
                         on_delivery=lambda err, m: errors.append(err) if err else None)
    left = prod.flush(30)
    ck.eq((left, errors), (0, []), "[5] produce to node 3's partitions after re-registration")
    data = read_topic(victim.bootstrap, topic, mine, "read_uncommitted")
    check_exactly(ck, data, b"s5|plain|", sent, "[5] read back from node 3")

    # A transaction coordinated by node 3, over every node.
    tid = txn_id_on(c, "ctx-s5", victim.node_id)
    p = txn_producer(c.bootstrap_all, tid)
    recs = plan("s5|txn", parts)
    p.begin_transaction()
    produce_all(p, topic, recs)
    p.commit_transaction(30)
    data, _ = read_until(c, topic, parts, "read_committed",
                         lambda d: all(len(values_of(d, b"s5|txn|")[q]) >= 2 for q in parts), 20,
                         "[5] transaction coordinated by node 3 visible")
    check_exactly(ck, data, b"s5|txn|", recs, "[5] transaction coordinated by node 3")


# --------------------------------------------------------------------- cluster B
def crash_during_end(ck, c, topic, tag, coord_id, victim_id, commit, reuse=None):
    """Opens a transaction coordinated by coord_id over every partition, ends it (commit or
    abort) in a thread, SIGKILLs victim_id once the coordinator shows Prepare*, restarts it
    and checks the outcome.  Returns (txn_id, producer, records)."""
    parts = list(range(PARTS))
    tid, p = reuse if reuse else (txn_id_on(c, f"ctx-{tag}", coord_id), None)
    if p is None:
        p = txn_producer(c.bootstrap_all, tid)
    coord = c.node(coord_id)
    victim = c.node(victim_id)
    ld = leaders(c, topic)
    recs = plan(tag, parts, per_part=3)
    p.begin_transaction()
    produce_all(p, topic, recs)
    want_state = "PrepareCommit" if commit else "PrepareAbort"
    ender = Ender(p, commit)
    ender.start()
    t = wait_state(coord, tid, (want_state,), timeout=15,
                   too_late=("CompleteCommit", "CompleteAbort"))
    t_decided = time.monotonic()
    victim.kill()
    log(f"[{tag}] {tid}: node {victim_id} SIGKILLed "
        f"{(time.monotonic() - t_decided) * 1000:.0f} ms after {want_state} was seen "
        f"(participants {len(t.get('participants', []))})")
    ck.eq(t["state"], want_state, f"[{tag}] coordinator state at the kill")

    # The kill landed before the markers: a partition led by a live node other than the
    # coordinator still has the transaction open.
    if victim_id == coord_id:
        remote = [q for q in parts if ld[q] != coord_id]
        try:
            still_open = []
            for q in remote:
                lso, hw = lso_hw(c, topic, q)
                if lso < hw:
                    still_open.append(q)
        except (OSError, ConnectionError, AssertionError) as e:
            still_open = f"ListOffsets failed: {e!r}"
        ck.eq(still_open, remote,
              f"[{tag}] right after the kill, partitions of the other nodes that still hold the "
              f"transaction open (all of them, else the kill missed the window)")
    else:
        after = admin_txn(coord, tid)
        ck(after is not None and after.get("state") == want_state,
           f"[{tag}] coordinator still {want_state} right after the participant's kill: {after}")

    t_restart = time.monotonic()
    victim.start()
    log(f"[{tag}] node {victim_id} restarted in {time.monotonic() - t_restart:.1f}s")

    if commit:
        pred = lambda d: all(sorted(values_of(d, tag.encode() + b"|")[q]) == sorted(recs[q])  # noqa: E731
                             for q in parts)
        data, secs = read_until(c, topic, parts, "read_committed", pred, RESOLVE_TIMEOUT,
                                f"[{tag}] transaction whole")
        log(f"[{tag}] whole under read_committed "
            f"{'after %.1fs' % secs if secs is not None else 'NEVER'} from the restart")
        check_exactly(ck, data, tag.encode() + b"|", recs,
                      f"[{tag}] committed transaction after the crash (read_committed)")
    else:
        # Nothing visible, and no partition blocked by it.
        wait_no_open_txn(ck, c, topic, parts, RESOLVE_TIMEOUT, f"[{tag}] aborted transaction resolved")
        data = read_topic(live_bootstrap(c), topic, parts, "read_committed")
        check_exactly(ck, data, tag.encode() + b"|", {}, f"[{tag}] aborted transaction (read_committed)")
        ru = read_topic(live_bootstrap(c), topic, parts, "read_uncommitted")
        check_exactly(ck, ru, tag.encode() + b"|", recs, f"[{tag}] aborted records in the log (read_uncommitted)")
    wait_no_open_txn(ck, c, topic, parts, RESOLVE_TIMEOUT, f"[{tag}] nothing left open")
    final = wait_state(coord, tid, ("CompleteCommit" if commit else "CompleteAbort",),
                       timeout=RESOLVE_TIMEOUT, interval=0.2)
    ck(True, f"[{tag}] coordinator shows {final['state']}")
    ender.join(timeout=100)
    log(f"[{tag}] {'commit' if commit else 'abort'}_transaction() in the application returned: "
        f"{ender.result} after {ender.seconds and round(ender.seconds, 1)}s")
    return tid, p, recs, ender.result


def scenario_coordinator_crash(ck, c, topic):
    """2: coordinator (node 2) SIGKILLed between the decision and the markers."""
    tid, p, recs, result = crash_during_end(ck, c, topic, "s2", coord_id=2, victim_id=2, commit=True)
    ck(result is not None, "[s2] commit_transaction() returned (bounded)")
    # A fresh producer with the same transactional.id: init fences the old one; its new
    # transaction commits.
    parts = list(range(PARTS))
    p2 = txn_producer(c.bootstrap_all, tid)
    recs2 = plan("s2b", parts)
    p2.begin_transaction()
    produce_all(p2, topic, recs2)
    p2.commit_transaction(30)
    data, _ = read_until(c, topic, parts, "read_committed",
                         lambda d: all(len(values_of(d, b"s2b|")[q]) >= 2 for q in parts), 30,
                         "[s2b] fresh producer's transaction visible")
    check_exactly(ck, data, b"s2b|", recs2, "[s2b] fresh producer with the same transactional.id")
    check_exactly(ck, data, b"s2|", recs, "[s2b] crashed transaction still whole, not repeated")
    return p


def scenario_participant_crash(ck, c, topic):
    """3: participant node 1 SIGKILLed after it prepared (coordinator node 3); commit, then
    abort."""
    ld = leaders(c, topic)
    ck(any(l == 1 for l in ld.values()), f"[s3] node 1 leads a partition of {topic} ({ld})")
    tid, p, recs, result = crash_during_end(ck, c, topic, "s3", coord_id=3, victim_id=1, commit=True)
    ck.eq(result, "ok", "[s3] commit_transaction() succeeded (the coordinator was never down)")
    tid, p, recs_a, result = crash_during_end(ck, c, topic, "s3a", coord_id=3, victim_id=1,
                                              commit=False, reuse=(tid, p))
    ck.eq(result, "ok", "[s3a] abort_transaction() succeeded")
    # The producer goes on: a later transaction commits; the crashed ones are unchanged.
    parts = list(range(PARTS))
    recs2 = plan("s3c", parts)
    p.begin_transaction()
    produce_all(p, topic, recs2)
    p.commit_transaction(30)
    data, _ = read_until(c, topic, parts, "read_committed",
                         lambda d: all(len(values_of(d, b"s3c|")[q]) >= 2 for q in parts), 30,
                         "[s3c] later transaction visible")
    check_exactly(ck, data, b"s3c|", recs2, "[s3c] transaction after the participant crashes")
    check_exactly(ck, data, b"s3|", recs, "[s3c] committed crashed transaction whole, once")
    check_exactly(ck, data, b"s3a|", {}, "[s3c] aborted crashed transaction invisible")


# --------------------------------------------------------------------- main
def run_cluster(ck, name, config, body):
    c = Cluster(3, config=config, name=name)
    try:
        t0 = time.monotonic()
        with c:
            log(f"{name}: cluster ready in {time.monotonic() - t0:.1f}s ({c.tmp})")
            try:
                body(c)
            except BaseException:
                dump_logs(c, f"{name} failed")
                raise
    finally:
        c.close()


def main():
    brookd = find_brookd()
    require_cluster_support(brookd)
    ck = Check("cluster_txn")
    keep = []   # producers whose destruction could block (left to os._exit)
    failures = []

    def attempt(c, fn, *args):
        """Runs one scenario; a failed check is recorded (with the nodes' logs) and the
        next scenario still runs on the same cluster."""
        try:
            return fn(ck, c, *args)
        except (AssertionError, TimeoutError, KafkaException, BrokerError) as e:
            failures.append(f"{fn.__name__}: {e!r}")
            log(f"FAILED {fn.__name__}: {e!r}")
            dump_logs(c, fn.__name__)
            for n in c.nodes:   # bring back a node a failed scenario left down
                if not n.running():
                    n.start()
            return None

    def cluster_a(c):
        committed = attempt(c, scenario_all_nodes, "ctx-a")
        if committed is not None:
            attempt(c, scenario_zk_restart, "ctx-a", committed)
        attempt(c, scenario_session_expiry, "ctx-a")

    def cluster_b(c):
        ld = create_topic(c, "ctx-b", PARTS)
        log(f"ctx-b leaders {ld}")
        ck.eq(sorted(set(ld.values())), [1, 2, 3], "ctx-b leaders cover all three nodes")
        keep.append(attempt(c, scenario_coordinator_crash, "ctx-b"))
        attempt(c, scenario_participant_crash, "ctx-b")

    for name, cfg, body in (("ctxA", dict(BASE_CONFIG), cluster_a),
                            ("ctxB", dict(BASE_CONFIG, **{"debug.txn.marker.delay.ms": MARKER_DELAY_MS}),
                             cluster_b)):
        try:
            run_cluster(ck, name, cfg, body)
        except (AssertionError, TimeoutError, KafkaException, BrokerError) as e:
            failures.append(f"{name}: {e!r}")
            log(f"FAILED {name}: {e}")
    log(f"total {time.monotonic() - T0:.1f}s")
    if failures:
        print("FAILURES:\n  " + "\n  ".join(failures), file=sys.stderr, flush=True)
        return 1
    ck.done()
    return 0


if __name__ == "__main__":
    run_main(main)
