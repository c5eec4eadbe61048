#!/usr/bin/python3
"""TLS on Brook's Kafka listeners (SSL, SASL_SSL, mutual TLS) and between brokers.

Certificates are made here at run time with the openssl CLI: a CA, a broker certificate
(SAN IP:127.0.0.1 and DNS:localhost), client certificates for alice (O=Brook, OU=eng) and
bob (OU=ops), an expired one (openssl ca with dates in 2020) and one from another CA.

 0. Bad TLS settings stop brookd at start with a message naming the key and the file: an
    SSL listener without ssl.keystore.location, a missing keystore, a key that does not
    match the certificate, an encrypted key with a wrong ssl.key.password, a missing or
    certificate-less truststore, an unknown protocol, a per-listener key
    (listener.name.<name>.ssl.*), a SASL_SSL listener in a ZooKeeper cluster, and both
    inter-broker keys at once.  An encrypted key with the right password starts.
 1. One node with four listeners: PLAINTEXT (administration), SSL (no client
    certificates), SASL_SSL (PLAIN and SCRAM-SHA-512), MTLS (an SSL listener with
    listener.name.mtls.ssl.client.auth=required and mapping rules), ACLs on.
    SSL: confluent-kafka produces and consumes back through a consumer group, a
    transactional producer commits (read_committed sees it), records of 600 kB make fetch
    answers of several MB; kcat produces and consumes; a client verifying the broker
    against another CA fails.
    SASL_SSL: SCRAM-SHA-512 and PLAIN as alice (her SASL identity: ACLs for User:alice
    apply), a wrong password fails.
    MTLS: no certificate, another CA's certificate and an expired one are refused; alice's
    certificate maps (RULE:^CN=([^,]+),OU=eng.*$/$1/L) to User:alice: she produces to
    tls-a, gets TOPIC_AUTHORIZATION_FAILED on tls-b with nothing written; bob's DN matches
    no RULE and stays whole (DEFAULT): User:CN=bob,OU=ops,O=Brook may write tls-b.
    Garbage and a plaintext Kafka request on the SSL port close that connection (logged
    once), and the broker still serves TLS clients; /metrics counts handshakes.
    The brook CLI through client properties (`--command-config`, $BROOK_CLIENT_CONFIG):
    `user add/list` over SASL_SSL with SCRAM, `quota set/list` with PLAIN, `topic list`
    (librdkafka); refused as a user without ACLs, as User:alice over mutual TLS, with a wrong
    password, trusting another CA, with an unknown security.protocol, a missing file.
    kafkajs (if installed) produces and consumes over SSL.
 2. Three nodes over ZooKeeper whose only listener is SSL with client certificates
    required and inter.broker.listener.name=SSL: an RF 3 topic, acks=all, consumed back;
    the brokers reached each other over TLS (no TLS failures logged)."""

import json
import os
import re
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Broker, Check, find_brookd, find_cli, run_main, wait_until  # noqa: E402
from raw_kafka import Conn  # noqa: E402

from confluent_kafka import (Consumer, KafkaError, KafkaException, Producer,  # noqa: E402
                             TopicPartition)
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

T0 = time.monotonic()
TOKEN = "tls-admin-token"
PW = {"alice": "alice-pw", "admin": "admin-pw"}
ALICE_RULES = "RULE:^CN=([^,]+),OU=eng.*$/$1/L,DEFAULT"
BOB_DN = "CN=bob,OU=ops,O=Brook"


def log(msg):
    print(f"[{time.monotonic() - T0:7.2f}s] {msg}", flush=True)


class Checks(Check):
    def eq(self, msg, got, want):  # the message first: the checks read as a table
        super().eq(got, want, msg)


