#!/usr/bin/python3
"""Transaction crash test: transactions stay atomic and committed ones durable while brookd
is SIGKILLed at random moments.

Application threads (confluent-kafka, each with its own transactional.id; 2 by default)
run transactions without pause.  Transaction n of an app writes a known set of unique
records (1-4 each) to 2-6 partitions of two 3-partition topics (at least one of each
topic), then commits; every fourth is deliberately aborted instead (after a flush, so its
records really are in the log).  Errors are handled like a real application would:
retriable errors of commit/abort are retried (bounded); an abortable error aborts the
transaction; a fatal error (or an abort that does not succeed) makes the app re-create its
producer with the same transactional.id, whose init_transactions() fences the old one
and aborts (or completes) its transaction.  Each transaction's outcome is recorded:

  committed  commit_transaction() returned success
  aborted    abort_transaction() returned success
  never      commit_transaction() was never called (the producer was given up first)
  unknown    commit_transaction() was called but neither it nor a later abort succeeded

The applications also crash themselves now and then (1% of transactions, at most 40 per
app): either with the transaction open after its records were flushed (outcome never), or
right after starting commit_transaction() with a tiny timeout (outcome unknown unless it
returned success), the old producer going on with its commit for a few seconds while the
new producer's init_transactions() fences it.

Meanwhile the main thread SIGKILLs brookd >= 20 times (default 24) at random moments and
restarts it on the same port and data dir.  At the end: one more SIGKILL + restart, then a
fresh producer per transactional.id runs init_transactions() (which completes or aborts
anything left open).  Then read_committed must show:

  * every committed transaction whole: all its records, on every partition;
  * nothing of an aborted or never-committed transaction;
  * every transaction all-or-nothing (an unknown one is either whole or absent), nothing
    else, no record twice, each record in the partition it was sent to;
  * per app and partition, records in transaction order and send order;
  * no hanging transaction: ListOffsets(latest) read_committed == high watermark everywhere,
    and the read_committed read ends there.

Liveness: every broker lifetime of >= 1 s must see some transaction end (the load really
is continuous and the apps recover from each crash); transactions that took > 2 s are
listed.

Environment: BROOK_TXN_CRASH_KILLS (default 24, min 20), BROOK_TXN_CRASH_SEED (printed),
BROOK_TXN_CRASH_APPS (default 2), BROOK_TXN_CRASH_RATE (transactions/s per app, default
100), BROOK_TXN_CRASH_APP_CRASH_P (default 0.01).  Bounded: the kill phase has a time
limit and the whole test must end within 4 minutes."""

import os
import random
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from brook_harness import Broker, Check, run_main  # noqa: E402
from ck_helpers import consumer, read_partition  # noqa: E402
from test_txn_common import READ_COMMITTED, READ_UNCOMMITTED, latest, quiet_logger  # noqa: E402

from confluent_kafka import KafkaException, Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TOPICS = ("tcr-a", "tcr-b")
PARTS = 3
ALL_TP = [(t, p) for t in TOPICS for p in range(PARTS)]
KILLS = max(20, int(os.environ.get("BROOK_TXN_CRASH_KILLS", "24")))
SEED = int(os.environ.get("BROOK_TXN_CRASH_SEED", str(random.randrange(1 << 30))))
APPS = max(1, int(os.environ.get("BROOK_TXN_CRASH_APPS", "2")))
RATE = float(os.environ.get("BROOK_TXN_CRASH_RATE", "100"))
KILL_PHASE_LIMIT = 120.0     # seconds for all kills + restarts
TOTAL_LIMIT = 230.0          # the whole test (ctest timeout is 240+)
API_TIMEOUT = 10             # seconds per transactional API call
MAX_TXNS = 100000            # hard cap per app
APP_CRASH_P = float(os.environ.get("BROOK_TXN_CRASH_APP_CRASH_P", "0.01"))  # per transaction
APP_CRASH_MAX = 40           # per app

BROKER_CONFIG = {
    "log.segment.bytes": 256 * 1024,     # rolls (and producer snapshots) during the test
    "log.flush.mode": "sync",
    "transaction.abort.timed.out.transaction.cleanup.interval.ms": 500,
    "transaction.state.log.num.partitions": 4,
    "offsets.topic.num.partitions": 4,
}


