#!/usr/bin/python3
"""A real ZooKeeper server and multi-node brookd clusters for integration tests.

Standard library only (the fixture's own test uses python3-kazoo as a ZooKeeper client).

    from cluster_harness import Cluster, ZooKeeper
    with ZooKeeper() as zk:             # temp dataDir, 127.0.0.1, a free client port
        zk.address                      # "127.0.0.1:PORT"
        zk.four_letter("mntr")          # a four-letter-word answer ("ruok", "srvr", "mntr")
        zk.restart(); zk.crash_restart()  # same port and data dir: nothing is lost
    with Cluster(3) as c:               # ZooKeeper + brookd nodes 1..3, ready and led
        c.bootstrap                     # node 1's "127.0.0.1:PORT" (c.bootstrap_all: every node)
        c.nodes[1].crash_restart()      # one node: SIGKILL + restart, same id, port, data dir
        c.wait_ready(60)                # every live node lists every live node (Metadata)

ZooKeeper is Debian's (package zookeeper): java runs
org.apache.zookeeper.server.ZooKeeperServerMain on a zoo.cfg written here, with
/usr/share/java/zookeeper.jar (its manifest names its dependencies) and log4j 1.2 for its
log; $BROOK_ZK_CLASSPATH replaces that class path, $JAVA the java binary.

With BROOK_TEST_CLUSTER=N, brook_harness.Broker(...) returns a Cluster(N, ...), so every
Broker-based test runs unchanged against a cluster.  Everything started here is stopped
by brook_harness's cleanup (context managers, the atexit hook, SIGTERM -> SystemExit) and
started with PR_SET_PDEATHSIG=SIGKILL.
"""

import glob
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import raw_kafka  # noqa: E402
from brook_harness import (Broker, BrokerError, Check, ServerProcess,  # noqa: E402
                           _brookd_has_key, _live, _pdeathsig, find_brookd)

ZK_MAIN = "org.apache.zookeeper.server.ZooKeeperServerMain"
# Small, quick-starting JVM: ZooKeeper here serves a handful of clients.
ZK_JVM_FLAGS = ["-Xms16m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-XX:-UsePerfData", "-Djava.awt.headless=true",
                "-Dzookeeper.jmx.log4j.disable=true"]
ZK_LOG4J = """log4j.rootLogger=INFO, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p [%t:%C{1}@%L] - %m%n
"""
# Session timeout the test clusters ask for (brookd's default is 18 s): a SIGKILLed node's
# registration then goes away within seconds.  The test ZooKeeper's tickTime (500 ms)
# allows 1..60 s.
TEST_SESSION_TIMEOUT_MS = 6000


