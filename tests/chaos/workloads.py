"""The chaos campaign's client workloads. Each keeps the history the checker needs and the
monotonic times of its successful operations (ok_times, for liveness). Clients: librdkafka
through python3-confluent-kafka, and kafkajs (tests/integration/js) as the second one."""

import os
import random
import subprocess
import sys
import threading
import time
import traceback

from common import NPARTS, QUEUE, TXN, TXN_IDS, log

JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration", "js")


def debug_conf(var):
    """librdkafka's debug contexts (e.g. eos,protocol) from the environment variable var."""
    return {"debug": os.environ[var]} if os.environ.get(var) else {}


class Threads:
    """A workload run by threads (self.threads) until self.halt is set; stop() joins them
    within one 120 s bound from the halt (a thread stuck in its client is reported and
    left behind)."""

    def start(self):
        for t in self.threads:
            t.start()

    def stop(self):
        self.halt.set()
        deadline = time.monotonic() + 120  # all of them stop at once: one bound for all
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
            if t.is_alive():  # say where it hangs: the run's log is all there is afterwards
                frame = sys._current_frames().get(t.ident)
                log(f"{type(self).__name__}: a thread did not stop in 120 s; it is at:\n"
                    + "".join(traceback.format_stack(frame) if frame else ["(gone)"]))


class QueueWorkload(Threads):
    """Idempotent acks=all librdkafka producers writing "q:PRODUCER:N" to random partitions
    of the queue topic; acked[value] = (partition, offset)."""

    def __init__(self, bootstrap, rng, producers=2):
        from confluent_kafka import Producer
        self.acked, self.failed, self.sent, self.ok_times = {}, 0, set(), []
        self.halt = threading.Event()
        self.threads = []
        for i in range(producers):
            # message.timeout.ms at librdkafka's default (5 min): a message timing out
            # makes librdkafka bump the idempotent epoch and renumber what is queued,
            # possibly persisted batches included, so idempotence holds only while no
            # message times out (upstream, confluentinc/librdkafka#4953); at 60 s the
            # longer outages of a loaded run duplicated records (docs/reliability.md).
            p = Producer({"bootstrap.servers": bootstrap, "acks": "all",
                          "enable.idempotence": True, "linger.ms": 5,
                          "message.timeout.ms": 300000, "retry.backoff.ms": 100,
                          "reconnect.backoff.max.ms": 1000,
                          "topic.metadata.refresh.interval.ms": 1000,
                          **debug_conf("CHAOS_QUEUE_DEBUG")})
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
                self.ok_times.append(time.monotonic())

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


class KafkajsQueue:
    """The second client: js/repl_producer_kafkajs.js (kafkajs, idempotent, acks -1) writes
    "qk:P:N" to every partition of the queue topic, logging each attempt and each
    acknowledgement with its base offset; merge() adds its history to a QueueWorkload's.
    It runs in its `fresh` mode: a failed send's records are never sent again (they are
    sent, not acknowledged: found at most once) and the next go out on a new producer,
    the only safe move with kafkajs 2.2.4 (docs/reliability.md)."""

    def __init__(self, node, bootstrap, tmp):
        self.acklog = os.path.join(tmp, "kafkajs-acks.log")
        self.out = open(os.path.join(tmp, "kafkajs.out"), "w")
        self.proc = subprocess.Popen(
            [node, os.path.join(JS, "repl_producer_kafkajs.js"), bootstrap, QUEUE,
             str(NPARTS), self.acklog, "qk", "fresh"], stdin=subprocess.PIPE, stdout=self.out,
            stderr=subprocess.STDOUT)

    def stop(self):
        stop_child(self.proc, "kafkajs producer")
        self.out.close()

    def merge(self, q):
        """Adds what kafkajs sent and had acknowledged to q.sent and q.acked."""
        acked = 0
        with open(self.acklog) as f:
            for line in f:
                kind, *rest = line.split()
                if kind in ("S", "A"):
                    p, first, count = (int(rest[0]), int(rest[1]), int(rest[2])) if kind == "S" \
                        else (int(rest[0]), int(rest[2]), int(rest[3]))
                    for i in range(count):
                        v = b"qk:%d:%d" % (p, first + i)
                        q.sent.add(v)
                        if kind == "A":
                            q.acked[v] = (p, int(rest[1]) + i)
                            acked += 1
        return acked


