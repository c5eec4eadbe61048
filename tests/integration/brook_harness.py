#!/usr/bin/python3
"""Start, stop, crash and restart a brookd for integration tests.

Standard library only; runs under /usr/bin/python3.

    from brook_harness import Broker
    with Broker() as b:                 # temp data dir, 127.0.0.1 ephemeral port
        print(b.bootstrap)              # "127.0.0.1:PORT"
        b.crash_restart()               # SIGKILL + restart on the same port and data dir
        b.stop()                        # SIGTERM, SIGKILL fallback; returns the exit code

As a command-line wrapper, starts one broker, runs a command with the broker's address
(substituted for "{bootstrap}" in the arguments and exported as BROOK_BOOTSTRAP), stops the
broker and exits with the command's exit code:

    brook_harness.py run [--timeout S] [--set key=value ...] -- CMD ARGS...

The brookd binary comes from $BROOKD (set by ctest), else <repo>/build-integ/brookd.
Every wait is bounded.  The temporary directory (data + brookd.log) is removed on exit
unless BROOK_KEEP_TMP=1; when a `with` block fails, the tail of brookd's log is printed.
Brokers are started with PR_SET_PDEATHSIG=SIGKILL, so they never outlive the test process
(even when ctest kills it on timeout), and an atexit hook kills any broker still running.
"""

import atexit
import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

if __name__ == "__main__":
    # Run as a script (`brook_harness.py run`): let `import brook_harness` (cluster_harness
    # does) find this module instead of loading a second copy with its own broker set.
    sys.modules.setdefault("brook_harness", sys.modules[__name__])

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
# The Kafka listener's line, not the admin listener's "admin ready listener=" (whose order
# relative to it is not something to rely on).
READY_RE = re.compile(r"(?<!admin )ready listener=[0-9.]+:(\d+)")
ADMIN_READY_RE = re.compile(r"admin ready listener=([0-9.]+):(\d+)")

_live = set()  # brokers whose process may be running


def _cleanup_all():
    for b in list(_live):
        try:
            b.close()
        except Exception:  # pragma: no cover - best effort at exit
            pass


atexit.register(_cleanup_all)


def _on_sigterm(signum, frame):
    # Turn SIGTERM (ctest timeout, CI cancel) into SystemExit so `with` blocks and atexit run.
    raise SystemExit(128 + signum)


if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
    try:
        signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread
        pass

_libc = None


def _pdeathsig():
    """preexec_fn: have the kernel SIGKILL the broker if the parent (thread) dies."""
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL(None, use_errno=True)
        _libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass


_help_config = {}


def _brookd_has_key(brookd, key):
    """Whether this brookd knows config `key` (from `brookd --help-config`, cached), so the
    harness works with brookd builds from before and after a key was added."""
    if brookd not in _help_config:
        try:
            r = subprocess.run([brookd, "--help-config"], capture_output=True, timeout=10)
            _help_config[brookd] = (r.stdout + r.stderr).decode("utf-8", "replace")
        except (OSError, subprocess.TimeoutExpired):
            _help_config[brookd] = ""
    return re.search(r"(?m)^\s*" + re.escape(key) + r"\s", _help_config[brookd]) is not None


def find_brookd():
    p = os.environ.get("BROOKD")
    if p:
        return os.path.abspath(p)
    for cand in (os.path.join(REPO, "build-integ", "brookd"), os.path.join(REPO, "build", "brookd")):
        if os.access(cand, os.X_OK):
            return cand
    raise RuntimeError("brookd not found: set BROOKD=/path/to/brookd")


def find_cli():
    """The `brook` CLI: $BROOK_CLI, else beside brookd (the build directory)."""
    p = os.environ.get("BROOK_CLI") or os.path.join(os.path.dirname(find_brookd()), "brook")
    p = os.path.abspath(p)
    if not os.access(p, os.X_OK):
        raise RuntimeError(f"brook CLI not found at {p}: build the 'brook' target or set BROOK_CLI")
    return p


class BrokerError(RuntimeError):
    pass


