#!/usr/bin/python3
"""Transactions over replicated partitions while the leader of a participant partition is
SIGKILLed (issue #11: "transactions spanning all three nodes while ... the leader of a
participant partition is SIGKILLed: every transaction ends committed or aborted on every
partition, read_committed readers never see an aborted or partial one, no transaction
hangs").  test_replication.py phase 7 kills the coordinator; test_cluster_txn.py kills a
participant of unreplicated (RF 1) partitions and restarts it; this kills the leader of a
replicated participant partition, which fails over to another replica mid-transaction.

A real 3-node cluster over a real ZooKeeper; topic "reptxnN": 6 partitions, replication
factor 3, min.insync.replicas 2, leaders on all 3 nodes; the internal topics are
replicated too (RF 3).  Every node has debug.txn.marker.delay.ms=300: a coordinator holds
its markers to other nodes 300 ms after deciding, which widens the decided-but-not-yet-
marked window the targeted kills aim at.

1. A confluent-kafka transactional producer (coordinator on node X) runs transactions in a
   loop from a thread, each writing 3 numbered records to every one of the 6 partitions
   (so to partitions led by all 3 nodes); about 1 in 3 is aborted on purpose (after a
   flush, so its records are in the logs).  A commit refused as abortable is aborted; a
   retriable error is retried; every transaction's outcome and duration are recorded.
2. Meanwhile a read_committed consumer reads all 6 partitions from the start, the whole
   time.
3. Eight times: once every partition has a full ISR, a node Y != X (alternating between
   the two) that leads a participant partition is SIGKILLed, either while the coordinator
   shows the transaction in PrepareCommit/PrepareAbort (its markers to Y held back) or at
   a random moment; a new leader of that partition must show in Metadata within 5 s, and
   transactions must keep ending (2 more) while Y is down; then Y is restarted and the
   cluster is ready again.  The coordinator's node must not change.
4. The loop stops (bounded); every transaction ended committed or aborted (none fatal, none
   in doubt), each within 60 s; nothing is left open (LSO = HW on every partition).
5. A fresh read_committed reader finds every committed transaction's records on every
   partition exactly once and in order, nothing of an aborted one, and nothing else; the
   concurrent reader never saw an aborted record or a record at two offsets, and (caught
   up) saw exactly the committed records; a read_uncommitted reader sees no record twice.
6. A final transaction on the same producer commits and reads back whole.
7. Every replica of every __transaction_state partition holds the same bytes (within
   10 s: the final completion record, written without an fsync of its own, reaches the
   followers with their next fetch, within its 500 ms wait).

BROOK_REPL_TXN_SEED replays the kill schedule.  Every wait is bounded; everything started
is stopped."""

import glob
import hashlib
import os
import random
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Check, run_main  # noqa: E402
import cluster_harness  # noqa: E402
from cluster_harness import Cluster, live_address, partition_state, require_cluster_support  # noqa: E402
from test_cluster_txn import (admin_txn, coordinator_node, dump_logs, leaders,  # noqa: E402
                              producer_conf, read_topic, txn_id_on, wait_no_open_txn,
                              wait_state)
from test_txn_common import quiet_logger  # noqa: E402
from test_replication import wait_for  # noqa: E402

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition  # noqa: E402

TOPIC = "reptxn"
PARTS = 6
PER_PART = 3
KILLS = 8
END_TIMEOUT = 60.0   # a transaction must end (committed or aborted) within this (s)
CONFIG = {"default.replication.factor": 3, "min.insync.replicas": 2,
          "replica.lag.time.max.ms": 2000, "num.partitions": PARTS,
          "transaction.state.log.num.partitions": 3, "offsets.topic.num.partitions": 3,
          "transaction.abort.timed.out.transaction.cleanup.interval.ms": 1000,
          "debug.txn.marker.delay.ms": 300}
T0 = time.monotonic()


def state_of(c, p):
    return cluster_harness.state_of(c, TOPIC, p)


def log(msg):
    print(f"[repl-txn] {time.monotonic() - T0:7.2f}s {msg}", flush=True)