def plan_of(app, n):
    """The records of transaction n of app: [(topic, partition, value)], and whether it is
    meant to be aborted."""
    r = random.Random((SEED << 20) ^ (app << 40) ^ n)
    k = r.randint(2, 6)
    tps = r.sample(ALL_TP, k)
    if not any(t == TOPICS[0] for t, _ in tps):
        tps[0] = (TOPICS[0], r.randrange(PARTS))
    if not any(t == TOPICS[1] for t, _ in tps):
        tps[-1] = (TOPICS[1], r.randrange(PARTS))
    tps = sorted(set(tps))
    recs = []
    for t, p in tps:
        for i in range(r.randint(1, 4)):
            recs.append((t, p, f"a{app}|n{n}|{t}|{p}|{i}".encode()))
    return recs, (n % 4 == 2)


def parse(value):
    a, n, t, p, i = value.decode().split("|")
    return int(a[1:]), int(n[1:]), t, int(p), int(i)


class App(threading.Thread):
    def __init__(self, idx, bootstrap):
        super().__init__(daemon=True, name=f"app{idx}")
        self.idx = idx
        self.bs = bootstrap
        self.txn_id = f"tcr-app-{idx}"
        self.stop = threading.Event()
        self.p = None
        self.old = []            # (destroy after, producer): given-up producers
        self.old_lock = threading.Lock()
        self.rnd = random.Random(SEED * 7 + idx)
        self.app_crashes = {"open": 0, "commit": 0}
        self.slow = []           # (seconds, n, outcome, lifetime, errors, start): slow transactions
        self.outcome = {}        # n -> committed | aborted | never | unknown
        self.intended_abort = {}
        self.plans = {}
        self.recreations = 0
        self.errors = {}         # error name -> count
        self.lifetime = 0        # set by the main thread: broker restarts so far
        self.commits_by_lifetime = {}
        self.error = None
        self.n = 0

    # ------------------------------------------------------------------ producer
    def _conf(self):
        return {"bootstrap.servers": self.bs, "transactional.id": self.txn_id,
                "transaction.timeout.ms": 10000, "message.timeout.ms": 10000,
                "socket.timeout.ms": 5000, "request.timeout.ms": 5000,
                "reconnect.backoff.ms": 10, "reconnect.backoff.max.ms": 200,
                "retry.backoff.ms": 50, "linger.ms": 1, "log.connection.close": False,
                "logger": quiet_logger()}

    def _count(self, err):
        name = err.name() if hasattr(err, "name") else str(err)
        self.errors[name] = self.errors.get(name, 0) + 1

    def _retire(self, p):
        """A given-up producer lives on for a while (whatever it still has in flight goes
        on, as a zombie's would), then the reaper destroys it."""
        with self.old_lock:
            self.old.append((time.monotonic() + 5.0, p))

    def reap(self, everything=False):
        """Destroys retired producers whose time is up (called from the reaper thread)."""
        with self.old_lock:
            now = time.monotonic()
            due = [p for t, p in self.old if everything or t <= now]
            self.old = [(t, p) for t, p in self.old if not (everything or t <= now)]
        while due:
            due.pop()   # rd_kafka_destroy (without the GIL)

    def new_producer(self, deadline):
        """Creates and initialises a producer (re-creating on fatal errors) until success or
        `deadline`; returns False if it gave up.  Its init_transactions() fences the
        previous producer of this transactional.id."""
        if self.p is not None:
            self._retire(self.p)
            self.p = None
            self.recreations += 1
        while time.monotonic() < deadline:
            p = Producer(self._conf())
            for _ in range(10):
                try:
                    p.init_transactions(API_TIMEOUT)
                    self.p = p
                    return True
                except KafkaException as e:
                    err = e.args[0]
                    self._count(err)
                    if err.fatal() or not err.retriable() or time.monotonic() > deadline:
                        break
            self._retire(p)
            time.sleep(0.05)
        return False

    def _retry(self, fn, tries=4):
        """Calls a transactional API, retrying retriable (non-fatal, non-abortable) errors."""
        last = None
        for _ in range(tries):
            try:
                fn(API_TIMEOUT)
                return
            except KafkaException as e:
                err = e.args[0]
                self._count(err)
                last = e
                if err.fatal() or err.txn_requires_abort() or not err.retriable():
                    raise
        raise last

    def try_abort(self):
        try:
            self._retry(self.p.abort_transaction)
            return True
        except KafkaException:
            return False

    # ------------------------------------------------------------------ one transaction
    def run_txn(self, n):
        t0 = time.monotonic()
        e0 = dict(self.errors)
        try:
            self._run_txn(n)
        finally:
            dt = time.monotonic() - t0
            if dt > 2.0:
                new = {k: v - e0.get(k, 0) for k, v in self.errors.items() if v != e0.get(k, 0)}
                self.slow.append((round(dt, 2), n, self.outcome.get(n), self.lifetime, new,
                                  round(t0 - T_START, 2)))

    def _run_txn(self, n):
        recs, abort = plan_of(self.idx, n)
        self.plans[n] = recs
        self.intended_abort[n] = abort
        commit_attempted = False
        try:
            self.p.begin_transaction()
            for t, part, v in recs:
                for _ in range(1000):
                    try:
                        self.p.produce(t, value=v, key=b"%d" % n, partition=part)
                        break
                    except BufferError:
                        self.p.poll(0.01)
                else:
                    raise RuntimeError("producer queue stuck")
            self.p.poll(0)
            crash = None
            if sum(self.app_crashes.values()) < APP_CRASH_MAX and self.rnd.random() < APP_CRASH_P:
                crash = self.rnd.choice(["open", "commit"])
            if crash == "open":
                # The application dies with its transaction open: its records are in the
                # log, it never commits; the next producer's init_transactions() aborts it.
                self.p.flush(API_TIMEOUT)
                self.app_crashes["open"] += 1
                self.outcome[n] = "never"
                self.new_producer(time.monotonic() + 60)
                return
            if crash == "commit":
                # The application dies while its commit is in flight (the old producer goes
                # on with it for a few seconds, racing the new one's init_transactions()).
                commit_attempted = True
                self.app_crashes["commit"] += 1
                try:
                    self.p.commit_transaction(self.rnd.uniform(0.0, 0.02))
                    self.outcome[n] = "committed"
                    return
                except KafkaException as e:
                    self._count(e.args[0])
                self.outcome[n] = "unknown"
                self.new_producer(time.monotonic() + 60)
                return
            if abort:
                self.p.flush(API_TIMEOUT)   # so the aborted records really are in the log
                self._retry(self.p.abort_transaction)
                self.outcome[n] = "aborted"
            else:
                commit_attempted = True
                self._retry(self.p.commit_transaction)
                self.outcome[n] = "committed"
                lt = self.lifetime
                self.commits_by_lifetime[lt] = self.commits_by_lifetime.get(lt, 0) + 1
            return
        except KafkaException as e:
            err = e.args[0]
            self._count(err)
            if not err.fatal() and self.try_abort():
                self.outcome[n] = "aborted"
                return
        self.outcome[n] = "unknown" if commit_attempted else "never"
        self.new_producer(time.monotonic() + 60)

    def run(self):
        try:
            if not self.new_producer(time.monotonic() + 60):
                raise RuntimeError(f"{self.txn_id}: could not initialise a producer")
            t0 = time.monotonic()
            while not self.stop.is_set() and self.n < MAX_TXNS:
                if self.p is None and not self.new_producer(time.monotonic() + 60):
                    raise RuntimeError(f"{self.txn_id}: could not re-create the producer")
                if self.n > RATE * (time.monotonic() - t0):
                    time.sleep(0.005)
                    continue
                self.run_txn(self.n)
                self.n += 1
        except Exception as e:  # reported by the main thread
            traceback.print_exc()
            self.error = e


