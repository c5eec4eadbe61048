#!/usr/bin/python3
"""@confluentinc/kafka-javascript 1.10.1, the Node binding of librdkafka, built from its npm
source on the librdkafka 2.15.1 it bundles (ckjs/install.sh; cached under the build dir, see
there), running a transactional consume-transform-produce (ckjs/eos_ckjs.js, the package's
librdkafka-style KafkaConsumer/Producer API) against brookd:

  - install: the binding's `ldd` resolves librdkafka to the 2.15.1 build, not Debian's 2.0.2,
    and the loaded library reports 2.15.1 (install.sh, and again in eos_ckjs.js);
  - 300 keyed input records in 3 partitions (confluent-kafka, acks=all), read back;
  - the Node copier (group, read_committed, no auto commit; transactional.id) commits one
    transaction per polled batch with sendOffsetsToTransaction, and aborts one batch in the
    middle on purpose, then seeks back and copies it again;
  - at read_committed (confluent-kafka, a fresh reader): each output partition p holds
    exactly the transformed records of input partition p, one per input record, in input
    order (none missing, none twice), none of the aborted transaction's; at
    read_uncommitted the aborted records are there (so the abort was real) and nothing else;
    the read_committed end equals the high watermark (no transaction left open); the group's
    committed offsets equal the input's log end.

Exit 77 (skipped) only when node is missing or the package cannot be obtained (install.sh:
npm registry unreachable); a failed build is a failure.  CKJS_DIR: the install cache
(default <repo>/build/ckjs; ctest passes <build>/ckjs).  CKJS_DEBUG=cgrp,eos,... for
librdkafka's debug logs in the Node script."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Broker, Check, run_main  # noqa: E402

CKJS = os.path.join(HERE, "ckjs")
REPO = os.path.dirname(os.path.dirname(HERE))
CKJS_DIR = os.environ.get("CKJS_DIR") or os.path.join(REPO, "build", "ckjs")  # install cache
N = 300
PARTS = 3
IN_TOPIC = "ckjs-in"
OUT_TOPIC = "ckjs-out"
GROUP = "ckjs-eos-group"
TXN_ID = "ckjs-eos-copier"
INSTALL_TIMEOUT_S = 1000  # first build 40-100 s here (install.sh); then ~0.2 s
NODE_DEADLINE_MS = int(os.environ.get("CKJS_DEADLINE_MS", "120000"))
NODE_TIMEOUT_S = 150
BROKER_CONF = {
    "group.initial.rebalance.delay.ms": 0,
    "transaction.state.log.num.partitions": 4,
    "offsets.topic.num.partitions": 4,
}


def value_of(i):
    return f"value-{i}-abc"


def key_of(i):
    return f"key-{i % 17}"


def transformed(value, p, o, prefix=""):
    return f"{prefix}{value.upper()}|{p}:{o}"


def install():
    """Runs ckjs/install.sh (bounded: SIGTERM, which stops the step under way, then SIGKILL
    of its process group); returns its exit code."""
    t0 = time.monotonic()
    proc = subprocess.Popen(["bash", os.path.join(CKJS, "install.sh"), CKJS_DIR],
                            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        rc = proc.wait(timeout=INSTALL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        print(f"install.sh did not finish within {INSTALL_TIMEOUT_S} s: stopping it", flush=True)
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        rc = 1
    print(f"install.sh: exit {rc} after {time.monotonic() - t0:.1f} s", flush=True)
    return rc


def produce_input(ck, bootstrap):
    """N keyed records, record i to partition i % PARTS; returns {p: [values by offset]}."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                  "linger.ms": 5, "log.connection.close": False})
    got = {q: {} for q in range(PARTS)}
    errs = []

    def dr(err, m):
        if err is not None:
            errs.append(str(err))
        else:
            got[m.partition()][m.offset()] = m.value().decode()
    for i in range(N):
        p.produce(IN_TOPIC, key=key_of(i).encode(), value=value_of(i).encode(),
                  partition=i % PARTS, on_delivery=dr)
        p.poll(0)
    left = p.flush(60)
    ck.eq(left, 0, "input: every record delivered within 60 s")
    ck.eq(errs, [], "input: delivery errors")
    out = {}
    for q in range(PARTS):
        offs = sorted(got[q])
        ck.eq(offs, list(range(len(offs))), f"input partition {q}: offsets 0..n-1")
        ck.eq([got[q][o] for o in offs], [value_of(i) for i in range(q, N, PARTS)],
              f"input partition {q}: values in send order")
        out[q] = [got[q][o] for o in offs]
    return out


