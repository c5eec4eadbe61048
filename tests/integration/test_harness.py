#!/usr/bin/python3
"""Harness + broker lifecycle: start on an ephemeral port, ready line, accepts TCP,
SIGKILL + restart on the same port and data dir, SIGTERM -> exit 0, temp dir cleanup,
and a broker that fails to start is reported (bounded) instead of hanging."""

import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from brook_harness import Broker, BrokerError, Check, run_main  # noqa: E402


def connects(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def main():
    ck = Check("harness")
    b = Broker(name="harness")
    with b:
        ck(b.port > 0, f"ephemeral port assigned ({b.port})")
        ck(connects(b.port), "broker accepts TCP connections")
        port = b.port
        for _ in range(3):
            b.crash_restart()
            ck.eq(b.port, port, "restart after SIGKILL keeps the port")
            ck(connects(b.port), "broker accepts connections after crash restart")
        ck.eq(b.restart(), 0, "exit code on SIGTERM")
        ck(connects(b.port), "broker accepts connections after clean restart")
        ck(os.path.isdir(b.data_dir), "data dir exists")
        ck.eq(b.stop(), 0, "exit code on SIGTERM")
        ck(not connects(port), "port closed after stop")
    ck(not os.path.exists(b.tmp), "temp dir removed on exit")

    # A second broker on a port that is in use must fail to start, within the bound.
    with Broker(name="harness2") as b2:
        b3 = Broker(name="harness3", ready_timeout=10)
        b3.port = b2.port
        try:
            b3.start(attempts=1)
            ck(False, "second broker on a busy port should not become ready")
        except BrokerError:
            ck(True, "second broker on a busy port fails to start")
        finally:
            b3.close()
    ck.done()


if __name__ == "__main__":
    run_main(main)