def free_port():
    """A loopback port that was free a moment ago (bind to 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def zk_classpath():
    """The class path for Debian's ZooKeeper server, or $BROOK_ZK_CLASSPATH.  Raises
    BrokerError when zookeeper.jar is missing (package zookeeper not installed)."""
    env = os.environ.get("BROOK_ZK_CLASSPATH")
    if env:
        return env
    jar = "/usr/share/java/zookeeper.jar"
    if not os.path.exists(jar):
        raise BrokerError(f"{jar} not found: install Debian's zookeeper package")
    cp = [jar]
    for j in ("slf4j-log4j12.jar", "log4j-1.2.jar"):
        if os.path.exists(os.path.join("/usr/share/java", j)):
            cp.append(os.path.join("/usr/share/java", j))
    cp += sorted(glob.glob("/usr/share/zookeeper/lib/*.jar"))  # upstream tarball layout
    return ":".join(cp)


def zk_available():
    """Whether a ZooKeeper server can be started here (java and the jars)."""
    java = os.environ.get("JAVA") or shutil.which("java")
    try:
        return bool(java) and bool(zk_classpath())
    except BrokerError:
        return False


def require_cluster_support(brookd):
    """Leaves with exit code 77 (ctest: skipped) when a cluster cannot be run here: this
    brookd has no zookeeper.connect, or there is no ZooKeeper to start."""
    why = None
    if not zk_available():
        why = "no java or Debian zookeeper jars (package zookeeper)"
    elif not _brookd_has_key(brookd, "zookeeper.connect"):
        why = f"{brookd} has no zookeeper.connect (no cluster mode yet)"
    if why:
        print(f"SKIP: BROOK_TEST_CLUSTER is set but {why}", flush=True)
        raise SystemExit(77)


def four_letter(address, cmd, timeout=2.0):
    """Sends a four-letter word ("ruok", "srvr", "mntr") to ZooKeeper at "HOST:PORT" and
    returns its whole answer as text, or None when it cannot be reached."""
    host, port = address.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as s:
            s.sendall(cmd.encode())
            buf = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        return buf.decode("utf-8", "replace")
    except OSError:
        return None


class ZooKeeper(ServerProcess):
    """One standalone ZooKeeper server with its own temp data dir; restartable on the same
    port and data dir (its state survives clean and SIGKILL restarts)."""

    tail_lines = 40

    def __init__(self, name="zk", ready_timeout=60.0, keep_tmp=None, tmp_root=None, tick_ms=500):
        self.keep_tmp = (os.environ.get("BROOK_KEEP_TMP") == "1") if keep_tmp is None else keep_tmp
        self.ready_timeout = float(ready_timeout)
        self.tick_ms = int(tick_ms)
        self.tmp = tempfile.mkdtemp(prefix=f"{name}-integ-", dir=tmp_root)
        self.data_dir = os.path.join(self.tmp, "data")
        os.makedirs(self.data_dir)
        self.cfg_path = os.path.join(self.tmp, "zoo.cfg")
        self.log_path = os.path.join(self.tmp, "zk.log")
        self.port = 0
        self.proc = None
        self.starts = 0
        self.closed = False

    host = "127.0.0.1"  # the address it listens on (the chaos harness's bridge address)

    @property
    def address(self):
        if not self.port:
            raise BrokerError("zookeeper has not been started")
        return f"{self.host}:{self.port}"

    def four_letter(self, cmd, timeout=2.0):
        return four_letter(self.address, cmd, timeout)

    def mntr(self):
        """The "mntr" answer as a dict (zk_znode_count, zk_server_state, ...), {} if down."""
        out = self.four_letter("mntr") or ""
        return dict(line.split("\t", 1) for line in out.splitlines() if "\t" in line)

    def _write_config(self):
        with open(self.cfg_path, "w") as f:
            f.write(f"tickTime={self.tick_ms}\n"
                    f"minSessionTimeout={2 * self.tick_ms}\n"
                    "maxSessionTimeout=60000\n"
                    f"dataDir={self.data_dir}\n"
                    f"clientPort={self.port}\n"
                    f"clientPortAddress={self.host}\n"
                    "maxClientCnxns=0\n"
                    "admin.enableServer=false\n"
                    "4lw.commands.whitelist=ruok,srvr,mntr\n")
        with open(os.path.join(self.tmp, "log4j.properties"), "w") as f:
            f.write(ZK_LOG4J)

    def _argv(self):
        java = os.environ.get("JAVA") or shutil.which("java") or "/usr/bin/java"
        log4j = os.path.join(self.tmp, "log4j.properties")
        return ([java] + ZK_JVM_FLAGS +
                [f"-Dlog4j.configuration=file:{log4j}", f"-Dzookeeper.log.dir={self.tmp}",
                 "-cp", zk_classpath(), ZK_MAIN, self.cfg_path])

    def start(self):
        """Starts ZooKeeper and waits (bounded) until it serves requests.  The first start
        picks a free port (another, if it was taken meanwhile); restarts keep it."""
        if self.closed:
            raise BrokerError("zookeeper closed")
        if self.running():
            raise BrokerError("zookeeper already running")
        fixed = self.port != 0
        last = None
        for i in range(5):
            if not fixed:
                self.port = free_port()
            try:
                self._start_once()
                return self
            except BrokerError as e:
                last = e
                time.sleep(0.2 * (i + 1))
        raise last

    def _start_once(self):
        self._write_config()
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== harness: start #{self.starts + 1} port {self.port}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(self._argv(), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=log, cwd=self.tmp, preexec_fn=_pdeathsig,
                                         close_fds=True)
        _live.add(self)
        self.starts += 1
        deadline = time.monotonic() + self.ready_timeout
        while True:
            # "srvr" names the mode only once the server serves requests (a server still
            # loading its data answers "not currently serving requests").
            out = self.four_letter("srvr", timeout=1.0)
            if out and "Mode:" in out:
                return
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self.proc = None
                raise BrokerError(f"zookeeper exited with {rc} before serving:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self._kill_proc()
                raise BrokerError(f"zookeeper not serving after {self.ready_timeout}s:\n"
                                  f"{self.log_tail()}")
            time.sleep(0.05)

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is not None:
                print(f"----- zookeeper log tail ({self.log_path}) -----\n{self.log_tail()}\n-----",
                      file=sys.stderr)
            self.stop()
        finally:
            self.close()
        return False


# --------------------------------------------------------------------- Metadata
def _request(address, api_key, version, body, timeout):
    """One Kafka request (header v1) to exactly this broker; returns the response body.
    Raises OSError (TimeoutError when it does not answer in time) / ConnectionError."""
    try:
        with raw_kafka.Conn(address, b"brook-cluster-harness", timeout) as c:
            return c.request(api_key, version, body, f"API key {api_key}")[0]
    except AssertionError as e:  # raw_kafka's "no answer within"
        raise TimeoutError(str(e)) from None


class _Reader(raw_kafka.Reader):
    def i32s(self):
        return [self.take(">i") for _ in range(self.take(">i"))]


def metadata(address, timeout=5.0):
    """Metadata v1 for all topics, asked of the broker at `address` itself (a client library
    would ask any broker it likes).  Returns {"brokers": {id: "host:port"}, "controller": id,
    "topics": {name: {"error": code, "internal": bool, "partitions": {p: (error, leader)}}}}.
    Raises OSError / ConnectionError when the broker cannot be reached."""
    r = _Reader(_request(address, 3, 1, struct.pack(">i", -1), timeout))
    md = {"brokers": {}, "controller": -1, "topics": {}}
    for _ in range(r.take(">i")):
        nid = r.take(">i")
        host = r.string()
        port = r.take(">i")
        r.string()  # rack
        md["brokers"][nid] = f"{host}:{port}"
    md["controller"] = r.take(">i")
    for _ in range(r.take(">i")):
        err = r.take(">h")
        name = r.string()
        internal = bool(r.take(">b"))
        parts = {}
        for _ in range(r.take(">i")):
            perr, pid, leader = r.take(">hii")
            r.i32s()  # replicas
            r.i32s()  # isr
            parts[pid] = (perr, leader)
        md["topics"][name] = {"error": err, "internal": internal, "partitions": parts}
    return md


def parse_partition_states(body):
    """{(topic, partition): (error, leader, sorted replicas, sorted isr)} of a Metadata v1
    response body."""
    r = _Reader(body)
    for _ in range(r.take(">i")):
        r.take(">i"), r.string(), r.take(">i"), r.string()
    r.take(">i")  # controller
    out = {}
    for _ in range(r.take(">i")):
        r.take(">h")
        name = r.string()
        r.take(">b")
        for _ in range(r.take(">i")):
            err, pid, leader = r.take(">hii")
            out[(name, pid)] = (err, leader, sorted(r.i32s()), sorted(r.i32s()))
    return out


def partition_states(address, topics=None, timeout=2.0):
    """parse_partition_states of Metadata v1 asked of the broker at `address` itself, for
    `topics` (None: every topic, internal ones included)."""
    if topics is None:
        body = struct.pack(">i", -1)
    else:
        body = struct.pack(">i", len(topics)) + b"".join(raw_kafka.s16(t) for t in topics)
    return parse_partition_states(_request(address, 3, 1, body, timeout))


def partition_state(address, topic, timeout=5.0):
    """{partition: (error, leader, sorted replicas, sorted isr)} of one topic from Metadata
    v1 asked of `address`."""
    return {p: st for (t, p), st in partition_states(address, [topic], timeout).items()
            if t == topic}


def live_address(c):
    """"HOST:PORT" of a node of cluster c that runs and was not stopped on purpose."""
    return next(n.bootstrap for n in c.nodes if n.running() and not getattr(n, "stopped", False))


def state_of(c, topic, p):
    """(error, leader, replicas, isr) of topic/p from Metadata asked of a live node of
    cluster c; None when it cannot be had (a node starting or dying)."""
    try:
        return partition_state(live_address(c), topic)[p]
    except (OSError, ConnectionError, KeyError, ValueError, StopIteration, struct.error):
        return None


def leader_address(bootstrap, topic, partition, timeout=15.0):
    """"HOST:PORT" of the leader of topic/partition, from Metadata asked of `bootstrap`
    (one broker: itself), waiting (bounded) while the partition has no leader.  For raw
    requests that must go to the leader (ListOffsets, Produce)."""
    deadline = time.monotonic() + timeout
    while True:
        md = metadata(bootstrap)
        t = md["topics"].get(topic)
        leader = t["partitions"].get(partition, (0, -1))[1] if t else -1
        if leader in md["brokers"]:
            return md["brokers"][leader]
        if time.monotonic() > deadline:
            raise BrokerError(f"{topic}/{partition}: no leader after {timeout}s (metadata {md})")
        time.sleep(0.1)


def coordinator_address(bootstrap, key, key_type=0, timeout=15.0):
    """"HOST:PORT" of the coordinator of a group (key_type 0) or transactional id (1),
    from FindCoordinator v1 asked of `bootstrap`, waiting (bounded) while it answers
    COORDINATOR_NOT_AVAILABLE / COORDINATOR_LOAD_IN_PROGRESS.  For raw group requests."""
    deadline = time.monotonic() + timeout
    body = struct.pack(">h", len(key)) + key.encode() + struct.pack(">b", key_type)
    while True:
        r = _Reader(_request(bootstrap, 10, 1, body, timeout))
        r.take(">i")  # throttle
        err = r.take(">h")
        msg = r.string()
        node, host, port = r.take(">i"), r.string(), r.take(">i")
        if err == 0:
            return f"{host}:{port}"
        if err not in (14, 15) or time.monotonic() > deadline:  # LOAD_IN_PROGRESS, NOT_AVAILABLE
            raise BrokerError(f"FindCoordinator {key!r}: error {err} ({msg}), node {node}")
        time.sleep(0.1)


def metadata_problems(md, expected_ids, all_led):
    """What keeps `md` from showing a ready cluster of `expected_ids`: wrong broker set, no
    controller among them, and (all_led) a partition without a live leader.  [] = ready."""
    ids = set(expected_ids)
    out = []
    if set(md["brokers"]) != ids:
        out.append(f"brokers {sorted(md['brokers'])}, expected {sorted(ids)}")
    if md["controller"] not in ids:
        out.append(f"controller {md['controller']}")
    if all_led:
        for name, t in sorted(md["topics"].items()):
            bad = [p for p, (err, leader) in t["partitions"].items() if err or leader not in ids]
            if t["error"] or bad:
                out.append(f"topic {name}: error {t['error']}, {len(bad)} partition(s) "
                           f"without a live leader (e.g. {sorted(bad)[:3]})")
    return out


# --------------------------------------------------------------------- raw-protocol tests
def txn_partition(tid, nparts):
    """Brook's (and Kafka's) __transaction_state partition of a transactional id, with
    nparts (transaction.state.log.num.partitions) partitions."""
    h = 0
    for ch in tid.encode():
        h = (h * 31 + ch) & 0xFFFFFFFF
    return (h & 0x7FFFFFFF) % nparts


def retrying(what, fn, retriable, retry_for, log=print):
    """Calls fn() (whose result's first element is an error code, or is one) until the
    error is not in `retriable` or retry_for s have passed; logs every retriable answer
    with log()."""
    deadline = time.monotonic() + retry_for
    while True:
        r = fn()
        err = r[0] if isinstance(r, tuple) else r
        if err not in retriable or time.monotonic() > deadline:
            return r
        log(f"  {what}: retriable error {err}, retrying")
        time.sleep(0.2)


def wait_topic_led(c, topic, parts, timeout=30.0):
    """Bounded wait until every node of cluster c lists topic with `parts` partitions, each
    led by one of the cluster's nodes, all nodes alike; returns {partition: leader}."""
    ids = {n.node_id for n in c.nodes}
    deadline = time.monotonic() + timeout
    while True:
        views = {}
        for n in c.nodes:
            t = metadata(n.bootstrap)["topics"].get(topic)
            views[n.node_id] = {p: ld for p, (err, ld) in t["partitions"].items()} if t else {}
        first = views[c.nodes[0].node_id]
        if all(len(v) == parts and set(v.values()) <= ids and v == first
               for v in views.values()):
            return first
        if time.monotonic() > deadline:
            raise BrokerError(f"topic {topic} not led alike on every node after {timeout}s: {views}")
        time.sleep(0.1)


class NodeConns:
    """One raw_kafka.Conn per node of cluster c, opened on first use: conns(node_id)."""

    def __init__(self, c, client_id, answer_within):
        self.c = c
        self.client_id = client_id
        self.answer_within = answer_within
        self.conns = {}

    def __call__(self, node_id):
        if node_id not in self.conns:
            self.conns[node_id] = raw_kafka.Conn(self.c.node(node_id).bootstrap,
                                                 client_id=self.client_id,
                                                 answer_within=self.answer_within)
        return self.conns[node_id]

    def close(self):
        for conn in self.conns.values():
            conn.close()


def dump_log_lines(c, why, keep, n=60):
    """Prints to stderr, for every node of cluster c, the last n lines of its log for which
    keep(line) is true."""
    print(f"===== {why}: node logs (relevant lines) from {c.tmp} =====", file=sys.stderr)
    for node in c.nodes:
        try:
            with open(node.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            kept = ["(no log)"]
        else:
            kept = [ln for ln in lines if keep(ln)]
        print(f"--- node {node.node_id}: {node.log_path} ---\n" + "\n".join(kept[-n:]),
              file=sys.stderr)
    print("=====", file=sys.stderr, flush=True)


def log_count(path, needle):
    """How many times the (node) log at path holds needle; 0 if it cannot be read."""
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace").count(needle)
    except OSError:
        return 0


def log_contains(path, needle):
    """Whether the (node) log at path holds needle; False if it cannot be read."""
    return log_count(path, needle) > 0


def skip_without_cluster_support():
    """True, after printing why, when brookd cannot run a cluster (no ZooKeeper, no Java):
    the test then exits 77 (skipped)."""
    try:
        require_cluster_support(find_brookd())
    except Exception as e:
        print(f"skipped: {e}")
        return True
    return False


def cluster_test_main(check_name, name, config, scenario, dump_logs, log, t0, nodes=3):
    """The main() of a raw-protocol cluster test: brookd must support clusters; runs
    scenario on a fresh cluster of `nodes` (run_cluster_scenario) and reports the checks."""
    require_cluster_support(find_brookd())
    ck = Check(check_name)
    run_cluster_scenario(ck, name, config, scenario, dump_logs, log, nodes)
    log(f"total {time.monotonic() - t0:.1f}s")
    ck.done()
    return 0


def run_cluster_scenario(ck, name, config, scenario, dump_logs, log, nodes=3):
    """Runs scenario(ck, c) on a fresh Cluster(nodes, config) named `name`; on any failure
    dump_logs(c, why) first (Cluster.__exit__ then prints every node's log tail). Logs the
    cluster's start time with log()."""
    c = Cluster(nodes, config=dict(config), name=name)
    try:
        t0 = time.monotonic()
        with c:
            log(f"cluster ready in {time.monotonic() - t0:.1f}s ({c.tmp})")
            try:
                scenario(ck, c)
            except BaseException:
                dump_logs(c, f"{ck.name} failed")
                raise
    finally:
        c.close()


# --------------------------------------------------------------------- cluster
class Node(Broker):
    """One cluster node: a Broker whose command line also names ZooKeeper and its id."""

    def __init__(self, cluster, node_id, **kwargs):
        super().__init__(**kwargs)
        self.cluster = cluster
        self.node_id = node_id

    def _argv(self):
        c = self.cluster
        cfg = {"zookeeper.connect": c.zk.address, "node.id": self.node_id,
               "cluster.min.brokers": len(c.nodes),
               "zookeeper.session.timeout.ms": c.session_timeout_ms}
        # The test's own keys win (e.g. a test choosing its session timeout).
        self.config = dict(cfg, **{k: v for k, v in self.config.items() if k not in
                                   ("zookeeper.connect", "node.id")})
        return super()._argv()


class Cluster:
    """ZooKeeper + n brookd nodes (ids 1..n), with the interface of brook_harness.Broker so
    tests written for one broker run against it: `bootstrap` and `port` are node 1's,
    start/stop/kill/restart/crash_restart act on every node (ZooKeeper keeps running),
    `admin_address()` is node 1's admin listener.  `nodes[i]` are the brokers themselves
    (Node = Broker + cluster keys), `zk` the ZooKeeper.

    BROOK_TEST_CLUSTER_RESTART=rolling makes restart()/crash_restart() go one node at a
    time, each node back and the cluster ready before the next (default: all at once)."""

    def __init__(self, n=3, brookd=None, config=None, ready_timeout=60.0, name="cluster",
                 keep_tmp=None, session_timeout_ms=TEST_SESSION_TIMEOUT_MS):
        if n < 1:
            raise ValueError("a cluster needs at least one node")
        self.keep_tmp = (os.environ.get("BROOK_KEEP_TMP") == "1") if keep_tmp is None else keep_tmp
        self.ready_timeout = float(ready_timeout)
        self.session_timeout_ms = int(session_timeout_ms)
        self.restart_mode = os.environ.get("BROOK_TEST_CLUSTER_RESTART", "all")
        self.tmp = tempfile.mkdtemp(prefix=f"{name}-integ-")
        self.closed = False
        self.zk = ZooKeeper(name="zk", keep_tmp=self.keep_tmp, tmp_root=self.tmp)
        self.nodes = []
        for i in range(1, n + 1):
            self.nodes.append(Node(self, i, brookd=brookd, config=config,
                                   ready_timeout=ready_timeout, name=f"node{i}", keep_tmp=self.keep_tmp,
                                   tmp_root=self.tmp))
        _live.add(self)

    # ----------------------------------------------------------------- Broker interface
    @property
    def bootstrap(self):
        return self.nodes[0].bootstrap

    @property
    def bootstrap_all(self):
        return ",".join(n.bootstrap for n in self.nodes)

    @property
    def port(self):
        return self.nodes[0].port

    @property
    def data_dir(self):
        return self.nodes[0].data_dir

    @property
    def log_path(self):
        return self.nodes[0].log_path

    def admin_address(self, timeout=10.0):
        return self.nodes[0].admin_address(timeout)

    def running(self):
        return any(n.running() for n in self.nodes)

    def node(self, node_id):
        return self.nodes[node_id - 1]

    def start(self):
        """Starts ZooKeeper (unless running) and every stopped node, then waits until the
        cluster is ready (wait_ready)."""
        if self.closed:
            raise BrokerError("cluster closed")
        if not self.zk.running():
            self.zk.start()
        for n in self.nodes:
            if not n.running():
                n.start()
        self.wait_ready()
        return self

    def stop(self, timeout=15.0):
        """SIGTERM to every node (ZooKeeper keeps running: see stop_all).  Returns 0 when
        every node exited 0, else the first other exit code (None: had to be killed)."""
        rcs = [n.stop(timeout) for n in self.nodes if n.proc is not None]
        return next((rc for rc in rcs if rc != 0), 0)

    def stop_all(self, timeout=15.0):
        """stop(), then ZooKeeper; returns stop()'s code."""
        rc = self.stop(timeout)
        self.zk.stop(timeout)
        return rc

    def kill(self):
        for n in self.nodes:
            if n.proc is not None:
                n.kill()

    def restart(self, timeout=15.0):
        """Clean restart of every node (all at once, or rolling); returns like stop()."""
        if self.restart_mode == "rolling":
            rcs = []
            for n in self.nodes:
                rcs.append(n.restart(timeout))
                self.wait_ready()
            return next((rc for rc in rcs if rc != 0), 0)
        rc = self.stop(timeout)
        self.start()
        return rc

    def crash_restart(self):
        """SIGKILL and restart every node (all at once, or rolling)."""
        if self.restart_mode == "rolling":
            for n in self.nodes:
                n.crash_restart()
                self.wait_ready()
            return self
        self.kill()
        return self.start()

    def close(self):
        if self.closed:
            return
        for n in self.nodes:
            n.close()
        self.zk.close()
        _live.discard(self)
        self.closed = True
        if not self.keep_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            print(f"cluster_harness: kept {self.tmp}", file=sys.stderr)

    def log_tail(self, lines=40):
        parts = [f"--- node {n.node_id} ({n.log_path}) ---\n{n.log_tail(lines)}" for n in self.nodes]
        parts.append(f"--- zookeeper ({self.zk.log_path}) ---\n{self.zk.log_tail(lines // 2)}")
        return "\n".join(parts)

    # ----------------------------------------------------------------- readiness
    def wait_ready(self, timeout=None, all_led=None):
        """Polls Metadata of every running node until each lists exactly the running nodes
        and a controller among them, and (all_led; default: when every node runs) every
        partition of every topic, internal ones included, has a running leader.  Returns
        node 1's (or the first running node's) metadata; raises BrokerError on timeout with
        what each node still showed."""
        timeout = self.ready_timeout if timeout is None else timeout
        live = [n for n in self.nodes if n.running()]
        ids = [n.node_id for n in live]
        all_led = len(live) == len(self.nodes) if all_led is None else all_led
        deadline = time.monotonic() + timeout
        while True:
            problems, first = {}, None
            for n in live:
                try:
                    md = metadata(n.bootstrap)
                    p = metadata_problems(md, ids, all_led)
                    first = first or md
                except (OSError, ConnectionError, struct.error) as e:
                    p = [f"metadata failed: {e!r}"]
                if p:
                    problems[n.node_id] = p
            if not problems:
                return first
            if time.monotonic() > deadline:
                what = "\n".join(f"  node {k}: {'; '.join(v)}" for k, v in problems.items())
                raise BrokerError(f"cluster not ready after {timeout}s:\n{what}\n{self.log_tail(20)}")
            time.sleep(0.1)

    # ----------------------------------------------------------------- context manager
    def __enter__(self):
        try:
            self.start()  # its errors carry the log tails
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is not None:
                print(f"----- cluster logs ({self.tmp}) -----\n{self.log_tail()}\n-----",
                      file=sys.stderr)
            elif self.running():
                rc = self.stop()
                if rc != 0:
                    print(f"cluster_harness: a node's exit code on SIGTERM was {rc} (expected 0)\n"
                          f"{self.log_tail()}", file=sys.stderr)
            self.zk.stop()
        finally:
            self.close()
        return False

    def __del__(self):
        try:
            if not self.closed:
                self.close()
        except Exception:
            pass

