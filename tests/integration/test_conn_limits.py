#!/usr/bin/python3
"""Connection caps (#15 limits): max.connections, max.connections.per.ip and
max.connections.per.ip.overrides, with raw sockets from several loopback source addresses
(127.0.0.1 .. 127.0.0.4 all reach a 127.0.0.1 listener on Linux).

 1. max.connections.per.ip=3: three connections from 127.0.0.1 are served (ApiVersions
    answered), the fourth is closed at once without an answer.
 2. The override 127.0.0.2:1 caps that address at one connection.
 3. max.connections=5 counts every address: with five open, one from 127.0.0.4 is closed.
 4. Closing a connection frees its place: a new one from 127.0.0.1 is served.
 5. /metrics: brook_connections is the open count, brook_connections_refused_total the
    three refusals.
 6. A malformed override list is refused at start, naming the key."""

import os
import socket
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Broker, Check, find_brookd, run_main, wait_until  # noqa: E402
from test_admin import metrics, sample  # noqa: E402


def connect(br, src):
    s = socket.socket()
    s.settimeout(5)
    s.bind((src, 0))
    s.connect((br.host, br.port))
    return s


def served(s):
    """Whether an ApiVersions v0 gets an answer (False: the connection was closed)."""
    try:
        s.sendall(struct.pack(">ihhih", 10, 18, 0, 7, 0))
        data = b""
        while len(data) < 4 or len(data) < 4 + struct.unpack(">i", data[:4])[0]:
            chunk = s.recv(65536)
            if not chunk:
                return False
            data += chunk
        return struct.unpack(">i", data[4:8])[0] == 7
    except (ConnectionResetError, BrokenPipeError, socket.timeout):
        return False


def main():
    ck = Check("conn_limits")
    cfg = {"max.connections": 5, "max.connections.per.ip": 3,
           "max.connections.per.ip.overrides": "127.0.0.2:1,10.9.9.9:100"}
    with Broker(config=cfg, name="conn-limits") as br:
        a = [connect(br, "127.0.0.1") for _ in range(3)]
        ck.eq([served(s) for s in a], [True] * 3, "three from 127.0.0.1 served")
        extra = connect(br, "127.0.0.1")
        ck.eq(served(extra), False, "a fourth from 127.0.0.1 is closed (per-IP cap 3)")
        extra.close()
        b = [connect(br, "127.0.0.2") for _ in range(2)]
        ck.eq([served(s) for s in b], [True, False], "127.0.0.2: its override of 1")
        b[1].close()
        c = connect(br, "127.0.0.3")
        ck.eq(served(c), True, "127.0.0.3: the fifth connection is served")
        d = connect(br, "127.0.0.4")
        ck.eq(served(d), False, "127.0.0.4: the sixth is over max.connections=5")
        d.close()
        a[0].close()
        # the broker sees the close on its next loop turn: retry briefly
        e = wait_until(lambda: (lambda s: s if served(s) else s.close())(
            connect(br, "127.0.0.1")), 10, interval=0.1, what="a freed place")
        ck.eq(served(e), True, "after one closed, a new one from 127.0.0.1 is served")
        ms, _, _ = metrics(br.admin_address())
        ck.eq(sample(ms, "brook_connections"), 5.0, "brook_connections: five open")
        ck.eq(sample(ms, "brook_connections_refused_total"), 3.0, "three refused")
        for s in a[1:] + [b[0], c, e]:
            s.close()
    p = subprocess.run([find_brookd(), "--max.connections.per.ip.overrides=127.0.0.1",
                        "--log.dirs=/nonexistent/brook-limits"], capture_output=True, text=True,
                       timeout=30)
    ck.eq((p.returncode, "max.connections.per.ip.overrides" in p.stderr), (2, True),
          "a malformed override list is refused at start")
    return ck.done()


if __name__ == "__main__":
    run_main(main)
