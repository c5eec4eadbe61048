#!/usr/bin/python3
"""Exactly-once consume-transform-produce with kafkajs 2.2.4 (js/eos_copier_kafkajs.js:
eachBatch, one transaction per chunk, transaction.sendOffsets), checked exactly like the
librdkafka copier (test_eos_copier.py, whose scenario and checks this reuses):

5 000 input records in 2 partitions, 2 kafkajs copiers (same group, transactional ids
kjs-copier-0/1) copying into 3 output partitions while the test SIGKILLs copiers 3 times
(restarting them with the same transactional id).  A read_committed reader running the
whole time must never see a record twice; at the end a fresh read_committed reader finds
every input record exactly once, in input order per input partition (so per key), keys on
one partition each; the group's committed offsets are the input end; no transaction left
open.  No broker kills here: kafkajs's TxnOffsetCommit v1 and OffsetFetch v4 carry no
generation and no require_stable, so the pre-KIP-447 duplicate window around a coordinator
restart is a known client limitation, not something the broker can close.
BROOK_EOS_SEED replays the kill schedule."""

import os
import random
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Check, kafkajs_node, run_main  # noqa: E402
from test_eos_copier import GROUP, IN_TOPIC, OUT_TOPIC, run_eos  # noqa: E402

JS = os.path.join(HERE, "js")
NODE = shutil.which("node") or shutil.which("nodejs")


def main():
    if not kafkajs_node(JS):
        return 77
    ck = Check("eos_kafkajs")
    script = os.path.join(JS, "eos_copier_kafkajs.js")
    seed = int(os.environ.get("BROOK_EOS_SEED", "0")) or random.randrange(1, 1 << 30)
    run_eos(ck, "eoskjs", lambda bs, tid: [NODE, script, bs, IN_TOPIC, OUT_TOPIC, GROUP, tid, "50", "150"],
            5000, ["kjs-copier-0", "kjs-copier-1"], copier_kills=3, broker_kills=0, seed=seed,
            gap=(2.0, 4.0), budget_s=150.0)
    ck.done()
    return 0


if __name__ == "__main__":
    run_main(main)
