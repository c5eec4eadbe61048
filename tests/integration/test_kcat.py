#!/usr/bin/python3
"""kcat 1.7.1 against brookd: metadata (-L / -L -J), keyed produce (-P -K), consume
(-C -o beginning -e) with exact count, order, keys and offsets; absolute/relative start
offsets; data survives a clean (SIGTERM) restart."""

import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from brook_harness import Broker, Check, cluster_size, run_checked, run_main  # noqa: E402

KCAT = shutil.which("kcat") or "/usr/bin/kcat"
NODES = cluster_size() or 1
N = 1000
T = 30  # per kcat invocation, seconds


def kcat(args, input=None, timeout=T):
    p = run_checked([KCAT, "-m", "10"] + args, timeout=timeout, input=input)
    if p.returncode != 0:
        raise AssertionError(f"kcat {' '.join(args)} exited {p.returncode}:\n"
                             f"stdout: {p.stdout.decode(errors='replace')[-2000:]}\n"
                             f"stderr: {p.stderr.decode(errors='replace')[-2000:]}")
    return p


def consume(bs, topic, offset, extra=()):
    fmt = "%p\t%o\t%k\t%s\n"
    p = kcat(["-b", bs, "-C", "-t", topic, "-o", str(offset), "-e", "-q", "-f", fmt] + list(extra))
    rows = []
    for line in p.stdout.decode().splitlines():
        part, off, key, val = line.split("\t")
        rows.append((int(part), int(off), key, val))
    return rows


def main():
    ck = Check("kcat")
    with Broker(name="kcat") as b:
        bs = b.bootstrap

        # ---- metadata: plain text and JSON (BROOK_TEST_CLUSTER: nodes 1..n, bs is node 1)
        out = kcat(["-b", bs, "-L"]).stdout.decode()
        ck(f"{NODES} brokers:" in out, f"-L lists {NODES} broker(s):\n{out}")
        ck(f"broker 1 at 127.0.0.1:{b.port}" in out, f"-L shows broker 1 at our address:\n{out}")
        md = json.loads(kcat(["-b", bs, "-L", "-J"]).stdout)
        brokers = sorted((x["id"], x["name"]) for x in md["brokers"])
        ck.eq([x[0] for x in brokers], list(range(1, NODES + 1)), "-J broker ids")
        ck.eq(brokers[0], (1, f"127.0.0.1:{b.port}"), "-J broker 1")
        ck(md["controllerid"] in range(1, NODES + 1), f"controller id {md['controllerid']}")

        # ---- keyed produce, auto-created topic (num.partitions default 1)
        topic = "kcat-keyed"
        lines = "".join(f"key-{i}:value-{i}-{'x' * (i % 37)}\n" for i in range(N))
        kcat(["-b", bs, "-P", "-t", topic, "-K", ":", "-X", "acks=all"], input=lines.encode())

        md = json.loads(kcat(["-b", bs, "-L", "-J", "-t", topic]).stdout)
        tmd = [t for t in md["topics"] if t["topic"] == topic]
        ck.eq(len(tmd), 1, "topic listed after auto-create")
        ck("error" not in tmd[0] or not tmd[0]["error"], f"topic metadata error: {tmd[0]}")
        ck.eq(len(tmd[0]["partitions"]), 1, "auto-created topic partition count")
        ck(tmd[0]["partitions"][0]["leader"] in range(1, NODES + 1),
           f"partition leader {tmd[0]['partitions'][0]['leader']}")

        # ---- consume everything: exact count, order, keys, offsets
        rows = consume(bs, topic, "beginning")
        ck.eq(len(rows), N, "consumed message count")
        for i, (part, off, key, val) in enumerate(rows):
            ck.eq((part, off, key, val), (0, i, f"key-{i}", f"value-{i}-{'x' * (i % 37)}"), f"message #{i}")

        # ---- append a second batch: offsets continue, absolute and relative starts
        lines2 = "".join(f"k2-{i}:second-{i}\n" for i in range(100))
        kcat(["-b", bs, "-P", "-t", topic, "-K", ":", "-X", "acks=all"], input=lines2.encode())
        rows = consume(bs, topic, N)
        ck.eq([(r[1], r[2], r[3]) for r in rows],
              [(N + i, f"k2-{i}", f"second-{i}") for i in range(100)], "consume from absolute offset N")
        rows = consume(bs, topic, -5)
        ck.eq([r[1] for r in rows], list(range(N + 95, N + 100)), "consume -o -5 (relative to end)")
        rows = consume(bs, topic, N + 50, ["-c", "3"])
        ck.eq([(r[1], r[2]) for r in rows], [(N + 50 + i, f"k2-{50 + i}") for i in range(3)], "-o N+50 -c 3")

        # ---- explicit partitions on a multi-partition topic (created by metadata/produce)
        # Produce with -p to partition 0 of a second auto-created topic and check isolation.
        topic2 = "kcat-other"
        kcat(["-b", bs, "-P", "-t", topic2, "-K", ":", "-p", "0"], input=b"a:1\nb:2\nc:3\n")
        rows = consume(bs, topic2, "beginning")
        ck.eq(rows, [(0, 0, "a", "1"), (0, 1, "b", "2"), (0, 2, "c", "3")], "second topic content")

        # ---- clean restart keeps the data
        rc = b.restart()
        ck.eq(rc, 0, "brookd exit code on SIGTERM")
        rows = consume(bs, topic, "beginning")
        ck.eq(len(rows), N + 100, "message count after clean restart")
        ck.eq([r[1] for r in rows], list(range(N + 100)), "offsets after clean restart")
        ck.eq(rows[N - 1][2:], (f"key-{N - 1}", f"value-{N - 1}-{'x' * ((N - 1) % 37)}"), "content after restart")
        rows = consume(bs, topic2, "beginning")
        ck.eq(len(rows), 3, "second topic after restart")

        # ---- produce after restart continues at the right offset
        kcat(["-b", bs, "-P", "-t", topic, "-K", ":"], input=b"after:restart\n")
        rows = consume(bs, topic, -1)
        ck.eq(rows, [(0, N + 100, "after", "restart")], "append after restart")
    ck.done()


if __name__ == "__main__":
    run_main(main)