# ------------------------------------------------------------------ certificates
class Pki:
    """A CA, another CA, the broker's PEM keystore and the clients' certificates."""

    CA_CNF = """[ca]
default_ca = d
[d]
database = {dir}/index.txt
new_certs_dir = {dir}
serial = {dir}/serial
default_md = sha256
policy = p
[p]
commonName = supplied
"""

    def __init__(self, d):
        self.d = d
        self.ca = self.path("ca.pem")
        self._ca("ca", "/CN=Brook Test CA")
        self._ca("other-ca", "/CN=Someone Else's CA")
        self._leaf("broker", "/O=Brook/CN=localhost", "ca",
                   "subjectAltName=IP:127.0.0.1,DNS:localhost")
        self.keystore = self._cat("broker.pem", "broker.key", "broker.crt")
        self._leaf("alice", "/O=Brook/OU=eng/CN=alice", "ca")
        self._leaf("bob", "/O=Brook/OU=ops/CN=bob", "ca")
        self._leaf("stranger", "/O=Brook/OU=eng/CN=mallory", "other-ca")
        self._expired()
        self.mismatched = self._cat("mismatch.pem", "alice.key", "broker.crt")
        self._openssl("pkcs8", "-topk8", "-in", self.path("broker.key"), "-out",
                      self.path("broker-enc.key"), "-passout", "pass:s3cret", "-v2", "aes-256-cbc")
        self.encrypted = self._cat("broker-enc.pem", "broker-enc.key", "broker.crt")
        with open(self.path("garbage.pem"), "w") as f:
            f.write("not a certificate\n")

    def path(self, name):
        return os.path.join(self.d, name)

    def _openssl(self, *args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    def _cat(self, out, *parts):
        with open(self.path(out), "wb") as f:
            for p in parts:
                with open(self.path(p), "rb") as src:
                    f.write(src.read())
        return self.path(out)

    def _ca(self, name, subj):
        self._openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                      self.path(f"{name}.key"), "-out", self.path(f"{name}.pem"), "-days", "2",
                      "-subj", subj)

    def _leaf(self, name, subj, ca, ext=None):
        key, csr, crt = (self.path(f"{name}.{x}") for x in ("key", "csr", "crt"))
        self._openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                      "-subj", subj)
        args = ["x509", "-req", "-in", csr, "-CA", self.path(f"{ca}.pem"), "-CAkey",
                self.path(f"{ca}.key"), "-CAcreateserial", "-out", crt, "-days", "2"]
        if ext:
            with open(self.path(f"{name}.ext"), "w") as f:
                f.write(ext + "\n")
            args += ["-extfile", self.path(f"{name}.ext")]
        self._openssl(*args)

    def _expired(self):
        with open(self.path("ca.cnf"), "w") as f:
            f.write(self.CA_CNF.format(dir=self.d))
        open(self.path("index.txt"), "w").close()
        with open(self.path("serial"), "w") as f:
            f.write("1000\n")
        self._openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", self.path("expired.key"),
                      "-out", self.path("expired.csr"), "-subj", "/CN=alice")
        self._openssl("ca", "-batch", "-config", self.path("ca.cnf"), "-cert", self.ca,
                      "-keyfile", self.path("ca.key"), "-in", self.path("expired.csr"), "-out",
                      self.path("expired.crt"), "-startdate", "20200101000000Z", "-enddate",
                      "20200102000000Z", "-notext")

    def client(self, who=None, ca=None):
        """librdkafka properties of an SSL client (who: its certificate)."""
        conf = {"security.protocol": "SSL", "ssl.ca.location": ca or self.ca}
        if who:
            conf.update({"ssl.certificate.location": self.path(f"{who}.crt"),
                         "ssl.key.location": self.path(f"{who}.key")})
        return conf


# ------------------------------------------------------------------ the broker
class TlsBroker(Broker):
    """PLAINTEXT, SSL, SASL_SSL and MTLS listeners; ports kept across restarts."""
    names = ("SSL", "SASL_SSL", "MTLS")

    def __init__(self, **kw):
        super().__init__(**kw)
        self.tls_ports = {n: 0 for n in self.names}

    def _argv(self):
        argv = super()._argv()
        argv[1] = (f"--listeners=PLAINTEXT://{self.host}:{self.port}," +
                   ",".join(f"{n}://{self.host}:{self.tls_ports[n]}" for n in self.names))
        return argv

    def _start_once(self):
        super()._start_once()
        for n in self.names:
            pat = re.compile(rf"listener {n} \(\w+\) on [0-9.]+:(\d+)")

            def find():
                with open(self.log_path, "rb") as f:
                    f.seek(self._log_pos)
                    m = pat.search(f.read().decode("utf-8", "replace"))
                return int(m.group(1)) if m else None
            self.tls_ports[n] = wait_until(find, 10, what=f"listener {n}'s log line")

    def addr(self, name):
        return f"{self.host}:{self.tls_ports[name]}"


class TlsConn(Conn):
    """raw_kafka.Conn over TLS (Python's ssl module)."""

    def __init__(self, address, ctx, answer_within=5.0):
        host, port = address.rsplit(":", 1)
        self.address = address
        self.client_id = b"brook-raw"
        self.answer_within = answer_within
        raw = socket.create_connection((host, int(port)), timeout=10)
        self.s = ctx.wrap_socket(raw, server_hostname="localhost")
        self.corr = 0


