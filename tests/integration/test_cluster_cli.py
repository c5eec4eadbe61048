#!/usr/bin/python3
"""`brook cluster up|status|down` (src/cli/cluster_up.c, src/cli/cluster.c).

Usage errors exit 2; status of an unreachable address fails at once (exit 1); down of an
empty directory is a no-op.  A 3-node cluster: up prints the bootstrap list (also in
DIR/bootstrap) and three admin URLs, writes pid files, and every node's Metadata lists all
three; a second up on the same directory is refused; status shows 3 nodes, one controller
mark (Metadata's controller), a leader for every partition of every topic (a user topic
too) equal to Metadata's, and coordinator counts that add up; down leaves a foreign pid
(a pid file naming a process that is not the cluster's) alone, stops every node cleanly
("shutdown complete") and ZooKeeper, closes the ports, removes the pid files.  --base-port
gives ZooKeeper P, node 1 P+1, its admin P+101.  When a node cannot start, up exits 1 and
leaves nothing running.

The test process is a child subreaper, so that the detached processes `up` starts are its
descendants: ctest's timeout kill reaches them, and an exit cleanup stops whatever a pid
file in the test's directories still names."""

import ctypes
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from brook_harness import Check, _brookd_has_key, _live, find_brookd, find_cli, run_main  # noqa: E402
from cluster_harness import free_port, metadata, zk_available  # noqa: E402