def read_all(bootstrap, topic, isolation, timeout=60):
    """Every partition from 0 to EOF with a fresh consumer (assign, no group use);
    returns ({p: [(offset, key, value)]}, {p: eof offset})."""
    from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"ckjs-reader-{isolation}",
                  "enable.auto.commit": False, "enable.auto.offset.store": False,
                  "isolation.level": isolation, "enable.partition.eof": True,
                  "fetch.wait.max.ms": 100, "log.connection.close": False})
    c.assign([TopicPartition(topic, q, 0) for q in range(PARTS)])
    out = {q: [] for q in range(PARTS)}
    eof = {}
    deadline = time.monotonic() + timeout
    try:
        while len(eof) < PARTS:
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} ({isolation}): EOF on {sorted(eof)} only")
            for m in c.consume(num_messages=1000, timeout=0.5):
                if m.error() is not None:
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        eof[m.partition()] = m.offset()
                        continue
                    raise KafkaException(m.error())
                out[m.partition()].append((m.offset(), m.key().decode(), m.value().decode()))
                eof.pop(m.partition(), None)
    finally:
        c.close()
    return out, eof


def main():
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        print("node not found: skipped")
        return 77
    rc = install()
    if rc == 77:
        print("@confluentinc/kafka-javascript cannot be obtained (npm registry unreachable): skipped")
        return 77
    if rc != 0:
        raise AssertionError(f"ckjs/install.sh failed (exit {rc}): see its output above")

    from confluent_kafka import Consumer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    ck = Check("ckjs_eos")
    with Broker(name="ckjs", config=BROKER_CONF) as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap, "socket.timeout.ms": 10000})
        fs = admin.create_topics([NewTopic(IN_TOPIC, PARTS, 1), NewTopic(OUT_TOPIC, PARTS, 1)],
                                 request_timeout=15)
        for f in fs.values():
            f.result(timeout=30)
        del admin, fs
        inp = produce_input(ck, b.bootstrap)
        print(f"input: {N} records in {PARTS} partitions "
              f"({', '.join(str(len(inp[q])) for q in range(PARTS))})", flush=True)

        # ------------------------------------------------------------ the Node copier
        t0 = time.monotonic()
        env = dict(os.environ, NODE_PATH=os.path.join(CKJS_DIR, "app", "node_modules"),
                   CKJS_DEADLINE_MS=str(NODE_DEADLINE_MS))
        env.pop("LD_LIBRARY_PATH", None)   # the binding's rpath alone must find 2.15.1
        argv = [node, os.path.join(CKJS, "eos_ckjs.js"), b.bootstrap, IN_TOPIC, OUT_TOPIC,
                GROUP, TXN_ID, str(N)]
        p = subprocess.run(argv, cwd=CKJS, env=env, timeout=NODE_TIMEOUT_S,
                           stdout=subprocess.PIPE, text=True)
        sys.stdout.write(p.stdout)
        print(f"eos_ckjs.js: exit {p.returncode} after {time.monotonic() - t0:.1f} s", flush=True)
        ck.eq(p.returncode, 0, "eos_ckjs.js exit code")
        lines = [ln for ln in p.stdout.splitlines() if ln.startswith("SUMMARY ")]
        ck.eq(len(lines), 1, "eos_ckjs.js printed one SUMMARY line")
        summary = json.loads(lines[0][len("SUMMARY "):])
        ck.eq(summary["librdkafka"], "2.15.1", "the binding's librdkafka version")
        ck.eq(summary["inputs_committed"], N, "the copier committed every input record")
        ck.eq(summary["transactions_aborted"], 1, "one transaction aborted on purpose")
        ck(summary["transactions_committed"] >= 3, "several transactions committed")
        aborted = [tuple(x) for x in summary["aborted_inputs"]]
        ck(len(aborted) > 0, "the aborted transaction had records")

        # ------------------------------------------------------------ read_committed
        out, eof = read_all(b.bootstrap, OUT_TOPIC, "read_committed")
        total = sum(len(v) for v in out.values())
        ck.eq(total, N, "read_committed: one output record per input record")
        for q in range(PARTS):
            vals = [v for _, _, v in out[q]]
            ck.eq([v for v in vals if v.startswith("ABORTED|")], [],
                  f"read_committed, output partition {q}: no aborted record")
            ck.eq(vals, [transformed(inp[q][o], q, o) for o in range(len(inp[q]))],
                  f"output partition {q}: each input record of partition {q} once, in order")
            ck.eq([k for _, k, _ in out[q]], [key_of(i) for i in range(q, N, PARTS)],
                  f"output partition {q}: keys kept")

        # ------------------------------------------------------------ read_uncommitted
        raw, raw_eof = read_all(b.bootstrap, OUT_TOPIC, "read_uncommitted")
        ab = sorted((int(v.split("|")[-1].split(":")[0]), int(v.split("|")[-1].split(":")[1]))
                    for q in range(PARTS) for _, _, v in raw[q] if v.startswith("ABORTED|"))
        ck.eq(ab, sorted(aborted), "read_uncommitted: the aborted transaction's records are "
                                   "in the log (the abort was real), each once")
        for q in range(PARTS):
            want = [transformed(inp[q][o], q, o, "ABORTED|") for (pp, o) in aborted if pp == q]
            ck.eq([v for _, _, v in raw[q] if v.startswith("ABORTED|")], want,
                  f"read_uncommitted, output partition {q}: the aborted records' values")
            ck.eq([v for _, _, v in raw[q] if not v.startswith("ABORTED|")],
                  [v for _, _, v in out[q]],
                  f"read_uncommitted, output partition {q}: the rest = read_committed's records")
        # The retry came after the abort: each aborted input's committed copy lies after its
        # aborted one.
        pos = {}
        for q in range(PARTS):
            for off, _, v in raw[q]:
                src = tuple(int(x) for x in v.split("|")[-1].split(":"))
                pos.setdefault(src, []).append((off, v.startswith("ABORTED|")))
        ck.eq([src for src in aborted if [a for _, a in sorted(pos[src])] != [True, False]], [],
              "each aborted input: its aborted record, then its committed one (the retry)")
        ck.eq(sum(len(v) for v in raw.values()), N + len(aborted),
              "read_uncommitted: committed + aborted records, nothing else")

        # ------------------------------------------------------------ ends and offsets
        wm = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "ckjs-wm",
                       "log.connection.close": False})
        for q in range(PARTS):
            lo, hi = wm.get_watermark_offsets(TopicPartition(OUT_TOPIC, q), timeout=10)
            ck.eq(eof[q], hi, f"output partition {q}: read_committed end (LSO) = high "
                              f"watermark (no transaction left open)")
            ck.eq(raw_eof[q], hi, f"output partition {q}: read_uncommitted end = high watermark")
            ck(hi > len(out[q]) + sum(1 for pp, _ in aborted if pp == q),
               f"output partition {q}: control markers take offsets too (hw {hi})")
            ilo, ihi = wm.get_watermark_offsets(TopicPartition(IN_TOPIC, q), timeout=10)
            ck.eq(ihi, len(inp[q]), f"input partition {q}: log end")
        wm.close()
        gc = Consumer({"bootstrap.servers": b.bootstrap, "group.id": GROUP,
                       "isolation.level": "read_committed", "enable.auto.commit": False,
                       "log.connection.close": False})
        committed = gc.committed([TopicPartition(IN_TOPIC, q) for q in range(PARTS)], timeout=30)
        gc.close()
        ck.eq({x.partition: x.offset for x in committed},
              {q: len(inp[q]) for q in range(PARTS)},
              "the group's committed offsets = the input's log end")
        print(f"ckjs eos: {summary['transactions_committed']} transactions committed, 1 "
              f"aborted ({len(aborted)} records), {summary['batches']} batches in "
              f"{summary['seconds']:.1f} s", flush=True)
        ck.eq(b.stop(), 0, "brookd exit code on SIGTERM")
    ck.done()
    return 0


if __name__ == "__main__":
    run_main(main)
