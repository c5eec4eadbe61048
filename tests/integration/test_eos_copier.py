#!/usr/bin/python3
"""Exactly-once consume-transform-produce under crashes (after Kafka's transactions system
test), with the librdkafka copier eos_copier.c.

  test_eos_copier.py COPIER [--records N] [--copier-kills K] [--broker-kills B] [--seed S]

Input: N records (default 100 000) in 2 partitions, produced up front by an idempotent
producer: record i goes to partition i % 2 with value "i" and key "<i%2>-<(i//2)%10>" (so
the key encodes the input partition).  Three copier processes (same group, transactional
ids copier-0..2) copy it into a 3-partition output topic, each record becoming
key = the input key, value = "<in partition>:<in offset>:<in value>".
Meanwhile the test SIGKILLs copiers at random moments (>= K, default 10; each restarted
with the same transactional id after 0-1.5 s) and SIGKILLs brookd (>= B, default 5;
restarted on the same port and data dir), and a read_committed reader (assign, no group)
reads the output during the whole run, recording every record it ever saw.
Then the copiers are stopped (SIGTERM: abort, LeaveGroup, exit 0) and checked:
  - the concurrent reader never saw an input record twice, and saw every one;
  - a fresh read_committed reader finds every input (partition, offset) in the output
    exactly once, with the input's key and value, no record that is not a copy;
  - per output partition, the records of each input partition are in input order (hence
    per key too), and every key stays on one output partition;
  - the group's committed offsets are the input's end offsets; no open transaction is left
    (read_committed end = high watermark on every output partition);
  - the kills happened (counts), and no copier exited by itself.
Bounded: the whole test stays under 6 minutes (RUN_SERIAL in ctest).  BROOK_EOS_SEED
replays a kill schedule."""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Broker, Check, _pdeathsig, run_main, wait_until  # noqa: E402

IN_TOPIC, OUT_TOPIC, GROUP = "eos-in", "eos-out", "eos-copiers"
IN_PARTS, OUT_PARTS = 2, 3
BROKER_CONF = {
    "group.initial.rebalance.delay.ms": 0,
    "group.min.session.timeout.ms": 1000,
    "transaction.state.log.num.partitions": 4,
    "offsets.topic.num.partitions": 4,
    "transaction.abort.timed.out.transaction.cleanup.interval.ms": 500,
}


def key_of(i):
    return f"{i % IN_PARTS}-{(i // IN_PARTS) % 10}"


class Copiers:
    """Copier processes by transactional id; stdout/stderr appended to per-id log files."""

    def __init__(self, argv_of, logdir, ids):
        self.argv_of = argv_of
        self.logdir = logdir
        self.ids = list(ids)
        self.procs = {}
        self.starts = {i: 0 for i in ids}
        self.unexpected_exits = []

    def log(self, tid):
        return os.path.join(self.logdir, f"{tid}.log")

    def start(self, tid):
        self.starts[tid] += 1
        f = open(self.log(tid), "ab")
        f.write(f"\n===== start #{self.starts[tid]} at {time.monotonic():.3f}\n".encode())
        f.flush()
        self.procs[tid] = subprocess.Popen(self.argv_of(tid), stdout=f, stderr=f,
                                           stdin=subprocess.DEVNULL, preexec_fn=_pdeathsig)
        f.close()

    def kill(self, tid):
        p = self.procs[tid]
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
        with open(self.log(tid), "ab") as f:
            f.write(f"===== SIGKILL at {time.monotonic():.3f}\n".encode())

    def check_alive(self):
        """Restarts (and records) copiers that exited although nobody stopped them."""
        for tid, p in self.procs.items():
            if p.poll() is not None:
                self.unexpected_exits.append((tid, p.returncode))
                print(f"!! copier {tid} exited by itself with {p.returncode}; restarting", flush=True)
                self.start(tid)

    def stop_all(self, timeout=40):
        rcs = {}
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for tid, p in self.procs.items():
            try:
                rcs[tid] = p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
                rcs[tid] = "timeout"
        return rcs

    def close(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)

    def stats(self):
        """Sum of the last stats line of each run of each copier."""
        tot = {}
        for tid in self.ids:
            try:
                with open(self.log(tid), "rb") as f:
                    text = f.read().decode("utf-8", "replace")
            except OSError:
                continue
            for run in text.split("===== start #")[1:]:
                last = None
                for line in run.splitlines():
                    if line.startswith('{"ev":"stats"'):
                        try:
                            last = json.loads(line)
                        except ValueError:
                            pass
                if last:
                    for k in ("commits", "aborts", "recreates", "copied", "rewinds", "retries"):
                        tot[k] = tot.get(k, 0) + last.get(k, 0)
        return tot