def err_text(e):
    err = e.args[0] if e.args and isinstance(e.args[0], KafkaError) else None
    if err is None:
        return repr(e)
    return (f"{err.name()}: {err.str()} (fatal={err.fatal()}, retriable={err.retriable()}, "
            f"abortable={err.txn_requires_abort()})")


class TxnLoop(threading.Thread):
    """Runs transactions back to back until stopped; self.txns = [(tag, wanted, outcome,
    seconds to end, notes)], outcome "committed" / "aborted" / anything else = a failure."""

    def __init__(self, bootstrap, tid, seed):
        super().__init__(daemon=True, name="txn-loop")
        self.p = Producer(producer_conf(bootstrap, tid, {"transaction.timeout.ms": 60000,
                                                         "message.timeout.ms": 55000}))
        self.tid = tid
        self.rng = random.Random(seed)
        self.stop = False
        self.txns = []
        self.broken = None          # the error that ended the loop early (fatal)
        self.dr_errors = []
        self.lock = threading.Lock()

    def dr(self, err, msg):
        if err is not None:
            self.dr_errors.append(f"{msg.partition()}: {err.name()}")

    def ended(self):
        with self.lock:
            return len(self.txns)

    def end(self, commit, notes):
        """Commits (or aborts) the open transaction; returns its outcome."""
        deadline = time.monotonic() + END_TIMEOUT + 30
        while True:
            try:
                if commit:
                    self.p.commit_transaction(30)
                    return "committed"
                self.p.abort_transaction(30)
                return "aborted"
            except KafkaException as e:
                err = e.args[0]
                notes.append(("commit" if commit else "abort") + ": " + err_text(e))
                if err.fatal():
                    return "fatal: " + err_text(e)
                if commit and err.txn_requires_abort():
                    commit = False
                    continue
                if err.retriable() and time.monotonic() < deadline:
                    continue
                return "failed: " + err_text(e)

    def one(self, i):
        tag = f"x{i:05d}"
        want_commit = self.rng.random() >= 1 / 3
        notes = []
        t0 = time.monotonic()
        self.p.begin_transaction()
        try:
            for part in range(PARTS):
                for j in range(PER_PART):
                    self.p.produce(TOPIC, value=f"{tag}|{part}|{j}".encode(), partition=part,
                                   on_delivery=self.dr)
            self.p.poll(0)
            if not want_commit:
                left = self.p.flush(30)  # the aborted records are in the logs
                if left:
                    notes.append(f"{left} records undelivered before the abort")
            commit = want_commit
        except (KafkaException, BufferError) as e:
            notes.append("produce: " + err_text(e))
            commit = False
        outcome = self.end(commit, notes)
        with self.lock:
            self.txns.append((tag, want_commit, outcome, time.monotonic() - t0, notes))
        return outcome

    def run(self):
        try:
            self.p.init_transactions(60)
            i = 0
            while not self.stop:
                outcome = self.one(i)
                i += 1
                if outcome not in ("committed", "aborted"):
                    self.broken = outcome
                    return
        except Exception as e:  # noqa: BLE001
            self.broken = "loop: " + err_text(e)

    def committed_tags(self):
        with self.lock:
            return {t for t, _, o, _, _ in self.txns if o == "committed"}

    def aborted_tags(self):
        with self.lock:
            return {t for t, _, o, _, _ in self.txns if o == "aborted"}


class Reader(threading.Thread):
    """A read_committed consumer on every partition from offset 0, the whole time:
    self.seen = [(partition, offset, value)] in arrival order."""

    def __init__(self, bootstrap):
        super().__init__(daemon=True, name="rc-reader")
        self.c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reptxn-{time.time_ns()}",
                           "isolation.level": "read_committed", "enable.auto.commit": False,
                           "enable.auto.offset.store": False, "auto.offset.reset": "earliest",
                           "enable.partition.eof": False, "fetch.wait.max.ms": 100,
                           "socket.timeout.ms": 10000, "log.connection.close": False,
                           "reconnect.backoff.ms": 20, "reconnect.backoff.max.ms": 500,
                           "topic.metadata.refresh.interval.ms": 1000,
                           "logger": quiet_logger()})
        self.c.assign([TopicPartition(TOPIC, p, 0) for p in range(PARTS)])
        self.seen = []
        self.errors = []
        self.stop = False

    def run(self):
        while not self.stop:
            for m in self.c.consume(num_messages=1000, timeout=0.2):
                if m.error():
                    self.errors.append(m.error().name())
                    continue
                self.seen.append((m.partition(), m.offset(), m.value().decode()))

    def values(self):
        return {v for _, _, v in list(self.seen)}


