#!/usr/bin/python3
"""Transactions with python3-confluent-kafka 1.7 (librdkafka 2.0.2) against brookd.

1. Commit and abort across 2 topics x 3 partitions: five transactions (commit, abort,
   commit, abort, commit; aborted ones flushed first so their records are in the log).
   read_committed sees exactly the committed records, read_uncommitted every record, each at
   its acknowledged offset, in order; ListOffsets(latest) is the same at both levels once
   nothing is open.
2. Zombie fencing: a second producer with the same transactional.id fences the first; the
   zombie's next produce/commit fails fatally as fenced, its open transaction is aborted
   (invisible to read_committed, present for read_uncommitted), its post-fence record is
   not in the log at all; the successor's transaction commits.
3. ListOffsets(latest) under read_committed equals the LSO while a transaction is open (the
   first offset of the open transaction in that partition; the high watermark in a
   partition it does not touch), checked with a raw ListOffsets v2 request and with the
   client's get_watermark_offsets(); after the commit LSO == HW.
4. Timeout: a child process opens a transaction (transaction.timeout.ms=2000) on two
   partitions and exits without ending it.  Another producer then commits records after
   it.  While the abandoned transaction is open, a read_committed consumer is blocked at
   the LSO (its position stays at the abandoned transaction's first offset, no later
   committed record is delivered) and ListOffsets(read_committed) is the LSO.  The
   coordinator aborts it after its timeout (not before: the abort is observed >= 2 s after
   the child began the transaction), the consumer then proceeds and sees exactly the later
   committed records, the LSO reaches the high watermark, and the abandoned records are
   in the log (read_uncommitted) but never visible to read_committed.  The transactional id
   is usable again afterwards.
5. send_offsets_to_transaction (AddOffsetsToTxn + TxnOffsetCommit): committed offsets are
   visible to committed() after commit_transaction(), an aborted transaction's offsets
   are not.

    test_txn_confluent.py                 # the test
    test_txn_confluent.py --abandon BOOTSTRAP TXN_ID TOPIC   # child for 4 (internal)"""

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Broker, Check, run_main  # noqa: E402
from test_txn_common import (READ_COMMITTED, READ_UNCOMMITTED, TxnProducer,  # noqa: E402
                             expect_fatal_fenced, latest, quiet_logger, read_values, wait_for)

from confluent_kafka import KafkaError, KafkaException, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
from ck_helpers import consumer  # noqa: E402

TOPICS = ("tck-a", "tck-b")
PARTS = 3
BROKER_CONFIG = {
    "transaction.abort.timed.out.transaction.cleanup.interval.ms": 500,
    "transaction.state.log.num.partitions": 4,
    "offsets.topic.num.partitions": 4,
    "group.initial.rebalance.delay.ms": 0,
}
ABANDON_TIMEOUT_MS = 2000


def create_topics(bs, specs):
    admin = AdminClient({"bootstrap.servers": bs, "logger": quiet_logger()})
    fs = admin.create_topics([NewTopic(t, n, 1) for t, n in specs], operation_timeout=10)
    for f in fs.values():
        f.result(timeout=30)


def check_all_partitions(ck, bs, expected, what):
    """expected: {(topic, part): [(offset, value, committed)]}.  Compares both isolation
    levels with what is stored."""
    n_c = n_u = 0
    for (topic, part), recs in sorted(expected.items()):
        recs = sorted(recs)
        want_u = [(o, v) for o, v, _ in recs]
        want_c = [(o, v) for o, v, c in recs if c]
        got_u = read_values(bs, topic, part, "read_uncommitted")
        got_c = read_values(bs, topic, part, "read_committed")
        ck.eq(got_u, want_u, f"{what}: read_uncommitted {topic}/{part}")
        ck.eq(got_c, want_c, f"{what}: read_committed {topic}/{part}")
        hw = latest(bs, topic, part, READ_UNCOMMITTED)
        lso = latest(bs, topic, part, READ_COMMITTED)
        ck.eq(lso, hw, f"{what}: {topic}/{part} ListOffsets latest: read_committed (LSO) vs high watermark")
        ck(hw > recs[-1][0] + 1, f"{what}: {topic}/{part} HW {hw} is past the last record and its marker")
        n_c += len(want_c)
        n_u += len(want_u)
    print(f"[txn-ck] {what}: read_committed {n_c} records, read_uncommitted {n_u}, as expected", flush=True)