class Reader(threading.Thread):
    """read_committed reader of the whole output during the test (assign, no group);
    remembers every (input partition, input offset) it saw and any it saw twice."""

    def __init__(self, bootstrap):
        super().__init__(daemon=True)
        from confluent_kafka import Consumer, TopicPartition
        self.c = Consumer({"bootstrap.servers": bootstrap, "group.id": "eos-observer",
                           "enable.auto.commit": False, "enable.auto.offset.store": False,
                           "isolation.level": "read_committed", "fetch.wait.max.ms": 100,
                           "socket.timeout.ms": 10000, "log.connection.close": False,
                           "enable.partition.eof": False})
        self.c.assign([TopicPartition(OUT_TOPIC, p, 0) for p in range(OUT_PARTS)])
        self.seen = {}
        self.dups = []
        self.errors = []
        self.stop = False
        self.lock = threading.Lock()

    def run(self):
        while not self.stop:
            for m in self.c.consume(num_messages=5000, timeout=0.2):
                if m.error() is not None:
                    if len(self.errors) < 20:
                        self.errors.append(str(m.error()))
                    continue
                ident = tuple(m.value().decode().split(":")[:2])
                with self.lock:
                    if ident in self.seen:
                        self.dups.append((ident, self.seen[ident], (m.partition(), m.offset())))
                    else:
                        self.seen[ident] = (m.partition(), m.offset())
        self.c.close()

    def count(self):
        with self.lock:
            return len(self.seen)


def produce_input(ck, bootstrap, n):
    from ck_helpers import flush, producer
    p = producer(bootstrap, {"enable.idempotence": True, "linger.ms": 20, "batch.num.messages": 2000})
    errs = []

    def dr(err, m):
        if err is not None:
            errs.append(err)
    for i in range(n):
        while True:
            try:
                p.produce(IN_TOPIC, key=key_of(i).encode(), value=str(i).encode(),
                          partition=i % IN_PARTS, on_delivery=dr)
                break
            except BufferError:
                p.poll(0.05)
        if i % 5000 == 0:
            p.poll(0)
    flush(p, 120)
    ck.eq(errs, [], "input produce: delivery errors")


def read_all(bootstrap, topic, nparts, isolation, timeout=120):
    """Reads every partition from 0 to EOF; returns ({p: [(offset, key, value)]}, {p: eof})."""
    from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "eos-final-reader",
                  "enable.auto.commit": False, "enable.auto.offset.store": False,
                  "isolation.level": isolation, "enable.partition.eof": True,
                  "fetch.wait.max.ms": 100, "log.connection.close": False})
    c.assign([TopicPartition(topic, p, 0) for p in range(nparts)])
    out = {p: [] for p in range(nparts)}
    eof = {}
    deadline = time.monotonic() + timeout
    try:
        while len(eof) < nparts:
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic}: EOF on {sorted(eof)} only")
            for m in c.consume(num_messages=10000, timeout=0.5):
                if m.error() is not None:
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        eof[m.partition()] = m.offset()
                        continue
                    raise KafkaException(m.error())
                out[m.partition()].append((m.offset(), m.key(), m.value()))
                eof.pop(m.partition(), None)
    finally:
        c.close()
    return out, eof