def all_full_isr(c):
    try:
        st = partition_state(live_address(c), TOPIC)
    except (OSError, ConnectionError, Exception):  # noqa: BLE001
        return None
    return st if len(st) == PARTS and all(v[1] > 0 and len(v[3]) == 3 for v in st.values()) else None


def kill_participants(ck, c, loop, coord, tid, rng):
    others = [n for n in (1, 2, 3) if n != coord]
    elected, kept_going = [], []
    in_window = 0
    for k in range(KILLS):
        wait_for("every partition led with a full ISR", lambda: all_full_isr(c), 60)
        now_coord = coordinator_node(c, tid)
        ck.eq(now_coord, coord, f"kill {k + 1}: the transaction coordinator's node")
        victim = others[k % 2]
        # Back in the ISR, a restarted node gets its preferred partitions back soon after.
        led = wait_for(f"node {victim} leading a partition of {TOPIC}", lambda: [
            p for p, ld in leaders(c, TOPIC).items() if ld == victim], 30)
        ck(led, f"kill {k + 1}: node {victim} leads a participant partition")
        q = led[0]
        targeted = k % 2 == 0
        if targeted:
            # Between the decision and the markers to other nodes (held 300 ms).
            t = wait_state(c.node(coord), tid, ("PrepareCommit", "PrepareAbort"), 20, interval=0.005)
            when = t.get("state")
        else:
            time.sleep(rng.uniform(0.05, 1.5))
            when = "random"
        ended = loop.ended()
        t0 = time.monotonic()
        c.node(victim).kill()
        if targeted:
            # Still deciding-to-marked right after the kill: the victim's markers (held
            # 300 ms) had not gone out yet, the new leader of its partitions must get them.
            after = (admin_txn(c.node(coord), tid) or {}).get("state")
            in_window += after == when
            when += f", still {after} after the kill"
        wait_for(f"a new leader of partition {q}", lambda: (
            (s := state_of(c, q)) and s[1] > 0 and s[1] != victim), 30, step=0.02)
        elected.append(time.monotonic() - t0)
        wait_for(f"transactions ending with node {victim} down",
                 lambda: loop.ended() >= ended + 2 or loop.broken, 60, step=0.05)
        kept_going.append(time.monotonic() - t0)
        ck(loop.broken is None, f"kill {k + 1}: the transaction loop is still running ({loop.broken})")
        log(f"kill {k + 1}/{KILLS} ({when}): node {victim} (leader of partition {q}; coordinator "
            f"node {coord}): new leader in Metadata after {elected[-1]:.2f}s, 2 more transactions "
            f"ended after {kept_going[-1]:.2f}s")
        time.sleep(rng.uniform(0.0, 1.0))
        c.node(victim).start()
        c.wait_ready(60)
    ck(max(elected) < 5.0, f"a new leader in Metadata within 5 s of every kill: {elected}")
    ck(in_window >= 1, f"at least one targeted kill landed between a decision and its markers "
       f"({in_window} of {(KILLS + 1) // 2})")


def decoded(data):
    return {p: [(o, v.decode()) for o, v in recs] for p, recs in data.items()}