class KafkajsTxn:
    """The second transactional client: js/chaos_txn_kafkajs.js (kafkajs) runs
    consume-transform-produce transactions "NAME.K" on the txn topic in its own group,
    logging each transaction as JSON lines; merge() reads that history into txns (the
    TxnClient format) and ok_times (monotonic, like the other workloads')."""

    NAME, GROUP, TID = "tk0", "chaos-txn-gk", "chaos-txn-kjs"

    def __init__(self, node, bootstrap, tmp, seed):
        self.group, self.txns, self.ok_times, self.unsent = self.GROUP, [], [], 0
        self.hist = os.path.join(tmp, "kafkajs-txn.log")
        self.out = open(os.path.join(tmp, "kafkajs-txn.out"), "w")
        self.proc = subprocess.Popen(
            [node, os.path.join(JS, "chaos_txn_kafkajs.js"), bootstrap, TXN, str(NPARTS),
             self.TID, self.GROUP, self.NAME, str(seed), self.hist],
            stdin=subprocess.PIPE, stdout=self.out, stderr=subprocess.STDOUT)

    def stop(self):
        stop_child(self.proc, "kafkajs transactional client")
        self.out.close()

    def merge(self):
        """Reads the history file: the last line of each transaction counts."""
        import json
        by_name, walls = {}, []
        with open(self.hist) as f:
            for line in f:
                ev = json.loads(line)
                if ev["ev"] == "ok":
                    walls.append(ev["wall"] / 1000.0)
                    continue
                if ev["ev"] == "unsent":  # kafkajs's dropped partitions, caught and aborted
                    self.unsent += 1
                    continue
                by_name[ev["name"]] = {
                    "name": ev["name"].encode(), "outcome": ev["outcome"],
                    "reads": [(p, off, v.encode()) for p, off, v in ev["reads"]],
                    "writes": [v.encode() for v in ev["writes"]],
                    "offsets": {int(p): off for p, off in ev["offsets"].items()}}
        self.txns = list(by_name.values())  # dicts keep insertion order: the run's order
        shift = time.monotonic() - time.time()
        self.ok_times = [w + shift for w in walls]
        return len(self.txns)


def stop_child(proc, what):
    """Says "stop" on a workload process's stdin and waits for it (90 s, then SIGKILL)."""
    if proc.poll() is not None:
        log(f"{what} had exited already (rc {proc.returncode}): see its .out file")
        return
    try:
        proc.stdin.write(b"stop\n")
        proc.stdin.close()
        proc.wait(90)
    except (OSError, subprocess.TimeoutExpired):
        log(f"{what} did not stop in 90 s: killed")
        proc.kill()
        proc.wait(10)


