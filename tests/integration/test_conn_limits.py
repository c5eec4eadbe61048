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
 6. A malformed override list is refused at start, naming the key.
 7. connections.max.idle.ms=1500: a connection that sends nothing (a handshake that never
    comes), and one idle after an answer, are closed after about 1.5 s; one that keeps
    sending requests stays; so does one with a long-poll Fetch waiting longer than that."""

import os
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Broker, Check, find_brookd, run_main, wait_until  # noqa: E402
from test_admin import metrics, sample  # noqa: E402

from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402


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


def closed_within(s, seconds):
    """Whether the broker closes s within `seconds` (EOF seen)."""
    s.settimeout(seconds)
    try:
        return s.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def idle_checks(ck):
    with Broker(config={"connections.max.idle.ms": 1500}, name="conn-idle") as br:
        silent = connect(br, "127.0.0.1")
        answered = connect(br, "127.0.0.1")
        ck.eq(served(answered), True, "a request is answered")
        busy = connect(br, "127.0.0.1")
        t0 = time.monotonic()
        kept = True
        while time.monotonic() - t0 < 3.5:  # a request every 0.5 s for 3.5 s
            kept = kept and served(busy)
            time.sleep(0.5)
        ck.eq(kept, True, "a connection that keeps sending requests stays open")
        ck.eq(closed_within(silent, 1), True, "a connection that sent nothing was closed")
        ck.eq(closed_within(answered, 1), True, "an idle one after an answer was closed")
        silent.close()
        answered.close()
        # A long poll: Fetch v4 on an empty partition, max_wait 4 s (over the idle time).
        ck.eq(served(busy), True, "the busy connection is still served")
        topic = b"idle-poll"
        admin = AdminClient({"bootstrap.servers": br.bootstrap})
        for f in admin.create_topics([NewTopic(topic.decode(), 1, 1)]).values():
            f.result(30)
        s = busy
        body = (struct.pack(">iiiib", -1, 4000, 1, 1024 * 1024, 0) + struct.pack(">i", 1) +
                struct.pack(">h", len(topic)) + topic + struct.pack(">i", 1) +
                struct.pack(">iqi", 0, 0, 1024 * 1024))
        hdr = struct.pack(">hhih", 1, 4, 11, 0)
        s.settimeout(10)
        t0 = time.monotonic()
        s.sendall(struct.pack(">i", len(hdr) + len(body)) + hdr + body)
        data = b""
        try:
            while len(data) < 8:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pass
        waited = time.monotonic() - t0
        ck.eq((len(data) >= 8 and struct.unpack(">i", data[4:8])[0] == 11, waited >= 3.0),
              (True, True), f"a Fetch long poll of 4 s is answered after {waited:.1f} s, not "
              "cut as idle")
        busy.close()


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
    idle_checks(ck)
    return ck.done()


if __name__ == "__main__":
    run_main(main)