def ssl_ctx(pki, who=None, ca=None):
    ctx = ssl.create_default_context(cafile=ca or pki.ca)
    if who:
        ctx.load_cert_chain(pki.path(f"{who}.crt"), pki.path(f"{who}.key"))
    return ctx


def tls_api_versions(pki, address, who=None):
    """ApiVersions v0 over TLS with who's certificate: "ok", or why it failed."""
    try:
        with TlsConn(address, ssl_ctx(pki, who)) as c:
            body, _ = c.request(18, 0, b"", "ApiVersions")
            return "ok" if struct.unpack(">h", body[:2])[0] == 0 else "error code"
    except ssl.SSLError as e:
        return f"tls: {e.reason or e}"
    except (OSError, ConnectionError, struct.error, EOFError) as e:
        return f"closed: {e!r}"


def closed_soon(sock, within=5.0):
    sock.settimeout(within)
    try:
        while sock.recv(4096):
            pass
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


# ------------------------------------------------------------------ clients
def produce(conf, topic, values, **extra):
    errors, delivered = [], []
    p = Producer(dict(conf, **dict({"error_cb": errors.append, "message.timeout.ms": 15000},
                                   **extra)))
    for v in values:
        p.produce(topic, v, on_delivery=lambda e, m: delivered.append(e))
    p.flush(30)
    return [e for e in delivered if e is not None] + errors, len(delivered)


def consume(conf, topic, n, group, timeout=30, **extra):
    c = Consumer(dict(conf, **{"group.id": group, "auto.offset.reset": "earliest",
                               "enable.partition.eof": False}, **extra))
    c.subscribe([topic])
    got, deadline = [], time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got.append(m.value())
    c.close()
    return got


def count_records(conf, topic):
    """Records in partition 0 of topic (high watermark), via a client that may read it."""
    c = Consumer(dict(conf, **{"group.id": "counter"}))
    lo, hi = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    c.close()
    return hi - lo