NODES = 3
T = 150  # bound on one `brook cluster` command, seconds


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def reap():
    """Collects exited descendants (we are their subreaper)."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def connects(addr):
    host, port = addr.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


class Leftovers:
    """Exit cleanup (registered with brook_harness's): SIGKILLs every process that a pid
    file in one of the directories names, if its command line names that directory."""

    def __init__(self):
        self.dirs = []

    def close(self):
        for d in self.dirs:
            for name in os.listdir(d) if os.path.isdir(d) else []:
                if not name.endswith(".pid"):
                    continue
                try:
                    pid = int(open(os.path.join(d, name)).read().strip())
                except (OSError, ValueError):
                    continue
                if pid_alive(pid) and os.path.realpath(d) in cmdline(pid):
                    os.kill(pid, signal.SIGKILL)
        reap()


def brook(args, timeout=T, env=None):
    p = subprocess.run([find_cli(), "cluster"] + args, capture_output=True, timeout=timeout,
                       env=dict(os.environ, **(env or {})))
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def parse_up(out):
    boot = re.search(r"(?m)^bootstrap: (\S+)$", out)
    admin = re.search(r"(?m)^admin: (.*)$", out)
    return (boot.group(1).split(",") if boot else [],
            admin.group(1).split() if admin else [])


def parse_status(out):
    """{"brokers": {id: addr}, "controller": id, "marked": [ids], "leaders": {(topic, p):
    leader}, "coord": {id: (txn, grp)}}"""
    st = {"brokers": {}, "marked": [], "leaders": {}, "coord": {}, "controller": None}
    m = re.search(r"(?m)^(\d+) broker\(s\), controller (-?\d+)$", out)
    if m:
        st["controller"] = int(m.group(2))
    section = None
    for line in out.splitlines():
        if line.startswith("  NODE   ADDRESS"):
            section = "nodes"
        elif line.startswith("  TOPIC"):
            section = "topics"
        elif line.startswith("  NODE ") and "__transaction_state" in line:
            section = "coord"
        elif not line.startswith("  "):
            continue
        else:
            f = line.split()
            if section == "nodes" and len(f) >= 2:
                st["brokers"][int(f[0])] = f[1]
                if len(f) > 2 and f[2] == "controller":
                    st["marked"].append(int(f[0]))
            elif section == "topics" and len(f) >= 3 and f[1].isdigit():
                st["leaders"][(f[0], int(f[1]))] = int(f[2])
            elif section == "coord" and len(f) == 3:
                st["coord"][f[0]] = (int(f[1]), int(f[2]))
    return st


def check_usage(ck, tmp):
    for args in (["up"], ["up", "--nodes", "0", "--dir", tmp], ["up", "--nodes", "3"],
                 ["down"], ["status"], ["bogus"], ["up", "--nodes", "2", "--dir", tmp, "x"]):
        rc, _, err = brook(args, timeout=30)
        ck.eq(rc, 2, f"brook cluster {' '.join(args)}: usage error")
    t = time.monotonic()
    rc, _, err = brook(["status", "--bootstrap", f"127.0.0.1:{free_port()}", "--timeout-ms", "10000"])
    ck.eq(rc, 1, "status of a closed port")
    ck(time.monotonic() - t < 8, f"status of a closed port fails at once ({time.monotonic() - t:.1f}s)")
    ck("no Metadata" in err, f"status error names the problem: {err.strip()}")
    empty = os.path.join(tmp, "empty")
    os.makedirs(empty)
    rc, out, _ = brook(["down", "--dir", empty])
    ck.eq(rc, 0, "down of a directory without a cluster")
    ck("nothing running" in out, f"down says nothing runs: {out.strip()}")
    rc, _, err = brook(["status", "--dir", empty])
    ck.eq(rc, 1, "status --dir of a directory without a cluster")


def check_three(ck, tmp, left):
    d = os.path.join(tmp, "c3")
    left.dirs.append(d)
    t = time.monotonic()
    rc, out, err = brook(["up", "--nodes", str(NODES), "--dir", d, "--timeout-ms", "90000"])
    print(f"  up --nodes {NODES}: {time.monotonic() - t:.2f}s\n{out}{err}", flush=True)
    ck.eq(rc, 0, "up --nodes 3")
    ck(f"{NODES} of {NODES} nodes started" in err and
       f"{NODES} of {NODES} nodes see the whole cluster" in err,
       f"up shows its progress on stderr: {err!r}")
    boot, admins = parse_up(out)
    ck.eq(len(boot), NODES, f"bootstrap lists {NODES} nodes")
    ck.eq(len(admins), NODES, f"{NODES} admin URLs")
    ck(all(a.startswith("http://127.0.0.1:") for a in admins), f"admin URLs {admins}")
    ck.eq(open(os.path.join(d, "bootstrap")).read().strip(), ",".join(boot), "DIR/bootstrap")
    pids = {}
    for name in ["zk"] + [f"node{i}" for i in range(1, NODES + 1)]:
        pids[name] = int(open(os.path.join(d, f"{name}.pid")).read())
        ck(pid_alive(pids[name]), f"{name} runs (pid {pids[name]})")
        ck(os.path.realpath(d) in cmdline(pids[name]), f"{name}'s command line names DIR")
    for i, addr in enumerate(boot, 1):
        md = metadata(addr)
        ck.eq(sorted(md["brokers"]), list(range(1, NODES + 1)), f"node {i} Metadata lists every node")
        ck.eq(md["brokers"][i], addr, f"node {i} is at the address up printed")

    rc, _, err = brook(["up", "--nodes", str(NODES), "--dir", d])
    ck.eq(rc, 1, "a second up on a running cluster's directory")
    ck("already runs" in err, f"second up says why: {err.strip()}")

    # A user topic, created by a Metadata request that names it (auto-create).
    kcat = shutil.which("kcat")
    if kcat:
        subprocess.run([kcat, "-b", boot[0], "-P", "-t", "cli-topic", "-m", "10"], input=b"x\n",
                       capture_output=True, timeout=60)

    rc, out, err = brook(["status", "--dir", d])
    ck.eq(rc, 0, f"status --dir: {err.strip()}")
    st = parse_status(out)
    md = metadata(boot[0])
    ck.eq(st["brokers"], {i: a for i, a in enumerate(boot, 1)}, "status lists the nodes")
    ck.eq(st["controller"], md["controller"], "status names Metadata's controller")
    ck.eq(st["marked"], [md["controller"]], "exactly the controller is marked")
    want = {(t, p): leader for t, tm in md["topics"].items() for p, (_, leader) in tm["partitions"].items()}
    ck.eq(st["leaders"], want, "status shows every partition's leader, as Metadata")
    ck("__consumer_offsets" in md["topics"] and "__transaction_state" in md["topics"],
       "internal topics exist")
    if kcat:
        ck(("cli-topic", 0) in st["leaders"], "status lists the user topic")
    for col, topic in ((0, "__transaction_state"), (1, "__consumer_offsets")):
        n = len(md["topics"].get(topic, {"partitions": {}})["partitions"])
        ck.eq(sum(v[col] for v in st["coord"].values()), n, f"{topic}: coordinator counts add up")
        for i in range(1, NODES + 1):
            led = sum(1 for p, (_, leader) in md["topics"][topic]["partitions"].items() if leader == i)
            ck.eq(st["coord"].get(str(i), (0, 0))[col], led, f"{topic}: partitions node {i} leads")

    # A pid file that names a process of someone else: down must not signal it.
    foreign = subprocess.Popen(["sleep", "60"])
    with open(os.path.join(d, "node9.pid"), "w") as f:
        f.write(f"{foreign.pid}\n")
    t = time.monotonic()
    rc, out, err = brook(["down", "--dir", d])
    print(f"  down: {time.monotonic() - t:.2f}s\n{out}{err}", flush=True)
    ck.eq(rc, 0, "down")
    ck(foreign.poll() is None, "down left a foreign pid alone")
    foreign.kill()
    foreign.wait(timeout=10)
    reap()
    for name, pid in pids.items():
        ck(not pid_alive(pid), f"{name} stopped")
        ck(not os.path.exists(os.path.join(d, f"{name}.pid")), f"{name}.pid removed")
    ck(not os.path.exists(os.path.join(d, "node9.pid")), "stale pid file removed")
    ck(not any(connects(a) for a in boot), "node ports closed")
    for i in range(1, NODES + 1):
        log = open(os.path.join(d, f"node{i}", "brookd.log"), errors="replace").read()
        ck("shutdown complete" in log, f"node {i} shut down cleanly")
    ck("SIGKILL" not in out, "no SIGKILL needed")


def check_base_port(ck, tmp, left):
    d = os.path.join(tmp, "base")
    left.dirs.append(d)
    # Below the ephemeral range (32768+), where outgoing connections take their ports;
    # free a moment before use.
    rnd = random.Random()
    for _ in range(20):
        base = rnd.randrange(20000, 32000)
        if all(port_free(p) for p in (base, base + 1, base + 101)):
            break
    rc, out, err = brook(["up", "--nodes", "1", "--dir", d, "--base-port", str(base)])
    ck.eq(rc, 0, f"up --base-port {base}: {err.strip()}")
    ck(f"ZooKeeper  127.0.0.1:{base} " in out, "ZooKeeper on the base port")
    ck.eq(parse_up(out), ([f"127.0.0.1:{base + 1}"], [f"http://127.0.0.1:{base + 101}"]),
          "node 1 on base+1, its admin on base+101")
    rc, _, _ = brook(["down", "--dir", d])
    ck.eq(rc, 0, "down after --base-port")
    reap()


def check_failed_up(ck, tmp, left):
    d = os.path.join(tmp, "fail")
    left.dirs.append(d)
    rc, out, err = brook(["up", "--nodes", "1", "--dir", d, "--timeout-ms", "30000"],
                         env={"BROOKD": "/bin/false"})
    ck.eq(rc, 1, "up with a brookd that exits at once")
    ck("exited before it was ready" in err, f"up says which node failed: {err.strip()[:300]}")
    reap()
    ck(not os.path.exists(os.path.join(d, "zk.pid")), "ZooKeeper stopped after the failed up")
    ck(not any(os.path.realpath(d) in cmdline(int(p)) for p in os.listdir("/proc") if p.isdigit()),
       "nothing of the failed up still runs")


def main():
    ck = Check("cluster_cli")
    if not zk_available():
        print("SKIP: no java or Debian zookeeper jars (package zookeeper)")
        return 77
    if not _brookd_has_key(find_brookd(), "zookeeper.connect"):
        print("SKIP: this brookd has no zookeeper.connect")
        return 77
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    left = Leftovers()
    _live.add(left)
    tmp = tempfile.mkdtemp(prefix="brook-cluster-cli-")
    try:
        check_usage(ck, tmp)
        check_failed_up(ck, tmp, left)
        check_base_port(ck, tmp, left)
        check_three(ck, tmp, left)
    finally:
        left.close()
        if os.environ.get("BROOK_KEEP_TMP") != "1":
            shutil.rmtree(tmp, ignore_errors=True)
    ck.done()


if __name__ == "__main__":
    run_main(main)