def final_fence(bs, txn_id, deadline):
    """A fresh producer with txn_id: init_transactions() completes or aborts whatever that id
    left open.  Returns the producer."""
    last = None
    while time.monotonic() < deadline:
        p = Producer({"bootstrap.servers": bs, "transactional.id": txn_id, "socket.timeout.ms": 5000,
                      "logger": quiet_logger()})
        try:
            p.init_transactions(API_TIMEOUT)
            return p
        except KafkaException as e:
            last = e
            time.sleep(0.2)
    raise AssertionError(f"final init_transactions for {txn_id} did not succeed: {last}")


T_START = time.monotonic()


def main():
    t_start = time.monotonic()
    rnd = random.Random(SEED)
    print(f"[txn-crash] seed={SEED} kills={KILLS} apps={APPS} rate<={RATE}/s per app", flush=True)
    ck = Check("txn-crash")
    with Broker(name="txncrash", config=BROKER_CONFIG) as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap, "logger": quiet_logger()})
        for f in admin.create_topics([NewTopic(t, PARTS, 1) for t in TOPICS], operation_timeout=10).values():
            f.result(timeout=30)
        del admin

        apps = [App(i, b.bootstrap) for i in range(APPS)]
        reaper_stop = threading.Event()

        def reaper():
            while not reaper_stop.wait(1.0):
                for a in apps:
                    a.reap()
        reaper_thread = threading.Thread(target=reaper, daemon=True, name="reaper")
        reaper_thread.start()
        for a in apps:
            a.start()
        time.sleep(1.0)   # let the apps initialise before the first kill
        kills = 0
        timeline = []     # (killed at, ready again at), seconds since the start
        lifetimes = []    # (uptime, transactions ended during it), one per broker lifetime
        t_ready = time.monotonic()
        done_at_ready = 0
        deadline = time.monotonic() + KILL_PHASE_LIMIT
        while kills < KILLS:
            if time.monotonic() > deadline:
                raise AssertionError(f"only {kills} kills within {KILL_PHASE_LIMIT}s")
            for a in apps:
                if a.error:
                    raise a.error
            up = rnd.choice([0.0, 0.1]) if rnd.random() < 0.15 else rnd.uniform(0.3, 3.0)
            time.sleep(up)
            done_at_kill = sum(len(a.outcome) for a in apps)
            b.kill()
            t_kill = time.monotonic()
            lifetimes.append((round(t_kill - t_ready, 2), done_at_kill - done_at_ready))
            kills += 1
            time.sleep(rnd.uniform(0.0, 0.3))   # the apps keep going while it is down
            b.start()
            t_ready = time.monotonic()
            done_at_ready = sum(len(a.outcome) for a in apps)
            timeline.append((round(t_kill - T_START, 2), round(t_ready - T_START, 2)))
            for a in apps:
                a.lifetime = kills
        time.sleep(2.0)   # a last lifetime with commits
        lifetimes.append((round(time.monotonic() - t_ready, 2), sum(len(a.outcome) for a in apps) - done_at_ready))
        for a in apps:
            a.stop.set()
        for a in apps:
            a.join(timeout=90)
            ck(not a.is_alive(), f"{a.name} did not stop within 90s")
            if a.error:
                raise a.error

        reaper_stop.set()
        reaper_thread.join(timeout=30)

        # One more crash, then end whatever is still open.
        b.kill()
        b.start()
        fence_deadline = time.monotonic() + 60
        fenced = [final_fence(b.bootstrap, a.txn_id, fence_deadline) for a in apps]
        print(f"[txn-crash] final init_transactions done for {len(fenced)} transactional ids", flush=True)

        # ---------------- summary of what the apps saw
        outcomes = {}
        for a in apps:
            for n, o in a.outcome.items():
                outcomes[o] = outcomes.get(o, 0) + 1
        errors = {}
        for a in apps:
            for k, v in a.errors.items():
                errors[k] = errors.get(k, 0) + v
        n_txns = sum(len(a.outcome) for a in apps)
        deliberate = sum(1 for a in apps for n, o in a.outcome.items() if o == "aborted" and a.intended_abort[n])
        print(f"[txn-crash] {kills} kills; {n_txns} transactions: {outcomes} "
              f"({deliberate} deliberate aborts); simulated app crashes "
              f"{[a.app_crashes for a in apps]}; producer re-creations "
              f"{sum(a.recreations for a in apps)}; client errors {errors}", flush=True)
        slow = sorted((x + (a.idx,) for a in apps for x in a.slow), reverse=True)
        if slow:
            print(f"[txn-crash] {len(slow)} transactions took > 2 s; slowest (seconds, n, outcome, lifetime, "
                  f"errors, started at, app): {slow[:8]}", flush=True)
        print(f"[txn-crash] lifetimes (uptime s, transactions ended): {lifetimes}", flush=True)
        # Load is continuous: every broker lifetime of >= 1 s ends some transactions.
        stalled = [i for i, (up, done) in enumerate(lifetimes) if up >= 1.0 and done == 0]
        if stalled:
            print(f"[txn-crash] kill/restart timeline: {timeline}", flush=True)
        ck(not stalled, f"no transaction ended during broker lifetimes {stalled} although each was up >= 1 s: "
                        f"{[lifetimes[i] for i in stalled]} (the apps stalled; a Produce retry left unanswered "
                        f"by the restarted broker does this, see test_txn_idempotent_retry.py)")
        ck(outcomes.get("committed", 0) >= 50, f"too few committed transactions: {outcomes}")
        lifetimes = set()
        for a in apps:
            lifetimes.update(k for k, v in a.commits_by_lifetime.items() if v)
        ck(len(lifetimes) >= (kills + 1) // 2,
           f"commits succeeded in only {len(lifetimes)} of {kills + 1} broker lifetimes")

        # ---------------- no hanging transaction: LSO == HW everywhere
        hw = {}
        for t, p in ALL_TP:
            hw[(t, p)] = latest(b.bootstrap, t, p, READ_UNCOMMITTED)
            ck.eq(latest(b.bootstrap, t, p, READ_COMMITTED), hw[(t, p)],
                  f"{t}/{p}: read_committed ListOffsets (LSO) vs high watermark after the final fence")

        # ---------------- read_committed
        c = consumer(b.bootstrap, {"isolation.level": "read_committed", "fetch.max.bytes": 8 << 20,
                                   "max.partition.fetch.bytes": 4 << 20, "logger": quiet_logger()})
        found = {}          # (app, n) -> set of (topic, part, value)
        seen_values = set()
        last_pos = {}       # (app, topic, part) -> (n, i)
        records = 0
        for t, p in ALL_TP:
            msgs = read_partition(c, t, p, 0, timeout=90)
            for m in msgs:
                v = m.value()
                ck(v not in seen_values, f"{t}/{p}@{m.offset()}: record {v!r} seen twice")
                seen_values.add(v)
                app, n, rt, rp, i = parse(v)
                ck((rt, rp) == (t, p), f"{t}/{p}@{m.offset()}: record {v!r} of another partition")
                prev = last_pos.get((app, t, p))
                ck(prev is None or prev < (n, i),
                   f"{t}/{p}@{m.offset()}: {v!r} after (n, i) = {prev}: transaction/send order broken")
                last_pos[(app, t, p)] = (n, i)
                found.setdefault((app, n), set()).add((t, p, v))
                records += 1
            print(f"[txn-crash] {t}/{p}: {len(msgs)} committed records, HW {hw[(t, p)]}", flush=True)
        c.close()

        visible_unknown = 0
        checked_txns = 0
        for a in apps:
            for n, o in a.outcome.items():
                want = {(t, p, v) for t, p, v in a.plans[n]}
                got = found.pop((a.idx, n), set())
                checked_txns += 1
                if o == "committed":
                    ck.eq(sorted(got), sorted(want), f"app {a.idx} txn {n} (committed): records visible")
                elif o in ("aborted", "never"):
                    ck.eq(sorted(got), [], f"app {a.idx} txn {n} ({o}): records visible")
                else:
                    ck(got == set() or got == want,
                       f"app {a.idx} txn {n} (unknown outcome) partly visible: {len(got)} of {len(want)} records")
                    visible_unknown += bool(got)
        ck.eq(sorted(found), [], "visible records of transactions the apps never ran")

        # ---------------- aborted records are in the log (the aborts were real)
        cu = consumer(b.bootstrap, {"isolation.level": "read_uncommitted", "fetch.max.bytes": 8 << 20,
                                    "logger": quiet_logger()})
        uncommitted = 0
        aborted_in_log = 0
        for t, p in ALL_TP:
            for m in read_partition(cu, t, p, 0, timeout=90):
                uncommitted += 1
                aborted_in_log += m.value() not in seen_values
        cu.close()
        ck(aborted_in_log > 0, "no aborted record in the log at all (aborts after flush should leave some)")
        print(f"[txn-crash] SUMMARY kills={kills} transactions={n_txns} committed={outcomes.get('committed', 0)} "
              f"aborted={outcomes.get('aborted', 0)} (deliberate {deliberate}) never-committed="
              f"{outcomes.get('never', 0)} unknown={outcomes.get('unknown', 0)} (visible whole: {visible_unknown}) "
              f"transactions checked={checked_txns} committed records checked={records} "
              f"log records={uncommitted} (aborted/uncommitted {aborted_in_log})", flush=True)
    elapsed = time.monotonic() - t_start
    print(f"[txn-crash] total {elapsed:.1f}s", flush=True)
    ck(elapsed < 240, f"transaction crash test took {elapsed:.0f}s (limit 240s)")
    ck.done()


if __name__ == "__main__":
    run_main(main)
