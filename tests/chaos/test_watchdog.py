#!/usr/bin/python3
"""watchdog.py against stand-in harnesses (no cluster): one that stops touching its
heartbeat is SIGKILLed, its stacks saved (when gdb is installed) and its network namespace
removed (root only); one that keeps touching it and exits by itself is left alone, and the
watchdog exits 0 right after it."""

import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from brook_harness import Check  # noqa: E402

# argv: heartbeat path, seconds of heartbeats, seconds to live afterwards (not touching it)
STAND_IN = r"""
import sys, time
beat, beating, after = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
end = time.monotonic() + beating
while time.monotonic() < end:
    open(beat, "w").close()
    time.sleep(0.1)
print("stopped beating", flush=True)
time.sleep(after)
"""


def watchdog(pid, beat, stacks, tag):
    argv = [sys.executable, os.path.join(HERE, "watchdog.py"), "--pid", str(pid),
            "--heartbeat", beat, "--stall", "1.5", "--interval", "0.2", "--stacks", stacks]
    if tag is not None:
        argv += ["--netns-tag", str(tag)]
    return subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)


def netns_names():
    r = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=30)
    return {line.split()[0] for line in r.stdout.splitlines() if line.split()}


def stalled(ck, tmp, root):
    beat, stacks = os.path.join(tmp, "beat-1"), os.path.join(tmp, "stacks-1.txt")
    h = subprocess.Popen([sys.executable, "-c", STAND_IN, beat, "2", "120"])
    tag = h.pid % 100000 if root else None
    if root:
        subprocess.run(["ip", "netns", "add", f"ck{tag}n1"], check=True, timeout=30)
    t0 = time.monotonic()
    w = watchdog(h.pid, beat, stacks, tag)
    try:
        rc = w.wait(240)
        err = w.stderr.read()
        took = time.monotonic() - t0
        ck.eq(rc, 3, "the watchdog says it ended a stalled harness")
        ck.eq(h.wait(10), -9, "the stalled stand-in was SIGKILLed")
        ck(took >= 3.0, f"not before the heartbeat was 1.5 s old ({took:.1f} s)")
        ck("ran no Python" in err, f"it says why on stderr: {err.strip()!r}")
        if shutil.which("gdb"):
            with open(stacks) as f:
                ck("Thread" in f.read(), "the stand-in's stacks were saved")
        if root:
            ck(f"ck{tag}n1" not in netns_names(), "its network namespace was removed")
    finally:
        if h.poll() is None:
            h.kill()
            h.wait(10)
        if w.poll() is None:
            w.kill()
            w.wait(10)
        if root and f"ck{tag}n1" in netns_names():
            subprocess.run(["ip", "netns", "del", f"ck{tag}n1"], timeout=30)


def healthy(ck, tmp):
    beat, stacks = os.path.join(tmp, "beat-2"), os.path.join(tmp, "stacks-2.txt")
    h = subprocess.Popen([sys.executable, "-c", STAND_IN, beat, "3", "0"])
    w = watchdog(h.pid, beat, stacks, None)
    try:
        ck.eq(h.wait(30), 0, "a harness that keeps beating ends by itself")
        t0 = time.monotonic()
        ck.eq(w.wait(30), 0, "the watchdog exits 0 after it")
        ck(time.monotonic() - t0 < 5, "and within a few polls")
        ck(not os.path.exists(stacks), "without taking stacks")
    finally:
        for p in (h, w):
            if p.poll() is None:
                p.kill()
                p.wait(10)


def main():
    ck = Check("chaos_watchdog")
    root = os.geteuid() == 0 and shutil.which("ip") is not None
    with tempfile.TemporaryDirectory(prefix="brook-watchdog-") as tmp:
        stalled(ck, tmp, root)
        healthy(ck, tmp)
    ck.done()
    return 0


if __name__ == "__main__":
    sys.exit(main())
