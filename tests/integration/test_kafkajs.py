#!/usr/bin/python3
"""kafkajs 2.2.4 against brookd: installs the pinned kafkajs (js/install.sh), starts a
broker, runs js/test_kafkajs.js (admin + produce + raw-Fetch read-back, see there), then
re-reads everything kafkajs produced with librdkafka (confluent-kafka) and compares it
with the manifest kafkajs wrote: cross-client compatibility of the stored batches
(including kafkajs's GZIP batches).  Exit 77 (skipped) if kafkajs cannot be installed."""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Broker, Check, kafkajs_node, run_main  # noqa: E402

JS = os.path.join(HERE, "js")


def verify(ck, bootstrap, m, when, low_exact):
    from ck_helpers import consumer, read_partition
    c = consumer(bootstrap)
    topic = m["topic"]
    total = 0
    for ps, exp in m["partitions"].items():
        part = int(ps)
        low = int(m["low"].get(ps, 0))
        got = read_partition(c, topic, part, -2)
        first = got[0].offset() if got else len(exp)
        if low_exact:
            ck.eq(first, low, f"{when}: {topic}/{part} first offset (log start)")
        else:
            ck(first <= low, f"{when}: {topic}/{part} starts at {first}, after the DeleteRecords point {low}")
        ck.eq([x.offset() for x in got], list(range(first, len(exp))), f"{when}: {topic}/{part} offsets")
        for x in got:
            e = exp[x.offset()]
            where = f"{when}: {topic}/{part}@{x.offset()}"
            ck.eq(x.key(), e["key"].encode(), f"{where} key")
            ck.eq(x.value(), None if e["value"] is None else e["value"].encode(), f"{where} value")
            ck.eq([(k, v if v is None else v.decode()) for k, v in (x.headers() or [])],
                  [tuple(h) for h in e["headers"]], f"{where} headers")
            ck.eq(x.timestamp()[1], e["ts"], f"{where} timestamp")
            total += 1
    got = read_partition(c, m["second"]["topic"], 0, 0)
    ck.eq([x.value().decode() for x in got], m["second"]["values"], f"{when}: second topic (sendBatch) content")
    c.close()
    ck(total > 1000, f"{when}: librdkafka re-read {total} kafkajs messages")


def main():
    node = kafkajs_node(JS)
    if not node:
        return 77

    ck = Check("kafkajs")
    with Broker(name="kjs") as b:
        manifest = os.path.join(b.tmp, "manifest.json")
        p = subprocess.run([node, os.path.join(JS, "test_kafkajs.js"), b.bootstrap, manifest],
                           cwd=JS, timeout=150)
        ck.eq(p.returncode, 0, "test_kafkajs.js exit code")
        with open(manifest) as f:
            m = json.load(f)

        # Cross-check with librdkafka, then again after a clean restart (the DeleteRecords
        # log start offset must survive it) and after a crash (SIGKILL) restart (all data is
        # acknowledged with acks=all, so it must all be there; the log start offset may at
        # worst fall back to before DeleteRecords, never past it).
        verify(ck, b.bootstrap, m, "after kafkajs", low_exact=True)
        ck.eq(b.restart(), 0, "brookd exit code on SIGTERM")
        verify(ck, b.bootstrap, m, "after clean restart", low_exact=True)
        b.crash_restart()
        verify(ck, b.bootstrap, m, "after crash restart", low_exact=False)
    ck.done()
    return 0


if __name__ == "__main__":
    run_main(main)