def brook(br, *args, stdin=None):
    p = subprocess.run([find_cli(), *args, "--bootstrap", br.bootstrap], input=stdin,
                       text=True, capture_output=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def create_topics(conf, names, rf=1, parts=1):
    a = AdminClient(conf)
    for f in a.create_topics([NewTopic(n, parts, rf) for n in names]).values():
        f.result(30)


def metric(text, name, labels):
    m = re.search(rf"^{name}\{{{labels}\}} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


# ------------------------------------------------------------------ 0: refusals
def part0(chk, pki):
    brookd = find_brookd()
    ks = f"--ssl.keystore.location={pki.keystore}"
    missing = pki.path("nope.pem")
    cases = [
        (["--listeners=SSL://127.0.0.1:0"], ["ssl.keystore.location", "unset"]),
        (["--listeners=SSL://127.0.0.1:0", f"--ssl.keystore.location={missing}"],
         ["ssl.keystore.location", missing, "No such file"]),
        (["--listeners=SSL://127.0.0.1:0", f"--ssl.keystore.location={pki.mismatched}"],
         ["ssl.keystore.location", pki.mismatched, "does not match"]),
        (["--listeners=SSL://127.0.0.1:0", f"--ssl.keystore.location={pki.encrypted}",
          "--ssl.key.password=wrong"], ["ssl.key.password", pki.encrypted]),
        (["--listeners=SSL://127.0.0.1:0", ks, f"--ssl.truststore.location={missing}"],
         ["ssl.truststore.location", missing]),
        (["--listeners=SSL://127.0.0.1:0", ks,
          f"--ssl.truststore.location={pki.path('garbage.pem')}"],
         ["ssl.truststore.location", "garbage.pem", "no CA certificate"]),
        (["--listeners=SSL://127.0.0.1:0", ks, "--ssl.enabled.protocols=TLSv1.1"],
         ["ssl.enabled.protocols", "TLSv1.1"]),
        (["--listeners=SSL://127.0.0.1:0", ks,
          f"--listener.name.ssl.ssl.truststore.location={missing}"],
         ["listener.name.ssl.ssl.truststore.location", missing]),
        (["--listeners=SASL_SSL://127.0.0.1:0", ks, "--zookeeper.connect=127.0.0.1:1"],
         ["inter.broker.sasl.username"]),
        (["--listeners=SSL://127.0.0.1:0", ks, "--inter.broker.listener.name=SSL",
          "--security.inter.broker.protocol=SSL"], ["not both"]),
    ]
    for args, needles in cases:
        p = subprocess.run([brookd, *args, "--log.dirs=/nonexistent/brook-tls",
                            "--admin.listeners="], capture_output=True, text=True, timeout=30)
        chk.eq(f"refused at start: {' '.join(args)[-90:]} ({p.stderr.strip()[:160]})",
               (p.returncode, [n for n in needles if n not in p.stderr]), (2, []))
    # the encrypted key with its password starts
    tmp = tempfile.mkdtemp(prefix="tls-enc-")
    try:
        p = subprocess.Popen([brookd, "--listeners=SSL://127.0.0.1:0", "--admin.listeners=",
                              f"--ssl.keystore.location={pki.encrypted}",
                              "--ssl.key.password=s3cret", f"--log.dirs={tmp}"],
                             stderr=subprocess.PIPE, text=True)
        line = ""
        deadline = time.monotonic() + 20
        while "brookd ready" not in line and time.monotonic() < deadline and p.poll() is None:
            line = p.stderr.readline()
        chk.eq("an encrypted key with ssl.key.password starts", "brookd ready" in line, True)
        p.terminate()
        p.wait(15)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------ 1: one node
def part1(chk, pki):
    cfg = {
        "listener.security.protocol.map":
            "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,MTLS:SSL",
        "ssl.keystore.location": pki.keystore,
        "ssl.truststore.location": pki.ca,
        "listener.name.mtls.ssl.client.auth": "required",
        "listener.name.mtls.ssl.principal.mapping.rules": ALICE_RULES,
        "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-512",
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": "User:ANONYMOUS;User:admin",
        "admin.token": TOKEN,
        "num.partitions": 1,
        "group.initial.rebalance.delay.ms": 0,
        "connection.failed.authentication.delay.ms": 50,
    }
    with TlsBroker(config=cfg, name="tls") as br:
        log(f"PLAINTEXT {br.bootstrap}, " + ", ".join(f"{n} {br.addr(n)}" for n in br.names))
        rc, out = brook(br, "user", "add", "alice", "--password-stdin", stdin=PW["alice"] + "\n")
        chk.eq(f"brook user add alice ({out.strip()})", rc, 0)
        for a in (["--principal", "User:alice", "--operation", "WRITE", "--topic", "tls-a"],
                  ["--principal", f"User:{BOB_DN}", "--operation", "WRITE", "--topic", "tls-b"]):
            rc, out = brook(br, "acl", "add", *a)
            chk.eq(f"brook acl add {' '.join(a)} ({out.strip()})", rc, 0)
        plain = {"bootstrap.servers": br.bootstrap}
        create_topics(plain, ["tls-a", "tls-b", "tls-ssl", "tls-txn", "tls-big", "tls-kcat",
                              "tls-sasl", "tls-js"])

        # SSL: produce, consume through a group, transactions, large fetches
        ssl_conf = dict(pki.client(), **{"bootstrap.servers": br.addr("SSL")})
        vals = [f"ssl-{i}".encode() for i in range(50)]
        errs, n = produce(ssl_conf, "tls-ssl", vals, **{"enable.idempotence": True})
        chk.eq("SSL: 50 records produced (idempotent)", (errs, n), ([], 50))
        chk.eq("SSL: consumed back through a group",
               sorted(consume(ssl_conf, "tls-ssl", 50, "g-ssl")), sorted(vals))
        p = Producer(dict(ssl_conf, **{"transactional.id": "tls-tx"}))
        p.init_transactions(30)
        p.begin_transaction()
        for i in range(10):
            p.produce("tls-txn", f"tx-{i}".encode())
        p.commit_transaction(30)
        chk.eq("SSL: a committed transaction is read by read_committed",
               len(consume(ssl_conf, "tls-txn", 10, "g-txn",
                           **{"isolation.level": "read_committed"})), 10)
        big = [bytes([65 + i]) * 600_000 for i in range(8)]
        errs, n = produce(ssl_conf, "tls-big", big, **{"linger.ms": 50})
        chk.eq("SSL: 8 records of 600 kB produced", (errs, n), ([], 8))
        got = consume(ssl_conf, "tls-big", 8, "g-big", **{"fetch.max.bytes": 50_000_000,
                                                         "max.partition.fetch.bytes": 10_000_000})
        chk.eq("SSL: large fetch answers decrypt whole", got == big, True)
        log("SSL: confluent-kafka produce/consume/transactions/large fetches ok")

        # kcat
        if shutil.which("kcat"):
            kc = ["kcat", "-b", br.addr("SSL"), "-X", "security.protocol=SSL", "-X",
                  f"ssl.ca.location={pki.ca}"]
            p = subprocess.run(kc + ["-P", "-t", "tls-kcat"], input="k1\nk2\nk3\n", text=True,
                               capture_output=True, timeout=30)
            chk.eq(f"kcat -P over SSL ({p.stderr.strip()[:200]})", p.returncode, 0)
            p = subprocess.run(kc + ["-C", "-t", "tls-kcat", "-o", "beginning", "-e", "-q"],
                               text=True, capture_output=True, timeout=30)
            chk.eq("kcat -C over SSL", p.stdout.split(), ["k1", "k2", "k3"])
            bad = ["kcat", "-b", br.addr("SSL"), "-X", "security.protocol=SSL", "-X",
                   f"ssl.ca.location={pki.path('other-ca.pem')}", "-L", "-m", "3"]
            p = subprocess.run(bad, text=True, capture_output=True, timeout=30)
            chk.eq("kcat trusting another CA fails", (p.returncode != 0,
                                                      "certificate verify failed" in p.stderr),
                   (True, True))
        else:
            log("kcat not installed: its checks skipped")

        # a client verifying the broker against the wrong CA
        chk.eq("Python ssl trusting the CA: ApiVersions over SSL",
               tls_api_versions(pki, br.addr("SSL"), None), "ok")
        try:
            TlsConn(br.addr("SSL"), ssl_ctx(pki, ca=pki.path("other-ca.pem"))).close()
            chk("handshake against the wrong CA must fail", False)
        except ssl.SSLCertVerificationError:
            chk(True, "")
        wrong_ca = dict(pki.client(ca=pki.path("other-ca.pem")),
                        **{"bootstrap.servers": br.addr("SSL")})
        try:
            AdminClient(wrong_ca).list_topics(timeout=4)
            chk("confluent-kafka trusting another CA must fail", False)
        except KafkaException as e:
            chk(e.args[0].code() == KafkaError._TRANSPORT, f"wrong CA: {e}")

        # SASL_SSL: SCRAM-SHA-512 and PLAIN as alice (User:alice may write tls-a)
        for mech in ("SCRAM-SHA-512", "PLAIN"):
            conf = dict(pki.client(), **{"bootstrap.servers": br.addr("SASL_SSL"),
                                         "security.protocol": "SASL_SSL",
                                         "sasl.mechanisms": mech, "sasl.username": "alice",
                                         "sasl.password": PW["alice"]})
            errs, n = produce(conf, "tls-a", [f"sasl-{mech}".encode()])
            chk.eq(f"SASL_SSL {mech}: alice writes tls-a", (errs, n), ([], 1))
            errs, n = produce(conf, "tls-b", [b"must not land"])
            chk.eq(f"SASL_SSL {mech}: alice may not write tls-b",
                   KafkaError.TOPIC_AUTHORIZATION_FAILED in [e.code() for e in errs], True)
        bad = dict(pki.client(), **{"bootstrap.servers": br.addr("SASL_SSL"),
                                    "security.protocol": "SASL_SSL",
                                    "sasl.mechanisms": "SCRAM-SHA-512", "sasl.username": "alice",
                                    "sasl.password": "wrong"})
        errs, n = produce(bad, "tls-a", [b"must not land"], **{"message.timeout.ms": 4000})
        chk("SASL_SSL: a wrong password fails",
            any(e.code() == KafkaError._AUTHENTICATION for e in errs))
        log("SASL_SSL: SCRAM-SHA-512 and PLAIN ok")

        # mutual TLS
        mtls = br.addr("MTLS")
        chk.eq("MTLS: alice's certificate is accepted", tls_api_versions(pki, mtls, "alice"), "ok")
        for who in (None, "stranger", "expired"):
            r = tls_api_versions(pki, mtls, who)
            chk(r != "ok", f"MTLS: {who or 'no certificate'} must be refused, got {r}")
        for who in (None, "stranger", "expired"):
            conf = dict(pki.client(who), **{"bootstrap.servers": mtls})
            try:
                AdminClient(conf).list_topics(timeout=4)
                chk(False, f"MTLS: confluent-kafka with {who or 'no certificate'} must fail")
            except KafkaException:
                chk(True, "")
        alice = dict(pki.client("alice"), **{"bootstrap.servers": mtls})
        errs, n = produce(alice, "tls-a", [f"mtls-{i}".encode() for i in range(5)])
        chk.eq("MTLS: User:alice (mapped) writes tls-a", (errs, n), ([], 5))
        errs, n = produce(alice, "tls-b", [b"must not land"])
        chk.eq("MTLS: User:alice gets TOPIC_AUTHORIZATION_FAILED on tls-b",
               KafkaError.TOPIC_AUTHORIZATION_FAILED in [e.code() for e in errs], True)
        chk.eq("MTLS: nothing of alice's written to tls-b", count_records(plain, "tls-b"), 0)
        bob = dict(pki.client("bob"), **{"bootstrap.servers": mtls})
        errs, n = produce(bob, "tls-b", [b"from bob"])
        chk.eq(f"MTLS: User:{BOB_DN} (DEFAULT rule) writes tls-b", (errs, n), ([], 1))
        chk.eq("tls-a holds alice's records (SASL and mTLS)", count_records(plain, "tls-a"), 7)
        with open(br.log_path) as f:
            text = f.read()
        chk("the broker logged alice's denial as User:alice",
            "[authz] User:alice from" in text and "denied WRITE on TOPIC tls-b" in text)
        log("MTLS: refusals, principal mapping and ACLs ok")

        # garbage and plaintext Kafka on the SSL port
        before = text.count("TLS handshake failed")
        for payload in (os.urandom(300), struct.pack(">ihhih", 10, 18, 0, 1, -1)):
            s = socket.create_connection(("127.0.0.1", br.tls_ports["SSL"]), timeout=5)
            s.sendall(payload)
            chk.eq("garbage on the SSL port: connection closed", closed_soon(s), True)
            s.close()
        chk.eq("SSL still serves after garbage",
               tls_api_versions(pki, br.addr("SSL")), "ok")
        time.sleep(0.2)
        with open(br.log_path) as f:
            text = f.read()
        chk.eq("each garbage connection is logged once",
               text.count("TLS handshake failed") - before, 2)
        chk("brookd is still running", br.running())

        # /metrics
        admin = br.admin_address()
        req = urllib.request.Request(f"http://{admin}/metrics",
                                     headers={"Authorization": f"Bearer {TOKEN}"})
        m = urllib.request.urlopen(req, timeout=10).read().decode()
        ok = metric(m, "brook_tls_handshakes_total", 'result="ok"')
        failed = metric(m, "brook_tls_handshakes_total", 'result="failed"')
        chk(ok and ok > 10 and failed and failed >= 8, f"handshake counters ok={ok} failed={failed}")

        part1_cli(chk, pki, br)
        part1_kafkajs(chk, pki, br)


def part1_cli(chk, pki, br):
    """The brook CLI on the secured listeners through client properties: `brook
    --command-config FILE` or $BROOK_CLIENT_CONFIG (its own raw connections and librdkafka's)."""
    def props(name, **kv):
        path = pki.path(f"{name}.properties")
        with open(path, "w") as f:
            f.write("# client properties for brook\n")
            f.writelines(f"{k}={v}\n" for k, v in kv.items())
        return path

    def cli(addr, *args, config=None, env_config=None, stdin=None):
        env = dict(os.environ)
        env.pop("BROOK_CLIENT_CONFIG", None)
        if env_config:
            env["BROOK_CLIENT_CONFIG"] = env_config
        pre = ["--command-config", config] if config else []
        p = subprocess.run([find_cli(), *pre, *args, "--bootstrap", addr], input=stdin, env=env,
                           text=True, capture_output=True, timeout=60)
        return p.returncode, p.stdout, p.stderr

    sasl = br.addr("SASL_SSL")
    rc, _, err = cli(br.bootstrap, "user", "add", "admin", "--password-stdin",
                     stdin=PW["admin"] + "\n")
    chk.eq(f"brook user add admin ({err.strip()})", rc, 0)
    scram = props("admin-scram", **{"security.protocol": "SASL_SSL", "ssl.ca.location": pki.ca,
                                    "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "admin",
                                    "sasl.password": PW["admin"]})
    rc, _, err = cli(sasl, "user", "add", "carol", "--password-stdin", "--mechanism",
                     "SCRAM-SHA-512", config=scram, stdin="carol-pw\n")
    chk.eq(f"CLI over SASL_SSL (SCRAM): brook user add carol ({err.strip()})", rc, 0)
    rc, out, err = cli(sasl, "user", "list", "--json", config=scram)
    chk(rc == 0 and "carol" in [u["user"] for u in json.loads(out or "[]")],
        f"CLI over SASL_SSL (SCRAM): brook user list shows carol ({rc} {err.strip()})")
    plain = props("admin-plain", **{"security.protocol": "SASL_SSL", "ssl.ca.location": pki.ca,
                                    "sasl.mechanisms": "PLAIN", "sasl.username": "admin",
                                    "sasl.password": PW["admin"]})
    rc, _, err = cli(sasl, "quota", "set", "--client-id", "cli-tls", "--producer-byte-rate",
                     "5000", env_config=plain)
    chk.eq(f"CLI over SASL_SSL (PLAIN, $BROOK_CLIENT_CONFIG): brook quota set ({err.strip()})",
           rc, 0)
    rc, out, err = cli(sasl, "quota", "list", env_config=plain)
    chk(rc == 0 and "cli-tls" in out, f"... and brook quota list shows it ({err.strip()})")
    rc, out, err = cli(sasl, "topic", "list", config=scram)
    chk(rc == 0 and "tls-a" in out, f"CLI over SASL_SSL: brook topic list (librdkafka) {err}")
    carol = props("carol-scram", **{"security.protocol": "SASL_SSL", "ssl.ca.location": pki.ca,
                                    "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "carol",
                                    "sasl.password": "carol-pw"})
    rc, out, err = cli(sasl, "user", "list", config=carol)
    chk(rc == 1 and "authoriz" in (out + err).lower(),
        f"CLI as carol (no ACL): brook user list refused ({rc} {err.strip()})")
    mtls = props("alice-mtls", **dict(pki.client("alice")))
    rc, out, err = cli(br.addr("MTLS"), "user", "list", config=mtls)
    chk(rc == 1 and "authoriz" in (out + err).lower(),
        f"CLI over mutual TLS as User:alice: brook user list refused ({rc} {err.strip()})")
    wrong = props("admin-wrong", **{"security.protocol": "SASL_SSL", "ssl.ca.location": pki.ca,
                                    "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "admin",
                                    "sasl.password": "wrong"})
    rc, out, err = cli(sasl, "user", "list", config=wrong)
    chk(rc == 1 and "SASL authentication failed" in err,
        f"CLI with a wrong password: refused and said so ({err.strip()})")
    other = props("other-ca", **pki.client(ca=pki.path("other-ca.pem")))
    rc, out, err = cli(br.addr("SSL"), "user", "list", config=other)
    chk(rc == 1 and "certificate" in err,
        f"CLI trusting another CA: the handshake fails and says why ({err.strip()})")
    bad = props("bad-proto", **{"security.protocol": "SASL_SSH"})
    rc, out, err = cli(sasl, "user", "list", config=bad)
    chk(rc == 1 and "SASL_SSH" in err, f"CLI with an unknown security.protocol ({err.strip()})")
    rc, out, err = cli(sasl, "user", "list", config=pki.path("nope.properties"))
    chk(rc == 2 and "nope.properties" in err, f"CLI with a missing --command-config ({err})")
    log("CLI over SASL_SSL (SCRAM, PLAIN), mutual TLS and their refusals ok")


def part1_kafkajs(chk, pki, br):
    js = os.path.join(HERE, "js")
    node = shutil.which("node")
    if not node or not os.path.isdir(os.path.join(js, "node_modules", "kafkajs")):
        log("kafkajs not installed (tests/integration/js/install.sh): its check skipped")
        return
    script = """
const { Kafka, logLevel } = require('kafkajs');
const fs = require('fs');
const [broker, ca, topic] = process.argv.slice(2);
(async () => {
  const kafka = new Kafka({ brokers: [broker], clientId: 'tls-js', logLevel: logLevel.NOTHING,
                            ssl: { ca: [fs.readFileSync(ca, 'utf-8')], servername: 'localhost' } });
  const p = kafka.producer();
  await p.connect();
  await p.send({ topic, messages: [1, 2, 3].map(i => ({ value: 'js-' + i })) });
  await p.disconnect();
  const c = kafka.consumer({ groupId: 'g-js' });
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  const got = [];
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), 20000);
    c.run({ eachMessage: async ({ message }) => {
      got.push(message.value.toString());
      if (got.length === 3) { clearTimeout(t); resolve(); }
    } });
  });
  await c.disconnect();
  console.log(JSON.stringify(got));
})().catch(e => { console.error(e); process.exit(1); });
"""
    path = pki.path("tls_kafkajs.js")
    with open(path, "w") as f:
        f.write(script)
    p = subprocess.run([node, path, br.addr("SSL"), pki.ca, "tls-js"], text=True,
                       capture_output=True, timeout=60,
                       env=dict(os.environ, NODE_PATH=os.path.join(js, "node_modules")))
    chk.eq(f"kafkajs over SSL ({p.stderr.strip()[-200:]})",
           (p.returncode, sorted(json.loads(p.stdout or "[]"))), (0, ["js-1", "js-2", "js-3"]))
    log("kafkajs over SSL ok")


# ------------------------------------------------------------------ 2: cluster
def part2(chk, pki):
    import cluster_harness
    from cluster_harness import Cluster, Node
    try:
        cluster_harness.require_cluster_support(find_brookd())
    except Exception as e:  # no ZooKeeper here: say so, the rest has run
        log(f"cluster part skipped: {e}")
        return False

    class TlsNode(Node):
        def _argv(self):
            argv = super()._argv()
            argv[1] = f"--listeners=SSL://{self.host}:{self.port}"
            return argv

    client = dict(pki.client("alice"))
    cfg = {"ssl.keystore.location": pki.keystore, "ssl.truststore.location": pki.ca,
           "ssl.client.auth": "required", "inter.broker.listener.name": "SSL",
           "default.replication.factor": 3, "min.insync.replicas": 2,
           "transaction.state.log.num.partitions": 4, "offsets.topic.num.partitions": 4,
           "group.initial.rebalance.delay.ms": 0}

    def ready(c, timeout=None, all_led=None):
        def check():
            try:
                md = AdminClient(dict(client, **{"bootstrap.servers": c.bootstrap_all})) \
                    .list_topics(timeout=3)
            except KafkaException:
                return None
            parts = [p for t in md.topics.values() for p in t.partitions.values()]
            return md if len(md.brokers) == 3 and parts and all(p.leader > 0 for p in parts) \
                else None
        return wait_until(check, 60, interval=0.5, what="the TLS cluster to be ready")

    c = Cluster(3, config=cfg, name="tls-cluster")
    for n in c.nodes:  # SSL listeners, and readiness seen over TLS
        n.__class__ = TlsNode
    c.wait_ready = lambda timeout=None, all_led=None: ready(c)
    with c:  # starts ZooKeeper and the nodes
        log(f"cluster ready: {c.bootstrap_all}")
        conf = dict(client, **{"bootstrap.servers": c.bootstrap_all})
        create_topics(conf, ["tls-rf3"], rf=3, parts=3)
        md = AdminClient(conf).list_topics("tls-rf3", timeout=10)
        chk.eq("tls-rf3 has 3 replicas per partition",
               sorted(len(p.replicas) for p in md.topics["tls-rf3"].partitions.values()), [3, 3, 3])
        vals = [f"rf3-{i}".encode() for i in range(60)]
        errs, n = produce(conf, "tls-rf3", vals, **{"acks": "all", "enable.idempotence": True})
        chk.eq("cluster: 60 records with acks=all", (errs, n), ([], 60))
        wait_until(lambda: all(len(p.isrs) == 3 for p in AdminClient(conf).list_topics(
            "tls-rf3", timeout=5).topics["tls-rf3"].partitions.values()), 30,
            what="every replica in sync (followers fetch over TLS)")
        chk(True, "")
        chk.eq("cluster: consumed back",
               sorted(consume(conf, "tls-rf3", 60, "g-rf3")), sorted(vals))
        fails = []
        for n in c.nodes:
            with open(n.log_path) as f:
                fails += [ln for ln in f if "TLS" in ln and "failed" in ln]
        chk.eq("no TLS failure between the brokers", fails, [])
        log("cluster over TLS ok")
    return True


def main():
    chk = Checks("tls")
    if not shutil.which("openssl"):
        print("the openssl CLI is missing (scripts/install-deps.sh): skipped")
        return 77
    d = tempfile.mkdtemp(prefix="tls-pki-")
    try:
        pki = Pki(d)
        log("certificates made")
        part0(chk, pki)
        log("part 0: start-up refusals ok")
        part1(chk, pki)
        clustered = part2(chk, pki)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    chk.done()
    return 0 if clustered else 77


if __name__ == "__main__":
    run_main(main)
