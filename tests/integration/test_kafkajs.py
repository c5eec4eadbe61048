#!/usr/bin/python3
"""kafkajs 2.2.4 against brookd: installs the pinned kafkajs (js/install.sh), starts a
broker, runs js/test_kafkajs.js (admin + produce + raw-Fetch read-back, see there), then
re-reads everything kafkajs produced with librdkafka (confluent-kafka) and compares it
with the manifest kafkajs wrote: cross-client compatibility of the stored batches
(including kafkajs's GZIP batches).  Exit 77 (skipped) if kafkajs cannot be installed."""

import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Broker, Check  # noqa: E402

JS = os.path.join(HERE, "js")


def main():
    node = shutil.which("node")
    if not node:
        print("node not found: skipped")
        return 77
    try:
        rc = subprocess.run(["sh", os.path.join(JS, "install.sh")], timeout=480).returncode
    except subprocess.TimeoutExpired:
        rc = 77
    if rc != 0:
        print(f"kafkajs install failed (rc {rc}): skipped")
        return 77

    from ck_helpers import consumer, read_partition
    ck = Check("kafkajs")
    with Broker(name="kjs") as b:
        manifest = os.path.join(b.tmp, "manifest.json")
        p = subprocess.run([node, os.path.join(JS, "test_kafkajs.js"), b.bootstrap, manifest],
                           cwd=JS, timeout=150)
        ck.eq(p.returncode, 0, "test_kafkajs.js exit code")
        with open(manifest) as f:
            m = json.load(f)

        # Cross-check with librdkafka.
        c = consumer(b.bootstrap)
        topic = m["topic"]
        total = 0
        for ps, exp in m["partitions"].items():
            part = int(ps)
            low = int(m["low"].get(ps, 0))
            got = read_partition(c, topic, part, -2)
            ck.eq([x.offset() for x in got], list(range(low, len(exp))), f"{topic}/{part} offsets (librdkafka)")
            for x in got:
                e = exp[x.offset()]
                ck.eq(x.key(), e["key"].encode(), f"{topic}/{part}@{x.offset()} key")
                ck.eq(x.value(), None if e["value"] is None else e["value"].encode(),
                      f"{topic}/{part}@{x.offset()} value")
                ck.eq([(k, v if v is None else v.decode()) for k, v in (x.headers() or [])],
                      [tuple(h) for h in e["headers"]], f"{topic}/{part}@{x.offset()} headers")
                ck.eq(x.timestamp()[1], e["ts"], f"{topic}/{part}@{x.offset()} timestamp")
                total += 1
        got = read_partition(c, m["second"]["topic"], 0, 0)
        ck.eq([x.value().decode() for x in got], m["second"]["values"], "second topic (sendBatch) content")
        c.close()
        ck(total > 1000, f"librdkafka re-read {total} kafkajs messages")
    ck.done()
    return 0


if __name__ == "__main__":
    sys.exit(main())
