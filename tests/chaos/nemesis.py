"""The chaos campaign's nemesis: draws a fault schedule from a seed and applies it to a
cluster_harness.Cluster; Net (network namespaces, links and nftables rules), power cuts
(powerloss.c's records) and clock jumps (libfaketime) are the means. It never sends traffic
anywhere but this machine: every address is on a bridge it makes, or loopback."""

import atexit
import os
import shutil
import signal
import struct
import subprocess
import time

import cluster_harness
from common import LAG_MS, NPARTS, QUEUE, SESSION_MS, TXN_IDS, log

MIXES = [("kill",), ("pause",), ("kill", "pause"), ("zk-kill", "zk-pause"),
         ("kill", "pause", "zk-pause"), ("power",), ("power", "pause"), ("isolate",),
         ("isolate", "kill", "zk-pause"), ("partition",), ("partition", "kill", "zk-pause"),
         ("clock",), ("clock", "kill", "pause"), ("partition", "clock", "power")]
TARGETS = ["one", "leader", "coordinator", "minority", "majority", "all"]
# A partition cuts the target nodes off from the other nodes, from the clients (the
# harness's address, except ZooKeeper's port) or from ZooKeeper; both ways, or only what
# they receive ("in") or only what they send ("out").
PARTITION_KINDS = ("brokers", "clients", "zk")
DIRECTIONS = ("both", "in", "out")
FAKETIME_LIBS = ("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
                 "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1")