# --------------------------------------------------------------------- 1. commit / abort
def commit_abort(ck, bs, expected):
    p = TxnProducer(bs, "tck-main")
    plan = [True, False, True, False, True]
    for t, commit in enumerate(plan):
        p.p.begin_transaction()
        vals = []
        for i in range(20):
            for topic in TOPICS:
                for part in range(PARTS):
                    v = f"main{t}-{'c' if commit else 'a'}-{topic}-{part}-{i}".encode()
                    p.produce(topic, part, v)
                    vals.append((topic, part, v))
        if commit:
            p.p.commit_transaction(30)
        else:
            p.flush()
            p.p.abort_transaction(30)
        p.p.poll(0)
        for topic, part, v in vals:
            err, t_, p_, off = p.dr[v]
            ck(err is None, f"txn {t}: delivery of {v!r} failed: {err}")
            ck.eq((t_, p_), (topic, part), f"txn {t}: {v!r} delivered to")
            expected.setdefault((topic, part), []).append((off, v, commit))
    check_all_partitions(ck, bs, expected, "commit/abort")
    return p


# --------------------------------------------------------------------- 2. zombie fencing
def zombie(ck, bs, expected):
    z1 = TxnProducer(bs, "tck-zombie")
    z1.p.begin_transaction()
    pre = []
    for i in range(10):
        for topic, part in ((TOPICS[0], 1), (TOPICS[1], 2)):
            v = f"zombie-{topic}-{part}-{i}".encode()
            z1.produce(topic, part, v)
            pre.append((topic, part, v))
    z1.flush()
    for topic, part, v in pre:
        expected.setdefault((topic, part), []).append((z1.offset_of(v), v, False))

    t0 = time.monotonic()
    z2 = TxnProducer(bs, "tck-zombie")   # fences z1, aborts its transaction
    print(f"[txn-ck] zombie: the second init_transactions took {time.monotonic() - t0:.2f}s", flush=True)
    z2.p.begin_transaction()
    succ = []
    for i in range(10):
        for topic, part in ((TOPICS[0], 1), (TOPICS[1], 2)):
            v = f"successor-{topic}-{part}-{i}".encode()
            z2.produce(topic, part, v)
            succ.append((topic, part, v))
    z2.p.commit_transaction(30)
    for topic, part, v in succ:
        expected[(topic, part)].append((z2.offset_of(v), v, True))

    late = b"zombie-late"
    z1.produce(TOPICS[0], 1, late)
    err = expect_fatal_fenced(ck, lambda: z1.p.commit_transaction(30), "zombie commit_transaction")
    ck(err.fatal(), f"zombie commit error is fatal ({err.name()})")
    z1.p.flush(10)
    z1.p.poll(0)
    ck(late in z1.dr and z1.dr[late][0] is not None,
       f"the zombie's post-fence record must fail delivery: {z1.dr.get(late)}")
    if z1.dr.get(late, (None,))[0] is not None:
        ck(z1.dr[late][0].code() in (KafkaError._FENCED, KafkaError.INVALID_PRODUCER_EPOCH,
                                     KafkaError.PRODUCER_FENCED, KafkaError._PURGE_QUEUE,
                                     KafkaError._PURGE_INFLIGHT),
           f"post-fence delivery error {z1.dr[late][0].name()}")
    check_all_partitions(ck, bs, expected, "zombie")
    for topic, part in ((TOPICS[0], 1),):
        vals = [v for _, v in read_values(bs, topic, part, "read_uncommitted")]
        ck(late not in vals, "the fenced zombie's post-fence record is not in the log")


