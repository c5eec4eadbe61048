#!/usr/bin/python3
"""KIP-368 re-authentication (connections.max.reauth.ms) on a SASL_PLAINTEXT listener.

A brookd with connections.max.reauth.ms=2000 and SCRAM users alice and bob, then:
  1. raw: SaslAuthenticate v1+ gives session_lifetime_ms 2000; a request inside the session
     is served; the first request after it closes the connection;
  2. raw: a second SaslHandshake + SCRAM exchange as alice inside the session renews it: a
     request after the first session's end is served, and the renewal gives 2000 again;
  3. raw: re-authenticating as bob (another principal), or with another mechanism, is
     refused and closes the connection;
  4. without connections.max.reauth.ms (another brookd): the lifetime is 0, a second
     handshake is ILLEGAL_SASL_STATE, and a session never ends;
  5. librdkafka 2.15.1 (the suite's build, through confluent-kafka via LD_LIBRARY_PATH; it
     implements KIP-368) produces for 7 s over 2-second sessions: every record delivered,
     no errors, and brookd logs its re-authentications; librdkafka 2.0.2 (Debian's, no
     KIP-368) is closed at each session's end and still delivers everything (it reconnects).
  6. the brook CLI's own connections (cli/wire.c, through --command-config) renew their
     sessions too: `brook bench produce --engine raw` pipelines for 6 s over 2-second
     sessions on one connection and `brook bench consume --engine raw` reads it all back;
     no failure, and brookd logs the CLI's re-authentications.
"""

import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from brook_harness import Check, run_main, suite_librdkafka  # noqa: E402
from raw_kafka import Conn  # noqa: E402
from test_sasl import (ILLEGAL_SASL_STATE, MECH, NONE, SASL_AUTHENTICATION_FAILED,  # noqa: E402
                       SHA256, SHA512, SaslBroker, alter_scram, closed, handshake,
                       scram_exchange)

UNSUPPORTED_SASL_MECHANISM = 33
LIFE_MS = 2000
PASSWORDS = {"alice": "alice-pw", "bob": "bob-pw"}

# The client of step 5, run in a child so that LD_LIBRARY_PATH picks its librdkafka.
PRODUCER = r"""
import sys, time
from confluent_kafka import Producer, libversion
bootstrap, seconds = sys.argv[1], float(sys.argv[2])
errors, acked = [], [0]
def dr(err, msg):
    if err: errors.append(str(err))
    else: acked[0] += 1
p = Producer({"bootstrap.servers": bootstrap, "security.protocol": "SASL_PLAINTEXT",
              "sasl.mechanisms": "SCRAM-SHA-512", "sasl.username": "alice",
              "sasl.password": "alice-pw", "enable.idempotence": True,
              "error_cb": lambda e: errors.append("error_cb: " + str(e))})
n, end = 0, time.monotonic() + seconds
while time.monotonic() < end:
    p.produce("reauth", b"r%d" % n, on_delivery=dr)
    n += 1
    p.poll(0.02)
left = p.flush(30)
print(libversion()[0], n, acked[0], left, "|".join(errors[:3]), len(errors))
"""


def metadata(conn):
    """A Metadata v1 request for no topics: True when answered, False when the connection
    closed instead."""
    try:
        conn.request(3, 1, b"\x00\x00\x00\x00", "Metadata v1")
        return True
    except (ConnectionError, OSError, AssertionError, EOFError):
        return False


def log_count(br, text):
    with open(br.log_path, "rb") as f:
        return f.read().decode("utf-8", "replace").count(text)