def run_eos(ck, name, copier_argv, n_records, ids, copier_kills, broker_kills, seed,
            gap=(1.5, 4.0), budget_s=300.0):
    """The whole scenario: input, copiers `ids` started with copier_argv(bootstrap, tid),
    chaos (copier_kills copier SIGKILLs and broker_kills brookd SIGKILLs in random order,
    `gap` seconds apart), completion within budget_s from the start, then every check."""
    print(f"seed {seed} (BROOK_EOS_SEED={seed} replays the kill schedule)", flush=True)
    rnd = random.Random(seed)
    N = n_records
    T0 = time.monotonic()
    from confluent_kafka import Consumer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    with Broker(name=name, config=BROKER_CONF) as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap, "socket.timeout.ms": 10000})
        # Replication factor -1: the broker default (1, or 3 in the _rf3 cluster variant).
        fs = admin.create_topics([NewTopic(IN_TOPIC, IN_PARTS, -1), NewTopic(OUT_TOPIC, OUT_PARTS, -1)],
                                 request_timeout=15)
        for f in fs.values():
            f.result(timeout=30)
        produce_input(ck, b.bootstrap, N)
        inp, _ = read_all(b.bootstrap, IN_TOPIC, IN_PARTS, "read_committed")
        for p in range(IN_PARTS):
            ck.eq(len(inp[p]), (N - p + IN_PARTS - 1) // IN_PARTS, f"input partition {p} size")
            ck.eq([o for o, _, _ in inp[p]], list(range(len(inp[p]))), f"input partition {p} offsets")
            ck.eq([int(v) for _, _, v in inp[p]], list(range(p, N, IN_PARTS)),
                  f"input partition {p}: values in order, each once")
        print(f"input: {N} records in {time.monotonic() - T0:.1f}s", flush=True)

        copiers = Copiers(lambda tid: copier_argv(b.bootstrap, tid), b.tmp, ids)
        reader = Reader(b.bootstrap)
        reader.start()
        try:
            for tid in ids:
                copiers.start(tid)
            # Chaos: random kills of copiers and of brookd, interleaved.
            actions = ["copier"] * copier_kills + ["broker"] * broker_kills
            rnd.shuffle(actions)
            ckills = bkills = 0
            during = []  # records seen by the reader at each kill: kills while copying
            t_chaos = time.monotonic()
            for act in actions:
                time.sleep(rnd.uniform(*gap))
                copiers.check_alive()
                if act == "copier":
                    tid = rnd.choice(ids)
                    copiers.kill(tid)
                    ckills += 1
                    time.sleep(rnd.uniform(0.0, 1.5))
                    copiers.start(tid)
                else:
                    b.kill()
                    bkills += 1
                    time.sleep(rnd.uniform(0.0, 1.0))
                    b.start()
                during.append(reader.count())
                print(f"  t={time.monotonic() - T0:5.1f}s {act} kill #{ckills if act == 'copier' else bkills}:"
                      f" reader has {reader.count()}/{N}", flush=True)
            print(f"chaos: {ckills} copier kills, {bkills} broker kills in "
                  f"{time.monotonic() - t_chaos:.1f}s", flush=True)
            ck.eq((ckills, bkills), (copier_kills, broker_kills), "kills done (copiers, brookd)")
            ck(sum(1 for x in during if x < N) >= (len(actions) + 1) // 2,
               f"at least half of the kills happened while copying (reader counts {during})")

            # Let the copy finish.
            def done():
                copiers.check_alive()
                return reader.count() >= N
            try:
                wait_until(done, max(20.0, budget_s - (time.monotonic() - T0)), interval=0.5,
                           what="the reader to see every record")
            except TimeoutError:
                print(f"reader saw {reader.count()}/{N}; copier stats {copiers.stats()}", flush=True)
                raise
            print(f"copy complete at t={time.monotonic() - T0:.1f}s", flush=True)
            time.sleep(1.0)  # anything late (a duplicate) would show up now
            rcs = copiers.stop_all()
        finally:
            copiers.close()
            reader.stop = True
            reader.join(timeout=20)

        st = copiers.stats()
        print(f"copier stats: {st}; starts {copiers.starts}", flush=True)
        ck.eq(rcs, {tid: 0 for tid in ids}, "copiers exit 0 on SIGTERM")
        ck.eq(copiers.unexpected_exits, [], "no copier exited by itself")
        ck.eq(reader.dups[:10], [], "the concurrent read_committed reader never saw a record twice")
        ck.eq(reader.count(), N, "the concurrent reader saw every record")
        ck(st.get("commits", 0) > 0, "copiers committed transactions")

        # Final check, fresh read_committed reader.
        out, eof = read_all(b.bootstrap, OUT_TOPIC, OUT_PARTS, "read_committed")
        wm = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "eos-wm"})
        for p in range(OUT_PARTS):
            lo, hi = wm.get_watermark_offsets(TopicPartition(OUT_TOPIC, p), timeout=10)
            ck.eq(eof[p], hi, f"output partition {p}: read_committed end (LSO) = high watermark "
                               f"(no transaction left open)")
        wm.close()
        gc = Consumer({"bootstrap.servers": b.bootstrap, "group.id": GROUP,
                       "isolation.level": "read_committed", "enable.auto.commit": False})
        committed = gc.committed([TopicPartition(IN_TOPIC, p) for p in range(IN_PARTS)], timeout=30)
        gc.close()
        ck.eq({x.partition: x.offset for x in committed},
              {p: len(inp[p]) for p in range(IN_PARTS)}, "group's committed offsets = input end")

        where = {}
        for p in range(OUT_PARTS):
            last_in = {}
            for off, key, val in out[p]:
                sp, so, sv = val.decode().split(":")
                ident = (int(sp), int(so))
                ck(ident not in where, f"input {ident} copied twice: at out {where.get(ident)} and {(p, off)}")
                where[ident] = (p, off)
                ck(0 <= ident[0] < IN_PARTS and 0 <= ident[1] < len(inp[ident[0]]),
                   f"out {p}@{off}: {val!r} is not a copy of an input record")
                _, ikey, ival = inp[ident[0]][ident[1]]
                ck.eq((key, sv.encode()), (ikey, ival), f"out {p}@{off}: key and value of input {ident}")
                ck(ident[1] > last_in.get(ident[0], -1),
                   f"out {p}@{off}: input {ident} after input offset {last_in.get(ident[0])} (order)")
                last_in[ident[0]] = ident[1]
        ck.eq(len(where), N, "every input record is in the output exactly once")
        key_parts = {}
        for p in range(OUT_PARTS):
            for _, key, _ in out[p]:
                key_parts.setdefault(key, set()).add(p)
        ck(all(len(s) == 1 for s in key_parts.values()), "every key on one output partition")
        ck.eq(sorted({p for s in key_parts.values() for p in s}), list(range(OUT_PARTS)),
              "all output partitions used")
        print(f"output sizes {[len(out[p]) for p in range(OUT_PARTS)]}, "
              f"high watermarks {[eof[p] for p in range(OUT_PARTS)]} (aborted records + markers "
              f"make up the difference); total {time.monotonic() - T0:.1f}s", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("copier")
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--copier-kills", type=int, default=10)
    ap.add_argument("--broker-kills", type=int, default=5)
    ap.add_argument("--seed", type=int, default=int(os.environ.get("BROOK_EOS_SEED", "0")) or None)
    ap.add_argument("--txn-max", type=int, default=200)
    ap.add_argument("--txn-ms", type=int, default=100)
    ap.add_argument("--rate", type=int, default=800, help="records/s per copier")
    a = ap.parse_args()
    ck = Check("eos_copier")
    run_eos(ck, "eos", lambda bs, tid: [a.copier, bs, IN_TOPIC, OUT_TOPIC, GROUP, tid,
                                        str(a.txn_max), str(a.txn_ms), str(a.rate)],
            a.records, [f"copier-{n}" for n in range(3)], a.copier_kills, a.broker_kills,
            a.seed or random.randrange(1, 1 << 30))
    ck.done()
    return 0


if __name__ == "__main__":
    run_main(main)
