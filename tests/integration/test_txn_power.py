#!/usr/bin/python3
"""A transaction's completion record is not fsynced on its own (store_mark_lazy): a power
cut right after commit_transaction() or abort_transaction() returns loses it, and recovery
finishes the transaction from its durable decision.

One brookd in sync mode under the power-loss shim (tests/chaos/powerloss.c; exit 77
without it), log.flush.interval.ms=60000 so that no timer syncs the record first. A
confluent-kafka transactional producer commits two transactions and aborts a third, each
writing 2 records to each of 2 partitions. Then:
  1. SIGKILL and a power cut (every file back to what brookd had fsynced): the cut must
     drop bytes of the __transaction_state partition of the producer's transactional.id
     (the abort's completion record), and nothing of the data partitions (their records and
     markers were durable before the answers);
  2. restart: the coordinator reports one transaction in doubt and completes it; a
     read_committed consumer sees exactly the 8 committed records, and ends at the high
     watermark (no hanging transaction);
  3. a new producer with the same transactional.id commits a transaction at once; a second
     cut right after that commit drops its completion record again; after the restart
     read_committed sees 12 records, and a further transaction commits.
"""

import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "chaos"))

from brook_harness import Broker, Check, run_main, wait_until  # noqa: E402
from ck_helpers import consumer, read_partition  # noqa: E402
from test_txn_common import READ_COMMITTED, latest, quiet_logger  # noqa: E402

from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TOPIC = "pw"
TXN_ID = "pw-app"


def sizes(b, pattern):
    """{path: size} of the segment files of the partitions matching pattern."""
    return {p: os.path.getsize(p)
            for p in glob.glob(os.path.join(b.data_dir, pattern, "*.log"))}


def producer(b):
    p = Producer({"bootstrap.servers": b.bootstrap, "transactional.id": TXN_ID,
                  "logger": quiet_logger()})
    p.init_transactions(30)
    return p


def one_txn(p, tag, commit):
    """Writes 2 records to each partition in one transaction, then commits or aborts it."""
    p.begin_transaction()
    for part in range(2):
        for i in range(2):
            p.produce(TOPIC, f"{tag}-{part}-{i}".encode(), partition=part)
    if commit:
        p.commit_transaction(30)
    else:
        p.flush(30)
        p.abort_transaction(30)


def cut_after(ck, b, cut, what):
    """SIGKILL + power cut; checks that the cut took __transaction_state bytes only."""
    state_before = sizes(b, "__transaction_state-*")
    data_before = sizes(b, f"{TOPIC}-*")
    b.kill()
    dropped = cut()
    state_lost = {p: n - os.path.getsize(p) for p, n in state_before.items()
                  if os.path.getsize(p) < n}
    data_lost = {p: n - os.path.getsize(p) for p, n in data_before.items()
                 if os.path.getsize(p) < n}
    print(f"[txn_power] cut after {what}: {dropped} bytes dropped; __transaction_state "
          f"{state_lost}; data {data_lost}", flush=True)
    ck(len(state_lost) == 1, f"the cut after {what} dropped nothing of __transaction_state: "
       "the completion record was fsynced on its own")
    ck(not data_lost, f"the cut after {what} dropped acknowledged data or markers: {data_lost}")


def read_committed(b):
    c = consumer(b.bootstrap, {"isolation.level": "read_committed"})
    try:
        got = []
        for part in range(2):
            got += [m.value().decode() for m in read_partition(c, TOPIC, part, 0, timeout=30)]
        return sorted(got)
    finally:
        c.close()


def expect_committed(ck, b, tags, what):
    want = sorted(f"{t}-{part}-{i}" for t in tags for part in range(2) for i in range(2))
    ck.eq(read_committed(b), want, f"read_committed after {what}")
    for part in range(2):
        lso = latest(b.bootstrap, TOPIC, part, READ_COMMITTED)
        hw = latest(b.bootstrap, TOPIC, part, 0)
        ck.eq(lso, hw, f"last stable offset of {TOPIC}-{part} after {what} (hanging?)")


def in_doubt_replayed(b):
    with open(b.log_path, errors="replace") as f:
        text = f.read().split("===== harness: start #")[-1]
    return "1 in doubt (being completed)" in text


def main():
    ck = Check("txn_power")
    lib = os.path.abspath(os.environ.get("BROOK_POWERLOSS_LIB", ""))
    if not os.path.exists(lib):
        print(f"[txn_power] needs BROOK_POWERLOSS_LIB (got {lib!r}): skipped")
        sys.exit(77)
    from nemesis import power_cut
    b = Broker(name="txn-power", config={"log.flush.mode": "sync",
                                         "log.flush.interval.ms": 60000})
    b.extra_env = {"LD_PRELOAD": lib, "BROOK_POWERLOSS_STATE": os.path.join(b.tmp, "power")}
    with b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap, "logger": quiet_logger()})
        admin.create_topics([NewTopic(TOPIC, 2, 1)])[TOPIC].result(timeout=30)
        p = producer(b)
        one_txn(p, "a", True)
        one_txn(p, "b", True)
        one_txn(p, "x", False)
        cut_after(ck, b, lambda: power_cut(b), "the abort")
        del p
        b.start()
        ck(in_doubt_replayed(b), "the restart did not find the aborted transaction in doubt")
        expect_committed(ck, b, ["a", "b"], "the first cut")

        p = producer(b)
        one_txn(p, "c", True)
        cut_after(ck, b, lambda: power_cut(b), "the commit")
        del p
        b.start()
        ck(in_doubt_replayed(b), "the restart did not find the committed transaction in doubt")
        expect_committed(ck, b, ["a", "b", "c"], "the second cut")
        p = producer(b)
        one_txn(p, "d", True)
        wait_until(lambda: read_committed(b) == sorted(
            f"{t}-{part}-{i}" for t in "abcd" for part in range(2) for i in range(2)),
            30, what="the transaction after the second restart to be readable")
        del p
    ck.done()


if __name__ == "__main__":
    run_main(main)
