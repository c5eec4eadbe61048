#!/usr/bin/python3
"""Idempotent Produce retries on the wire (raw Kafka protocol, no client library), as
librdkafka and kafkajs depend on them after a lost response or a broker restart:

  * a retried batch (same producer id, epoch and sequence range) of the last 5 is answered
    promptly with error 0 and the ORIGINAL base offset, and is not appended again;
    this holds for the last batch, for an older one of the last 5, and for a retry alone
    on an otherwise idle broker (log.flush.mode=sync: nothing else will be flushed);
  * a sequence gap gets OUT_OF_ORDER_SEQUENCE_NUMBER (45); a batch with an older epoch after
    the client bumped its own epoch (new epoch, sequence 0) gets INVALID_PRODUCER_EPOCH (47);
  * after a SIGKILL restart the producer state is rebuilt: a retry of the last batch is
    again answered promptly with its original offset, and the next sequence is accepted.

Every request waits at most 5 s for its answer; no answer is a failure.  The raw client is
raw_kafka.py."""

import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from brook_harness import Broker, Check, run_main  # noqa: E402
from raw_kafka import Conn as RawConn, record_batch, s16  # noqa: E402

TOPIC = b"tir-t"
ANSWER_WITHIN = 5.0


def init_producer_id(c):
    err, pid, epoch = c.init_producer_id()
    if err:
        raise AssertionError(f"InitProducerId error {err}")
    return pid, epoch


def list_latest(c):
    return c.list_offset(TOPIC, 0)[1]


def main():
    ck = Check("txn-idempotent-retry")
    with Broker(name="tir", config={"log.flush.mode": "sync", "num.partitions": 1,
                                    "transaction.state.log.num.partitions": 4,
                                    "offsets.topic.num.partitions": 4}) as b:
        c = RawConn(b.bootstrap, client_id=b"brook-tir", answer_within=ANSWER_WITHIN)
        c.request(3, 1, struct.pack(">i", 1) + s16(TOPIC), "Metadata (auto-create)")
        time.sleep(0.2)
        pid, epoch = init_producer_id(c)
        batches = [record_batch(pid, epoch, 2 * i, [b"v%d-0" % i, b"v%d-1" % i]) for i in range(6)]
        offsets = []
        for i, rb in enumerate(batches):
            err, base, _ = c.produce(TOPIC, 0, rb, f"batch {i}")
            ck.eq(err, 0, f"batch {i} error")
            offsets.append(base)
        ck.eq(offsets, [0, 2, 4, 6, 8, 10], "base offsets of 6 batches of 2")

        # The idle broker: a retry of the last batch alone.
        err, base, dt = c.produce(TOPIC, 0, batches[5], "retry of the last batch (idle broker)")
        ck.eq((err, base), (0, 10), "retry of the last batch: error, original base offset")
        ck(dt < 2.0, f"retry of the last batch answered after {dt:.2f}s")
        # An older batch among the last 5.
        err, base, dt = c.produce(TOPIC, 0, batches[2], "retry of an older batch")
        ck.eq((err, base), (0, 4), "retry of batch 2 (of the last 5): error, original base offset")
        ck.eq(list_latest(c), 12, "nothing appended by the retries")
        # Gap, then an epoch bump by the client, then the old epoch.
        err, _, _ = c.produce(TOPIC, 0, record_batch(pid, epoch, 20, [b"gap"]), "sequence gap")
        ck.eq(err, 45, "sequence gap -> OUT_OF_ORDER_SEQUENCE_NUMBER")
        err, base, _ = c.produce(TOPIC, 0, record_batch(pid, epoch + 1, 0, [b"bumped"]), "bumped epoch")
        ck.eq((err, base), (0, 12), "client epoch bump (epoch+1, seq 0) accepted")
        err, _, _ = c.produce(TOPIC, 0, record_batch(pid, epoch, 12, [b"old"]), "old epoch")
        ck.eq(err, 47, "old epoch after the bump -> INVALID_PRODUCER_EPOCH")
        nxt = record_batch(pid, epoch + 1, 1, [b"n1", b"n2"])
        err, base, _ = c.produce(TOPIC, 0, nxt, "next batch")
        ck.eq((err, base), (0, 13), "next batch")
        c.close()

        # Crash: the producer state is rebuilt from the log (and snapshot).
        b.crash_restart()
        c = RawConn(b.bootstrap, client_id=b"brook-tir", answer_within=ANSWER_WITHIN)
        err, base, dt = c.produce(TOPIC, 0, nxt, "retry after a SIGKILL restart")
        ck.eq((err, base), (0, 13), "retry after restart: error, original base offset")
        ck(dt < 2.0, f"retry after restart answered after {dt:.2f}s")
        err, base, _ = c.produce(TOPIC, 0, record_batch(pid, epoch + 1, 3, [b"after"]), "next after restart")
        ck.eq((err, base), (0, 15), "the next sequence after restart")
        ck.eq(list_latest(c), 16, "high watermark")
        c.close()
    ck.done()


if __name__ == "__main__":
    run_main(main)
