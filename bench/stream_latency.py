#!/usr/bin/python3
"""End-to-end latency of `brook run` (bench/stream.sh): input produced at a steady rate, the
pipeline's output read back by a read_committed consumer, latency = the time an output
record is read minus its timestamp (the input record's CreateTime, which a filter + project
pipeline keeps), all on this machine's clock.

  stream_latency.py BROOK BOOTSTRAP WORKDIR GUARANTEE RATE SECONDS

Prints one line: RESULT cmd=latency guarantee=G rate=R records=N p50_ms= p99_ms= max_ms=
"""

import os
import signal
import subprocess
import sys
import threading
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

PARTITIONS = 4


def main():
    brook, bootstrap, work, guarantee, rate, seconds = sys.argv[1:7]
    rate, seconds = int(rate), float(seconds)
    name = f"lat-{guarantee.replace('_', '-')}-{os.getpid()}"
    src, out = f"{name}-in", f"{name}-out"
    a = AdminClient({"bootstrap.servers": bootstrap})
    for f in a.create_topics([NewTopic(t, PARTITIONS, 1) for t in (src, out)]).values():
        f.result(30)
    conf = os.path.join(work, f"{name}.conf")
    with open(conf, "w") as f:
        f.write(f"pipeline.name={name}\nsource.topic={src}\nprocessing.guarantee={guarantee}\n"
                "commit.interval.ms=100\nop.1=filter action == \"click\"\n"
                f"op.2=project user, n\nsink.topic={out}\n"
                "client.fetch.wait.max.ms=10\n")
    log = open(os.path.join(work, f"{name}.log"), "wb")
    run = subprocess.Popen([brook, "run", conf, "--bootstrap", bootstrap, "--progress-ms",
                            "1000"], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with open(log.name, "rb") as fh:
                if b"assigned" in fh.read():
                    break
            time.sleep(0.1)
        else:
            raise SystemExit("brook run was not assigned its partitions in 60 s")
        time.sleep(1)  # its recoveries (fencing, claims) are done before the first record
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{name}-reader",
                      "isolation.level": "read_committed", "enable.auto.commit": False,
                      "fetch.wait.max.ms": 5, "auto.offset.reset": "earliest"})
        c.assign([TopicPartition(out, p, 0) for p in range(PARTITIONS)])
        lat, total = [], int(rate * seconds)
        done = threading.Event()

        def feed():
            p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 1,
                          "enable.idempotence": True})
            t0 = time.monotonic()
            for i in range(total):
                wait = t0 + i / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                p.produce(src, value=b'{"user":"u%d","action":"click","n":%d}' % (i % 97, i),
                          partition=i % PARTITIONS)
                p.poll(0)
            p.flush(30)
            done.set()

        th = threading.Thread(target=feed)
        th.start()
        end = time.monotonic() + seconds + 60
        while len(lat) < total and time.monotonic() < end:
            m = c.poll(0.1)
            if m is None or m.error():
                continue
            lat.append(time.time() * 1000 - m.timestamp()[1])
        th.join(60)
        c.close()
    finally:
        run.send_signal(signal.SIGTERM)
        try:
            run.wait(60)
        except subprocess.TimeoutExpired:
            run.kill()
    lat.sort()
    if len(lat) < total:
        print(f"stream_latency: {len(lat)} of {total} outputs read", file=sys.stderr)
    q = (lambda f: f"{lat[min(len(lat) - 1, int(f * len(lat)))]:.0f}") if lat else (lambda f: "")
    print(f"RESULT cmd=latency guarantee={guarantee} rate={rate} records={len(lat)} "
          f"p50_ms={q(0.5)} p99_ms={q(0.99)} max_ms={q(1.0)}")


if __name__ == "__main__":
    main()