# --------------------------------------------------------------------- 3. LSO with an open txn
def lso_open(ck, bs):
    topic = "tck-lso"
    pre = TxnProducer(bs, "tck-lso-pre")
    pre.p.begin_transaction()
    for part in range(PARTS):
        for i in range(4):
            pre.produce(topic, part, f"pre-{part}-{i}".encode())
    pre.p.commit_transaction(30)
    hw0 = {part: latest(bs, topic, part, READ_UNCOMMITTED) for part in range(PARTS)}
    for part in range(PARTS):
        ck.eq(hw0[part], 5, f"{topic}/{part}: 4 records + marker")
        ck.eq(latest(bs, topic, part, READ_COMMITTED), 5, f"{topic}/{part}: LSO with nothing open")

    p = TxnProducer(bs, "tck-lso-open")
    p.p.begin_transaction()
    for part in (0, 1):       # partition 2 stays out of the transaction
        for i in range(3):
            p.produce(topic, part, f"open-{part}-{i}".encode())
    p.flush()
    first = {part: p.offset_of(f"open-{part}-0".encode()) for part in (0, 1)}
    ck.eq(first, {0: 5, 1: 5}, "first offsets of the open transaction")
    rc = consumer(bs, {"isolation.level": "read_committed", "logger": quiet_logger()})
    ru = consumer(bs, {"isolation.level": "read_uncommitted", "logger": quiet_logger()})
    for part in range(PARTS):
        hw = latest(bs, topic, part, READ_UNCOMMITTED)
        lso = latest(bs, topic, part, READ_COMMITTED)
        if part in first:
            ck.eq(hw, 8, f"{topic}/{part}: HW with 3 open records")
            ck.eq(lso, first[part], f"{topic}/{part}: ListOffsets latest read_committed = LSO (open txn's first offset)")
        else:
            ck.eq((lso, hw), (5, 5), f"{topic}/{part}: untouched partition, LSO = HW")
        lo_c, hi_c = rc.get_watermark_offsets(TopicPartition(topic, part), timeout=10)
        lo_u, hi_u = ru.get_watermark_offsets(TopicPartition(topic, part), timeout=10)
        ck.eq((lo_c, hi_c), (0, lso), f"{topic}/{part}: get_watermark_offsets read_committed")
        ck.eq((lo_u, hi_u), (0, hw), f"{topic}/{part}: get_watermark_offsets read_uncommitted")
        got = read_values(bs, topic, part, "read_committed")
        ck.eq([v for _, v in got], [f"pre-{part}-{i}".encode() for i in range(4)],
              f"{topic}/{part}: read_committed during the open transaction")
    p.p.commit_transaction(30)
    for part in range(PARTS):
        hw = latest(bs, topic, part, READ_UNCOMMITTED)
        ck.eq(latest(bs, topic, part, READ_COMMITTED), hw, f"{topic}/{part}: LSO = HW after the commit")
        ck.eq(hw, 9 if part in first else 5, f"{topic}/{part}: HW after the commit")
        ck.eq(rc.get_watermark_offsets(TopicPartition(topic, part), timeout=10), (0, hw),
              f"{topic}/{part}: get_watermark_offsets read_committed after the commit")
    rc.close()
    ru.close()
    print("[txn-ck] LSO with an open transaction: ListOffsets/get_watermark_offsets OK", flush=True)


