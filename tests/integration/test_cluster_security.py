#!/usr/bin/python3
"""A secured 3-node cluster (#15): SASL_PLAINTEXT with SCRAM-SHA-512 as the one listener of
every node (brokers log in to each other as User:broker), the ACL authorizer, and
ZooKeeper digest authentication with zookeeper.set.acl=true.

 1. The cluster becomes ready over SASL: the internal topics are led, followers fetch (RF 3),
    so the inter-broker logins work; the first node created User:broker's credential.
 2. alice is created through node 1 (AlterUserScramCredentials as User:broker, a super user)
    and logs in at node 3 within two seconds; DescribeUserScramCredentials on node 2 lists
    her; a wrong password at node 2 is refused with SASL_AUTHENTICATION_FAILED.
 3. An ACL added through node 2 (alice may WRITE topic A) reaches every node's authorizer:
    Metadata as alice on each node allows A and refuses B; alice produces to A (acks=all,
    RF 3) through each node; her records to B fail with TOPIC_AUTHORIZATION_FAILED and B stays
    empty.
 4. The ACL deleted through node 3: every node refuses A again, and so does a producer.
 5. The ACL re-added, every node restarted: credentials and ACLs come back from ZooKeeper.
 6. ZooKeeper: a kazoo session without the digest gets NoAuth on the credential znode, the
    ACL znodes and the topics; with it, the credential znode holds no password.
 7. A SASL_SSL cluster (certificates from test_tls's Pki, the openssl CLI): the brokers log
    in to each other inside TLS, every replica of the internal topics gets in sync, and a
    record produced with acks=all to an RF 3 topic is acknowledged.
 8. Two listeners per node: CLIENT (SASL_PLAINTEXT, SCRAM) for clients and INTERNAL
    (PLAINTEXT, inter.broker.listener.name) for the brokers, which hold no SASL credential,
    so replication in sync shows they use INTERNAL. Each node's registration lists both
    endpoints with the INTERNAL one as its address; Metadata and FindCoordinator answer each
    listener's clients with that listener's ports on every node; a client bootstrapped at
    one node's CLIENT port alone produces (acks=all, RF 3, partitions led by every node),
    commits a transaction and consumes in a group; a client without SASL is refused on
    CLIENT; an unknown inter.broker.listener.name stops brookd with a message naming it.
"""

import os
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import find_brookd, run_main, wait_until  # noqa: E402
from raw_kafka import Conn  # noqa: E402
from test_acl import (ALLOW, LITERAL, TOPIC, WRITE, create_acls, describe_acls,  # noqa: E402
                      metadata_v1)
from test_sasl import SHA512, Checks, alter_scram, describe_scram, log, scram_exchange  # noqa: E402

from confluent_kafka import (Consumer, KafkaError, KafkaException, Producer,  # noqa: E402
                             TopicPartition)
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

NONE = 0
TOPIC_AUTHZ = 29
SASL_AUTH_FAILED = 58
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
PW = {"broker": "broker-pw", "alice": "alice-pw"}
ZK_DIGEST = ("brook", "zk-secret")
ALICE_WRITES_A = (TOPIC, "A", LITERAL, "User:alice", "*", WRITE, ALLOW)


def sasl_conn(address, user, password=None):
    """A raw connection logged in as user -> (conn, error)."""
    c = Conn(address)
    err, msg, _ = scram_exchange(c, SHA512, user, password or PW[user])
    return c, err


def conf(bootstrap, user, **extra):
    return dict({"bootstrap.servers": bootstrap, "security.protocol": "SASL_PLAINTEXT",
                 "sasl.mechanisms": "SCRAM-SHA-512", "sasl.username": user,
                 "sasl.password": PW[user]}, **extra)


def produce(bootstrap, user, topic, values):
    """-> (delivered count, [error codes])."""
    errs, ok = [], []

    def cb(err, msg):
        (errs.append(err.code()) if err else ok.append(msg))
    p = Producer(conf(bootstrap, user, **{"acks": "all", "message.timeout.ms": 15000,
                                          "error_cb": lambda e: None}))
    for v in values:
        p.produce(topic, v, on_delivery=cb)
    p.flush(30)
    return len(ok), errs


def high_watermark(bootstrap, topic):
    c = Consumer(conf(bootstrap, "broker", **{"group.id": "hw"}))
    try:
        return c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
    finally:
        c.close()