class Subscribers(Threads):
    """Consumers of the queue topic by subscribe (group chaos-sub, auto-commit), polling for
    the whole run: events[i] is consumer i's history, ("assign", [p]), ("revoke", [p]) and
    ("msg", p, offset). A watcher samples the group's committed offsets every second
    (samples: (time, p, offset))."""

    GROUP = "chaos-sub"

    def __init__(self, bootstrap, n=2):
        self.bootstrap, self.halt = bootstrap, threading.Event()
        self.events = [[] for _ in range(n)]
        self.samples = []  # (monotonic time, partition, committed offset) per watcher sample
        self.commits = []  # (monotonic time, consumer, partition, offset, error) per commit
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True)
                        for i in range(n)]
        self.threads.append(threading.Thread(target=self.watch, daemon=True))

    def run(self, i):
        from confluent_kafka import Consumer
        ev = self.events[i]
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": self.GROUP,
                      "auto.offset.reset": "earliest", "enable.auto.commit": True,
                      "auto.commit.interval.ms": 1000, "session.timeout.ms": 10000,
                      "heartbeat.interval.ms": 1000, "reconnect.backoff.max.ms": 1000,
                      "on_commit": lambda err, tps: self.commits.extend(
                          (time.monotonic(), i, tp.partition, tp.offset, str(err or tp.error or ""))
                          for tp in tps)})
        c.subscribe([QUEUE],
                    on_assign=lambda _c, ps: ev.append(("assign", [tp.partition for tp in ps],
                                                        time.monotonic())),
                    on_revoke=lambda _c, ps: ev.append(("revoke", [tp.partition for tp in ps],
                                                        time.monotonic())),
                    on_lost=lambda _c, ps: ev.append(("revoke", [tp.partition for tp in ps],
                                                      time.monotonic(), "lost")))
        while not self.halt.is_set():
            m = c.poll(0.2)
            if m is not None and not m.error():
                ev.append(("msg", m.partition(), m.offset()))
        c.close()

    def watch(self):
        from confluent_kafka import Consumer, KafkaException, TopicPartition
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": self.GROUP})
        while not self.halt.wait(1.0):
            try:
                got = c.committed([TopicPartition(QUEUE, p) for p in range(NPARTS)], timeout=5)
            except KafkaException:
                continue
            now = time.monotonic()
            for tp in got:
                if tp.error is None and tp.offset >= 0:
                    self.samples.append((now, tp.partition, tp.offset))
        c.close()