def check_reads(ck, loop, final, uncommitted, concurrent):
    committed = loop.committed_tags()
    aborted = loop.aborted_tags()
    for part in range(PARTS):
        vals = [v for _, v in final[part]]
        ck.eq(len(vals) - len(set(vals)), 0, f"read_committed partition {part}: records twice")
        tags = {}
        for v in vals:
            tag, p, j = v.split("|")
            tags.setdefault(tag, []).append(v)
        bad_aborted = sorted(set(tags) & aborted)
        ck.eq(bad_aborted[:5], [], f"read_committed partition {part}: aborted transactions visible")
        unknown = sorted(set(tags) - committed - aborted)
        ck.eq(unknown[:5], [], f"read_committed partition {part}: records of no known transaction")
        partial = [t for t, vs in tags.items() if t in committed and
                   vs != [f"{t}|{part}|{j}" for j in range(PER_PART)]]
        ck.eq(partial[:5], [], f"read_committed partition {part}: committed transactions not "
              f"whole, once, in order")
        missing = sorted(committed - set(tags))
        ck.eq(missing[:5], [], f"read_committed partition {part}: committed transactions missing")
        order = [v.split("|")[0] for v in vals]
        ck(order == sorted(order), f"read_committed partition {part}: transactions in commit order")
        uvals = [v for _, v in uncommitted[part]]
        ck.eq(len(uvals) - len(set(uvals)), 0, f"read_uncommitted partition {part}: records twice")
    # The concurrent reader, the whole time.
    by_value = {}
    for part, off, v in concurrent.seen:
        by_value.setdefault((part, v), set()).add(off)
    twice = [k for k, offs in by_value.items() if len(offs) > 1]
    ck.eq(twice[:5], [], "the concurrent read_committed reader: records at two offsets")
    saw_aborted = sorted({v for (_, v) in by_value if v.split("|")[0] in aborted})
    ck.eq(saw_aborted[:5], [], "the concurrent read_committed reader: aborted records seen")
    want = {(part, v) for part in range(PARTS) for _, v in final[part]}
    ck.eq(sorted(set(by_value) ^ want)[:5], [],
          "the concurrent read_committed reader saw exactly the committed records")


def main():
    ck = Check("replication_txn")
    require_cluster_support(os.environ.get("BROOKD"))
    seed = int(os.environ.get("BROOK_REPL_TXN_SEED", "0")) or random.randrange(1, 1 << 30)
    log(f"seed {seed} (BROOK_REPL_TXN_SEED replays the kill schedule)")
    rng = random.Random(seed)
    with Cluster(3, config=CONFIG, name="repltxn") as c:
        try:
            body(ck, c, rng, seed)
        except BaseException:
            dump_logs(c, "failure")
            raise
    return ck.done()


