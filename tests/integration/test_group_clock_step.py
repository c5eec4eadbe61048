#!/usr/bin/env python3
"""Group sessions across steps of the broker's wall clock (libfaketime, as the chaos
campaign's clock fault makes them; the monotonic clock is left alone, as a step of the
system clock leaves it).

  1. Two consumers share a topic. The broker's wall clock jumps 120 s forward: nobody is
     expired, no rebalance (on the wall clock every session ended at once).
  2. The clock jumps 240 s back, then one consumer (a child process) is SIGKILLed: its
     partitions move to the other within about its session timeout (on the wall clock the
     dead member stayed for 240 s more).

Skipped (77) without libfaketime or confluent-kafka."""

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from brook_harness import Broker, Check, run_main  # noqa: E402

FAKETIME_LIBS = ("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
                 "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1")
TOPIC, GROUP, PARTS = "clock-step", "clock-step-g", 4
SESSION_MS = 6000

CHILD = r"""
import sys, time
from confluent_kafka import Consumer
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2],
              "session.timeout.ms": int(sys.argv[4]), "heartbeat.interval.ms": 500,
              "partition.assignment.strategy": "range"})
c.subscribe([sys.argv[3]], on_assign=lambda _c, ps: print("assigned", len(ps), flush=True))
end = time.monotonic() + 120
while time.monotonic() < end:
    c.poll(0.2)
"""


def jump(path, offset):
    with open(path + ".new", "w") as f:
        f.write(offset + "\n")
    os.replace(path + ".new", path)


class Watched:
    """A consumer in this process, counting its assignment changes."""

    def __init__(self, bs):
        from confluent_kafka import Consumer
        self.owned, self.changes = set(), 0
        self.c = Consumer({"bootstrap.servers": bs, "group.id": GROUP,
                           "session.timeout.ms": SESSION_MS, "heartbeat.interval.ms": 500,
                           "partition.assignment.strategy": "range"})
        self.c.subscribe([TOPIC], on_assign=self._assign, on_revoke=self._revoke)

    def _assign(self, _c, ps):
        self.owned, self.changes = {p.partition for p in ps}, self.changes + 1

    def _revoke(self, _c, ps):
        self.owned, self.changes = set(), self.changes + 1

    def poll_for(self, seconds, until=None):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.c.poll(0.2)
            if until and until():
                return True
        return until() if until else True


def main():
    lib = next((p for p in FAKETIME_LIBS if os.path.exists(p)), None)
    try:
        from confluent_kafka.admin import AdminClient, NewTopic
    except ImportError:
        print("SKIP: python3-confluent-kafka missing")
        sys.exit(77)
    if not lib or os.environ.get("BROOK_TEST_CLUSTER"):
        print("SKIP: libfaketime missing (or a cluster run: this test is single-node)")
        sys.exit(77)
    ck = Check("group_clock_step")
    b = Broker(config={"group.initial.rebalance.delay.ms": 0})
    clock = os.path.join(b.tmp, "faketime")
    jump(clock, "+0s")
    b.extra_env = {"LD_PRELOAD": lib, "FAKETIME_TIMESTAMP_FILE": clock,
                   "FAKETIME_CACHE_DURATION": "1", "DONT_FAKE_MONOTONIC": "1",
                   "NO_FAKE_STAT": "1"}
    child = None
    with b:  # starts it, with extra_env
        bs = b.bootstrap
        admin = AdminClient({"bootstrap.servers": bs})
        admin.create_topics([NewTopic(TOPIC, PARTS, 1)])[TOPIC].result(timeout=30)
        child = subprocess.Popen([sys.executable, "-c", CHILD, bs, GROUP, TOPIC,
                                  str(SESSION_MS)], stdout=subprocess.PIPE, text=True)
        w = Watched(bs)
        try:
            ck(w.poll_for(60, lambda: len(w.owned) == PARTS // 2),
               f"two members share the topic (this one owns {sorted(w.owned)})")
            w.poll_for(3)  # settled: the child's assignment came with the same generation
            before = w.changes

            jump(clock, "+120s")
            w.poll_for(2 * SESSION_MS / 1000 + 2)
            ck.eq(w.changes - before, 0, "no rebalance after the wall clock jumped 120 s ahead")
            ck.eq(len(w.owned), PARTS // 2, "still half of the partitions")

            jump(clock, "-120s")
            w.poll_for(2)
            child.send_signal(signal.SIGKILL)
            child.wait(10)
            t0 = time.monotonic()
            took_over = w.poll_for(4 * SESSION_MS / 1000, lambda: len(w.owned) == PARTS)
            waited = time.monotonic() - t0
            ck(took_over, f"the killed member's partitions moved within {4 * SESSION_MS} ms "
                          f"after the clock jumped 240 s back (owned {sorted(w.owned)} after "
                          f"{waited:.1f} s)")
        finally:
            w.c.close()
            if child.poll() is None:
                child.kill()
                child.wait(10)
    ck.done()


if __name__ == "__main__":
    run_main(main)