class Nemesis:
    """Draws the schedule from rng and applies it; heal() undoes whatever is in force.
    It runs on the main thread: the harness starts brokers with PR_SET_PDEATHSIG, which the
    kernel ties to the starting thread, so a broker restarted from a thread that then ends
    would be killed with it. heals[] keeps the monotonic time of every heal (liveness)."""

    def __init__(self, c, rng, seconds, faults, net=None, clocks=None):
        self.c, self.rng, self.seconds = c, rng, seconds
        self.mixes = [m for m in MIXES if all(f in faults for f in m)] or [tuple(faults)]
        self.stopped, self.killed, self.isolated, self.zk_state = set(), set(), set(), "up"
        self.cut_off, self.jumped = set(), set()
        self.events, self.cut, self.heals = [], [], []
        self.net = net        # a Net when the nodes run in network namespaces
        self.clocks = clocks  # a Clocks when the nodes run under libfaketime

    def detail(self, fault):
        if fault == "partition":
            return f"{self.rng.choice(PARTITION_KINDS)}/{self.rng.choice(DIRECTIONS)}"
        if fault == "clock":
            return f"{self.rng.choice('+-')}{self.rng.randint(10, 120)}s"
        return ""

    def schedule(self):
        """[(at_s, fault, target, duration_s, detail)], drawn before the run starts."""
        out, t, mix_until, mix = [], 3.0, 0.0, None
        while t < self.seconds - 2:
            if t >= mix_until:
                mix = self.rng.choice(self.mixes)
                mix_until = t + self.rng.uniform(15, 25)
                t += self.rng.uniform(2, 4)  # a quiet period between mixes
                continue
            fault = self.rng.choice(mix)
            target = self.rng.choice(TARGETS) if not fault.startswith("zk") else "zk"
            long = "pause" in fault or fault in ("isolate", "partition", "clock")
            base = (SESSION_MS + LAG_MS) / 1000 if long else 1.0
            dur = round(self.rng.uniform(base, base + 3), 2)
            out.append((round(t, 2), fault, target, dur, self.detail(fault)))
            t += dur + self.rng.uniform(2, 6)
        return out

    def nodes_for(self, target):
        ids = [n.node_id for n in self.c.nodes]
        if target == "one":
            return [self.rng.choice(ids)]
        if target == "leader":
            p = self.rng.randrange(NPARTS)
            ld = leader_of(self.c, QUEUE, p)
            return [ld] if ld else [self.rng.choice(ids)]
        if target == "coordinator":
            tid = self.rng.choice(TXN_IDS)
            ld = leader_of(self.c, "__transaction_state", cluster_harness.txn_partition(tid, 3))
            return [ld] if ld else [self.rng.choice(ids)]
        if target == "minority":
            return self.rng.sample(ids, (len(ids) - 1) // 2)
        if target == "majority":
            return self.rng.sample(ids, len(ids) // 2 + 1)
        return ids

    def busy(self, nid):
        return nid in self.killed or nid in self.stopped or nid in self.isolated or \
            nid in self.cut_off or not self.c.node(nid).running()

    def apply_node(self, fault, nid, detail):
        n = self.c.node(nid)
        if fault in ("kill", "power"):
            n.kill()
            self.killed.add(nid)
            if fault == "power":
                self.cut.append((nid, power_cut(n)))
        elif fault == "isolate":
            self.net.isolate(nid, True)
            self.isolated.add(nid)
        elif fault == "clock":
            self.clocks.jump(nid, detail)
            self.jumped.add(nid)
        else:
            n.proc.send_signal(signal.SIGSTOP)
            self.stopped.add(nid)

    def apply(self, fault, target, dur, detail):
        if fault == "zk-kill":
            self.c.zk.kill()
            self.zk_state = "killed"
        elif fault == "zk-pause":
            self.c.zk.proc.send_signal(signal.SIGSTOP)
            self.zk_state = "stopped"
        elif fault == "partition":
            nodes = [i for i in self.nodes_for(target) if not self.busy(i)]
            kind, direction = detail.split("/")
            self.net.partition(self.c, nodes, kind, direction)
            self.cut_off.update(nodes)
        else:
            for nid in self.nodes_for(target):
                if not self.busy(nid):
                    self.apply_node(fault, nid, detail)
        self.events.append((round(time.monotonic() - self.t0, 2), fault, target, detail,
                            sorted(self.killed), sorted(self.stopped), self.zk_state))
        log(f"nemesis: {fault}{' ' + detail if detail else ''} {target} for {dur}s "
            f"(killed {sorted(self.killed)}, paused {sorted(self.stopped)}, isolated "
            f"{sorted(self.isolated)}, cut off {sorted(self.cut_off)}, clocks moved "
            f"{sorted(self.jumped)}, zk {self.zk_state})")
        time.sleep(dur)
        self.heal()

    def heal(self):
        if self.zk_state == "stopped":
            self.c.zk.proc.send_signal(signal.SIGCONT)
        elif self.zk_state == "killed":
            self.c.zk.start()
        self.zk_state = "up"
        for nid in sorted(self.stopped):
            self.c.node(nid).proc.send_signal(signal.SIGCONT)
        self.stopped.clear()
        for nid in sorted(self.isolated):
            self.net.isolate(nid, False)
        self.isolated.clear()
        if self.cut_off:
            self.net.heal_partitions()
        self.cut_off.clear()
        for nid in sorted(self.jumped):
            self.clocks.jump(nid, "+0s")
        self.jumped.clear()
        for n in self.c.nodes:  # the killed ones, and any that died on its own
            if not n.running():
                n.start()
        self.killed.clear()
        self.heals.append(time.monotonic())

    def run(self):
        """Applies the schedule; returns when it is done and everything is healed."""
        self.plan = self.schedule()
        log(f"nemesis: {len(self.plan)} faults planned: "
            + ", ".join(f"{a}s {f}{'(' + d + ')' if d else ''}/{t}/{u}s"
                        for a, f, t, u, d in self.plan))
        self.t0 = time.monotonic()
        for at, fault, target, dur, detail in self.plan:
            wait = at - (time.monotonic() - self.t0)
            if wait > 0:
                time.sleep(wait)
            try:
                self.apply(fault, target, dur, detail)
            except Exception as e:  # a fault that could not be made is logged, not fatal
                log(f"nemesis: {fault} {target} failed: {e!r}")
                self.heal()
        left = self.seconds - (time.monotonic() - self.t0)
        if left > 0:
            time.sleep(left)
        self.heal()


def net_tag():
    """The number in this run's namespace and bridge names (watchdog.py removes them)."""
    return os.getpid() % 100000


class Net:
    """A bridge in this namespace (ZooKeeper and the clients on its address) and one network
    namespace per node, joined to it by a veth pair. isolate() takes a node's link down
    (two-way: from the other nodes, ZooKeeper and the clients alike); partition() loads
    nftables rules into nodes' namespaces that drop one kind of traffic, one way or both.
    Everything made is removed by close(), also at exit."""

    def __init__(self, n):
        tag = net_tag()
        self.net = 10 + tag % 200  # 10.<net>.<sub>.0/24, distinct per run
        self.sub = tag // 200 % 250 + 1
        self.br = f"ckb{tag}"
        self.ns = {i: f"ck{tag}n{i}" for i in range(1, n + 1)}
        self.veth = {i: f"ck{tag}v{i}" for i in range(1, n + 1)}
        self.made, self.filtered = [], set()
        atexit.register(self.close)
        try:
            self.build(n)
        except BaseException:
            self.close()
            raise

    def build(self, n):
        self.ip("link", "add", self.br, "type", "bridge")
        self.made.append(("link", self.br))
        self.ip("addr", "add", f"{self.host_ip()}/24", "dev", self.br)
        self.ip("link", "set", self.br, "up")
        for i in self.ns:
            ns, v = self.ns[i], self.veth[i]
            self.ip("netns", "add", ns)
            self.made.append(("netns", ns))
            self.ip("link", "add", v, "type", "veth", "peer", "name", v + "p")
            self.made.append(("link", v))
            self.ip("link", "set", v + "p", "netns", ns)
            self.ip("link", "set", v, "master", self.br, "up")
            self.ip("-n", ns, "addr", "add", f"{self.node_ip(i)}/24", "dev", v + "p")
            self.ip("-n", ns, "link", "set", v + "p", "up")
            self.ip("-n", ns, "link", "set", "lo", "up")

    def host_ip(self):
        return f"10.{self.net}.{self.sub}.1"

    def node_ip(self, i):
        return f"10.{self.net}.{self.sub}.{10 + i}"

    @staticmethod
    def ip(*args):
        subprocess.run(["ip", *args], check=True, timeout=20, capture_output=True)

    def isolate(self, i, cut):
        self.ip("link", "set", self.veth[i], "down" if cut else "up")

    def rules(self, c, nid, nodes, kind, direction):
        """nftables rules (input, output) for node nid of the cut-off set `nodes`."""
        host = self.host_ip()
        if kind == "brokers":
            others = [i for i in self.ns if i != nid and (i not in nodes or len(nodes) == len(self.ns))]
            if not others:
                return [], []
            peers = "{ " + ", ".join(self.node_ip(i) for i in others) + " }"
            into, out = [f"ip saddr {peers} drop"], [f"ip daddr {peers} drop"]
        elif kind == "clients":
            port = c.node(nid).port
            into = [f"ip saddr {host} tcp dport {port} drop"]
            out = [f"ip daddr {host} tcp sport {port} drop"]
        else:
            zport = c.zk.port
            into = [f"ip saddr {host} tcp sport {zport} drop"]
            out = [f"ip daddr {host} tcp dport {zport} drop"]
        return (into if direction != "out" else []), (out if direction != "in" else [])

    def partition(self, c, nodes, kind, direction):
        """Cuts nodes off from the other nodes (when every node is named: each from every
        other), the clients or ZooKeeper, as the direction says."""
        for nid in nodes:
            into, out = self.rules(c, nid, nodes, kind, direction)
            chains = "".join(
                f"  chain {name} {{ type filter hook {name} priority 0; policy accept;\n"
                + "".join(f"    {r}\n" for r in rs) + "  }\n"
                for name, rs in (("input", into), ("output", out)))
            text = f"table inet chaos {{\n{chains}}}\n"
            subprocess.run(["ip", "netns", "exec", self.ns[nid], "nft", "-f", "-"],
                           input=text.encode(), check=True, timeout=20, capture_output=True)
            self.filtered.add(nid)

    def heal_partitions(self):
        for nid in sorted(self.filtered):
            subprocess.run(["ip", "netns", "exec", self.ns[nid], "nft", "delete", "table",
                            "inet", "chaos"], timeout=20, capture_output=True)
        self.filtered.clear()

    def close(self):
        for kind, name in reversed(self.made):
            subprocess.run(["ip", kind, "del", name], timeout=20, capture_output=True)
        self.made = []


def netns_ok():
    """Whether this process may make network namespaces (root, iproute2)."""
    return os.geteuid() == 0 and shutil.which("ip") is not None


def nft_ok():
    return shutil.which("nft") is not None


class Clocks:
    """Each node's wall clock, offset through libfaketime: the node runs with it preloaded
    and reads its offset from a file of its own (re-read at most every second); the
    monotonic clock is left alone (DONT_FAKE_MONOTONIC), as a step of the system clock
    leaves it, and so are file times (NO_FAKE_STAT)."""

    def __init__(self, lib, tmp):
        self.lib, self.tmp = lib, tmp

    @staticmethod
    def find():
        return next((p for p in FAKETIME_LIBS if os.path.exists(p)), None)

    def path(self, nid):
        return os.path.join(self.tmp, f"node{nid}.faketime")

    def env(self, nid):
        self.jump(nid, "+0s")
        return {"FAKETIME_TIMESTAMP_FILE": self.path(nid), "FAKETIME_CACHE_DURATION": "1",
                "DONT_FAKE_MONOTONIC": "1", "NO_FAKE_STAT": "1"}

    def jump(self, nid, offset):
        tmp = self.path(nid) + ".new"
        with open(tmp, "w") as f:
            f.write(offset + "\n")
        os.replace(tmp, self.path(nid))


POWER_RECORD = struct.Struct("<qqii488s")  # powerloss.c's pl_record


def power_cut(node):
    """After node's SIGKILL: truncates every file it wrote to the size it had last made
    durable, or to its lowest unsynced overwrite of durable bytes if lower (powerloss.c's
    records), as a power failure would leave it. Returns the bytes dropped."""
    dropped = 0
    with open(node.extra_env["BROOK_POWERLOSS_STATE"], "rb") as f:
        data = f.read()
    for off in range(0, len(data) - POWER_RECORD.size + 1, POWER_RECORD.size):
        durable, dirty_from, live, _pad, raw = POWER_RECORD.unpack_from(data, off)
        path = raw.split(b"\0", 1)[0].decode()
        if not live or not path:
            continue
        try:
            size = os.path.getsize(path)
        except OSError:
            continue
        keep = min(durable, dirty_from)
        if size > keep:
            os.truncate(path, keep)
            dropped += size - keep
    return dropped


def leader_of(c, topic, p):
    for n in c.nodes:
        if not n.running():
            continue
        try:
            st = cluster_harness.partition_state(n.bootstrap, topic, timeout=1.0)
            ld = st[p][1] if st and p in st else None
            if ld and ld > 0:
                return ld
        except Exception:
            continue
    return None