def authorized_topics(c):
    """Metadata as alice on each node -> [{A: err, B: err}, ...]."""
    out = []
    for n in c.nodes:
        k, err = sasl_conn(n.bootstrap, "alice")
        assert err == NONE, f"alice cannot log in at node {n.node_id}: {err}"
        with k:
            out.append(metadata_v1(k, ["A", "B"]))
    return out


def acls_everywhere(c, want):
    def check():
        for n in c.nodes:
            k, _ = sasl_conn(n.bootstrap, "broker")
            with k:
                err, _, got = describe_acls(k)
            if err != NONE or got != want:
                return False
        return True
    return check


def make_cluster(protocol="SASL_PLAINTEXT", extra=None, client=None):
    from cluster_harness import Cluster, Node

    class SaslNode(Node):
        def _argv(self):
            argv = super()._argv()
            argv[1] = f"--listeners={protocol}://{self.host}:{self.port}"
            return argv

    cfg = {"sasl.enabled.mechanisms": "SCRAM-SHA-512",
           "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
           "inter.broker.sasl.username": "broker", "inter.broker.sasl.password": PW["broker"],
           "authorizer.class.name": AUTHORIZER, "super.users": "User:broker",
           "zookeeper.set.acl": "true", "zookeeper.digest.username": ZK_DIGEST[0],
           "zookeeper.digest.password": ZK_DIGEST[1], "admin.listeners": "",
           "connection.failed.authentication.delay.ms": 50,
           "default.replication.factor": 3, "min.insync.replicas": 2,
           "transaction.state.log.num.partitions": 4, "offsets.topic.num.partitions": 4,
           "group.initial.rebalance.delay.ms": 0}
    cfg.update(extra or {})
    c = Cluster(3, config=cfg, name=f"sec-cluster-{protocol.lower()}")
    for n in c.nodes:
        n.__class__ = SaslNode

    def ready(timeout=None, all_led=None):
        def check():
            try:
                md = AdminClient(conf(c.bootstrap_all, "broker", **(client or {}))) \
                    .list_topics(timeout=3)
            except KafkaException:
                return None
            parts = [p for t in md.topics.values() for p in t.partitions.values()]
            return md if len(md.brokers) == 3 and parts and \
                all(p.leader > 0 and len(p.isrs) == 3 for p in parts) else None
        return wait_until(check, 60, interval=0.5, what="the SASL cluster to be ready")
    c.wait_ready = ready
    return c


def part_credentials(chk, c):
    k, err = sasl_conn(c.nodes[0].bootstrap, "broker")
    chk.eq("User:broker (created by the brokers themselves) logs in at node 1", err, NONE)
    with k:
        res = alter_scram(k, upsertions=[("alice", SHA512, 4096, PW["alice"])])
    chk.eq("alice created through node 1", res, [("alice", NONE, None)])
    t0 = time.monotonic()

    def alice_in():
        k3, err = sasl_conn(c.nodes[2].bootstrap, "alice")
        k3.close()
        return err == NONE
    wait_until(alice_in, 5, interval=0.05, what="alice's login at node 3")
    took = time.monotonic() - t0
    chk(took < 2.0, f"alice logs in at node 3 {took:.2f}s after her creation at node 1")
    log(f"alice logged in at node 3 {took * 1000:.0f} ms after her creation at node 1")
    k2, _ = sasl_conn(c.nodes[1].bootstrap, "broker")
    with k2:  # its watch may fire a moment later; Describe re-reads ZooKeeper at most every 10 ms
        top, res = wait_until(lambda: (lambda r: r if "alice" in r[1] else None)(
            describe_scram(k2)), 2, what="alice listed by node 2")
    chk.eq("node 2 lists alice and broker", (top[0], sorted(res)), (NONE, ["alice", "broker"]))
    chk.eq("alice's credential as node 2 lists it", res["alice"], (NONE, None, [(SHA512, 4096)]))
    k, err = sasl_conn(c.nodes[1].bootstrap, "alice", "not-her-password")
    k.close()
    chk.eq("a wrong password at node 2", err, SASL_AUTH_FAILED)


