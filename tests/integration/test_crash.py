#!/usr/bin/python3
"""Crash test: no acknowledged write is lost, duplicated, moved or corrupted when brookd is
SIGKILLed at random moments.

A producer thread (confluent-kafka, acks=all, NOT idempotent, retries disabled, so every
unique payload is sent at most once) produces without pause to a 3-partition topic, each
message to a fixed partition, with a self-checking payload.  Meanwhile the main thread kills
brookd with SIGKILL at random moments (>= 20 times, default 24) and restarts it on the same
port and data dir, and once more right after the producer's final flush.  Every delivery
report is recorded.  Then everything is read back (check.crcs=true) and the test asserts:

  * every acknowledged message is present exactly once, at its acknowledged (partition,
    offset), with its exact payload;
  * offsets are contiguous from 0 to the high watermark in every partition (no gaps, no
    holes), the high watermark equals the number of records read;
  * no payload appears twice, no record is corrupt (payload checksum, client CRC check,
    no fetch error), every record sits in the partition it was sent to;
  * within a partition, records are in send order (the producer's sequence increases with
    the offset), for acknowledged and unacknowledged-but-persisted records alike;
  * every message got a delivery report (ok or error), and acks kept flowing across
    restarts (most broker lifetimes acknowledged something).

With BROOK_CRASH_POWER=1 every kill is a power cut: brookd runs under the power-loss shim
(tests/chaos/powerloss.c, its path in BROOK_POWERLOSS_LIB; exit 77 without it) and after each
SIGKILL every file loses what brookd had not fsynced (nemesis.power_cut), so the same checks
hold for what a crash of the machine leaves, not only of the process. With small segments
some cuts land while a roll's old segment waits for the flush thread's fdatasync; the
recovery lines (segments cut, active segments deleted) are counted and printed.

Environment: BROOK_CRASH_KILLS (default 24, min 20), BROOK_CRASH_SEED (random by default,
printed), BROOK_CRASH_SEGMENT_BYTES (default 1048576, small so that crashes hit segment
rolls), BROOK_CRASH_POWER.  Total run time is bounded well under 3 minutes."""

import os
import random
import sys
import threading
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "chaos"))
from brook_harness import Broker, Check, run_main  # noqa: E402
from ck_helpers import consumer, producer, read_partition  # noqa: E402

from confluent_kafka import TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TOPIC = "crash"
PARTS = 3
KILLS = max(20, int(os.environ.get("BROOK_CRASH_KILLS", "24")))
SEED = int(os.environ.get("BROOK_CRASH_SEED", str(random.randrange(1 << 30))))
SEGMENT_BYTES = int(os.environ.get("BROOK_CRASH_SEGMENT_BYTES", str(1 << 20)))
RATE = int(os.environ.get("BROOK_CRASH_RATE", "60000"))  # msgs/s ceiling (bounds data volume)
KILL_PHASE_LIMIT = 110.0   # seconds for all kills+restarts
MAX_MESSAGES = 8_000_000   # hard cap on what the producer thread may send
POWER = os.environ.get("BROOK_CRASH_POWER") == "1"


def payload(seq):
    """Deterministic, self-checking value for sequence number `seq`."""
    pad = bytes((seq * 31 + j) & 0xFF for j in range((seq * 7919) % 120))
    body = b"%d|%d|" % (seq, seq % PARTS) + pad.hex().encode()
    return body + b"|%08x" % zlib.crc32(body)


def parse(value):
    """-> seq, or raise ValueError if the payload is corrupt."""
    body, _, crc = value.rpartition(b"|")
    if b"%08x" % zlib.crc32(body) != crc:
        raise ValueError(f"payload checksum mismatch: {value[:80]!r}")
    seq = int(body.split(b"|", 1)[0])
    if payload(seq) != value:
        raise ValueError(f"payload content mismatch for seq {seq}")
    return seq


