#!/usr/bin/python3
"""`brook bench produce|consume --engine raw` (src/cli/bench_raw.c): Brook's own pipelined
Produce v7 load generator and Fetch v11 reader (#14), against one brookd (the CLI is passed
as BROOK_CLI).

 1. 30000 records of 200 B to a new 3-partition topic, 500 per batch, 4 requests in flight:
    exit 0, its RESULT line says msgs=30000 failed=0 engine=raw, the partitions' high
    watermarks add up to 30000, and a consumer reads records whose values are the 200-byte
    pattern (the broker checked every batch's CRC on the way in).
 2. Idempotent: 19500 more with --idempotent (26 requests of 3 x 250): every batch accepted
    (sequences in order per partition), the high watermarks now add up to 49500, and
    DescribeProducers on each partition shows one producer (id >= 0) whose last sequence is
    its 6500 minus one.
 3. --seconds 2 with acks=1: some records, none failed. Four idempotent producers side by
    side (--producers 4) to a new 2-partition topic: 12000 records, and on each partition
    DescribeProducers shows four producer ids whose sequences (last + 1) add up to its high
    watermark.
 3b. --transactional with 3 producers for 2 s to a new 2-partition topic (5 records per
    batch): some commits, none failed, and a read_committed consumer reads exactly the
    records it reported (each transaction's markers follow its records).
 4. consume --engine raw reads raw-a to its end: exactly the high watermarks' sum of
    records, and bytes = records x their value sizes; librdkafka's consume agrees; --count
    5000 stops early (whole answers: at least 5000, fewer than all).
 4b. --rate 10000 (idempotent, 100 records per request): 20000 records take about 2 s
    (1.9 s at least, at most 10600 records/s), none failed.
 5. Usage errors (exit 2): --engine raw with --acks 0, with --mock (produce and consume),
    with --rate and --transactional; --idempotent without it. A topic that does not exist without --partitions: exit 1.
"""

import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Broker, Check, find_cli, run_main  # noqa: E402
from raw_kafka import Conn  # noqa: E402
from test_txn_admin import describe_producers as txn_admin_describe_producers  # noqa: E402

from confluent_kafka import Consumer, TopicPartition  # noqa: E402

PATTERN = bytes(ord("a") + (i * 7) % 26 for i in range(200))


def bench(br, *args):
    r = subprocess.run([find_cli(), "bench", "produce", "--bootstrap", br.bootstrap, *args],
                       capture_output=True, text=True, timeout=120)
    res = next((ln for ln in r.stdout.splitlines() if ln.startswith("RESULT")), "")
    fields = dict(kv.split("=", 1) for kv in res.split()[1:] if "=" in kv)
    return r.returncode, fields, r.stderr


def high_watermarks(br, topic, n):
    c = Consumer({"bootstrap.servers": br.bootstrap, "group.id": "hw"})
    try:
        return [c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(n)]
    finally:
        c.close()


def describe_producers(br, topic, parts):
    """DescribeProducers v0 -> {partition: (error, [(producer_id, epoch, last_sequence)])}."""
    with Conn(br.bootstrap) as c:
        got = txn_admin_describe_producers(c, {topic: parts})
    return {p: (err, [(pid, d["epoch"], d["last_sequence"]) for pid, d in prods.items()])
            for (_, p), (err, _, prods) in got.items()}