# --------------------------------------------------------------------- 4. timeout
def abandon_child(bs, txn_id, topic):
    """Child: open a transaction on partitions 0 and 1, report, exit without ending it."""
    p = TxnProducer(bs, txn_id, {"transaction.timeout.ms": ABANDON_TIMEOUT_MS,
                                    "socket.timeout.ms": ABANDON_TIMEOUT_MS, "message.timeout.ms": ABANDON_TIMEOUT_MS,
                                    "logger": quiet_logger()})
    p.p.list_topics(topic, timeout=10)  # metadata now, not after begin_transaction (1 s wait)
    t_begin = time.time()
    p.p.begin_transaction()
    vals = {}
    for part in (0, 1):
        vals[part] = [f"abandoned-{part}-{i}".encode() for i in range(3)]
        for v in vals[part]:
            p.produce(topic, part, v)
    p.flush()
    out = {"t_begin": t_begin,
           "offsets": {str(part): [p.offset_of(v) for v in vs] for part, vs in vals.items()}}
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
    os._exit(0)  # abandon: no commit, no abort, no close


def poll_values(c, seconds, want_count=None):
    """Polls c for `seconds` (or until want_count records); returns [(partition, offset, value)]."""
    out = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        m = c.poll(0.1)
        if m is None:
            continue
        if m.error() is not None:
            if m.error().code() == KafkaError._PARTITION_EOF:
                continue
            raise KafkaException(m.error())
        out.append((m.partition(), m.offset(), m.value()))
        if want_count is not None and len(out) >= want_count:
            break
    return out