class ProducerThread(threading.Thread):
    def __init__(self, bootstrap):
        super().__init__(daemon=True)
        self.p = producer(bootstrap, {
            "acks": "all",
            "enable.idempotence": False,
            "message.send.max.retries": 0,      # at most once per payload
            "retry.backoff.ms": 50,
            "max.in.flight.requests.per.connection": 5,
            "linger.ms": 2,
            "batch.num.messages": 1000,
            # a batch larger than log.segment.bytes is refused (as in Kafka)
            "batch.size": min(1_000_000, SEGMENT_BYTES // 2),
            "queue.buffering.max.messages": 50000,
            "message.timeout.ms": 8000,
            "request.timeout.ms": 5000,
            "socket.timeout.ms": 5000,
            "reconnect.backoff.ms": 10,
            "reconnect.backoff.max.ms": 100,
            "topic.metadata.refresh.interval.ms": 1000,
            "log.connection.close": False,
            "logger": _quiet_logger(),
        })
        self.stop = threading.Event()
        self.sent = 0
        self.acked = {}        # seq -> (partition, offset)
        self.ack_epoch = {}    # broker lifetime (restart count) -> number of acks
        self.failed = {}       # error name -> count
        self.dr_count = 0
        self.epoch = 0
        self.bad_dr = []
        self.error = None

    def _dr(self, err, m):
        self.dr_count += 1
        seq = int(m.key())
        if err is not None:
            self.failed[err.name()] = self.failed.get(err.name(), 0) + 1
            return
        if seq in self.acked:
            self.bad_dr.append(f"second delivery report for seq {seq}")
        if m.partition() != seq % PARTS:
            self.bad_dr.append(f"seq {seq} acknowledged on partition {m.partition()}")
        self.acked[seq] = (m.partition(), m.offset())
        self.ack_epoch[self.epoch] = self.ack_epoch.get(self.epoch, 0) + 1

    def run(self):
        try:
            t0 = time.monotonic()
            while not self.stop.is_set() and self.sent < MAX_MESSAGES:
                if self.sent > RATE * (time.monotonic() - t0):
                    self.p.poll(0.002)
                    continue
                for _ in range(200):
                    seq = self.sent
                    try:
                        self.p.produce(TOPIC, key=b"%d" % seq, value=payload(seq), partition=seq % PARTS,
                                       on_delivery=self._dr)
                    except BufferError:
                        self.p.poll(0.01)
                        break
                    self.sent += 1
                self.p.poll(0)
        except Exception as e:  # reported by the main thread
            self.error = e

    def finish(self, timeout=30.0):
        self.stop.set()
        self.join(timeout=10)
        left = self.p.flush(timeout)
        self.p.poll(0)
        return left


def _quiet_logger():
    import logging
    lg = logging.getLogger("brook-crash-rdkafka")
    lg.addHandler(logging.NullHandler())
    lg.propagate = False
    return lg


def power_shim(b, lib):
    """Runs b under the power-loss shim; returns the cut to make after each SIGKILL."""
    from nemesis import power_cut
    b.extra_env = {"LD_PRELOAD": lib, "BROOK_POWERLOSS_STATE": os.path.join(b.tmp, "power")}
    return lambda: power_cut(b)


def recovery_lines(b):
    """(segments cut at a torn tail, active segments deleted behind a cut one) in the log."""
    with open(b.log_path, errors="replace") as f:
        text = f.read()
    return text.count("truncating segment"), text.count("never durable")


def main():
    t_start = time.monotonic()
    rnd = random.Random(SEED)
    print(f"[crash] seed={SEED} kills={KILLS} segment.bytes={SEGMENT_BYTES} rate<={RATE}/s"
          f"{' power cuts' if POWER else ''}", flush=True)
    ck = Check("crash")
    lib = os.path.abspath(os.environ.get("BROOK_POWERLOSS_LIB", ""))
    if POWER and not os.path.exists(lib):
        print(f"[crash] BROOK_CRASH_POWER=1 needs BROOK_POWERLOSS_LIB (got {lib!r}): skipped")
        sys.exit(77)
    b = Broker(name="crash", config={"log.segment.bytes": SEGMENT_BYTES, "log.flush.mode": "sync"})
    cut = power_shim(b, lib) if POWER else (lambda: 0)
    with b:
        dropped = 0
        admin = AdminClient({"bootstrap.servers": b.bootstrap, "logger": _quiet_logger()})
        admin.create_topics([NewTopic(TOPIC, PARTS, 1)], operation_timeout=10)[TOPIC].result(timeout=30)
        del admin

        pt = ProducerThread(b.bootstrap)
        pt.start()
        # The kills start once the producer has its first acknowledgement: before the client
        # has learnt the topic's metadata it reconnects to a killed broker only on its 1 s
        # metadata timer, so early short lifetimes would see no load at all.
        warm_deadline = time.monotonic() + 30
        while not pt.acked and not pt.error and time.monotonic() < warm_deadline:
            time.sleep(0.01)
        ck(pt.acked, "the producer got no acknowledgement within 30 s of starting")
        kills = 0
        restart_times = []
        sent_at_kill = []
        uptimes = []
        deadline = time.monotonic() + KILL_PHASE_LIMIT
        while kills < KILLS:
            if time.monotonic() > deadline:
                raise AssertionError(f"only {kills} kills within {KILL_PHASE_LIMIT}s")
            if pt.error:
                raise pt.error
            # uptime: mostly short, sometimes right after becoming ready
            up = rnd.choice([0.0, 0.05]) if rnd.random() < 0.15 else rnd.uniform(0.2, 2.0)
            uptimes.append(up)
            time.sleep(up)
            sent_at_kill.append(pt.sent)
            b.kill()
            dropped += cut()
            kills += 1
            down = rnd.uniform(0.0, 0.3)      # the producer keeps producing while down
            time.sleep(down)
            t0 = time.monotonic()
            b.start()
            restart_times.append(time.monotonic() - t0)
            pt.epoch = kills
        time.sleep(1.0)  # let the last lifetime acknowledge something
        uptimes.append(1.0)
        sent_at_kill.append(pt.sent)
        left = pt.finish(30.0)
        if pt.error:
            raise pt.error
        ck.eq(left, 0, "messages still queued after the final flush")
        ck.eq(pt.dr_count, pt.sent, "every produced message got a delivery report")
        ck.eq(pt.bad_dr, [], "delivery report anomalies")
        print(f"[crash] {kills} kills; sent {pt.sent}, acked {len(pt.acked)}, failed {pt.failed}; "
              f"restart time max {max(restart_times):.2f}s avg {sum(restart_times) / len(restart_times):.2f}s",
              flush=True)
        # (A lifetime killed within 50 ms of its ready line may send nothing: the client's
        # queue can still be full from the outage before it.)
        idle = [i for i in range(1, len(sent_at_kill))
                if sent_at_kill[i] <= sent_at_kill[i - 1] and uptimes[i] >= 0.2]
        ck(not idle, f"the producer sent nothing during broker lifetimes {idle} (load must be continuous)")
        ck(len(pt.acked) >= 1000, f"too few acknowledged messages ({len(pt.acked)}) to be meaningful")
        lifetimes_with_acks = sum(1 for e in range(kills + 1) if pt.ack_epoch.get(e))
        ck(lifetimes_with_acks >= (kills + 1) // 2,
           f"only {lifetimes_with_acks} of {kills + 1} broker lifetimes acknowledged anything: {pt.ack_epoch}")

        # One more crash right after the last acknowledgement, then verify.
        b.kill()
        dropped += cut()
        b.start()
        if POWER:
            cuts, orphans = recovery_lines(b)
            print(f"[crash] power cuts dropped {dropped} unsynced bytes; recovery cut {cuts} "
                  f"segment tails and deleted {orphans} active segments behind a cut one",
                  flush=True)
            ck(dropped > 0, "the power cuts dropped nothing: the shim is not in effect")

        c = consumer(b.bootstrap, {"fetch.max.bytes": 8 << 20, "max.partition.fetch.bytes": 4 << 20})
        stored = 0
        for part in range(PARTS):
            lo, hi = c.get_watermark_offsets(TopicPartition(TOPIC, part), timeout=10)
            ck.eq(lo, 0, f"p{part} log start offset")
            msgs = read_partition(c, TOPIC, part, 0, timeout=60)
            offsets = [m.offset() for m in msgs]
            ck(offsets == list(range(len(msgs))),
               f"p{part}: offsets not contiguous from 0 (first gap near "
               f"{next((i for i, o in enumerate(offsets) if o != i), None)})")
            ck.eq(hi, len(msgs), f"p{part}: high watermark vs records read")
            seqs = []
            for m in msgs:
                try:
                    seq = parse(m.value())
                except ValueError as e:
                    raise AssertionError(f"p{part}@{m.offset()}: corrupt record: {e}")
                ck.eq(m.key(), b"%d" % seq, f"p{part}@{m.offset()} key")
                seqs.append(seq)
            ck(all(s % PARTS == part for s in seqs), f"p{part}: a record of another partition")
            dup = len(seqs) - len(set(seqs))
            ck(dup == 0, f"p{part}: {dup} duplicated payloads")
            bad_order = next((i for i in range(1, len(seqs)) if seqs[i] <= seqs[i - 1]), None)
            ck(bad_order is None, f"p{part}: send order broken at offset {bad_order}: "
                                  f"{seqs[bad_order - 1] if bad_order else ''} then "
                                  f"{seqs[bad_order] if bad_order else ''}")
            at = dict(enumerate(seqs))
            acked_here = [(s, po[1]) for s, po in pt.acked.items() if po[0] == part]
            lost = [(s, o) for s, o in acked_here if at.get(o) != s]
            ck(not lost, f"p{part}: {len(lost)} acknowledged messages missing or moved, e.g. "
                         f"{[(s, o, at.get(o)) for s, o in sorted(lost)[:5]]} (seq, acked offset, seq found there)")
            unacked = len(seqs) - len(acked_here)
            print(f"[crash] p{part}: {len(seqs)} records, {len(acked_here)} acknowledged, "
                  f"{unacked} unacknowledged but persisted", flush=True)
            stored += len(seqs)
        c.close()
        ck(stored >= len(pt.acked), "stored records >= acknowledged")
        ck(stored <= pt.sent, "stored records <= sent")
    elapsed = time.monotonic() - t_start
    print(f"[crash] total {elapsed:.1f}s", flush=True)
    ck(elapsed < 180, f"crash test took {elapsed:.0f}s (limit 180s)")
    ck.done()


if __name__ == "__main__":
    run_main(main)
