#!/usr/bin/python3
"""kafkajs 2.2.4 transactions against brookd: installs the pinned kafkajs (js/install.sh),
starts a broker, runs js/test_txn_kafkajs.js (transactional commit/abort over 2 topics x 3
partitions with sendOffsets, zombie fencing, an idempotent producer, read-back by kafkajs
consumer groups at both isolation levels; see there), then re-reads everything with
librdkafka (confluent-kafka) and compares it with the manifest the script wrote:
read_committed must return exactly the committed records, read_uncommitted every
acknowledged record, each at its acknowledged offset, in order; ListOffsets(latest) under
read_committed equals the high watermark (nothing open); the idempotent topic holds each
message once, in order.  Then the same after a SIGKILL restart (everything was acknowledged
with acks=all, so all of it must survive, and the aborted transactions must stay aborted).
Exit 77 (skipped) if kafkajs cannot be installed."""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Broker, Check, kafkajs_node, run_main  # noqa: E402

JS = os.path.join(HERE, "js")
BROKER_CONFIG = {
    "transaction.abort.timed.out.transaction.cleanup.interval.ms": 500,
    "transaction.state.log.num.partitions": 4,
    "offsets.topic.num.partitions": 4,
    "group.initial.rebalance.delay.ms": 0,
}


def verify(ck, bs, m, when):
    from test_txn_common import READ_COMMITTED, READ_UNCOMMITTED, latest, read_values
    by_part = {}
    for r in m["records"]:
        by_part.setdefault((r["topic"], r["partition"]), []).append(r)
    ck.eq(len(by_part), 6, f"{when}: partitions with records")
    nc = nu = 0
    for (topic, part), recs in sorted(by_part.items()):
        recs.sort(key=lambda r: r["offset"])
        want_u = [(r["offset"], r["value"].encode()) for r in recs]
        want_c = [(r["offset"], r["value"].encode()) for r in recs if r["committed"]]
        ck.eq(read_values(bs, topic, part, "read_uncommitted"), want_u, f"{when}: read_uncommitted {topic}/{part}")
        ck.eq(read_values(bs, topic, part, "read_committed"), want_c, f"{when}: read_committed {topic}/{part}")
        hw = latest(bs, topic, part, READ_UNCOMMITTED)
        ck.eq(latest(bs, topic, part, READ_COMMITTED), hw, f"{when}: {topic}/{part} LSO = HW (nothing open)")
        ck(hw >= recs[-1]["offset"] + 2, f"{when}: {topic}/{part} HW {hw} past the last record and its marker")
        nc += len(want_c)
        nu += len(want_u)
    idem = m["idem"]
    n = 0
    for part, values in enumerate(idem["partitions"]):
        got = read_values(bs, idem["topic"], part, "read_committed")
        ck.eq(got, [(i, v.encode()) for i, v in enumerate(values)], f"{when}: idempotent {idem['topic']}/{part}")
        n += len(got)
    ck.eq(n, 3000, f"{when}: idempotent messages")
    print(f"[txn-kafkajs] {when}: librdkafka read_committed {nc}, read_uncommitted {nu}, idempotent {n}: as expected",
          flush=True)


def main():
    node = kafkajs_node(JS)
    if not node:
        return 77

    ck = Check("txn-kafkajs")
    with Broker(name="txnkjs", config=BROKER_CONFIG) as b:
        manifest = os.path.join(b.tmp, "manifest.json")
        p = subprocess.run([node, os.path.join(JS, "test_txn_kafkajs.js"), b.bootstrap, manifest],
                           cwd=JS, timeout=180)
        ck.eq(p.returncode, 0, "test_txn_kafkajs.js exit code")
        with open(manifest) as f:
            m = json.load(f)
        verify(ck, b.bootstrap, m, "after kafkajs")
        b.crash_restart()
        verify(ck, b.bootstrap, m, "after SIGKILL restart")
    ck.done()
    return 0


if __name__ == "__main__":
    run_main(main)
