#!/usr/bin/python3
"""The network faults' means (nemesis.Net) on two namespaces and no brokers: isolate()
and each partition kind cut exactly the traffic they name, one way or both, and healing
restores it. TCP for the clients and ZooKeeper kinds (their rules match ports), UDP for
the one-way cuts between nodes (a TCP handshake needs both ways). Exit 77 (skipped)
without root, iproute2 or nft."""

import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from nemesis import Net, netns_ok, nft_ok  # noqa: E402

NODE_PORT, ZK_PORT, UDP_PORT = 19092, 12181, 19999
# Run inside a namespace: listen (TCP and UDP) on ADDR, print one line per UDP datagram.
SERVER = r"""
import socket, sys, threading
addr, tport, uport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind((addr, tport)); t.listen(16)
def accept():
    while True:
        c, _ = t.accept(); c.close()
threading.Thread(target=accept, daemon=True).start()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind((addr, uport))
print("ready", flush=True)
while True:
    data, _ = u.recvfrom(100); print(data.decode(), flush=True)
"""
# Run inside a namespace: try a TCP connect (exit 0 on success) or send one UDP datagram.
CLIENT = r"""
import socket, sys
kind, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if kind == "tcp":
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        sys.exit(1)
else:
    try:  # an output rule that drops it makes sendto fail with EPERM
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(sys.argv[4].encode(), (host, port))
    except PermissionError:
        pass
"""


class FakeCluster:
    class N:
        port = NODE_PORT

    class Z:
        port = ZK_PORT

    zk = Z()

    def node(self, _nid):
        return self.N()


def in_ns(net, nid, code, *args, **kw):
    prefix = ["ip", "netns", "exec", net.ns[nid]] if nid else []
    return prefix + [sys.executable, "-c", code, *map(str, args)]


def tcp(net, src, host, port):
    return subprocess.run(in_ns(net, src, CLIENT, "tcp", host, port), timeout=10).returncode == 0


class Server:
    def __init__(self, net, nid, addr):
        self.p = subprocess.Popen(in_ns(net, nid, SERVER, addr, NODE_PORT if nid else ZK_PORT,
                                        UDP_PORT), stdout=subprocess.PIPE, text=True)
        assert self.p.stdout.readline().strip() == "ready"
        self.lines = []
        threading.Thread(target=lambda: self.lines.extend(self.p.stdout), daemon=True).start()

    def got(self, tag, net, src, addr):
        """Sends tag by UDP from src to this server, four times 0.3 s apart (a link just
        brought up may drop the first while the neighbours are resolved); whether it
        arrived."""
        for _ in range(4):
            subprocess.run(in_ns(net, src, CLIENT, "udp", addr, UDP_PORT, tag), timeout=10,
                           check=True)
            time.sleep(0.3)
            if tag + "\n" in self.lines:
                return True
        return False

    def stop(self):
        self.p.kill()
        self.p.wait(10)


def main():
    if not netns_ok() or not nft_ok():
        print("needs root, iproute2 and nft: skipped")
        return 77
    net = Net(2)
    c, servers = FakeCluster(), []
    try:
        h, n1, n2 = net.host_ip(), net.node_ip(1), net.node_ip(2)
        servers = [Server(net, 1, n1), Server(net, 2, n2), Server(net, None, h)]
        s1, s2, _zk = servers

        def check(what, want_client, want_zk, want_1to2, want_2to1):
            got = (tcp(net, None, n1, NODE_PORT), tcp(net, 1, h, ZK_PORT),
                   s2.got(f"{what}-a", net, 1, n2), s1.got(f"{what}-b", net, 2, n1))
            want = (want_client, want_zk, want_1to2, want_2to1)
            assert got == want, f"{what}: (client->1, 1->zk, 1->2, 2->1) {got}, want {want}"
            print(f"  {what}: {got}")

        check("healthy", True, True, True, True)
        net.isolate(1, True)
        check("isolated", False, False, False, False)
        net.isolate(1, False)
        check("link back up", True, True, True, True)
        for kind, direction, want in (
                ("clients", "both", (False, True, True, True)),
                ("zk", "both", (True, False, True, True)),
                ("brokers", "both", (True, True, False, False)),
                ("brokers", "in", (True, True, True, False)),
                ("brokers", "out", (True, True, False, True))):
            net.partition(c, [1], kind, direction)
            check(f"{kind}/{direction}", *want)
            net.heal_partitions()
            check("healed", True, True, True, True)
    finally:
        for s in servers:
            s.stop()
        net.close()
    print("test_net: OK (each cut drops what it names, healing restores it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