def part_acls(chk, c):
    admin = AdminClient(conf(c.bootstrap_all, "broker"))
    for f in admin.create_topics([NewTopic(t, 1, 3) for t in ("A", "B")]).values():
        f.result()
    k, _ = sasl_conn(c.nodes[1].bootstrap, "broker")
    with k:
        chk.eq("CreateAcls through node 2", create_acls(k, [ALICE_WRITES_A]), [(NONE, None)])
    want = [(TOPIC, "A", LITERAL, "User:alice", "*", WRITE, ALLOW)]
    wait_until(acls_everywhere(c, want), 5, what="the binding on every node")
    chk.eq("every node: alice may describe A, not B", authorized_topics(c),
           [{"A": NONE, "B": TOPIC_AUTHZ}] * 3)
    for n in c.nodes:
        vals = [f"n{n.node_id}-{i}".encode() for i in range(5)]
        chk.eq(f"alice produces to A through node {n.node_id} (acks=all)",
               produce(n.bootstrap, "alice", "A", vals), (5, []))
    got = produce(c.bootstrap_all, "alice", "B", [b"must not land"] * 3)
    chk.eq("alice's records to B refused", got, (0, [KafkaError.TOPIC_AUTHORIZATION_FAILED] * 3))
    chk.eq("A holds 15 records, B none",
           (high_watermark(c.bootstrap_all, "A"), high_watermark(c.bootstrap_all, "B")), (15, 0))
    k, _ = sasl_conn(c.nodes[2].bootstrap, "broker")
    with k:
        # one filter: TOPIC A LITERAL User:alice, any host, operation and permission
        body = (struct.pack(">ib", 1, TOPIC) + _cstr("A") + struct.pack(">b", LITERAL) +
                _cstr("User:alice") + _cstr(None) + struct.pack(">bb", 1, 1))
        deleted = delete_acls_v1(k, body)
    chk.eq("DeleteAcls through node 3 removes the binding", deleted, (NONE, 1))
    wait_until(acls_everywhere(c, []), 5, what="no binding on any node")
    chk.eq("every node refuses A again", authorized_topics(c),
           [{"A": TOPIC_AUTHZ, "B": TOPIC_AUTHZ}] * 3)
    got = produce(c.bootstrap_all, "alice", "A", [b"refused now"])
    chk.eq("alice's record to A refused after the deletion",
           got, (0, [KafkaError.TOPIC_AUTHORIZATION_FAILED]))
    chk.eq("A still holds 15 records", high_watermark(c.bootstrap_all, "A"), 15)


def _cstr(s):
    """A classic (int16-length) nullable string."""
    return struct.pack(">h", -1) if s is None else struct.pack(">h", len(s)) + s.encode()


def delete_acls_v1(conn, body):
    """DeleteAcls v1 with one filter -> (error of the filter, bindings it matched)."""
    from raw_kafka import Reader
    r, _ = conn.request(31, 1, body, "DeleteAcls v1")
    rd = Reader(r)
    rd.take(">i")
    assert rd.take(">i") == 1
    err = rd.take(">h")
    rd.string()  # the error message
    return err, rd.take(">i")


def part_restart(chk, c):
    k, _ = sasl_conn(c.nodes[0].bootstrap, "broker")
    with k:
        chk.eq("the binding added again through node 1", create_acls(k, [ALICE_WRITES_A]),
               [(NONE, None)])
    c.restart()
    log("every node restarted")
    want = [{"A": NONE, "B": TOPIC_AUTHZ}] * 3
    got = wait_until(lambda: (lambda r: r if r == want else None)(authorized_topics(c)), 5,
                     what="every node to show alice's binding after the restart")
    chk.eq("after the restart every node allows A to alice again", got, want)
    chk.eq("and she produces to A", produce(c.bootstrap_all, "alice", "A", [b"after"]), (1, []))


def part_zookeeper(chk, c):
    from kazoo.client import KazooClient
    from kazoo.exceptions import NoAuthError
    zk = KazooClient(hosts=c.zk.address)
    zk.start(timeout=15)
    try:
        for what, call in (("the credential znode", lambda: zk.get("/brook/config/users/alice")),
                           ("the users", lambda: zk.get_children("/brook/config/users")),
                           ("the ACL bindings", lambda: zk.get_children("/brook/acls")),
                           ("the topics", lambda: zk.get_children("/brook/topics"))):
            try:
                call()
                chk(False, f"kazoo without the digest read {what}")
            except NoAuthError:
                chk(True, "")
        log("kazoo without the digest: NoAuth on credentials, ACLs and topics")
    finally:
        zk.stop()
        zk.close()
    zk = KazooClient(hosts=c.zk.address, auth_data=[("digest", ":".join(ZK_DIGEST))])
    zk.start(timeout=15)
    try:
        data, _ = zk.get("/brook/config/users/alice")
        chk.eq("the credential znode holds no password", PW["alice"].encode() in data, False)
        chk.eq("one binding znode", len(zk.get_children("/brook/acls")), 1)
    finally:
        zk.stop()
        zk.close()