def timeout_attempt(ck, bs, attempt):
    """Returns True when done, False when the machine was too slow to observe the open
    transaction before its timeout (the caller retries)."""
    topic = f"tck-timeout-{attempt}"
    txn_id = f"tck-abandoned-{attempt}"
    create_topics(bs, [(topic, 2)])
    pre = TxnProducer(bs, f"tck-timeout-pre-{attempt}")
    pre.p.begin_transaction()
    for part in (0, 1):
        for i in range(5):
            pre.produce(topic, part, f"pre-{part}-{i}".encode())
    pre.p.commit_transaction(30)
    later = TxnProducer(bs, f"tck-timeout-later-{attempt}")   # initialised before the clock starts
    later.p.list_topics(topic, timeout=10)

    rc = consumer(bs, {"isolation.level": "read_committed", "logger": quiet_logger()})
    rc.assign([TopicPartition(topic, part, 0) for part in (0, 1)])
    got = poll_values(rc, 20, want_count=10)
    ck.eq(sorted((p, o) for p, o, _ in got), [(p, o) for p in (0, 1) for o in range(5)],
          "read_committed before the abandoned transaction")

    r = subprocess.run([sys.executable, os.path.abspath(__file__), "--abandon", bs, txn_id, topic],
                       capture_output=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError(f"abandon child failed rc={r.returncode}: {r.stderr.decode()[-2000:]}")
    info = json.loads(r.stdout.decode().strip().splitlines()[-1])
    t_begin = info["t_begin"]
    ab_off = {int(k): v for k, v in info["offsets"].items()}
    ck.eq(ab_off, {0: [6, 7, 8], 1: [6, 7, 8]}, "offsets of the abandoned records")

    # Committed records after the abandoned transaction's first offset.
    later.p.begin_transaction()
    later_vals = {part: [f"later-{part}-{i}".encode() for i in range(5)] for part in (0, 1)}
    for part in (0, 1):
        for v in later_vals[part]:
            later.produce(topic, part, v)
    later.p.commit_transaction(30)
    later_off = {part: [later.offset_of(v) for v in later_vals[part]] for part in (0, 1)}

    # While it is open: blocked at the LSO.
    obs = {}
    for part in (0, 1):
        obs[f"lso{part}"] = latest(bs, topic, part, READ_COMMITTED)
        obs[f"hw{part}"] = latest(bs, topic, part, READ_UNCOMMITTED)
        obs[f"wm{part}"] = rc.get_watermark_offsets(TopicPartition(topic, part), timeout=5)
    obs["polled"] = poll_values(rc, 0.4)
    obs["position"] = {tp.partition: tp.offset for tp in rc.position([TopicPartition(topic, p) for p in (0, 1)])}
    t_obs_end = time.time()
    blocked_ok = (all(obs[f"lso{p}"] == 6 for p in (0, 1)) and
                  all(obs[f"wm{p}"] == (0, 6) for p in (0, 1)) and
                  obs["polled"] == [] and obs["position"] == {0: 6, 1: 6})
    if not blocked_ok:
        if t_obs_end - t_begin < ABANDON_TIMEOUT_MS / 1000.0 - 0.05:
            raise AssertionError(f"while the abandoned transaction was open ({t_obs_end - t_begin:.2f}s after "
                                 f"it began, timeout {ABANDON_TIMEOUT_MS} ms): expected LSO 6 and a blocked "
                                 f"read_committed consumer, observed {obs}")
        print(f"[txn-ck] timeout attempt {attempt}: observation finished {t_obs_end - t_begin:.2f}s after the "
              f"transaction began (too late to be conclusive: {obs}); retrying", flush=True)
        rc.close()
        return False
    for part in (0, 1):
        ck.eq(obs[f"lso{part}"], 6, f"open abandoned txn: ListOffsets read_committed {topic}/{part} = LSO")
        ck.eq(obs[f"hw{part}"], later_off[part][-1] + 2, f"open abandoned txn: HW {topic}/{part}")
        ck.eq(obs[f"wm{part}"], (0, 6), f"open abandoned txn: get_watermark_offsets read_committed {topic}/{part}")
    ck.eq(obs["polled"], [], "read_committed consumer delivers nothing past the LSO")
    ck.eq(obs["position"], {0: 6, 1: 6}, "read_committed consumer position stays at the LSO")
    print(f"[txn-ck] timeout: blocked at LSO 6 while open (observed within {t_obs_end - t_begin:.2f}s)", flush=True)

    # The coordinator aborts it after its timeout; the consumer proceeds.
    got = poll_values(rc, 30, want_count=10)
    t_abort_seen = time.time()
    ck.eq(sorted((p, o, v) for p, o, v in got),
          sorted((p, o, v) for p in (0, 1) for o, v in zip(later_off[p], later_vals[p])),
          "after the timeout abort, read_committed sees exactly the later committed records")
    waited = t_abort_seen - t_begin
    ck(waited >= ABANDON_TIMEOUT_MS / 1000.0 - 0.05,
       f"the abandoned transaction was aborted {waited:.2f}s after it began, before its {ABANDON_TIMEOUT_MS} ms timeout")
    ck(waited < ABANDON_TIMEOUT_MS / 1000.0 + 15, f"the timeout abort took {waited:.2f}s")
    print(f"[txn-ck] timeout: aborted and visible {waited:.2f}s after the transaction began", flush=True)
    more = poll_values(rc, 0.5)
    ck.eq(more, [], "nothing else for read_committed (no abandoned record)")
    for part in (0, 1):
        hw = latest(bs, topic, part, READ_UNCOMMITTED)
        ck.eq(latest(bs, topic, part, READ_COMMITTED), hw, f"after the timeout abort: LSO = HW on {topic}/{part}")
        ck.eq(rc.get_watermark_offsets(TopicPartition(topic, part), timeout=10), (0, hw),
              f"after the timeout abort: get_watermark_offsets read_committed {topic}/{part}")
    pos = {tp.partition: tp.offset for tp in rc.position([TopicPartition(topic, p) for p in (0, 1)])}
    for part in (0, 1):
        ck(pos[part] > later_off[part][-1], f"position {pos[part]} moved past the later records on {part}")
    rc.close()
    for part in (0, 1):
        u = read_values(bs, topic, part, "read_uncommitted")
        ck.eq([o for o, v in u if v.startswith(b"abandoned-")], ab_off[part],
              f"the abandoned records are in the log of {topic}/{part}")
        c = read_values(bs, topic, part, "read_committed")
        ck.eq([v for _, v in c], [f"pre-{part}-{i}".encode() for i in range(5)] + later_vals[part],
              f"read_committed {topic}/{part} from the beginning")
    # The transactional id is usable again: a new producer inits, commits.
    again = TxnProducer(bs, txn_id)
    again.p.begin_transaction()
    again.produce(topic, 0, b"again")
    again.p.commit_transaction(30)
    ck.eq(read_values(bs, topic, 0, "read_committed")[-1][1], b"again", "the timed-out id commits again")
    return True


def timeout_abort(ck, bs):
    for attempt in range(3):
        if timeout_attempt(ck, bs, attempt):
            return
    raise AssertionError("three attempts too slow to observe the open transaction before its 2 s timeout")


# --------------------------------------------------------------------- 5. offsets in a txn
def txn_offsets(ck, bs, expected):
    group = "tck-group"
    tp = TopicPartition(TOPICS[0], 0)
    c = consumer(bs, {"group.id": group, "logger": quiet_logger()})
    p = TxnProducer(bs, "tck-offsets")
    p.p.begin_transaction()
    p.produce(TOPICS[1], 0, b"offsets-commit")
    p.p.send_offsets_to_transaction([TopicPartition(TOPICS[0], 0, 7)], c.consumer_group_metadata(), 30)
    p.p.commit_transaction(30)
    expected[(TOPICS[1], 0)].append((p.offset_of(b"offsets-commit"), b"offsets-commit", True))
    ck.eq(c.committed([tp], timeout=10)[0].offset, 7, "offset committed in a committed transaction")
    p.p.begin_transaction()
    p.produce(TOPICS[1], 0, b"offsets-abort")
    p.p.send_offsets_to_transaction([TopicPartition(TOPICS[0], 0, 11)], c.consumer_group_metadata(), 30)
    p.flush()
    p.p.abort_transaction(30)
    expected[(TOPICS[1], 0)].append((p.offset_of(b"offsets-abort"), b"offsets-abort", False))
    ck.eq(c.committed([tp], timeout=10)[0].offset, 7, "offset of an aborted transaction not committed")
    p.p.begin_transaction()
    p.p.send_offsets_to_transaction([TopicPartition(TOPICS[0], 0, 13)], c.consumer_group_metadata(), 30)
    p.p.commit_transaction(30)
    ck.eq(c.committed([tp], timeout=10)[0].offset, 13, "offsets-only transaction committed")
    c.close()
    vals = [v for _, v in read_values(bs, TOPICS[1], 0, "read_committed")]
    ck("offsets-commit".encode() in vals and b"offsets-abort" not in vals, "records of the offset transactions")
    print("[txn-ck] send_offsets_to_transaction: commit visible, abort not", flush=True)


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "--abandon":
        abandon_child(*sys.argv[2:5])
        return 1
    ck = Check("txn-confluent")
    t0 = time.monotonic()
    with Broker(name="txnck", config=BROKER_CONFIG) as b:
        bs = b.bootstrap
        create_topics(bs, [(t, PARTS) for t in TOPICS] + [("tck-lso", PARTS)])
        expected = {}
        for name, fn in (("commit/abort", lambda: commit_abort(ck, bs, expected)),
                         ("zombie", lambda: zombie(ck, bs, expected)),
                         ("LSO", lambda: lso_open(ck, bs)),
                         ("timeout", lambda: timeout_abort(ck, bs)),
                         ("offsets", lambda: txn_offsets(ck, bs, expected))):
            t1 = time.monotonic()
            fn()
            print(f"[txn-ck] -- {name}: {time.monotonic() - t1:.1f}s", flush=True)
        # Everything again after a clean restart (state rebuilt from the log).
        ck.eq(b.restart(), 0, "brookd exit code on SIGTERM")
        check_all_partitions(ck, bs, expected, "after restart")
    print(f"[txn-ck] total {time.monotonic() - t0:.1f}s", flush=True)
    ck.done()


if __name__ == "__main__":
    run_main(main)
