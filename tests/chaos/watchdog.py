#!/usr/bin/python3
"""Ends a campaign whose harness stopped running Python (docs/reliability.md, "a client
deadlock in librdkafka 2.15.1"): a librdkafka call that keeps the GIL while it waits on a
deadlocked client thread stops every thread of the harness, the nemesis and its timeouts
included, so nothing inside it can notice. chaos.py starts this script as a separate
process (its own session, so not killed with the harness) and touches a heartbeat file
every few seconds from a thread of its own; when the file is older than --stall seconds
while the harness still lives, this script

  1. saves every thread's stack of the harness (gdb, when installed) to --stacks,
  2. SIGKILLs the harness (its brokers, ZooKeeper and node clients die with it: they are
     started with PR_SET_PDEATHSIG),
  3. removes the network namespaces and the bridge the harness made (--netns-tag),

and exits 3 after saying so on stderr. When the harness is gone by itself it removes what
is left of those (a harness killed from outside, by ctest's timeout say, runs no cleanup)
and exits 0. Every wait is bounded."""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (the harness's parent has not reaped it yet) is gone for our purpose.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def age(path, now):
    """Seconds since the heartbeat file was last touched; 0 until it exists."""
    try:
        return now - os.stat(path).st_mtime
    except FileNotFoundError:
        return 0.0


def save_stacks(pid, out):
    gdb = shutil.which("gdb")
    if not gdb or not out:
        return "no stacks (gdb not installed)" if not gdb else "no stacks asked for"
    try:
        with open(out, "w") as f:
            subprocess.run([gdb, "-p", str(pid), "-batch", "-ex", "thread apply all bt 30"],
                           stdout=f, stderr=subprocess.STDOUT, timeout=180)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"no stacks ({e!r})"
    return f"stacks in {out}"


def remove_netns(tag):
    """The names nemesis.Net gives: namespaces ck<tag>n<i>, bridge ckb<tag>."""
    if tag is None or not shutil.which("ip"):
        return []
    removed = []
    r = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=30)
    for line in r.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith(f"ck{tag}n") and name[len(f"ck{tag}n"):].isdigit():
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)
            removed.append(name)
    if subprocess.run(["ip", "link", "del", f"ckb{tag}"], capture_output=True,
                      timeout=30).returncode == 0:
        removed.append(f"ckb{tag}")
    return removed


def watch(pid, heartbeat, stall, interval, stacks, tag):
    while alive(pid):
        stale = age(heartbeat, time.time())
        if stale > stall:
            where = save_stacks(pid, stacks)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            for _ in range(100):  # bounded: 10 s for the kernel to reap it
                if not alive(pid):
                    break
                time.sleep(0.1)
            removed = remove_netns(tag)
            print(f"[chaos watchdog] the harness (pid {pid}) ran no Python for {stale:.0f} s "
                  f"(a client call holding the GIL, docs/reliability.md): {where}; killed it"
                  f"{'; removed ' + ', '.join(removed) if removed else ''}",
                  file=sys.stderr, flush=True)
            return 3
        time.sleep(interval)
    removed = remove_netns(tag)
    if removed:
        print(f"[chaos watchdog] the harness (pid {pid}) left {', '.join(removed)}: removed",
              file=sys.stderr, flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--heartbeat", required=True)
    ap.add_argument("--stall", type=float, default=300)
    ap.add_argument("--interval", type=float, default=1)
    ap.add_argument("--stacks", default=None)
    ap.add_argument("--netns-tag", type=int, default=None)
    a = ap.parse_args()
    return watch(a.pid, a.heartbeat, a.stall, a.interval, a.stacks, a.netns_tag)


if __name__ == "__main__":
    sys.exit(main())