def part_sasl_ssl(chk):
    import shutil
    import tempfile
    from test_tls import Pki
    if not shutil.which("openssl"):
        log("SASL_SSL part skipped: no openssl CLI")
        return
    d = tempfile.mkdtemp(prefix="sec-cluster-pki-")
    try:
        pki = Pki(d)
        tls = {"security.protocol": "SASL_SSL", "ssl.ca.location": pki.ca}
        c = make_cluster("SASL_SSL", {"ssl.keystore.location": pki.keystore,
                                      "ssl.truststore.location": pki.ca}, tls)
        with c:
            log(f"SASL_SSL cluster ready (every replica in sync): {c.bootstrap_all}")
            chk(True, "")
            admin = AdminClient(conf(c.bootstrap_all, "broker", **tls))
            admin.create_topics([NewTopic("S", 1, 3)])["S"].result()
            ok = []
            p = Producer(conf(c.nodes[0].bootstrap, "broker", **dict(tls, acks="all")))
            p.produce("S", b"as broker", on_delivery=lambda e, m: ok.append(e))
            p.flush(20)  # acks=all: every replica of S has it
            chk.eq("SASL_SSL: broker's record to S (acks=all, RF 3)", ok, [None])
            fails = [ln for n in c.nodes for ln in open(n.log_path)
                     if "SASL login" in ln or ("TLS" in ln and "failed" in ln)]
            chk.eq("SASL_SSL: no failed inter-broker login or handshake", fails, [])
    finally:
        shutil.rmtree(d, ignore_errors=True)


