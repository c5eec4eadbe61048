#!/usr/bin/python3
"""@platformatic/kafka 1.35.0 against brookd: installs the pinned package (js/install.sh,
from js/package-lock.json), starts a broker and runs js/test_platformatic.js against it
(metadata; acks=all produce with keys and headers read back through a consumer group; an
idempotent producer read back exactly once; group commit and resume; committed and aborted
transactions at both isolation levels; admin create/list/delete topics: see there).  Exit 77
(skipped) only when node is missing or the package cannot be installed.

PLT_DEBUG=1 turns on the package's debug logging (plt:kafka:*) in the Node script."""

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Broker, Check, kafkajs_node, run_main  # noqa: E402

JS = os.path.join(HERE, "js")
VERSION = "1.35.0"
NODE_TIMEOUT_S = 200  # the script's own deadline is 180 s; ctest's is 240 s


def platformatic_installed():
    """True when js/node_modules holds the pinned @platformatic/kafka."""
    try:
        with open(os.path.join(JS, "node_modules", "@platformatic", "kafka", "package.json")) as f:
            return json.load(f).get("version") == VERSION
    except (OSError, ValueError):
        return False


def main():
    node = kafkajs_node(JS)  # finds node and runs js/install.sh (npm ci from the lock file)
    if not node:
        return 77
    if not platformatic_installed():
        print(f"@platformatic/kafka {VERSION} not installed in {JS}/node_modules: skipped")
        return 77

    ck = Check("platformatic")
    with Broker(name="plt") as b:
        t0 = time.monotonic()
        env = dict(os.environ, PLT_DEADLINE_MS=str(180_000))
        p = subprocess.run([node, os.path.join(JS, "test_platformatic.js"), b.bootstrap],
                           cwd=JS, env=env, timeout=NODE_TIMEOUT_S)
        print(f"test_platformatic.js: exit {p.returncode} after {time.monotonic() - t0:.1f} s", flush=True)
        ck.eq(p.returncode, 0, "test_platformatic.js exit code")
        ck.eq(b.stop(), 0, "brookd exit code on SIGTERM")
    ck.done()
    return 0


if __name__ == "__main__":
    run_main(main)