def raw_checks(ck, br):
    with Conn(br.sasl_bootstrap) as c:  # 1
        err, msg, _ = scram_exchange(c, SHA512, "alice", PASSWORDS["alice"], lifetime=LIFE_MS)
        ck.eq(err, NONE, f"alice authenticates ({msg})")
        t0 = time.monotonic()
        ck(metadata(c), "a request inside the session is served")
        time.sleep(max(0.0, LIFE_MS / 1000 + 0.3 - (time.monotonic() - t0)))
        c.s.sendall(b"\x00\x00\x00\x0e\x00\x03\x00\x01\x00\x00\x00\x07\x00\x00\x00\x00\x00\x00")
        ck(closed(c), "the first request after the session's end closes the connection")
    ck(log_count(br, "expired (connections.max.reauth.ms)") >= 1, "brookd logs the expiry")

    with Conn(br.sasl_bootstrap) as c:  # 2
        err, _, _ = scram_exchange(c, SHA512, "alice", PASSWORDS["alice"], lifetime=LIFE_MS)
        ck.eq(err, NONE, "alice authenticates")
        time.sleep(LIFE_MS / 1000 * 0.6)
        err, msg, _ = scram_exchange(c, SHA512, "alice", PASSWORDS["alice"], lifetime=LIFE_MS)
        ck.eq(err, NONE, f"alice re-authenticates inside the session ({msg})")
        time.sleep(LIFE_MS / 1000 * 0.6)  # past the first session's end
        ck(metadata(c), "after the first session's end the renewed session is served")
    ck(log_count(br, "re-authenticated as User:alice") >= 1, "brookd logs the renewal")

    with Conn(br.sasl_bootstrap) as c:  # 3: another principal
        ck.eq(scram_exchange(c, SHA512, "alice", PASSWORDS["alice"], lifetime=LIFE_MS)[0],
              NONE, "alice authenticates")
        err, msg, _ = scram_exchange(c, SHA512, "bob", PASSWORDS["bob"], lifetime=LIFE_MS)
        ck.eq(err, SASL_AUTHENTICATION_FAILED, f"re-authenticating as bob is refused ({msg})")
        ck(closed(c), "and the connection closes")
    with Conn(br.sasl_bootstrap) as c:  # 3: another mechanism
        ck.eq(scram_exchange(c, SHA512, "alice", PASSWORDS["alice"], lifetime=LIFE_MS)[0],
              NONE, "alice authenticates")
        ck.eq(handshake(c, MECH[SHA256])[0], UNSUPPORTED_SASL_MECHANISM,
              "re-authenticating with SCRAM-SHA-256 is refused")
        ck(closed(c), "and the connection closes")


def client_checks(ck, br):
    lib = suite_librdkafka()
    runs = [("2.0", None)] + ([("2.15.1", lib)] if lib else [])
    if not lib:
        print("librdkafka 2.15.1's build is not available: its part is skipped", flush=True)
    for want, path in runs:
        env = dict(os.environ)
        if path:
            env["LD_LIBRARY_PATH"] = path
        before = log_count(br, "re-authenticated as User:alice")
        r = subprocess.run([sys.executable, "-c", PRODUCER, br.sasl_bootstrap, "7"], env=env,
                           capture_output=True, text=True, timeout=120)
        out = r.stdout.split()
        ck(r.returncode == 0 and len(out) >= 5, f"the producer ran: {r.stdout} {r.stderr[-500:]}")
        if len(out) < 5:
            continue
        version, sent, acked, left = out[0], int(out[1]), int(out[2]), int(out[3])
        ck(version.startswith(want), f"librdkafka {version} loaded, {want} wanted")
        ck(sent > 100 and acked == sent and left == 0,
           f"librdkafka {version}: {acked} of {sent} records delivered ({left} left)")
        renewals = log_count(br, "re-authenticated as User:alice") - before
        if want == "2.15.1":
            ck.eq(out[-1], "0", f"librdkafka {version}: no errors ({r.stdout.strip()})")
            ck(renewals >= 2, f"librdkafka {version} re-authenticated ({renewals} renewals)")
        else:
            ck.eq(renewals, 0, f"librdkafka {version} (no KIP-368) does not re-authenticate")
        print(f"librdkafka {version}: {sent} records over {LIFE_MS} ms sessions, "
              f"{renewals} re-authentications", flush=True)


