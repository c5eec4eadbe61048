#!/usr/bin/python3
"""The clock fault's means (nemesis.Clocks): a process started with Clocks.env() and
libfaketime preloaded reads a wall clock moved by what jump() last wrote, re-read within
the cache period, while its monotonic clock is untouched. Exit 77 (skipped) without
libfaketime."""

import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from nemesis import Clocks  # noqa: E402

# The child prints its wall and monotonic clocks once per line of stdin.
CHILD = "import sys, time\nfor _ in sys.stdin:\n    print(time.time(), time.monotonic(), flush=True)\n"


def main():
    lib = Clocks.find()
    if not lib:
        print("libfaketime not installed: skipped")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        clocks = Clocks(lib, tmp)
        env = dict(os.environ, LD_PRELOAD=lib, **clocks.env(1))
        p = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, env=env, text=True)

        def ask():
            p.stdin.write("\n")
            p.stdin.flush()
            wall, mono = map(float, p.stdout.readline().split())
            return wall - time.time(), mono - time.monotonic()

        try:
            off, mono = ask()
            assert abs(off) < 1.5, f"no jump yet: wall clock off by {off:.1f}s"
            for jump, want in (("+90s", 90), ("-45s", -45), ("+0s", 0)):
                clocks.jump(1, jump)
                deadline = time.monotonic() + 5
                while True:
                    off, mono = ask()
                    if abs(off - want) < 1.5 or time.monotonic() > deadline:
                        break
                    time.sleep(0.2)
                assert abs(off - want) < 1.5, f"after {jump}: wall clock off by {off:.1f}s"
                assert abs(mono) < 1.5, f"after {jump}: monotonic clock moved by {mono:.1f}s"
        finally:
            p.stdin.close()
            p.wait(10)
    print("test_clock: OK (the wall clock follows the jumps, the monotonic one does not)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