def part_two_listeners(chk):
    import json
    import subprocess
    from cluster_harness import Cluster, Node, coordinator_address, free_port, metadata
    from kazoo.client import KazooClient

    class TwoListenerNode(Node):
        def _argv(self):
            if not getattr(self, "internal_port", 0):
                self.internal_port = free_port()
            argv = super()._argv()
            argv[1] = (f"--listeners=CLIENT://{self.host}:{self.port},"
                       f"INTERNAL://{self.host}:{self.internal_port}")
            return argv

    cfg = {"listener.security.protocol.map": "CLIENT:SASL_PLAINTEXT,INTERNAL:PLAINTEXT",
           "inter.broker.listener.name": "INTERNAL",
           "sasl.enabled.mechanisms": "SCRAM-SHA-512", "admin.listeners": "",
           "default.replication.factor": 3, "min.insync.replicas": 2,
           "transaction.state.log.num.partitions": 3, "offsets.topic.num.partitions": 3,
           "group.initial.rebalance.delay.ms": 0}
    c = Cluster(3, config=cfg, name="two-listeners")
    for n in c.nodes:
        n.__class__ = TwoListenerNode
    internal = lambda n: f"{n.host}:{n.internal_port}"  # noqa: E731

    def ready():
        def check():
            try:
                md = metadata(internal(c.nodes[0]))
            except (OSError, ConnectionError, struct.error):
                return None
            ts = [t for t in md["topics"].values() if t["internal"]]
            return md if len(md["brokers"]) == 3 and len(ts) == 2 and all(
                e == 0 and ld > 0 for t in ts for e, ld in t["partitions"].values()) else None
        return wait_until(check, 60, interval=0.5, what="the two-listener cluster")
    c.wait_ready = ready
    with c:
        client_ports = {n.node_id: f"{n.host}:{n.port}" for n in c.nodes}
        internal_ports = {n.node_id: internal(n) for n in c.nodes}
        # alice, created over INTERNAL (no authorizer: anyone may), logs in on CLIENT
        with Conn(internal(c.nodes[1])) as k:
            res = alter_scram(k, upsertions=[("alice", SHA512, 4096, PW["alice"])])
            chk.eq("alice created over INTERNAL", [r[1] for r in res], [NONE])
        zk = KazooClient(hosts=c.zk.address)
        zk.start(timeout=15)
        try:
            for n in c.nodes:
                reg = json.loads(zk.get(f"/brook/brokers/{n.node_id}")[0])
                chk.eq(f"node {n.node_id} registers its INTERNAL address",
                       f"{reg['host']}:{reg['port']}", internal(n))
                chk.eq(f"node {n.node_id} registers both endpoints", sorted(reg["endpoints"]),
                       sorted([f"CLIENT://{client_ports[n.node_id]}",
                               f"INTERNAL://{internal(n)}"]))
        finally:
            zk.stop()
            zk.close()
        for n in c.nodes:
            chk.eq(f"Metadata over INTERNAL at node {n.node_id}: INTERNAL ports",
                   metadata(internal(n))["brokers"], internal_ports)
            md = AdminClient(conf(f"{n.host}:{n.port}", "alice")).list_topics(timeout=10)
            chk.eq(f"Metadata over CLIENT at node {n.node_id}: CLIENT ports",
                   {b.id: f"{b.host}:{b.port}" for b in md.brokers.values()}, client_ports)
        co = coordinator_address(internal(c.nodes[2]), "g2", 0)
        chk(co in internal_ports.values(), f"FindCoordinator over INTERNAL: {co}")
        boot = client_ports[2]  # one node's CLIENT port: the rest comes from Metadata
        admin = AdminClient(conf(boot, "alice"))
        admin.create_topics([NewTopic("L", 3, replica_assignment=[[1, 2, 3], [2, 3, 1],
                                                                  [3, 1, 2]])])["L"].result()
        md = wait_until(lambda: (lambda t: t if t and len({p.leader for p in t.partitions.values()
                                                            if p.leader > 0}) == 3 and all(
            len(p.isrs) == 3 for p in t.partitions.values()) else None)(
            admin.list_topics("L", timeout=5).topics.get("L")), 30, interval=0.3,
            what="L led by every node, all replicas in sync")
        chk(md is not None, "")
        ok, errs = produce(boot, "alice", "L", [b"r%d" % i for i in range(30)])
        chk.eq("CLIENT: 30 records acknowledged (acks=all, RF 3, three leaders)", (ok, errs),
               (30, []))
        tp = Producer(conf(boot, "alice", **{"transactional.id": "two-lst",
                                             "message.timeout.ms": 15000}))
        tp.init_transactions(30)
        tp.begin_transaction()
        for i in range(6):
            tp.produce("L", b"t%d" % i, partition=i % 3)
        tp.commit_transaction(30)
        chk(True, "CLIENT: a transaction over three leaders committed")
        cons = Consumer(conf(boot, "alice", **{"group.id": "two-lst-g",
                                               "auto.offset.reset": "earliest",
                                               "isolation.level": "read_committed"}))
        cons.subscribe(["L"])
        got, deadline = [], time.monotonic() + 30
        while len(got) < 36 and time.monotonic() < deadline:
            m = cons.poll(0.5)
            if m is not None and not m.error():
                got.append(m.value())
        cons.commit(asynchronous=False)
        cons.close()
        chk.eq("CLIENT: a group consumer reads all 36 records", len(got), 36)
        bad = Producer({"bootstrap.servers": boot, "message.timeout.ms": 3000,
                        "error_cb": lambda e: None})
        res = []
        bad.produce("L", b"x", on_delivery=lambda e, m: res.append(e))
        bad.flush(10)
        chk(res and res[0] is not None, f"a client without SASL refused on CLIENT: {res}")
        fails = [ln for n in c.nodes for ln in open(n.log_path) if "SASL login" in ln]
        chk.eq("no inter-broker SASL login tried", fails, [])
    bad_cfg = dict(cfg, **{"inter.broker.listener.name": "NOPE", "zookeeper.connect": "127.0.0.1:1",
                           "node.id": 1})
    argv = [find_brookd(), "--listeners=CLIENT://127.0.0.1:0,INTERNAL://127.0.0.1:0",
            "--log.dirs=/nonexistent-two-listeners"] + [f"--{k}={v}" for k, v in bad_cfg.items()]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    chk(r.returncode != 0 and "inter.broker.listener.name" in r.stderr + r.stdout and
        "NOPE" in r.stderr + r.stdout, f"unknown inter-broker listener refused: {r.stderr[-300:]}")


def main():
    chk = Checks("cluster_security")
    import cluster_harness
    if cluster_harness.skip_without_cluster_support():
        return 77
    c = make_cluster()
    with c:
        log(f"SASL cluster ready: {c.bootstrap_all}")
        part_credentials(chk, c)
        part_acls(chk, c)
        log("ACLs followed on every node")
        part_restart(chk, c)
        part_zookeeper(chk, c)
        fails = [ln for n in c.nodes for ln in open(n.log_path) if "SASL login" in ln]
        chk.eq("no failed inter-broker login", fails, [])
    part_sasl_ssl(chk)
    log("SASL_SSL cluster ok")
    part_two_listeners(chk)
    log("two listeners per node ok")
    print(f"cluster_security: {chk.n} checks passed")
    return 0


if __name__ == "__main__":
    run_main(main)