def body(ck, c, rng, seed):
    c.wait_ready(60)
    global TOPIC
    from confluent_kafka.admin import AdminClient, NewTopic
    a = AdminClient({"bootstrap.servers": c.bootstrap_all, "logger": quiet_logger()})
    # Placement hashes the topic's name: take the first name whose partitions' (preferred)
    # leaders are on all 3 nodes.
    for i in range(8):
        TOPIC = f"reptxn{i}"
        for f in a.create_topics([NewTopic(TOPIC, PARTS, 3)]).values():
            f.result(30)
        wait_for(f"{TOPIC}'s partitions led with a full ISR", lambda: all_full_isr(c), 30)
        c.wait_ready(60)
        ld = leaders(c, TOPIC)
        if sorted(set(ld.values())) == [1, 2, 3]:
            break
    ck.eq(sorted(set(ld.values())), [1, 2, 3], f"the topic's leaders are on all 3 nodes ({ld})")
    coord = 1
    tid = txn_id_on(c, "reptxn", coord)
    log(f"transactional id {tid}, coordinator node {coord}; leaders {ld}")

    loop = TxnLoop(c.bootstrap_all, tid, seed)
    reader = Reader(c.bootstrap_all)
    loop.start()
    reader.start()
    try:
        wait_for("the first transactions", lambda: loop.ended() >= 5 or loop.broken, 60)
        ck(loop.broken is None, f"the transaction loop started ({loop.broken})")
        kill_participants(ck, c, loop, coord, tid, rng)
        n = loop.ended()
        wait_for("two more transactions with every node up",
                 lambda: loop.ended() >= n + 2 or loop.broken, 30)
    finally:
        loop.stop = True
        loop.join(END_TIMEOUT + 40)
    ck(not loop.is_alive(), "the transaction loop ended (its last transaction ended)")
    txns = list(loop.txns)
    outcomes = {}
    for _, want, o, _, _ in txns:
        outcomes[(want, o)] = outcomes.get((want, o), 0) + 1
    slow = max(txns, key=lambda t: t[3])
    log(f"{len(txns)} transactions: " + ", ".join(
        f"{'commit' if w else 'abort'} wanted -> {o}: {n}" for (w, o), n in sorted(outcomes.items()))
        + f"; slowest {slow[3]:.2f}s ({slow[0]}: {slow[4]}); delivery errors {len(loop.dr_errors)}")
    for t in txns:
        if t[4]:
            log(f"  {t[0]} {'commit' if t[1] else 'abort'} -> {t[2]} in {t[3]:.2f}s: {t[4]}")
    ck(loop.broken is None, f"no transaction ended otherwise than committed or aborted ({loop.broken})")
    bad = [t[:3] for t in txns if t[2] not in ("committed", "aborted")]
    ck.eq(bad, [], "transactions neither committed nor aborted")
    hung = [(t[0], round(t[3], 2)) for t in txns if t[3] > END_TIMEOUT]
    ck.eq(hung, [], f"transactions that took more than {END_TIMEOUT} s to end")
    ck(len(loop.committed_tags()) >= 10 and len(loop.aborted_tags()) >= 3,
       f"enough committed ({len(loop.committed_tags())}) and aborted "
       f"({len(loop.aborted_tags())}) transactions to mean something")

    c.wait_ready(60)
    wait_no_open_txn(ck, c, TOPIC, list(range(PARTS)), 30, "after the kills")
    final = decoded(read_topic(c.bootstrap_all, TOPIC, list(range(PARTS)), "read_committed", timeout=60))
    uncommitted = decoded(read_topic(c.bootstrap_all, TOPIC, list(range(PARTS)), "read_uncommitted",
                                     timeout=60))
    want = sum(len(v) for v in final.values())
    wait_for("the concurrent reader caught up", lambda: len(reader.values()) >= want, 60)
    time.sleep(1.0)  # anything extra would show now
    reader.stop = True
    reader.join(10)
    check_reads(ck, loop, final, uncommitted, reader)
    log(f"read_committed: {want} records of {len(loop.committed_tags())} committed transactions, "
        f"whole and once; nothing of {len(loop.aborted_tags())} aborted ones "
        f"(read_uncommitted holds {sum(len(v) for v in uncommitted.values())})")
    try:
        reader.c.close()
    except Exception:  # noqa: BLE001
        pass

    # 6: the producer goes on.
    p = loop.p
    p.begin_transaction()
    for part in range(PARTS):
        p.produce(TOPIC, value=f"final|{part}".encode(), partition=part)
    p.commit_transaction(30)
    data = read_topic(c.bootstrap_all, TOPIC, list(range(PARTS)), "read_committed", timeout=60)
    got = {part: [v.decode() for _, v in data[part] if v.startswith(b"final|")] for part in range(PARTS)}
    ck.eq(got, {part: [f"final|{part}"] for part in range(PARTS)},
          "a final transaction commits and reads back whole on every partition")

    # 7: the transaction log's replicas agree.
    last = {}

    def batches_of(data):
        """The file's whole batches (base offset 8 bytes, length 4, then length bytes): an
        active segment's file can run on in zeros written ahead (storage/log.h), which each
        replica writes at its own points."""
        end = 0
        while end + 12 <= len(data):
            n = int.from_bytes(data[end + 8:end + 12], "big")
            if n == 0 or end + 12 + n > len(data):
                break
            end += 12 + n
        return data[:end]

    def replicas_agree():
        last.clear()
        for n in c.nodes:
            for d in sorted(glob.glob(os.path.join(n.data_dir, "__transaction_state-*"))):
                h = hashlib.sha256()
                for f in sorted(glob.glob(os.path.join(d, "*.log"))):
                    with open(f, "rb") as fh:
                        h.update(batches_of(fh.read()))
                last.setdefault(os.path.basename(d), set()).add(h.hexdigest())
        return len(last) > 0 and all(len(v) == 1 for v in last.values())

    try:
        wait_for("the __transaction_state replicas to agree", replicas_agree, 10, step=0.5)
    except AssertionError:
        pass
    differ = sorted(k for k, v in last.items() if len(v) != 1)
    ck(last and not differ, f"__transaction_state replicas differ after 10 s: {differ}")
    log(f"__transaction_state: {len(last)} partitions, every replica the same bytes")


if __name__ == "__main__":
    run_main(main)
