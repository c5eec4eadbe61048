#!/usr/bin/python3
"""Every API and version Brook serves, cut short, against a running broker.

The whole-request seeds of the fuzz corpus (tests/fuzz/corpus/fuzz_request/<Api>_v<N>_request:
a request header and a valid body for each row of g_apis and each version, written by
tests/fuzz/gen_corpus.py independently of Brook's C code) are sent whole and then cut at
three points inside the body (a third, a half, one byte short), each in a well-formed frame
on a fresh connection. A cut request must close that connection (a malformed request has
no answer: docs/protocol.md) with a log line naming the API; the broker must keep serving
(ApiVersions on a new connection after every API), and the whole request must not close
the connection (it is answered, or for an acks=0 produce, not). Kafka does the same: a
request its parser cannot read, ApiVersions included, closes the connection."""

import glob
import os
import re
import socket
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Broker, Check, run_main  # noqa: E402

CORPUS = os.path.join(HERE, "..", "fuzz", "corpus", "fuzz_request")
SEED_RE = re.compile(r"^([A-Za-z]+)_v(\d+)_request$")


def header_len(req):
    """Bytes of the request header v1 (key, version, correlation id, client id); a flexible
    header's tag buffer belongs to what is cut, which is fine: it is part of the request."""
    (n,) = struct.unpack(">h", req[8:10])
    return 10 + max(n, 0)


def exchange(addr, frame, wait=5.0):
    """Sends one frame; returns ("closed", b"") when the broker closes the connection
    without an answer, ("answer", bytes) when it answers, ("open", b"") when neither
    happens within wait seconds."""
    with socket.create_connection(addr, timeout=wait) as s:
        s.sendall(struct.pack(">i", len(frame)) + frame)
        s.settimeout(wait)
        try:
            head = s.recv(4)
        except socket.timeout:
            return "open", b""
        except ConnectionResetError:
            return "closed", b""
        if not head:
            return "closed", b""
        (n,) = struct.unpack(">i", head.ljust(4, b"\0"))
        body = b""
        while len(body) < n:
            chunk = s.recv(n - len(body))
            if not chunk:
                break
            body += chunk
        return "answer", body


def alive(addr):
    kind, body = exchange(addr, struct.pack(">hhih", 18, 0, 77, 0))
    return kind == "answer" and body[4:6] == b"\0\0"


def main():
    seeds = sorted(glob.glob(os.path.join(CORPUS, "*_request")))
    seeds = [p for p in seeds if SEED_RE.match(os.path.basename(p))]
    ck = Check("truncated_requests")
    ck(len(seeds) > 100, f"{len(seeds)} whole-request seeds found in {CORPUS}")
    with Broker(name="trunc", config={"auto.create.topics.enable": "false"}) as b:
        addr = (b.host, b.port)
        apis = set()
        for path in seeds:
            name = os.path.basename(path)
            api, ver = SEED_RE.match(name).groups()
            with open(path, "rb") as f:
                req = f.read()
            body_at = header_len(req)
            if len(req) - body_at < 2:
                continue  # nothing to cut (ApiVersions v0-v2: an empty body)
            apis.add(api)
            t0 = time.monotonic()
            kind, _ = exchange(addr, req, wait=2.0)  # acks=0 produce: no answer ever
            ck(kind != "closed", f"{name}: the whole request closed the connection")
            if time.monotonic() - t0 > 0.5:
                print(f"{name}: {kind} after {time.monotonic() - t0:.1f}s", flush=True)
            for cut in sorted({body_at + (len(req) - body_at) // 3,
                               body_at + (len(req) - body_at) // 2, len(req) - 1}):
                kind, _ = exchange(addr, req[:cut])
                ck.eq(kind, "closed", f"{name} cut to {cut} of {len(req)} bytes")
            ck(alive(addr), f"the broker still answers after {name}")
        ck(len(apis) >= 40, f"{len(apis)} APIs cut")
        with open(b.log_path, "rb") as f:
            log = f.read().decode("utf-8", "replace")
        ck("malformed Metadata v1 request" in log, "the log names the API of a malformed request")
    ck.done()
    return 0


if __name__ == "__main__":
    run_main(main)