def cluster_size():
    """N from BROOK_TEST_CLUSTER=N (N >= 1), else 0: the tests then run against a ZooKeeper
    + N-node cluster (cluster_harness.Cluster) wherever they ask for a Broker()."""
    v = os.environ.get("BROOK_TEST_CLUSTER", "").strip()
    if not v or v == "0":
        return 0
    if not v.isdigit():
        raise ValueError(f"BROOK_TEST_CLUSTER={v!r}: expected a node count")
    return int(v)


def tail_file(path, lines):
    """The last `lines` lines of a log file (its last 64 KiB at most)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return "(no log)"
    return "\n".join(data.splitlines()[-lines:])


class ServerProcess:
    """The life cycle shared by the servers tests start (brookd, ZooKeeper): the process,
    its log file and temp dir, stop/kill/restart, close.  Subclasses set tmp, log_path,
    proc, keep_tmp, closed and implement start()."""

    tail_lines = 60

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _kill_proc(self):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # unkillable (D state): give up waiting
                pass
        rc = self.proc.returncode
        self.proc = None
        return rc

    def stop(self, timeout=15.0):
        """Clean shutdown: SIGTERM, wait up to `timeout`, then SIGKILL.  Returns the exit
        code (brookd: 0 = clean; a JVM ended by SIGTERM: 143), or None if it had to be
        killed."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._kill_proc()
                with open(self.log_path, "ab") as log:
                    log.write(b"===== harness: SIGTERM timed out, SIGKILLed\n")
                return None
        rc = self.proc.returncode
        self.proc = None
        return rc

    def kill(self):
        """kill -9, as a crash; returns once the process is gone."""
        with open(self.log_path, "ab") as log:
            log.write(b"\n===== harness: SIGKILL\n")
        return self._kill_proc()

    def crash_restart(self):
        """kill -9, then restart on the same port and data dir."""
        self.kill()
        return self.start()

    def restart(self, timeout=15.0):
        """Clean stop (SIGTERM) then start on the same port; returns the stop exit code."""
        rc = self.stop(timeout)
        self.start()
        return rc

    def close(self):
        if self.closed:
            return
        self._kill_proc()
        _live.discard(self)
        self.closed = True
        if not self.keep_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            print(f"brook_harness: kept {self.tmp}", file=sys.stderr)

    def log_tail(self, lines=None):
        return tail_file(self.log_path, lines or self.tail_lines)

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __del__(self):
        try:
            if not self.closed:
                self.close()
        except Exception:
            pass