def main():
    ck = Check("bench_raw")
    with Broker(name="bench-raw") as br:
        rc, f, err = bench(br, "--engine", "raw", "--topic", "raw-a", "--partitions", "3",
                           "--count", "30000", "--size", "200", "--batch-records", "500",
                           "--inflight", "4")
        ck.eq((rc, f.get("msgs"), f.get("failed"), f.get("engine")), (0, "30000", "0", "raw"),
              f"raw: 30000 records ({err.strip()})")
        ck.eq(sum(high_watermarks(br, "raw-a", 3)), 30000, "raw: the high watermarks add up")
        c = Consumer({"bootstrap.servers": br.bootstrap, "group.id": "raw-read"})
        c.assign([TopicPartition("raw-a", p, 0) for p in range(3)])
        got = []
        for _ in range(40):
            got += [m.value() for m in c.consume(1000, 0.5) if not m.error()]
            if len(got) >= 3000:
                break
        c.close()
        ck(len(got) >= 3000 and all(v == PATTERN for v in got),
           f"raw: {len(got)} records read back, each the 200-byte pattern")

        rc, f, err = bench(br, "--engine", "raw", "--idempotent", "--topic", "raw-a",
                           "--count", "19500", "--size", "200", "--batch-records", "250")
        ck.eq((rc, f.get("msgs"), f.get("failed"), f.get("idempotent")), (0, "19500", "0", "1"),
              f"raw idempotent: 19500 records ({err.strip()})")
        hws = high_watermarks(br, "raw-a", 3)
        ck.eq(sum(hws), 49500, "raw idempotent: the high watermarks add up to 49500")
        prods = describe_producers(br, "raw-a", [0, 1, 2])
        for p in range(3):
            err_code, ps = prods.get(p, (None, []))
            share = hws[p] - 10000  # the first run spread 30000 evenly over 3 partitions
            ck(err_code == 0 and len(ps) == 1 and ps[0][0] >= 0 and ps[0][2] == share - 1,
               f"raw idempotent: partition {p} has one producer, last sequence {share - 1}: "
               f"{prods.get(p)}")

        rc, f, err = bench(br, "--engine", "raw", "--topic", "raw-a", "--seconds", "2",
                           "--acks", "1", "--size", "1024")
        ck(rc == 0 and int(f.get("msgs", "0")) > 0 and f.get("failed") == "0",
           f"raw --seconds 2 --acks 1: {f.get('msgs')} records ({err.strip()})")

        total = sum(high_watermarks(br, "raw-a", 3))
        seconds_run = total - 49500  # 1 KiB records of step 3
        consumed = {}
        for engine in ("raw", "librdkafka"):
            r = subprocess.run([find_cli(), "bench", "consume", "--bootstrap", br.bootstrap,
                                "--topic", "raw-a", "--engine", engine], capture_output=True,
                               text=True, timeout=120)
            res = next((ln for ln in r.stdout.splitlines() if ln.startswith("RESULT")), "")
            consumed[engine] = dict(kv.split("=", 1) for kv in res.split()[1:] if "=" in kv)
            ck.eq((r.returncode, consumed[engine].get("msgs"), consumed[engine].get("bytes")),
                  (0, str(total), str(49500 * 200 + seconds_run * 1024)),
                  f"consume --engine {engine}: every record and byte ({r.stderr.strip()})")
        r = subprocess.run([find_cli(), "bench", "consume", "--bootstrap", br.bootstrap,
                            "--topic", "raw-a", "--engine", "raw", "--count", "5000"],
                           capture_output=True, text=True, timeout=120)
        m = re.search(r" msgs=(\d+)", r.stdout)
        ck(r.returncode == 0 and m and 5000 <= int(m.group(1)) < total,
           f"consume --engine raw --count 5000 stops early: {m and m.group(1)} of {total}")
        r = subprocess.run([find_cli(), "bench", "consume", "--bootstrap", br.bootstrap,
                            "--topic", "raw-a", "--engine", "raw", "--mock"],
                           capture_output=True, text=True, timeout=60)
        ck(r.returncode == 2, f"consume --engine raw --mock is a usage error ({r.stderr.strip()})")

        rc, f, err = bench(br, "--engine", "raw", "--idempotent", "--producers", "4",
                           "--topic", "raw-m", "--partitions", "2", "--count", "12000",
                           "--batch-records", "100", "--size", "50")
        ck.eq((rc, f.get("msgs"), f.get("failed"), f.get("producers")), (0, "12000", "0", "4"),
              f"4 idempotent producers: 12000 records ({err.strip()})")
        hws = high_watermarks(br, "raw-m", 2)
        prods = describe_producers(br, "raw-m", [0, 1])
        for p in range(2):
            err_code, ps = prods.get(p, (None, []))
            ck(err_code == 0 and len({x[0] for x in ps}) == 4 and
               sum(x[2] + 1 for x in ps) == hws[p],
               f"raw-m partition {p}: 4 producers, sequences add up to {hws[p]}: {ps}")

        r = subprocess.run([find_cli(), "bench", "produce", "--bootstrap", br.bootstrap,
                            "--engine", "raw", "--transactional", "--producers", "3",
                            "--topic", "raw-t", "--partitions", "2", "--seconds", "2",
                            "--batch-records", "5", "--size", "64"], capture_output=True,
                           text=True, timeout=120)
        m = re.search(r"RESULT cmd=txn-raw .* commits=(\d+) .* msgs=(\d+) failed=(\d+)", r.stdout)
        ck(r.returncode == 0 and m and int(m.group(1)) > 0 and m.group(3) == "0",
           f"--transactional: commits, none failed ({r.stdout[-300:]} {r.stderr[-300:]})")
        if m:
            c = Consumer({"bootstrap.servers": br.bootstrap, "group.id": "raw-t",
                          "isolation.level": "read_committed"})
            c.assign([TopicPartition("raw-t", p, 0) for p in range(2)])
            seen = 0
            deadline = time.monotonic() + 60  # 1000 records a call: no count bound on the run
            while time.monotonic() < deadline:
                seen += len([x for x in c.consume(1000, 0.3) if not x.error()])
                if seen >= int(m.group(2)):
                    break
            seen += len([x for x in c.consume(1000, 0.5) if not x.error()])
            c.close()
            ck.eq(seen, int(m.group(2)), "--transactional: read_committed reads every record "
                  f"of the {m.group(1)} commits")

        # Paced: 20000 records at 10000/s in requests of 100 take about 2 s, not less.
        rc, f, err = bench(br, "--engine", "raw", "--idempotent", "--topic", "raw-r",
                           "--partitions", "1", "--count", "20000", "--batch-records", "100",
                           "--size", "100", "--rate", "10000")
        secs = float(f.get("seconds", "0"))
        ck(rc == 0 and f.get("msgs") == "20000" and f.get("failed") == "0" and
           1.9 <= secs < 6 and float(f.get("msgs_per_s", "0")) <= 10600 and
           int(f.get("p50_us", "-1")) >= 0,
           f"--rate 10000: 20000 records in {secs} s ({f.get('msgs_per_s')}/s; {err.strip()})")
        rc, _, err = bench(br, "--engine", "raw", "--transactional", "--rate", "100",
                           "--topic", "raw-a", "--count", "10")
        ck(rc == 2 and "--rate" in err, f"usage error: --rate with --transactional ({err.strip()})")

        for args, what in ((["--engine", "raw", "--acks", "0"], "--acks 0"),
                           (["--engine", "raw", "--mock"], "--mock"),
                           (["--idempotent"], "--idempotent without --engine raw")):
            rc, _, err = bench(br, "--topic", "raw-a", "--count", "10", *args)
            ck(rc == 2 and re.search("raw|idempotent", err), f"usage error: {what} ({err.strip()})")
        rc, _, err = bench(br, "--engine", "raw", "--topic", "raw-missing", "--count", "10")
        ck(rc == 1 and "raw-missing" in err, f"a missing topic: exit 1 ({err.strip()})")
    return ck.done()


if __name__ == "__main__":
    run_main(main)