class TxnClient:
    """One consume-transform-produce client: a read_committed consumer of the txn topic
    (assigned every partition, its offsets kept in group chaos-txn-gI) and a transactional
    producer. Each transaction polls a few records, writes 1-3 values "tI.K:P:J" to each of
    1-3 partitions, puts the consumer's positions in the transaction and commits (75%) or
    aborts. txns[] is the history: name, reads [(p, offset, value)], writes, the offsets
    it committed, the outcome (committed, aborted, or unknown when the result was not
    learned before a fatal error). An abort rewinds the consumer to the committed
    positions ("rewind" in events)."""

    def __init__(self, idx, bootstrap, rng, ok_times):
        self.idx, self.bootstrap, self.rng = idx, bootstrap, rng
        self.tid, self.group = TXN_IDS[idx], f"chaos-txn-g{idx}"
        self.txns, self.events, self.ok_times = [], [], ok_times
        self.pos = {p: 0 for p in range(NPARTS)}
        self.assigned = False

    def producer(self):
        from confluent_kafka import Producer
        # connections.max.idle.ms works around librdkafka#5511 (open in 2.15.1): when the
        # cached group coordinator left Metadata while down, its handle is decommissioned
        # and send_offsets_to_transaction waits for ever for a broker state change that
        # would make it look the coordinator up again (seed 94 in CI). An idle connection
        # closing is such a change, and a stuck producer's connections are all idle.
        conf = {"bootstrap.servers": self.bootstrap, "transactional.id": self.tid,
                "transaction.timeout.ms": 20000, "message.timeout.ms": 20000,
                "reconnect.backoff.max.ms": 1000, "linger.ms": 2,
                "connections.max.idle.ms": 10000}
        p = Producer({**conf, **debug_conf("CHAOS_TXN_DEBUG")})
        p.init_transactions(30)
        return p

    def consumer(self):
        from confluent_kafka import Consumer
        return Consumer({"bootstrap.servers": self.bootstrap, "group.id": self.group,
                         "enable.auto.commit": False, "isolation.level": "read_committed",
                         "auto.offset.reset": "earliest", "reconnect.backoff.max.ms": 1000})

    def rewind(self, c, from_broker):
        """Puts the consumer at the committed positions: ours, or (after a transaction
        whose outcome is unknown) the group's as the broker has them. The partitions are
        assigned once, then seeked: librdkafka 2.15.1 aborts the process
        (rd_kafka_assignment_partition_stopped: Assertion rktp->rktp_started) when assign()
        replaces an assignment right after an aborted transaction, as seed 94 showed."""
        from confluent_kafka import KafkaException, TopicPartition
        if from_broker:
            got = c.committed([TopicPartition(TXN, p) for p in range(NPARTS)], timeout=30)
            self.pos = {tp.partition: max(tp.offset, 0) for tp in got}
        tps = [TopicPartition(TXN, p, self.pos[p]) for p in range(NPARTS)]
        try:
            if not self.assigned:
                c.assign(tps)
                self.assigned = True
            else:
                for tp in tps:
                    c.seek(tp)
        except KafkaException as e:  # a partition not fetching yet: seek refuses it
            log(f"{self.tid}: seek failed ({e}); assigning again")
            c.assign(tps)
        self.events.append(("rewind",))

    def finish(self, p, t, commit):
        """Commits or aborts the open transaction t, retrying retriable errors; returns the
        producer to go on with, or None (a fatal error: t's outcome stays unknown and the
        next producer's InitProducerId fences it)."""
        from confluent_kafka import KafkaException
        for _ in range(5):
            try:
                (p.commit_transaction if commit else p.abort_transaction)(30)
                t["outcome"] = "committed" if commit else "aborted"
                return p
            except KafkaException as e:
                err = e.args[0]
                if err.txn_requires_abort() and commit:
                    return self.finish(p, t, False)
                if not err.retriable():
                    return None
                time.sleep(0.2)
        return None

    def one(self, p, c, k):
        """One transaction; returns the producer to go on with (None: make a new one)."""
        from confluent_kafka import KafkaException, TopicPartition
        name = b"t%d.%d" % (self.idx, k)
        t = {"name": name, "reads": [], "writes": [], "offsets": None, "outcome": "unknown"}
        self.txns.append(t)
        pos = dict(self.pos)
        try:
            p.begin_transaction()
            deadline = time.monotonic() + 0.5
            for _ in range(self.rng.randint(0, 6)):
                m = c.poll(max(0.0, deadline - time.monotonic()))
                if m is None:
                    break
                if m.error():
                    continue
                t["reads"].append((m.partition(), m.offset(), m.value()))
                self.events.append(("msg", m.partition(), m.offset()))
                pos[m.partition()] = m.offset() + 1
            for part in self.rng.sample(range(NPARTS), self.rng.randint(1, 3)):
                for j in range(self.rng.randint(1, 3)):
                    v = b"%s:%d:%d" % (name, part, j)
                    p.produce(TXN, value=v, partition=part)
                    t["writes"].append(v)
            t["offsets"] = pos
            p.send_offsets_to_transaction([TopicPartition(TXN, q, o) for q, o in pos.items()],
                                          c.consumer_group_metadata(), 30)
        except (KafkaException, BufferError):
            p = self.finish(p, t, False)
        else:
            p = self.finish(p, t, self.rng.random() >= 0.25)
        if t["outcome"] == "committed":
            self.pos = pos
            self.ok_times.append(time.monotonic())
        elif p is not None:
            self.rewind(c, False)
        return p

    def run(self, halt):
        from confluent_kafka import KafkaException
        p, c, k = None, self.consumer(), 0
        while not halt.is_set():
            try:
                if p is None:
                    p = self.producer()
                    self.rewind(c, True)  # the fenced transaction is decided by now
            except KafkaException:
                p = None
                time.sleep(0.5)
                continue
            k += 1
            p = self.one(p, c, k)
        c.close()


class TxnWorkload(Threads):
    """Two TxnClients, each on its own thread; txns is both histories."""

    def __init__(self, bootstrap, rng):
        self.ok_times, self.halt = [], threading.Event()
        self.clients = [TxnClient(i, bootstrap, random.Random(rng.randrange(1 << 30)),
                                  self.ok_times) for i in range(len(TXN_IDS))]
        self.threads = [threading.Thread(target=cl.run, args=(self.halt,), daemon=True)
                        for cl in self.clients]

    @property
    def txns(self):
        return [t for cl in self.clients for t in cl.txns]