class Broker(ServerProcess):
    """One brookd process with its own temp data dir; restartable on the same port.

    With BROOK_TEST_CLUSTER=N set, Broker(...) returns a cluster_harness.Cluster instead:
    ZooKeeper + N nodes behind the same interface (bootstrap = node 1's address; restarts
    restart every node).  Subclasses (the cluster's nodes) are always single brokers."""

    def __new__(cls, *args, **kwargs):
        if cls is Broker and cluster_size():
            import cluster_harness
            cluster_harness.require_cluster_support(kwargs.get("brookd") or find_brookd())
            # BROOK_TEST_CLUSTER_CONFIG="k=v,k=v": keys every node gets on top of the test's
            # (e.g. default.replication.factor=3 to run a test on replicated topics).
            extra = dict(kv.split("=", 1) for kv in
                         os.environ.get("BROOK_TEST_CLUSTER_CONFIG", "").split(",") if "=" in kv)
            if extra:
                kwargs["config"] = dict(kwargs.get("config") or {}, **extra)
            return cluster_harness.Cluster(cluster_size(), *args, **kwargs)
        return super().__new__(cls)

    def __init__(self, brookd=None, config=None, ready_timeout=30.0, name="brook", keep_tmp=None,
                 tmp_root=None):
        self.brookd = brookd or find_brookd()
        self.config = dict(config or {})
        self.ready_timeout = float(ready_timeout)
        self.keep_tmp = (os.environ.get("BROOK_KEEP_TMP") == "1") if keep_tmp is None else keep_tmp
        self.tmp = tempfile.mkdtemp(prefix=f"{name}-integ-", dir=tmp_root)
        self.data_dir = os.path.join(self.tmp, "data")
        os.makedirs(self.data_dir)
        self.log_path = os.path.join(self.tmp, "brookd.log")
        self.port = 0
        self.proc = None
        self.starts = 0
        self.closed = False

    # The address the broker listens on, and a command its own is run under (the chaos
    # harness puts a broker in a network namespace: a namespace address, "ip netns exec").
    host = "127.0.0.1"
    argv_prefix = ()

    # ----------------------------------------------------------------- properties
    @property
    def bootstrap(self):
        if not self.port:
            raise BrokerError("broker has not been started")
        return f"{self.host}:{self.port}"

    # ----------------------------------------------------------------- lifecycle
    def _argv(self):
        # The admin HTTP listener on a free port too, so that brokers run side by side
        # (ctest -j); see admin_address().
        argv = [self.brookd,
                f"--listeners=PLAINTEXT://{self.host}:{self.port}",
                f"--log.dirs={self.data_dir}"]
        if _brookd_has_key(self.brookd, "admin.listeners"):
            argv.append("--admin.listeners=http://127.0.0.1:0")
        for k, v in self.config.items():
            argv.append(f"--{k}={v}")
        return argv

    def start(self, attempts=None):
        """Start brookd and wait (bounded) for its ready line.  On a restart the port is
        fixed; a bind failure (port briefly unavailable) is retried a few times."""
        if self.closed:
            raise BrokerError("broker closed")
        if self.running():
            raise BrokerError("broker already running")
        attempts = attempts or (1 if self.port == 0 else 5)
        last = None
        for i in range(attempts):
            try:
                self._start_once()
                return self
            except BrokerError as e:
                last = e
                if i + 1 < attempts:
                    time.sleep(0.2 * (i + 1))
        raise last

    def _start_once(self):
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== harness: start #{self.starts + 1} {' '.join(self._argv())}\n".encode())
            log.flush()
            log_pos = log.tell()
            self._log_pos = log_pos
            # extra_env: variables added for this broker only (the chaos harness's
            # LD_PRELOAD power-loss shim).
            env = dict(os.environ, **getattr(self, "extra_env", {}))
            self.proc = subprocess.Popen(list(self.argv_prefix) + self._argv(),
                                         stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=log, cwd=self.tmp, preexec_fn=_pdeathsig,
                                         close_fds=True, env=env)
        _live.add(self)
        self.starts += 1
        deadline = time.monotonic() + self.ready_timeout
        with open(self.log_path, "rb") as f:
            f.seek(log_pos)
            buf = b""
            while True:
                chunk = f.read()
                if chunk:
                    buf += chunk
                    m = READY_RE.search(buf.decode("utf-8", "replace"))
                    if m:
                        port = int(m.group(1))
                        if self.port and port != self.port:
                            self._kill_proc()
                            raise BrokerError(f"restarted on port {port}, expected {self.port}")
                        self.port = port
                        return
                if self.proc.poll() is not None:
                    rc = self.proc.returncode
                    self.proc = None
                    raise BrokerError(f"brookd exited with {rc} before ready:\n{self.log_tail()}")
                if time.monotonic() > deadline:
                    self._kill_proc()
                    raise BrokerError(f"brookd not ready after {self.ready_timeout}s:\n{self.log_tail()}")
                time.sleep(0.01)

    def admin_address(self, timeout=10.0):
        """Returns "HOST:PORT" of the admin HTTP listener of the current run, from its
        "admin ready listener=" line (logged right after the Kafka ready line)."""
        def find():
            with open(self.log_path, "rb") as f:
                f.seek(getattr(self, "_log_pos", 0))
                m = ADMIN_READY_RE.search(f.read().decode("utf-8", "replace"))
            return f"{m.group(1)}:{m.group(2)}" if m else None
        return wait_until(find, timeout, what="admin ready line")

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is not None:
                print(f"----- brookd log tail ({self.log_path}) -----\n{self.log_tail()}\n-----",
                      file=sys.stderr)
            elif self.running():
                rc = self.stop()
                if rc != 0:
                    print(f"brook_harness: brookd exit code on SIGTERM was {rc} (expected 0)\n"
                          f"{self.log_tail()}", file=sys.stderr)
        finally:
            self.close()
        return False



