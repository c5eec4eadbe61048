#!/usr/bin/python3
"""The cluster fixture itself (cluster_harness.py).

ZooKeeper: starts on a free loopback port and answers ruok/srvr/mntr; znodes written through
a real client (kazoo) survive a clean restart and a SIGKILL restart on the same port and
data dir, and so does a live session's ephemeral znode (its client reconnects); a second
server runs beside it; stop closes the port (bounded), close removes the temp dir.

Cluster (only when this brookd has `zookeeper.connect`): 3 nodes become ready (every node
lists all 3, a controller, every partition led, the internal topics present); a SIGKILLed
node drops out of Metadata and comes back on its port with its id after a restart; a clean
node restart exits 0; a ZooKeeper restart under the running cluster; every node exits 0 on
SIGTERM; the cluster's temp dir is removed."""

import logging
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from brook_harness import Check, _brookd_has_key, find_brookd, run_main, wait_until  # noqa: E402
from cluster_harness import Cluster, ZooKeeper, metadata, zk_available  # noqa: E402

SESSION_S = 10.0


def connects(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def kazoo_client(zk):
    from kazoo.client import KazooClient
    logging.getLogger("kazoo").setLevel(logging.ERROR)  # reconnects are expected here
    # Kazoo waits session_timeout / len(hosts) for the answer to its ConnectRequest.
    # A ZooKeeper that is still loading its snapshot accepts the socket and then fails to
    # close it (ZooKeeperServer not running; NPE in removeCnxn), so with one host entry a
    # reconnect made in that window waits the whole session timeout, and the server,
    # which restarted the session's clock when it loaded, expires the session first.
    # The same address listed four times cuts each attempt to a quarter of the timeout.
    hosts = ",".join([zk.address] * 4)
    c = KazooClient(hosts=hosts, timeout=SESSION_S, connection_retry={"max_tries": -1, "max_delay": 0.5})
    c.start(timeout=15)
    return c


def check_zookeeper(ck):
    zk = ZooKeeper(name="zkfix")
    with zk:
        ck(zk.port > 0, f"free port chosen ({zk.port})")
        ck.eq(zk.four_letter("ruok"), "imok", "ruok")
        ck("Mode: standalone" in (zk.four_letter("srvr") or ""), "srvr says standalone")
        ck.eq(zk.mntr().get("zk_server_state"), "standalone", "mntr zk_server_state")
        port = zk.port

        c = kazoo_client(zk)
        c.ensure_path("/brook-test")
        c.create("/brook-test/persistent", b"v1")
        c.create("/brook-test/ephemeral", b"e", ephemeral=True)
        sid = c.client_id[0]
        count = int(zk.mntr()["zk_znode_count"])

        # A second server beside the first, on its own port and data dir.
        with ZooKeeper(name="zkfix2") as zk2:
            ck(zk2.port != port, "second server on another port")
            ck.eq(zk2.four_letter("ruok"), "imok", "second server answers")
            ck(zk2.mntr()["zk_znode_count"] != str(count), "second server has its own data")

        t = time.monotonic()
        rc = zk.restart()
        ck(rc in (0, 143), f"clean stop exit code {rc} (0, or 143 = JVM on SIGTERM)")
        ck.eq(zk.port, port, "clean restart keeps the port")
        ck.eq(zk.four_letter("ruok"), "imok", "ruok after clean restart")
        print(f"  clean restart took {time.monotonic() - t:.2f}s", flush=True)
        # The client reconnects to the same session: its ephemeral znode is still there.
        wait_until(lambda: c.connected and c.exists("/brook-test/ephemeral"), 20,
                   what="client reconnected after the restart")
        ck.eq(c.client_id[0], sid, "session survives a clean ZooKeeper restart")
        ck.eq(c.get("/brook-test/persistent")[0], b"v1", "znode data after clean restart")
        ck(c.exists("/brook-test/ephemeral") is not None, "ephemeral znode after clean restart")
        ck.eq(int(zk.mntr()["zk_znode_count"]), count, "znode count after clean restart")

        # Written right before a SIGKILL: ZooKeeper acknowledged it, so it must survive.
        c.set("/brook-test/persistent", b"v2")
        c.create("/brook-test/last", b"before-crash")
        t = time.monotonic()
        zk.crash_restart()
        ck.eq(zk.port, port, "SIGKILL restart keeps the port")
        print(f"  crash restart took {time.monotonic() - t:.2f}s", flush=True)
        wait_until(lambda: c.connected and c.exists("/brook-test/last"), 20,
                   what="client reconnected after the crash restart")
        ck.eq(c.get("/brook-test/persistent")[0], b"v2", "update acknowledged before SIGKILL kept")
        ck.eq(c.get("/brook-test/last")[0], b"before-crash", "create acknowledged before SIGKILL kept")
        ck.eq(c.client_id[0], sid, "session survives a ZooKeeper SIGKILL restart")
        ck(c.exists("/brook-test/ephemeral") is not None, "ephemeral znode after SIGKILL restart")
        c.stop()
        c.close()

        rc = zk.stop()
        ck(rc in (0, 143), f"stop exit code {rc}")
        ck(not connects(port), "port closed after stop")
        ck(not zk.running(), "not running after stop")
    ck(not os.path.exists(zk.tmp), "temp dir removed on close")


def check_cluster(ck):
    with Cluster(3, name="clfix") as c:
        ports = [n.port for n in c.nodes]
        ck.eq(len(set(ports)), 3, f"three distinct ports {ports}")
        ck.eq(c.bootstrap, f"127.0.0.1:{ports[0]}", "bootstrap is node 1")
        for n in c.nodes:
            md = metadata(n.bootstrap)
            ck.eq(sorted(md["brokers"]), [1, 2, 3], f"node {n.node_id} lists every broker")
            ck.eq(md["brokers"][n.node_id], n.bootstrap, f"node {n.node_id} advertises its address")
            ck(md["controller"] in (1, 2, 3), f"node {n.node_id}: controller {md['controller']}")
            for t in ("__consumer_offsets", "__transaction_state"):
                ck(t in md["topics"], f"node {n.node_id} lists {t}")
        leaders = {}
        for p, (err, leader) in metadata(c.bootstrap)["topics"]["__consumer_offsets"]["partitions"].items():
            leaders.setdefault(leader, []).append(p)
        print(f"  __consumer_offsets partitions per leader: "
              f"{ {k: len(v) for k, v in sorted(leaders.items())} }", flush=True)

        # SIGKILL node 3: it leaves Metadata (evicted as soon as its connections are
        # refused); its partitions fail over to in-sync replicas (replication factor 3).
        victim = c.nodes[2]
        victim.kill()
        t = time.monotonic()
        md = c.wait_ready(timeout=c.session_timeout_ms / 1000 + 30)
        print(f"  node 3 gone from Metadata after {time.monotonic() - t:.2f}s", flush=True)
        ck.eq(sorted(md["brokers"]), [1, 2], "brokers with node 3 down")
        parts = md["topics"]["__consumer_offsets"]["partitions"]
        moved = [p for p in leaders.get(3, []) if parts[p][1] in (1, 2)]
        ck.eq(len(moved), len(leaders.get(3, [])),
              "node 3's __consumer_offsets partitions failed over to nodes 1 and 2")
        victim.start()
        ck.eq(victim.port, ports[2], "node 3 restarts on its port")
        c.wait_ready()
        ck(True, "node 3 back: every node lists 3 brokers, every partition led")

        ck.eq(c.nodes[1].restart(), 0, "node 2: exit code 0 on SIGTERM")
        c.wait_ready()
        ck(True, "ready after a clean node restart")

        zk_rc = c.zk.restart()
        ck(zk_rc in (0, 143), f"ZooKeeper stop exit code {zk_rc}")
        c.wait_ready()
        ck(all(n.running() for n in c.nodes), "every node survives a ZooKeeper restart")

        ck.eq(c.stop(), 0, "every node exits 0 on SIGTERM")
    ck(not os.path.exists(c.tmp), "cluster temp dir removed")


def main():
    ck = Check("cluster_harness")
    if not zk_available():
        print("SKIP: no java or Debian zookeeper jars (install package zookeeper)")
        return 77
    try:
        import kazoo.client  # noqa: F401
    except ImportError:
        print("SKIP: no python3-kazoo")
        return 77
    check_zookeeper(ck)
    if _brookd_has_key(find_brookd(), "zookeeper.connect"):
        check_cluster(ck)
    else:
        print("NOTE: this brookd has no zookeeper.connect: cluster checks not run", flush=True)
    ck.done()


if __name__ == "__main__":
    run_main(main)