def cli_checks(ck, br):
    import tempfile
    from brook_harness import find_cli
    with tempfile.NamedTemporaryFile("w", suffix=".properties", delete=False) as f:
        f.write("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\n"
                f"sasl.username=alice\nsasl.password={PASSWORDS['alice']}\n")
        props = f.name
    try:
        before = log_count(br, "re-authenticated as User:alice")
        base = [find_cli(), "--command-config", props, "bench"]
        r = subprocess.run(base + ["produce", "--bootstrap", br.sasl_bootstrap, "--topic",
                                   "reauth-cli", "--partitions", "1", "--engine", "raw",
                                   "--seconds", "6", "--size", "100", "--batch-records", "100",
                                   "--inflight", "2"], capture_output=True, text=True,
                           timeout=120)
        m = re.search(r" msgs=(\d+) failed=(\d+)", r.stdout)
        ck(r.returncode == 0 and m and int(m.group(1)) > 0 and m.group(2) == "0",
           f"brook bench produce --engine raw over 2 s sessions: {r.stdout.strip()[-200:]} "
           f"{r.stderr.strip()[-300:]}")
        renewals = log_count(br, "re-authenticated as User:alice") - before
        ck(renewals >= 2, f"the CLI's connection re-authenticated ({renewals} renewals)")
        r2 = subprocess.run(base + ["consume", "--bootstrap", br.sasl_bootstrap, "--topic",
                                    "reauth-cli", "--engine", "raw"], capture_output=True,
                            text=True, timeout=120)
        m2 = re.search(r" msgs=(\d+)", r2.stdout)
        ck(r2.returncode == 0 and m and m2 and m2.group(1) == m.group(1),
           f"brook bench consume --engine raw reads them all back ({r2.stderr.strip()[-200:]})")
        print(f"brook CLI: {m and m.group(1)} records over {LIFE_MS} ms sessions, {renewals} "
              "re-authentications", flush=True)
    finally:
        os.unlink(props)


def main():
    ck = Check("sasl_reauth")
    cfg = {"sasl.enabled.mechanisms": "SCRAM-SHA-256,SCRAM-SHA-512",
           "connection.failed.authentication.delay.ms": 0, "num.partitions": 1}
    with SaslBroker(config=dict(cfg, **{"connections.max.reauth.ms": LIFE_MS}),
                    name="reauth") as br:
        with Conn(br.bootstrap) as c:
            res = alter_scram(c, upsertions=[(u, m, 4096, pw) for u, pw in PASSWORDS.items()
                                             for m in (SHA256, SHA512)])
            ck.eq([e for _, e, _ in res], [NONE, NONE], "users created")
        raw_checks(ck, br)
        client_checks(ck, br)
        cli_checks(ck, br)
    with SaslBroker(config=cfg, name="noreauth") as br:  # 4
        with Conn(br.bootstrap) as c:
            alter_scram(c, upsertions=[("alice", SHA512, 4096, PASSWORDS["alice"])])
        with Conn(br.sasl_bootstrap) as c:
            ck.eq(scram_exchange(c, SHA512, "alice", PASSWORDS["alice"], lifetime=0)[0], NONE,
                  "without connections.max.reauth.ms the lifetime is 0")
            ck.eq(handshake(c, MECH[SHA512])[0], ILLEGAL_SASL_STATE,
                  "and a second handshake is ILLEGAL_SASL_STATE")
            ck(closed(c), "which closes the connection")
        with Conn(br.sasl_bootstrap) as c:
            scram_exchange(c, SHA512, "alice", PASSWORDS["alice"])
            time.sleep(LIFE_MS / 1000 + 0.3)
            ck(metadata(c), "and a session never ends")
    ck.done()
    return 0


if __name__ == "__main__":
    run_main(main)