# --------------------------------------------------------------------- test helpers
class Check:
    """Counts assertions so a test can prove it checked something."""

    def __init__(self, name):
        self.name = name
        self.n = 0

    def __call__(self, cond, msg):
        self.n += 1
        if not cond:
            raise AssertionError(f"[{self.name}] {msg}")

    def eq(self, got, want, msg):
        self.n += 1
        if got != want:
            raise AssertionError(f"[{self.name}] {msg}: expected {want!r}, got {got!r}")

    def done(self):
        if self.n == 0:
            raise AssertionError(f"[{self.name}] no assertions were made")
        print(f"[{self.name}] OK: {self.n} checks passed", flush=True)


def suite_librdkafka():
    """The directory of librdkafka 2.15.1's build (tests/librdkafka/run.sh --prepare-only
    makes it once, ~2 min), or None when it cannot be had here."""
    suite = os.environ.get("LIBRDKAFKA_SUITE_DIR", os.path.join(REPO, "build", "librdkafka-suite"))
    r = subprocess.run(["bash", os.path.join(REPO, "tests", "librdkafka", "run.sh"),
                        "--prepare-only"], env=dict(os.environ, LIBRDKAFKA_SUITE_DIR=suite),
                       capture_output=True, text=True, timeout=900)
    src = os.path.join(suite, "librdkafka-2.15.1", "src")
    return src if r.returncode == 0 and os.path.exists(os.path.join(src, "librdkafka.so.1")) else None


def run_main(main):
    """Run a test's main(); exit with its return code (1 on exception, with traceback).
    Brokers are cleaned up first, then the process leaves through os._exit so that client
    library finalizers (librdkafka handles destroyed at interpreter exit, which can block
    once the broker is gone) cannot hang the test."""
    import traceback
    rc = 1
    try:
        r = main()
        rc = r if isinstance(r, int) else 0
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:
        traceback.print_exc()
        rc = 1
    try:
        _cleanup_all()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(rc)


def wait_until(pred, timeout, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def kafkajs_node(js_dir):
    """The node binary, once js_dir/install.sh has installed the pinned kafkajs; None (the
    test is skipped: return 77) after saying why when there is no node or the install
    fails."""
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        print("node not found: skipped")
        return None
    try:
        rc = subprocess.run(["sh", os.path.join(js_dir, "install.sh")], timeout=480).returncode
    except subprocess.TimeoutExpired:
        rc = 77
    if rc != 0:
        print(f"kafkajs install failed (rc {rc}): skipped")
        return None
    return node


def run_checked(argv, timeout, input=None, env=None):
    """Run a command, bounded; returns CompletedProcess; raises on timeout."""
    return subprocess.run(argv, input=input, capture_output=True, timeout=timeout, env=env)


# --------------------------------------------------------------------- CLI
def _main(argv):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="start a broker, run CMD, stop the broker")
    r.add_argument("--timeout", type=float, default=600.0, help="limit for CMD in seconds")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="extra brookd config (repeatable)")
    r.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args(argv)
    cmd = a.command[1:] if a.command and a.command[0] == "--" else a.command
    if not cmd:
        ap.error("no command given")
    cfg = dict(kv.split("=", 1) for kv in a.set)
    with Broker(config=cfg) as b:
        env = dict(os.environ, BROOK_BOOTSTRAP=b.bootstrap)
        cmd = [c.replace("{bootstrap}", b.bootstrap) for c in cmd]
        print(f"brook_harness: broker at {b.bootstrap}; running {' '.join(cmd)}", flush=True)
        p = subprocess.Popen(cmd, env=env, preexec_fn=_pdeathsig)
        try:
            rc = p.wait(timeout=a.timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)
            print(f"brook_harness: command timed out after {a.timeout}s", file=sys.stderr)
            rc = 124
        except BaseException:
            p.kill()
            p.wait(timeout=10)
            raise
        if rc != 0:
            print(f"----- brookd log tail -----\n{b.log_tail()}\n-----", file=sys.stderr)
        stop_rc = b.stop()
        if stop_rc != 0:
            print(f"brook_harness: brookd exit code on SIGTERM was {stop_rc} (expected 0)", file=sys.stderr)
            if rc == 0:
                rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
